//! Every server of the CI matrix starts, answers, and writes an RDB with the magic its version
//! is known to write (magic per version from the project's server survey). This pins both the
//! test kit and the installer: a wrong binary behind a name shows up here.

use testkit::{ci_servers, Reply, Server};

/// The first 9 bytes of `dump.rdb` that each server writes after `SAVE`.
fn expected_magic(name: &str) -> &'static str {
    match name {
        "redis-2.8" | "redis-3.0" => "REDIS0006",
        "redis-3.2" => "REDIS0007",
        "redis-5.0" | "redis-6.0" | "redis-6.2" => "REDIS0009",
        "redis-7.0" => "REDIS0010",
        "redis-7.2" | "valkey-8.0" | "valkey-8.1" => "REDIS0011",
        "redis-7.4" | "redis-8.0" | "redis-8.2" => "REDIS0012",
        "valkey-9.0" | "valkey-9.1" => "VALKEY080",
        other => panic!("no expected magic for {other}"),
    }
}

fn set_get_save(name: &str) {
    let server = Server::start(name);
    server.cmd_str(&["SET", "greeting", "hello"]).expect_ok();
    assert_eq!(server.cmd(&[b"GET", b"greeting"]), Reply::Bulk(b"hello".to_vec()), "{name}");
    assert_eq!(server.cmd_str(&["GET", "missing"]), Reply::Nil, "{name}");
    assert_eq!(server.cmd_str(&["RPUSH", "list", "a", "b"]), Reply::Int(2), "{name}");
    server.cmd_str(&["SAVE"]).expect_ok();
    let rdb =
        std::fs::read(server.rdb_path()).unwrap_or_else(|e| panic!("{name}: {}: {e}", server.rdb_path().display()));
    assert_eq!(String::from_utf8_lossy(&rdb[..9]), expected_magic(name), "{name} ({})", server.version());
}

#[test]
fn every_ci_server_sets_gets_and_saves() {
    for name in ci_servers() {
        set_get_save(name);
    }
}

/// The rest of `scripts/install-test-servers.sh all`; run with `cargo test -- --ignored`.
#[test]
#[ignore = "needs scripts/install-test-servers.sh all"]
fn every_other_server_sets_gets_and_saves() {
    for name in testkit::all_servers().iter().filter(|n| !ci_servers().contains(n)) {
        set_get_save(name);
    }
}

#[test]
fn version_comes_from_info() {
    let v = Server::start("redis-7.0").version();
    assert_eq!((v.product, v.major, v.minor), (testkit::Product::Redis, 7, 0));
    let v = Server::start("valkey-9.1").version();
    assert_eq!((v.product, v.major, v.minor), (testkit::Product::Valkey, 9, 1));
}

#[test]
fn defaults_enable_debug_on_7_and_later() {
    let server = Server::start("redis-7.4");
    assert_eq!(server.cmd_str(&["DEBUG", "POPULATE", "10"]), Reply::Status("OK".into()));
    assert_eq!(server.cmd_str(&["DBSIZE"]), Reply::Int(10));
    let old = Server::start("redis-2.8");
    assert_eq!(old.cmd_str(&["DEBUG", "POPULATE", "3"]), Reply::Status("OK".into()));
}

#[test]
fn builder_args_reach_the_server() {
    let server =
        Server::builder("redis-6.2").arg("--dbfilename").arg("custom.rdb").arg("--maxmemory").arg("12mb").start();
    let reply = server.cmd_str(&["CONFIG", "GET", "maxmemory"]);
    assert_eq!(reply, Reply::Array(vec![Reply::Bulk(b"maxmemory".to_vec()), Reply::Bulk(b"12582912".to_vec())]));
    server.cmd_str(&["SAVE"]).expect_ok();
    assert!(server.rdb_path().ends_with("custom.rdb") && server.rdb_path().is_file());
    assert!(server.url().starts_with("redis://127.0.0.1:"));
}

#[test]
fn server_errors_are_replies_not_panics() {
    let server = Server::start("redis-8.2");
    assert!(server.cmd_str(&["NOSUCHCOMMAND"]).is_error());
}

#[test]
fn drop_kills_the_server() {
    let server = Server::start("redis-5.0");
    let port = server.port();
    let dir = server.dir().to_path_buf();
    drop(server);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    assert!(!dir.exists());
}

#[test]
fn missing_server_fails_with_install_hint() {
    let err = Server::builder("redis-1.0").try_start().err().expect("redis-1.0 does not exist");
    assert_eq!(err.to_string(), "redis-1.0 is not installed; run: scripts/install-test-servers.sh redis-1.0");
}

#[test]
fn broker_starts_and_creates_topics() {
    let broker = testkit::Broker::start();
    broker.create_topic("redtail-test", 2);
    assert!(broker.bootstrap().starts_with("127.0.0.1:"));
}

#[test]
fn load_rdb_starts_the_server_with_a_fixture() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../rdb/tests/assets/hash-zipmap.rdb");
    let server = Server::builder("redis-2.8").load_rdb(fixture).start();
    assert_eq!(server.cmd_str(&["HGET", "hash", "f2"]), Reply::Bulk(b"v2".to_vec()));
}
