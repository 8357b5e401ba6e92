//! Sources other than plain TCP, against a real server: TLS (CA file, client certificate,
//! insecure mode, and an untrusted certificate refused), a unix socket, and a restart from a
//! checkpoint file written by the sink crate's store.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use replica::{Backoff, Checkpoint, SessionConfig, Source, StartFrom, TlsOptions};
use testkit::Server;

const WITHIN: Duration = Duration::from_secs(30);

fn tls_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tls").join(name)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

/// redis-7.0 (Debian's build has TLS) with a TLS port that requires a client certificate
/// when `auth_clients`.
fn tls_server(auth_clients: bool) -> (Server, u16) {
    let port = free_port();
    let path = |name: &str| tls_file(name).to_string_lossy().into_owned();
    let server = Server::builder("redis-7.0")
        .arg("--tls-port")
        .arg(port.to_string())
        .arg("--tls-cert-file")
        .arg(path("server.crt"))
        .arg("--tls-key-file")
        .arg(path("server.key"))
        .arg("--tls-ca-cert-file")
        .arg(path("ca.crt"))
        .arg("--tls-auth-clients")
        .arg(if auth_clients { "yes" } else { "no" })
        .start();
    (server, port)
}

fn config(source: Source, tls: TlsOptions) -> SessionConfig {
    SessionConfig {
        sources: vec![source],
        tls,
        backoff: Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(500) },
        max_failures: Some(3),
        ..SessionConfig::default()
    }
}

async fn snapshot_then_a_write(server: &Server, config: SessionConfig) {
    write_range(server, 0..3);
    let (mut rx, task) = spawn_session(config);
    let mut all = collect_until(&mut rx, WITHIN, |s| matches!(s, Seen::SnapshotEnd(_))).await;
    write_range(server, 3..5);
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(4)).await);
    task.abort();
    assert_exactly_the_writes(&all, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_ca_file_and_a_client_certificate() {
    let (server, tls_port) = tls_server(true);
    let source = Source::parse(&format!("rediss://localhost:{tls_port}")).unwrap();
    let tls = TlsOptions {
        ca_file: Some(tls_file("ca.crt")),
        cert_file: Some(tls_file("client.crt")),
        key_file: Some(tls_file("client.key")),
        ..TlsOptions::default()
    };
    snapshot_then_a_write(&server, config(source, tls)).await;
}

/// An IP address is verified against the certificate's IP SAN; SNI can name the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_by_ip_address_and_with_sni() {
    let (server, tls_port) = tls_server(false);
    let source = Source::parse(&format!("rediss://127.0.0.1:{tls_port}")).unwrap();
    let ca = TlsOptions { ca_file: Some(tls_file("ca.crt")), ..TlsOptions::default() };
    snapshot_then_a_write(&server, config(source.clone(), ca.clone())).await;
    let sni = TlsOptions { sni: Some("localhost".into()), ..ca };
    let server2 = tls_server(false);
    let source2 = Source::parse(&format!("rediss://127.0.0.1:{}", server2.1)).unwrap();
    snapshot_then_a_write(&server2.0, config(source2, sni)).await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_insecure_accepts_an_untrusted_certificate_and_verification_refuses_it() {
    let (server, tls_port) = tls_server(false);
    let source = Source::parse(&format!("rediss://localhost:{tls_port}")).unwrap();
    // Verified against a CA that did not sign the server's certificate: a fatal error, not a
    // retry loop.
    let wrong = TlsOptions { ca_file: Some(tls_file("other-ca.crt")), ..TlsOptions::default() };
    let (_rx, task) = spawn_session(config(source.clone(), wrong));
    let err = tokio::time::timeout(WITHIN, task).await.unwrap().unwrap();
    assert!(err.contains("TLS handshake") && err.contains("certificate"), "{err}");
    let insecure = TlsOptions { insecure: true, ..TlsOptions::default() };
    snapshot_then_a_write(&server, config(source, insecure)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("redis.sock");
    let server = Server::builder("redis-7.0")
        .arg("--unixsocket")
        .arg(socket.to_string_lossy())
        .arg("--unixsocketperm")
        .arg("700")
        .start();
    let deadline = std::time::Instant::now() + WITHIN;
    while !socket.exists() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let source = Source::parse(&format!("unix://{}", socket.display())).unwrap();
    snapshot_then_a_write(&server, config(source, TlsOptions::default())).await;
    server.cmd_str(&["FLUSHALL"]).expect_ok();
    let bare = Source::parse(&socket.to_string_lossy()).unwrap();
    snapshot_then_a_write(&server, config(bare, TlsOptions::default())).await;
}

/// A password in the URL authenticates; a wrong one is a fatal error that does not print it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_from_the_url() {
    // Set after start: the test kit's readiness check is an unauthenticated PING. Its shared
    // connection stays authenticated.
    let server = Server::start("redis-7.0");
    server.cmd_str(&["CONFIG", "SET", "requirepass", "s3cret"]).expect_ok();
    let good = Source::parse(&format!("redis://:s3cret@127.0.0.1:{}", server.port())).unwrap();
    snapshot_then_a_write(&server, config(good, TlsOptions::default())).await;
    let bad = Source::parse(&format!("redis://:hunter2@127.0.0.1:{}", server.port())).unwrap();
    let (_rx, task) = spawn_session(config(bad, TlsOptions::default()));
    let err = tokio::time::timeout(WITHIN, task).await.unwrap().unwrap();
    assert!(err.contains("authentication failed") && !err.contains("hunter2"), "{err}");
}

/// A follower that stops (as if killed) and starts again from the checkpoint file its
/// handler saved resumes with `+CONTINUE`: the union of what both runs saw is exactly the
/// writes, and the only repeats are after the saved checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_from_a_saved_checkpoint_file() {
    let server = Server::start("redis-7.0");
    write_range(&server, 0..10);
    let dir = tempfile::tempdir().unwrap();
    let store = sink::CheckpointStore::new(dir.path().join("follow.checkpoint"));
    let source = Source::parse(&server.url()).unwrap();

    let (mut rx, task) = spawn_session(config(source.clone(), TlsOptions::default()));
    let mut all = collect_until(&mut rx, WITHIN, |s| matches!(s, Seen::SnapshotEnd(_))).await;
    write_range(&server, 10..50);
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(49)).await);
    // Save the latest checkpoint reported so far, then "kill" the follower.
    let saved = all
        .iter()
        .rev()
        .find_map(|s| match s {
            Seen::Checkpoint(cp) => Some(*cp),
            _ => None,
        })
        .expect("checkpoints were reported");
    let stored = sink::Checkpoint { replid: saved.replid.to_string(), offset: saved.offset, db: saved.db };
    store.save(&stored).unwrap();
    task.abort();
    write_range(&server, 50..60);

    let loaded = store.load().unwrap().unwrap();
    assert_eq!(loaded, stored);
    let cp = Checkpoint { replid: loaded.replid.parse().unwrap(), offset: loaded.offset, db: loaded.db };
    let mut cfg = config(source, TlsOptions::default());
    cfg.start = StartFrom::Checkpoint(cp);
    let (mut rx, task) = spawn_session(cfg);
    let first = next(&mut rx, WITHIN).await;
    assert!(matches!(&first, Seen::Continue { offset, .. } if *offset == cp.offset), "{first:?}");
    let later = collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(59)).await;
    task.abort();
    assert_eq!(cp.db, Some(0), "the checkpoint keeps the db: the master does not resend SELECT");
    all.push(first);
    all.extend(later);
    assert_exactly_the_writes(&all, 59);
}
