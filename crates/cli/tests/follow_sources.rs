//! The connection flags reach the session: TLS with redis-cli's flags, and several sources
//! tried in turn. (The protocol behind them is tested in the replica crate; this checks the
//! wiring.)

mod common;

use common::follow::{commands, Follower};
use common::tls::{tls_file, tls_server};
use testkit::{Sentinel, Server};

#[track_caller]
fn follows(server: &Server, args: &[&str]) {
    let mut follower = Follower::start(args);
    follower.wait_synced();
    server.cmd_str(&["SET", "over", "tls"]).expect_ok();
    follower.wait_for_events("the write", |events| commands(events).iter().any(|c| c["args"][0] == "over"));
    let (status, follower) = follower.terminate();
    assert!(status.success(), "{status}\n{}", follower.stderr());
}

#[test]
fn tls_with_redis_cli_flags() {
    let (server, port) = tls_server();
    let port = port.to_string();
    let (ca, cert, key) = (tls_file("ca.crt"), tls_file("client.crt"), tls_file("client.key"));
    let client_cert = ["--cert", cert.as_str(), "--tls-key", key.as_str()];
    // --tls with -h/-p, verified against the CA.
    let mut args = vec!["--tls", "-h", "localhost", "-p", &port, "--cacert", &ca];
    args.extend(client_cert);
    follows(&server, &args);
    // rediss:// to an IP address, verified under another name with --sni.
    let url = format!("rediss://127.0.0.1:{port}");
    let mut args = vec![url.as_str(), "--cacert", &ca, "--sni", "localhost"];
    args.extend(client_cert);
    follows(&server, &args);
    // --insecure trusts any certificate.
    let mut args = vec![url.as_str(), "--insecure"];
    args.extend(client_cert);
    follows(&server, &args);

    // Without the CA the certificate is refused: a source error.
    let mut follower = Follower::start(&["--tls", "-h", "localhost", "-p", &port, "--cert", &cert, "--tls-key", &key]);
    assert_eq!(follower.wait().code(), Some(4), "{}", follower.stderr());
}

/// The first source is down; the next one is followed.
#[test]
fn sources_are_tried_in_turn() {
    let server = Server::start("redis-7.0");
    let dead = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let dead = format!("redis://127.0.0.1:{dead}");
    follows(&server, &["--source", &dead, "--source", &server.url()]);
}

/// --sentinel and --master-name: the sentinel names the master, which is followed. (The
/// failover itself is tested in the replica crate.)
#[test]
fn the_sentinel_names_the_master() {
    let server = Server::start("redis-7.0");
    let sentinel = Sentinel::start("redis-7.0", "cache", server.port());
    let dead = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let sentinels = format!("127.0.0.1:{dead},{}", sentinel.address());
    follows(&server, &["--sentinel", &sentinels, "--master-name", "cache"]);

    // A name the sentinel does not monitor: a clear source error, at once.
    let mut follower = Follower::start(&["--sentinel", &sentinel.address(), "--master-name", "other"]);
    assert_eq!(follower.wait().code(), Some(4), "{}", follower.stderr());
    assert!(follower.stderr().contains("no master named \"other\""), "{}", follower.stderr());
}

/// --sentinel-pass: a sentinel with a password is asked after AUTH. Without the password, or
/// with a wrong one, a clear source error at once (retrying cannot fix it), naming the
/// sentinel and the flag, and never the password.
#[test]
fn a_sentinel_with_a_password() {
    let server = Server::start("redis-7.0");
    let sentinel = Sentinel::start("redis-7.0", "cache", server.port());
    sentinel.require_password("s3cret-sentinel");
    let sentinels = sentinel.address();
    follows(&server, &["--sentinel", &sentinels, "--master-name", "cache", "--sentinel-pass", "s3cret-sentinel"]);

    for wrong in [&["--sentinel-pass", "not-it"][..], &[]] {
        let mut follower = Follower::start(&[&["--sentinel", &sentinels, "--master-name", "cache"], wrong].concat());
        assert_eq!(follower.wait().code(), Some(4), "{wrong:?}: {}", follower.stderr());
        let stderr = follower.stderr();
        assert!(stderr.contains(&format!("sentinel {sentinels} refused us")), "{wrong:?}: {stderr}");
        assert!(stderr.contains("--sentinel-pass"), "{wrong:?}: {stderr}");
        assert!(!stderr.contains("not-it"), "the password is never shown: {stderr}");
    }
}

/// `--sentinel rediss://...`: the sentinel's TLS port, with the TLS file flags (a client
/// certificate is required); the master itself stays plain. Without the CA the sentinel's
/// certificate is refused: a source error at once, not endless retries.
#[test]
fn a_sentinel_over_tls() {
    let server = Server::start("redis-7.0");
    let tls_port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let (ca, cert, key) = (tls_file("ca.crt"), tls_file("client.crt"), tls_file("client.key"));
    let config = format!(
        "tls-port {tls_port}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {ca}\ntls-auth-clients yes\n",
        tls_file("server.crt"),
        tls_file("server.key"),
    );
    let _sentinel = Sentinel::start_with("redis-7.0", "cache", server.port(), &config);
    // The certificate names localhost, not 127.0.0.1.
    let sentinel = format!("rediss://localhost:{tls_port}");
    let find = ["--sentinel", sentinel.as_str(), "--master-name", "cache", "--cert", cert.as_str(), "--tls-key", &key];
    follows(&server, &[&find[..], &["--cacert", ca.as_str()]].concat());

    let mut follower = Follower::start(&find);
    assert_eq!(follower.wait().code(), Some(4), "{}", follower.stderr());
    assert!(follower.stderr().contains("TLS handshake"), "{}", follower.stderr());
}
