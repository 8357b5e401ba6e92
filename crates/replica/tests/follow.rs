//! Against a real master: a full sync, then a write seen with its exact offsets, then the
//! master seeing our ACK reach its own offset.

use std::time::Duration;

use replica::driver::{self, DriverError};
use replica::{AckPolicy, CommandKind, Config, Output, Replica, ReplicationInfo};
use tokio::sync::mpsc;

/// What the handler forwards to the test.
#[derive(Debug)]
enum Seen {
    Format(String),
    Key(Vec<u8>),
    SnapshotEnd(u64),
    Command { name: String, args: Vec<Vec<u8>>, start: u64, end: u64, db: Option<u64> },
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.expect("timed out").expect("driver ended")
}

fn master_offset(server: &testkit::Server) -> u64 {
    ReplicationInfo::parse(&server.info("replication")).offset.expect("master_repl_offset")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_7_0_diskless() {
    full_sync_then_a_set_with_exact_offsets("redis-7.0", &["--repl-diskless-sync-delay", "0"]).await;
}

/// Disk-based `$<len>` transfer; `REPLCONF capa` refused; offsets start at 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_2_8_disk_based() {
    full_sync_then_a_set_with_exact_offsets("redis-2.8", &[]).await;
}

/// `VALKEY080` snapshot (announced version 9.1.0) and a lowercase stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valkey_9_1() {
    full_sync_then_a_set_with_exact_offsets("valkey-9.1", &["--repl-diskless-sync-delay", "0"]).await;
}

async fn full_sync_then_a_set_with_exact_offsets(name: &str, args: &[&str]) {
    let server = args.iter().fold(testkit::Server::builder(name), |b, a| b.arg(*a)).start();
    server.cmd_str(&["SET", "before", "1"]).expect_ok();

    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port())).await.unwrap();
    let config = Config { ack_policy: AckPolicy::Delivered, ..Config::default() };
    let mut replica = Replica::new(config, std::time::Instant::now());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut handler = move |out: &Output<'_>| {
        // A synchronous "sink": everything is delivered as soon as it is seen.
        let (seen, delivered) = match out {
            Output::Snapshot(rdb::Event::Begin(format)) => (Some(Seen::Format(format!("{format:?}"))), None),
            Output::Snapshot(rdb::Event::Key(key)) => (Some(Seen::Key(key.key.to_vec())), None),
            Output::SnapshotEnd { offset } => (Some(Seen::SnapshotEnd(*offset)), Some(*offset)),
            Output::Command(c) => (
                Some(Seen::Command {
                    name: String::from_utf8_lossy(c.name()).to_ascii_uppercase(),
                    args: c.args.iter().map(|a| a.to_vec()).collect(),
                    start: c.start_offset,
                    end: c.end_offset,
                    db: c.db,
                }),
                (c.kind == CommandKind::Data).then_some(c.end_offset),
            ),
            _ => (None, None),
        };
        if let Some(seen) = seen {
            tx.send(seen).map_err(|_| "test ended")?;
        }
        Ok::<_, &str>(delivered)
    };
    let task = tokio::spawn(async move { driver::run(&mut stream, &mut replica, &mut handler).await });

    // The snapshot holds the key written before, then ends at the FULLRESYNC offset.
    let mut keys = Vec::new();
    let sync_offset = loop {
        match next(&mut rx).await {
            Seen::Key(k) => keys.push(k),
            Seen::Format(f) => eprintln!("{name}: snapshot {f}"),
            Seen::SnapshotEnd(offset) => break offset,
            other => panic!("before the snapshot ended: {other:?}"),
        }
    };
    assert_eq!(keys, vec![b"before".to_vec()]);

    // Every stream byte is accounted for: each command starts where the last ended, and the
    // SET ends where the master's own offset says the stream ends.
    let set_len = resp::encode_command(&["SET", "after", "2"]).len() as u64;
    let srv = std::sync::Arc::new(server);
    let writer = srv.clone();
    tokio::task::spawn_blocking(move || writer.cmd_str(&["SET", "after", "2"]).expect_ok()).await.unwrap();
    let mut expected_start = sync_offset;
    let set_end = loop {
        match next(&mut rx).await {
            Seen::Command { name, args, start, end, db } => {
                assert_eq!(start, expected_start, "{name} starts where the previous frame ended");
                expected_start = end;
                if name == "SET" {
                    assert_eq!(args, vec![b"SET".to_vec(), b"after".to_vec(), b"2".to_vec()]);
                    assert_eq!(end - start, set_len);
                    assert_eq!(db, Some(0));
                    break end;
                }
            }
            other => panic!("unexpected after the snapshot: {other:?}"),
        }
    };
    // Nothing else written: the master's offset is the SET's end (or later only by PINGs,
    // which also arrive here).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let master = master_offset(&srv);
        assert!(master >= set_end);
        if master == expected_start {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "master at {master}, replica at {expected_start}");
        match tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            Ok(Some(Seen::Command { start, end, .. })) => {
                assert_eq!(start, expected_start);
                expected_start = end;
            }
            Ok(other) => panic!("{other:?}"),
            Err(_) => {}
        }
    }

    // The master sees our ACK reach its offset (the handler reports delivery at once).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let info = srv.info("replication");
        let acked = info
            .lines()
            .find(|l| l.starts_with("slave0:"))
            .and_then(|l| l.split(',').find_map(|f| f.strip_prefix("offset=")))
            .and_then(|o| o.trim().parse::<u64>().ok());
        if acked == Some(master_offset(&srv)) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "ack stuck at {acked:?}:\n{info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    task.abort();
    if let Ok(Err(DriverError::Replication(e))) = task.await {
        panic!("replication failed: {e}");
    }
}
