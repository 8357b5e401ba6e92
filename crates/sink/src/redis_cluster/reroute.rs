//! Following cluster redirections, so that a resharding while redtail writes loses nothing and
//! keeps each key's order.
//!
//! A master answers `-MOVED` (the slot lives elsewhere now), `-ASK` (the slot is migrating and
//! this key has left already) or `-TRYAGAIN` (a multi-key command whose keys are half migrated)
//! instead of running a command, and its connection hands the command back. Once any master
//! has, the sink takes no new command until:
//!
//! 1. every master has answered everything written to it, so every redirection is known;
//! 2. each redirected command is written again, in reply order, where its reply says: to the
//!    new owner after `MOVED` (which the slot map learns), after `ASKING` to the importing node
//!    after `ASK`, to the same node after `TRYAGAIN` (following a short pause);
//! 3. and this repeats until a round comes back with no redirection.
//!
//! The commands of one slot were all on one master, in order, and come back in that order, and
//! nothing newer is written before they are applied: each key keeps its order. Until then the
//! delivered offset stays at what was delivered before the first of them. Redirections come
//! only with a resharding, so stopping to drain costs little and keeps the usual path a plain
//! pipeline per master.

use std::time::Duration;

use replica::Backoff;

use crate::redis::{describe, Redirected, RedisSink};
use crate::redis_cluster::sink::{connect_node, RedisClusterSink};
use crate::redis_cluster::{parse_redirect, NodeAddr, Redirect};
use crate::Error;

/// Rounds in a row before giving up: a slot moving in a loop, or a migration left half done.
const MAX_ROUNDS: u32 = 100;
/// The pause before a round that retries a `TRYAGAIN`: the migration moves the keys meanwhile.
const TRY_AGAIN: Backoff = Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(500) };

impl RedisClusterSink {
    /// Applies every command the masters redirected (see the module documentation); returns
    /// at once when there is none.
    pub(super) fn follow_redirects(&mut self) -> Result<(), Error> {
        if !self.nodes.iter().any(RedisSink::has_redirects) {
            return Ok(());
        }
        let mut last = None;
        for round in 1..=MAX_ROUNDS {
            self.wait_all()?;
            let mut redirected = Vec::new();
            for (from, node) in self.nodes.iter().enumerate() {
                let (taken, held) = node.take_redirects();
                self.hold = match (self.hold, held) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                redirected.extend(taken.into_iter().map(|r| (from, r)));
            }
            if redirected.is_empty() {
                self.hold = None;
                return Ok(());
            }
            if redirected.iter().any(|(_, r)| r.reply.starts_with("TRYAGAIN")) {
                std::thread::sleep(TRY_AGAIN.delay(round));
            }
            for (from, r) in redirected {
                self.resend(from, &r)?;
                last = Some(r);
            }
        }
        let last = last.expect("at least one round had redirections");
        Err(Error::ClusterRedirects {
            command: describe(&last.command).0,
            reply: last.reply,
            rounds: MAX_ROUNDS,
            delivered: self.acknowledged(),
        })
    }

    /// Writes `r`, which master `from` redirected, where its reply says.
    fn resend(&mut self, from: usize, r: &Redirected) -> Result<(), Error> {
        let redirect = parse_redirect(r.reply.as_bytes())?
            .ok_or_else(|| Error::ClusterReply { reply: r.reply.clone(), reason: "not a redirection".into() })?;
        // Since Redis 7 an empty host means the node that answered.
        let known = |node: NodeAddr, addrs: &[NodeAddr]| match node.host.is_empty() {
            true => NodeAddr { host: addrs[from].host.clone(), port: node.port },
            false => node,
        };
        let (to, asking) = match redirect {
            Redirect::Moved { slot, node } => {
                let node = known(node, &self.addrs);
                self.map.set_owner(slot, node.clone());
                (self.master(node)?, false)
            }
            Redirect::Ask { node, .. } => (self.master(known(node, &self.addrs))?, true),
            Redirect::TryAgain => (from, false),
        };
        let select = |db: u64| resp::encode_command(&["SELECT", &db.to_string()]);
        let mut commands = Vec::with_capacity(r.command.len() + 64);
        if r.db != self.db {
            commands.extend_from_slice(&select(r.db));
        }
        if asking {
            commands.extend_from_slice(&resp::encode_command(&["ASKING"]));
        }
        commands.extend_from_slice(&r.command);
        if r.db != self.db {
            commands.extend_from_slice(&select(self.db));
        }
        self.nodes[to].send_commands(&commands)
    }

    /// The index of the master at `node`, connected now if it is new to the sink.
    fn master(&mut self, node: NodeAddr) -> Result<usize, Error> {
        if let Some(i) = self.addrs.iter().position(|a| *a == node) {
            return Ok(i);
        }
        tracing::info!(master = %node, "a master new to redtail serves a slot now; connecting");
        self.nodes.push(connect_node(&self.config, &node, self.marked)?);
        self.addrs.push(node);
        Ok(self.nodes.len() - 1)
    }
}
