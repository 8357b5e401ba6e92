//! The target's own connection flags: a plain source migrated into a `rediss://` target that
//! wants a client certificate and an ACL user, with `--target-*` flags only (the source needs
//! none), and `redtail verify` reading the target with the same flags.

mod common;

use std::time::Duration;

use common::compare::assert_verify_clean;
use common::follow::{assert_acked_within, wait_replica_online, Follower};
use common::tls::{tls_file, tls_server};
use testkit::{Reply, Server};

#[test]
fn a_tls_target_with_its_own_certificates_and_credentials() {
    let source = Server::start("redis-7.0");
    source.cmd_str(&["SET", "before", "1"]).expect_ok();
    let (target, tls_port) = tls_server();
    target.cmd_str(&["ACL", "SETUSER", "migrator", "on", ">s3cret", "~*", "&*", "+@all"]).expect_ok();
    let url = format!("rediss://127.0.0.1:{tls_port}");
    let (ca, cert, key) = (tls_file("ca.crt"), tls_file("client.crt"), tls_file("client.key"));
    // An IP address in the URL, verified under the certificate's name with --target-sni.
    let tls = ["--target-cacert", &ca, "--target-sni", "localhost", "--target-cert", &cert, "--target-tls-key", &key];
    let source_url = source.url();
    let follow = |password: &str, tls: &[&str]| {
        let mut args = vec!["--sink", &url, "--target-user", "migrator", "--target-pass", password];
        args.extend(tls);
        args.push(&source_url);
        Follower::start(&args)
    };

    // A wrong password is refused at the start (exit code 5), and not shown.
    let mut refused = follow("n0t-it", &tls);
    assert_eq!(refused.wait().code(), Some(5), "{}", refused.stderr());
    let stderr = refused.stderr();
    assert!(stderr.contains("authentication refused") && !stderr.contains("n0t-it"), "{stderr}");
    // Without the target's CA the certificate is not trusted (the source's flags do not count).
    let mut untrusted = follow("s3cret", &["--cacert", &ca, "--target-cert", &cert, "--target-tls-key", &key]);
    assert_eq!(untrusted.wait().code(), Some(5), "{}", untrusted.stderr());

    let redtail = follow("s3cret", &tls);
    wait_replica_online(&source);
    source.cmd_str(&["SET", "after", "2"]).expect_ok();
    assert_acked_within(&source, Duration::from_secs(5));
    for (key, value) in [("before", "1"), ("after", "2")] {
        assert_eq!(target.cmd_str(&["GET", key]), Reply::Bulk(value.as_bytes().to_vec()), "{key}");
    }
    let mut verify = vec![source_url.as_str(), &url, "--target-user", "migrator", "--target-pass", "s3cret"];
    verify.extend(tls);
    assert_verify_clean(&verify);
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
}
