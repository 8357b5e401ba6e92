//! Test kit: real Redis and Valkey servers of a named version, on free loopback ports, and a
//! TCP fault proxy ([`FaultProxy`]) to put between them and a client.
//!
//! redtail is only as good as its agreement with real servers, so integration tests start the
//! real thing rather than mocks:
//!
//! ```no_run
//! let server = testkit::Server::start("redis-7.4");
//! server.cmd_str(&["SET", "a", "b"]);
//! server.cmd_str(&["SAVE"]);
//! let rdb = std::fs::read(server.rdb_path()).unwrap();
//! ```
//!
//! Servers are installed once per machine by `scripts/install-test-servers.sh NAME...` into
//! `$REDTAIL_SERVERS` (default `~/.cache/redtail/servers`). A missing server makes the test
//! fail with the command that installs it: a silently skipped test would hide a gap in CI.

mod client;
mod cluster;
pub mod dataset;
mod error;
mod install;
#[cfg(feature = "kafka")]
pub mod kafka_reader;
mod proxy;
pub mod rdb_writer;
mod resp_text;
mod s3;
mod sentinel;
mod server;
mod tansu;
mod version;

pub use client::{Client, Reply};
pub use cluster::Cluster;
pub use error::Error;
pub use install::{install_hint, installation, require_tool, servers_dir, Installation};
pub use proxy::{Direction, FaultProxy};
pub use resp_text::parse_resp;
pub use s3::S3Store;
pub use sentinel::Sentinel;
pub use server::{Server, ServerBuilder};
pub use tansu::{Broker, BrokerBuilder};
pub use version::{Product, Version};

/// A loopback port free right now, for a test that must know a port before it starts what
/// listens there (a broker behind a proxy, a broker restarted on the same port).
#[track_caller]
pub fn free_port() -> u16 {
    server::free_port().unwrap_or_else(|e| panic!("{e}"))
}

/// The Redis/Valkey servers CI installs and tests against (`scripts/install-test-servers.sh ci`,
/// which also installs the `tansu` broker, started with [`Broker::start`], and the `moto` S3
/// server that keeps its data across a restart, [`S3Store`]).
///
/// One server per RDB format generation, bounded so CI stays within its time budget.
pub fn ci_servers() -> &'static [&'static str] {
    &["redis-2.8", "redis-3.2", "redis-5.0", "redis-6.2", "redis-7.0", "redis-7.4", "redis-8.2", "valkey-9.1"]
}

/// Every Redis/Valkey server the installer knows (`scripts/install-test-servers.sh all`).
pub fn all_servers() -> &'static [&'static str] {
    &[
        "redis-2.8",
        "redis-3.0",
        "redis-3.2",
        "redis-5.0",
        "redis-6.0",
        "redis-6.2",
        "redis-7.0",
        "redis-7.2",
        "redis-7.4",
        "redis-8.0",
        "redis-8.2",
        "valkey-8.0",
        "valkey-8.1",
        "valkey-9.0",
        "valkey-9.1",
    ]
}
