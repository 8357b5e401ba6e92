//! Comparing streams: the entries (chunked `XRANGE`), the stream's own metadata (`XINFO
//! STREAM`: last id, and since 7.0 entries-added and max-deleted-id), and every consumer group
//! (`XINFO GROUPS`: last-delivered-id, entries-read; `XPENDING`: the PEL with owners and
//! delivery counts; `XINFO CONSUMERS`). Idle times are not compared: they move by themselves.

use std::collections::BTreeMap;

use resp::Frame;

use crate::difference::{quote, DiffKind};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::pair::{array, show, text, Pair};
use crate::values::{Found, CHUNK_ELEMENTS};

/// `XINFO STREAM` fields that describe the stream rather than its memory layout. Each is
/// compared only when both servers report it (entries-added and max-deleted-entry-id exist
/// since 7.0, recorded-first-entry-id since 7.2).
const STREAM_FIELDS: [&str; 4] =
    ["last-generated-id", "max-deleted-entry-id", "entries-added", "recorded-first-entry-id"];
/// `XINFO GROUPS` fields compared per group (`entries-read` only when both report it).
const GROUP_FIELDS: [&str; 4] = ["last-delivered-id", "entries-read", "pending", "consumers"];

fn found(detail: String) -> Found {
    Some((DiffKind::Stream, detail))
}

pub async fn compare(p: &mut Pair<'_>, key: &[u8]) -> Result<Found, Error> {
    if let Some(f) = entries(p, key).await? {
        return Ok(Some(f));
    }
    let (a, b) = p.both(key, &[&b"XINFO"[..], b"STREAM", key]).await?;
    let (a, b) = (fields(p.src, "XINFO STREAM", &a)?, fields(p.tgt, "XINFO STREAM", &b)?);
    if let Some(f) = same_fields("the stream", &STREAM_FIELDS, &a, &b) {
        return Ok(Some(f));
    }
    groups(p, key).await
}

async fn entries(p: &mut Pair<'_>, key: &[u8]) -> Result<Found, Error> {
    let (a, b) = p.both_int(key, &[&b"XLEN"[..], key]).await?;
    if a != b {
        return Ok(Some((DiffKind::Value, format!("{a} entries in the source, {b} in the target"))));
    }
    let count = CHUNK_ELEMENTS.to_string();
    let mut start = b"-".to_vec();
    loop {
        let args: [&[u8]; 6] = [b"XRANGE", key, &start, b"+", b"COUNT", count.as_bytes()];
        let (a, b) = p.both(key, &args).await?;
        let (a, b) = (array(p.src, "XRANGE", &a)?, array(p.tgt, "XRANGE", &b)?);
        if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
            let side = |s: &[Frame]| s.get(i).map(entry_text).unwrap_or_else(|| "nothing".into());
            return Ok(Some((DiffKind::Value, format!("entry {} in the source, {} in the target", side(a), side(b)))));
        }
        let Some(last) = a.last() else { return Ok(None) };
        if a.len() < CHUNK_ELEMENTS {
            return Ok(None);
        }
        start = match entry_id(last).and_then(next_id) {
            Some(next) => next,
            None => return Err(p.src.unexpected("XRANGE", last)),
        };
    }
}

async fn groups(p: &mut Pair<'_>, key: &[u8]) -> Result<Found, Error> {
    let (a, b) = p.both(key, &[&b"XINFO"[..], b"GROUPS", key]).await?;
    let (a, b) = (group_map(p.src, &a)?, group_map(p.tgt, &b)?);
    for name in a.keys().chain(b.keys()) {
        let (Some(ga), Some(gb)) = (a.get(name), b.get(name)) else {
            let place = if a.contains_key(name) { "source" } else { "target" };
            return Ok(found(format!("group {} exists only in the {place}", quote(name))));
        };
        let what = format!("group {}", quote(name));
        if let Some(f) = same_fields(&what, &GROUP_FIELDS, ga, gb) {
            return Ok(Some(f));
        }
        if let Some(f) = pending(p, key, name).await? {
            return Ok(Some(f));
        }
        if let Some(f) = consumers(p, key, name).await? {
            return Ok(Some(f));
        }
    }
    Ok(None)
}

/// The PEL, a chunk at a time: entry id, owning consumer, delivery count.
async fn pending(p: &mut Pair<'_>, key: &[u8], group: &[u8]) -> Result<Found, Error> {
    let count = CHUNK_ELEMENTS.to_string();
    let mut start = b"-".to_vec();
    loop {
        let args: [&[u8]; 6] = [b"XPENDING", key, group, &start, b"+", count.as_bytes()];
        let (a, b) = p.both(key, &args).await?;
        let (a, b) = (array(p.src, "XPENDING", &a)?, array(p.tgt, "XPENDING", &b)?);
        let row = |f: &Frame| match f {
            // [id, consumer, idle ms, delivery count]: all but the idle time.
            Frame::Array(parts) if parts.len() == 4 => Some((parts[0].clone(), parts[1].clone(), parts[3].clone())),
            _ => None,
        };
        for i in 0..a.len().max(b.len()) {
            let (ra, rb) = (a.get(i).and_then(row), b.get(i).and_then(row));
            if ra != rb {
                let show_row = |r: Option<(Frame, Frame, Frame)>| match r {
                    Some((id, consumer, n)) => {
                        format!("{} owned by {} delivered {}", show(&id), show(&consumer), show(&n))
                    }
                    None => "nothing".into(),
                };
                return Ok(found(format!(
                    "group {} pending entry {}: {} in the source, {} in the target",
                    quote(group),
                    i,
                    show_row(ra),
                    show_row(rb)
                )));
            }
        }
        let Some(Frame::Array(last)) = a.last() else { return Ok(None) };
        if a.len() < CHUNK_ELEMENTS {
            return Ok(None);
        }
        start = match last.first().and_then(text).and_then(next_id) {
            Some(next) => next,
            None => return Err(p.src.unexpected("XPENDING", &a[a.len() - 1])),
        };
    }
}

/// The consumers of a group and how many entries each has pending.
async fn consumers(p: &mut Pair<'_>, key: &[u8], group: &[u8]) -> Result<Found, Error> {
    let (a, b) = p.both(key, &[&b"XINFO"[..], b"CONSUMERS", key, group]).await?;
    let list = |side: &Endpoint, reply: &Frame| -> Result<BTreeMap<Vec<u8>, Frame>, Error> {
        let mut out = BTreeMap::new();
        for consumer in array(side, "XINFO CONSUMERS", reply)? {
            let f = fields(side, "XINFO CONSUMERS", consumer)?;
            let name = f.get("name").and_then(text).ok_or_else(|| side.unexpected("XINFO CONSUMERS", consumer))?;
            out.insert(name.to_vec(), f.get("pending").cloned().unwrap_or(Frame::Null));
        }
        Ok(out)
    };
    let (a, b) = (list(p.src, &a)?, list(p.tgt, &b)?);
    if a != b {
        let show_all = |m: &BTreeMap<Vec<u8>, Frame>| {
            let each: Vec<String> = m.iter().map(|(n, c)| format!("{} ({} pending)", quote(n), show(c))).collect();
            format!("[{}]", each.join(", "))
        };
        return Ok(found(format!(
            "group {} consumers: {} in the source, {} in the target",
            quote(group),
            show_all(&a),
            show_all(&b)
        )));
    }
    Ok(None)
}

/// Compares the named fields that both sides report.
fn same_fields(what: &str, names: &[&str], a: &BTreeMap<String, Frame>, b: &BTreeMap<String, Frame>) -> Found {
    for name in names {
        if let (Some(x), Some(y)) = (a.get(*name), b.get(*name)) {
            if x != y {
                return found(format!("{what}: {name} {} in the source, {} in the target", show(x), show(y)));
            }
        }
    }
    None
}

/// A flat `[name, value, ...]` reply (RESP2) or a map (RESP3) as a map.
fn fields(side: &Endpoint, command: &str, reply: &Frame) -> Result<BTreeMap<String, Frame>, Error> {
    let mut out = BTreeMap::new();
    match reply {
        Frame::Array(items) if items.len() % 2 == 0 => {
            for pair in items.chunks(2) {
                let name = text(&pair[0]).ok_or_else(|| side.unexpected(command, reply))?;
                out.insert(String::from_utf8_lossy(name).into_owned(), pair[1].clone());
            }
        }
        Frame::Map(pairs) => {
            for (k, v) in pairs {
                let name = text(k).ok_or_else(|| side.unexpected(command, reply))?;
                out.insert(String::from_utf8_lossy(name).into_owned(), v.clone());
            }
        }
        other => return Err(side.unexpected(command, other)),
    }
    Ok(out)
}

fn group_map(side: &Endpoint, reply: &Frame) -> Result<BTreeMap<Vec<u8>, BTreeMap<String, Frame>>, Error> {
    let mut out = BTreeMap::new();
    for group in array(side, "XINFO GROUPS", reply)? {
        let f = fields(side, "XINFO GROUPS", group)?;
        let name = f.get("name").and_then(text).ok_or_else(|| side.unexpected("XINFO GROUPS", group))?.to_vec();
        out.insert(name, f);
    }
    Ok(out)
}

fn entry_id(entry: &Frame) -> Option<&[u8]> {
    match entry {
        Frame::Array(parts) => parts.first().and_then(text),
        _ => None,
    }
}

fn entry_text(entry: &Frame) -> String {
    match entry {
        Frame::Array(parts) if parts.len() == 2 => {
            let fields = match &parts[1] {
                Frame::Array(f) => f.iter().map(show).collect::<Vec<_>>().join(" "),
                other => show(other),
            };
            format!("{} {{{fields}}}", show(&parts[0]))
        }
        other => show(other),
    }
}

/// The smallest id after `ms-seq`: an inclusive range start that skips the entry just read
/// (the `(` exclusive form needs 6.2).
fn next_id(id: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(id).ok()?;
    let (ms, seq) = text.split_once('-')?;
    let (ms, seq): (u64, u64) = (ms.parse().ok()?, seq.parse().ok()?);
    let (ms, seq) = match seq.checked_add(1) {
        Some(seq) => (ms, seq),
        None => (ms.checked_add(1)?, 0),
    };
    Some(format!("{ms}-{seq}").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_ids() {
        assert_eq!(next_id(b"1000-5").unwrap(), b"1000-6");
        assert_eq!(next_id(b"7-18446744073709551615").unwrap(), b"8-0");
        assert_eq!(next_id(b"18446744073709551615-18446744073709551615"), None);
        assert_eq!(next_id(b"garbage"), None);
    }
}
