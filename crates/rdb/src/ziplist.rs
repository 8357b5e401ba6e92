//! Ziplists: the compact list/hash/zset encoding of Redis 2.6–6.2 (RDB types 10, 12, 13 and
//! the nodes of type 14 quicklists).
//!
//! ```text
//! <zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> <entry>... <0xFF>
//! entry = <prevlen> <encoding> <data>
//! prevlen  = 1 byte < 254, or 0xFE + u32 LE (Redis may keep the 5-byte form for small values)
//! encoding = 00pppppp                   string, 6-bit length
//!            01pppppp qqqqqqqq          string, 14-bit length, big-endian
//!            10______ + u32 BE          string, 32-bit length (Redis ignores the low 6 bits)
//!            0xC0 int16 | 0xD0 int32 | 0xE0 int64 | 0xF0 int24 | 0xFE int8   (all LE)
//!            0xF1..=0xFD                immediate 0..=12, no data
//! ```
//!
//! The iterator validates as it goes, the way `ziplistValidateIntegrity` does in Redis ≥ 6.2:
//! every entry lies inside the blob and before the end byte, every `prevlen` equals the length
//! of the entry before it (0 for the first), the end byte is exactly the last byte, and the
//! header count matches unless it is 65535 ("count by walking"). `zltail` is only checked to
//! lie inside the blob: Redis's default (non-deep) load does no more, and nothing here needs
//! it. Entries are yielded in one forward pass with no allocation.

use crate::error::BlobError;
use crate::value::Str;

const BLOB: &str = "ziplist";
const HEADER: usize = 10;
const END: u8 = 0xFF;
const UNKNOWN_COUNT: u16 = u16::MAX;

/// Forward iterator over the entries of a ziplist. Stops (returns `None`) after the first
/// error it reports.
#[derive(Clone, Debug)]
pub struct ZiplistIter<'a> {
    /// The blob without its end byte: every entry must fit in here.
    body: &'a [u8],
    pos: usize,
    prev_len: usize,
    seen: usize,
    declared: u16,
    done: bool,
}

impl<'a> ZiplistIter<'a> {
    /// Checks the header: `zlbytes` equals the blob length, `zltail` lies inside the blob and
    /// the last byte is the `0xFF` end byte.
    pub fn new(blob: &'a [u8]) -> Result<Self, BlobError> {
        if blob.len() < HEADER + 1 {
            return Err(BlobError::new(BLOB, 0, format!("{} bytes is shorter than the 11-byte minimum", blob.len())));
        }
        let zlbytes = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as u64;
        if zlbytes != blob.len() as u64 {
            return Err(BlobError::new(
                BLOB,
                0,
                format!("header says {zlbytes} bytes but the blob has {}", blob.len()),
            ));
        }
        let zltail = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as u64;
        if zltail > blob.len() as u64 - 1 {
            return Err(BlobError::new(
                BLOB,
                4,
                format!("tail offset {zltail} is outside the {}-byte blob", blob.len()),
            ));
        }
        let last = blob.len() - 1;
        if blob[last] != END {
            return Err(BlobError::new(BLOB, last, format!("last byte is {:#04x}, not the 0xff end byte", blob[last])));
        }
        Ok(ZiplistIter {
            body: &blob[..last],
            pos: HEADER,
            prev_len: 0,
            seen: 0,
            declared: u16::from_le_bytes([blob[8], blob[9]]),
            done: false,
        })
    }

    /// The entry count from the header, unless it is 65535 (too many to store there).
    #[inline]
    pub fn len_hint(&self) -> Option<usize> {
        (self.declared != UNKNOWN_COUNT).then_some(self.declared as usize)
    }

    /// Entries yielded so far.
    #[inline]
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Walks (and so validates) whatever is left, for callers that stop reading early.
    pub fn finish(mut self) -> Result<(), BlobError> {
        for entry in &mut self {
            entry?;
        }
        Ok(())
    }

    /// Reads the next entry; `Ok(None)` at a valid end.
    #[inline]
    fn entry(&mut self) -> Result<Option<Str<'a>>, BlobError> {
        let body = self.body;
        let start = self.pos;
        let Some(&first) = body.get(start) else { return self.end() };
        let (prevlen, p) = match first {
            0..=253 => (first as usize, start + 1),
            254 => match body.get(start + 1..start + 5) {
                Some(b) => (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, start + 5),
                None => return Err(overrun(start, "prevlen")),
            },
            _ => {
                return Err(BlobError::new(
                    BLOB,
                    start,
                    format!("end byte at {start}, before the end of the {}-byte blob", body.len() + 1),
                ))
            }
        };
        if prevlen != self.prev_len {
            return Err(BlobError::new(
                BLOB,
                start,
                format!("bad back-length: prevlen {prevlen}, but the previous entry is {} bytes", self.prev_len),
            ));
        }
        let Some(&enc) = body.get(p) else { return Err(overrun(start, "encoding")) };
        let (value, next) = match enc >> 6 {
            0 => str_at(body, start, p + 1, (enc & 0x3F) as usize)?,
            1 => match body.get(p + 1) {
                Some(&lo) => str_at(body, start, p + 2, ((enc as usize & 0x3F) << 8) | lo as usize)?,
                None => return Err(overrun(start, "string length")),
            },
            2 => match body.get(p + 1..p + 5) {
                Some(b) => {
                    let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                    str_at(body, start, p + 5, len)?
                }
                None => return Err(overrun(start, "string length")),
            },
            _ => {
                let d = p + 1;
                let (v, n) = match enc {
                    0xF1..=0xFD => ((enc & 0x0F) as i64 - 1, 0),
                    0xFE => (fixed::<1>(body, start, d)?[0] as i8 as i64, 1),
                    0xC0 => (i16::from_le_bytes(fixed(body, start, d)?) as i64, 2),
                    0xF0 => {
                        let b = fixed::<3>(body, start, d)?;
                        ((i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as i64, 3)
                    }
                    0xD0 => (i32::from_le_bytes(fixed(body, start, d)?) as i64, 4),
                    0xE0 => (i64::from_le_bytes(fixed(body, start, d)?), 8),
                    _ => return Err(BlobError::new(BLOB, p, format!("invalid entry encoding byte {enc:#04x}"))),
                };
                (Str::Int(v), d + n)
            }
        };
        self.prev_len = next - start;
        self.pos = next;
        self.seen += 1;
        Ok(Some(value))
    }

    /// Reached the end byte at the right place: check the count.
    #[cold]
    fn end(&mut self) -> Result<Option<Str<'a>>, BlobError> {
        if self.declared != UNKNOWN_COUNT && self.declared as usize != self.seen {
            return Err(BlobError::new(
                BLOB,
                8,
                format!("header says {} entries but the ziplist holds {}", self.declared, self.seen),
            ));
        }
        Ok(None)
    }
}

impl<'a> Iterator for ZiplistIter<'a> {
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

impl std::iter::FusedIterator for ZiplistIter<'_> {}

/// A string of `len` bytes at `at`, which must end before the end byte.
#[inline(always)]
fn str_at(body: &[u8], start: usize, at: usize, len: usize) -> Result<(Str<'_>, usize), BlobError> {
    match body.get(at..).and_then(|r| r.get(..len)) {
        Some(s) => Ok((Str::Bytes(s), at + len)),
        None => Err(BlobError::new(BLOB, start, format!("{len}-byte string overruns the ziplist"))),
    }
}

/// `N` bytes of integer data at `at`, which must end before the end byte.
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
    BlobError::new(BLOB, start, format!("entry {what} overruns the ziplist"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One ziplist entry's encoding+data, as Redis writes it.
    #[derive(Clone, Debug)]
    pub enum E<'s> {
        S(&'s [u8]),
        I(i64),
    }

    fn enc(e: &E) -> Vec<u8> {
        match *e {
            E::S(s) if s.len() < 64 => [&[s.len() as u8][..], s].concat(),
            E::S(s) if s.len() < 16384 => [&[0x40 | (s.len() >> 8) as u8, s.len() as u8][..], s].concat(),
            E::S(s) => [&[0x80][..], &(s.len() as u32).to_be_bytes(), s].concat(),
            E::I(v @ 0..=12) => vec![0xF1 + v as u8],
            E::I(v) if i8::try_from(v).is_ok() => vec![0xFE, v as i8 as u8],
            E::I(v) if i16::try_from(v).is_ok() => [&[0xC0][..], &(v as i16).to_le_bytes()].concat(),
            E::I(v) if (-(1 << 23)..(1 << 23)).contains(&v) => [&[0xF0][..], &(v as i32).to_le_bytes()[..3]].concat(),
            E::I(v) if i32::try_from(v).is_ok() => [&[0xD0][..], &(v as i32).to_le_bytes()].concat(),
            E::I(v) => [&[0xE0][..], &v.to_le_bytes()].concat(),
        }
    }

    /// Builds a well-formed ziplist from raw encoding+data parts.
    pub fn build_raw(parts: &[Vec<u8>], count: Option<u16>) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER;
        for p in parts {
            tail = HEADER + body.len();
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(254);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(p);
            prev = body.len() - start;
        }
        let total = HEADER + body.len() + 1;
        let mut zl = Vec::new();
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&count.unwrap_or(parts.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(END);
        zl
    }

    pub fn build(entries: &[E]) -> Vec<u8> {
        build_raw(&entries.iter().map(enc).collect::<Vec<_>>(), None)
    }

    fn all(zl: &[u8]) -> Result<Vec<Str<'_>>, BlobError> {
        ZiplistIter::new(zl)?.collect()
    }

    #[test]
    fn empty_ziplist() {
        let zl = build(&[]);
        assert_eq!(zl, [11, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0xFF]);
        let it = ZiplistIter::new(&zl).unwrap();
        assert_eq!(it.len_hint(), Some(0));
        assert_eq!(all(&zl).unwrap(), vec![]);
    }

    #[test]
    fn every_string_form() {
        let s63 = vec![b'a'; 63];
        let s64 = vec![b'b'; 64];
        let s16383 = vec![b'c'; 16383];
        let s16384 = vec![b'd'; 16384];
        let zl = build(&[E::S(b""), E::S(&s63), E::S(&s64), E::S(&s16383), E::S(&s16384)]);
        let got = all(&zl).unwrap();
        assert_eq!(
            got,
            vec![Str::Bytes(b""), Str::Bytes(&s63), Str::Bytes(&s64), Str::Bytes(&s16383), Str::Bytes(&s16384)]
        );
    }

    #[test]
    fn every_integer_form_and_boundary() {
        let vals = [
            0,
            12,
            13,
            -1,
            127,
            -128,
            128,
            -129,
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
        let zl = build(&vals.iter().map(|&v| E::I(v)).collect::<Vec<_>>());
        let got = all(&zl).unwrap();
        assert_eq!(got, vals.iter().map(|&v| Str::Int(v)).collect::<Vec<_>>());
        // The immediate range is exactly 0..=12.
        for b in 0xF1u8..=0xFD {
            let zl = build_raw(&[vec![b]], None);
            assert_eq!(all(&zl).unwrap(), vec![Str::Int(b as i64 - 0xF1)]);
        }
    }

    #[test]
    fn redis_2_4_style_ints_and_big_prevlen() {
        // A 300-byte string forces the next entry's prevlen into the 5-byte form.
        let big = vec![b'x'; 300];
        let zl = build(&[E::S(&big), E::I(1000), E::I(-5_000_000_000)]);
        assert_eq!(all(&zl).unwrap(), vec![Str::Bytes(&big), Str::Int(1000), Str::Int(-5_000_000_000)]);
    }

    #[test]
    fn five_byte_prevlen_holding_a_small_value_is_fine() {
        // Redis's cascade update may leave a 5-byte prevlen for a small previous entry.
        let mut zl = build(&[E::S(b"ab"), E::S(b"cd")]);
        // Rewrite the second entry's prevlen (4) as 0xFE + u32 LE 4.
        let second = HEADER + 4;
        assert_eq!(zl[second], 4);
        zl.splice(second..second + 1, [254, 4, 0, 0, 0]);
        let n = zl.len() as u32;
        zl[..4].copy_from_slice(&n.to_le_bytes());
        assert_eq!(all(&zl).unwrap(), vec![Str::Bytes(b"ab"), Str::Bytes(b"cd")]);
    }

    #[test]
    fn unknown_count_is_walked() {
        let zl = build_raw(&[enc(&E::I(1)), enc(&E::I(2))], Some(u16::MAX));
        let it = ZiplistIter::new(&zl).unwrap();
        assert_eq!(it.len_hint(), None);
        assert_eq!(all(&zl).unwrap(), vec![Str::Int(1), Str::Int(2)]);
    }

    #[test]
    fn header_errors() {
        assert!(ZiplistIter::new(&[]).unwrap_err().what.contains("shorter"));
        assert!(ZiplistIter::new(&[0; 10]).is_err());
        let mut zl = build(&[E::I(1)]);
        zl[0] += 1;
        assert!(ZiplistIter::new(&zl).unwrap_err().what.contains("header says"));
        let mut zl = build(&[E::I(1)]);
        let n = zl.len() as u32;
        zl[4..8].copy_from_slice(&n.to_le_bytes());
        assert!(ZiplistIter::new(&zl).unwrap_err().what.contains("tail offset"));
        let mut zl = build(&[E::I(1)]);
        *zl.last_mut().unwrap() = 0;
        let e = ZiplistIter::new(&zl).unwrap_err();
        assert_eq!(e.pos, zl.len() - 1);
        assert!(e.what.contains("end byte"));
        // zlbytes of u32::MAX never matches.
        let mut zl = build(&[]);
        zl[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(ZiplistIter::new(&zl).is_err());
    }

    #[test]
    fn count_mismatch() {
        let zl = build_raw(&[enc(&E::I(1))], Some(2));
        let e = all(&zl).unwrap_err();
        assert!(e.what.contains("header says 2 entries but the ziplist holds 1"), "{e}");
        let zl = build_raw(&[enc(&E::I(1)), enc(&E::I(1))], Some(1));
        assert!(all(&zl).is_err());
    }

    #[test]
    fn bad_back_length() {
        let mut zl = build(&[E::S(b"abc"), E::S(b"de")]);
        zl[HEADER + 5] = 7; // second entry's prevlen should be 5
        let e = all(&zl).unwrap_err();
        assert_eq!(e.pos, HEADER + 5);
        assert!(e.what.contains("bad back-length"), "{e}");
        // The first entry's prevlen must be 0.
        let mut zl = build(&[E::S(b"abc")]);
        zl[HEADER] = 1;
        assert!(all(&zl).unwrap_err().what.contains("bad back-length"));
    }

    #[test]
    fn bad_encoding_bytes() {
        for b in [0xC1u8, 0xCF, 0xD1, 0xE1, 0xEF, 0xFF] {
            let zl = build_raw(&[vec![b, 0, 0, 0, 0, 0, 0, 0, 0]], None);
            let e = all(&zl).unwrap_err();
            assert!(e.what.contains("invalid entry encoding"), "{b:#x}: {e}");
            assert_eq!(e.pos, HEADER + 1);
        }
    }

    #[test]
    fn entries_overrunning_the_blob() {
        // String claims 5 bytes, only 2 before the end byte.
        let zl = build_raw(&[vec![5, b'a', b'b']], None);
        assert!(all(&zl).unwrap_err().what.contains("overruns"));
        // 32-bit length near u32::MAX.
        let zl = build_raw(&[vec![0x80, 0xFF, 0xFF, 0xFF, 0xFF, b'a']], None);
        assert!(all(&zl).unwrap_err().what.contains("overruns"));
        // Integer data cut by the end byte.
        for (b, n) in [(0xC0u8, 2usize), (0xD0, 4), (0xE0, 8), (0xF0, 3), (0xFE, 1)] {
            let zl = build_raw(&[[vec![b], vec![0; n - 1]].concat()], None);
            assert!(all(&zl).unwrap_err().what.contains("overruns"), "{b:#x}");
        }
        // 14-bit length byte missing; 32-bit length bytes missing; prevlen cut.
        let zl = build_raw(&[vec![0x40]], None);
        assert!(all(&zl).is_err());
        let zl = build_raw(&[vec![0x80, 0, 0]], None);
        assert!(all(&zl).is_err());
        let mut zl = build(&[]);
        zl.splice(HEADER..HEADER, [254, 0, 0]);
        let n = zl.len() as u32;
        zl[..4].copy_from_slice(&n.to_le_bytes());
        assert!(all(&zl).unwrap_err().what.contains("prevlen overruns"));
        // Entry with a prevlen and no encoding byte.
        let mut zl = build(&[]);
        zl.insert(HEADER, 0);
        let n = zl.len() as u32;
        zl[..4].copy_from_slice(&n.to_le_bytes());
        assert!(all(&zl).unwrap_err().what.contains("encoding overruns"));
    }

    #[test]
    fn end_byte_before_the_end() {
        let mut zl = build(&[E::I(1)]);
        // Append trailing bytes after the first end byte: 0xFF, 0x00, 0xFF
        zl.pop();
        zl.extend_from_slice(&[0xFF, 0x00, 0xFF]);
        let n = zl.len() as u32;
        zl[..4].copy_from_slice(&n.to_le_bytes());
        let e = all(&zl).unwrap_err();
        assert!(e.what.contains("before the end"), "{e}");
    }

    #[test]
    fn iterator_is_fused_after_error_and_finish_validates() {
        let zl = build_raw(&[enc(&E::I(1)), vec![0xC1]], None);
        let mut it = ZiplistIter::new(&zl).unwrap();
        assert_eq!(it.next(), Some(Ok(Str::Int(1))));
        assert!(matches!(it.next(), Some(Err(_))));
        assert_eq!(it.next(), None);
        let mut it = ZiplistIter::new(&zl).unwrap();
        it.next();
        assert!(it.finish().is_err());
        let zl = build(&[E::I(1), E::I(2)]);
        let mut it = ZiplistIter::new(&zl).unwrap();
        it.next();
        assert_eq!(it.seen(), 1);
        assert!(it.finish().is_ok());
    }

    #[test]
    fn never_panics_on_mutations() {
        let big = vec![b'q'; 300];
        let base = build(&[E::S(b"hello"), E::I(7), E::S(&big), E::I(-70000), E::I(i64::MIN), E::S(b"")]);
        let mut x = 0x1234_5678u32;
        for _ in 0..20000 {
            let mut zl = base.clone();
            for _ in 0..1 + x % 4 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = x as usize % zl.len();
                zl[i] = (x >> 8) as u8;
            }
            if let Ok(it) = ZiplistIter::new(&zl) {
                let _ = it.count();
            }
            let cut = x as usize % zl.len();
            if let Ok(it) = ZiplistIter::new(&zl[..cut]) {
                let _ = it.count();
            }
        }
    }

    /// `cargo test --release -p redtail-rdb --lib ziplist::tests::bench_throughput -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_throughput() {
        let entries: Vec<E> =
            (0..500).map(|i| if i % 2 == 0 { E::S(b"field:0000000123") } else { E::I(i * 1000) }).collect();
        let zl = build(&entries);
        let t = std::time::Instant::now();
        let rounds = 200_000;
        let mut n = 0usize;
        for _ in 0..rounds {
            for v in ZiplistIter::new(std::hint::black_box(&zl)).unwrap() {
                n += match v.unwrap() {
                    Str::Bytes(b) => b.len(),
                    Str::Int(i) => i as usize,
                };
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "ziplist: {:.0} MB/s, {:.0} M entries/s ({n})",
            rounds as f64 * zl.len() as f64 / secs / 1e6,
            rounds as f64 * 500.0 / secs / 1e6
        );
    }
}
