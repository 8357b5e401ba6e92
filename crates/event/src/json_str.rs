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
#[inline(always)]
pub fn write_str(out: &mut Vec<u8>, s: Str<'_>) {
    match s {
        Str::Bytes(b) => write_bytes(out, b),
        Str::Int(i) => {
            // An i64 has at most 20 characters; all but the extremes take the short path.
            let mut buf = itoa::Buffer::new();
            let text = buf.format(i).as_bytes();
            if text.len() <= SHORT {
                push_short(out, load_short(text), text.len(), true);
            } else {
                out.push(b'"');
                out.extend_from_slice(text);
                out.push(b'"');
            }
        }
    }
}

/// The longest string that [`load_short`] takes.
const SHORT: usize = 16;

/// `b` (at most [`SHORT`] bytes) as two words: from 8 bytes on, the first and the last 8
/// (overlapping when shorter than 16); below that, all of it in the first, zero-padded, read
/// as two overlapping halves. No byte-wise loop and no `memcpy` call, which for the short
/// strings that dominate collections cost as much as writing them.
#[inline(always)]
fn load_short(b: &[u8]) -> [u64; 2] {
    let n = b.len();
    debug_assert!(n <= SHORT);
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    if n >= 8 {
        return [word(0), word(n - 8)];
    }
    // The halves overlap by the same bytes, so OR-ing them is exact.
    let x = if n >= 4 {
        let half = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().unwrap()));
        half(0) | half(n - 4) << (8 * (n - 4))
    } else if n >= 2 {
        let half = |i: usize| u64::from(u16::from_le_bytes(b[i..i + 2].try_into().unwrap()));
        half(0) | half(n - 2) << (8 * (n - 2))
    } else if n == 1 {
        u64::from(b[0])
    } else {
        0
    };
    [x, 0]
}

/// Whether the `n` bytes in `words` (from [`load_short`]) are ASCII with nothing to escape.
/// Below 8 bytes the zero padding would count as control characters, so it is first filled
/// with a plain byte.
#[inline(always)]
fn is_plain_short([first, last]: [u64; 2], n: usize) -> bool {
    if n >= 8 {
        is_plain_word(first, false) && is_plain_word(last, false)
    } else {
        const PAD: u64 = ONES * b'a' as u64;
        is_plain_word(first | PAD << (8 * n), false)
    }
}

/// Appends the `n` bytes in `words` (from [`load_short`]), between double quotes if `quoted`:
/// room is made with one fixed-size store, the words go in with 8-byte stores, and the length
/// is then cut to what was written.
#[inline(always)]
fn push_short(out: &mut Vec<u8>, [first, last]: [u64; 2], n: usize, quoted: bool) {
    let start = out.len();
    out.extend_from_slice(&[b'"'; SHORT + 2]);
    let q = usize::from(quoted);
    let text = &mut out[start + q..start + q + SHORT + 1];
    text[..8].copy_from_slice(&first.to_le_bytes());
    if n >= 8 {
        text[n - 8..n].copy_from_slice(&last.to_le_bytes());
    }
    // The first word's padding may have covered the closing quote.
    text[n] = b'"';
    out.truncate(start + n + 2 * q);
}

/// Appends `text` (digits, mostly short) with [`push_short`]'s fixed-size stores when it fits.
#[inline(always)]
fn push_text(out: &mut Vec<u8>, text: &[u8]) {
    if text.len() <= SHORT {
        push_short(out, load_short(text), text.len(), false);
    } else {
        out.extend_from_slice(text);
    }
}

/// Writes raw bytes as a JSON string, or as the base64 wrapper when they are not UTF-8.
///
/// Most members, fields and values of big collections are short ASCII: those are loaded into
/// registers once, checked there and stored with fixed-size copies, inline. The rest go
/// through [`write_bytes_long`].
#[inline(always)]
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    if b.len() <= SHORT {
        let words = load_short(b);
        if is_plain_short(words, b.len()) {
            push_short(out, words, b.len(), true);
            return;
        }
    }
    write_bytes_long(out, b);
}

/// [`write_bytes`] for strings that are long or need a second look (escapes, UTF-8).
#[inline(never)]
fn write_bytes_long(out: &mut Vec<u8>, b: &[u8]) {
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
/// and values are exactly that. The last word overlaps the one before it; a string shorter
/// than a word is read as [`load_short`] reads it.
#[inline]
fn is_plain_ascii(b: &[u8]) -> bool {
    let n = b.len();
    if n < 8 {
        return is_plain_short(load_short(b), n);
    }
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let mut i = 0;
    while i + 8 < n {
        if !is_plain_word(word(i), false) {
            return false;
        }
        i += 8;
    }
    is_plain_word(word(n - 8), false)
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
    push_text(out, itoa::Buffer::new().format(i).as_bytes());
}

#[inline]
pub fn write_u64(out: &mut Vec<u8>, i: u64) {
    push_text(out, itoa::Buffer::new().format(i).as_bytes());
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
        with_shortest_f64(f, |s| {
            let mut buf = [0u8; 32];
            buf[..s.len()].copy_from_slice(s);
            ShortestF64 { buf, len: s.len() }
        })
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Hands `k` the shortest decimal text that reads back to `f` (finite only), `1` rather than
/// `1.0` for integral values, with ryu's notation (`1e16`, `1.5e-7`).
///
/// Three formatters, by what is fastest for the value, all giving the same text:
/// - integral values below 2^53 (timestamps, counters, ranks) are exact as integers, and
///   itoa is several times faster than any float formatter;
/// - other values from 1e-4 to 1e15 go through zmij, which for typical scores (`1234.5`) took
///   about a quarter of ryu's instructions. Both print the unique shortest round-trip digits
///   (the nearest to the exact value when several are as short), and both write them in plain
///   decimal notation when the leading digit's exponent is within -5..=15, which every value
///   in this range has;
/// - the rest (very small or large) goes through ryu, whose exponent form (`1e16`) the event
///   contract already shows; zmij would write `1e+16`.
#[inline]
fn with_shortest_f64<R>(f: f64, k: impl FnOnce(&[u8]) -> R) -> R {
    debug_assert!(f.is_finite());
    let abs = f.abs();
    // Below 2^53 the conversion to an integer is exact when `f` is integral, so the round trip
    // tests that without `fract` (a libm call on baseline x86-64).
    if abs < 9_007_199_254_740_992.0 && (f as i64) as f64 == f && !(f == 0.0 && f.is_sign_negative()) {
        let mut i = itoa::Buffer::new();
        k(i.format(f as i64).as_bytes())
    } else if (1e-4..1e15).contains(&abs) {
        // Never integral here (those are all below 2^53), so never `.0`.
        let mut z = zmij::Buffer::new();
        k(z.format_finite(f).as_bytes())
    } else {
        let mut r = ryu::Buffer::new();
        let s = r.format_finite(f);
        k(s.strip_suffix(".0").unwrap_or(s).as_bytes())
    }
}

/// Appends the shortest decimal text that reads back to `f` (finite only).
#[inline]
pub fn push_shortest_f64(out: &mut Vec<u8>, f: f64) {
    with_shortest_f64(f, |s| push_text(out, s));
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

    /// A fixed-seed pseudo-random sequence, so failures reproduce.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

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
        let mut next = xorshift(0x2545F4914F6CDD1Du64);
        for _ in 0..20_000 {
            let n = (next() % 40) as usize;
            let mut b = Vec::new();
            for _ in 0..n {
                let r = next();
                // Mostly plain letters, so that words of 8 plain bytes occur.
                if !r.is_multiple_of(4) {
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

    /// ryu's text with `.0` dropped: what every score was written as before zmij took over
    /// the middle range, and what it must still be, byte for byte.
    fn ryu_reference(f: f64) -> String {
        let s = ryu::Buffer::new().format_finite(f).to_string();
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    }

    #[test]
    fn scores_match_ryu_everywhere() {
        let mut next = xorshift(0x9E3779B97F4A7C15u64);
        let mut values = vec![1e-4, 1e15, 9.999999999999999e14, 1.0000000000000002e-4, 9.99999999999e-5, 0.1 + 0.2];
        for k in 0..20 {
            let p = 10f64.powi(k);
            values.extend([p, p * 1.5, 1.0 / p, 1.0 / p * 9.5, p - 0.5, p + 0.25]);
        }
        for _ in 0..200_000 {
            let r = next();
            // Any bit pattern (every exponent), short decimals such as scores usually are
            // (`1234.5`, `0.001`), and values near the ends of zmij's range.
            values.push(f64::from_bits(r));
            let k = (r >> 60) as i32 % 8;
            values.push(((r >> 20) % 10_000_000) as f64 / 10f64.powi(k));
            values.push(1e-4 * (1.0 + (r % 1000) as f64 * 1e-16));
            values.push(1e15 * (1.0 - (r % 1000) as f64 * 1e-16));
        }
        for f in values.into_iter().filter(|f| f.is_finite()) {
            for f in [f, -f] {
                let got = ShortestF64::new(f);
                assert_eq!(std::str::from_utf8(got.as_bytes()).unwrap(), ryu_reference(f), "{f:e}");
                let mut out = b"x".to_vec();
                push_shortest_f64(&mut out, f);
                assert_eq!(&out[1..], got.as_bytes());
            }
        }
    }

    /// The fixed-size copies write past the text and truncate: every length must leave exactly
    /// the text after what was there.
    #[test]
    fn short_copies_keep_exact_lengths() {
        for n in 0..=24 {
            let text: Vec<u8> = (0..n).map(|i| b'a' + i as u8).collect();
            let mut out = b"[".to_vec();
            write_bytes(&mut out, &text);
            out.push(b',');
            write_bytes(&mut out, &text);
            let want = format!("[{q},{q}", q = serde_json::to_string(std::str::from_utf8(&text).unwrap()).unwrap());
            assert_eq!(String::from_utf8(out).unwrap(), want, "{n}");
        }
        let mut ints = vec![0i64, i64::MIN, i64::MAX, i64::MIN + 1];
        for d in 1..19 {
            let p = 10i64.pow(d);
            ints.extend([p - 1, p, -(p - 1), -p]);
        }
        for i in ints {
            let mut out = b"[".to_vec();
            write_str(&mut out, Str::Int(i));
            write_i64(&mut out, i);
            write_u64(&mut out, i.unsigned_abs());
            assert_eq!(String::from_utf8(out).unwrap(), format!("[\"{i}\"{i}{}", i.unsigned_abs()));
        }
    }

    #[test]
    fn stream_ids() {
        let mut out = Vec::new();
        write_stream_id(&mut out, rdb::StreamId { ms: 1700000000000, seq: 3 });
        assert_eq!(out, b"\"1700000000000-3\"");
    }
}
