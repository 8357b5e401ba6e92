//! A streaming, sans-IO decoder for Redis and Valkey RDB files: every version from
//! `REDIS0001` to `REDIS0012`, Redis 8.6's `REDIS0013` where its layout is confirmed, and
//! Valkey 9's `VALKEY080`.
//!
//! Feed bytes to a [`Parser`] and pull [`Event`]s; the same parser serves files, pipes and
//! replication sockets. Memory stays bounded by the largest single string or compact blob in
//! the input, never by the size of a collection.

pub mod crc64;
mod cursor;
pub mod decoder;
pub mod double;
pub mod dump;
pub mod error;
pub mod event;
pub mod format;
pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod module;
mod parser;
mod refs;
mod stream;
mod types;
pub mod value;
pub mod ziplist;
pub mod zipmap;

pub use decoder::{Decoder, Options, Progress, ReadyItems};
pub use dump::{push_dump_footer, RestoreTarget};
pub use error::{BlobError, Error, ErrorKind, Result};
pub use event::*;
pub use format::{Family, Format};
pub use parser::{Parser, Poll, Step};
pub use value::Str;
