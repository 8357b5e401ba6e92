//! `redtail follow --config FILE` against a real server: the file's source (with its password
//! read from a file), position and sink settings take effect, a flag on the command line wins
//! over the file, and a malformed file is a usage error (exit code 2) naming its line.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::follow::{json_lines, wait_replica_online, Follower, WITHIN};
use testkit::Server;

#[test]
fn a_config_file_sets_what_the_flags_would() {
    let master = Server::start("redis-7.0");
    // Set after start: the shared connection behind `cmd_str` stays authenticated.
    master.cmd_str(&["CONFIG", "SET", "requirepass", "s3cret"]).expect_ok();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("password");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let base = dir.path().join("events");
    let checkpoint = dir.path().join("checkpoint");
    let config = dir.path().join("redtail.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[source]
url = "redis://127.0.0.1:{port}"
password_file = {secret:?}

[position]
checkpoint = {checkpoint:?}

[sink]
url = "file:{base}"
format = "resp"

[filter]
keys = ["kept:*"]
"#,
            port = master.port(),
            secret = secret.to_str().unwrap(),
            checkpoint = checkpoint.to_str().unwrap(),
            base = base.display(),
        ),
    )
    .unwrap();
    // The flag wins over the file's `format = "resp"`.
    let follower = Follower::start(&["--config", config.to_str().unwrap(), "--format", "json"]);
    // Past the snapshot, so the writes are command events.
    wait_replica_online(&master);
    master.cmd_str(&["SET", "dropped:1", "x"]).expect_ok();
    master.cmd_str(&["SET", "kept:1", "x"]).expect_ok();

    let first = dir.path().join("events.000001");
    let deadline = Instant::now() + WITHIN;
    let events = loop {
        let events = std::fs::read(&first).map(|b| json_lines(&b)).unwrap_or_default();
        if events.iter().any(|e| e["event"] == "command") && checkpoint.exists() {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "no command in {} within {WITHIN:?}\n{}",
            first.display(),
            follower.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let (status, follower) = follower.terminate();
    assert!(status.success(), "{status}\n{}", follower.stderr());
    let commands: Vec<_> = events.iter().filter(|e| e["event"] == "command").collect();
    assert_eq!(commands.len(), 1, "only the key the file's filter keeps: {commands:?}");
    assert_eq!(commands[0]["args"][0], "kept:1");
    assert!(!follower.stderr().contains("s3cret"), "the password is never logged");
}

#[test]
fn a_malformed_config_file_is_a_usage_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("redtail.toml");
    std::fs::write(&config, "[sink]\nurl = \"stdout\"\nrotate_size = 10\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_redtail")).args(["follow", "--config"]).arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 3") && stderr.contains("rotate_size"), "{stderr}");
}

/// The file sink's flags are checked before anything connects: a mistake is a usage error (2),
/// a directory that does not exist an I/O error (3) naming it.
#[test]
fn file_sink_mistakes_are_reported_before_connecting() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_redtail"))
            .arg("follow")
            .args(args)
            // No server listens there: an error before connecting is the only way out.
            .arg("redis://127.0.0.1:1")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(&["--rotate-size", "1mb"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("need --sink file:PATH"), "{err}");
    let (code, err) = run(&["--sink", "file:", "--retries", "1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("expected file:PATH"), "{err}");
    let (code, err) = run(&["--sink", "file:/nonexistent-redtail-dir/events", "--retries", "1"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("/nonexistent-redtail-dir"), "{err}");
    let (code, err) = run(&["--sink", "file:x", "--fsync", "sometimes"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("always, everysec or no"), "{err}");
}
