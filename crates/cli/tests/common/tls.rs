//! A server with a TLS port, for the TLS flags of the source and of the target.

use std::path::PathBuf;

use testkit::Server;

/// The replica crate's test certificates (see its tests/tls/README.md).
pub fn tls_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../replica/tests/tls").join(name);
    path.to_string_lossy().into_owned()
}

/// redis-7.0 (Debian's build has TLS) with a TLS port that requires a client certificate, and
/// its plain port for the test's own checks.
pub fn tls_server() -> (Server, u16) {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let server = Server::builder("redis-7.0")
        .arg("--tls-port")
        .arg(port.to_string())
        .arg("--tls-cert-file")
        .arg(tls_file("server.crt"))
        .arg("--tls-key-file")
        .arg(tls_file("server.key"))
        .arg("--tls-ca-cert-file")
        .arg(tls_file("ca.crt"))
        .arg("--tls-auth-clients")
        .arg("yes")
        .start();
    (server, port)
}
