//! The cluster routing module against real clusters: its slots are the server's
//! `CLUSTER KEYSLOT`, its slot map sends every key to a node that accepts it, its redirect
//! parser reads the server's own `-MOVED`, and it refuses exactly the commands the cluster
//! refuses with `-CROSSSLOT`.

use bytes::Bytes;
use resp::Frame;
use sink::redis_cluster::{command_slot, key_slot, parse_redirect, Redirect, SlotMap};
use testkit::{Cluster, Reply};

/// A spread of keys: hash tags (valid, empty, nested), binary, empty, long.
fn keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = (0..300).map(|i| format!("key:{i}").into_bytes()).collect();
    for k in [
        "{user1000}.following",
        "{user1000}.followers",
        "foo{}{bar}",
        "foo{{bar}}zap",
        "foo{bar}{zap}",
        "{",
        "}{",
        "{}",
        "",
        "a{b",
    ] {
        keys.push(k.as_bytes().to_vec());
    }
    keys.push(vec![0xFF, 0x00, b'{', 0x80, b'}']);
    keys.push(vec![b'x'; 5000]);
    keys
}

fn to_frame(reply: &Reply) -> Frame {
    match reply {
        Reply::Status(s) => Frame::Simple(Bytes::copy_from_slice(s.as_bytes())),
        Reply::Error(s) => Frame::Error(Bytes::copy_from_slice(s.as_bytes())),
        Reply::Int(i) => Frame::Integer(*i),
        Reply::Bulk(b) => Frame::Bulk(Bytes::copy_from_slice(b)),
        Reply::Array(items) => Frame::Array(items.iter().map(to_frame).collect()),
        Reply::Nil => Frame::Null,
    }
}

fn routes_like_the_server(name: &str) {
    let cluster = Cluster::start(name, 3);
    let first = &cluster.nodes()[0];
    for key in keys() {
        let server_slot = first.cmd(&[b"CLUSTER", b"KEYSLOT", &key]).as_int().expect("CLUSTER KEYSLOT");
        assert_eq!(key_slot(&key) as i64, server_slot, "{name}: slot of {:?}", String::from_utf8_lossy(&key));
    }

    let map = SlotMap::from_cluster_slots(&to_frame(&first.cmd_str(&["CLUSTER", "SLOTS"])), "127.0.0.1").unwrap();
    assert_eq!(map.unassigned(), 0);
    assert_eq!(map.masters().count(), 3);
    for key in keys() {
        let owner = map.owner(key_slot(&key)).unwrap();
        let node = cluster.nodes().iter().find(|n| n.port() == owner.port).expect("owner is a node");
        assert_eq!(node.cmd(&[b"SET", &key, b"v"]), Reply::Status("OK".into()), "{name}: the owner takes the key");
        // Any other node redirects, to the same owner.
        let other = cluster.nodes().iter().find(|n| n.port() != owner.port).unwrap();
        let Reply::Error(e) = other.cmd(&[b"GET", &key]) else { panic!("{name}: no redirect from a non-owner") };
        let redirect = parse_redirect(e.as_bytes()).unwrap();
        assert_eq!(redirect, Some(Redirect::Moved { slot: key_slot(&key), node: owner.clone() }), "{name}: {e}");
    }

    // Multi-key commands: refused by the cluster exactly when command_slot refuses them.
    let commands: [&[&str]; 5] = [
        &["MSET", "{t}a", "1", "{t}b", "2"],
        &["MSET", "a", "1", "b", "2"],
        &["DEL", "{user1000}.following", "{user1000}.followers"],
        &["RENAME", "key:1", "key:2"],
        &["SUNIONSTORE", "{s}dest", "{s}a", "{s}b"],
    ];
    for args in commands {
        let routed = command_slot(args);
        let target = match &routed {
            Ok(Some(slot)) => map.owner(*slot).unwrap().port,
            _ => first.port(),
        };
        let node = cluster.nodes().iter().find(|n| n.port() == target).unwrap();
        let reply = node.cmd_str(args);
        let crossslot = matches!(&reply, Reply::Error(e) if e.starts_with("CROSSSLOT"));
        assert_eq!(routed.is_err(), crossslot, "{name}: {args:?} answered {reply:?}, routing said {routed:?}");
        if let Err(e) = routed {
            assert!(e.to_string().contains(args[0]), "the error names the command: {e}");
        } else {
            assert!(!reply.is_error(), "{name}: {args:?} answered {reply:?}");
        }
    }
}

#[test]
fn routes_like_redis_7_0() {
    routes_like_the_server("redis-7.0");
}

#[test]
fn routes_like_valkey_9_1() {
    routes_like_the_server("valkey-9.1");
}
