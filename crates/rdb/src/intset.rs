//! Intsets: the compact encoding of small sets of integers (RDB type 11).
//!
//! ```text
//! <encoding u32 LE: 2, 4 or 8 = bytes per element> <length u32 LE> <length × intN LE>
//! ```
//!
//! Redis keeps the elements sorted ascending without duplicates. [`IntsetIter::new`] checks
//! that in one tight pass (as `intsetValidateIntegrity` does in its deep mode), so iterating
//! cannot fail and yields plain [`Str::Int`] values.

use crate::error::BlobError;
use crate::value::Str;

const BLOB: &str = "intset";
const HEADER: usize = 8;

/// Iterator over the elements of a validated intset.
#[derive(Clone, Debug)]
pub struct IntsetIter<'a> {
    rest: &'a [u8],
    width: usize,
}

impl<'a> IntsetIter<'a> {
    /// Checks the whole intset: the element width is 2, 4 or 8, the blob is exactly
    /// `8 + length * width` bytes, and the elements are strictly ascending.
    pub fn new(blob: &'a [u8]) -> Result<Self, BlobError> {
        let Some(header) = blob.get(..HEADER) else {
            return Err(BlobError::new(BLOB, 0, format!("{} bytes is shorter than the 8-byte header", blob.len())));
        };
        let width = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        if !matches!(width, 2 | 4 | 8) {
            return Err(BlobError::new(BLOB, 0, format!("invalid encoding {width} (must be 2, 4 or 8)")));
        }
        let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as u64;
        let want = HEADER as u64 + count * width as u64;
        if want != blob.len() as u64 {
            return Err(BlobError::new(
                BLOB,
                4,
                format!("{count} elements of {width} bytes need {want} bytes but the blob has {}", blob.len()),
            ));
        }
        let rest = &blob[HEADER..];
        let unordered = match width {
            2 => first_unordered(rest.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]]))),
            4 => first_unordered(rest.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            _ => first_unordered(
                rest.chunks_exact(8).map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
            ),
        };
        if let Some((index, prev, v)) = unordered {
            return Err(BlobError::new(
                BLOB,
                HEADER + index * width as usize,
                format!("element {index} ({v}) is not greater than the one before ({prev})"),
            ));
        }
        Ok(IntsetIter { rest, width: width as usize })
    }

    /// Bytes per element: 2, 4 or 8.
    #[inline]
    pub fn width(&self) -> usize {
        self.width
    }
}

/// The first element not greater than its predecessor: (index, previous, element).
#[inline]
fn first_unordered<T: PartialOrd + Copy + Into<i64>>(mut it: impl Iterator<Item = T>) -> Option<(usize, i64, i64)> {
    let mut prev = it.next()?;
    for (i, v) in it.enumerate() {
        if v <= prev {
            return Some((i + 1, prev.into(), v.into()));
        }
        prev = v;
    }
    None
}

impl<'a> Iterator for IntsetIter<'a> {
    type Item = Str<'a>;

    #[inline]
    fn next(&mut self) -> Option<Str<'a>> {
        let v = match self.width {
            2 => i16::from_le_bytes(take(&mut self.rest)?) as i64,
            4 => i32::from_le_bytes(take(&mut self.rest)?) as i64,
            _ => i64::from_le_bytes(take(&mut self.rest)?),
        };
        Some(Str::Int(v))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len() / self.width;
        (n, Some(n))
    }
}

impl ExactSizeIterator for IntsetIter<'_> {}
impl std::iter::FusedIterator for IntsetIter<'_> {}

#[inline(always)]
fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
    let (head, tail) = rest.split_first_chunk::<N>()?;
    *rest = tail;
    Some(*head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(width: u32, vals: &[i64]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&width.to_le_bytes());
        b.extend_from_slice(&(vals.len() as u32).to_le_bytes());
        for &v in vals {
            b.extend_from_slice(&v.to_le_bytes()[..width as usize]);
        }
        b
    }

    fn all(b: &[u8]) -> Result<Vec<Str<'_>>, BlobError> {
        Ok(IntsetIter::new(b)?.collect())
    }

    fn ints(v: &[i64]) -> Vec<Str<'static>> {
        v.iter().map(|&i| Str::Int(i)).collect()
    }

    #[test]
    fn each_width_with_extremes() {
        let v16 = [i16::MIN as i64, -1, 0, 1, i16::MAX as i64];
        let v32 = [i32::MIN as i64, -70000, 0, 70000, i32::MAX as i64];
        let v64 = [i64::MIN, -1, 0, 1 << 40, i64::MAX];
        assert_eq!(all(&build(2, &v16)).unwrap(), ints(&v16));
        assert_eq!(all(&build(4, &v32)).unwrap(), ints(&v32));
        assert_eq!(all(&build(8, &v64)).unwrap(), ints(&v64));
        // A wide encoding holding small values (Redis never shrinks an intset).
        assert_eq!(all(&build(8, &[1, 2])).unwrap(), ints(&[1, 2]));
    }

    #[test]
    fn empty_and_single() {
        let b = build(2, &[]);
        assert_eq!(IntsetIter::new(&b).unwrap().len(), 0);
        assert_eq!(all(&b).unwrap(), vec![]);
        assert_eq!(all(&build(4, &[i32::MIN as i64])).unwrap(), ints(&[i32::MIN as i64]));
    }

    #[test]
    fn len_and_size_hint() {
        let b = build(4, &[1, 2, 3]);
        let mut it = IntsetIter::new(&b).unwrap();
        assert_eq!((it.len(), it.width()), (3, 4));
        assert_eq!(it.size_hint(), (3, Some(3)));
        it.next();
        assert_eq!(it.len(), 2);
        assert_eq!(it.by_ref().count(), 2);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn header_errors() {
        assert!(IntsetIter::new(&[]).unwrap_err().what.contains("shorter"));
        assert!(IntsetIter::new(&[2, 0, 0, 0, 0, 0, 0]).is_err());
        for w in [0u32, 1, 3, 5, 16, u32::MAX] {
            let b = [w.to_le_bytes(), 0u32.to_le_bytes()].concat();
            let e = IntsetIter::new(&b).unwrap_err();
            assert!(e.what.contains("invalid encoding"), "{w}: {e}");
        }
        let mut b = build(2, &[1, 2]);
        b.push(0);
        assert!(IntsetIter::new(&b).unwrap_err().what.contains("need 12 bytes but the blob has 13"));
        let b = build(2, &[1, 2]);
        assert!(IntsetIter::new(&b[..b.len() - 1]).is_err());
        // A huge length cannot overflow the size computation.
        let mut b = build(8, &[]);
        b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(IntsetIter::new(&b).is_err());
    }

    #[test]
    fn order_and_duplicates() {
        let e = all(&build(2, &[1, 3, 2])).unwrap_err();
        assert_eq!(e.pos, 8 + 2 * 2);
        assert!(e.what.contains("element 2 (2) is not greater than the one before (3)"), "{e}");
        assert!(all(&build(8, &[5, 5])).is_err());
        assert!(all(&build(4, &[-1, -2])).unwrap_err().what.contains("element 1 (-2)"));
        assert!(all(&build(8, &[i64::MIN, i64::MAX, i64::MIN])).is_err());
    }
}
