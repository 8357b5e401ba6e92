//! Raw value capture ([`Options::raw_values_up_to`]): the bytes of a key's value exactly as the
//! file holds them, for `RESTORE` (a DUMP payload is these bytes plus a version and a CRC).
//!
//! The value is copied as its units are consumed, at the same points where the decoder hands
//! consumed bytes on (the end of each `advance`), so capture is restartable like everything
//! else: a unit cut short is not consumed, and so not copied, until it is retried whole. A value
//! that grows past the limit is dropped at once, which keeps memory bounded by the limit; its
//! element events still come, and are then the only form of the value.

use super::*;

/// The capture of the current key's value.
#[derive(Debug, Default)]
pub(super) struct RawValue {
    /// Capturing: the key's value has not ended and still fits the limit.
    pub active: bool,
    /// Absolute offset of the next value byte to copy.
    next: u64,
    /// The RDB type byte, then the value bytes consumed so far.
    pub buf: Vec<u8>,
}

impl RawValue {
    /// Starts capturing a key whose value begins at absolute offset `value_start`. A key
    /// header retried after a short read starts again from scratch.
    #[inline]
    pub fn start(&mut self, type_byte: u8, value_start: u64) {
        self.active = true;
        self.next = value_start;
        self.buf.clear();
        self.buf.push(type_byte);
    }
}

impl Decoder {
    /// Copies the value bytes consumed by this `advance` up to `pos` of `input` (whose first
    /// byte is at `self.origin`), or drops the capture when the value outgrows the limit.
    pub(super) fn capture_raw(&mut self, input: &[u8], pos: usize) {
        let end = self.origin + pos as u64;
        let raw = &mut self.raw;
        if end <= raw.next {
            return;
        }
        let bytes = &input[(raw.next - self.origin) as usize..pos];
        raw.next = end;
        if raw.buf.len() + bytes.len() > self.opts.raw_values_up_to {
            raw.active = false;
            raw.buf.clear();
        } else {
            raw.buf.extend_from_slice(bytes);
        }
    }

    /// At the end of a key's value: whether its raw bytes are complete and within the limit,
    /// in which case they are handed out (as [`Event::RawValue`]) before the key ends.
    pub(super) fn finish_raw(&mut self, c: &Cursor<'_>) -> bool {
        if !self.raw.active {
            return false;
        }
        self.capture_raw(c.buf, c.pos);
        let whole = self.raw.active;
        self.raw.active = false;
        whole
    }
}
