//! Zipmaps: the compact hash encoding of Redis before 2.6 (RDB type 9). Redis ≥ 2.6 converts
//! them on load, so they only appear in old files.
//!
//! ```text
//! <zmlen u8> (<len>key <len><free>value <free unused bytes>)... <0xFF>
//! len  = 1 byte 0..=253, or 254 (ZIPMAP_BIGLEN) + u32 (host order, LE in practice)
//! 255  = ZIPMAP_END where a key would start
//! zmlen = the pair count, or 254 when it did not fit ("count by walking")
//! ```
//!
//! Checks follow `zipmapValidateIntegrity` (src/zipmap.c), which Redis runs in full on every
//! zipmap it loads: everything inside the blob, the count matching unless `zmlen` is 254.
//! We also require the end byte to be the last byte. As there, a value length byte of 255
//! is read like 254 (a 5-byte length); only a key position treats 255 as the end.

use crate::error::BlobError;
use crate::value::Str;

const BLOB: &str = "zipmap";
const BIGLEN: u8 = 254;
const END: u8 = 255;

/// Iterator over the `(field, value)` pairs of a zipmap. Stops (returns `None`) after the
/// first error.
#[derive(Clone, Debug)]
pub struct ZipmapIter<'a> {
    /// The blob without its end byte.
    body: &'a [u8],
    pos: usize,
    seen: usize,
    declared: u8,
    done: bool,
}

impl<'a> ZipmapIter<'a> {
    /// Checks that the blob holds at least the count byte and the end byte, and ends in
    /// `0xFF`.
    pub fn new(blob: &'a [u8]) -> Result<Self, BlobError> {
        if blob.len() < 2 {
            return Err(BlobError::new(BLOB, 0, format!("{} bytes is shorter than the 2-byte minimum", blob.len())));
        }
        let last = blob.len() - 1;
        if blob[last] != END {
            return Err(BlobError::new(BLOB, last, format!("last byte is {:#04x}, not the 0xff end byte", blob[last])));
        }
        Ok(ZipmapIter { body: &blob[..last], pos: 1, seen: 0, declared: blob[0], done: false })
    }

    /// The pair count from the header, unless it is 254 (too many to store there).
    #[inline]
    pub fn len_hint(&self) -> Option<usize> {
        (self.declared != BIGLEN).then_some(self.declared as usize)
    }

    /// Walks (and so validates) whatever is left.
    pub fn finish(mut self) -> Result<(), BlobError> {
        for pair in &mut self {
            pair?;
        }
        Ok(())
    }

    #[inline]
    fn pair(&mut self) -> Result<Option<(Str<'a>, Str<'a>)>, BlobError> {
        let body = self.body;
        let start = self.pos;
        let Some(&b) = body.get(start) else { return self.end() };
        if b == END {
            return Err(BlobError::new(
                BLOB,
                start,
                format!("end byte at {start}, before the end of the {}-byte blob", body.len() + 1),
            ));
        }
        let (klen, p) = read_len(body, start, start)?;
        let key = slice(body, start, p, klen, "field")?;
        let (vlen, p) = read_len(body, start, p + klen)?;
        let Some(&free) = body.get(p) else {
            return Err(BlobError::new(BLOB, start, "free-space byte overruns the zipmap"));
        };
        let value = slice(body, start, p + 1, vlen, "value")?;
        let next = p + 1 + vlen;
        if body.len() - next < free as usize {
            return Err(BlobError::new(BLOB, start, format!("{free} free bytes overrun the zipmap")));
        }
        self.pos = next + free as usize;
        self.seen += 1;
        Ok(Some((Str::Bytes(key), Str::Bytes(value))))
    }

    #[cold]
    fn end(&mut self) -> Result<Option<(Str<'a>, Str<'a>)>, BlobError> {
        if self.declared != BIGLEN && self.declared as usize != self.seen {
            return Err(BlobError::new(
                BLOB,
                0,
                format!("header says {} pairs but the zipmap holds {}", self.declared, self.seen),
            ));
        }
        Ok(None)
    }
}

impl<'a> Iterator for ZipmapIter<'a> {
    type Item = Result<(Str<'a>, Str<'a>), BlobError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = self.pair();
        crate::error::fused_step(&mut self.done, step)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        // Every pair takes at least 3 bytes.
        (0, Some((self.body.len() - self.pos) / 3 + 1))
    }
}

impl std::iter::FusedIterator for ZipmapIter<'_> {}

/// A length at `at`: returns it and where the data starts.
#[inline(always)]
fn read_len(body: &[u8], start: usize, at: usize) -> Result<(usize, usize), BlobError> {
    match body.get(at) {
        Some(&b) if b < BIGLEN => Ok((b as usize, at + 1)),
        Some(_) => match body.get(at + 1..at + 5) {
            Some(x) => Ok((u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize, at + 5)),
            None => Err(BlobError::new(BLOB, start, "5-byte length overruns the zipmap")),
        },
        None => Err(BlobError::new(BLOB, start, "length overruns the zipmap")),
    }
}

#[inline(always)]
fn slice<'a>(body: &'a [u8], start: usize, at: usize, len: usize, what: &str) -> Result<&'a [u8], BlobError> {
    body.get(at..)
        .and_then(|r| r.get(..len))
        .ok_or_else(|| BlobError::new(BLOB, start, format!("{len}-byte {what} overruns the zipmap")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(n: usize) -> Vec<u8> {
        if n < 254 {
            vec![n as u8]
        } else {
            [&[254u8][..], &(n as u32).to_le_bytes()].concat()
        }
    }

    fn build(pairs: &[(&[u8], &[u8], u8)], zmlen: Option<u8>) -> Vec<u8> {
        let mut zm = vec![zmlen.unwrap_or(pairs.len().min(254) as u8)];
        for &(k, v, free) in pairs {
            zm.extend(len(k.len()));
            zm.extend_from_slice(k);
            zm.extend(len(v.len()));
            zm.push(free);
            zm.extend_from_slice(v);
            zm.extend(std::iter::repeat_n(0xAA, free as usize));
        }
        zm.push(END);
        zm
    }

    fn all(zm: &[u8]) -> Result<Vec<(Str<'_>, Str<'_>)>, BlobError> {
        ZipmapIter::new(zm)?.collect()
    }

    #[test]
    fn redis_doc_example() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        assert_eq!(
            all(zm).unwrap(),
            vec![(Str::Bytes(b"foo"), Str::Bytes(b"bar")), (Str::Bytes(b"hello"), Str::Bytes(b"world"))]
        );
        assert_eq!(ZipmapIter::new(zm).unwrap().len_hint(), Some(2));
    }

    #[test]
    fn empty_zipmap() {
        assert_eq!(all(&[0, 0xFF]).unwrap(), vec![]);
        assert!(all(&[1, 0xFF]).unwrap_err().what.contains("header says 1 pairs"));
    }

    #[test]
    fn free_bytes_empty_strings_and_big_lengths() {
        let k253 = vec![b'k'; 253];
        let k254 = vec![b'K'; 254];
        let v = vec![b'v'; 70000];
        let zm = build(&[(b"", b"", 0), (b"a", b"b", 4), (&k253, &v, 255), (&k254, b"x", 1)], None);
        assert_eq!(
            all(&zm).unwrap(),
            vec![
                (Str::Bytes(b""), Str::Bytes(b"")),
                (Str::Bytes(b"a"), Str::Bytes(b"b")),
                (Str::Bytes(&k253), Str::Bytes(&v)),
                (Str::Bytes(&k254), Str::Bytes(b"x")),
            ]
        );
    }

    #[test]
    fn unknown_count_254() {
        let zm = build(&[(b"a", b"1", 0), (b"b", b"2", 0)], Some(254));
        assert_eq!(ZipmapIter::new(&zm).unwrap().len_hint(), None);
        assert_eq!(all(&zm).unwrap().len(), 2);
        // 255 is not "unknown": Redis compares it with the real count.
        let zm = build(&[(b"a", b"1", 0)], Some(255));
        assert!(all(&zm).is_err());
    }

    #[test]
    fn value_length_byte_255_reads_as_big_length() {
        let mut zm = vec![1, 1, b'k', 255];
        zm.extend_from_slice(&2u32.to_le_bytes());
        zm.extend_from_slice(&[0, b'v', b'w', END]);
        assert_eq!(all(&zm).unwrap(), vec![(Str::Bytes(b"k"), Str::Bytes(b"vw"))]);
    }

    #[test]
    fn structural_errors() {
        assert!(ZipmapIter::new(&[]).is_err());
        assert!(ZipmapIter::new(&[0]).is_err());
        assert!(ZipmapIter::new(&[0, 0]).unwrap_err().what.contains("end byte"));
        // Key overruns.
        assert!(all(&[1, 5, b'a', END]).unwrap_err().what.contains("field overruns"));
        // Value length missing.
        assert!(all(&[1, 1, b'a', END]).unwrap_err().what.contains("length overruns"));
        // Free byte missing.
        assert!(all(&[1, 1, b'a', 0, END]).unwrap_err().what.contains("free-space"));
        // Value overruns.
        assert!(all(&[1, 1, b'a', 3, 0, b'x', END]).unwrap_err().what.contains("value overruns"));
        // Free bytes overrun.
        assert!(all(&[1, 1, b'a', 1, 9, b'x', END]).unwrap_err().what.contains("free bytes"));
        // 5-byte length cut short.
        assert!(all(&[1, 254, 1, 0, END]).unwrap_err().what.contains("5-byte"));
        // Huge length.
        assert!(all(&[1, 254, 255, 255, 255, 255, b'a', END]).is_err());
        // End byte in the middle, then junk.
        let mut zm = build(&[(b"a", b"b", 0)], None);
        zm.extend_from_slice(&[1, END]);
        assert!(all(&zm).unwrap_err().what.contains("before the end"));
    }

    #[test]
    fn finish_and_fused() {
        let zm = build(&[(b"a", b"b", 0), (b"c", b"d", 0)], None);
        let mut it = ZipmapIter::new(&zm).unwrap();
        it.next();
        assert!(it.finish().is_ok());
        let mut it = ZipmapIter::new(&[1, 9, END]).unwrap();
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    #[test]
    fn never_panics_on_mutations() {
        let big = vec![b'z'; 300];
        let base = build(&[(b"name", b"foo", 2), (&big, b"x", 0), (b"k", &big, 1)], None);
        let mut x = 0x0BAD_F00Du32;
        for _ in 0..20000 {
            let mut zm = base.clone();
            for _ in 0..1 + x % 3 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = x as usize % zm.len();
                zm[i] = (x >> 8) as u8;
            }
            if let Ok(it) = ZipmapIter::new(&zm) {
                let _ = it.count();
            }
            let cut = x as usize % zm.len();
            if let Ok(it) = ZipmapIter::new(&zm[..cut]) {
                let _ = it.count();
            }
        }
    }
}
