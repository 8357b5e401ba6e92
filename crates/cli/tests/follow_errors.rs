//! How `redtail follow` fails: each failure has its exit code (README "Exit codes") and a
//! message that says what to do, and a password never appears in anything it prints.

mod common;

use std::process::{Command, Output};

use common::follow::Follower;
use testkit::Server;

const PASSWORD: &str = "correct-horse-battery";
const WRONG: &str = "wrong-staple-42";

fn follow(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redtail"));
    cmd.arg("follow").args(args).env_remove("REDISCLI_AUTH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[track_caller]
fn assert_source_error(out: &Output, secrets: &[&str], says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "exit code; stderr:\n{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    assert!(stderr.contains(says), "stderr says {says:?}:\n{stderr}");
    for secret in secrets {
        assert!(!stderr.contains(secret), "stderr shows a password:\n{stderr}");
    }
}

fn wrong_password(name: &str) {
    let master = Server::start(name);
    // Set once it runs: the test kit waits for an unauthenticated PONG at start.
    master.cmd_str(&["CONFIG", "SET", "requirepass", PASSWORD]).expect_ok();
    let port = master.port().to_string();
    // As a flag, with logs at their most detailed.
    let out = follow(&["-p", &port, "-a", WRONG, "-vvv"], &[]);
    assert_source_error(&out, &[WRONG], "authentication failed");
    // In the URL, and in redis-cli's environment variable.
    let url = format!("redis://:{WRONG}@127.0.0.1:{port}");
    assert_source_error(&follow(&["-v", &url], &[]), &[WRONG], "authentication failed");
    assert_source_error(&follow(&["-p", &port], &[("REDISCLI_AUTH", WRONG)]), &[WRONG], "authentication failed");
    // No password at all.
    assert_source_error(&follow(&["-p", &port], &[]), &[], "requires authentication");

    // The right one works, and does not show either.
    let mut follower = Follower::start(&["-p", &port, "-a", PASSWORD, "-vv"]);
    follower.wait_synced();
    let (status, follower) = follower.terminate();
    assert!(status.success(), "{status}");
    assert!(!follower.stderr().contains(PASSWORD), "{}", follower.stderr());
}

#[test]
fn wrong_password_redis_2_8() {
    wrong_password("redis-2.8");
}

#[test]
fn wrong_password_redis_7_0() {
    wrong_password("redis-7.0");
}

/// An ACL user with a wrong password (Redis 6+).
#[test]
fn wrong_acl_password() {
    let master = Server::start("redis-7.0");
    master.cmd_str(&["ACL", "SETUSER", "follower", "on", &format!(">{PASSWORD}"), "+@all", "~*"]).expect_ok();
    let port = master.port().to_string();
    let out = follow(&["-p", &port, "--user", "follower", "-a", WRONG, "-vvv"], &[]);
    assert_source_error(&out, &[WRONG], "authentication failed for user \"follower\"");
    let url = format!("redis://follower:{WRONG}@127.0.0.1:{port}");
    assert_source_error(&follow(&[&url], &[]), &[WRONG], "authentication failed");
}

/// Nothing listens there: with --retries, a source error once they are used up.
#[test]
fn unreachable_source_gives_up_after_the_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = follow(&["-p", &port.to_string(), "--retries", "2"], &[]);
    assert_source_error(&out, &[], "gave up after 2 failed connection attempts");
}

#[test]
fn usage_errors() {
    let code = |args: &[&str]| follow(args, &[]).status.code();
    assert_eq!(code(&["http://127.0.0.1"]), Some(2), "a bad URL");
    assert_eq!(code(&["--from", "checkpoint"]), Some(2), "--from checkpoint without --checkpoint");
    assert_eq!(code(&["--fallback", "snapshot"]), Some(2), "--fallback without a start that needs it");
    assert_eq!(code(&["--from", "yesterday"]), Some(2), "clap's own");
    let out = follow(&["redis://:hunter2@127.0.0.1:notaport"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// --sentinel and --master-name come together, and instead of the master's address.
#[test]
fn sentinel_usage_errors() {
    let says = |args: &[&str], text: &str| {
        let out = follow(args, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(text), "{args:?} says {text:?}: {stderr}");
    };
    says(&["--sentinel", "127.0.0.1:26379"], "--master-name");
    says(&["--master-name", "m"], "need --sentinel");
    says(&["--sentinel", "127.0.0.1:26379", "--master-name", "m", "-p", "6380"], "give no URL");
    says(&["--sentinel", "127.0.0.1:notaport", "--master-name", "m"], "127.0.0.1:notaport");
}

/// `--from checkpoint` with no checkpoint file yet: an error that says what to do, or with
/// `--fallback snapshot` a full sync.
#[test]
fn missing_checkpoint_file() {
    let master = Server::start("redis-7.0");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cp");
    let file = file.to_str().unwrap();
    let out = follow(&["--from", "checkpoint", "--checkpoint", file, &master.url()], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fallback snapshot"));

    let mut follower =
        Follower::start(&["--from", "checkpoint", "--fallback", "snapshot", "--checkpoint", file, &master.url()]);
    let events = follower.wait_for_events("the snapshot's end", |events| events.iter().any(|e| e["event"] == "end"));
    assert_eq!(events[0]["mode"], "full");
    let (status, _) = follower.terminate();
    assert!(status.success());
    assert!(std::fs::read_to_string(file).unwrap().starts_with("redtail-checkpoint 1\n"), "saved on the way");
}
