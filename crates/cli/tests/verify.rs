//! `redtail verify` as a script sees it: exit codes, differences on stdout (text or JSON lines),
//! the summary on stderr, the limit, and credentials for each side.

use std::process::{Command, Output};

use testkit::dataset::write_dataset;
use testkit::Server;

fn redtail(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redtail"));
    cmd.arg("verify").args(args).env_remove("REDISCLI_AUTH").env_remove("REDTAIL_TARGET_AUTH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run redtail")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn exit_codes_output_and_limit() {
    let source = Server::start("redis-7.0");
    write_dataset(&source);
    source.cmd_str(&["SAVE"]).expect_ok();
    let target = Server::builder("redis-7.0").load_rdb(source.rdb_path()).start();

    let same = redtail(&[&source.url(), &target.url()], &[]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stderr));
    assert!(same.stdout.is_empty(), "{}", text(&same.stdout));
    assert!(text(&same.stderr).contains("0 differences"), "{}", text(&same.stderr));

    target.cmd_str(&["SET", "s:hello", "other"]).expect_ok();
    target.cmd_str(&["SET", "new", "1"]).expect_ok();
    let differ = redtail(&["--format", "json", &source.url(), &target.url()], &[]);
    assert_eq!(differ.status.code(), Some(1), "{}", text(&differ.stderr));
    let mut lines: Vec<serde_json::Value> =
        text(&differ.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    lines.sort_by_key(|v| v["key"].as_str().unwrap_or_default().to_string());
    let kinds: Vec<(&str, &str)> =
        lines.iter().map(|v| (v["key"].as_str().unwrap_or_default(), v["kind"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("", "key_count"), ("new", "extra"), ("s:hello", "value")]);
    assert!(lines.iter().all(|v| v["db"] == 0));

    let limited = redtail(&["--limit", "1", &source.url(), &target.url()], &[]);
    assert_eq!(limited.status.code(), Some(1));
    assert_eq!(text(&limited.stdout).lines().count(), 1, "{}", text(&limited.stdout));
    assert!(text(&limited.stderr).contains("3 differences (1 shown"), "{}", text(&limited.stderr));
    let text_line = redtail(&["--key", "s:*", &source.url(), &target.url()], &[]);
    assert_eq!(text(&text_line.stdout), "db 0 key \"s:hello\": value: length 11 in the source, 5 in the target\n");
}

#[test]
fn unreachable_sides_and_bad_urls() {
    let server = Server::start("redis-7.0");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("redis://127.0.0.1:{}", listener.local_addr().unwrap().port())
    };
    let source_down = redtail(&[&closed, &server.url()], &[]);
    assert_eq!(source_down.status.code(), Some(4), "{}", text(&source_down.stderr));
    assert!(text(&source_down.stderr).contains("cannot read the source"));
    let target_down = redtail(&[&server.url(), &closed], &[]);
    assert_eq!(target_down.status.code(), Some(5), "{}", text(&target_down.stderr));
    assert!(text(&target_down.stderr).contains("cannot read the target"));
    let bad = redtail(&["http://x", &server.url()], &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
}

#[test]
fn credentials_for_each_side() {
    let source = Server::start("redis-7.0");
    let target = Server::start("redis-7.0");
    for s in [&source, &target] {
        s.cmd_str(&["SET", "k", "v"]).expect_ok();
    }
    source.cmd_str(&["CONFIG", "SET", "requirepass", "src-secret"]).expect_ok();
    target.cmd_str(&["CONFIG", "SET", "requirepass", "tgt-secret"]).expect_ok();
    let tgt_in_url = format!("redis://:tgt-secret@127.0.0.1:{}", target.port());

    let no_source_pass = redtail(&[&source.url(), &tgt_in_url], &[]);
    assert_eq!(no_source_pass.status.code(), Some(4), "{}", text(&no_source_pass.stderr));
    let ok = redtail(&[&source.url(), &tgt_in_url], &[("REDISCLI_AUTH", "src-secret")]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let flags = redtail(&["-a", "src-secret", "--target-pass", "tgt-secret", &source.url(), &target.url()], &[]);
    assert_eq!(flags.status.code(), Some(0), "{}", text(&flags.stderr));
    let wrong =
        redtail(&[&source.url(), &target.url()], &[("REDISCLI_AUTH", "src-secret"), ("REDTAIL_TARGET_AUTH", "nope")]);
    assert_eq!(wrong.status.code(), Some(5), "{}", text(&wrong.stderr));
    assert!(!text(&wrong.stderr).contains("nope"), "the password is not printed: {}", text(&wrong.stderr));
}
