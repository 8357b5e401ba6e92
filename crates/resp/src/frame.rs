//! The [`Frame`] type: one RESP value, RESP2 and the RESP3 types.

use bytes::Bytes;

/// One RESP value. Strings are [`Bytes`] slices of the decoder's buffer (no copy).
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+OK`
    Simple(Bytes),
    /// `-ERR message`
    Error(Bytes),
    /// `:42`
    Integer(i64),
    /// `$3\r\nfoo`
    Bulk(Bytes),
    /// RESP2 `$-1` and `*-1`, RESP3 `_`.
    Null,
    /// `*N` followed by N frames.
    Array(Vec<Frame>),
    /// RESP3 `,3.14`
    Double(f64),
    /// RESP3 `#t` / `#f`
    Boolean(bool),
    /// RESP3 `(12345678901234567890`, kept as its decimal text.
    BigNumber(Bytes),
    /// RESP3 `!N` blob error.
    BulkError(Bytes),
    /// RESP3 `=N` verbatim string: a 3-byte format (`txt`, `mkd`) and the text.
    Verbatim { format: [u8; 3], text: Bytes },
    /// RESP3 `%N`: N key/value pairs.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~N`
    Set(Vec<Frame>),
    /// RESP3 `>N` out-of-band push.
    Push(Vec<Frame>),
    /// RESP3 `|N` attributes; they precede the reply they describe, which is decoded as its
    /// own frame.
    Attribute(Vec<(Frame, Frame)>),
}

impl Frame {
    /// The arguments of a command: an array whose elements are all bulk strings, the only
    /// shape a master sends in its replication stream. `None` for anything else.
    pub fn into_command(self) -> Option<Vec<Bytes>> {
        match self {
            Frame::Array(items) => items
                .into_iter()
                .map(|f| match f {
                    Frame::Bulk(b) => Some(b),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    /// Appends the RESP2/RESP3 encoding of the frame to `out`. `Null` is written as `$-1`
    /// (RESP2), so a decoded `*-1` or `_` does not round-trip byte for byte.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        fn head(out: &mut Vec<u8>, ty: u8, n: impl std::fmt::Display) {
            out.push(ty);
            out.extend_from_slice(n.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        fn line(out: &mut Vec<u8>, ty: u8, text: &[u8]) {
            out.push(ty);
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
        match self {
            Frame::Simple(s) => line(out, b'+', s),
            Frame::Error(s) => line(out, b'-', s),
            Frame::Integer(i) => head(out, b':', i),
            Frame::Bulk(b) => {
                head(out, b'$', b.len());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Null => out.extend_from_slice(b"$-1\r\n"),
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
                let ty = match self {
                    Frame::Array(_) => b'*',
                    Frame::Set(_) => b'~',
                    _ => b'>',
                };
                head(out, ty, items.len());
                items.iter().for_each(|f| f.write_to(out));
            }
            Frame::Double(d) => {
                let text = if d.is_nan() {
                    "nan".to_string()
                } else if d.is_infinite() {
                    if *d > 0.0 { "inf" } else { "-inf" }.to_string()
                } else {
                    format!("{d:?}")
                };
                line(out, b',', text.as_bytes())
            }
            Frame::Boolean(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
            Frame::BigNumber(n) => line(out, b'(', n),
            Frame::BulkError(b) => {
                head(out, b'!', b.len());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Verbatim { format, text } => {
                head(out, b'=', text.len() + 4);
                out.extend_from_slice(format);
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Map(pairs) | Frame::Attribute(pairs) => {
                head(out, if matches!(self, Frame::Map(_)) { b'%' } else { b'|' }, pairs.len());
                for (k, v) in pairs {
                    k.write_to(out);
                    v.write_to(out);
                }
            }
        }
    }
}
