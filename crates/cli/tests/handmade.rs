//! `redtail rdb` on RDB files built byte by byte in the test: filters, outputs, exit codes,
//! truncation, checksums, pipes.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

mod common;
#[path = "../../event/tests/support/rdb_builder.rs"]
mod rdb_builder;

use rdb_builder::*;

fn redtail_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redtail"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data); // the child may stop reading early
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Runs `redtail rdb ARGS FILE` on `bytes` written to a temporary file.
fn redtail_file(args: &[&str], bytes: &[u8]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.rdb");
    std::fs::write(&path, bytes).unwrap();
    let mut all = vec!["rdb"];
    all.extend_from_slice(args);
    all.push(path.to_str().unwrap());
    Command::new(env!("CARGO_BIN_EXE_redtail")).args(&all).output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn keys_of(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["event"] == "key")
        .map(|l| format!("{}:{}", l["db"], l["key"].as_str().unwrap()))
        .collect()
}

/// Two databases with one key of each plain type.
fn sample() -> Vec<u8> {
    Rdb::redis(11)
        .aux("redis-ver", "7.2.4")
        .select(0)
        .string(b"user:1", b"Ada")
        .expire_ms(1_800_000_000_000)
        .string(b"session:42", b"x")
        .list(b"queue", &[b"a", b"b", b"c", b"d", b"e"])
        .select(2)
        .set(b"user:tags", &[b"x", b"y"])
        .hash(b"user:2", &[(b"name", b"Bob")])
        .zset(b"board", &[(b"ann", 1.5), (b"bob", f64::INFINITY)])
        .finish()
}

#[test]
fn json_of_a_handmade_file() {
    let lines = json_lines(&redtail_file(&[], &sample()));
    assert_eq!(lines[0], json!({"event":"begin","format":"redis","rdb_version":11}));
    assert_eq!(lines[1], json!({"event":"aux","name":"redis-ver","value":"7.2.4"}));
    assert_eq!(
        lines[3],
        json!({"event":"key","db":0,"key":"session:42","type":"string","encoding":"raw",
               "expire_at_ms":1800000000000u64,"idle_s":null,"freq":null,"value":"x"})
    );
    assert_eq!(lines[4]["value"], json!(["a", "b", "c", "d", "e"]));
    assert_eq!(lines[7]["value"], json!([["ann", 1.5], ["bob", "inf"]]));
    let end = lines.last().unwrap();
    assert_eq!(end["event"], "end");
    assert_eq!(end["checksum"], "verified");
    assert_eq!(
        end["crc64"],
        format!("{:016x}", u64::from_le_bytes(sample()[sample().len() - 8..].try_into().unwrap()))
    );
    assert_eq!(end["keys"], 6);
}

#[test]
fn standard_input() {
    let lines = json_lines(&redtail_stdin(&["rdb", "-"], &sample()));
    assert_eq!(lines.last().unwrap()["keys"], 6);
}

#[test]
fn filters() {
    let run = |args: &[&str]| keys_of(&json_lines(&redtail_file(args, &sample())));
    assert_eq!(run(&["--db", "2"]), ["2:user:tags", "2:user:2", "2:board"]);
    assert_eq!(run(&["--key", "user:*"]), ["0:user:1", "2:user:tags", "2:user:2"]);
    assert_eq!(run(&["--key", "user:?", "--key", "queue"]), ["0:user:1", "0:queue", "2:user:2"]);
    assert_eq!(run(&["--key-regex", "^user:[0-9]$"]), ["0:user:1", "2:user:2"]);
    assert_eq!(run(&["--type", "string", "--type", "zset"]), ["0:user:1", "0:session:42", "2:board"]);
    assert_eq!(run(&["--db", "0", "--type", "list", "--key", "q*"]), ["0:queue"]);
    assert!(run(&["--db", "5"]).is_empty());
    // `keys` in the end event counts what was written.
    let lines = json_lines(&redtail_file(&["--db", "2"], &sample()));
    assert_eq!(lines.last().unwrap()["keys"], 3);
}

#[test]
fn chunk_elements() {
    let lines = json_lines(&redtail_file(&["--chunk-elements", "2", "--key", "queue"], &sample()));
    let parts: Vec<&Value> = lines.iter().filter(|l| l["event"] == "key").collect();
    let values: Vec<&Value> = parts.iter().map(|p| &p["value"]).collect();
    assert_eq!(values, [&json!(["a", "b"]), &json!(["c", "d"]), &json!(["e"])]);
    let flags: Vec<(u64, bool)> =
        parts.iter().map(|p| (p["part"].as_u64().unwrap(), p["more"].as_bool().unwrap())).collect();
    assert_eq!(flags, [(0, true), (1, true), (2, false)]);
    let usage = redtail_file(&["--chunk-elements", "0"], &sample());
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn resp_output_rebuilds_the_data() {
    let out = redtail_file(&["--format", "resp"], &sample());
    assert!(out.status.success());
    let cmds: Vec<String> = testkit::parse_resp(&out.stdout).into_iter().map(|c| c.join(" ")).collect();
    assert_eq!(
        cmds,
        [
            "SELECT 0",
            "SET user:1 Ada",
            "SET session:42 x",
            "PEXPIREAT session:42 1800000000000",
            "RPUSH queue a b c d e",
            "SELECT 2",
            "SADD user:tags x y",
            "HSET user:2 name Bob",
            "ZADD board 1.5 ann inf bob",
        ]
    );
}

#[test]
fn keys_output() {
    let out = redtail_file(&["--format", "keys", "--db", "0"], &sample());
    let lines = json_lines(&out);
    // Sizes counted by hand from the builder: type byte + key string + value (+ 9 for an expiry).
    assert_eq!(
        lines,
        [
            json!({"db":0,"key":"user:1","type":"string","encoding":"raw","expire_at_ms":null,"elements":1,"size":1 + 7 + 4}),
            json!({"db":0,"key":"session:42","type":"string","encoding":"raw","expire_at_ms":1800000000000u64,"elements":1,"size":9 + 1 + 11 + 2}),
            json!({"db":0,"key":"queue","type":"list","encoding":"linkedlist","expire_at_ms":null,"elements":5,"size":1 + 6 + 1 + 5 * 2}),
        ]
    );
}

#[test]
fn truncated_file_fails_with_the_offset() {
    let full = sample();
    let cut = &full[..full.len() - 20];
    for out in [redtail_file(&[], cut), redtail_stdin(&["rdb", "-"], cut)] {
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("ended early") && stderr.contains("at byte offset "), "{stderr}");
        // Only whole lines were written before the error.
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.is_empty() || stdout.ends_with('\n'));
        for l in stdout.lines() {
            serde_json::from_str::<Value>(l).unwrap();
        }
    }
    let out = redtail_file(&["--check"], cut);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("error at byte offset ") && report.contains("status: INVALID"), "{report}");
}

#[test]
fn a_length_past_the_end_of_a_file_fails_at_once() {
    // A string claiming 1 GB in a 40-byte file.
    let mut v = vec![0x80];
    v.extend_from_slice(&(1u32 << 30).to_be_bytes());
    let file = Rdb::redis(9).raw(&[0]).raw(&s(b"k")).raw(&v).raw(b"abc").finish();
    let out = redtail_file(&[], &file);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("byte offset"));
}

#[test]
fn checksum_mismatch_suggests_no_verify() {
    let mut file = sample();
    let n = file.len();
    file[n - 1] ^= 0xff;
    let out = redtail_file(&[], &file);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-verify"));
    let lines = json_lines(&redtail_file(&["--no-verify"], &file));
    assert_eq!(lines.last().unwrap()["checksum"], "unchecked");
    let out = redtail_file(&["--check"], &file);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--no-verify"));
}

#[test]
fn check_reports_versions_keys_and_checksum() {
    let out = redtail_file(&["--check"], &sample());
    assert_eq!(out.status.code(), Some(0));
    let report = String::from_utf8(out.stdout).unwrap();
    for want in [
        "format: REDIS0011 (redis, RDB version 11)\n",
        "db 0: 3 keys (1 with an expiry)\n",
        "db 2: 3 keys (0 with an expiry)\n",
        "keys: 6 (1 with an expiry, 0 already expired)\n",
        "checksum: verified",
        "status: OK\n",
    ] {
        assert!(report.contains(want), "missing {want:?} in\n{report}");
    }
    // --check is validation only: it refuses output options.
    assert_eq!(redtail_file(&["--check", "--format", "resp"], &sample()).status.code(), Some(2));
}

#[test]
fn io_and_usage_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_redtail")).args(["rdb", "/nonexistent/dump.rdb"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
    let out = Command::new(env!("CARGO_BIN_EXE_redtail")).args(["rdb", "--format", "xml", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_redtail")).args(["rdb", "--key-regex", "(", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_redtail")).args(["rdb", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes"));
}

#[test]
fn a_closed_pipe_exits_quietly() {
    let mut rdb = Rdb::redis(11).select(0);
    let value = vec![b'v'; 100];
    for i in 0..20_000 {
        rdb = rdb.string(format!("key:{i}").as_bytes(), &value);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.rdb");
    std::fs::write(&path, rdb.finish()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_redtail"))
        .args(["rdb", path.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // like `| head -c 100`
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
