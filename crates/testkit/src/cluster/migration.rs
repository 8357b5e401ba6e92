//! Moving a slot between masters of a running [`Cluster`], in the steps `redis-cli --cluster
//! reshard` takes, one at a time so a test can write between them: `SETSLOT IMPORTING` on the
//! new owner and `MIGRATING` on the old (from then on the old owner answers `-ASK` for keys it
//! no longer holds), `MIGRATE` of the keys in batches, then `SETSLOT NODE` everywhere (from
//! then on the old owner answers `-MOVED`).

use crate::{Cluster, Reply, Server};

/// How long one `MIGRATE` may take before the server gives up on it, in milliseconds.
const MIGRATE_TIMEOUT_MS: &str = "10000";

impl Cluster {
    /// The master that serves `slot` now (the slots start evenly split, in node order).
    #[track_caller]
    pub fn owner_of(&self, slot: u16) -> usize {
        let Reply::Array(ranges) = self.nodes[0].cmd_str(&["CLUSTER", "SLOTS"]) else { panic!("CLUSTER SLOTS") };
        for range in ranges {
            let Reply::Array(parts) = range else { continue };
            let (Some(start), Some(end)) = (parts[0].as_int(), parts[1].as_int()) else { continue };
            if (start..=end).contains(&i64::from(slot)) {
                let Reply::Array(node) = &parts[2] else { panic!("CLUSTER SLOTS: no master in {parts:?}") };
                let port = node[1].as_int().expect("a port");
                return self.nodes.iter().position(|n| i64::from(n.port()) == port).expect("a node of this cluster");
            }
        }
        panic!("slot {slot} has no owner")
    }

    /// Marks `slot` as moving from master `from` to master `to`.
    #[track_caller]
    pub fn begin_migration(&self, slot: u16, from: usize, to: usize) {
        let slot = slot.to_string();
        let (from, to) = (&self.nodes[from], &self.nodes[to]);
        to.cmd_str(&["CLUSTER", "SETSLOT", &slot, "IMPORTING", &node_id(from)]).expect_ok();
        from.cmd_str(&["CLUSTER", "SETSLOT", &slot, "MIGRATING", &node_id(to)]).expect_ok();
    }

    /// Moves up to `count` of the keys `from` still holds in `slot` to `to`; returns how many
    /// it moved (0: none left).
    #[track_caller]
    pub fn migrate_keys(&self, slot: u16, from: usize, to: usize, count: usize) -> usize {
        let (from, to) = (&self.nodes[from], &self.nodes[to]);
        let Reply::Array(keys) = from.cmd_str(&["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), &count.to_string()])
        else {
            panic!("CLUSTER GETKEYSINSLOT")
        };
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes().expect("a key")).collect();
        if !keys.is_empty() {
            migrate(from, to, &keys);
        }
        keys.len()
    }

    /// Moves these keys (of a slot being migrated) from master `from` to master `to`.
    #[track_caller]
    pub fn migrate(&self, from: usize, to: usize, keys: &[&[u8]]) {
        migrate(&self.nodes[from], &self.nodes[to], keys);
    }

    /// Moves every key left, then gives `slot` to master `to` on every node.
    #[track_caller]
    pub fn finish_migration(&self, slot: u16, from: usize, to: usize) {
        while self.migrate_keys(slot, from, to, 100) > 0 {}
        let id = node_id(&self.nodes[to]);
        // The new owner first, then the old one, then the rest (as redis-cli does).
        let mut order = vec![to, from];
        order.extend((0..self.nodes.len()).filter(|i| *i != to && *i != from));
        for i in order {
            self.nodes[i].cmd_str(&["CLUSTER", "SETSLOT", &slot.to_string(), "NODE", &id]).expect_ok();
        }
    }
}

#[track_caller]
fn migrate(from: &Server, to: &Server, keys: &[&[u8]]) {
    let port = to.port().to_string();
    let mut args: Vec<&[u8]> =
        vec![b"MIGRATE", b"127.0.0.1", port.as_bytes(), b"", b"0", MIGRATE_TIMEOUT_MS.as_bytes()];
    args.push(b"KEYS");
    args.extend(keys);
    from.cmd(&args).expect_ok();
}

fn node_id(node: &Server) -> String {
    let reply = node.cmd_str(&["CLUSTER", "MYID"]);
    reply.as_str().unwrap_or_else(|| panic!("CLUSTER MYID: {reply:?}")).into_owned()
}
