//! Incremental decoding: [`check`] proves a whole frame is in the buffer (and within the
//! [`Limits`]) without allocating; only then is it split off the buffer and parsed.
//!
//! Besides frames, a byte stream from a server can hold two things that are not frames:
//! - empty lines (`\n` or `\r\n`), which a master sends as keepalives while it prepares a
//!   snapshot and which a server tolerates between commands;
//! - inline commands (`PING\r\n`), which clients may send but a master never does.
//!
//! Both are reported as [`Item`]s with their length, so the caller decides what they mean.

use bytes::{Bytes, BytesMut};

use crate::error::{Error, ErrorKind};
use crate::frame::Frame;

/// Caps on what one frame may claim, so a hostile or broken peer cannot make the decoder wait
/// for (or the caller buffer) an absurd amount of data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string. Redis' own `proto-max-bulk-len` defaults to 512 MB.
    pub max_bulk_len: usize,
    /// Most elements in one array, set or push (pairs in a map). Redis accepts up to
    /// `INT_MAX` arguments from its master; a command with millions of arguments is legal.
    pub max_array_len: usize,
    /// Deepest nesting of aggregates. The replication stream never nests; replies nest a few
    /// levels. The check pass recurses, so this also bounds its stack use.
    pub max_depth: usize,
    /// Longest simple string, error, inline command or other line-shaped item. Redis uses
    /// 64 KB for inline commands (`PROTO_INLINE_MAX_SIZE`).
    pub max_line_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_len: 512 << 20, max_array_len: i32::MAX as usize, max_depth: 32, max_line_len: 64 << 10 }
    }
}

/// One decoded unit of input.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Frame(Frame),
    /// `\n` or `\r\n` alone: a keepalive, or a blank line between commands.
    EmptyLine,
    /// A line that does not start with a RESP type byte: an inline command, without its line
    /// end. A master never sends one in its stream; seeing one there means garbage.
    Inline(Bytes),
}

/// Length lines (`$12`, `*3`) are short; anything longer is garbage, not a slow peer.
const HEADER_MAX: usize = 32;

/// Why the check pass stopped.
enum Fault {
    /// The frame is not all there yet.
    Incomplete,
    /// The frame is invalid; the offset is relative to the start of the buffer.
    Bad(usize, ErrorKind),
}

type Walk<T> = std::result::Result<T, Fault>;

/// What the check pass found at the front of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Frame,
    EmptyLine,
    /// An inline line; the value is the length of its content (without `\r\n` or `\n`).
    Inline(usize),
}

/// Checks whether `buf` starts with a complete item. Returns its length in bytes, `None` if
/// more input is needed, or an error whose offset is relative to the start of `buf`.
pub fn check(buf: &[u8], limits: &Limits) -> Result<Option<usize>, Error> {
    match check_item(buf, limits) {
        Ok((_, len)) => Ok(Some(len)),
        Err(Fault::Incomplete) => Ok(None),
        Err(Fault::Bad(at, kind)) => Err(Error::new(at as u64, kind)),
    }
}

/// Decodes items from a buffer, keeping count of the bytes consumed so errors can name an
/// absolute offset.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    limits: Limits,
    position: u64,
}

impl Decoder {
    pub fn new(limits: Limits) -> Self {
        Decoder { limits, position: 0 }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Offset of the next byte to decode: the bytes consumed so far, plus the starting
    /// position.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Sets the offset errors are counted from, for input that does not start at 0 (a
    /// replication stream resumed at some offset).
    pub fn set_position(&mut self, position: u64) {
        self.position = position;
    }

    /// Decodes one item from the front of `buf` and removes its bytes. Returns the item and
    /// its exact length, or `None` (with `buf` untouched) if the item is not complete yet.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<(Item, usize)>, Error> {
        let (shape, len) = match check_item(buf, &self.limits) {
            Ok(found) => found,
            Err(Fault::Incomplete) => return Ok(None),
            Err(Fault::Bad(at, kind)) => return Err(Error::new(self.position + at as u64, kind)),
        };
        let raw = buf.split_to(len).freeze();
        let item = match shape {
            Shape::EmptyLine => Item::EmptyLine,
            Shape::Inline(content) => Item::Inline(raw.slice(..content)),
            Shape::Frame => match parse_frame(&raw, 0) {
                Ok((frame, end)) if end == len => Item::Frame(frame),
                // The check pass accepted these bytes, so this cannot happen; report it
                // rather than panic.
                _ => {
                    return Err(Error::new(self.position, ErrorKind::BadLength("inconsistent frame".into())));
                }
            },
        };
        self.position += len as u64;
        Ok(Some((item, len)))
    }
}

fn check_item(buf: &[u8], limits: &Limits) -> Walk<(Shape, usize)> {
    let Some(&first) = buf.first() else { return Err(Fault::Incomplete) };
    if is_type_byte(first) {
        return check_frame(buf, 0, 0, limits).map(|end| (Shape::Frame, end));
    }
    // An inline line ends at LF, with or without CR before it.
    let window = &buf[..buf.len().min(limits.max_line_len + 2)];
    match window.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let content = if lf > 0 && buf[lf - 1] == b'\r' { lf - 1 } else { lf };
            let shape = if content == 0 { Shape::EmptyLine } else { Shape::Inline(content) };
            Ok((shape, lf + 1))
        }
        None if window.len() == limits.max_line_len + 2 => {
            Err(Fault::Bad(0, ErrorKind::LineTooLong { max: limits.max_line_len }))
        }
        None => Err(Fault::Incomplete),
    }
}

fn is_type_byte(b: u8) -> bool {
    matches!(b, b'+' | b'-' | b':' | b'$' | b'*' | b'_' | b',' | b'#' | b'(' | b'!' | b'=' | b'%' | b'~' | b'>' | b'|')
}

/// Finds the CRLF ending the line that starts at `start`. Returns the index of its CR.
fn line_end(buf: &[u8], start: usize, max: usize) -> Walk<usize> {
    let window = &buf[start.min(buf.len())..buf.len().min(start + max + 2)];
    match window.iter().position(|&b| b == b'\n') {
        Some(0) => Err(Fault::Bad(start, ErrorKind::BareLf)),
        Some(i) if window[i - 1] != b'\r' => Err(Fault::Bad(start, ErrorKind::BareLf)),
        Some(i) => Ok(start + i - 1),
        None if window.len() == max + 2 => Err(Fault::Bad(start, ErrorKind::LineTooLong { max })),
        None => Err(Fault::Incomplete),
    }
}

/// Reads the length line of the frame at `pos`; `-1` (null) is returned only where the type
/// allows it. Returns the length and the index of the first byte after the line.
fn length(buf: &[u8], pos: usize, null_ok: bool) -> Walk<(i64, usize)> {
    let cr = line_end(buf, pos + 1, HEADER_MAX)?;
    let text = &buf[pos + 1..cr];
    match parse_i64(text) {
        Some(n) if n >= 0 || (n == -1 && null_ok) => Ok((n, cr + 2)),
        _ => Err(Fault::Bad(pos, ErrorKind::BadLength(String::from_utf8_lossy(text).into_owned()))),
    }
}

/// The check pass: returns the index just past the frame at `pos`.
fn check_frame(buf: &[u8], pos: usize, depth: usize, limits: &Limits) -> Walk<usize> {
    let Some(&ty) = buf.get(pos) else { return Err(Fault::Incomplete) };
    match ty {
        b'+' | b'-' | b'(' => Ok(line_end(buf, pos + 1, limits.max_line_len)? + 2),
        b':' => {
            let cr = line_end(buf, pos + 1, HEADER_MAX)?;
            let text = &buf[pos + 1..cr];
            parse_i64(text).ok_or_else(|| bad(pos, ErrorKind::BadInteger, text))?;
            Ok(cr + 2)
        }
        b',' => {
            let cr = line_end(buf, pos + 1, limits.max_line_len)?;
            let text = &buf[pos + 1..cr];
            parse_double(text).ok_or_else(|| bad(pos, ErrorKind::BadDouble, text))?;
            Ok(cr + 2)
        }
        b'#' => {
            let cr = line_end(buf, pos + 1, HEADER_MAX)?;
            let text = &buf[pos + 1..cr];
            if text != b"t" && text != b"f" {
                return Err(bad(pos, ErrorKind::BadBoolean, text));
            }
            Ok(cr + 2)
        }
        b'_' => {
            let cr = line_end(buf, pos + 1, HEADER_MAX)?;
            if cr != pos + 1 {
                return Err(bad(pos, ErrorKind::BadLength, &buf[pos + 1..cr]));
            }
            Ok(cr + 2)
        }
        b'$' | b'!' | b'=' => {
            let (n, body) = length(buf, pos, ty == b'$')?;
            if n < 0 {
                return Ok(body);
            }
            if n as u64 > limits.max_bulk_len as u64 {
                return Err(Fault::Bad(pos, ErrorKind::BulkTooLong { len: n, max: limits.max_bulk_len }));
            }
            let n = n as usize;
            if ty == b'=' && n < 4 {
                return Err(Fault::Bad(pos, ErrorKind::BadVerbatim));
            }
            let end = body + n;
            if buf.len() < end + 2 {
                return Err(Fault::Incomplete);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(Fault::Bad(pos, ErrorKind::MissingCrlf { len: n }));
            }
            Ok(end + 2)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let (n, mut next) = length(buf, pos, ty == b'*')?;
            if n < 0 {
                return Ok(next);
            }
            if n as u64 > limits.max_array_len as u64 {
                return Err(Fault::Bad(pos, ErrorKind::ArrayTooLong { len: n, max: limits.max_array_len }));
            }
            if depth + 1 > limits.max_depth {
                return Err(Fault::Bad(pos, ErrorKind::TooDeep { max: limits.max_depth }));
            }
            let per = if matches!(ty, b'%' | b'|') { 2 } else { 1 };
            for _ in 0..n as u64 * per {
                next = check_frame(buf, next, depth + 1, limits)?;
            }
            Ok(next)
        }
        other => Err(Fault::Bad(pos, ErrorKind::BadLength(format!("unexpected type byte {other:#04x}")))),
    }
}

fn bad(pos: usize, kind: fn(String) -> ErrorKind, text: &[u8]) -> Fault {
    Fault::Bad(pos, kind(String::from_utf8_lossy(text).into_owned()))
}

/// The parse pass over bytes the check pass accepted. Strings are slices of `raw`.
fn parse_frame(raw: &Bytes, pos: usize) -> Walk<(Frame, usize)> {
    let buf = &raw[..];
    let unlimited = usize::MAX / 4;
    let ty = buf[pos];
    Ok(match ty {
        b'+' | b'-' | b'(' | b':' | b',' | b'#' | b'_' => {
            let cr = line_end(buf, pos + 1, unlimited)?;
            let text = raw.slice(pos + 1..cr);
            let frame = match ty {
                b'+' => Frame::Simple(text),
                b'-' => Frame::Error(text),
                b'(' => Frame::BigNumber(text),
                b':' => Frame::Integer(parse_i64(&text[..]).ok_or(Fault::Incomplete)?),
                b',' => Frame::Double(parse_double(&text[..]).ok_or(Fault::Incomplete)?),
                b'#' => Frame::Boolean(&text[..] == b"t"),
                _ => Frame::Null,
            };
            (frame, cr + 2)
        }
        b'$' | b'!' | b'=' => {
            let (n, body) = length(buf, pos, true)?;
            if n < 0 {
                return Ok((Frame::Null, body));
            }
            let end = body + n as usize;
            let frame = match ty {
                b'$' => Frame::Bulk(raw.slice(body..end)),
                b'!' => Frame::BulkError(raw.slice(body..end)),
                _ => Frame::Verbatim {
                    format: [buf[body], buf[body + 1], buf[body + 2]],
                    text: raw.slice(body + 4..end),
                },
            };
            (frame, end + 2)
        }
        _ => {
            let (n, mut next) = length(buf, pos, true)?;
            if n < 0 {
                return Ok((Frame::Null, next));
            }
            // Safe to size by `n`: the check pass saw all `n` elements in the buffer.
            if matches!(ty, b'%' | b'|') {
                let mut pairs = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let (k, after) = parse_frame(raw, next)?;
                    let (v, after) = parse_frame(raw, after)?;
                    pairs.push((k, v));
                    next = after;
                }
                let frame = if ty == b'%' { Frame::Map(pairs) } else { Frame::Attribute(pairs) };
                (frame, next)
            } else {
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let (f, after) = parse_frame(raw, next)?;
                    items.push(f);
                    next = after;
                }
                let frame = match ty {
                    b'*' => Frame::Array(items),
                    b'~' => Frame::Set(items),
                    _ => Frame::Push(items),
                };
                (frame, next)
            }
        }
    })
}

/// A decimal integer as Redis writes it: an optional `-` and 1 to 19 digits, in range.
fn parse_i64(text: &[u8]) -> Option<i64> {
    let (neg, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i128, |acc, d| acc * 10 + i128::from(d - b'0'));
    i64::try_from(if neg { -magnitude } else { magnitude }).ok()
}

/// A RESP3 double: decimal or exponent form, or `inf`, `-inf`, `nan`.
fn parse_double(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    if text.is_empty() || text.starts_with('+') || text.contains(char::is_whitespace) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests;
