//! The walk: for each db, key counts, then every source key (type, TTL, value) against the
//! target, then every target key the source does not have. Keys come from `SCAN` on every node
//! of each side, a chunk at a time, so memory stays one chunk however many keys there are.

use std::collections::BTreeSet;

use event::glob_match;
use resp::Frame;

use crate::difference::{DiffKind, Difference};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::pair::{int, Pair};
use crate::values::{self, CHUNK_ELEMENTS};

/// What to compare, and how strictly.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only these dbs; empty means every db that holds keys on either side.
    pub dbs: Vec<u64>,
    /// Only keys matching one of these globs (`SCAN MATCH` rules); empty means every key.
    pub key_globs: Vec<Vec<u8>>,
    /// How far two expiry times may be apart and still count as equal: a key's remaining TTL
    /// moves between the reads of the two sides.
    pub ttl_tolerance_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { dbs: Vec::new(), key_globs: Vec::new(), ttl_tolerance_ms: 1000 }
    }
}

/// What was compared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub dbs: Vec<u64>,
    /// Source keys compared with the target (a key `SCAN` returned twice counts twice).
    pub keys_compared: u64,
    /// Target keys checked for existence in the source.
    pub target_keys_checked: u64,
    pub differences: u64,
}

pub async fn run(
    src: &mut Endpoint,
    tgt: &mut Endpoint,
    options: &Options,
    report: &mut dyn FnMut(Difference),
) -> Result<Summary, Error> {
    let (src_counts, tgt_counts) = (src.keyspace().await?, tgt.keyspace().await?);
    let dbs: Vec<u64> = if options.dbs.is_empty() {
        src_counts.keys().chain(tgt_counts.keys()).copied().collect::<BTreeSet<_>>().into_iter().collect()
    } else {
        options.dbs.clone()
    };
    let mut summary = Summary { dbs: dbs.clone(), ..Summary::default() };
    let mut emit = |d: Difference, summary: &mut Summary| {
        summary.differences += 1;
        report(d);
    };
    for db in dbs {
        let (a, b) = (src_counts.get(&db).copied().unwrap_or(0), tgt_counts.get(&db).copied().unwrap_or(0));
        // With a key filter the db totals say nothing about the keys compared.
        if options.key_globs.is_empty() && a != b {
            let detail = format!("{a} keys in the source, {b} in the target");
            emit(Difference { db, key: None, kind: DiffKind::KeyCount, detail }, &mut summary);
        }
        if a == 0 && b == 0 {
            continue;
        }
        src.select(db).await?;
        tgt.select(db).await?;
        let mut p = Pair { src: &mut *src, tgt: &mut *tgt };
        for node in 0..p.src.node_count() {
            let mut cursor = b"0".to_vec();
            loop {
                let (next, keys) = scan(p.src, node, &cursor, options).await?;
                for d in compare_keys(&mut p, db, &keys, options.ttl_tolerance_ms).await? {
                    emit(d, &mut summary);
                }
                summary.keys_compared += keys.len() as u64;
                if next == b"0" {
                    break;
                }
                cursor = next;
            }
        }
        for node in 0..p.tgt.node_count() {
            let mut cursor = b"0".to_vec();
            loop {
                let (next, keys) = scan(p.tgt, node, &cursor, options).await?;
                for key in extra_keys(p.src, &keys).await? {
                    let detail = "exists only in the target".to_string();
                    emit(Difference { db, key: Some(key), kind: DiffKind::Extra, detail }, &mut summary);
                }
                summary.target_keys_checked += keys.len() as u64;
                if next == b"0" {
                    break;
                }
                cursor = next;
            }
        }
    }
    Ok(summary)
}

/// One `SCAN` step, with the key filter: one glob goes to the server as `MATCH`; several are
/// applied here.
async fn scan(
    side: &mut Endpoint,
    node: usize,
    cursor: &[u8],
    options: &Options,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
    let pattern = match &options.key_globs[..] {
        [one] => Some(one.as_slice()),
        _ => None,
    };
    let (next, mut keys) = side.scan(node, cursor, pattern, CHUNK_ELEMENTS).await?;
    if options.key_globs.len() > 1 {
        keys.retain(|k| options.key_globs.iter().any(|g| glob_match(g, k)));
    }
    Ok((next, keys))
}

/// Compares a chunk of source keys: `TYPE` and `PTTL` pipelined on both sides, then each
/// key's value.
async fn compare_keys(p: &mut Pair<'_>, db: u64, keys: &[Vec<u8>], tolerance: u64) -> Result<Vec<Difference>, Error> {
    let mut commands: Vec<(&[u8], Vec<Vec<u8>>)> = Vec::with_capacity(keys.len() * 2);
    for key in keys {
        commands.push((key, vec![b"TYPE".to_vec(), key.clone()]));
        commands.push((key, vec![b"PTTL".to_vec(), key.clone()]));
    }
    let (a, b) = tokio::join!(p.src.pipeline_keys(&commands), p.tgt.pipeline_keys(&commands));
    let (a, b) = (a?, b?);
    let mut out = Vec::new();
    let mut strings: Vec<&[u8]> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let diff = |kind, detail| Difference { db, key: Some(key.clone()), kind, detail };
        let (ta, tb) = (type_name(p.src, &a[2 * i])?, type_name(p.tgt, &b[2 * i])?);
        if ta == b"none" {
            continue; // deleted or expired since SCAN returned it
        }
        if tb == b"none" {
            out.push(diff(DiffKind::Missing, "exists only in the source".into()));
            continue;
        }
        if ta != tb {
            let detail =
                format!("{} in the source, {} in the target", String::from_utf8_lossy(ta), String::from_utf8_lossy(tb));
            out.push(diff(DiffKind::Type, detail));
            continue;
        }
        let (xa, xb) = (int(p.src, "PTTL", &a[2 * i + 1])?, int(p.tgt, "PTTL", &b[2 * i + 1])?);
        if let Some(detail) = ttl_difference(xa, xb, tolerance) {
            out.push(diff(DiffKind::Ttl, detail));
            continue;
        }
        if ta == b"string" {
            strings.push(key.as_slice());
        } else if let Some((kind, detail)) = values::compare(p, key, ta, tolerance).await? {
            out.push(diff(kind, detail));
        }
    }
    // Strings, the common case, together: one pipelined round trip for the chunk.
    for (key, found) in strings.iter().zip(values::strings(p, &strings).await?) {
        if let Some((kind, detail)) = found {
            out.push(Difference { db, key: Some(key.to_vec()), kind, detail });
        }
    }
    Ok(out)
}

fn type_name<'f>(side: &Endpoint, reply: &'f Frame) -> Result<&'f [u8], Error> {
    match reply {
        Frame::Simple(t) | Frame::Bulk(t) => Ok(t),
        other => Err(side.refused("TYPE", other)),
    }
}

/// `PTTL` replies (ms left, -1 for none; both read at the same moment) compared.
fn ttl_difference(a: i64, b: i64, tolerance: u64) -> Option<String> {
    let show = |t: i64| if t < 0 { "no TTL".to_string() } else { format!("{t} ms left") };
    let differ = match (a >= 0, b >= 0) {
        (true, true) => a.abs_diff(b) > tolerance,
        (x, y) => x != y,
    };
    differ.then(|| format!("{} in the source, {} in the target", show(a), show(b)))
}

/// The keys of a target chunk that the source does not have.
async fn extra_keys(src: &mut Endpoint, keys: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, Error> {
    let commands: Vec<(&[u8], Vec<Vec<u8>>)> =
        keys.iter().map(|k| (k.as_slice(), vec![b"EXISTS".to_vec(), k.clone()])).collect();
    let replies = src.pipeline_keys(&commands).await?;
    let mut extra = Vec::new();
    for (key, reply) in keys.iter().zip(&replies) {
        if int(src, "EXISTS", reply)? == 0 {
            extra.push(key.clone());
        }
    }
    Ok(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_within_tolerance_are_equal() {
        assert_eq!(ttl_difference(-1, -1, 0), None);
        assert_eq!(ttl_difference(5000, 4200, 1000), None);
        assert!(ttl_difference(5000, 3000, 1000).unwrap().contains("5000 ms left in the source"));
        assert!(ttl_difference(-1, 10, 1000).unwrap().contains("no TTL in the source"));
        assert!(ttl_difference(10, -1, 1000).unwrap().contains("no TTL in the target"));
    }
}
