//! Running verify from the tests, and making a target that holds the source's data.

#![allow(dead_code)] // each test file uses its own part

use replica::Source;
use testkit::Server;
use verify::{Difference, Options, Summary};

/// Runs verify between two URLs; panics if it fails to run (differences are not failures).
pub fn verify_urls(source: &str, target: &str, options: &Options) -> (Vec<Difference>, Summary) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut found = Vec::new();
    let (s, t) = (Source::parse(source).unwrap(), Source::parse(target).unwrap());
    let summary = runtime
        .block_on(verify::verify(&s, &t, &verify::TlsBySide::default(), options, &mut |d| found.push(d)))
        .unwrap_or_else(|e| panic!("verify {source} {target}: {e}"));
    (found, summary)
}

/// A new server of `name` started from the source's snapshot: the same data, by the server's
/// own RDB loader rather than anything redtail wrote.
pub fn copy_by_rdb(source: &Server, name: &str) -> Server {
    source.cmd_str(&["SAVE"]).expect_ok();
    Server::builder(name).load_rdb(source.rdb_path()).start()
}

/// The differences as (db, key, kind) for comparing with what a test changed.
pub fn keyed(found: &[Difference]) -> Vec<(u64, String, &'static str)> {
    let mut out: Vec<_> = found
        .iter()
        .map(|d| {
            (d.db, d.key.as_deref().map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_default(), d.kind.name())
        })
        .collect();
    out.sort();
    out
}
