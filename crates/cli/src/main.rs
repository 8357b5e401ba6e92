//! The `redtail` binary: argument parsing and wiring only. The work happens in the `rdb`,
//! `event`, `replica` and `sink` crates; each subcommand lives in its own module.

// The argument structs' doc comments are `--help` text, where `[user]` and `[:port]` are URL
// syntax, not rustdoc links; escaping them would show backslashes to users.
#![allow(rustdoc::broken_intra_doc_links)]

mod check;
mod cli;
mod config_file;
mod connection_args;
mod decode;
mod exit;
mod follow_args;
mod follow_cmd;
mod follow_config;
mod follow_file;
mod follow_handler;
mod follow_kafka;
mod follow_kafka_txn;
mod follow_output;
mod follow_position;
mod follow_progress;
mod follow_redis;
mod logging;
mod metrics;
mod metrics_http;
mod metrics_kafka;
mod metrics_lag;
mod progress;
mod rdb_cmd;
mod sched_slice;
#[cfg(test)]
mod test_support;
mod verify_args;
mod verify_cmd;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

fn main() -> ExitCode {
    // Parsed from the matches rather than with `Cli::parse`, so that `follow --config` can
    // tell a flag given on the command line from a default.
    let matches = cli::Cli::command().get_matches();
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        cli::Command::Rdb(args) => rdb_cmd::run(args),
        cli::Command::Follow(args) => follow_cmd::run(*args, matches.subcommand_matches("follow")),
        cli::Command::Verify(args) => verify_cmd::run(*args),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => failure.report(),
    }
}
