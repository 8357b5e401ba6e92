//! One error type for the crate. Every error says which side (source or target) and which
//! server it concerns, so the binary can exit with the side's code and the user knows where to
//! look.

use std::fmt;

/// The two servers being compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Connecting, TLS, or authenticating failed.
    #[error("{side} {address}: {source}")]
    Connect {
        side: Side,
        address: String,
        #[source]
        source: replica::Error,
    },
    /// The connection broke, timed out, or carried bytes that are not RESP.
    #[error("{side} {address}: {reason}")]
    Io { side: Side, address: String, reason: String },
    /// The server refused a command verify needs (`-NOPERM`, a disabled command, a db a
    /// cluster does not have).
    #[error("{side} {address}: {command} answered {reply:?}")]
    Refused { side: Side, address: String, command: String, reply: String },
    /// A reply of a shape the command cannot give: not a Redis or Valkey server, or a version
    /// this does not know.
    #[error("{side} {address}: unexpected reply to {command}: {got}")]
    Unexpected { side: Side, address: String, command: String, got: String },
    /// The cluster's slot map could not be read, or a slot has no master.
    #[error("{side} {address}: {reason}")]
    Cluster { side: Side, address: String, reason: String },
}

impl Error {
    /// The error for a command answered with an error (refused) or with a reply of the wrong
    /// shape (unexpected).
    pub(crate) fn from_reply(side: Side, address: &str, command: &str, reply: &resp::Frame) -> Error {
        let (address, command) = (address.to_string(), command.to_string());
        match reply {
            resp::Frame::Error(e) | resp::Frame::BulkError(e) => {
                Error::Refused { side, address, command, reply: String::from_utf8_lossy(e).into_owned() }
            }
            other => Error::Unexpected { side, address, command, got: crate::conn::describe(other) },
        }
    }

    /// Which server the error concerns.
    pub fn side(&self) -> Side {
        match self {
            Error::Connect { side, .. }
            | Error::Io { side, .. }
            | Error::Refused { side, .. }
            | Error::Unexpected { side, .. }
            | Error::Cluster { side, .. } => *side,
        }
    }
}
