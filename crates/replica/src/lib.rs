//! The Redis/Valkey replication protocol, replica side, as a state machine with no sockets
//! (in the manner of rustls and quinn-proto): bytes in, bytes out, time passed in as
//! [`Instant`](std::time::Instant)s. A thin async driver owns the socket and timers.
//!
//! It covers the handshake (`PING`, `AUTH`, `REPLCONF`), `PSYNC` and its replies, the
//! snapshot (both framings, decoded on the fly by [`rdb::Parser`]), and the command stream with
//! exact offsets, `SELECT` and `MULTI`/`EXEC` tracking, and `REPLCONF ACK`. The facts it
//! relies on are in the project's protocol reference, §2 and §3.
//!
//! With the `tokio` feature (the default) the crate also does the I/O, in files of their
//! own: [`Source`] parses redis-cli style addresses, [`connect`] opens TCP, unix-socket and
//! TLS connections, [`driver::run`] runs one connection, and [`Session`] is the long-running
//! follower that reconnects with backoff and resumes from the last delivered offset.
//!
//! ```
//! use std::time::Instant;
//! use replica::{Config, Output, Replica};
//!
//! let now = Instant::now();
//! let mut r = Replica::new(Config::default(), now);
//! let Some(Output::Transmit(ping)) = r.poll_output(now).unwrap() else { panic!() };
//! assert_eq!(&ping.0[..], b"*1\r\n$4\r\nPING\r\n");
//! assert!(r.poll_output(now).unwrap().is_none()); // waiting for +PONG
//! r.receive(b"+PONG\r\n", now);
//! let Some(Output::Transmit(replconf)) = r.poll_output(now).unwrap() else { panic!() };
//! assert!(replconf.0.starts_with(b"*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port"));
//! ```

mod config;
#[cfg(feature = "tokio")]
mod connect;
#[cfg(feature = "tokio")]
pub mod driver;
mod error;
mod handshake;
mod id;
mod info;
mod machine;
mod output;
mod position;
#[cfg(feature = "tokio")]
mod probe;
mod sentinel;
#[cfg(feature = "tokio")]
mod session;
mod snapshot;
mod source;
#[cfg(feature = "tokio")]
mod tls;

pub use config::{AckPolicy, Auth, Checkpoint, Config, Start};
pub use error::Error;
pub use id::{ReplId, TxId};
pub use info::ReplicationInfo;
pub use machine::{Phase, Replica};
pub use output::{Command, CommandKind, Output, Transmit};
pub use sentinel::{master_address, Sentinels, DEFAULT_SENTINEL_PORT};
pub use source::{Address, Source, SourceOverrides, DEFAULT_PORT};

#[cfg(feature = "tokio")]
pub use connect::{connect, Connection};
#[cfg(feature = "tokio")]
pub use driver::Handler;
#[cfg(feature = "tokio")]
pub use probe::{ask_sentinel, replication_info};
#[cfg(feature = "tokio")]
pub use session::{Backoff, Session, SessionConfig, StartFrom};
pub use snapshot::stream_db;
#[cfg(feature = "tokio")]
pub use tls::TlsOptions;

#[cfg(test)]
mod tests;
