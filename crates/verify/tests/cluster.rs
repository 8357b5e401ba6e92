//! `verify` with a cluster on one side: keys are found on every master and each is read from
//! the node that serves it, so a standalone server and a cluster with the same data compare
//! equal, in both directions, and a change on any node is found.

mod support;

use support::{keyed, verify_urls};
use testkit::dataset::write_dataset;
use testkit::{Cluster, Reply, Server};
use verify::Options;

fn keys(server: &Server) -> Vec<Vec<u8>> {
    match server.cmd_str(&["KEYS", "*"]) {
        Reply::Array(keys) => keys.into_iter().map(|k| k.as_bytes().unwrap().to_vec()).collect(),
        other => panic!("KEYS answered {other:?}"),
    }
}

/// The data set in db 0 of a standalone server (a cluster has only db 0), and the same keys
/// restored into the cluster by the servers' own DUMP and RESTORE.
fn standalone_and_cluster(name: &str) -> (Server, Cluster, usize) {
    let standalone = Server::start(name);
    write_dataset(&standalone);
    for db in 1..16 {
        standalone.cmd_str(&["SELECT", &db.to_string()]).expect_ok();
        for key in keys(&standalone) {
            assert_eq!(standalone.cmd(&[b"MOVE", &key, b"0"]), Reply::Int(1));
        }
    }
    standalone.cmd_str(&["SELECT", "0"]).expect_ok();
    let cluster = Cluster::start(name, 3);
    let all = keys(&standalone);
    for key in &all {
        let payload = standalone.cmd(&[b"DUMP", key]);
        let expire_at = standalone.cmd(&[b"PEXPIRETIME", key]).as_int().unwrap();
        let mut restore: Vec<&[u8]> = vec![b"RESTORE", key];
        let at = expire_at.max(0).to_string();
        restore.extend([at.as_bytes(), payload.as_bytes().unwrap(), b"ABSTTL"]);
        cluster.cmd(&restore).expect_ok();
    }
    (standalone, cluster, all.len())
}

#[test]
fn standalone_and_cluster_with_the_same_data_redis_7_0() {
    let (standalone, cluster, n) = standalone_and_cluster("redis-7.0");
    let sizes: Vec<i64> = cluster.nodes().iter().map(|node| node.cmd_str(&["DBSIZE"]).as_int().unwrap()).collect();
    assert!(sizes.iter().all(|&s| s > 0), "the keys are spread over the masters: {sizes:?}");

    let (found, summary) = verify_urls(&standalone.url(), &cluster.url(), &Options::default());
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!((summary.keys_compared, summary.target_keys_checked), (n as u64, n as u64));
    // Any node of the cluster stands for all of it.
    let (found, summary) = verify_urls(&cluster.nodes()[2].url(), &standalone.url(), &Options::default());
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(summary.keys_compared, n as u64);

    // Changes on different nodes are all found (one key fewer and one more: same count).
    cluster.cmd_str(&["SET", "s:hello", "changed"]).expect_ok();
    assert_eq!(cluster.cmd_str(&["DEL", "z:big"]), Reply::Int(1));
    cluster.cmd_str(&["SET", "only-in-cluster", "1"]).expect_ok();
    let (found, _) = verify_urls(&standalone.url(), &cluster.url(), &Options::default());
    assert_eq!(
        keyed(&found),
        [(0, "only-in-cluster".into(), "extra"), (0, "s:hello".into(), "value"), (0, "z:big".into(), "missing"),],
        "{found:#?}"
    );
}
