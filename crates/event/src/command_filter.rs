//! Choosing live commands (`redtail follow --command/--exclude-command/--db/--key`), and the
//! [`FilteredSink`] half that applies a [`Filter`] to the live stream.
//!
//! **Offsets.** A command the filter drops is still processed: the driver reports its
//! `end_offset` as delivered like any other event's (see [`LiveSink`]), or the acknowledged
//! offset would stall behind a stream of commands nobody asked for, and the master would keep
//! its backlog and the checkpoint would lag.

use crate::filter::{Filter, FilteredSink};
use crate::live::{CommandEvent, LiveEvent};
use crate::sink::LiveSink;
use crate::Result;

/// Replication control commands: out of the output unless the include list names them.
const CONTROL: [&[u8]; 2] = [b"ping", b"replconf"];

fn listed(list: &[Vec<u8>], name: &[u8]) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

impl Filter {
    /// Whether `--command` names `name` explicitly. The driver hands `PING` and `REPLCONF`
    /// to the sink as commands only when this says so (a sink without a filter would otherwise
    /// write them); [`Filter::accepts_command`] drops them too unless asked for.
    pub fn asks_for(&self, name: &[u8]) -> bool {
        listed(&self.commands, name)
    }

    /// Whether a command of this name passes the include and exclude lists.
    pub fn accepts_command_name(&self, name: &[u8]) -> bool {
        if listed(&self.exclude_commands, name) {
            return false;
        }
        if self.commands.is_empty() {
            !CONTROL.iter().any(|c| c.eq_ignore_ascii_case(name))
        } else {
            listed(&self.commands, name)
        }
    }

    /// Whether to write a command: its name passes the lists, its db is one of `dbs`, and one
    /// of its keys matches the key patterns. A keyless command (`FLUSHALL`, `PUBLISH`) passes
    /// only when no key pattern is set. `types` does not apply.
    ///
    /// A command whose db is unknown (`None`: following from "now", before the master's first
    /// `SELECT`) passes the db filter: dropping it could lose a write to a wanted db, and its
    /// `db: null` tells the reader.
    ///
    /// A rejected command still counts as delivered: the driver advances the delivered offset
    /// past it regardless (module docs).
    pub fn accepts_command<A: AsRef<[u8]>>(&self, cmd: &CommandEvent<'_, A>) -> bool {
        if !self.accepts_command_name(cmd.name()) {
            return false;
        }
        if let (false, Some(db)) = (self.dbs.is_empty(), cmd.db) {
            if !self.dbs.contains(&db) {
                return false;
            }
        }
        !self.has_key_patterns() || cmd.keys().any(|k| self.key_matches(k))
    }
}

/// Commands pass by [`Filter::accepts_command`]. An `exec` passes only when some command of
/// its transaction did, with `commands` counting those; `sync` and `resync` always pass.
impl<A: AsRef<[u8]>, S: LiveSink<A>> LiveSink<A> for FilteredSink<S> {
    fn live(&mut self, ev: &LiveEvent<'_, A>) -> Result<()> {
        match ev {
            LiveEvent::Command(cmd) => {
                if !self.filter.accepts_command(cmd) {
                    return Ok(());
                }
                if let Some(tx) = cmd.tx {
                    match &mut self.open_tx {
                        Some((open, passed)) if *open == tx => *passed += 1,
                        other => *other = Some((tx, 1)),
                    }
                }
                self.inner.live(ev)
            }
            &LiveEvent::Exec { tx, commands: _, replid, start_offset, end_offset } => {
                let passed = match self.open_tx.take() {
                    Some((open, passed)) if open == tx => passed,
                    _ => 0,
                };
                if passed == 0 {
                    return Ok(());
                }
                self.inner.live(&LiveEvent::Exec { tx, commands: passed, replid, start_offset, end_offset })
            }
            LiveEvent::Sync { .. } | LiveEvent::Resync { .. } => {
                // A new connection replays an interrupted transaction from its MULTI.
                self.open_tx = None;
                self.inner.live(ev)
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::JsonWriter;
    use crate::live::SyncMode;
    use serde_json::Value;

    use crate::test_support::{command, REPLID as R};

    fn cmd<'a>(db: Option<u64>, args: &'a [&'a [u8]]) -> CommandEvent<'a, &'a [u8]> {
        CommandEvent { db, args, replid: R, start_offset: 0, end_offset: 1, tx: None }
    }

    fn globs(g: &[&str]) -> Vec<Vec<u8>> {
        g.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn command_names_include_and_exclude() {
        let all = Filter::default();
        assert!(all.accepts_command(&cmd(Some(0), &[b"SET", b"k", b"v"])));
        assert!(!all.accepts_command(&cmd(Some(0), &[b"PING"])), "PING stays out unless asked");
        assert!(!all.accepts_command(&cmd(Some(0), &[b"replconf", b"GETACK", b"*"])));
        assert!(!all.asks_for(b"PING"));

        let only = Filter { commands: globs(&["set", "Ping"]), ..Filter::default() };
        assert!(only.accepts_command(&cmd(Some(0), &[b"SET", b"k", b"v"])));
        assert!(only.accepts_command(&cmd(Some(0), &[b"ping"])));
        assert!(only.asks_for(b"PING") && !only.asks_for(b"REPLCONF"));
        assert!(!only.accepts_command(&cmd(Some(0), &[b"DEL", b"k"])));

        let except = Filter { exclude_commands: globs(&["DEL", "unlink"]), ..Filter::default() };
        assert!(!except.accepts_command(&cmd(Some(0), &[b"del", b"k"])));
        assert!(!except.accepts_command(&cmd(Some(0), &[b"UNLINK", b"k"])));
        assert!(except.accepts_command(&cmd(Some(0), &[b"SET", b"k", b"v"])));

        let both = Filter { commands: globs(&["set", "del"]), exclude_commands: globs(&["DEL"]), ..Filter::default() };
        assert!(!both.accepts_command(&cmd(Some(0), &[b"DEL", b"k"])), "exclude wins");
    }

    #[test]
    fn db_and_keys() {
        let f = Filter { dbs: vec![1], key_globs: globs(&["user:*"]), ..Filter::default() };
        assert!(f.accepts_command(&cmd(Some(1), &[b"SET", b"user:1", b"v"])));
        assert!(!f.accepts_command(&cmd(Some(0), &[b"SET", b"user:1", b"v"])), "db");
        assert!(f.accepts_command(&cmd(None, &[b"SET", b"user:1", b"v"])), "unknown db passes");
        assert!(!f.accepts_command(&cmd(Some(1), &[b"SET", b"order:1", b"v"])), "key");
        assert!(f.accepts_command(&cmd(Some(1), &[b"DEL", b"a", b"user:9"])), "any key");
        assert!(!f.accepts_command(&cmd(Some(1), &[b"MSET", b"a", b"user:1"])), "a value is not a key");
        assert!(!f.accepts_command(&cmd(Some(1), &[b"FLUSHALL"])), "keyless with a key filter");

        let re = Filter { key_regexes: vec![regex::bytes::Regex::new("^s:[0-9]+$").unwrap()], ..Filter::default() };
        assert!(re.accepts_command(&cmd(Some(5), &[b"RENAME", b"x", b"s:12"])));
        assert!(!re.accepts_command(&cmd(Some(5), &[b"RENAME", b"x", b"s:1x"])));

        let by_db = Filter { dbs: vec![0], ..Filter::default() };
        assert!(by_db.accepts_command(&cmd(Some(0), &[b"FLUSHALL"])), "keyless without a key filter");
        let by_type = Filter { types: vec![rdb::ValueType::Hash], ..Filter::default() };
        assert!(by_type.accepts_command(&cmd(Some(0), &[b"SET", b"k", b"v"])), "type is for snapshot keys");
    }

    #[test]
    fn exec_follows_its_passed_commands() {
        let f = Filter { key_globs: globs(&["keep*"]), ..Filter::default() };
        let mut sink = FilteredSink::new(f, JsonWriter::new(Vec::new()));
        let tx_cmd = |args: &'static [&'static [u8]], start, tx| command(Some(0), args, start, start + 10, tx);
        let exec = |tx: u64, end| LiveEvent::Exec { tx, commands: 2, replid: R, start_offset: tx, end_offset: end };
        let events = [
            LiveEvent::Sync { mode: SyncMode::Continue, replid: R, offset: 100 },
            // All filtered out: no exec either.
            tx_cmd(&[b"SET", b"drop1", b"v"], 110, Some(100)),
            tx_cmd(&[b"SET", b"drop2", b"v"], 120, Some(100)),
            exec(100, 140),
            // One of two passes: exec counts one.
            tx_cmd(&[b"SET", b"drop", b"v"], 150, Some(140)),
            tx_cmd(&[b"SET", b"keep", b"v"], 160, Some(140)),
            exec(140, 180),
            tx_cmd(&[b"DEL", b"keep2"], 180, None),
        ];
        for ev in &events {
            sink.live(ev).unwrap();
        }
        LiveSink::<&[u8]>::flush(&mut sink).unwrap();
        let out = String::from_utf8(sink.into_inner().into_inner().unwrap()).unwrap();
        let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let kinds: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["sync", "command", "exec", "command"]);
        assert_eq!(lines[1]["keys"][0], "keep");
        assert_eq!((lines[2]["tx"].as_u64(), lines[2]["commands"].as_u64()), (Some(140), Some(1)));
    }

    #[test]
    fn a_replayed_transaction_is_counted_once() {
        let f = Filter { exclude_commands: globs(&["del"]), ..Filter::default() };
        let mut sink = FilteredSink::new(f, JsonWriter::new(Vec::new()));
        let set: &[&[u8]] = &[b"SET", b"k", b"v"];
        let c = command(Some(0), set, 5, 9, Some(1));
        sink.live(&c).unwrap();
        // The connection drops inside the transaction; the stream resumes from before MULTI.
        let resume: LiveEvent<'_, &[u8]> = LiveEvent::Sync { mode: SyncMode::Continue, replid: R, offset: 1 };
        sink.live(&resume).unwrap();
        sink.live(&c).unwrap();
        let exec: LiveEvent<'_, &[u8]> =
            LiveEvent::Exec { tx: 1, commands: 1, replid: R, start_offset: 1, end_offset: 12 };
        sink.live(&exec).unwrap();
        LiveSink::<&[u8]>::flush(&mut sink).unwrap();
        let out = String::from_utf8(sink.into_inner().into_inner().unwrap()).unwrap();
        let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        assert_eq!(last["commands"], 1);
    }
}
