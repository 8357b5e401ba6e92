//! Which master serves each slot, from a `CLUSTER SLOTS` reply (Redis 3.0+, Valkey; deprecated
//! in favour of `CLUSTER SHARDS` in 7.0 but still answered by every version).

use std::fmt;

use resp::Frame;

use crate::redis_cluster::slot::SLOT_COUNT;
use crate::Error;

/// A node's client address, as the cluster announces it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeAddr {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Marks a slot no master serves (a cluster that is not `cluster_state:ok`).
const UNASSIGNED: u16 = u16::MAX;

/// The owner of every slot: an index per slot into a small list of masters, so a lookup is
/// one array read and the map is 32 KB whatever the cluster's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotMap {
    owners: Vec<u16>,
    masters: Vec<NodeAddr>,
}

impl SlotMap {
    /// Builds the map from a `CLUSTER SLOTS` reply: `[start, end, [host, port, id, ...],
    /// replicas...]` per range. Only the master (the first node of a range) is kept. An empty
    /// or missing host means the node that was asked, `asked_host`.
    pub fn from_cluster_slots(reply: &Frame, asked_host: &str) -> Result<SlotMap, Error> {
        let bad = |reason: String| Error::ClusterReply { reply: "CLUSTER SLOTS".into(), reason };
        let Frame::Array(ranges) = reply else {
            return Err(bad(format!("expected an array, got {}", describe(reply))));
        };
        let mut map = SlotMap { owners: vec![UNASSIGNED; SLOT_COUNT as usize], masters: Vec::new() };
        for (i, range) in ranges.iter().enumerate() {
            let Frame::Array(parts) = range else { return Err(bad(format!("range {i} is not an array"))) };
            let slot = |j: usize| match parts.get(j) {
                Some(Frame::Integer(n)) if (0..SLOT_COUNT as i64).contains(n) => Ok(*n as u16),
                other => Err(bad(format!("range {i}: slot {j} is {}", other.map_or("missing", describe)))),
            };
            let (start, end) = (slot(0)?, slot(1)?);
            if start > end {
                return Err(bad(format!("range {i}: start {start} after end {end}")));
            }
            let node = match parts.get(2) {
                Some(Frame::Array(node)) => node_addr(node, asked_host).map_err(|r| bad(format!("range {i}: {r}")))?,
                _ => return Err(bad(format!("range {i} has no master node"))),
            };
            let index = map.index_of(node);
            map.owners[start as usize..=end as usize].fill(index);
        }
        Ok(map)
    }

    /// The master serving `slot`, or `None` if no node does.
    pub fn owner(&self, slot: u16) -> Option<&NodeAddr> {
        let index = *self.owners.get(slot as usize)?;
        self.masters.get(index as usize)
    }

    /// Records what a `-MOVED` said, so later commands for the slot go straight there.
    pub fn set_owner(&mut self, slot: u16, node: NodeAddr) {
        if (slot as usize) < self.owners.len() {
            let index = self.index_of(node);
            self.owners[slot as usize] = index;
        }
    }

    /// Every master that serves at least one slot, in first-seen order (no duplicates).
    pub fn masters(&self) -> impl Iterator<Item = &NodeAddr> {
        self.masters.iter().enumerate().filter(|(i, _)| self.owners.contains(&(*i as u16))).map(|(_, n)| n)
    }

    /// How many slots no master serves.
    pub fn unassigned(&self) -> usize {
        self.owners.iter().filter(|&&o| o == UNASSIGNED).count()
    }

    fn index_of(&mut self, node: NodeAddr) -> u16 {
        match self.masters.iter().position(|n| *n == node) {
            Some(i) => i as u16,
            None => {
                self.masters.push(node);
                (self.masters.len() - 1) as u16
            }
        }
    }
}

fn node_addr(node: &[Frame], asked_host: &str) -> Result<NodeAddr, String> {
    let host = match node.first() {
        Some(Frame::Bulk(h)) if !h.is_empty() && &h[..] != b"?" => {
            String::from_utf8(h.to_vec()).map_err(|_| "the host is not UTF-8".to_string())?
        }
        Some(Frame::Bulk(_)) | Some(Frame::Null) => asked_host.to_string(),
        other => return Err(format!("the host is {}", other.map_or("missing", describe))),
    };
    let port = match node.get(1) {
        Some(Frame::Integer(p)) => u16::try_from(*p).map_err(|_| format!("bad port {p}"))?,
        other => return Err(format!("the port is {}", other.map_or("missing", describe))),
    };
    Ok(NodeAddr { host, port })
}

fn describe(frame: &Frame) -> &'static str {
    match frame {
        Frame::Array(_) => "an array",
        Frame::Integer(_) => "an integer",
        Frame::Bulk(_) | Frame::Simple(_) | Frame::Verbatim { .. } => "a string",
        Frame::Error(_) | Frame::BulkError(_) => "an error",
        Frame::Null => "null",
        _ => "an unexpected RESP3 type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn range(start: i64, end: i64, host: &str, port: i64) -> Frame {
        Frame::Array(vec![
            Frame::Integer(start),
            Frame::Integer(end),
            Frame::Array(vec![
                Frame::Bulk(Bytes::copy_from_slice(host.as_bytes())),
                Frame::Integer(port),
                Frame::Bulk(Bytes::from_static(b"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")),
            ]),
            // A replica, which routing ignores.
            Frame::Array(vec![Frame::Bulk(Bytes::from_static(b"10.0.0.9")), Frame::Integer(9999)]),
        ])
    }

    #[test]
    fn maps_each_slot_to_its_master() {
        let reply = Frame::Array(vec![
            range(0, 5460, "127.0.0.1", 7000),
            range(5461, 10922, "", 7001),
            range(10923, 16383, "127.0.0.1", 7002),
        ]);
        let map = SlotMap::from_cluster_slots(&reply, "10.1.1.1").unwrap();
        let at = |s| map.owner(s).map(|n| n.to_string());
        assert_eq!(at(0).as_deref(), Some("127.0.0.1:7000"));
        assert_eq!(at(5460).as_deref(), Some("127.0.0.1:7000"));
        assert_eq!(at(5461).as_deref(), Some("10.1.1.1:7001"), "an empty host is the node asked");
        assert_eq!(at(16383).as_deref(), Some("127.0.0.1:7002"));
        assert_eq!(map.masters().count(), 3);
        assert_eq!(map.unassigned(), 0);
    }

    #[test]
    fn moved_updates_one_slot() {
        let reply = Frame::Array(vec![range(0, 16383, "h", 1)]);
        let mut map = SlotMap::from_cluster_slots(&reply, "h").unwrap();
        map.set_owner(42, NodeAddr { host: "h".into(), port: 2 });
        assert_eq!(map.owner(42).unwrap().port, 2);
        assert_eq!(map.owner(41).unwrap().port, 1);
        assert_eq!(map.masters().count(), 2);
    }

    #[test]
    fn unassigned_slots_have_no_owner() {
        let map = SlotMap::from_cluster_slots(&Frame::Array(vec![range(0, 99, "h", 1)]), "h").unwrap();
        assert!(map.owner(100).is_none());
        assert_eq!(map.unassigned(), 16384 - 100);
    }

    #[test]
    fn malformed_replies_are_errors() {
        let bad = [
            Frame::Error(Bytes::from_static(b"ERR This instance has cluster support disabled")),
            Frame::Array(vec![Frame::Integer(1)]),
            Frame::Array(vec![range(0, 16384, "h", 1)]),
            Frame::Array(vec![range(10, 5, "h", 1)]),
            Frame::Array(vec![range(0, 5, "h", 70000)]),
            Frame::Array(vec![Frame::Array(vec![Frame::Integer(0), Frame::Integer(1)])]),
        ];
        for reply in bad {
            let err = SlotMap::from_cluster_slots(&reply, "h").unwrap_err().to_string();
            assert!(err.contains("CLUSTER SLOTS"), "{err}");
        }
    }
}
