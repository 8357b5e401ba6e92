//! `redtail follow --sink file:PATH` against a real master: rotated JSON-lines files that hold
//! every write in order with no line or transaction split between files; a SIGKILL and a
//! resume from the checkpoint that lose nothing; and the `--format resp` files, which
//! `redis-check-aof` accepts and a real server loads as its AOF to the master's digest.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::compare::digest;
use common::follow::{
    assert_acked_within, json_lines, saved_checkpoint, wait_replica_online, write_number, Follower, WITHIN,
};
use common::writer::BackgroundWriter;
use serde_json::Value;
use testkit::Server;

/// Round i: `SET n:<i> <i>`; every fifth round inside a transaction with a second write.
fn start_writer(port: u16) -> BackgroundWriter {
    BackgroundWriter::start(port, |client, i| {
        let set = |client: &mut testkit::Client| client.cmd_str(&["SET", &format!("n:{i}"), &i.to_string()]).unwrap();
        if i % 5 == 0 {
            client.cmd_str(&["MULTI"]).unwrap().expect_ok();
            set(client);
            client.cmd_str(&["INCR", "tx:count"]).unwrap();
            client.cmd_str(&["EXEC"]).unwrap();
        } else {
            set(client).expect_ok();
        }
    })
}

/// Rotation is checked once per read from the master, and one read can hold many writes, so
/// how many files a burst of writes fills depends on timing. These phases make it certain:
/// each writes more than `bytes` and waits until the follower has acknowledged it, so each
/// ends with a flush that rotates.
fn write_phases(master: &Server, phases: usize, bytes: usize) {
    let value = "v".repeat(100);
    for p in 0..phases {
        for j in 0..bytes / 100 + 1 {
            master.cmd_str(&["SET", &format!("phase:{p}:{j}"), &value]).expect_ok();
        }
        assert_acked_within(master, WITHIN);
    }
}

/// The sink's files for `base`, in name order.
fn files(base: &Path) -> Vec<PathBuf> {
    let dir = base.parent().unwrap();
    let prefix = format!("{}.", base.file_name().unwrap().to_str().unwrap());
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(&prefix))
        .collect();
    names.sort();
    names
}

/// Every file's events, each file checked to hold whole lines only.
fn file_events(base: &Path) -> Vec<Vec<Value>> {
    files(base)
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).unwrap();
            assert!(bytes.is_empty() || bytes.ends_with(b"\n"), "{} ends inside a line", f.display());
            json_lines(&bytes)
        })
        .collect()
}

/// The numbers of the `set n:<i>` writes, in file order.
fn numbers(files: &[Vec<Value>]) -> Vec<u64> {
    files.iter().flatten().filter_map(write_number).collect()
}

/// Waits until the files hold write `last`.
#[track_caller]
fn wait_for_write(base: &Path, follower: &mut Follower, last: u64) -> Vec<Vec<Value>> {
    let deadline = Instant::now() + WITHIN;
    loop {
        let events = file_events(base);
        if numbers(&events).contains(&last) {
            return events;
        }
        if let Ok(Some(status)) = follower.try_wait() {
            panic!("redtail exited ({status}) before write {last}\nstderr:\n{}", follower.stderr());
        }
        assert!(Instant::now() < deadline, "write {last} not in the files within {WITHIN:?}\n{}", follower.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `numbers` is 0, 1, ..., `last`; a failure names the first place it is not.
#[track_caller]
fn assert_every_write(numbers: &[u64], last: u64, what: &str) {
    if let Some(i) = numbers.iter().enumerate().position(|(i, &n)| n != i as u64) {
        panic!(
            "{what}: position {i} holds write {}, {:?} around it",
            numbers[i],
            &numbers[i.saturating_sub(3)..(i + 3).min(numbers.len())]
        );
    }
    assert_eq!(numbers.len() as u64, last + 1, "{what}: writes 0 to {last}");
}

/// Every transaction's commands and its `exec` are in one file.
fn assert_transactions_whole(files: &[Vec<Value>]) {
    for (i, events) in files.iter().enumerate() {
        let mut open: Option<(u64, u64)> = None;
        for ev in events {
            match (ev["event"].as_str(), ev["tx"].as_u64()) {
                (Some("command"), Some(tx)) => match &mut open {
                    Some((t, n)) if *t == tx => *n += 1,
                    _ => open = Some((tx, 1)),
                },
                (Some("exec"), _) => {
                    let (tx, n) = open.take().unwrap_or_else(|| panic!("file {i}: exec without its commands: {ev}"));
                    assert_eq!((ev["tx"].as_u64(), ev["commands"].as_u64()), (Some(tx), Some(n)), "file {i}: {ev}");
                }
                _ => {}
            }
        }
        assert_eq!(open, None, "file {i} ends inside a transaction");
    }
}

#[test]
fn rotated_json_files_hold_every_write_in_order() {
    let master = Server::start("redis-7.0");
    for i in 0..200 {
        master.cmd_str(&["SET", &format!("before:{i}"), "x"]).expect_ok();
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("events.jsonl");
    let sink = format!("file:{}", base.display());
    let mut follower = Follower::start(&["--sink", &sink, "--rotate-size", "4kb", "--fsync", "always", &master.url()]);
    // Past the snapshot: every numbered write is a command event.
    wait_replica_online(&master);
    let writer = start_writer(master.port());
    while writer.done() < 2000 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let last = writer.stop();
    wait_for_write(&base, &mut follower, last);
    write_phases(&master, 3, 4096);
    let (status, follower) = follower.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}\n{}", follower.stderr());
    assert!(follower.output().is_empty(), "nothing on stdout with a file sink");

    let names = files(&base);
    let events = file_events(&base);
    assert!(names.len() >= 3, "{} files for {last} writes and 3 phases", names.len());
    let expected: Vec<PathBuf> = (1..=names.len()).map(|i| dir.path().join(format!("events.jsonl.{i:06}"))).collect();
    assert_eq!(names, expected, "numbered from 1, no gap, sorted by name");
    for (i, (name, file)) in names.iter().zip(&events).enumerate() {
        let size = std::fs::metadata(name).unwrap().len();
        // A file is closed at the first boundary past 4 KiB (a read burst can take it further).
        assert!(size >= 4096 || i == names.len() - 1, "{}: closed at {size} bytes", name.display());
        assert!(!file.is_empty(), "{}: empty", name.display());
    }
    let all: Vec<&Value> = events.iter().flatten().collect();
    assert_eq!(all[0]["event"], "sync");
    assert_eq!(all.iter().filter(|e| e["event"] == "key").count(), 200, "the snapshot's keys");
    assert_every_write(&numbers(&events), last, "every write, in order, once");
    assert_transactions_whole(&events);
}

/// The checkpoint file's offset.
fn checkpoint_offset(path: &Path) -> Option<u64> {
    saved_checkpoint(path).map(|c| c.offset)
}

#[test]
fn sigkill_then_resume_from_the_checkpoint_loses_nothing() {
    let master = Server::start("redis-7.0");
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("events");
    let checkpoint = dir.path().join("checkpoint");
    let sink = format!("file:{}", base.display());
    let cp = checkpoint.to_str().unwrap();
    let common = ["--sink", &sink, "--rotate-size", "8kb", "--checkpoint", cp];

    let mut first = Follower::start(&[&common[..], &[master.url().as_str()]].concat());
    wait_replica_online(&master);
    let writer = start_writer(master.port());
    let deadline = Instant::now() + WITHIN;
    while numbers(&file_events(&base)).len() < 1000 || checkpoint_offset(&checkpoint).is_none() {
        assert!(Instant::now() < deadline, "no 1000 writes and a checkpoint in {WITHIN:?}\n{}", first.stderr());
        if let Ok(Some(status)) = first.try_wait() {
            panic!("redtail exited ({status})\n{}", first.stderr());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let first = first.kill();
    let saved = checkpoint_offset(&checkpoint).unwrap();
    let first_files = files(&base).len();

    let mut second = Follower::start(&[&common[..], &["--from", "checkpoint", master.url().as_str()]].concat());
    std::thread::sleep(Duration::from_millis(300));
    let last = writer.stop();
    wait_for_write(&base, &mut second, last);
    let (status, second) = second.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}\n{}", second.stderr());
    drop(first);

    let events = file_events(&base);
    assert!(files(&base).len() > first_files, "the resumed run starts a new file");
    // The kill may cut the first run's last file inside a transaction (never delivered, so
    // the resumed run writes it again); every other file holds whole ones.
    let mut whole = events.clone();
    whole.remove(first_files - 1);
    assert_transactions_whole(&whole);
    // Repeats are writes after the checkpoint, with their first offsets: dropping every
    // command that ends at or below the highest end offset seen leaves each write once.
    let mut seen = 0;
    let mut unique = Vec::new();
    let mut repeats = 0;
    for ev in events.iter().flatten() {
        let Some(n) = write_number(ev) else { continue };
        let end = ev["end_offset"].as_u64().unwrap();
        if end <= seen {
            assert!(end > saved, "write {n} ends at {end}, before the checkpoint {saved}, yet came twice");
            repeats += 1;
            continue;
        }
        seen = end;
        unique.push(n);
    }
    assert_every_write(&unique, last, "every write once, in order, after de-duplication");
    eprintln!("checkpoint {saved}, {first_files} files before the kill, {repeats} repeats, last write {last}");
}

#[test]
fn the_resp_form_is_an_aof_a_server_loads() {
    let master = Server::start("redis-7.0");
    testkit::dataset::write_dataset(&master);
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("redtail.aof");
    let sink = format!("file:{}", base.display());
    let follower = Follower::start(&[
        "--format",
        "resp",
        "--sink",
        &sink,
        "--rotate-size",
        "16kb",
        "--fsync",
        "always",
        &master.url(),
    ]);
    let writer = start_writer(master.port());
    while writer.done() < 1500 {
        std::thread::sleep(Duration::from_millis(10));
    }
    writer.stop();
    write_phases(&master, 3, 16 << 10);
    let (status, follower) = follower.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}\n{}", follower.stderr());

    let install = testkit::installation("redis-7.0").unwrap();
    // The server binary is redis-check-aof when run under that name (as the installer links
    // redis-check-rdb); an installation from before the installer made that link has none.
    let links = tempfile::tempdir().unwrap();
    let check_aof = install.tool("redis-check-aof").unwrap_or_else(|_| {
        let link = links.path().join("redis-check-aof");
        std::os::unix::fs::symlink(install.server_binary().unwrap(), &link).unwrap();
        link
    });
    let names = files(&base);
    assert!(names.len() >= 3, "{} files", names.len());
    // Each file stands alone (whole commands and transactions, its own SELECT) ...
    for name in &names {
        let out = install.command(&check_aof).arg(name).output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && report.contains("is valid"), "{}: {report}", name.display());
    }
    // ... and together they are the AOF a server loads: Redis 7 upgrades an old-style file.
    let aof_dir = tempfile::tempdir().unwrap();
    let aof: Vec<u8> = names.iter().flat_map(|n| std::fs::read(n).unwrap()).collect();
    std::fs::write(aof_dir.path().join("appendonly.aof"), &aof).unwrap();
    let out = install.command(&check_aof).arg(aof_dir.path().join("appendonly.aof")).output().unwrap();
    assert!(out.status.success(), "the files together: {}", String::from_utf8_lossy(&out.stdout));
    let loaded = Server::builder("redis-7.0")
        .arg("--dir")
        .arg(aof_dir.path().to_str().unwrap())
        .arg("--appendonly")
        .arg("yes")
        .arg("--appendfilename")
        .arg("appendonly.aof")
        .start();
    let deadline = Instant::now() + WITHIN;
    while loaded.info("persistence").contains("loading:1") {
        assert!(Instant::now() < deadline, "still loading");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(digest(&loaded), digest(&master), "DEBUG DIGEST of the loaded AOF");
    eprintln!("{} files, {} bytes of AOF", names.len(), aof.len());
}
