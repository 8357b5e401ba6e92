//! Helpers shared by this crate's unit tests.

use rdb::{Encoding, KeyInfo, Str, ValueType};

use crate::live::{CommandEvent, LiveEvent};

/// The replication id the live-event tests use.
pub const REPLID: &str = "8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1";

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

/// A command event of `args` (name first) at `[start, end)` under [`REPLID`].
pub fn command<'a>(
    db: Option<u64>,
    args: &'a [&'a [u8]],
    start: u64,
    end: u64,
    tx: Option<u64>,
) -> LiveEvent<'a, &'a [u8]> {
    LiveEvent::Command(CommandEvent { db, args, replid: REPLID, start_offset: start, end_offset: end, tx })
}
