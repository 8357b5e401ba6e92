//! One error type for the crate. Each error names the byte offset where the bad frame (or the
//! bad part of it) starts, counted by the [`Decoder`](crate::Decoder) from the first byte it
//! was given (or from [`Decoder::set_position`](crate::Decoder::set_position)).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("RESP protocol error at byte offset {offset}: {kind}")]
pub struct Error {
    pub offset: u64,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("bulk string length {len} is over the limit of {max} bytes")]
    BulkTooLong { len: i64, max: usize },
    #[error("aggregate length {len} is over the limit of {max} elements")]
    ArrayTooLong { len: i64, max: usize },
    #[error("frames nested deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("invalid length {0:?}")]
    BadLength(String),
    #[error("invalid integer {0:?}")]
    BadInteger(String),
    #[error("invalid double {0:?}")]
    BadDouble(String),
    #[error("invalid boolean {0:?} (expected t or f)")]
    BadBoolean(String),
    #[error("line is longer than {max} bytes without a line end")]
    LineTooLong { max: usize },
    #[error("line ends with a bare LF; RESP lines end with CRLF")]
    BareLf,
    #[error("bulk string of {len} bytes is not followed by CRLF")]
    MissingCrlf { len: usize },
    #[error("verbatim string shorter than its 4-byte \"xxx:\" format prefix")]
    BadVerbatim,
}

impl Error {
    pub(crate) fn new(offset: u64, kind: ErrorKind) -> Self {
        Error { offset, kind }
    }
}
