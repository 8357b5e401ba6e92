//! `redtail rdb` on the vendored Redis/Valkey test files, checked against what real servers
//! made of them (crates/rdb/tests/assets/expected/, written by scripts/gen-rdb-asset-expectations.sh),
//! never against the decoder's own output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rdb/tests/assets")
}

fn redtail(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redtail")).args(args).output().unwrap()
}

fn asset(name: &str) -> String {
    assets().join(name).to_str().unwrap().to_owned()
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(assets().join("expected").join(name)).unwrap()
}

/// A value in the form the expectation files use, normalised so that unordered types compare
/// as sets: (type, key) → value.
type Dataset = BTreeMap<(u64, String), (String, Value)>;

fn normalise(ty: &str, v: Value) -> Value {
    match ty {
        "set" => {
            let mut m: Vec<String> = v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect();
            m.sort();
            Value::from(m)
        }
        "hash" => {
            let mut pairs: Vec<(String, String)> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned()))
                .collect();
            pairs.sort();
            Value::from(pairs.into_iter().map(|(f, v)| Value::from(vec![f, v])).collect::<Vec<_>>())
        }
        "zset" => {
            // Expectation files write scores as text, events as numbers.
            let mut pairs: Vec<(f64, String)> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let score = match &p[1] {
                        Value::String(s) => s.parse().unwrap(),
                        n => n.as_f64().unwrap(),
                    };
                    (score, p[0].as_str().unwrap().to_owned())
                })
                .collect();
            pairs.sort_by(|a, b| a.partial_cmp(b).unwrap());
            Value::from(pairs.into_iter().map(|(s, m)| serde_json::json!([m, s])).collect::<Vec<_>>())
        }
        _ => v,
    }
}

/// Reads an expectation file: `db<TAB>type<TAB>"key"<TAB>value-json<TAB>ttl` per key.
fn expected_dataset(name: &str) -> Dataset {
    let mut d = Dataset::new();
    for line in expected(&format!("{name}.txt")).lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "{line}");
        assert_eq!(cols[4], "-1", "these assets have no TTLs");
        let key: String = serde_json::from_str(cols[2]).unwrap();
        let value = serde_json::from_str(cols[3]).unwrap();
        d.insert((cols[0].parse().unwrap(), key), (cols[1].to_owned(), normalise(cols[1], value)));
    }
    d
}

/// Runs `redtail rdb` and checks the output is valid JSON lines shaped as the contract says.
fn decoded_dataset(name: &str) -> Dataset {
    let out = redtail(&["rdb", &asset(name)]);
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert_eq!(lines.first().unwrap()["event"], "begin");
    let end = lines.last().unwrap();
    assert_eq!(end["event"], "end");
    let mut d = Dataset::new();
    for l in lines.iter().filter(|l| l["event"] == "key") {
        let ty = l["type"].as_str().unwrap().to_owned();
        assert!(l["expire_at_ms"].is_null());
        let value = normalise(&ty, l["value"].clone());
        d.insert((l["db"].as_u64().unwrap(), l["key"].as_str().unwrap().to_owned()), (ty, value));
    }
    assert_eq!(end["keys"].as_u64().unwrap(), d.len() as u64);
    d
}

const GOOD: &[&str] = &[
    "encodings.rdb",
    "hash-ziplist.rdb",
    "hash-zipmap.rdb",
    "list-quicklist.rdb",
    "scriptbackup.rdb",
    "zset-ziplist.rdb",
];

#[test]
fn json_output_matches_what_redis_loaded() {
    for name in GOOD {
        assert_eq!(decoded_dataset(name), expected_dataset(name), "{name}");
    }
}

#[test]
fn rdb_preamble_of_an_aof_file() {
    // Redis loaded the RDB part and then the AOF tail; the RDB part holds a subset.
    let decoded = decoded_dataset("rdb-preamble.aof");
    let all = expected_dataset("rdb-preamble.aof");
    assert!(!decoded.is_empty());
    for (k, v) in &decoded {
        assert_eq!(all.get(k), Some(v), "{k:?}");
    }
    let out = redtail(&["rdb", &asset("rdb-preamble.aof")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("continues after the end of the RDB"), "{stderr}");
}

/// The numbers redis-check-rdb printed: keys read, and whether a checksum was verified.
fn redis_check(name: &str) -> (u64, bool) {
    let text = expected(&format!("{name}.check.txt"));
    let keys =
        text.lines().find_map(|l| l.strip_prefix("[info] ")?.strip_suffix(" keys read")).unwrap().parse().unwrap();
    (keys, text.contains("Checksum OK"))
}

/// The key redis-check-rdb was reading when it found the damage.
fn redis_check_error_key(name: &str) -> String {
    let text = expected(&format!("{name}.check.txt"));
    text.lines().find_map(|l| l.strip_prefix("[additional info] Reading key '")?.strip_suffix('\'')).unwrap().to_owned()
}

#[test]
fn check_accepts_good_files_with_redis_check_rdb_counts() {
    for name in GOOD.iter().chain(&["rdb-preamble.aof"]) {
        let out = redtail(&["rdb", "--check", &asset(name)]);
        let report = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {report}");
        let (keys, verified) = redis_check(name);
        assert!(report.contains(&format!("\nkeys: {keys} (")), "{name}: {report}");
        assert_eq!(report.contains("checksum: verified"), verified, "{name}: {report}");
        assert!(report.ends_with("status: OK\n"), "{report}");
    }
}

#[test]
fn check_rejects_the_corrupt_files_at_the_same_key_as_redis() {
    for name in ["corrupt_ziplist.rdb", "corrupt_empty_keys.rdb"] {
        let out = redtail(&["rdb", "--check", &asset(name)]);
        let report = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}: {report}");
        assert!(report.contains("error at byte offset "), "{report}");
        let key = redis_check_error_key(name);
        assert!(report.contains(&format!("in key: \"{key}\"")), "{name}: expected key {key}: {report}");
        assert!(report.ends_with("status: INVALID\n"), "{report}");
    }
}

#[test]
fn corrupt_ziplist_fails_the_json_output_with_offset_and_key() {
    let out = redtail(&["rdb", &asset("corrupt_ziplist.rdb")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at byte offset "), "{stderr}");
    assert!(stderr.contains(&redis_check_error_key("corrupt_ziplist.rdb")), "{stderr}");
    // What was written before the error is whole, valid lines.
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        serde_json::from_str::<Value>(l).unwrap();
    }
}

#[test]
fn unsupported_version_says_which_are_supported() {
    let out = redtail(&["rdb", "--check", &asset("encodings-rdb987.rdb")]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("VALKEY987") && report.contains("VALKEY080"), "{report}");
    let out = redtail(&["rdb", &asset("encodings-rdb987.rdb")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REDIS0001"));
}

#[test]
fn resp_output_of_every_good_asset_is_valid_resp() {
    for name in GOOD {
        let out = redtail(&["rdb", "--format", "resp", &asset(name)]);
        assert!(out.status.success(), "{name}");
        let cmds = testkit::parse_resp(&out.stdout);
        let keys = expected_dataset(name).len();
        // One SELECT, then at least one command per key.
        if keys > 0 {
            assert_eq!(cmds[0], ["SELECT", "0"]);
            assert!(cmds.len() > keys, "{name}: {cmds:?}");
        }
    }
}
