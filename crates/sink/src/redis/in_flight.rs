//! Commands written to the target and not yet answered, sans-IO: matching replies to commands,
//! the reply policy, and the offset the target has acknowledged.
//!
//! A reply answers the oldest unanswered command (one reply per command, in order). A command
//! counts as applied when its reply is not an error, except inside `MULTI`: there the replies
//! are `+QUEUED`, and the commands apply only at `EXEC`, whose reply holds theirs. So a
//! transaction's commands stay here until its `EXEC` (or `DISCARD`) is answered; if the
//! connection is lost before that, the server dropped the transaction and it is resent whole.
//!
//! Offsets: the writer marks the end offset of the stream that a command completes (at each
//! handler flush); the acknowledged offset is the last mark among the commands applied.
//!
//! A cluster node's connection hands redirected commands back (see `redirected`); until the
//! cluster sink has taken them, the acknowledged offset stays where it was before the first.

use std::collections::VecDeque;

use bytes::Bytes;
use resp::Frame;

use super::commands::{describe, Kind};
use super::redirected::{is_redirect, Redirected};
use super::ErrorPolicy;

struct Entry {
    command: Bytes,
    kind: Kind,
    /// The stream offset reached once this command (and all before it) is applied.
    end_offset: Option<u64>,
}

/// A command the target answered with an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The command name, upper case.
    pub command: String,
    /// Its first key, if it has one (shortened and escaped for a message).
    pub key: Option<String>,
    /// The target's error reply.
    pub reply: String,
    /// Everything up to this offset was applied before the refused command.
    pub delivered: u64,
}

/// A reply that answers nothing: the connection is out of step and must be dropped.
#[derive(Debug)]
pub struct Unexpected(pub String);

pub(super) struct InFlight {
    entries: VecDeque<Entry>,
    /// Encoded size of `entries`, which the window bounds.
    bytes: usize,
    /// How many entries at the front have been answered but wait for their `EXEC`.
    answered: usize,
    /// The db in effect before the front entry: where a resend must `SELECT` first.
    front_db: u64,
    delivered: u64,
    policy: ErrorPolicy,
    skipped: u64,
    /// Hand redirections over (a cluster node's connection). Otherwise one stops the stream
    /// whatever the policy: skipping it would lose the write.
    follow_redirects: bool,
    /// The first redirection of a command queued in the open transaction: its `EXEC` fails,
    /// and the whole transaction goes where this says.
    tx_redirect: Option<String>,
    redirected: Vec<Redirected>,
    /// What was delivered before the first of `redirected`: nothing after it counts until the
    /// cluster sink has taken them (and then it holds the offset until they are applied).
    held: Option<u64>,
}

impl InFlight {
    pub(super) fn new(delivered: u64, policy: ErrorPolicy) -> Self {
        InFlight {
            entries: VecDeque::new(),
            bytes: 0,
            answered: 0,
            front_db: 0,
            delivered,
            policy,
            skipped: 0,
            follow_redirects: false,
            tx_redirect: None,
            redirected: Vec::new(),
            held: None,
        }
    }

    /// Hands redirections over to [`InFlight::take_redirects`] instead of failing on them.
    pub(super) fn following_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    pub(super) fn push(&mut self, command: Bytes, kind: Kind) {
        self.bytes += command.len();
        self.entries.push_back(Entry { command, kind, end_offset: None });
    }

    /// Everything pushed so far completes the stream up to `offset`.
    pub(super) fn mark(&mut self, offset: u64) {
        match self.entries.back_mut() {
            Some(last) => last.end_offset = Some(offset),
            None => self.delivered = offset,
        }
    }

    pub(super) fn delivered(&self) -> u64 {
        self.held.unwrap_or(self.delivered)
    }

    pub(super) fn has_redirects(&self) -> bool {
        !self.redirected.is_empty()
    }

    /// The commands redirected so far, in reply order, and the offset delivered before the
    /// first of them; the caller holds the offset there until it has applied them elsewhere.
    pub(super) fn take_redirects(&mut self) -> (Vec<Redirected>, Option<u64>) {
        (std::mem::take(&mut self.redirected), self.held.take())
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Commands refused and skipped (`--on-target-error skip`).
    pub(super) fn skipped(&self) -> u64 {
        self.skipped
    }

    /// After a reconnect: the db to select, then every command to write again, in order
    /// (the answered part of an unfinished transaction included; the server dropped it).
    pub(super) fn resend(&mut self) -> (u64, Vec<Bytes>) {
        self.answered = 0;
        self.tx_redirect = None;
        (self.front_db, self.entries.iter().map(|e| e.command.clone()).collect())
    }

    /// Takes the next reply. With [`ErrorPolicy::Fail`] a refusal stops here: nothing from the
    /// refused command on is released, and the caller stops. With [`ErrorPolicy::Skip`] the
    /// refusals are returned for logging and the commands count as handled.
    pub(super) fn reply(&mut self, reply: Frame) -> Result<Vec<Refusal>, Result<Refusal, Unexpected>> {
        let Some(entry) = self.entries.get(self.answered) else {
            return Err(Err(Unexpected(format!("a reply with no command waiting for it: {reply:?}"))));
        };
        let in_tx = self.entries.front().is_some_and(|e| e.kind == Kind::Multi) && self.answered > 0;
        if let Some(text) = error_text(&reply).filter(|t| is_redirect(t)) {
            let kind = entry.kind;
            return self.redirect(kind, in_tx, text);
        }
        let mut refused = Vec::new();
        match entry.kind {
            Kind::Exec if in_tx => {
                // Aborted because a queued command was redirected: the whole transaction goes.
                if let Some(text) = self.tx_redirect.take() {
                    return self.hand_over(self.answered + 1, text);
                }
                let queued = self.entries.range(1..self.answered);
                match &reply {
                    Frame::Array(results) => {
                        for (entry, result) in queued.zip(results) {
                            if let Some(text) = error_text(result) {
                                refused.push(self.refusal(&entry.command, text));
                            }
                        }
                    }
                    // Aborted (a command refused when queued, already reported) or WATCHed.
                    other => {
                        if let Some(text) = error_text(other) {
                            refused.push(self.refusal(&entry.command, text));
                        }
                    }
                }
                self.settle(refused, self.answered + 1)
            }
            Kind::Discard if in_tx => {
                self.tx_redirect = None;
                self.settle(refused, self.answered + 1)
            }
            _ => {
                if let Some(text) = error_text(&reply) {
                    refused.push(self.refusal(&entry.command, text));
                }
                if in_tx || (entry.kind == Kind::Multi && refused.is_empty()) {
                    // Queued (or the MULTI itself): applied, if at all, at the EXEC.
                    if let (Some(first), ErrorPolicy::Fail) = (refused.first(), self.policy) {
                        return Err(Ok(first.clone()));
                    }
                    self.answered += 1;
                    self.skipped += refused.len() as u64;
                    Ok(refused)
                } else {
                    self.settle(refused, 1)
                }
            }
        }
    }

    /// A redirection instead of a reply: the command (with its whole transaction) is handed
    /// over, or, on a connection that does not follow redirections, the stream stops.
    fn redirect(&mut self, kind: Kind, in_tx: bool, text: String) -> Result<Vec<Refusal>, Result<Refusal, Unexpected>> {
        if !self.follow_redirects {
            let mut refusal = self.refusal(&self.entries[self.answered].command, text);
            refusal.reply +=
                " (a cluster redirection from a target that did not say it is a cluster when redtail connected)";
            return Err(Ok(refusal));
        }
        match (in_tx, kind) {
            // EXEC itself: the node checks every queued key again, and discards the transaction.
            (true, Kind::Exec) => self.hand_over(self.answered + 1, text),
            (true, _) => {
                self.tx_redirect.get_or_insert(text);
                self.answered += 1;
                Ok(Vec::new())
            }
            _ => self.hand_over(1, text),
        }
    }

    /// Hands the first `n` entries over as one redirected unit, holding the delivered offset
    /// before them.
    fn hand_over(&mut self, n: usize, reply: String) -> Result<Vec<Refusal>, Result<Refusal, Unexpected>> {
        let command = match n {
            1 => self.entries[0].command.clone(),
            _ => self.entries.range(..n).flat_map(|e| e.command.iter().copied()).collect::<Vec<u8>>().into(),
        };
        self.held = Some(self.delivered());
        self.redirected.push(Redirected { command, reply, db: self.front_db });
        self.settle(Vec::new(), n)
    }

    /// Releases the first `n` entries as handled, unless a refusal must stop the stream.
    fn settle(&mut self, refused: Vec<Refusal>, n: usize) -> Result<Vec<Refusal>, Result<Refusal, Unexpected>> {
        if let (Some(first), ErrorPolicy::Fail) = (refused.first(), self.policy) {
            return Err(Ok(first.clone()));
        }
        self.skipped += refused.len() as u64;
        for entry in self.entries.drain(..n) {
            self.bytes -= entry.command.len();
            if let Kind::Select(db) = entry.kind {
                self.front_db = db;
            }
            if let Some(offset) = entry.end_offset {
                self.delivered = offset;
            }
        }
        self.answered = 0;
        Ok(refused)
    }

    fn refusal(&self, command: &Bytes, reply: String) -> Refusal {
        let (command, key) = describe(command);
        Refusal { command, key, reply, delivered: self.delivered() }
    }
}

fn error_text(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Error(e) | Frame::BulkError(e) => Some(String::from_utf8_lossy(e).into_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> (Bytes, Kind) {
        let bytes = resp::encode_command(args);
        let mut kind = Kind::Other;
        super::super::commands::split(&bytes, |_, k| kind = k).unwrap();
        (bytes, kind)
    }

    fn push(f: &mut InFlight, args: &[&str], mark: Option<u64>) {
        let (bytes, kind) = cmd(args);
        f.push(bytes, kind);
        if let Some(m) = mark {
            f.mark(m);
        }
    }

    fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    fn err(text: &'static str) -> Frame {
        Frame::Error(Bytes::from_static(text.as_bytes()))
    }

    #[test]
    fn offsets_follow_the_replies() {
        let mut f = InFlight::new(10, ErrorPolicy::Fail);
        push(&mut f, &["SET", "a", "1"], Some(40));
        push(&mut f, &["SET", "b", "1"], None);
        push(&mut f, &["SET", "c", "1"], Some(90));
        f.reply(ok()).unwrap();
        assert_eq!(f.delivered(), 40);
        f.reply(ok()).unwrap();
        assert_eq!(f.delivered(), 40, "no mark on the second command");
        f.reply(ok()).unwrap();
        assert_eq!((f.delivered(), f.bytes(), f.is_empty()), (90, 0, true));
        f.mark(95);
        assert_eq!(f.delivered(), 95, "a mark with nothing in flight is delivered at once");
        assert!(matches!(f.reply(ok()), Err(Err(Unexpected(_)))));
    }

    #[test]
    fn a_transaction_applies_at_its_exec_and_is_resent_whole() {
        let mut f = InFlight::new(0, ErrorPolicy::Fail);
        push(&mut f, &["SELECT", "2"], Some(20));
        push(&mut f, &["MULTI"], None);
        push(&mut f, &["INCR", "n"], Some(60));
        push(&mut f, &["EXEC"], Some(80));
        f.reply(ok()).unwrap();
        f.reply(ok()).unwrap();
        f.reply(Frame::Simple(Bytes::from_static(b"QUEUED"))).unwrap();
        assert_eq!(f.delivered(), 20, "queued is not applied");
        let (db, again) = f.resend();
        assert_eq!(db, 2);
        assert_eq!(again.len(), 3, "MULTI, INCR and EXEC go again");
        assert_eq!(&again[0][..], b"*1\r\n$5\r\nMULTI\r\n");
        f.reply(ok()).unwrap();
        f.reply(Frame::Simple(Bytes::from_static(b"QUEUED"))).unwrap();
        f.reply(Frame::Array(vec![Frame::Integer(1)])).unwrap();
        assert_eq!((f.delivered(), f.is_empty()), (80, true));
    }

    #[test]
    fn fail_stops_at_the_refused_command_naming_it() {
        let mut f = InFlight::new(0, ErrorPolicy::Fail);
        push(&mut f, &["SET", "a", "1"], Some(30));
        push(&mut f, &["RPUSH", "a", "x"], Some(50));
        f.reply(ok()).unwrap();
        let Err(Ok(r)) = f.reply(err("WRONGTYPE Operation against a key holding the wrong kind of value")) else {
            panic!()
        };
        assert_eq!((r.command.as_str(), r.key.as_deref(), r.delivered), ("RPUSH", Some("a"), 30));
        assert!(r.reply.starts_with("WRONGTYPE"));
        assert_eq!(f.delivered(), 30);
    }

    #[test]
    fn skip_counts_and_goes_on_also_inside_exec() {
        let mut f = InFlight::new(0, ErrorPolicy::Skip);
        push(&mut f, &["RPUSH", "a", "x"], Some(30));
        push(&mut f, &["MULTI"], None);
        push(&mut f, &["SET", "b", "1"], None);
        push(&mut f, &["LPUSH", "b", "x"], None);
        push(&mut f, &["EXEC"], Some(90));
        assert_eq!(f.reply(err("WRONGTYPE x")).unwrap().len(), 1);
        assert_eq!(f.delivered(), 30);
        f.reply(ok()).unwrap();
        f.reply(Frame::Simple(Bytes::from_static(b"QUEUED"))).unwrap();
        f.reply(Frame::Simple(Bytes::from_static(b"QUEUED"))).unwrap();
        let refused = f.reply(Frame::Array(vec![ok(), err("WRONGTYPE y")])).unwrap();
        assert_eq!((refused[0].command.as_str(), refused[0].key.as_deref()), ("LPUSH", Some("b")));
        assert_eq!((f.delivered(), f.skipped()), (90, 2));
    }

    #[test]
    fn fail_inside_exec_keeps_the_transaction_undelivered() {
        let mut f = InFlight::new(5, ErrorPolicy::Fail);
        push(&mut f, &["MULTI"], None);
        push(&mut f, &["LPUSH", "b", "x"], None);
        push(&mut f, &["EXEC"], Some(90));
        f.reply(ok()).unwrap();
        f.reply(Frame::Simple(Bytes::from_static(b"QUEUED"))).unwrap();
        let Err(Ok(r)) = f.reply(Frame::Array(vec![err("WRONGTYPE y")])) else { panic!() };
        assert_eq!((r.command.as_str(), r.delivered), ("LPUSH", 5));
        assert_eq!(f.delivered(), 5);
    }

    #[test]
    fn a_redirect_is_handed_over_whatever_the_policy_and_holds_the_offset() {
        let mut f = InFlight::new(0, ErrorPolicy::Skip).following_redirects(true);
        push(&mut f, &["SELECT", "3"], Some(10));
        push(&mut f, &["SET", "a", "1"], Some(30));
        push(&mut f, &["SET", "b", "1"], Some(50));
        f.reply(ok()).unwrap();
        assert_eq!(f.reply(err("MOVED 15495 127.0.0.1:7001")).unwrap(), Vec::<Refusal>::new());
        f.reply(ok()).unwrap();
        assert_eq!((f.delivered(), f.skipped(), f.is_empty()), (10, 0, true), "held before the redirected SET");
        let (redirected, held) = f.take_redirects();
        assert_eq!(held, Some(10));
        assert_eq!(redirected.len(), 1);
        assert_eq!(redirected[0].command, resp::encode_command(&["SET", "a", "1"]));
        assert_eq!((redirected[0].reply.as_str(), redirected[0].db), ("MOVED 15495 127.0.0.1:7001", 3));
        assert_eq!(f.delivered(), 50, "once taken, the cluster sink holds the offset");
        assert!(!f.has_redirects());
    }

    #[test]
    fn a_redirect_inside_a_transaction_hands_over_the_whole_transaction() {
        let mut f = InFlight::new(0, ErrorPolicy::Fail).following_redirects(true);
        push(&mut f, &["MULTI"], None);
        push(&mut f, &["INCR", "{t}a"], None);
        push(&mut f, &["INCR", "{t}b"], None);
        push(&mut f, &["EXEC"], Some(90));
        push(&mut f, &["MULTI"], None);
        push(&mut f, &["INCR", "{t}a"], None);
        push(&mut f, &["EXEC"], Some(120));
        f.reply(ok()).unwrap();
        f.reply(Frame::Simple(Bytes::from_static(b"QUEUED"))).unwrap();
        f.reply(err("ASK 1 127.0.0.1:7002")).unwrap();
        f.reply(err("EXECABORT Transaction discarded because of previous errors.")).unwrap();
        // The second: EXEC itself is redirected (the slot moved after the commands were queued).
        f.reply(ok()).unwrap();
        f.reply(Frame::Simple(Bytes::from_static(b"QUEUED"))).unwrap();
        f.reply(err("TRYAGAIN Multiple keys request during rehashing of slot")).unwrap();
        let (redirected, held) = f.take_redirects();
        assert_eq!(held, Some(0));
        let whole = |commands: &[&[&str]]| -> Vec<u8> {
            commands.iter().flat_map(|c| resp::encode_command(c).to_vec()).collect()
        };
        assert_eq!(redirected[0].command, whole(&[&["MULTI"], &["INCR", "{t}a"], &["INCR", "{t}b"], &["EXEC"]]));
        assert_eq!(redirected[0].reply, "ASK 1 127.0.0.1:7002");
        assert_eq!(redirected[1].command, whole(&[&["MULTI"], &["INCR", "{t}a"], &["EXEC"]]));
        assert!(redirected[1].reply.starts_with("TRYAGAIN"));
        assert_eq!((f.delivered(), f.is_empty()), (120, true));
    }

    #[test]
    fn a_redirect_on_a_standalone_connection_stops_even_with_skip() {
        let mut f = InFlight::new(7, ErrorPolicy::Skip);
        push(&mut f, &["SET", "a", "1"], Some(30));
        let Err(Ok(r)) = f.reply(err("MOVED 15495 127.0.0.1:7001")) else { panic!() };
        assert_eq!((r.command.as_str(), r.key.as_deref(), r.delivered), ("SET", Some("a"), 7));
        assert!(r.reply.starts_with("MOVED 15495") && r.reply.contains("cluster"), "{}", r.reply);
    }
}
