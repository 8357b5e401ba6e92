//! The redtail event contract (docs/events.md) and the outputs built on it.
//!
//! The RDB decoder (`rdb`) emits borrowed events; this crate turns them into:
//! - [`JsonWriter`]: the contract's JSON Lines, the form other programs consume;
//! - [`RebuildWriter`]: RESP commands that recreate the data on a server;
//! - [`KeysWriter`]: one line per key with its size, for finding what takes the space;
//!
//! and chooses keys with a [`Filter`]. Every output implements [`EventSink`], so a driver
//! (the CLI, later `follow`) feeds any of them the same way.

mod commit_buffer;
pub mod error;
pub mod filter;
pub mod glob;
pub mod json;
pub mod json_str;
pub mod keys;
pub mod rebuild;
pub mod resp;
pub mod sink;

pub use commit_buffer::FLUSH_AT;
pub use error::{Error, Result};
pub use filter::{Filter, FilteredSink};
pub use glob::glob_match;
pub use json::{JsonOptions, JsonWriter};
pub use keys::KeysWriter;
pub use rebuild::RebuildWriter;
pub use sink::EventSink;
