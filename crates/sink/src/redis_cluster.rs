//! Routing commands to the nodes of a Redis Cluster, sans-IO: which slot a key hashes to, which
//! node serves a slot, what a `-MOVED` or `-ASK` reply asks for, and which slot a whole command
//! needs. The Redis target sink and `redtail verify` own the sockets; this module only decides.
//!
//! The rules are the cluster specification's (and `cluster.c`'s `keyHashSlot`): a key's slot is
//! CRC16/XMODEM of the key, or of its `{hash tag}`, modulo 16384. A command whose keys fall in
//! different slots cannot run on a cluster at all, so it is reported by name with its keys,
//! never split or dropped: splitting `MSET` or `RENAME` would change its meaning.

mod command_slot;
mod discover;
mod redirect;
mod reroute;
mod sink;
mod slot;
mod slot_map;
mod target;

pub use command_slot::{command_slot, cross_slot_error};
pub use discover::discover;
pub use redirect::{parse_redirect, Redirect};
pub use sink::RedisClusterSink;
pub use slot::{hash_tag, key_slot, SLOT_COUNT};
pub use slot_map::{NodeAddr, SlotMap};
pub use target::RedisTarget;
