//! `redtail rdb --check`: validate a file like redis-check-rdb, and say what is in it.
//!
//! The report goes to standard output (as redis-check-rdb's does) so it can be saved or
//! compared; the exit code says whether the file is valid.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use event::EventSink;
use rdb::{Checksum, Event, Family, Format, ValueType};

use crate::decode::{decode, DecodeError};
use crate::exit::{hint, Failure, INVALID_INPUT};
use crate::progress::Progress;
use crate::rdb_cmd::Input;

/// Counts what the file holds.
#[derive(Default)]
struct Census {
    format: Option<Format>,
    /// Per database: (keys, keys with an expiry).
    dbs: BTreeMap<u64, (u64, u64)>,
    expired: u64,
    functions: u64,
    /// The open key: its db and expiry.
    key: Option<(u64, Option<i64>)>,
    /// The open key's name, type and offset, kept only while it might turn out empty.
    key_name: Vec<u8>,
    key_type: Option<ValueType>,
    key_offset: u64,
    /// Collections without elements: (count, first key, its type, its offset).
    empty: Option<(u64, Vec<u8>, ValueType, u64)>,
    checksum: Option<Checksum>,
    now_ms: i64,
}

impl EventSink for Census {
    fn event(&mut self, ev: &Event<'_>, _offset: u64) -> event::Result<()> {
        match ev {
            Event::Begin(f) => self.format = Some(*f),
            Event::Function { .. } | Event::FunctionPreGa { .. } => self.functions += 1,
            Event::Key(info) => {
                self.key = Some((info.db, info.expire_at_ms));
                self.key_type = Some(info.value_type);
                self.key_offset = info.offset;
                self.key_name.clear();
                info.key.write_to(&mut self.key_name);
            }
            Event::KeyEnd { elements } => {
                // Redis never saves an empty list, set, zset or hash; it skips one on load and
                // redis-check-rdb calls the file corrupt (an empty stream is normal).
                if let Some(ty @ (ValueType::List | ValueType::Set | ValueType::Zset | ValueType::Hash)) = self.key_type
                {
                    if *elements == 0 {
                        match &mut self.empty {
                            Some((n, ..)) => *n += 1,
                            None => self.empty = Some((1, self.key_name.clone(), ty, self.key_offset)),
                        }
                    }
                }
                if let Some((db, expire)) = self.key.take() {
                    let counts = self.dbs.entry(db).or_default();
                    counts.0 += 1;
                    if let Some(ms) = expire {
                        counts.1 += 1;
                        if ms < self.now_ms {
                            self.expired += 1;
                        }
                    }
                }
            }
            Event::End { checksum } => self.checksum = Some(*checksum),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> event::Result<()> {
        Ok(())
    }

    fn abort(&mut self) -> event::Result<()> {
        Ok(())
    }
}

pub fn run(mut input: Input, opts: rdb::Options) -> Result<(), Failure> {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let mut census = Census { now_ms, ..Census::default() };
    let progress = Progress::for_input(input.len);
    // The census needs keys and their element counts only; values are still validated in full.
    let opts = rdb::Options { items: false, ..opts };
    let result = decode(&mut input.reader, input.len, opts, &mut census, &progress);

    let mut r = String::new();
    r.push_str(&format!("file: {}\n", input.name));
    if let Some(f) = census.format {
        let family = if f.family == Family::Valkey { "valkey" } else { "redis" };
        r.push_str(&format!("format: {f} ({family}, RDB version {})\n", f.version));
    }
    let (mut keys, mut expires) = (0, 0);
    for (db, (k, e)) in &census.dbs {
        r.push_str(&format!("db {db}: {} ({e} with an expiry)\n", plural(*k, "key")));
        keys += k;
        expires += e;
    }
    let label = if result.is_ok() { "keys" } else { "keys before the error" };
    r.push_str(&format!("{label}: {keys} ({expires} with an expiry, {} already expired)\n", census.expired));
    if census.functions > 0 {
        r.push_str(&format!("function libraries: {}\n", census.functions));
    }
    let code = match result {
        Ok(done) => {
            let checksum = match census.checksum {
                Some(Checksum::Verified(c)) => format!("verified (crc64 {c:016x})"),
                Some(Checksum::Disabled) => "disabled (saved with rdbchecksum no)".into(),
                Some(Checksum::Absent) => "absent (RDB versions before 5 have none)".into(),
                Some(Checksum::Unchecked(c)) => format!("not verified (--no-verify; stored crc64 {c:016x})"),
                None => "unknown".into(),
            };
            r.push_str(&format!("checksum: {checksum}\n"));
            if done.trailing {
                r.push_str(&format!(
                    "note: data follows the end of the RDB at byte offset {} (an AOF tail?); it was not checked\n",
                    done.rdb_len
                ));
            }
            if let Some((n, key, ty, offset)) = &census.empty {
                r.push_str(&format!("error at byte offset {offset}\n"));
                r.push_str(&format!("  in key: {:?}\n", String::from_utf8_lossy(key)));
                r.push_str(&format!(
                    "  message: empty {} ({} in all): Redis never saves one; redis-server skips such keys when \
                     loading and redis-check-rdb reports the file as corrupt\n",
                    ty.as_str(),
                    plural(*n, "empty key")
                ));
                r.push_str("status: INVALID\n");
                Some(INVALID_INPUT)
            } else {
                r.push_str("status: OK\n");
                None
            }
        }
        Err(DecodeError::Rdb(e)) => {
            r.push_str(&format!("error at byte offset {}\n", e.offset));
            if let Some(key) = &e.key {
                r.push_str(&format!("  in key: {:?}\n", String::from_utf8_lossy(key)));
            }
            r.push_str(&format!("  message: {}\n", e.kind));
            if let Some(h) = hint(&e.kind) {
                r.push_str(&format!("  hint: {h}\n"));
            }
            r.push_str("status: INVALID\n");
            Some(INVALID_INPUT)
        }
        Err(DecodeError::Read(e)) => return Err(Failure::Io(anyhow!("cannot read {}: {e}", input.name))),
        Err(DecodeError::Sink(e)) => unreachable!("the census never fails: {e}"),
    };
    let mut out = io::stdout().lock();
    match out.write_all(r.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            return Err(Failure::Io(anyhow!("cannot write the output: {e}")))
        }
        _ => {}
    }
    match code {
        Some(code) => Err(Failure::Reported(code)),
        None => Ok(()),
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
