//! The live events' JSON lines (docs/events.md, "Live events"), written by [`JsonWriter`]
//! into the same buffer as the snapshot, so that one output carries both in order.
//!
//! Field order is the contract's; every Redis string goes through [`write_bytes`], so binary
//! keys and values become the base64 wrapper.

use std::io::Write;

use crate::command_keys::key_indices;
use crate::error::Result;
use crate::json::JsonWriter;
use crate::json_str::*;
use crate::live::{CommandEvent, LiveEvent};
use crate::sink::LiveSink;

impl<W: Write> JsonWriter<W> {
    /// Writes one live event as a JSON line.
    pub fn write_live<A: AsRef<[u8]>>(&mut self, ev: &LiveEvent<'_, A>) -> Result<()> {
        let buf = &mut self.out.buf;
        match ev {
            LiveEvent::Sync { mode, replid, offset } => {
                buf.extend_from_slice(b"{\"event\":\"sync\",\"mode\":");
                write_plain(buf, mode.as_str());
                buf.extend_from_slice(b",\"replid\":");
                write_bytes(buf, replid.as_bytes());
                buf.extend_from_slice(b",\"offset\":");
                write_u64(buf, *offset);
            }
            LiveEvent::Resync { replid, offset, previous_replid, previous_offset } => {
                buf.extend_from_slice(b"{\"event\":\"resync\",\"replid\":");
                write_bytes(buf, replid.as_bytes());
                buf.extend_from_slice(b",\"offset\":");
                write_u64(buf, *offset);
                buf.extend_from_slice(b",\"previous_replid\":");
                write_bytes(buf, previous_replid.as_bytes());
                buf.extend_from_slice(b",\"previous_offset\":");
                write_u64(buf, *previous_offset);
            }
            LiveEvent::Command(cmd) => write_command(buf, &mut self.replid_json, cmd),
            LiveEvent::Exec { tx, commands, replid, start_offset, end_offset } => {
                buf.extend_from_slice(b"{\"event\":\"exec\",\"tx\":");
                write_u64(buf, *tx);
                buf.extend_from_slice(b",\"commands\":");
                write_u64(buf, *commands);
                buf.extend_from_slice(b",\"replid\":");
                write_bytes(buf, replid.as_bytes());
                buf.extend_from_slice(b",\"start_offset\":");
                write_u64(buf, *start_offset);
                buf.extend_from_slice(b",\"end_offset\":");
                write_u64(buf, *end_offset);
            }
        }
        buf.extend_from_slice(b"}\n");
        self.out.commit()?;
        Ok(())
    }
}

/// The middle of a `command` line from the end of its `args` to the start of its
/// `start_offset` value, for one replid. Every command line carries the replid, which changes
/// only at a resync or failover, so it is escaped once and then copied: about 5% of
/// `redtail follow`'s CPU went into writing it afresh for each line.
#[derive(Default)]
pub(crate) struct ReplidJson {
    replid: Vec<u8>,
    json: Vec<u8>,
}

impl ReplidJson {
    fn get(&mut self, replid: &str) -> &[u8] {
        if self.json.is_empty() || self.replid != replid.as_bytes() {
            self.replid.clear();
            self.replid.extend_from_slice(replid.as_bytes());
            self.json.clear();
            self.json.extend_from_slice(b"],\"replid\":");
            write_bytes(&mut self.json, replid.as_bytes());
            self.json.extend_from_slice(b",\"start_offset\":");
        }
        &self.json
    }
}

/// Writes a `command` line without its closing brace.
fn write_command<A: AsRef<[u8]>>(buf: &mut Vec<u8>, replid: &mut ReplidJson, cmd: &CommandEvent<'_, A>) {
    buf.extend_from_slice(b"{\"event\":\"command\",\"db\":");
    write_opt_u64(buf, cmd.db);
    buf.extend_from_slice(b",\"command\":");
    write_lowercase(buf, cmd.name());
    buf.extend_from_slice(b",\"keys\":[");
    // Most commands have one key, their first argument, which `args` then starts with: its
    // JSON is copied from here rather than made twice.
    let mut first_arg = None;
    for (n, i) in key_indices(cmd.args).enumerate() {
        if n > 0 {
            buf.push(b',');
        }
        let start = buf.len();
        write_bytes(buf, cmd.args[i].as_ref());
        if i == 1 && first_arg.is_none() {
            first_arg = Some(start..buf.len());
        }
    }
    buf.extend_from_slice(b"],\"args\":[");
    for (i, arg) in cmd.args.iter().enumerate().skip(1) {
        if i > 1 {
            buf.push(b',');
        }
        match &first_arg {
            Some(json) if i == 1 => buf.extend_from_within(json.clone()),
            _ => write_bytes(buf, arg.as_ref()),
        }
    }
    buf.extend_from_slice(replid.get(cmd.replid));
    write_u64(buf, cmd.start_offset);
    buf.extend_from_slice(b",\"end_offset\":");
    write_u64(buf, cmd.end_offset);
    buf.extend_from_slice(b",\"tx\":");
    write_opt_u64(buf, cmd.tx);
}

/// Writes the command name in lowercase, as the contract names commands whatever case the
/// master sent (Valkey sends some lowercase, Redis uppercase).
fn write_lowercase(buf: &mut Vec<u8>, name: &[u8]) {
    if !name.iter().any(u8::is_ascii_uppercase) {
        return write_bytes(buf, name);
    }
    // Names are short: lowercase on the stack, so this allocates nothing per command.
    let mut stack = [0u8; 32];
    let mut heap;
    let lower = match stack.get_mut(..name.len()) {
        Some(s) => s,
        None => {
            heap = name.to_vec();
            &mut heap[..]
        }
    };
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    write_bytes(buf, lower);
}

impl<W: Write, A: AsRef<[u8]>> LiveSink<A> for JsonWriter<W> {
    fn live(&mut self, ev: &LiveEvent<'_, A>) -> Result<()> {
        self.write_live(ev)
    }

    /// Writes out every complete line. A key still being written (a snapshot key whose value
    /// has not ended) stays buffered, so a reader never sees half a line even if the source
    /// is cut right after this flush.
    fn flush(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::SyncMode;
    use serde_json::{json, Value};

    use crate::test_support::{command, REPLID};

    fn write(events: &[LiveEvent<'_, &[u8]>]) -> String {
        let mut w = JsonWriter::new(Vec::new());
        for ev in events {
            w.live(ev).unwrap();
        }
        LiveSink::<&[u8]>::flush(&mut w).unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn live_events_match_the_contract() {
        let set: &[&[u8]] = &[b"SET", b"user:1", b"Ada", b"PXAT", b"1893456000000"];
        let incr: &[&[u8]] = &[b"incr", b"n"];
        let flush: &[&[u8]] = &[b"FLUSHALL"];
        let out = write(&[
            LiveEvent::Resync { replid: REPLID, offset: 0, previous_replid: "0a1bff", previous_offset: 5120 },
            LiveEvent::Sync { mode: SyncMode::Full, replid: REPLID, offset: 1200 },
            command(Some(0), set, 1200, 1254, None),
            command(Some(3), incr, 1180, 1200, Some(1180)),
            LiveEvent::Exec { tx: 1180, commands: 2, replid: REPLID, start_offset: 1180, end_offset: 1310 },
            command(None, flush, 1310, 1330, None),
            LiveEvent::Sync { mode: SyncMode::Continue, replid: REPLID, offset: 1330 },
        ]);
        let r = REPLID;
        let want = [
            format!(
                r#"{{"event":"resync","replid":"{r}","offset":0,"previous_replid":"0a1bff","previous_offset":5120}}"#
            ),
            format!(r#"{{"event":"sync","mode":"full","replid":"{r}","offset":1200}}"#),
            format!(
                r#"{{"event":"command","db":0,"command":"set","keys":["user:1"],"args":["user:1","Ada","PXAT","1893456000000"],"replid":"{r}","start_offset":1200,"end_offset":1254,"tx":null}}"#
            ),
            format!(
                r#"{{"event":"command","db":3,"command":"incr","keys":["n"],"args":["n"],"replid":"{r}","start_offset":1180,"end_offset":1200,"tx":1180}}"#
            ),
            format!(
                r#"{{"event":"exec","tx":1180,"commands":2,"replid":"{r}","start_offset":1180,"end_offset":1310}}"#
            ),
            format!(
                r#"{{"event":"command","db":null,"command":"flushall","keys":[],"args":[],"replid":"{r}","start_offset":1310,"end_offset":1330,"tx":null}}"#
            ),
            format!(r#"{{"event":"sync","mode":"continue","replid":"{r}","offset":1330}}"#),
        ];
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
        for line in out.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert!(v["event"].is_string());
        }
    }

    #[test]
    fn each_line_names_its_own_replid() {
        // The replid part of a line is made once per replid: a change (a failover, a resync)
        // must show in the very next line, and a change back too.
        let other = "0123456789abcdef0123456789abcdef01234567";
        let with = |replid, start| {
            let LiveEvent::Command(c) = command(Some(0), &[b"INCR", b"n"], start, start + 20, None) else {
                unreachable!()
            };
            LiveEvent::Command(CommandEvent { replid, ..c })
        };
        let out = write(&[with(REPLID, 0), with(other, 20), with(other, 40), with(REPLID, 60)]);
        let replids: Vec<(String, u64)> = out
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|v| (v["replid"].as_str().unwrap().to_owned(), v["start_offset"].as_u64().unwrap()))
            .collect();
        let want = [(REPLID, 0), (other, 20), (other, 40), (REPLID, 60)].map(|(r, o)| (r.to_owned(), o));
        assert_eq!(replids, want);
    }

    #[test]
    fn binary_arguments_use_the_base64_wrapper() {
        let args: &[&[u8]] = &[b"MSET", b"\xffk", b"line\n\"q\"", b"caf\xc3\xa9", b""];
        let out = write(&[command(Some(1), args, 10, 40, None)]);
        let v: Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(v["command"], "mset");
        assert_eq!(v["keys"], json!([{"base64": "/2s="}, "café"]));
        assert_eq!(v["args"], json!([{"base64": "/2s="}, "line\n\"q\"", "café", ""]));
    }

    #[test]
    fn long_and_odd_command_names() {
        let long = [b'X'; 40];
        let args: &[&[u8]] = &[&long, b"k"];
        let out = write(&[command(Some(0), args, 0, 1, None)]);
        let v: Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(v["command"], "x".repeat(40));
        assert_eq!(v["keys"], json!(["k"]));
        let none: &[&[u8]] = &[];
        let out = write(&[command(Some(0), none, 0, 1, None)]);
        let v: Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!((v["command"].as_str(), v["keys"].clone(), v["args"].clone()), (Some(""), json!([]), json!([])));
    }

    #[test]
    fn snapshot_and_stream_share_one_output() {
        use rdb::{Checksum, Event, Family, Format};
        let mut w = JsonWriter::new(Vec::new());
        let sync: LiveEvent<'_, &[u8]> = LiveEvent::Sync { mode: SyncMode::Full, replid: REPLID, offset: 7 };
        w.live(&sync).unwrap();
        w.write_event(&Event::Begin(Format { family: Family::Redis, version: 12 })).unwrap();
        w.write_event(&Event::End { checksum: Checksum::Absent }).unwrap();
        w.live(&command(Some(0), &[b"DEL", b"k"], 7, 30, None)).unwrap();
        LiveSink::<&[u8]>::flush(&mut w).unwrap();
        let out = String::from_utf8(w.get_ref().clone()).unwrap();
        let events: Vec<String> = out
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(events, ["sync", "begin", "end", "command"]);
    }

    #[test]
    fn flush_inside_a_key_writes_only_whole_lines() {
        use rdb::{Encoding, Event, Item, Str, ValueType};
        let mut w = JsonWriter::new(Vec::new());
        let live: LiveEvent<'_, &[u8]> = LiveEvent::Sync { mode: SyncMode::Full, replid: REPLID, offset: 7 };
        w.write_live(&live).unwrap();
        w.write_event(&Event::Key(crate::json::tests::key_info(b"l", ValueType::List, Encoding::Quicklist2))).unwrap();
        w.write_event(&Event::Item(Item::ListElement(Str::Bytes(b"a")))).unwrap();
        LiveSink::<&[u8]>::flush(&mut w).unwrap();
        let out = String::from_utf8(w.get_ref().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "only the sync line is complete: {out:?}");
        assert!(out.ends_with('\n'));
    }
}
