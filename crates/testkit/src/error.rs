//! The test kit's one error type. Tests mostly use the panicking wrappers, whose messages are
//! these errors' texts; the `try_` variants exist for tests that expect a failure.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named server or tool is not on this machine; the text says how to install it.
    #[error("{name} is not installed; run: {hint}")]
    NotInstalled { name: String, hint: String },

    #[error("cannot run {binary}: {source}")]
    Spawn { binary: PathBuf, source: std::io::Error },

    /// The server exited or never answered PING; `log` is its output so far.
    #[error("{name} did not become ready: {reason}\n--- server log ---\n{log}")]
    NotReady { name: String, reason: String, log: String },

    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },

    /// The server sent bytes that are not RESP2.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
