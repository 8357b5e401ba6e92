//! Comparing the value of one key of a core type, in bounded chunks: a 1 GB string or a list of
//! millions is read a piece at a time from both sides, never whole.
//!
//! Unordered types (sets, sorted sets, hashes) are compared by size, then by looking up each
//! of the source's elements in the target (`*SCAN` on one side, pipelined point lookups on the
//! other): with equal sizes, "every source element is in the target with the same value" means
//! the two are equal, and memory stays one chunk.

use resp::Frame;

use crate::difference::{quote, DiffKind};
use crate::endpoint::scan_reply;
use crate::error::Error;
use crate::pair::{array, int, show, text, Pair};
use crate::stream;

/// Bytes of a string read per `GETRANGE`.
const CHUNK_BYTES: i64 = 1 << 20;
/// Elements per `LRANGE`, `*SCAN` `COUNT` and lookup pipeline.
pub const CHUNK_ELEMENTS: usize = 1000;

/// The first difference found in the key's value, if any.
pub type Found = Option<(DiffKind, String)>;

/// Compares the value of `key`, whose type (as `TYPE` names it) is the same on both sides.
pub async fn compare(p: &mut Pair<'_>, key: &[u8], kind: &[u8], ttl_tolerance_ms: u64) -> Result<Found, Error> {
    match kind {
        b"string" => Ok(strings(p, &[key]).await?.pop().flatten()),
        b"list" => list(p, key).await,
        b"set" => set(p, key).await,
        b"zset" => zset(p, key).await,
        b"hash" => hash(p, key, ttl_tolerance_ms).await,
        b"stream" => stream::compare(p, key).await,
        _ => dump(p, key).await,
    }
}

fn value(detail: String) -> Found {
    Some((DiffKind::Value, detail))
}

async fn sizes(p: &mut Pair<'_>, key: &[u8], command: &str, what: &str) -> Result<Result<i64, Found>, Error> {
    let (a, b) = p.both_int(key, &[command.as_bytes(), key]).await?;
    Ok(if a == b { Ok(a) } else { Err(value(format!("{what} {a} in the source, {b} in the target"))) })
}

/// Compares the strings among a chunk of keys at once: `STRLEN` and the first `GETRANGE`
/// chunk of every one pipelined on both sides, so a data set of small strings costs one round
/// trip per chunk of keys. Only strings longer than a chunk take more.
pub async fn strings(p: &mut Pair<'_>, keys: &[&[u8]]) -> Result<Vec<Found>, Error> {
    let end = (CHUNK_BYTES - 1).to_string();
    let mut commands: Vec<(&[u8], Vec<Vec<u8>>)> = Vec::with_capacity(keys.len() * 2);
    for key in keys {
        commands.push((key, vec![b"STRLEN".to_vec(), key.to_vec()]));
        commands.push((key, vec![b"GETRANGE".to_vec(), key.to_vec(), b"0".to_vec(), end.clone().into_bytes()]));
    }
    let (a, b) = tokio::join!(p.src.pipeline_keys(&commands), p.tgt.pipeline_keys(&commands));
    let (a, b) = (a?, b?);
    let mut found = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let (la, lb) = (int(p.src, "STRLEN", &a[2 * i])?, int(p.tgt, "STRLEN", &b[2 * i])?);
        let first =
            chunk_difference(0, text(&a[2 * i + 1]).unwrap_or_default(), text(&b[2 * i + 1]).unwrap_or_default());
        found.push(if la != lb {
            value(format!("length {la} in the source, {lb} in the target"))
        } else if first.is_some() {
            first
        } else {
            string_from(p, key, CHUNK_BYTES, la).await?
        });
    }
    Ok(found)
}

/// The rest of a string, from byte `start`, a chunk at a time.
async fn string_from(p: &mut Pair<'_>, key: &[u8], mut start: i64, len: i64) -> Result<Found, Error> {
    while start < len {
        let end = (start + CHUNK_BYTES - 1).to_string();
        let (a, b) = p.both(key, &[&b"GETRANGE"[..], key, start.to_string().as_bytes(), end.as_bytes()]).await?;
        let found = chunk_difference(start, text(&a).unwrap_or_default(), text(&b).unwrap_or_default());
        if found.is_some() {
            return Ok(found);
        }
        start += CHUNK_BYTES;
    }
    Ok(None)
}

/// Where two chunks read from byte `start` differ, with a few bytes of each from there.
fn chunk_difference(start: i64, a: &[u8], b: &[u8]) -> Found {
    if a == b {
        return None;
    }
    let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let around = |s: &[u8]| quote(&s[at.min(s.len())..(at + 20).min(s.len())]);
    let offset = start + at as i64;
    value(format!("from byte {offset}: {} in the source, {} in the target", around(a), around(b)))
}

async fn list(p: &mut Pair<'_>, key: &[u8]) -> Result<Found, Error> {
    let len = match sizes(p, key, "LLEN", "length").await? {
        Ok(len) => len,
        Err(found) => return Ok(found),
    };
    let mut start = 0;
    while start < len {
        let end = (start + CHUNK_ELEMENTS as i64 - 1).to_string();
        let (a, b) = p.both(key, &[&b"LRANGE"[..], key, start.to_string().as_bytes(), end.as_bytes()]).await?;
        let (a, b) = (array(p.src, "LRANGE", &a)?, array(p.tgt, "LRANGE", &b)?);
        if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
            let side = |s: &[Frame]| s.get(i).map(show).unwrap_or_else(|| "nothing".into());
            return Ok(value(format!(
                "element {}: {} in the source, {} in the target",
                start + i as i64,
                side(a),
                side(b)
            )));
        }
        start += CHUNK_ELEMENTS as i64;
    }
    Ok(None)
}

/// Walks the source's elements with `scan` (SSCAN, ZSCAN, HSCAN), `per_item` reply items at a
/// time, and hands each chunk to `check`, which looks them up in the target.
async fn scan_source<F>(p: &mut Pair<'_>, key: &[u8], scan: &str, per_item: usize, mut check: F) -> Result<Found, Error>
where
    F: AsyncChunkCheck,
{
    let mut cursor = b"0".to_vec();
    let count = CHUNK_ELEMENTS.to_string();
    loop {
        let args: [&[u8]; 5] = [scan.as_bytes(), key, &cursor, b"COUNT", count.as_bytes()];
        let reply = p.src.call_key(key, &args).await?;
        let (next, items) = scan_reply(&reply).ok_or_else(|| p.src.refused(scan, &reply))?;
        if items.len() % per_item != 0 {
            return Err(p.src.unexpected(scan, &reply));
        }
        // A SCAN step may return nothing (and a command with no fields is a syntax error).
        if items.is_empty() {
        } else if let Some(found) = check.check(p, key, &items).await? {
            return Ok(Some(found));
        }
        if next == b"0" {
            return Ok(None);
        }
        cursor = next;
    }
}

/// One chunk's lookup in the target (an async closure, spelled out for stable Rust).
trait AsyncChunkCheck {
    async fn check(&mut self, p: &mut Pair<'_>, key: &[u8], items: &[Vec<u8>]) -> Result<Found, Error>;
}

/// Runs one command per item on the target's node for `key`, pipelined.
async fn target_lookups(p: &mut Pair<'_>, key: &[u8], commands: Vec<Vec<Vec<u8>>>) -> Result<Vec<Frame>, Error> {
    let keyed: Vec<(&[u8], Vec<Vec<u8>>)> = commands.into_iter().map(|c| (key, c)).collect();
    p.tgt.pipeline_keys(&keyed).await
}

struct SetMembers;
impl AsyncChunkCheck for SetMembers {
    async fn check(&mut self, p: &mut Pair<'_>, key: &[u8], items: &[Vec<u8>]) -> Result<Found, Error> {
        let commands = items.iter().map(|m| vec![b"SISMEMBER".to_vec(), key.to_vec(), m.clone()]).collect();
        let replies = target_lookups(p, key, commands).await?;
        for (member, reply) in items.iter().zip(&replies) {
            if int(p.tgt, "SISMEMBER", reply)? != 1 {
                return Ok(value(format!("member {} is not in the target", quote(member))));
            }
        }
        Ok(None)
    }
}

async fn set(p: &mut Pair<'_>, key: &[u8]) -> Result<Found, Error> {
    match sizes(p, key, "SCARD", "cardinality").await? {
        Ok(_) => scan_source(p, key, "SSCAN", 1, SetMembers).await,
        Err(found) => Ok(found),
    }
}

struct ZsetScores;
impl AsyncChunkCheck for ZsetScores {
    async fn check(&mut self, p: &mut Pair<'_>, key: &[u8], items: &[Vec<u8>]) -> Result<Found, Error> {
        let pairs: Vec<&[Vec<u8>]> = items.chunks(2).collect();
        let commands = pairs.iter().map(|m| vec![b"ZSCORE".to_vec(), key.to_vec(), m[0].clone()]).collect();
        let replies = target_lookups(p, key, commands).await?;
        for (pair, reply) in pairs.iter().zip(&replies) {
            let (member, score) = (&pair[0], &pair[1]);
            let Some(theirs) = text(reply) else {
                return Ok(value(format!("member {} is not in the target", quote(member))));
            };
            if !same_score(score, theirs) {
                return Ok(value(format!(
                    "member {}: score {} in the source, {} in the target",
                    quote(member),
                    String::from_utf8_lossy(score),
                    String::from_utf8_lossy(theirs)
                )));
            }
        }
        Ok(None)
    }
}

/// Scores compared as numbers: servers print them differently (`1.5` vs `1.50000000000000000`
/// on old versions, `inf`), but the double must be the same.
fn same_score(a: &[u8], b: &[u8]) -> bool {
    let parse = |s: &[u8]| std::str::from_utf8(s).ok().and_then(|s| s.parse::<f64>().ok());
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

async fn zset(p: &mut Pair<'_>, key: &[u8]) -> Result<Found, Error> {
    match sizes(p, key, "ZCARD", "cardinality").await? {
        Ok(_) => scan_source(p, key, "ZSCAN", 2, ZsetScores).await,
        Err(found) => Ok(found),
    }
}

struct HashFields {
    ttl_tolerance_ms: u64,
}
impl AsyncChunkCheck for HashFields {
    async fn check(&mut self, p: &mut Pair<'_>, key: &[u8], items: &[Vec<u8>]) -> Result<Found, Error> {
        let fields: Vec<&[u8]> = items.chunks(2).map(|pair| pair[0].as_slice()).collect();
        let mut hmget: Vec<&[u8]> = vec![b"HMGET", key];
        hmget.extend(&fields);
        let reply = p.tgt.call_key(key, &hmget).await?;
        let theirs = array(p.tgt, "HMGET", &reply)?;
        for (pair, theirs) in items.chunks(2).zip(theirs) {
            let (field, ours) = (&pair[0], &pair[1]);
            match text(theirs) {
                None => return Ok(value(format!("field {} is not in the target", quote(field)))),
                Some(t) if t != &ours[..] => {
                    return Ok(value(format!(
                        "field {}: {} in the source, {} in the target",
                        quote(field),
                        quote(ours),
                        quote(t)
                    )))
                }
                Some(_) => {}
            }
        }
        field_ttls(p, key, &fields, self.ttl_tolerance_ms).await
    }
}

/// Hash field expiry times (`HPEXPIRETIME`, absolute, so no drift between the reads). A side
/// whose server has no field TTLs has none: a TTL on the other side is then a difference.
async fn field_ttls(p: &mut Pair<'_>, key: &[u8], fields: &[&[u8]], tolerance: u64) -> Result<Found, Error> {
    if fields.is_empty() || !(p.src.capabilities.field_ttls || p.tgt.capabilities.field_ttls) {
        return Ok(None);
    }
    let n = fields.len().to_string();
    let mut args: Vec<&[u8]> = vec![b"HPEXPIRETIME", key, b"FIELDS", n.as_bytes()];
    args.extend(fields);
    let none = vec![-1; fields.len()];
    let src = if p.src.capabilities.field_ttls { times(p, true, key, &args).await? } else { none.clone() };
    let tgt = if p.tgt.capabilities.field_ttls { times(p, false, key, &args).await? } else { none };
    for ((field, a), b) in fields.iter().zip(&src).zip(&tgt) {
        let show = |t: i64| if t < 0 { "no TTL".to_string() } else { format!("expiry {t} ms") };
        let differ = match (*a >= 0, *b >= 0) {
            (true, true) => a.abs_diff(*b) > tolerance,
            (x, y) => x != y,
        };
        if differ {
            return Ok(value(format!(
                "field {}: {} in the source, {} in the target",
                quote(field),
                show(*a),
                show(*b)
            )));
        }
    }
    Ok(None)
}

async fn times(p: &mut Pair<'_>, source: bool, key: &[u8], args: &[&[u8]]) -> Result<Vec<i64>, Error> {
    let side = if source { &mut *p.src } else { &mut *p.tgt };
    let reply = side.call_key(key, args).await?;
    let items = array(side, "HPEXPIRETIME", &reply)?;
    items.iter().map(|f| int(side, "HPEXPIRETIME", f)).collect()
}

async fn hash(p: &mut Pair<'_>, key: &[u8], ttl_tolerance_ms: u64) -> Result<Found, Error> {
    match sizes(p, key, "HLEN", "field count").await? {
        Ok(_) => scan_source(p, key, "HSCAN", 2, HashFields { ttl_tolerance_ms }).await,
        Err(found) => Ok(found),
    }
}

/// Types verify does not know (module types) are compared by their `DUMP` payloads, which is
/// exact when both servers write the same payload version.
async fn dump(p: &mut Pair<'_>, key: &[u8]) -> Result<Found, Error> {
    let (a, b) = p.both(key, &[&b"DUMP"[..], key]).await?;
    Ok(if a == b { None } else { value("the DUMP payloads differ (a type verify compares only as a whole)".into()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_compare_as_numbers() {
        assert!(same_score(b"1.5", b"1.50000000000000000"));
        assert!(same_score(b"inf", b"inf"));
        assert!(same_score(b"-inf", b"-inf"));
        assert!(!same_score(b"inf", b"-inf"));
        assert!(same_score(b"0", b"-0"), "IEEE: 0 == -0, and Redis prints both as 0");
        assert!(!same_score(b"0.1", b"0.10000000000000002"));
    }
}
