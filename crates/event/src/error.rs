//! The crate's one error type. Writers fail for two reasons only: the output cannot be
//! written, or a value cannot be expressed in the chosen output (a NaN score has no `ZADD`).

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot write the output: {0}")]
    Io(#[from] io::Error),
    /// The data is valid RDB but has no faithful form in this output.
    #[error("key {key:?}: {what}")]
    Unrepresentable { key: String, what: String },
}

impl Error {
    /// True when the reader of our output went away (`| head`): not worth reporting.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    pub(crate) fn unrepresentable(key: &[u8], what: impl Into<String>) -> Error {
        Error::Unrepresentable { key: String::from_utf8_lossy(key).into_owned(), what: what.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
