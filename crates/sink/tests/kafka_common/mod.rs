//! Shared by the Kafka tests: records to send, a consumer that reads topics to their end,
//! and a tansu broker behind a fault proxy (for a broker that goes away mid-stream).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use event::{CommandEvent, LiveEvent};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use sink::{KafkaRecord, RecordBuilder};

pub const REPLID: &str = "8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1";

/// A `SET key n` command record ending at `end`, as the follower would make it.
pub fn set(builder: &mut RecordBuilder, key: &str, n: u64, end: u64) -> KafkaRecord {
    let n = n.to_string();
    let args: [&[u8]; 3] = [b"SET", key.as_bytes(), n.as_bytes()];
    let ev = LiveEvent::Command(CommandEvent {
        db: Some(0),
        args: &args[..],
        replid: REPLID,
        start_offset: end - 10,
        end_offset: end,
        tx: None,
    });
    builder.live(&ev).unwrap()
}

/// `count` records over `keys` keys, offsets 10 apart after `from`; returns them and the
/// last end offset.
pub fn workload(builder: &mut RecordBuilder, from: u64, count: u64, keys: u64) -> (Vec<KafkaRecord>, u64) {
    let records = (1..=count).map(|i| set(builder, &format!("key:{}", i % keys), from + i, from + i * 10)).collect();
    (records, from + count * 10)
}

/// A record as a consumer saw it.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub topic: String,
    pub partition: i32,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: HashMap<String, String>,
}

impl Consumed {
    pub fn end_offset(&self) -> u64 {
        self.headers["end_offset"].parse().unwrap()
    }
}

/// Reads every partition of `topic` from the start to its end with `assign()` (a group
/// `subscribe()` takes ~23 s on tansu). The end is every partition's EOF event, which follows
/// the fetch's high watermark (tansu's ListOffsets one can be stale), then a short quiet time.
pub fn read_all(bootstrap: &str, topic: &str, partitions: i32, isolation: &str) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "redtail-test-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut at_end = std::collections::HashSet::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut quiet_since = Instant::now();
    loop {
        assert!(Instant::now() < deadline, "reading {topic} did not reach the end in 30 s");
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                quiet_since = Instant::now();
                at_end.remove(&m.partition());
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or(b"")).into_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Consumed {
                    topic: m.topic().to_string(),
                    partition: m.partition(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().unwrap_or_default().to_vec(),
                    headers,
                });
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
        if at_end.len() == partitions as usize && quiet_since.elapsed() > Duration::from_millis(700) {
            return out;
        }
    }
}

/// Checks that `consumed` holds exactly `sent` (by end offset, duplicates allowed only when
/// `allow_duplicates`) and that each key's records are in offset order. Returns the number of
/// duplicates.
pub fn check_complete_and_ordered(sent: &[KafkaRecord], consumed: &[Consumed], allow_duplicates: bool) -> usize {
    let want: std::collections::BTreeSet<u64> = sent.iter().map(|r| r.end_offset.unwrap()).collect();
    let mut seen = std::collections::BTreeMap::new();
    for c in consumed {
        *seen.entry(c.end_offset()).or_insert(0usize) += 1;
    }
    let got: std::collections::BTreeSet<u64> = seen.keys().copied().collect();
    let missing: Vec<_> = want.difference(&got).take(10).collect();
    let extra: Vec<_> = got.difference(&want).take(10).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing offsets {missing:?}, unexpected {extra:?}");
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert!(allow_duplicates || duplicates == 0, "{duplicates} duplicates");
    // Per key, first appearances are in offset order (a duplicate may repeat an earlier one).
    let mut last: HashMap<Option<Vec<u8>>, u64> = HashMap::new();
    for c in consumed {
        let end = c.end_offset();
        let prev = last.entry(c.key.clone()).or_insert(0);
        if end > *prev {
            *prev = end;
        } else {
            assert!(allow_duplicates, "key {:?}: offset {end} after {prev}", c.key);
        }
    }
    duplicates
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

/// tansu listening on its own port but advertising `advertised` (a proxy in front of it), so
/// every client connection goes through the proxy. Killed when dropped.
pub struct ProxiedTansu {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl ProxiedTansu {
    pub fn start(port: u16, advertised: u16) -> ProxiedTansu {
        let install = testkit::installation("tansu").unwrap_or_else(|e| panic!("{e}"));
        let binary = install.server_binary().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("tansu.log")).unwrap();
        let child = install
            .command(&binary)
            .args(["broker", "--listener-url", &format!("tcp://127.0.0.1:{port}")])
            .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{advertised}")])
            .args(["--storage-engine", "memory://tansu/"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "tansu did not open port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        ProxiedTansu { child, port, _dir: dir }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        let install = testkit::installation("tansu").unwrap();
        let out = install
            .command(&install.server_binary().unwrap())
            .args(["topic", "create", "--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .args(["--partitions", &partitions.to_string(), name])
            .output()
            .unwrap();
        assert!(out.status.success(), "tansu topic create {name}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for ProxiedTansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
