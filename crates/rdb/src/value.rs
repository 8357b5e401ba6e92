//! The logical string type shared by every encoding.
//!
//! Redis stores many strings as integers (RDB `INT8/16/32`, ziplist and listpack integer
//! entries, intsets). Keeping them as `Int` avoids formatting them to text on the hot path;
//! writers that need text call [`Str::write_to`] or [`Str::to_vec`].

use std::fmt;

/// A Redis string as it appears in the file: raw bytes, or an integer that stands for its
/// decimal text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Str<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl<'a> Str<'a> {
    /// The logical bytes, formatting an integer into `scratch` when needed.
    pub fn as_bytes<'s>(&'s self, scratch: &'s mut itoa_buf::Buffer) -> &'s [u8] {
        match self {
            Str::Bytes(b) => b,
            Str::Int(i) => scratch.format(*i).as_bytes(),
        }
    }

    /// Appends the logical bytes to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Str::Bytes(b) => out.extend_from_slice(b),
            Str::Int(i) => out.extend_from_slice(itoa_buf::Buffer::new().format(*i).as_bytes()),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v);
        v
    }

    /// Length of the logical text, without allocating.
    pub fn len(&self) -> usize {
        match self {
            Str::Bytes(b) => b.len(),
            Str::Int(i) => itoa_buf::Buffer::new().format(*i).len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Str::Bytes(b) if b.is_empty())
    }
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Str::Bytes(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Str::Int(i) => write!(f, "{i}"),
        }
    }
}

/// Small re-export so callers need not depend on `itoa` themselves.
pub mod itoa_buf {
    pub use itoa::Buffer;
}
