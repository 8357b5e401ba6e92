//! `follow --sched-slice-us`: the running follower's thread has the slice it asked for, as the
//! kernel reports it (`se.slice` in /proc/PID/sched, Linux 6.12 and newer). Why it asks is in
//! crates/cli/src/sched_slice.rs.

mod common;

use common::follow::Follower;
use testkit::Server;

/// `se.slice` (ns) of `/proc/<who>/sched`; `None` where the kernel has no custom slices.
fn slice_of(who: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{who}/sched")).unwrap();
    text.lines()
        .find(|l| l.starts_with("se.slice"))
        .map(|l| l.rsplit(':').next().unwrap().trim().parse().expect("se.slice is a number"))
}

/// The follower's main thread (which runs the replication) once it is streaming.
fn follower_slice(master: &Server, extra: &[&str]) -> Option<u64> {
    let mut args = extra.to_vec();
    let url = master.url();
    args.push(&url);
    let mut follower = Follower::start(&args);
    follower.wait_synced();
    let slice = slice_of(&follower.pid().to_string());
    let (status, follower) = follower.terminate();
    assert!(status.success(), "{status}\n{}", follower.stderr());
    slice
}

#[test]
fn the_follower_runs_with_the_slice_it_asked_for() {
    let master = Server::start("redis-7.0");
    // A process started with no request has the kernel's default, as this test's thread does.
    let default = slice_of("thread-self");
    match default {
        Some(default) => {
            assert_ne!(default, 100_000, "the kernel's default slice is not the one asked for");
            assert_eq!(follower_slice(&master, &[]), Some(100_000), "the default --sched-slice-us 100");
            assert_eq!(follower_slice(&master, &["--sched-slice-us", "250"]), Some(250_000));
            assert_eq!(follower_slice(&master, &["--sched-slice-us", "0"]), Some(default), "0 leaves it alone");
        }
        // Before Linux 6.12 the kernel ignores the request and shows no slice; following works.
        None => assert_eq!(follower_slice(&master, &[]), None),
    }
}

#[test]
fn a_slice_out_of_range_is_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_redtail"))
        .args(["follow", "--sched-slice-us", "100001"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sched-slice-us"), "{out:?}");
}
