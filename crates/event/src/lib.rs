//! The redtail event contract (docs/events.md) and the outputs built on it.
//!
//! The RDB decoder (`rdb`) emits borrowed events; this crate turns them into:
//! - [`JsonWriter`]: the contract's JSON Lines, the form other programs consume;
//! - [`RebuildWriter`]: RESP commands that recreate the data on a server;
//! - [`KeysWriter`]: one line per key with its size, for finding what takes the space;
//!
//! and chooses keys with a [`Filter`]. Every output implements [`EventSink`], so a driver
//! (the CLI) feeds any of them the same way.
//!
//! `redtail follow` adds the live stream ([`live`]): [`JsonWriter`] writes its events as JSON
//! lines, [`RespStreamWriter`] as the commands themselves, and a [`Filter`] also chooses
//! commands (by name, db and the keys [`command_keys`] finds). These implement [`LiveSink`].
//! For a migration, [`RespStreamWriter::snapshot_by_restore`] sends the snapshot as `RESTORE`
//! payloads where the target can read them ([`restore`]).

mod command_filter;
pub mod command_keys;
mod commit_buffer;
pub mod error;
pub mod filter;
pub mod glob;
pub mod json;
pub mod json_str;
pub mod keys;
pub mod live;
mod live_json;
pub mod rebuild;
pub mod resp;
pub mod resp_stream;
pub mod restore;
pub mod sink;

pub use commit_buffer::FLUSH_AT;
pub use error::{Error, Result};
pub use filter::{Filter, FilteredSink};
pub use glob::glob_match;
pub use json::{JsonOptions, JsonWriter};
pub use keys::KeysWriter;
pub use live::{CommandEvent, LiveEvent, SyncMode};
pub use rebuild::RebuildWriter;
pub use resp_stream::RespStreamWriter;
pub use sink::{EventSink, LiveSink};

#[cfg(test)]
mod test_support;
