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
//! - **Resharding** while it runs: `-MOVED`, `-ASK` and `-TRYAGAIN` are followed, in order,
//!   never skipped (see `reroute`); a master that appears in a `-MOVED` is connected then.

use bytes::{Bytes, BytesMut};
use replica::Address;

use crate::redis::{command_sink, ErrorPolicy, RedisConfig, RedisSink, TargetInfo};
use crate::redis_cluster::command_slot::{command_slot, cross_slot_error};
use crate::redis_cluster::{NodeAddr, SlotMap};
use crate::Error;

/// Commands are arrays of bulk strings, never nested (what `RespStreamWriter` writes).
const LIMITS: resp::Limits =
    resp::Limits { max_bulk_len: usize::MAX, max_array_len: usize::MAX, max_depth: 2, max_line_len: 64 << 10 };

pub struct RedisClusterSink {
    pub(super) nodes: Vec<RedisSink>,
    /// `nodes[i]`'s address.
    pub(super) addrs: Vec<NodeAddr>,
    pub(super) map: SlotMap,
    /// For connecting to a master that a `-MOVED` names.
    pub(super) config: RedisConfig,
    /// The db of the last `SELECT` sent to every master.
    pub(super) db: u64,
    /// The last offset marked on every master: where a newly connected one starts.
    pub(super) marked: u64,
    /// While redirected commands are being applied elsewhere: what was delivered before them.
    pub(super) hold: Option<u64>,
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
            nodes.push(connect_node(&config, node, start)?);
            addrs.push(node.clone());
        }
        if nodes.is_empty() {
            return Err(Error::RedisUnreachable {
                address: config.target.address.to_string(),
                reason: "the cluster has no master serving any slot".into(),
            });
        }
        Ok(RedisClusterSink {
            nodes,
            addrs,
            map,
            config,
            db: 0,
            marked: start,
            hold: None,
            transaction: None,
            skipped: 0,
        })
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
        self.follow_redirects()?;
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
        self.follow_redirects()?;
        self.marked = offset;
        self.nodes.iter_mut().try_for_each(|n| n.mark(offset))
    }

    /// Waits until every master has answered everything queued, redirections followed; the
    /// lowest delivered offset.
    pub fn wait_delivered(&mut self) -> Result<u64, Error> {
        self.wait_all()?;
        self.follow_redirects()?;
        Ok(self.acknowledged())
    }

    /// A failure on any master since the last call, without waiting; and redirections
    /// followed.
    pub fn poll(&mut self) -> Result<(), Error> {
        self.nodes.iter_mut().try_for_each(RedisSink::poll)?;
        self.follow_redirects()
    }

    /// The lowest offset the masters have acknowledged, held before redirected commands not
    /// yet applied elsewhere.
    pub fn acknowledged(&self) -> u64 {
        let lowest = self.nodes.iter().map(RedisSink::acknowledged).min().unwrap_or(0);
        self.hold.map_or(lowest, |held| held.min(lowest))
    }

    /// Waits until every master has answered everything written to it.
    pub(super) fn wait_all(&mut self) -> Result<(), Error> {
        self.nodes.iter_mut().try_for_each(|n| n.wait_delivered().map(drop))
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
            b"SELECT" => {
                self.db = args.get(1).and_then(|db| std::str::from_utf8(db).ok()?.parse().ok()).unwrap_or(self.db);
                for node in &mut self.nodes {
                    node.send_commands(&command)?;
                }
            }
            b"FLUSHALL" | b"FLUSHDB" | b"SWAPDB" | b"FUNCTION" | b"SCRIPT" => {
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
        match self.config.on_error {
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

command_sink!(RedisClusterSink);

/// A master's connection, with the cluster's credentials, TLS and window.
pub(super) fn connect_node(config: &RedisConfig, node: &NodeAddr, start: u64) -> Result<RedisSink, Error> {
    let mut at = config.clone();
    at.target.address = Address::Tcp { host: node.host.clone(), port: node.port };
    RedisSink::connect_node(at, start)
}
