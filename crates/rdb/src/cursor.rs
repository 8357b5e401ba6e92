//! Reading primitives over one decoding unit.
//!
//! The decoder parses in atomic units (a key header, one element, one blob). A unit either
//! completes or stops with [`Stop::Incomplete`], in which case nothing is consumed and the
//! same unit is tried again once more input has arrived. Positions are relative to the input
//! slice of the current `advance` call.

use crate::error::ErrorKind;

#[derive(Debug)]
pub(crate) enum Stop {
    /// The unit needs bytes that have not arrived yet.
    Incomplete,
    /// The input is invalid at this position of the current input slice.
    Fail(usize, ErrorKind),
}

pub(crate) type Unit<T> = Result<T, Stop>;

/// An RDB length: a number, or the selector of a special string encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Len {
    Plain(u64),
    Special(u8),
}

pub(crate) const ENC_INT8: u8 = 0;
pub(crate) const ENC_INT16: u8 = 1;
pub(crate) const ENC_INT32: u8 = 2;
pub(crate) const ENC_LZF: u8 = 3;

pub(crate) struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    /// Bytes that can still arrive after `buf` ends, when the total input size is known (a
    /// file). Lets a lying length fail at once instead of buffering the rest of the input.
    pub more: Option<u64>,
    /// The whole input's size, when known: a length beyond it can never be right (a lie),
    /// while one that merely runs past the end of the bytes means the input was cut short.
    pub total: Option<u64>,
    /// The largest single string or blob accepted from an input of unknown size.
    pub max_unit: u64,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails with `LyingLength` when `n` bytes cannot possibly arrive, else `Incomplete`.
    #[cold]
    pub fn short(&self, n: u64, what: &'static str) -> Stop {
        let have = self.remaining() as u64;
        match self.more {
            Some(more) if n <= have + more => Stop::Incomplete,
            Some(more) if self.total.is_some_and(|t| n <= t) => self.truncated(more),
            Some(_) => Stop::Fail(self.pos, ErrorKind::LyingLength { len: n, what }),
            None if n > self.max_unit.max(have) => Stop::Fail(self.pos, ErrorKind::LyingLength { len: n, what }),
            None => Stop::Incomplete,
        }
    }

    /// The input ends before the unit does; the error points where the input ends.
    fn truncated(&self, more: u64) -> Stop {
        Stop::Fail(self.buf.len() + more as usize, ErrorKind::Truncated)
    }

    /// A fixed-size field that is not all there: the input was cut short, or more is coming.
    #[cold]
    fn short_fixed(&self, n: u64) -> Stop {
        match self.more {
            Some(more) if n > self.remaining() as u64 + more => self.truncated(more),
            _ => Stop::Incomplete,
        }
    }

    /// Checks that `count` items of at least `min_size` bytes each can still fit in the
    /// input. Only decidable when the total size is known; otherwise the decoder just reads on
    /// and reports truncation where the input really ends.
    #[inline]
    pub fn check_count(&self, count: u64, min_size: u64, what: &'static str) -> Unit<()> {
        if let Some(more) = self.more {
            let need = count.saturating_mul(min_size);
            if need > self.remaining() as u64 + more {
                return Err(if self.total.is_some_and(|t| need <= t) {
                    self.truncated(more)
                } else {
                    Stop::Fail(self.pos, ErrorKind::LyingLength { len: count, what })
                });
            }
        }
        Ok(())
    }

    #[inline]
    pub fn u8(&mut self) -> Unit<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.short_fixed(1)),
        }
    }

    #[inline]
    pub fn take(&mut self, n: u64, what: &'static str) -> Unit<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(self.short(n, what));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.buf[start..self.pos])
    }

    /// Like `take` but returns the range, for references that outlive the cursor.
    #[inline]
    pub fn take_range(&mut self, n: u64, what: &'static str) -> Unit<(usize, usize)> {
        if n > self.remaining() as u64 {
            return Err(self.short(n, what));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok((start, self.pos))
    }

    #[inline]
    pub fn array<const N: usize>(&mut self) -> Unit<[u8; N]> {
        match self.buf.get(self.pos..self.pos + N) {
            Some(s) => {
                self.pos += N;
                Ok(s.try_into().expect("slice of N bytes"))
            }
            None => Err(self.short_fixed(N as u64)),
        }
    }

    #[inline]
    pub fn i64_le(&mut self) -> Unit<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    #[inline]
    pub fn f64_le(&mut self) -> Unit<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    #[inline]
    pub fn fail<T>(&self, at: usize, kind: ErrorKind) -> Unit<T> {
        Err(Stop::Fail(at, kind))
    }

    /// Reads an RDB length (redis src/rdb.c rdbLoadLenByRef).
    #[inline]
    pub fn len(&mut self) -> Unit<Len> {
        let start = self.pos;
        let b = self.u8()?;
        match b >> 6 {
            0 => Ok(Len::Plain(u64::from(b & 0x3f))),
            1 => {
                let b2 = self.u8()?;
                Ok(Len::Plain((u64::from(b & 0x3f) << 8) | u64::from(b2)))
            }
            3 => Ok(Len::Special(b & 0x3f)),
            _ => match b {
                0x80 => Ok(Len::Plain(u64::from(u32::from_be_bytes(self.array()?)))),
                0x81 => Ok(Len::Plain(u64::from_be_bytes(self.array()?))),
                _ => Err(Stop::Fail(start, ErrorKind::BadLength(b))),
            },
        }
    }

    /// A length that must be a plain number.
    #[inline]
    pub fn length(&mut self) -> Unit<u64> {
        let start = self.pos;
        match self.len()? {
            Len::Plain(n) => Ok(n),
            Len::Special(s) => Err(Stop::Fail(start, ErrorKind::BadLength(0xc0 | s))),
        }
    }

    /// Skips one `str` without decoding it (used when only the byte count matters).
    pub fn skip_str(&mut self) -> Unit<()> {
        let start = self.pos;
        match self.len()? {
            Len::Plain(n) => {
                self.take(n, "string")?;
            }
            Len::Special(ENC_INT8) => {
                self.take(1, "int8")?;
            }
            Len::Special(ENC_INT16) => {
                self.take(2, "int16")?;
            }
            Len::Special(ENC_INT32) => {
                self.take(4, "int32")?;
            }
            Len::Special(ENC_LZF) => {
                let clen = self.length()?;
                let _ulen = self.length()?;
                self.take(clen, "LZF string")?;
            }
            Len::Special(s) => return self.fail(start, ErrorKind::Invalid(format!("unknown string encoding {s}"))),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(buf: &[u8]) -> Cursor<'_> {
        Cursor { buf, pos: 0, more: Some(0), total: Some(buf.len() as u64), max_unit: 1 << 32 }
    }

    #[test]
    fn lengths() {
        assert_eq!(cur(&[0x3f]).len().unwrap(), Len::Plain(63));
        assert_eq!(cur(&[0x7f, 0xff]).len().unwrap(), Len::Plain(16383));
        assert_eq!(cur(&[0x80, 0, 1, 0, 0]).len().unwrap(), Len::Plain(65536));
        assert_eq!(cur(&[0x81, 0, 0, 0, 1, 0, 0, 0, 0]).len().unwrap(), Len::Plain(1 << 32));
        assert_eq!(cur(&[0xc3]).len().unwrap(), Len::Special(3));
        assert!(matches!(cur(&[0x82]).len(), Err(Stop::Fail(0, ErrorKind::BadLength(0x82)))));
        let mut open = Cursor { buf: &[0x80, 0], pos: 0, more: None, total: None, max_unit: 1 << 32 };
        assert!(matches!(open.len(), Err(Stop::Incomplete)));
    }

    #[test]
    fn lying_length_fails_when_size_known() {
        let mut c = cur(&[1, 2, 3]);
        assert!(matches!(c.take(1 << 40, "string"), Err(Stop::Fail(0, ErrorKind::LyingLength { .. }))));
        let mut open = Cursor { buf: &[1, 2, 3], pos: 0, more: None, total: None, max_unit: 1 << 32 };
        assert!(matches!(open.take(100, "string"), Err(Stop::Incomplete)));
        assert!(matches!(open.take(1 << 40, "string"), Err(Stop::Fail(..))));
        assert!(matches!(c.check_count(1 << 40, 1, "list"), Err(Stop::Fail(..))));
    }
}
