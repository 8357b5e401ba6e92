//! Exit codes, and how each failure is reported. The codes are part of the interface (see
//! `redtail --help` and the README): scripts tell a damaged file (1) from a usage mistake (2,
//! clap's own), from a disk or pipe problem (3), from a master that cannot be followed (4), and
//! from a sink that cannot deliver (5).

use std::io::{self, Write};
use std::process::ExitCode;

pub const OK: u8 = 0;
pub const INVALID_INPUT: u8 = 1;
/// `redtail verify`: the two servers hold different data.
pub const DIFFERENT: u8 = 1;
/// Clap exits with this itself on a usage error; checks after parsing use it too.
pub const USAGE: u8 = 2;
pub const IO_ERROR: u8 = 3;
pub const SOURCE_ERROR: u8 = 4;
pub const SINK_ERROR: u8 = 5;

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The input is not a valid RDB file, or holds data the output cannot express.
    Invalid(anyhow::Error),
    /// The input cannot be opened or read, or the output cannot be written.
    Io(anyhow::Error),
    /// A usage mistake found after parsing (a bad URL, an option that needs another).
    Usage(anyhow::Error),
    /// The master cannot be followed: connection, authentication, a refused `PSYNC`.
    Source(anyhow::Error),
    /// The sink cannot deliver: Kafka unreachable, a missing topic, a record refused.
    Sink(anyhow::Error),
    /// The failure was already reported (e.g. by `--check` on stdout); exit with this code.
    Reported(u8),
}

impl Failure {
    /// Prints the message on stderr and returns the exit code.
    pub fn report(self) -> ExitCode {
        let (code, err) = match self {
            Failure::Invalid(e) => (INVALID_INPUT, e),
            Failure::Io(e) => (IO_ERROR, e),
            Failure::Usage(e) => (USAGE, e),
            Failure::Source(e) => (SOURCE_ERROR, e),
            Failure::Sink(e) => (SINK_ERROR, e),
            Failure::Reported(code) => return ExitCode::from(code),
        };
        // If stderr itself is gone there is no one left to tell.
        let _ = writeln!(io::stderr(), "redtail: error: {err:#}");
        ExitCode::from(code)
    }
}

/// What to tell the user, beyond the decoder's message, for each kind of damage.
pub fn hint(kind: &rdb::ErrorKind) -> Option<&'static str> {
    use rdb::ErrorKind::*;
    match kind {
        Truncated => Some("the file ends early: it may still be being written, or be a partial copy"),
        BadMagic(_) => Some(
            "an RDB file starts with REDIS or VALKEY; an AOF file can be read only if it has an RDB preamble \
             (aof-use-rdb-preamble yes)",
        ),
        // The decoder's messages for these already say what to do (--no-verify, the supported
        // versions).
        ChecksumMismatch { .. } | UnsupportedVersion(_) => None,
        UnknownType { .. } | UnsupportedType { .. } | UnsupportedOpcode { .. } => {
            Some("the file may come from a newer server than this redtail supports; please report it with the server version")
        }
        _ => Some("the file is damaged at this offset; `redtail rdb --check FILE` shows what was read before it"),
    }
}

/// A decode error with its hint, as one message.
pub fn decode_failure(e: rdb::Error) -> Failure {
    let hint = hint(&e.kind);
    let err = anyhow::Error::new(e).context("the input is not a valid RDB file");
    Failure::Invalid(match hint {
        Some(h) => anyhow::anyhow!("{err:#}\nhint: {h}"),
        None => err,
    })
}
