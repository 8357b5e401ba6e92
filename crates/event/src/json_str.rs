//! Writing JSON scalars straight into an output `Vec<u8>`.
//!
//! This is the innermost loop of `redtail rdb --format json`: every key, member and value passes
//! through [`write_bytes`]. It therefore allocates nothing (the caller's buffer grows once and
//! is reused) and avoids UTF-8 validation for the common case of plain ASCII, which it
//! recognises during the same pass that looks for characters needing an escape.
//!
//! Redis strings are binary-safe, JSON strings are not. Following the event contract
//! (docs/events.md), valid UTF-8 becomes an escaped JSON string and anything else becomes the
//! wrapper `{"base64":"..."}`.

use base64::Engine as _;
use rdb::Str;

/// What a byte needs when it appears inside a JSON string.
const PLAIN: u8 = 0;
/// A byte ≥ 0x80: the string is not plain ASCII and must be checked as UTF-8 (once).
const HIGH: u8 = 1;
/// A control character without a short escape: written as `\u00XX`.
const UNICODE: u8 = b'u';

/// Per byte: [`PLAIN`], [`HIGH`], [`UNICODE`], or the letter of its short escape (`\n`, `\"`...).
static CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = UNICODE;
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    let mut i = 0x80;
    while i < 0x100 {
        t[i] = HIGH;
        i += 1;
    }
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes a Redis string: a JSON string if it is valid UTF-8, else `{"base64":"..."}`.
/// Integer-encoded strings are written as their decimal text, quoted.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: Str<'_>) {
    match s {
        Str::Bytes(b) => write_bytes(out, b),
        Str::Int(i) => {
            out.push(b'"');
            write_i64(out, i);
            out.push(b'"');
        }
    }
}

/// Writes raw bytes as a JSON string, or as the base64 wrapper when they are not UTF-8.
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(b.len() + 2);
    if is_plain_ascii(b) {
        out.push(b'"');
        out.extend_from_slice(b);
        out.push(b'"');
        return;
    }
    let mark = out.len();
    out.push(b'"');
    let mut run = 0; // start of the bytes not yet copied
    let mut checked_utf8 = false;
    let mut i = 0;
    while i < b.len() {
        // Skip 8 plain bytes at a time (most keys and values need no escape at all).
        if let Some(word) = b.get(i..i + 8) {
            if is_plain_word(u64::from_le_bytes(word.try_into().unwrap()), checked_utf8) {
                i += 8;
                continue;
            }
        }
        let class = CLASS[b[i] as usize];
        if class == PLAIN {
            i += 1;
            continue;
        }
        if class == HIGH {
            // Everything before `i` is ASCII, so `i` is a character boundary and validating the
            // rest validates the whole string. Done at most once per string.
            if !checked_utf8 {
                if std::str::from_utf8(&b[i..]).is_err() {
                    out.truncate(mark);
                    write_base64(out, b);
                    return;
                }
                checked_utf8 = true;
            }
            i += 1;
            continue;
        }
        out.extend_from_slice(&b[run..i]);
        if class == UNICODE {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b[i] >> 4) as usize], HEX[(b[i] & 15) as usize]]);
        } else {
            out.extend_from_slice(&[b'\\', class]);
        }
        i += 1;
        run = i;
    }
    out.extend_from_slice(&b[run..]);
    out.push(b'"');
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether none of the 8 bytes needs attention: no control character, `"` or `\\`, and (until
/// the string has been validated as UTF-8) no byte ≥ 0x80. The classic SWAR tests ("has a
/// byte less than n", "has a zero byte") can report a byte that is fine, never miss one that
/// is not, so a `true` here is always right; a false alarm only takes the byte-wise path.
#[inline(always)]
fn is_plain_word(x: u64, high_bytes_ok: bool) -> bool {
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let mut flags = (x.wrapping_sub(ONES * 0x20) & !x)
        | (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash);
    if !high_bytes_ok {
        flags |= x;
    }
    flags & HIGH_BITS == 0
}

/// Whether `b` is ASCII with nothing to escape, checked a word at a time, because most keys
/// and values are exactly that. The last word overlaps the one before it, and a string shorter
/// than a word is read as two overlapping halves (padded with a plain byte), so no byte is
/// copied just to be looked at: a small copy is a `memcpy` call, which cost as much as the
/// check itself for the short strings that dominate collections.
#[inline]
fn is_plain_ascii(b: &[u8]) -> bool {
    let n = b.len();
    if n >= 8 {
        let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        let mut i = 0;
        while i + 8 < n {
            if !is_plain_word(word(i), false) {
                return false;
            }
            i += 8;
        }
        return is_plain_word(word(n - 8), false);
    }
    const PAD: u64 = ONES * b'a' as u64;
    let x = if n >= 4 {
        let half = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().unwrap()));
        half(0) | half(n - 4) << 32
    } else if n >= 2 {
        let half = |i: usize| u64::from(u16::from_le_bytes(b[i..i + 2].try_into().unwrap()));
        half(0) | half(n - 2) << 16 | PAD << 32
    } else if n == 1 {
        u64::from(b[0]) | PAD << 8
    } else {
        return true;
    };
    is_plain_word(x, false)
}

/// Writes `{"base64":"..."}`: the contract's one wrapper for bytes that are not UTF-8 (and for
/// module payloads, which are always binary).
pub fn write_base64(out: &mut Vec<u8>, b: &[u8]) {
    const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
    out.extend_from_slice(b"{\"base64\":\"");
    let start = out.len();
    let n = base64::encoded_len(b.len(), true).expect("base64 length of an in-memory slice fits usize");
    out.resize(start + n, 0);
    let written = ENGINE.encode_slice(b, &mut out[start..]).expect("buffer sized by encoded_len");
    debug_assert_eq!(written, n);
    out.extend_from_slice(b"\"}");
}

/// Writes a string known to need no escaping (field names, enum names).
#[inline]
pub fn write_plain(out: &mut Vec<u8>, s: &str) {
    debug_assert!(s.bytes().all(|c| CLASS[c as usize] == PLAIN));
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

#[inline]
pub fn write_i64(out: &mut Vec<u8>, i: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

#[inline]
pub fn write_u64(out: &mut Vec<u8>, i: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

/// Appends `"db":N,"key":K,"type":T,"encoding":E,"expire_at_ms":X`: the fields a key's line
/// starts with in both the event contract and the keys listing, in the contract's order.
pub fn write_key_fields(out: &mut Vec<u8>, info: &rdb::KeyInfo<'_>) {
    out.extend_from_slice(b"\"db\":");
    write_u64(out, info.db);
    out.extend_from_slice(b",\"key\":");
    write_str(out, info.key);
    out.extend_from_slice(b",\"type\":");
    write_plain(out, info.value_type.as_str());
    out.extend_from_slice(b",\"encoding\":");
    write_plain(out, info.encoding.as_str());
    out.extend_from_slice(b",\"expire_at_ms\":");
    write_opt_i64(out, info.expire_at_ms);
}

/// An optional number, `null` when absent.
#[inline]
pub fn write_opt_i64(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(i) => write_i64(out, i),
        None => out.extend_from_slice(b"null"),
    }
}

#[inline]
pub fn write_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(i) => write_u64(out, i),
        None => out.extend_from_slice(b"null"),
    }
}

/// The shortest decimal text that reads back to a finite double, kept on the stack.
pub struct ShortestF64 {
    buf: [u8; 32],
    len: usize,
}

impl ShortestF64 {
    /// `1` rather than ryu's `1.0`, so integral scores look as Redis prints them.
    #[inline]
    pub fn new(f: f64) -> Self {
        debug_assert!(f.is_finite());
        let mut buf = [0u8; 32];
        // Integral scores (timestamps, counters) are common and exact as integers below 2^53;
        // itoa is several times faster than ryu for them.
        let len = if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 && !(f == 0.0 && f.is_sign_negative()) {
            let mut i = itoa::Buffer::new();
            let s = i.format(f as i64).as_bytes();
            buf[..s.len()].copy_from_slice(s);
            s.len()
        } else {
            let mut r = ryu::Buffer::new();
            let s = r.format_finite(f);
            let s = s.strip_suffix(".0").unwrap_or(s).as_bytes();
            buf[..s.len()].copy_from_slice(s);
            s.len()
        };
        ShortestF64 { buf, len }
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Appends the shortest decimal text that reads back to `f` (finite only).
#[inline]
pub fn push_shortest_f64(out: &mut Vec<u8>, f: f64) {
    out.extend_from_slice(ShortestF64::new(f).as_bytes());
}

/// Writes a sorted-set score: a JSON number, or the strings `"inf"`, `"-inf"`, `"nan"`, which
/// JSON numbers cannot express.
#[inline]
pub fn write_score(out: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        push_shortest_f64(out, f);
    } else if f.is_nan() {
        out.extend_from_slice(b"\"nan\"");
    } else if f > 0.0 {
        out.extend_from_slice(b"\"inf\"");
    } else {
        out.extend_from_slice(b"\"-inf\"");
    }
}

/// Writes a stream ID as the string `"<ms>-<seq>"`.
#[inline]
pub fn write_stream_id(out: &mut Vec<u8>, id: rdb::StreamId) {
    out.push(b'"');
    push_stream_id(out, id);
    out.push(b'"');
}

/// Appends `<ms>-<seq>` without quotes (shared with the RESP writer).
#[inline]
pub fn push_stream_id(out: &mut Vec<u8>, id: rdb::StreamId) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(id.ms).as_bytes());
    out.push(b'-');
    out.extend_from_slice(buf.format(id.seq).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(b: &[u8]) -> String {
        let mut out = Vec::new();
        write_bytes(&mut out, b);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ascii_passes_through() {
        assert_eq!(json(b"hello world"), r#""hello world""#);
        assert_eq!(json(b""), r#""""#);
    }

    #[test]
    fn escapes() {
        assert_eq!(json(b"a\"b\\c\nd\re\tf\x08g\x0ch"), r#""a\"b\\c\nd\re\tf\bg\fh""#);
        assert_eq!(json(b"\x00\x01\x1f\x7f"), "\"\\u0000\\u0001\\u001f\x7f\"");
        let back: String = serde_json::from_str(&json(b"\x00\x01\x1f\"\\/")).unwrap();
        assert_eq!(back.as_bytes(), b"\x00\x01\x1f\"\\/");
    }

    #[test]
    fn utf8_is_a_string() {
        assert_eq!(json("héllo \"wörld\" 🎉".as_bytes()), "\"héllo \\\"wörld\\\" 🎉\"");
    }

    #[test]
    fn invalid_utf8_is_base64() {
        assert_eq!(json(b"\xff\x00a"), r#"{"base64":"/wBh"}"#);
        // Invalid after valid non-ASCII and after escapes: the partial output is discarded.
        assert_eq!(
            json("é\n\"".as_bytes().iter().copied().chain([0xc3]).collect::<Vec<_>>().as_slice()),
            r#"{"base64":"w6kKIsM="}"#
        );
        // A lone continuation byte.
        assert_eq!(json(b"abc\x80"), r#"{"base64":"YWJjgA=="}"#);
    }

    /// The fast path must agree with a plain reference (serde_json's escaping, which matches
    /// ours) on every string, including ones where special bytes sit in each word position.
    #[test]
    fn word_skipping_agrees_with_serde_json() {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"\"",
            b"\\",
            b"\n",
            b"\x01",
            b"\x1f",
            b" ",
            b"\x7f",
            "é".as_bytes(),
            "€".as_bytes(),
            "🎉".as_bytes(),
            b"\xff",
            b"\x80",
        ];
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let n = (next() % 40) as usize;
            let mut b = Vec::new();
            for _ in 0..n {
                let r = next();
                // Mostly plain letters, so that words of 8 plain bytes occur.
                if r % 4 != 0 {
                    b.push(b'a' + (r % 26) as u8);
                } else {
                    b.extend_from_slice(alphabet[(r / 4 % alphabet.len() as u64) as usize]);
                }
            }
            let got = json(&b);
            match std::str::from_utf8(&b) {
                Ok(text) => assert_eq!(got, serde_json::to_string(text).unwrap(), "{b:?}"),
                Err(_) => assert!(got.starts_with("{\"base64\":"), "{b:?}"),
            }
        }
    }

    #[test]
    fn appends_after_existing_output() {
        let mut out = b"[".to_vec();
        write_bytes(&mut out, b"\xfe");
        out.push(b',');
        write_bytes(&mut out, b"x");
        assert_eq!(out, br#"[{"base64":"/g=="},"x""#);
    }

    #[test]
    fn integers_are_quoted_text() {
        let mut out = Vec::new();
        write_str(&mut out, Str::Int(-9223372036854775808));
        assert_eq!(out, b"\"-9223372036854775808\"");
    }

    #[test]
    fn scores() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-0.0, "-0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (5000000000.0, "5000000000"),
            (-1700000000000.0, "-1700000000000"),
            (9007199254740992.0, "9007199254740992"),
            (1e16, "1e16"),
            (1e300, "1e300"),
            (f64::INFINITY, "\"inf\""),
            (f64::NEG_INFINITY, "\"-inf\""),
            (f64::NAN, "\"nan\""),
        ];
        for &(f, want) in cases {
            let mut out = Vec::new();
            write_score(&mut out, f);
            assert_eq!(std::str::from_utf8(&out).unwrap(), want, "{f}");
            if f.is_finite() {
                let back: f64 = serde_json::from_slice(&out).unwrap();
                assert_eq!(back.to_bits(), f.to_bits());
            }
        }
    }

    #[test]
    fn stream_ids() {
        let mut out = Vec::new();
        write_stream_id(&mut out, rdb::StreamId { ms: 1700000000000, seq: 3 });
        assert_eq!(out, b"\"1700000000000-3\"");
    }
}
