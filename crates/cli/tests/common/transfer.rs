//! The two ways a master sends its snapshot, chosen per test: from an RDB file it saves to
//! disk first (`$<len>`), or written straight to the socket (diskless, `$EOF:<mark>`). Each
//! server has a default (disk before 7.0, diskless since), so a test that keeps the default
//! covers only one; the tests set it explicitly and check the master's log for what it did.

use testkit::{Product, Server};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    Disk,
    Diskless,
}

/// Whether the server knows `repl-diskless-sync` (since 2.8.18; CI's 2.8 is 2.8.17, which
/// sends from disk only).
pub fn has_diskless(server: &Server) -> bool {
    let v = server.version();
    v.product == Product::Valkey || v.at_least(2, 8, 18)
}

/// Starts `name` set to send its snapshots by `transfer`. Set at run time with CONFIG SET
/// because the version, which decides whether the setting exists, is known only once started.
#[track_caller]
pub fn start_master(name: &str, transfer: Transfer) -> Server {
    let server = Server::start(name);
    if has_diskless(&server) {
        let yes = if transfer == Transfer::Diskless { "yes" } else { "no" };
        server.cmd_str(&["CONFIG", "SET", "repl-diskless-sync", yes]).expect_ok();
    } else {
        assert_eq!(transfer, Transfer::Disk, "{} sends its snapshot from disk only", server.name());
    }
    server
}

/// Asserts that every full sync the master logged went by `transfer`, and that there was one.
/// The master's own log is the independent witness: "Starting BGSAVE for SYNC with target:
/// disk" or "... target: replicas sockets" ("slaves sockets" before 5.0; 2.8.17 names no
/// target and has only disk).
#[track_caller]
pub fn assert_transferred(master: &Server, transfer: Transfer) {
    let log = master.log();
    let syncs: Vec<Transfer> = log
        .lines()
        .filter(|l| l.contains("Starting BGSAVE for SYNC"))
        .map(|l| if l.contains("sockets") { Transfer::Diskless } else { Transfer::Disk })
        .collect();
    assert!(!syncs.is_empty(), "{}: no full sync in the master's log:\n{log}", master.name());
    assert!(syncs.iter().all(|&t| t == transfer), "{}: full syncs {syncs:?}, wanted {transfer:?}", master.name());
}
