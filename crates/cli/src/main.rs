//! The `redtail` binary: argument parsing and wiring only. The work happens in the `rdb`,
//! `event`, `replica` and `sink` crates; each subcommand lives in its own module.

// The argument structs' doc comments are `--help` text, where `[user]` and `[:port]` are URL
// syntax, not rustdoc links; escaping them would show backslashes to users.
#![allow(rustdoc::broken_intra_doc_links)]

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
