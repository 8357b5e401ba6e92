//! `testkit::Cluster`: three masters that share the slots and answer for them.

use testkit::{Cluster, Reply};

fn forms_and_serves(name: &str) {
    let cluster = Cluster::start(name, 3);
    assert_eq!(cluster.nodes().len(), 3);
    for i in 0..300 {
        let key = format!("k{i}");
        assert_eq!(cluster.cmd_str(&["SET", &key, &i.to_string()]), Reply::Status("OK".into()));
    }
    for i in 0..300 {
        assert_eq!(cluster.cmd_str(&["GET", &format!("k{i}")]), Reply::Bulk(i.to_string().into_bytes()));
    }
    // Each node holds its own share: every node has some keys, and together all of them.
    let sizes: Vec<i64> = cluster.nodes().iter().map(|n| n.cmd_str(&["DBSIZE"]).as_int().unwrap()).collect();
    assert!(sizes.iter().all(|&n| n > 50), "{name}: keys per node {sizes:?}");
    assert_eq!(sizes.iter().sum::<i64>(), 300);
    for node in cluster.nodes() {
        let info = node.cmd_str(&["CLUSTER", "INFO"]);
        let text = info.as_str().unwrap();
        assert!(text.contains("cluster_size:3"), "{name}: {text}");
    }
}

#[test]
fn redis_7_0_cluster() {
    forms_and_serves("redis-7.0");
}

#[test]
fn valkey_9_1_cluster() {
    forms_and_serves("valkey-9.1");
}
