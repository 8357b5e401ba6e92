//! One error type for the crate. Every error carries the absolute byte offset in the RDB
//! stream where it was found and, once the decoder is inside a key, that key, so a user can
//! find the damage with `xxd -s OFFSET`.

use std::fmt;

/// A fault inside one compact blob (ziplist, listpack, intset, zipmap, LZF data). `pos` is
/// relative to the start of the blob; the decoder turns it into an absolute [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {pos} of the {blob}")]
pub struct BlobError {
    pub blob: &'static str,
    pub pos: usize,
    pub what: String,
}

impl BlobError {
    pub fn new(blob: &'static str, pos: usize, what: impl Into<String>) -> Self {
        BlobError { blob, pos, what: what.into() }
    }
}

/// One step of a blob iterator that stops for good after the end or the first error, so a
/// corrupt blob yields its error once and then nothing.
#[inline]
pub(crate) fn fused_step<T>(done: &mut bool, step: Result<Option<T>, BlobError>) -> Option<Result<T, BlobError>> {
    match step {
        Ok(Some(v)) => Some(Ok(v)),
        Ok(None) => {
            *done = true;
            None
        }
        Err(e) => {
            *done = true;
            Some(Err(e))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("the input ended early (truncated file or connection)")]
    Truncated,
    #[error("not an RDB file: bad magic {0:?}")]
    BadMagic(String),
    #[error("unsupported RDB version {0}: this decoder reads REDIS0001 to REDIS0013 and VALKEY080")]
    UnsupportedVersion(String),
    #[error("unknown value type {ty} in {format}")]
    UnknownType { ty: u8, format: String },
    #[error("unsupported value type {ty} ({name}) in {format}: its layout is not confirmed, so it is not guessed")]
    UnsupportedType { ty: u8, name: &'static str, format: String },
    #[error("unsupported opcode {op} ({name}) in {format}: its layout is not confirmed, so it is not guessed")]
    UnsupportedOpcode { op: u8, name: &'static str, format: String },
    #[error("invalid length encoding byte {0:#04x}")]
    BadLength(u8),
    #[error("length {len} is larger than anything this input can hold ({what})")]
    LyingLength { len: u64, what: &'static str },
    #[error("CRC64 mismatch: file says {stored:#018x}, computed {computed:#018x} (use --no-verify to decode anyway)")]
    ChecksumMismatch { stored: u64, computed: u64 },
    #[error("corrupt {0}")]
    Blob(BlobError),
    #[error(
        "module value of type 6 (Redis 4.0 release candidate) cannot be skipped: it does not describe its own length"
    )]
    ModulePreGa,
    #[error("{0}")]
    Invalid(String),
    #[error("trailing data after the end of the RDB")]
    TrailingData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Absolute byte offset from the first magic byte.
    pub offset: u64,
    /// The key being decoded, when the fault is inside one.
    pub key: Option<Vec<u8>>,
    pub kind: ErrorKind,
}

impl Error {
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        Error { offset, key: None, kind }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte offset {}", self.kind, self.offset)?;
        if let Some(key) = &self.key {
            write!(f, " in key {:?}", String::from_utf8_lossy(key))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
