//! The snapshot of a migration as `RESTORE` payloads: each key the target can read goes over
//! as one `RESTORE key ttl payload ABSTTL REPLACE` built from the source's own bytes, which a
//! server loads far faster than the commands that rebuild it; every other key goes as those
//! commands ([`RebuildWriter`]), big keys in bounded batches. A mode of [`RespStreamWriter`],
//! so the stream's commands follow exactly as without it.
//!
//! Usage (a driver that writes to a Redis or Valkey target):
//!
//! ```ignore
//! let target = rdb::RestoreTarget::from_info(&info_server_reply)?;   // INFO server of the target
//! let sink = RespStreamWriter::new(conn).snapshot_by_restore(target, RAW_VALUES_UP_TO);
//! // ...and decode the source's snapshot with the same limit, so keys come with their bytes:
//! let opts = rdb::Options { raw_values_up_to: RAW_VALUES_UP_TO, ..rdb::Options::default() };
//! ```
//!
//! Feed it the decoder's events with their offsets (`EventSink::event`), then the live events,
//! exactly as a plain [`RespStreamWriter`].
//!
//! **Which keys.** [`rdb::RestoreTarget::reads`] decides from the key's type byte and the
//! source's RDB version: `DUMP` on the source would have put that version in the payload, and
//! the target must accept it. So a migration to an older or different server (Redis 7.0 to 6.2,
//! Redis 7.4 to Valkey) goes by commands, key by key, where `RESTORE` would fail.
//!
//! **Memory.** Whether a key comes with its bytes ([`rdb::Event::RawValue`], only for values up
//! to the limit) is known at its end, so its rebuild commands are held back meanwhile and
//! dropped if the bytes come. They are released as soon as the bytes can no longer come (the
//! key has used more input than the limit) or the held output passes [`HOLD_LIMIT_FACTOR`]
//! times the limit; the key then goes by commands. Memory stays bounded by the limit.
//!
//! Module values (type 7) go by `RESTORE` either way: when the target cannot read the payload
//! the writer stops with an error that says so, since no command can recreate them.

use std::io::Write;

use rdb::{push_dump_footer, Event, Format, KeyInfo, RestoreTarget, ValueType};

use crate::error::{Error, Result};
use crate::rebuild::{push_restore_replace, RebuildWriter};
use crate::resp::{push_array_len, push_bulk, push_bulk_i64, push_bulk_u64};
use crate::sink::EventSink;

/// A good default for `raw_values_up_to`: most keys are far smaller, and a value this size is
/// one quick `RESTORE` while its commands would take many round trips of the pipeline.
pub const DEFAULT_RAW_VALUES_UP_TO: usize = 4 << 20;

/// How much rebuild output a key may hold back, as a multiple of the raw value limit. Commands
/// are longer than the bytes they come from (small integers, and the key repeated in every
/// `HPEXPIREAT`); a key past this goes by commands even if its bytes would have come.
pub const HOLD_LIMIT_FACTOR: usize = 2;

/// Input a key can use besides its value (prefix opcodes, type byte, key length); with the
/// key's own length, what separates the key's first byte from its value.
const KEY_OVERHEAD: u64 = 32;

/// The key being written.
struct KeyState {
    key: Vec<u8>,
    /// Absolute offset of the key's first byte in the input.
    offset: u64,
    expire_at_ms: Option<i64>,
    idle_s: Option<u64>,
    freq: Option<u8>,
    /// Its rebuild commands are held back, waiting for its bytes.
    holding: bool,
}

/// The `RESTORE` mode of a [`crate::RespStreamWriter`]'s snapshot.
pub(crate) struct RestoreSnapshot {
    target: RestoreTarget,
    raw_limit: usize,
    format: Option<Format>,
    key: Option<KeyState>,
    payload: Vec<u8>,
}

impl RestoreSnapshot {
    pub(crate) fn new(target: RestoreTarget, raw_limit: usize) -> Self {
        RestoreSnapshot { target, raw_limit, format: None, key: None, payload: Vec::new() }
    }

    /// Handles one snapshot event, writing through `rebuild`'s output.
    pub(crate) fn event<W: Write>(
        &mut self,
        rebuild: &mut RebuildWriter<W>,
        ev: &Event<'_>,
        offset: u64,
    ) -> Result<()> {
        match ev {
            Event::Key(info) => {
                rebuild.event(ev, offset)?;
                self.begin_key(rebuild, info)?;
            }
            Event::RawValue(raw) => {
                if self.key.as_ref().is_some_and(|k| k.holding) {
                    self.restore(rebuild, raw)?;
                }
            }
            Event::KeyEnd { .. } => {
                rebuild.event(ev, offset)?;
                if let Some(k) = self.key.take() {
                    if k.holding {
                        rebuild.out.release()?;
                    }
                }
            }
            Event::Item(_) => {
                rebuild.event(ev, offset)?;
                if let Some(k) = self.key.as_mut().filter(|k| k.holding) {
                    let used = offset.saturating_sub(k.offset);
                    let raw_gone = used > self.raw_limit as u64 + k.key.len() as u64 + KEY_OVERHEAD;
                    let too_big = rebuild.out.held_len() > HOLD_LIMIT_FACTOR * self.raw_limit;
                    if raw_gone || too_big {
                        k.holding = false;
                        rebuild.out.release()?;
                    }
                }
            }
            _ => {
                if let Event::Begin(format) = ev {
                    // A new snapshot (after a resync): nothing of the last one is held over.
                    self.release(rebuild)?;
                    self.format = Some(*format);
                }
                rebuild.event(ev, offset)?;
            }
        }
        Ok(())
    }

    fn begin_key<W: Write>(&mut self, rebuild: &mut RebuildWriter<W>, info: &KeyInfo<'_>) -> Result<()> {
        let format = self.format.ok_or_else(|| {
            Error::unrepresentable(&info.key.to_vec(), "a key came before the RDB header (no Begin event)")
        })?;
        let readable = self.target.reads(format, info.type_byte);
        if info.value_type == ValueType::Module && !readable {
            return Err(Error::unrepresentable(
                &info.key.to_vec(),
                format!(
                    "a module value can only be migrated with RESTORE, and the target ({:?} {}.{}) cannot read a \
                     payload from a {format} file; migrate to a server at least as new as the source, with the module \
                     loaded",
                    self.target.family, self.target.release.0, self.target.release.1
                ),
            ));
        }
        let holding = readable && self.raw_limit > 0;
        if holding {
            rebuild.out.hold();
        }
        let mut key = self.key.take().map(|k| k.key).unwrap_or_default();
        key.clear();
        info.key.write_to(&mut key);
        self.key = Some(KeyState {
            key,
            offset: info.offset,
            expire_at_ms: info.expire_at_ms,
            idle_s: info.idle_s,
            freq: info.freq,
            holding,
        });
        Ok(())
    }

    /// Replaces the key's held commands with one `RESTORE` of `raw`.
    fn restore<W: Write>(&mut self, rebuild: &mut RebuildWriter<W>, raw: &[u8]) -> Result<()> {
        let k = self.key.as_mut().expect("a raw value comes inside a key");
        k.holding = false;
        rebuild.out.drop_held();
        rebuild.discard_key();
        let version = self.format.map_or(0, |f| f.version);
        let p = &mut self.payload;
        p.clear();
        p.extend_from_slice(raw);
        push_dump_footer(p, version);
        let buf = &mut rebuild.out.buf;
        // A time at or before the epoch is still an expiry (the key is gone); RESTORE takes
        // no TTL below 0 and reads 0 as none, so it becomes 1 ms.
        let expire = k.expire_at_ms.map(|ms| ms.max(1));
        if self.target.has_restore_options() {
            let (hint, value) = match (k.freq, k.idle_s) {
                (Some(f), _) => (Some(&b"FREQ"[..]), u64::from(f)),
                (None, Some(s)) => (Some(&b"IDLETIME"[..]), s),
                (None, None) => (None, 0),
            };
            push_array_len(buf, 6 + if hint.is_some() { 2 } else { 0 });
            push_bulk(buf, b"RESTORE");
            push_bulk(buf, &k.key);
            push_bulk_i64(buf, expire.unwrap_or(0));
            push_bulk(buf, p);
            push_bulk(buf, b"ABSTTL");
            push_bulk(buf, b"REPLACE");
            if let Some(hint) = hint {
                push_bulk(buf, hint);
                push_bulk_u64(buf, value);
            }
        } else {
            push_restore_replace(buf, &k.key, p);
            if let Some(ms) = expire {
                push_array_len(buf, 3);
                push_bulk(buf, b"PEXPIREAT");
                push_bulk(buf, &k.key);
                push_bulk_i64(buf, ms);
            }
        }
        rebuild.out.commit()?;
        Ok(())
    }

    /// The input ended or failed: held output is whole commands, and goes out.
    pub(crate) fn release<W: Write>(&mut self, rebuild: &mut RebuildWriter<W>) -> Result<()> {
        self.key = None;
        rebuild.out.release()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::EventSink;
    use crate::RespStreamWriter;
    use rdb::{Encoding, Family, Item, Str};

    const V7: Format = Format { family: Family::Redis, version: 10 };

    fn key<'a>(name: &'a [u8], value_type: ValueType, type_byte: u8) -> KeyInfo<'a> {
        let mut k = crate::test_support::key_info(0, Str::Bytes(name), value_type, Encoding::Raw);
        k.type_byte = type_byte;
        k
    }

    /// Runs the events (each at the offset given) through a restore-mode writer.
    fn run(target: RestoreTarget, limit: usize, events: &[(Event<'_>, u64)]) -> Result<Vec<Vec<Vec<u8>>>> {
        let mut w = RespStreamWriter::new(Vec::new()).snapshot_by_restore(target, limit);
        w.event(&Event::Begin(V7), 9)?;
        for (ev, off) in events {
            w.event(ev, *off)?;
        }
        w.finish()?;
        Ok(parse_resp_bytes(w.get_ref()))
    }

    /// The commands of `out`, byte for byte (testkit's `parse_resp` reads them as text, which
    /// would blur binary payloads).
    fn parse_resp_bytes(out: &[u8]) -> Vec<Vec<Vec<u8>>> {
        fn header(out: &[u8], at: &mut usize, kind: u8) -> usize {
            assert_eq!(out[*at], kind);
            let nl = *at + out[*at..].iter().position(|&b| b == b'\n').unwrap();
            let n = std::str::from_utf8(&out[*at + 1..nl - 1]).unwrap().parse().unwrap();
            *at = nl + 1;
            n
        }
        let mut cmds = Vec::new();
        let mut at = 0;
        while at < out.len() {
            let argc = header(out, &mut at, b'*');
            let mut args = Vec::new();
            for _ in 0..argc {
                let len = header(out, &mut at, b'$');
                args.push(out[at..at + len].to_vec());
                assert_eq!(&out[at + len..at + len + 2], b"\r\n");
                at += len + 2;
            }
            cmds.push(args);
        }
        cmds
    }

    fn payload(raw: &[u8], version: u32) -> Vec<u8> {
        let mut p = raw.to_vec();
        push_dump_footer(&mut p, version);
        p
    }

    fn cmd(args: &[&[u8]]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.to_vec()).collect()
    }

    const RAW_V: &[u8] = &[0, 1, b'v'];

    #[test]
    fn a_readable_key_with_its_bytes_goes_as_one_restore() {
        let mut info = key(b"k", ValueType::String, 0);
        info.expire_at_ms = Some(1_900_000_000_000);
        info.idle_s = Some(7);
        let out = run(
            RestoreTarget::new(Family::Redis, 7, 0),
            100,
            &[
                (Event::Key(info), 20),
                (Event::Item(Item::String(Str::Bytes(b"v"))), 23),
                (Event::RawValue(RAW_V), 23),
                (Event::KeyEnd { elements: 1 }, 23),
            ],
        )
        .unwrap();
        let p = payload(RAW_V, 10);
        assert_eq!(
            out,
            vec![
                cmd(&[b"SELECT", b"0"]),
                cmd(&[b"RESTORE", b"k", b"1900000000000", &p, b"ABSTTL", b"REPLACE", b"IDLETIME", b"7"])
            ]
        );
    }

    #[test]
    fn keys_the_target_cannot_read_or_without_bytes_go_as_commands() {
        let events = |raw: bool| {
            let mut v = vec![
                (Event::Key(key(b"k", ValueType::String, 0)), 20),
                (Event::Item(Item::String(Str::Bytes(b"v"))), 23),
            ];
            if raw {
                v.push((Event::RawValue(RAW_V), 23));
            }
            v.push((Event::KeyEnd { elements: 1 }, 23));
            v
        };
        let set = vec![cmd(&[b"SELECT", b"0"]), cmd(&[b"SET", b"k", b"v"])];
        // Redis 6.2 reads RDB 9 at most; the key is from RDB 10.
        assert_eq!(run(RestoreTarget::new(Family::Redis, 6, 2), 100, &events(true)).unwrap(), set);
        // Readable, but over the limit: no bytes came.
        assert_eq!(run(RestoreTarget::new(Family::Redis, 7, 0), 100, &events(false)).unwrap(), set);
    }

    #[test]
    fn old_targets_get_the_expiry_after_the_restore() {
        let mut info = key(b"k", ValueType::String, 0);
        info.expire_at_ms = Some(1_900_000_000_000);
        info.freq = Some(3);
        let mut w = RespStreamWriter::new(Vec::new()).snapshot_by_restore(RestoreTarget::new(Family::Redis, 4, 0), 100);
        w.event(&Event::Begin(Format { family: Family::Redis, version: 8 }), 9).unwrap();
        for ev in [Event::Key(info), Event::RawValue(RAW_V), Event::KeyEnd { elements: 1 }] {
            w.event(&ev, 20).unwrap();
        }
        w.finish().unwrap();
        let p = payload(RAW_V, 8);
        assert_eq!(
            parse_resp_bytes(w.get_ref()),
            vec![
                cmd(&[b"SELECT", b"0"]),
                cmd(&[b"RESTORE", b"k", b"0", &p, b"REPLACE"]),
                cmd(&[b"PEXPIREAT", b"k", b"1900000000000"])
            ]
        );
    }

    #[test]
    fn a_key_past_the_limit_is_written_as_it_comes() {
        // A list whose input has passed the limit by its second element: its commands go out
        // then (at the batch size), and a late raw value changes nothing.
        let mut events = vec![(Event::Key(key(b"l", ValueType::List, 18)), 20)];
        let n = crate::rebuild::ITEMS_PER_COMMAND + 1;
        for i in 0..n {
            events.push((Event::Item(Item::ListElement(Str::Int(i as i64))), 30 + 100 * i as u64));
        }
        events.push((Event::RawValue(b"\x12"), 9_000));
        events.push((Event::KeyEnd { elements: n as u64 }, 9_000));
        let mut w = RespStreamWriter::new(Vec::new()).snapshot_by_restore(RestoreTarget::new(Family::Redis, 7, 0), 64);
        w.event(&Event::Begin(V7), 9).unwrap();
        for (ev, off) in &events {
            w.event(ev, *off).unwrap();
        }
        w.finish().unwrap();
        let out = parse_resp_bytes(w.get_ref());
        assert_eq!(out.len(), 3, "SELECT and two RPUSH");
        assert!(out[1..].iter().all(|c| c[0] == b"RPUSH"));
        assert_eq!(out[1].len() + out[2].len(), 2 * 2 + n);
    }

    #[test]
    fn live_commands_after_a_snapshot_cut_inside_a_key_are_not_held_back() {
        use crate::LiveSink;
        let mut w = RespStreamWriter::new(Vec::new()).snapshot_by_restore(RestoreTarget::new(Family::Redis, 7, 0), 100);
        w.event(&Event::Begin(V7), 9).unwrap();
        w.event(&Event::Key(key(b"k", ValueType::String, 0)), 20).unwrap();
        w.event(&Event::Item(Item::String(Str::Bytes(b"v"))), 23).unwrap();
        // The connection is lost; the master continues without a snapshot.
        let sync: crate::LiveEvent<'_, &[u8]> =
            crate::LiveEvent::Sync { mode: crate::SyncMode::Continue, replid: "r", offset: 5 };
        w.live(&sync).unwrap();
        w.live(&crate::test_support::command(Some(0), &[b"DEL", b"k"], 5, 9, None)).unwrap();
        LiveSink::<&[u8]>::flush(&mut w).unwrap();
        assert_eq!(
            parse_resp_bytes(w.get_ref()),
            vec![cmd(&[b"SELECT", b"0"]), cmd(&[b"SET", b"k", b"v"]), cmd(&[b"DEL", b"k"])]
        );
    }

    #[test]
    fn a_module_value_the_target_cannot_read_is_an_error() {
        let events = [(Event::Key(key(b"m", ValueType::Module, 7)), 20)];
        let e = run(RestoreTarget::new(Family::Redis, 6, 2), 100, &events).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("only be migrated with RESTORE") && msg.contains("REDIS0010"), "{msg}");
    }
}
