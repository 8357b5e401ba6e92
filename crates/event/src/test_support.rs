//! Helpers shared by this crate's unit tests.

use rdb::{Encoding, KeyInfo, Str, ValueType};

/// A key with no expiry, idle time or frequency, at offset 0.
pub fn key_info(db: u64, key: Str<'_>, value_type: ValueType, encoding: Encoding) -> KeyInfo<'_> {
    KeyInfo {
        db,
        key,
        value_type,
        encoding,
        type_byte: 0,
        expire_at_ms: None,
        idle_s: None,
        freq: None,
        len_hint: None,
        offset: 0,
    }
}
