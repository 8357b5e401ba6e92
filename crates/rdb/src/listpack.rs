//! Listpacks: the compact encoding of Redis ≥ 5 streams and Redis ≥ 7 lists, hashes, sets
//! and zsets (RDB types 15–21, 25 and up, and quicklist2 PACKED nodes).
//!
//! ```text
//! <total_bytes u32 LE> <num_elements u16 LE> <entry>... <0xFF>
//! entry = <encoding+data> <backlen>
//! 0xxxxxxx                      uint 0..=127
//! 10xxxxxx                      string, 6-bit length
//! 110xxxxx yyyyyyyy             13-bit two's-complement integer, high bits first
//! 1110xxxx yyyyyyyy             string, 12-bit length, high bits first
//! 0xF0 + u32 LE                 string, 32-bit length
//! 0xF1 / 0xF2 / 0xF3 / 0xF4     int16 / int24 / int32 / int64, LE
//! 0xF5..=0xFE                   invalid
//! ```
//!
//! `backlen` is the size of encoding+data in 7-bit groups, most significant first, every
//! byte after the first with bit 0x80 set; it lets Redis walk backwards. Its width follows
//! `lpEncodeBacklen` exactly (1 byte up to 127, 2 below 16383, 3 below 2097151, 4 below
//! 268435455, else 5), and we check it byte for byte: a wrong backlen is the listpack form of
//! a "bad back-length" corruption. The end byte must be the last byte and the count must
//! match unless it is 65535 (unknown). This mirrors `lpValidateIntegrity` (deep) in Redis,
//! plus the end-position check ziplists have.

use crate::error::BlobError;
use crate::value::Str;

const BLOB: &str = "listpack";
const HEADER: usize = 6;
const END: u8 = 0xFF;
const UNKNOWN_COUNT: u16 = u16::MAX;

/// Forward iterator over the entries of a listpack. Stops (returns `None`) after the first
/// error it reports.
#[derive(Clone, Debug)]
pub struct ListpackIter<'a> {
    /// The blob without its end byte: every entry must fit in here.
    body: &'a [u8],
    pos: usize,
    seen: usize,
    declared: u16,
    done: bool,
}

impl<'a> ListpackIter<'a> {
    /// Checks the header: `total_bytes` equals the blob length and the last byte is `0xFF`.
    pub fn new(blob: &'a [u8]) -> Result<Self, BlobError> {
        if blob.len() < HEADER + 1 {
            return Err(BlobError::new(BLOB, 0, format!("{} bytes is shorter than the 7-byte minimum", blob.len())));
        }
        let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as u64;
        if total != blob.len() as u64 {
            return Err(BlobError::new(BLOB, 0, format!("header says {total} bytes but the blob has {}", blob.len())));
        }
        let last = blob.len() - 1;
        if blob[last] != END {
            return Err(BlobError::new(BLOB, last, format!("last byte is {:#04x}, not the 0xff end byte", blob[last])));
        }
        Ok(ListpackIter {
            body: &blob[..last],
            pos: HEADER,
            seen: 0,
            declared: u16::from_le_bytes([blob[4], blob[5]]),
            done: false,
        })
    }

    /// The element count from the header, unless it is 65535 (too many to store there).
    #[inline]
    pub fn len_hint(&self) -> Option<usize> {
        (self.declared != UNKNOWN_COUNT).then_some(self.declared as usize)
    }

    /// Entries yielded so far.
    #[inline]
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// The next entry, which must exist: running into the end is an error ("listpack
    /// ended early"). For layouts with a known shape, such as stream entries.
    #[inline]
    pub fn next_required(&mut self) -> Result<Str<'a>, BlobError> {
        match self.next() {
            Some(r) => r,
            None => Err(self.ended_early("an entry")),
        }
    }

    /// The next entry as an integer. An integer encoding is taken as is; a string entry is
    /// accepted when it is the canonical decimal text of an `i64` (as `lpGetInteger` does
    /// with `string2ll`). Anything else, or the end, is an error.
    #[inline]
    pub fn next_i64(&mut self) -> Result<i64, BlobError> {
        let start = self.pos;
        match self.next() {
            Some(Ok(Str::Int(v))) => Ok(v),
            Some(Ok(Str::Bytes(b))) => string_to_i64(b).ok_or_else(|| {
                BlobError::new(
                    BLOB,
                    start,
                    format!(
                        "expected an integer entry, found the string {:?}",
                        String::from_utf8_lossy(&b[..b.len().min(40)])
                    ),
                )
            }),
            Some(Err(e)) => Err(e),
            None => Err(self.ended_early("an integer")),
        }
    }

    /// Walks (and so validates) whatever is left, for callers that stop reading early.
    pub fn finish(mut self) -> Result<(), BlobError> {
        for entry in &mut self {
            entry?;
        }
        Ok(())
    }

    #[cold]
    fn ended_early(&self, what: &str) -> BlobError {
        BlobError::new(BLOB, self.pos, format!("listpack ended early: expected {what} after {} entries", self.seen))
    }

    /// Reads the next entry; `Ok(None)` at a valid end.
    #[inline]
    fn entry(&mut self) -> Result<Option<Str<'a>>, BlobError> {
        let body = self.body;
        let start = self.pos;
        let Some(&b) = body.get(start) else { return self.end() };
        let (value, len) = if b < 0x80 {
            (Str::Int(b as i64), 1)
        } else if b < 0xC0 {
            str_at(body, start, 1, (b & 0x3F) as usize)?
        } else if b < 0xE0 {
            let lo = *body.get(start + 1).ok_or_else(|| overrun(start, "integer"))?;
            let u = ((b as i64 & 0x1F) << 8) | lo as i64;
            (Str::Int(if u >= 1 << 12 { u - (1 << 13) } else { u }), 2)
        } else if b < 0xF0 {
            let lo = *body.get(start + 1).ok_or_else(|| overrun(start, "string length"))?;
            str_at(body, start, 2, ((b as usize & 0x0F) << 8) | lo as usize)?
        } else {
            let d = start + 1;
            match b {
                0xF0 => {
                    let n = u32::from_le_bytes(fixed(body, start, d)?) as usize;
                    str_at(body, start, 5, n)?
                }
                0xF1 => (Str::Int(i16::from_le_bytes(fixed(body, start, d)?) as i64), 3),
                0xF2 => {
                    let x = fixed::<3>(body, start, d)?;
                    (Str::Int((i32::from_le_bytes([0, x[0], x[1], x[2]]) >> 8) as i64), 4)
                }
                0xF3 => (Str::Int(i32::from_le_bytes(fixed(body, start, d)?) as i64), 5),
                0xF4 => (Str::Int(i64::from_le_bytes(fixed(body, start, d)?)), 9),
                END => {
                    return Err(BlobError::new(
                        BLOB,
                        start,
                        format!("end byte at {start}, before the end of the {}-byte blob", body.len() + 1),
                    ))
                }
                _ => return Err(BlobError::new(BLOB, start, format!("invalid entry encoding byte {b:#04x}"))),
            }
        };
        let back = start + len;
        let back_size = check_backlen(body, start, back, len)?;
        self.pos = back + back_size;
        self.seen += 1;
        Ok(Some(value))
    }

    /// Reached the end byte at the right place: check the count.
    #[cold]
    fn end(&mut self) -> Result<Option<Str<'a>>, BlobError> {
        if self.declared != UNKNOWN_COUNT && self.declared as usize != self.seen {
            return Err(BlobError::new(
                BLOB,
                4,
                format!("header says {} entries but the listpack holds {}", self.declared, self.seen),
            ));
        }
        Ok(None)
    }
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = Result<Str<'a>, BlobError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = self.entry();
        crate::error::fused_step(&mut self.done, step)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        // Every entry takes at least 2 bytes.
        let upper = (self.body.len() - self.pos) / 2 + 1;
        match self.len_hint() {
            Some(n) => (0, Some(n.saturating_sub(self.seen).saturating_add(1).min(upper))),
            None => (0, Some(upper)),
        }
    }
}

impl std::iter::FusedIterator for ListpackIter<'_> {}

/// Checks the backlen of an entry of `len` bytes (encoding+data) stored at `at`; returns its
/// width.
#[inline(always)]
fn check_backlen(body: &[u8], start: usize, at: usize, len: usize) -> Result<usize, BlobError> {
    if len <= 127 {
        return match body.get(at) {
            Some(&b) if b as usize == len => Ok(1),
            Some(_) => Err(bad_backlen(start, at, len)),
            None => Err(overrun(start, "backlen")),
        };
    }
    let (expect, n) = encode_backlen(len as u64);
    match body.get(at..at + n) {
        Some(got) if got == &expect[..n] => Ok(n),
        Some(_) => Err(bad_backlen(start, at, len)),
        None => Err(overrun(start, "backlen")),
    }
}

/// `lpEncodeBacklen`: the backlen bytes for an entry of `l` bytes, and how many are used.
#[inline]
fn encode_backlen(l: u64) -> ([u8; 5], usize) {
    let g = |shift: u32| ((l >> shift) & 127) as u8 | 128;
    if l <= 127 {
        ([l as u8, 0, 0, 0, 0], 1)
    } else if l < 16383 {
        ([(l >> 7) as u8, g(0), 0, 0, 0], 2)
    } else if l < 2097151 {
        ([(l >> 14) as u8, g(7), g(0), 0, 0], 3)
    } else if l < 268435455 {
        ([(l >> 21) as u8, g(14), g(7), g(0), 0], 4)
    } else {
        ([(l >> 28) as u8, g(21), g(14), g(7), g(0)], 5)
    }
}

/// A string of `len` bytes whose data starts `hdr` bytes into the entry at `start`.
#[inline(always)]
fn str_at(body: &[u8], start: usize, hdr: usize, len: usize) -> Result<(Str<'_>, usize), BlobError> {
    match body.get(start + hdr..).and_then(|r| r.get(..len)) {
        Some(s) => Ok((Str::Bytes(s), hdr + len)),
        None => Err(BlobError::new(BLOB, start, format!("{len}-byte string overruns the listpack"))),
    }
}

#[inline(always)]
fn fixed<const N: usize>(body: &[u8], start: usize, at: usize) -> Result<[u8; N], BlobError> {
    match body.get(at..at + N) {
        Some(b) => {
            let mut a = [0u8; N];
            a.copy_from_slice(b);
            Ok(a)
        }
        None => Err(overrun(start, "integer")),
    }
}

#[cold]
fn overrun(start: usize, what: &str) -> BlobError {
    BlobError::new(BLOB, start, format!("entry {what} overruns the listpack"))
}

#[cold]
fn bad_backlen(start: usize, at: usize, len: usize) -> BlobError {
    BlobError::new(BLOB, at, format!("bad back-length for the {len}-byte entry at {start}"))
}

/// Parses the canonical decimal text of an `i64`, exactly as Redis's `string2ll` /
/// `lpStringToInt64`: an optional `-`, then digits with no leading zero (except `"0"`
/// itself), no `+`, no spaces, no `"-0"`, no overflow.
#[inline]
pub fn string_to_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [b'0'] if !neg => return Some(0),
        [b'1'..=b'9', ..] if digits.len() <= 20 => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as u64)?;
    }
    if neg {
        if v > 1u64 << 63 {
            return None;
        }
        Some(0i64.wrapping_sub(v as i64))
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[derive(Clone, Debug)]
    pub enum E<'s> {
        S(&'s [u8]),
        I(i64),
    }

    /// Encoding+data of one entry, as `lpEncodeGetType`/`lpEncodeString` write it.
    pub fn enc(e: &E) -> Vec<u8> {
        match *e {
            E::S(s) if s.len() < 64 => [&[0x80 | s.len() as u8][..], s].concat(),
            E::S(s) if s.len() < 4096 => [&[0xE0 | (s.len() >> 8) as u8, s.len() as u8][..], s].concat(),
            E::S(s) => [&[0xF0][..], &(s.len() as u32).to_le_bytes(), s].concat(),
            E::I(v @ 0..=127) => vec![v as u8],
            E::I(v @ -4096..=4095) => {
                let u = if v < 0 { (1 << 13) + v } else { v };
                vec![0xC0 | (u >> 8) as u8, u as u8]
            }
            E::I(v) if i16::try_from(v).is_ok() => [&[0xF1][..], &(v as i16).to_le_bytes()].concat(),
            E::I(v) if (-(1 << 23)..(1 << 23)).contains(&v) => [&[0xF2][..], &(v as i32).to_le_bytes()[..3]].concat(),
            E::I(v) if i32::try_from(v).is_ok() => [&[0xF3][..], &(v as i32).to_le_bytes()].concat(),
            E::I(v) => [&[0xF4][..], &v.to_le_bytes()].concat(),
        }
    }

    pub fn build_raw(parts: &[Vec<u8>], count: Option<u16>) -> Vec<u8> {
        let mut body = Vec::new();
        for p in parts {
            body.extend_from_slice(p);
            let (b, n) = encode_backlen(p.len() as u64);
            body.extend_from_slice(&b[..n]);
        }
        let total = HEADER + body.len() + 1;
        let mut lp = Vec::new();
        lp.extend_from_slice(&(total as u32).to_le_bytes());
        lp.extend_from_slice(&count.unwrap_or(parts.len() as u16).to_le_bytes());
        lp.extend_from_slice(&body);
        lp.push(END);
        lp
    }

    pub fn build(entries: &[E]) -> Vec<u8> {
        build_raw(&entries.iter().map(enc).collect::<Vec<_>>(), None)
    }

    fn all(lp: &[u8]) -> Result<Vec<Str<'_>>, BlobError> {
        ListpackIter::new(lp)?.collect()
    }

    fn fix_total(lp: &mut [u8]) {
        let n = lp.len() as u32;
        lp[..4].copy_from_slice(&n.to_le_bytes());
    }

    #[test]
    fn empty_listpack() {
        let lp = build(&[]);
        assert_eq!(lp, [7, 0, 0, 0, 0, 0, 0xFF]);
        assert_eq!(ListpackIter::new(&lp).unwrap().len_hint(), Some(0));
        assert_eq!(all(&lp).unwrap(), vec![]);
    }

    #[test]
    fn every_string_form_and_boundary() {
        let s = |n: usize| vec![b'x'; n];
        let lens = [0usize, 1, 63, 64, 125, 126, 127, 4095, 4096, 16380, 16381, 16382, 16383, 70000];
        let strs: Vec<Vec<u8>> = lens.iter().map(|&n| s(n)).collect();
        let lp = build(&strs.iter().map(|v| E::S(v)).collect::<Vec<_>>());
        let got = all(&lp).unwrap();
        assert_eq!(got, strs.iter().map(|v| Str::Bytes(v)).collect::<Vec<_>>());
    }

    #[test]
    fn large_string_uses_wide_backlen() {
        // encoding+data = 5 + 2_100_000 > 2097151: a 4-byte backlen.
        let big = vec![7u8; 2_100_000];
        let lp = build(&[E::S(&big), E::I(1)]);
        assert_eq!(all(&lp).unwrap(), vec![Str::Bytes(&big), Str::Int(1)]);
    }

    #[test]
    fn backlen_encoding_matches_redis() {
        assert_eq!(encode_backlen(127), ([127, 0, 0, 0, 0], 1));
        assert_eq!(encode_backlen(128), ([1, 128, 0, 0, 0], 2));
        assert_eq!(encode_backlen(16382), ([127, 254, 0, 0, 0], 2));
        // 16383 takes 3 bytes in Redis even though it would fit 2.
        assert_eq!(encode_backlen(16383).1, 3);
        assert_eq!(encode_backlen(2097150).1, 3);
        assert_eq!(encode_backlen(2097151).1, 4);
        assert_eq!(encode_backlen(268435454).1, 4);
        assert_eq!(encode_backlen(268435455).1, 5);
        assert_eq!(encode_backlen(u32::MAX as u64 + 5), ([16, 128, 128, 128, 132], 5));
    }

    #[test]
    fn every_integer_form_and_boundary() {
        let vals = [
            0,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            -32769,
            (1 << 23) - 1,
            -(1 << 23),
            1 << 23,
            -(1 << 23) - 1,
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i32::MIN as i64 - 1,
            i64::MAX,
            i64::MIN,
        ];
        let lp = build(&vals.iter().map(|&v| E::I(v)).collect::<Vec<_>>());
        let got = all(&lp).unwrap();
        assert_eq!(got, vals.iter().map(|&v| Str::Int(v)).collect::<Vec<_>>());
        // Wider forms for small values (not what Redis writes, but valid) decode too.
        let lp = build_raw(&[vec![0xF4, 5, 0, 0, 0, 0, 0, 0, 0], vec![0xC0, 0x05], vec![0xDF, 0xFF]], None);
        assert_eq!(all(&lp).unwrap(), vec![Str::Int(5), Str::Int(5), Str::Int(-1)]);
    }

    #[test]
    fn unknown_count_is_walked() {
        let lp = build_raw(&[enc(&E::I(1)), enc(&E::S(b"a"))], Some(u16::MAX));
        assert_eq!(ListpackIter::new(&lp).unwrap().len_hint(), None);
        assert_eq!(all(&lp).unwrap(), vec![Str::Int(1), Str::Bytes(b"a")]);
    }

    #[test]
    fn header_errors() {
        assert!(ListpackIter::new(&[]).unwrap_err().what.contains("shorter"));
        assert!(ListpackIter::new(&[7, 0, 0, 0, 0, 0]).is_err());
        let mut lp = build(&[E::I(1)]);
        lp[0] += 1;
        assert!(ListpackIter::new(&lp).unwrap_err().what.contains("header says"));
        let mut lp = build(&[E::I(1)]);
        *lp.last_mut().unwrap() = 0x7F;
        assert!(ListpackIter::new(&lp).unwrap_err().what.contains("end byte"));
    }

    #[test]
    fn count_mismatch() {
        let lp = build_raw(&[enc(&E::I(1))], Some(0));
        assert!(all(&lp).unwrap_err().what.contains("header says 0 entries but the listpack holds 1"));
        let lp = build_raw(&[enc(&E::I(1))], Some(2));
        assert!(all(&lp).is_err());
    }

    #[test]
    fn bad_back_length() {
        let mut lp = build(&[E::S(b"abc"), E::I(5)]);
        // First entry: 0x83 'a' 'b' 'c' then backlen 4 at HEADER + 4.
        assert_eq!(lp[HEADER + 4], 4);
        lp[HEADER + 4] = 5;
        let e = all(&lp).unwrap_err();
        assert_eq!(e.pos, HEADER + 4);
        assert!(e.what.contains("bad back-length"), "{e}");
        // Multi-byte backlen with a wrong continuation bit.
        let s = vec![b'x'; 200];
        let mut lp = build(&[E::S(&s)]);
        let at = HEADER + 2 + 200;
        assert_eq!(&lp[at..at + 2], &[1, 128 | 74]);
        lp[at + 1] = 74;
        assert!(all(&lp).unwrap_err().what.contains("bad back-length"));
        // A backlen wider than Redis writes (here 0x00 0x81 for 1) is rejected too.
        let mut lp = build_raw(&[], None);
        lp.splice(HEADER..HEADER, [0x01, 0x00, 0x81]);
        fix_total(&mut lp);
        assert!(all(&lp).is_err());
    }

    #[test]
    fn invalid_encoding_bytes() {
        for b in 0xF5u8..=0xFE {
            let lp = build_raw(&[vec![b, 0, 0, 0, 0, 0, 0, 0, 0]], None);
            let e = all(&lp).unwrap_err();
            assert!(e.what.contains("invalid entry encoding"), "{b:#x}: {e}");
            assert_eq!(e.pos, HEADER);
        }
    }

    #[test]
    fn entries_overrunning() {
        let lp = build_raw(&[vec![0x85, b'a']], None);
        assert!(all(&lp).unwrap_err().what.contains("overruns"));
        let lp = build_raw(&[vec![0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 1]], None);
        assert!(all(&lp).unwrap_err().what.contains("overruns"));
        for (b, n) in [(0xF1u8, 2usize), (0xF2, 3), (0xF3, 4), (0xF4, 8), (0xF0, 4)] {
            let mut lp = build(&[]);
            lp.splice(HEADER..HEADER, std::iter::once(b).chain(std::iter::repeat_n(0, n - 1)));
            fix_total(&mut lp);
            assert!(all(&lp).unwrap_err().what.contains("overruns"), "{b:#x}");
        }
        for b in [0xC0u8, 0xE0] {
            let mut lp = build(&[]);
            lp.insert(HEADER, b);
            fix_total(&mut lp);
            assert!(all(&lp).unwrap_err().what.contains("overruns"), "{b:#x}");
        }
        // Entry fits but its backlen would run into the end byte.
        let mut lp = build(&[]);
        lp.insert(HEADER, 0x05);
        fix_total(&mut lp);
        assert!(all(&lp).unwrap_err().what.contains("backlen overruns"));
        let s = vec![b'x'; 200];
        let mut lp = build(&[E::S(&s)]);
        lp.remove(lp.len() - 2);
        fix_total(&mut lp);
        assert!(all(&lp).is_err());
    }

    #[test]
    fn end_byte_before_the_end() {
        let mut lp = build(&[E::I(1)]);
        lp.pop();
        lp.extend_from_slice(&[0xFF, 0x01, 0x01, 0xFF]);
        fix_total(&mut lp);
        assert!(all(&lp).unwrap_err().what.contains("before the end"));
    }

    #[test]
    fn next_i64_and_next_required() {
        let lp = build(&[E::I(-7), E::S(b"123"), E::S(b"-9223372036854775808"), E::S(b"12a"), E::I(1)]);
        let mut it = ListpackIter::new(&lp).unwrap();
        assert_eq!(it.next_i64(), Ok(-7));
        assert_eq!(it.next_i64(), Ok(123));
        assert_eq!(it.next_i64(), Ok(i64::MIN));
        let e = it.next_i64().unwrap_err();
        assert!(e.what.contains("expected an integer"), "{e}");
        let lp = build(&[E::S(b"x")]);
        let mut it = ListpackIter::new(&lp).unwrap();
        assert_eq!(it.next_required(), Ok(Str::Bytes(b"x")));
        let e = it.next_required().unwrap_err();
        assert!(e.what.contains("ended early"), "{e}");
        let e = it.next_i64().unwrap_err();
        assert!(e.what.contains("ended early"), "{e}");
        // A corrupt entry surfaces its own error through next_i64.
        let lp = build_raw(&[vec![0xF5]], None);
        let mut it = ListpackIter::new(&lp).unwrap();
        assert!(it.next_i64().unwrap_err().what.contains("invalid entry"));
    }

    #[test]
    fn string_to_i64_is_as_strict_as_string2ll() {
        for (s, v) in [
            ("0", Some(0)),
            ("1", Some(1)),
            ("-1", Some(-1)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
            ("123456789012345678901", None),
            ("", None),
            ("-", None),
            ("-0", None),
            ("00", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("1.0", None),
            ("1e3", None),
        ] {
            assert_eq!(string_to_i64(s.as_bytes()), v, "{s:?}");
        }
    }

    #[test]
    fn finish_and_fused() {
        let lp = build(&[E::I(1), E::I(2)]);
        let mut it = ListpackIter::new(&lp).unwrap();
        it.next();
        assert_eq!(it.seen(), 1);
        assert!(it.finish().is_ok());
        let lp = build_raw(&[enc(&E::I(1)), vec![0xF9]], None);
        let mut it = ListpackIter::new(&lp).unwrap();
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    #[test]
    fn never_panics_on_mutations() {
        let big = vec![b'q'; 300];
        let base = build(&[E::S(b"hello"), E::I(7), E::S(&big), E::I(-70000), E::I(i64::MIN), E::S(b""), E::I(-3)]);
        let mut x = 0x8765_4321u32;
        for _ in 0..20000 {
            let mut lp = base.clone();
            for _ in 0..1 + x % 4 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = x as usize % lp.len();
                lp[i] = (x >> 8) as u8;
            }
            if let Ok(mut it) = ListpackIter::new(&lp) {
                let _ = it.next_i64();
                let _ = it.next_required();
                let _ = it.count();
            }
            let cut = x as usize % lp.len();
            if let Ok(it) = ListpackIter::new(&lp[..cut]) {
                let _ = it.count();
            }
        }
    }

    /// `cargo test --release -p redtail-rdb --lib listpack::tests::bench_throughput -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_throughput() {
        let entries: Vec<E> =
            (0..500).map(|i| if i % 2 == 0 { E::S(b"field:0000000123") } else { E::I(i * 1000) }).collect();
        let lp = build(&entries);
        let rounds = 200_000;
        let mut n = 0usize;
        let t = std::time::Instant::now();
        for _ in 0..rounds {
            for v in ListpackIter::new(std::hint::black_box(&lp)).unwrap() {
                n += match v.unwrap() {
                    Str::Bytes(b) => b.len(),
                    Str::Int(i) => i as usize,
                };
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "listpack: {:.0} MB/s, {:.0} M entries/s ({n})",
            rounds as f64 * lp.len() as f64 / secs / 1e6,
            rounds as f64 * 500.0 / secs / 1e6
        );
    }
}
