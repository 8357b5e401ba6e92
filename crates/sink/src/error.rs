//! One error type for the crate. Each error names the file (and line) or the destination it
//! concerns, so the binary can tell the user what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("checkpoint file {}: cannot {action}: {source}", path.display())]
    CheckpointIo {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint file exists but cannot be trusted; redtail does not guess a position.
    #[error("checkpoint file {}, line {line}: {reason}; fix or delete the file (deleting it means a new full sync)", path.display())]
    CorruptCheckpoint { path: PathBuf, line: usize, reason: String },
    #[error("writing to {destination}: {source}")]
    Write {
        destination: String,
        #[source]
        source: std::io::Error,
    },
}
