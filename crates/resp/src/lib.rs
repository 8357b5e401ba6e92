//! RESP, the Redis serialization protocol: incremental, sans-IO frame decoding and command
//! encoding, with an exact byte count for every frame.
//!
//! The exact count matters because a replica's position in its master's stream (the
//! replication offset) is a count of bytes: every byte of every frame, `PING` and `SELECT`
//! included. So [`Decoder::decode`] reports how many bytes each item used, and a partial frame
//! is left in the buffer untouched ("need more") rather than half consumed.
//!
//! Decoding is two passes, in the style of mini-redis' `frame.rs`: a cheap [`check`] that walks
//! the buffer without allocating and proves the whole frame is present and within the
//! configured [`Limits`], then a parse that builds the [`Frame`] from zero-copy [`bytes::Bytes`]
//! slices. A length read from the input therefore never sizes an allocation: a hostile
//! `$999999999999` is rejected by the limit, and a `*1000000` is only allocated once its
//! million elements have actually arrived.
//!
//! ```
//! use bytes::BytesMut;
//! use resp::{Decoder, Frame, Item};
//!
//! let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGE"[..]);
//! let mut dec = Decoder::default();
//! let (item, len) = dec.decode(&mut buf).unwrap().unwrap();
//! assert_eq!(len, 14);
//! assert!(matches!(item, Item::Frame(Frame::Array(_))));
//! assert!(dec.decode(&mut buf).unwrap().is_none()); // the second frame is partial
//! assert_eq!(&buf[..], b"*2\r\n$3\r\nGE");
//! ```

mod command;
mod decode;
mod encode;
mod error;
mod frame;

pub use command::{CommandDecoder, Decoded};
pub use decode::{check, Decoder, Item, Limits};
pub use encode::{encode_command, encode_command_into};
pub use error::{Error, ErrorKind};
pub use frame::Frame;
