//! The `redtail` binary: argument parsing and wiring only. The work happens in the `rdb`,
//! `event`, `replica` and `sink` crates; each subcommand lives in its own module.

mod check;
mod cli;
mod decode;
mod exit;
mod follow_args;
mod follow_cmd;
mod follow_config;
mod follow_handler;
mod follow_kafka;
mod follow_output;
mod follow_progress;
mod logging;
mod progress;
mod rdb_cmd;
#[cfg(test)]
mod test_support;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Rdb(args) => rdb_cmd::run(args),
        cli::Command::Follow(args) => follow_cmd::run(*args),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => failure.report(),
    }
}
