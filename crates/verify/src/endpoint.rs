//! One side of the comparison: a standalone server, or a cluster seen through one connection
//! per master. Callers address keys; the endpoint sends each to the node that serves it.

use std::collections::BTreeMap;

use replica::{Address, Source};
use resp::Frame;
use sink::redis_cluster::{key_slot, NodeAddr, SlotMap};

use crate::conn::{describe, Conn, Tls};
use crate::error::{Error, Side};

/// What the server can answer, from `INFO server`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `HPEXPIRETIME`: hash field TTLs (Redis 7.4+, Valkey 9.0+).
    pub field_ttls: bool,
}

pub struct Endpoint {
    side: Side,
    nodes: Vec<Conn>,
    /// `None` for a standalone server; for a cluster, the owner of every slot.
    slots: Option<SlotMap>,
    /// For each master in `slots` order of `nodes`: its address, to find a slot's connection.
    addrs: Vec<NodeAddr>,
    pub capabilities: Capabilities,
    /// Printable name of the side's server, for messages.
    pub name: String,
}

impl Endpoint {
    /// Connects to the server; if it is a cluster node (`cluster_enabled:1`), reads the slot
    /// map and connects to every master with the same credentials and TLS settings.
    pub async fn connect(side: Side, source: &Source, tls: Option<&Tls>) -> Result<Endpoint, Error> {
        let mut first = Conn::open(side, source, tls).await?;
        let server = info(&mut first, "server").await?;
        let capabilities = capabilities(&server);
        let cluster = info(&mut first, "cluster").await?;
        let name = source.to_string();
        if !cluster.lines().any(|l| l.trim() == "cluster_enabled:1") {
            return Ok(Endpoint { side, nodes: vec![first], slots: None, addrs: Vec::new(), capabilities, name });
        }
        let reply = first.call(&["CLUSTER", "SLOTS"]).await?;
        let asked = source.host().unwrap_or("127.0.0.1");
        let map = SlotMap::from_cluster_slots(&reply, asked).map_err(|e| Error::Cluster {
            side,
            address: first.address().to_string(),
            reason: e.to_string(),
        })?;
        if map.unassigned() > 0 {
            return Err(Error::Cluster {
                side,
                address: first.address().to_string(),
                reason: format!("{} slots have no master; the cluster is not complete", map.unassigned()),
            });
        }
        let mut nodes = Vec::new();
        let mut addrs = Vec::new();
        for node in map.masters() {
            let mut at = source.clone();
            at.address = Address::Tcp { host: node.host.clone(), port: node.port };
            nodes.push(Conn::open(side, &at, tls).await?);
            addrs.push(node.clone());
        }
        Ok(Endpoint { side, nodes, slots: Some(map), addrs, capabilities, name })
    }

    /// How many nodes hold keys (1, or the cluster's masters).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The index of the node that serves `key`.
    pub fn node_of(&self, key: &[u8]) -> usize {
        let Some(map) = &self.slots else { return 0 };
        let owner = map.owner(key_slot(key));
        owner.and_then(|o| self.addrs.iter().position(|a| a == o)).unwrap_or(0)
    }

    /// The connection that serves `key`.
    pub fn conn_for(&mut self, key: &[u8]) -> &mut Conn {
        let i = self.node_of(key);
        &mut self.nodes[i]
    }

    /// Runs one command about `key` on the node that serves it.
    pub async fn call_key<A: AsRef<[u8]>>(&mut self, key: &[u8], args: &[A]) -> Result<Frame, Error> {
        self.conn_for(key).call(args).await
    }

    /// Runs one command per key, pipelined per node; replies in the order of `commands`.
    pub async fn pipeline_keys(&mut self, commands: &[(&[u8], Vec<Vec<u8>>)]) -> Result<Vec<Frame>, Error> {
        if self.nodes.len() == 1 {
            let cmds: Vec<&Vec<Vec<u8>>> = commands.iter().map(|(_, c)| c).collect();
            let cmds: Vec<Vec<&[u8]>> = cmds.iter().map(|c| c.iter().map(|a| a.as_slice()).collect()).collect();
            return self.nodes[0].pipeline(&cmds).await;
        }
        let mut per_node: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, (key, _)) in commands.iter().enumerate() {
            per_node.entry(self.node_of(key)).or_default().push(i);
        }
        let mut replies = vec![Frame::Null; commands.len()];
        for (node, indices) in per_node {
            let cmds: Vec<Vec<&[u8]>> =
                indices.iter().map(|&i| commands[i].1.iter().map(|a| a.as_slice()).collect()).collect();
            for (i, reply) in indices.iter().zip(self.nodes[node].pipeline(&cmds).await?) {
                replies[*i] = reply;
            }
        }
        Ok(replies)
    }

    /// The error for a refused command, or a reply of the wrong shape, on this side.
    pub fn refused(&self, command: &str, reply: &Frame) -> Error {
        Error::from_reply(self.side, &self.name, command, reply)
    }

    /// The error for a reply of the wrong shape on this side.
    pub fn unexpected(&self, command: &str, reply: &Frame) -> Error {
        Error::Unexpected {
            side: self.side,
            address: self.name.clone(),
            command: command.to_string(),
            got: describe(reply),
        }
    }

    /// Selects `db` on every node.
    pub async fn select(&mut self, db: u64) -> Result<(), Error> {
        for node in &mut self.nodes {
            node.select(db).await?;
        }
        Ok(())
    }

    /// Keys per db, summed over the nodes, from `INFO keyspace`.
    pub async fn keyspace(&mut self) -> Result<BTreeMap<u64, u64>, Error> {
        let mut counts = BTreeMap::new();
        for node in &mut self.nodes {
            for (db, keys) in parse_keyspace(&info(node, "keyspace").await?) {
                *counts.entry(db).or_insert(0) += keys;
            }
        }
        Ok(counts)
    }

    /// One `SCAN` step on node `i`: the next cursor and the keys.
    pub async fn scan(
        &mut self,
        i: usize,
        cursor: &[u8],
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
        let count = count.to_string();
        let mut args: Vec<&[u8]> = vec![b"SCAN", cursor];
        if let Some(p) = pattern {
            args.extend([&b"MATCH"[..], p]);
        }
        args.extend([&b"COUNT"[..], count.as_bytes()]);
        let conn = &mut self.nodes[i];
        let reply = conn.call(&args).await?;
        scan_reply(&reply).ok_or_else(|| conn.refused("SCAN", &reply))
    }
}

/// `[cursor, [item...]]`, the reply of every *SCAN command.
pub fn scan_reply(reply: &Frame) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let Frame::Array(parts) = reply else { return None };
    let [Frame::Bulk(cursor), Frame::Array(items)] = &parts[..] else { return None };
    let items = items
        .iter()
        .map(|f| match f {
            Frame::Bulk(b) => Some(b.to_vec()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((cursor.to_vec(), items))
}

async fn info(conn: &mut Conn, section: &str) -> Result<String, Error> {
    match conn.call(&["INFO", section]).await? {
        Frame::Bulk(text) | Frame::Verbatim { text, .. } => Ok(String::from_utf8_lossy(&text).into_owned()),
        other => Err(conn.refused(&format!("INFO {section}"), &other)),
    }
}

/// `db0:keys=3,expires=0,avg_ttl=0` lines → (db, keys).
fn parse_keyspace(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|line| {
            let (db, rest) = line.trim().strip_prefix("db")?.split_once(':')?;
            let keys = rest.split(',').find_map(|f| f.strip_prefix("keys="))?;
            Some((db.parse().ok()?, keys.parse().ok()?))
        })
        .collect()
}

fn capabilities(server_info: &str) -> Capabilities {
    let field = |name: &str| server_info.lines().find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(':'));
    let version = |text: &str| -> (u32, u32) {
        let mut parts = text.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    };
    let field_ttls = match field("valkey_version") {
        Some(v) => version(v) >= (9, 0),
        None => field("redis_version").is_some_and(|v| version(v) >= (7, 4)),
    };
    Capabilities { field_ttls }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyspace_lines() {
        let text = "# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb12:keys=70,expires=0,avg_ttl=0,subexpiry=0\r\n";
        assert_eq!(parse_keyspace(text), [(0, 3), (12, 70)]);
        assert_eq!(parse_keyspace("# Keyspace\r\n"), []);
    }

    #[test]
    fn field_ttls_by_version() {
        let caps = |text: &str| capabilities(text).field_ttls;
        assert!(caps("redis_version:7.4.1\r\n"));
        assert!(caps("redis_version:8.2.3\r\n"));
        assert!(!caps("redis_version:7.2.4\r\n"));
        assert!(!caps("redis_version:7.2.4\r\nvalkey_version:8.1.1\r\n"), "Valkey reports redis_version 7.2.4");
        assert!(caps("redis_version:7.2.4\r\nvalkey_version:9.0.0\r\n"));
    }
}
