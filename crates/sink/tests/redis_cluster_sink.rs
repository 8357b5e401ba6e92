//! The cluster target: the same commands sent to a standalone server directly and to a
//! 3-master cluster through `RedisClusterSink` leave the same data (checked with `verify`),
//! the delivered offset is the last one marked, and commands whose keys span slots are an
//! error naming them, or skipped and counted, never sent half or silently dropped. A slot
//! migrating under the writes (`-ASK`, then `-MOVED`) loses nothing and reorders nothing.

use replica::Source;
use sink::redis_cluster::{discover, key_slot, RedisClusterSink};
use sink::{Batch, ErrorPolicy, RedisConfig, Sink};
use testkit::{Cluster, Reply, Server};

const T2100_MS: i64 = 4_102_444_800_000;

/// A workload over many slots: every core type, TTLs, hash-tagged multi-key commands, and
/// single-slot transactions.
fn workload() -> Vec<Vec<String>> {
    let mut commands = vec![vec!["SELECT".to_string(), "0".to_string()]];
    let mut add = |args: &[&str]| commands.push(args.iter().map(|a| a.to_string()).collect());
    for i in 0..400 {
        let (n, s) = (i.to_string(), format!("{}", i % 13));
        add(&["SET", &format!("k{i}"), &format!("v{i}")]);
        add(&["RPUSH", &format!("list{}", i % 10), &n]);
        add(&["HSET", &format!("h{}", i % 7), &format!("f{i}"), &n]);
        add(&["ZADD", &format!("z{}", i % 5), &format!("{i}.5"), &format!("m{i}")]);
        add(&["SADD", &format!("s{}", i % 3), &format!("m{i}")]);
        add(&["XADD", &format!("st{}", i % 4), &format!("{}-0", i + 1), "f", &s]);
        if i % 50 == 0 {
            add(&["PEXPIREAT", &format!("k{i}"), &(T2100_MS + i).to_string()]);
            add(&["MSET", &format!("{{t{i}}}a"), "1", &format!("{{t{i}}}b"), "2"]);
            add(&["MULTI"]);
            add(&["INCR", &format!("{{user{i}}}:visits")]);
            add(&["SET", &format!("{{user{i}}}:name"), "x"]);
            add(&["EXEC"]);
            add(&["DEL", &format!("k{}", i + 1)]);
        }
    }
    add(&["XGROUP", "CREATE", "st1", "g", "0"]);
    commands
}

fn encode(args: &[String]) -> Vec<u8> {
    resp::encode_command(args).to_vec()
}

fn config(url: &str, on_error: ErrorPolicy) -> RedisConfig {
    let mut config = RedisConfig::from_url(url).unwrap();
    config.on_error = on_error;
    config
}

fn cluster_sink(cluster: &Cluster, on_error: ErrorPolicy) -> RedisClusterSink {
    let config = config(&cluster.url(), on_error);
    let map = discover(&config).unwrap().expect("a cluster node is discovered as a cluster");
    RedisClusterSink::connect(config, map, 0).unwrap()
}

#[test]
fn a_workload_lands_as_on_a_standalone_server() {
    let standalone = Server::start("redis-7.0");
    let cluster = Cluster::start("redis-7.0", 3);
    assert!(discover(&config(&standalone.url(), ErrorPolicy::Fail)).unwrap().is_none());

    let commands = workload();
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let reply = standalone.cmd_str(&args);
        assert!(!reply.is_error(), "{args:?}: {reply:?}");
    }
    let mut sink = cluster_sink(&cluster, ErrorPolicy::Fail);
    assert_eq!(sink.masters().len(), 3);
    // Batches of 50 commands, each ending at a made-up stream offset.
    for (i, chunk) in commands.chunks(50).enumerate() {
        let records = vec![chunk.iter().flat_map(|c| encode(c)).collect::<Vec<u8>>()];
        sink.send(Batch { records, end_offset: 1000 * (i as u64 + 1) }).unwrap();
    }
    let last = 1000 * commands.chunks(50).count() as u64;
    assert_eq!(sink.flush().unwrap(), last);
    assert_eq!(sink.delivered(), last);
    assert_eq!(sink.skipped(), 0);
    let sizes: Vec<i64> = cluster.nodes().iter().map(|n| n.cmd_str(&["DBSIZE"]).as_int().unwrap()).collect();
    assert!(sizes.iter().all(|&n| n > 0), "every master got keys: {sizes:?}");
    assert_same_data(&standalone, &cluster);
}

/// `verify` finds no difference between the standalone server and the cluster.
#[track_caller]
fn assert_same_data(standalone: &Server, cluster: &Cluster) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut differences = Vec::new();
    let (source, target) = (Source::parse(&standalone.url()).unwrap(), Source::parse(&cluster.url()).unwrap());
    let summary = runtime
        .block_on(verify::verify(
            &source,
            &target,
            &verify::TlsBySide::default(),
            &verify::Options::default(),
            &mut |d| differences.push(d),
        ))
        .unwrap();
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(summary.keys_compared, standalone.cmd_str(&["DBSIZE"]).as_int().unwrap() as u64);
}

/// Writes into the slot of `{mig}` (strings, a list, a counter, single-key transactions, an
/// `MSET` of two keys that migrate together) and into other slots; `round` tells the values
/// apart.
fn migrating_slot_writes(round: u32) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut add = |args: &[&str]| commands.push(args.iter().map(|a| a.to_string()).collect());
    for i in 0..40 {
        add(&["SET", &format!("{{mig}}:k{i}"), &format!("v{i}-{round}")]);
        add(&["RPUSH", "{mig}:log", &format!("{round}:{i}")]);
        add(&["SET", &format!("{{mig}}:r{round}:{i}"), "new"]);
        add(&["SET", &format!("other:{round}:{i}"), "x"]);
        if i % 10 == 0 {
            add(&["MULTI"]);
            add(&["INCR", "{mig}:count"]);
            add(&["INCRBY", "{mig}:count", "10"]);
            add(&["EXEC"]);
            add(&["MSET", "{mig}:k0", &format!("m{round}"), "{mig}:k1", &format!("m{round}")]);
        }
    }
    commands
}

/// A slot moves to another master between batches: while it migrates the old owner answers
/// `-ASK` for the keys that have left and the new ones, then `-MOVED` once it has moved. The
/// sink runs with [`ErrorPolicy::Skip`], under which a redirection taken for a refusal would
/// lose the write; the lists and counters (not idempotent) show that nothing is lost, doubled
/// or reordered, against a standalone server given the same commands.
fn a_slot_migrating_under_the_writes_loses_nothing(name: &str) {
    let standalone = Server::start(name);
    let cluster = Cluster::start(name, 3);
    let slot = key_slot(b"mig");
    let from = cluster.owner_of(slot);
    let to = (from + 1) % 3;
    let mut sink = cluster_sink(&cluster, ErrorPolicy::Skip);
    let mut offset = 0;
    let mut write = |sink: &mut RedisClusterSink, round: u32| {
        let commands = migrating_slot_writes(round);
        for args in &commands {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert!(!standalone.cmd_str(&args).is_error(), "{args:?}");
        }
        offset += 1000;
        let records = vec![commands.iter().flat_map(|c| encode(c)).collect::<Vec<u8>>()];
        sink.send(Batch { records, end_offset: offset }).unwrap();
        assert_eq!(sink.flush().unwrap(), offset, "round {round}");
    };
    write(&mut sink, 0);

    cluster.begin_migration(slot, from, to);
    let mut moved: Vec<Vec<u8>> = vec![b"{mig}:log".to_vec(), b"{mig}:count".to_vec()];
    moved.extend((0..20).map(|i| format!("{{mig}}:k{i}").into_bytes()));
    cluster.migrate(from, to, &moved.iter().map(Vec::as_slice).collect::<Vec<_>>());
    write(&mut sink, 1);
    let old_owner = &cluster.nodes()[from];
    assert!(old_owner.error_count("ASK") >= 40, "the old owner answered -ASK");

    cluster.finish_migration(slot, from, to);
    assert_eq!(cluster.owner_of(slot), to);
    write(&mut sink, 2);
    let moved_replies = old_owner.error_count("MOVED");
    assert!(moved_replies > 0, "the old owner answered -MOVED");
    write(&mut sink, 3);
    assert_eq!(old_owner.error_count("MOVED"), moved_replies, "the slot map learned the new owner");

    assert_eq!(sink.skipped(), 0);
    let in_slot = |node: usize| cluster.nodes()[node].cmd_str(&["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]);
    assert_eq!((in_slot(from), in_slot(to).as_int().is_some_and(|n| n > 40)), (Reply::Int(0), true));
    assert_same_data(&standalone, &cluster);
}

#[test]
fn a_slot_migrating_under_the_writes_redis_7_0() {
    a_slot_migrating_under_the_writes_loses_nothing("redis-7.0");
}

#[test]
fn a_slot_migrating_under_the_writes_valkey_9_1() {
    a_slot_migrating_under_the_writes_loses_nothing("valkey-9.1");
}

#[test]
fn commands_across_slots_are_refused_by_name_or_skipped_and_counted() {
    let cluster = Cluster::start("redis-7.0", 3);
    let mset = encode(&["MSET", "a", "1", "b", "2"].map(String::from));
    let mut strict = cluster_sink(&cluster, ErrorPolicy::Fail);
    let err = strict.send_commands(&mset).unwrap_err().to_string();
    assert!(err.contains("MSET") && err.contains("\"a\"") && err.contains("\"b\""), "{err}");
    let transaction: Vec<u8> = [&["MULTI"][..], &["SET", "a", "1"], &["SET", "b", "2"], &["EXEC"]]
        .iter()
        .flat_map(|c| encode(&c.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
        .collect();
    let err = strict.send_commands(&transaction).unwrap_err().to_string();
    assert!(err.contains("transaction") && err.contains("\"a\"") && err.contains("\"b\""), "{err}");

    let mut lenient = cluster_sink(&cluster, ErrorPolicy::Skip);
    lenient.send_commands(&mset).unwrap();
    lenient.send_commands(&transaction).unwrap();
    lenient.send_commands(&encode(&["SET", "c", "3"].map(String::from))).unwrap();
    lenient.mark(7).unwrap();
    assert_eq!(lenient.flush().unwrap(), 7);
    assert_eq!(lenient.skipped(), 2);
    assert_eq!(cluster.cmd_str(&["GET", "c"]), Reply::Bulk(b"3".to_vec()));
    assert_eq!(cluster.cmd_str(&["EXISTS", "a"]), Reply::Int(0), "nothing of a skipped command is applied");
    assert_eq!(cluster.cmd_str(&["EXISTS", "b"]), Reply::Int(0));
}
