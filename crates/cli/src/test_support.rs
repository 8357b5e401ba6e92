//! Helpers shared by the binary's unit tests.

use rdb::{Encoding, KeyInfo, Str, ValueType};

/// A linked-list key at offset 9, as the handlers' tests feed it.
pub fn list_key(name: &'static [u8]) -> KeyInfo<'static> {
    KeyInfo {
        db: 0,
        key: Str::Bytes(name),
        value_type: ValueType::List,
        encoding: Encoding::LinkedList,
        type_byte: 1,
        expire_at_ms: None,
        idle_s: None,
        freq: None,
        len_hint: None,
        offset: 9,
    }
}
