//! The Redis target when it is a cluster: one [`RedisSink`] per master, and every command sent
//! to the master that serves its slot.
//!
//! - **Order.** Commands on one key keep their order (one slot, one master, one pipeline);
//!   commands on keys of different masters may apply in any order relative to each other,
//!   as they would from any cluster client.
//! - **Offsets.** Every stream position is marked on every master's sink, and the delivered
//!   offset is the lowest of theirs: a position counts as delivered only once every master
//!   has applied all of its commands before it.
//! - **Commands without a slot.** `SELECT`, `FLUSHALL`, `FLUSHDB`, `SWAPDB`, `FUNCTION` and
//!   `SCRIPT` go to every master (each holds its share of every db, and functions must be on
//!   the node that runs them); other keyless commands go to the first master.
//! - **Transactions** are held from `MULTI` to `EXEC` and sent whole to the master of their
//!   slot. A transaction or a command whose keys span slots cannot run on a cluster: it is
//!   an error naming the keys, or, with [`ErrorPolicy::Skip`], logged, counted and skipped.
//! - **Resharding** while it runs: a master answers `-MOVED` for a slot it no longer serves,
//!   and its sink stops with that reply (the delivered offset stays before it); a restart
//!   resumes from the checkpoint and reads the new slot map.

use bytes::{Bytes, BytesMut};
use replica::Address;

use crate::redis::{ErrorPolicy, RedisConfig, RedisSink, TargetInfo};
use crate::redis_cluster::command_slot::{command_slot, cross_slot_error};
use crate::redis_cluster::{NodeAddr, SlotMap};
use crate::{Batch, Error, Sink};

/// Commands are arrays of bulk strings, never nested (what `RespStreamWriter` writes).
const LIMITS: resp::Limits =
    resp::Limits { max_bulk_len: usize::MAX, max_array_len: usize::MAX, max_depth: 2, max_line_len: 64 << 10 };

pub struct RedisClusterSink {
    nodes: Vec<RedisSink>,
    addrs: Vec<NodeAddr>,
    map: SlotMap,
    policy: ErrorPolicy,
    /// The commands since `MULTI`, until `EXEC` says where they all go.
    transaction: Option<Vec<(Bytes, Vec<Bytes>)>>,
    skipped: u64,
}

impl RedisClusterSink {
    /// Connects to every master of `map` with `config`'s credentials, TLS and window (the
    /// window is per master). `start` is the offset already delivered.
    pub fn connect(config: RedisConfig, map: SlotMap, start: u64) -> Result<RedisClusterSink, Error> {
        let mut nodes = Vec::new();
        let mut addrs = Vec::new();
        for node in map.masters() {
            let mut at = config.clone();
            at.target.address = Address::Tcp { host: node.host.clone(), port: node.port };
            nodes.push(RedisSink::connect(at, start)?);
            addrs.push(node.clone());
        }
        if nodes.is_empty() {
            return Err(Error::RedisUnreachable {
                address: config.target.address.to_string(),
                reason: "the cluster has no master serving any slot".into(),
            });
        }
        Ok(RedisClusterSink { nodes, addrs, map, policy: config.on_error, transaction: None, skipped: 0 })
    }

    /// The masters written to, in slot order.
    pub fn masters(&self) -> &[NodeAddr] {
        &self.addrs
    }

    /// The first master's product and version (a cluster runs one version).
    pub fn target(&self) -> &TargetInfo {
        self.nodes[0].target()
    }

    /// Keys in the whole cluster when connected.
    pub fn keys_at_start(&self) -> u64 {
        self.nodes.iter().map(RedisSink::keys_at_start).sum()
    }

    /// The first master's address, for messages.
    pub fn address(&self) -> &str {
        self.nodes[0].address()
    }

    /// Commands skipped: cross-slot ones here, plus those the masters refused (with
    /// [`ErrorPolicy::Skip`]).
    pub fn skipped(&self) -> u64 {
        self.skipped + self.nodes.iter().map(RedisSink::skipped).sum::<u64>()
    }

    /// Queues whole commands (see [`RedisSink::send_commands`]), each to its slot's master.
    pub fn send_commands(&mut self, commands: &[u8]) -> Result<(), Error> {
        let mut at = 0;
        while at < commands.len() {
            let malformed = |what: String| Error::RedisProtocol {
                address: "the writer's output".into(),
                reason: format!("{what} at byte {at} of a piece"),
            };
            let len = match resp::check(&commands[at..], &LIMITS) {
                Ok(Some(len)) => len,
                Ok(None) => return Err(malformed("a command cut short".into())),
                Err(e) => return Err(malformed(e.to_string())),
            };
            let command = Bytes::copy_from_slice(&commands[at..at + len]);
            let mut buf = BytesMut::from(&command[..]);
            let args = match resp::Decoder::new(LIMITS).decode(&mut buf) {
                Ok(Some((resp::Item::Frame(frame), _))) => frame.into_command(),
                _ => None,
            }
            .ok_or_else(|| malformed("not a command (an array of bulk strings)".into()))?;
            self.route(command, args)?;
            at += len;
        }
        Ok(())
    }

    /// Everything queued so far completes the stream up to `offset`, on every master.
    pub fn mark(&mut self, offset: u64) -> Result<(), Error> {
        self.nodes.iter_mut().try_for_each(|n| n.mark(offset))
    }

    /// Waits until every master has answered everything queued; the lowest delivered offset.
    pub fn wait_delivered(&mut self) -> Result<u64, Error> {
        let mut lowest = u64::MAX;
        for node in &mut self.nodes {
            lowest = lowest.min(node.wait_delivered()?);
        }
        Ok(lowest)
    }

    /// A failure on any master since the last call, without waiting.
    pub fn poll(&mut self) -> Result<(), Error> {
        self.nodes.iter_mut().try_for_each(RedisSink::poll)
    }

    fn route(&mut self, command: Bytes, args: Vec<Bytes>) -> Result<(), Error> {
        let name = args[0].to_ascii_uppercase();
        if let Some(queued) = &mut self.transaction {
            match &name[..] {
                b"EXEC" => {
                    let queued = self.transaction.take().unwrap_or_default();
                    return self.send_transaction(queued, command);
                }
                b"DISCARD" => self.transaction = None,
                _ => queued.push((command, args)),
            }
            return Ok(());
        }
        match &name[..] {
            b"MULTI" => self.transaction = Some(Vec::new()),
            b"SELECT" | b"FLUSHALL" | b"FLUSHDB" | b"SWAPDB" | b"FUNCTION" | b"SCRIPT" => {
                for node in &mut self.nodes {
                    node.send_commands(&command)?;
                }
            }
            _ => match command_slot(&args) {
                Ok(slot) => {
                    let node = self.node_of(slot);
                    self.nodes[node].send_commands(&command)?;
                }
                Err(e) => self.refuse(e)?,
            },
        }
        Ok(())
    }

    /// Sends `MULTI`, the queued commands and `EXEC` to the one master of their slot.
    fn send_transaction(&mut self, queued: Vec<(Bytes, Vec<Bytes>)>, exec: Bytes) -> Result<(), Error> {
        let mut slot = None;
        for (_, args) in &queued {
            match (command_slot(args), slot) {
                (Ok(None), _) => {}
                (Ok(Some(s)), None) => slot = Some(s),
                (Ok(Some(s)), Some(first)) if s == first => {}
                _ => {
                    let keys: Vec<&[u8]> =
                        queued.iter().flat_map(|(_, args)| event::command_keys::command_keys(args)).collect();
                    return self.refuse(cross_slot_error("a MULTI/EXEC transaction".into(), keys));
                }
            }
        }
        let mut whole = resp::encode_command(&["MULTI"]).to_vec();
        for (command, _) in &queued {
            whole.extend_from_slice(command);
        }
        whole.extend_from_slice(&exec);
        let node = self.node_of(slot);
        self.nodes[node].send_commands(&whole)
    }

    fn refuse(&mut self, error: Error) -> Result<(), Error> {
        match self.policy {
            ErrorPolicy::Fail => Err(error),
            ErrorPolicy::Skip => {
                tracing::warn!(%error, "skipped (--on-target-error skip)");
                self.skipped += 1;
                Ok(())
            }
        }
    }

    /// The master of `slot`; keyless commands go to the first.
    fn node_of(&self, slot: Option<u16>) -> usize {
        let owner = slot.and_then(|s| self.map.owner(s));
        owner.and_then(|o| self.addrs.iter().position(|a| a == o)).unwrap_or(0)
    }
}

impl Sink for RedisClusterSink {
    type Record = Vec<u8>;

    fn send(&mut self, batch: Batch<Vec<u8>>) -> Result<(), Error> {
        for commands in &batch.records {
            self.send_commands(commands)?;
        }
        self.mark(batch.end_offset)
    }

    fn flush(&mut self) -> Result<u64, Error> {
        self.wait_delivered()
    }

    fn delivered(&self) -> u64 {
        self.nodes.iter().map(Sink::delivered).min().unwrap_or(0)
    }
}
