//! Encoding Redis commands in RESP2, the form every Redis and Valkey server (and
//! `redis-cli --pipe`) accepts: `*<argc>\r\n` then each argument as `$<len>\r\n<bytes>\r\n`.
//!
//! Arguments are appended straight to the caller's buffer. Integer-encoded strings are
//! formatted on the stack, so encoding a command allocates nothing.

use rdb::{Str, StreamId};

use crate::json_str::ShortestF64;

/// Appends `*n\r\n`, the header of a command with `n` arguments (its name included).
#[inline]
pub fn push_array_len(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends one argument.
#[inline]
pub fn push_bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(b.len() + 16);
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(b.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// Appends a Redis string argument (an integer-encoded one as its decimal text).
#[inline]
pub fn push_bulk_str(out: &mut Vec<u8>, s: Str<'_>) {
    match s {
        Str::Bytes(b) => push_bulk(out, b),
        Str::Int(i) => push_bulk(out, itoa::Buffer::new().format(i).as_bytes()),
    }
}

#[inline]
pub fn push_bulk_i64(out: &mut Vec<u8>, i: i64) {
    push_bulk(out, itoa::Buffer::new().format(i).as_bytes());
}

#[inline]
pub fn push_bulk_u64(out: &mut Vec<u8>, i: u64) {
    push_bulk(out, itoa::Buffer::new().format(i).as_bytes());
}

/// Appends a score as Redis parses it: the shortest text that reads back to the same double,
/// or `inf` / `-inf`. Returns `false` (appending nothing) for NaN, which no command accepts.
#[must_use]
pub fn push_bulk_score(out: &mut Vec<u8>, f: f64) -> bool {
    if f.is_nan() {
        return false;
    }
    if f.is_infinite() {
        push_bulk(out, if f > 0.0 { b"inf" } else { b"-inf" });
    } else {
        push_bulk(out, ShortestF64::new(f).as_bytes());
    }
    true
}

/// Appends a stream ID argument, `<ms>-<seq>`.
#[inline]
pub fn push_bulk_stream_id(out: &mut Vec<u8>, id: StreamId) {
    let mut ms = itoa::Buffer::new();
    let mut seq = itoa::Buffer::new();
    let (ms, seq) = (ms.format(id.ms).as_bytes(), seq.format(id.seq).as_bytes());
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(ms.len() + 1 + seq.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(ms);
    out.push(b'-');
    out.extend_from_slice(seq);
    out.extend_from_slice(b"\r\n");
}

/// Appends a whole command made of plain arguments.
pub fn push_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    push_array_len(out, args.len());
    for a in args {
        push_bulk(out, a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command() {
        let mut out = Vec::new();
        push_command(&mut out, &[b"SET", b"k", b"a\r\nb"]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
    }

    #[test]
    fn typed_arguments() {
        let mut out = Vec::new();
        push_bulk_str(&mut out, Str::Int(-42));
        push_bulk_str(&mut out, Str::Bytes(b""));
        push_bulk_i64(&mut out, 1700000000000);
        push_bulk_stream_id(&mut out, StreamId { ms: 17, seq: 3 });
        assert_eq!(out, b"$3\r\n-42\r\n$0\r\n\r\n$13\r\n1700000000000\r\n$4\r\n17-3\r\n");
    }

    #[test]
    fn scores() {
        let mut out = Vec::new();
        assert!(push_bulk_score(&mut out, 2.0));
        assert!(push_bulk_score(&mut out, 0.1));
        assert!(push_bulk_score(&mut out, f64::NEG_INFINITY));
        assert!(!push_bulk_score(&mut out, f64::NAN));
        assert_eq!(out, b"$1\r\n2\r\n$3\r\n0.1\r\n$4\r\n-inf\r\n");
    }
}
