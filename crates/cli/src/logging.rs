//! Logs on stderr with `tracing`: warnings and errors by default, more with `-v`, or exactly
//! what `RUST_LOG` asks for. Standard output carries only data. No log line holds a password:
//! sources print with it masked, and the replication crate never logs credentials.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8) {
    // librdkafka's own log (through the `log` bridge) repeats what the Kafka sink already
    // reports as warnings, so it shows from -vv on: there, `--kafka-opt debug=…` is readable.
    let level = match verbose {
        0 => "warn,librdkafka=off",
        1 => "info,librdkafka=off",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // A second initialisation (never in the binary) is not worth failing over.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
