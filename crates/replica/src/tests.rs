//! Transcripts: hand-made master bytes in, replica bytes and events out.

use std::time::{Duration, Instant};

use crate::*;

const ID_A: &str = "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd";
const ID_B: &str = "0123456789abcdef0123456789abcdef01234567";
const MARK: &[u8; 40] = b"ffffeeeeddddccccbbbbaaaa9999888877776666";

fn id(s: &str) -> ReplId {
    s.parse().unwrap()
}

/// CRC-64/Jones written out bit by bit in the test kit, so the test does not trust the
/// decoder's own (SIMD) implementation.
use testkit::rdb_writer::crc64_bitwise as crc64_jones;

fn with_crc(mut body: Vec<u8>) -> Vec<u8> {
    let crc = crc64_jones(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

/// The smallest valid RDB: magic, EOF opcode, checksum.
fn tiny_rdb() -> Vec<u8> {
    with_crc(b"REDIS0009\xff".to_vec())
}

/// An RDB whose stream db is 2, with one key `k` = `v` in db 2.
fn rdb_with_key() -> Vec<u8> {
    let mut body = b"REDIS0009".to_vec();
    body.extend_from_slice(b"\xfa\x0erepl-stream-db\x012");
    body.extend_from_slice(b"\xfe\x02");
    body.extend_from_slice(b"\x00\x01k\x01v");
    body.push(0xff);
    with_crc(body)
}

fn cmd(args: &[&str]) -> Vec<u8> {
    resp::encode_command(args).to_vec()
}

/// An owned copy of an [`Output`], for comparing transcripts.
#[derive(Debug, PartialEq)]
enum Out {
    Tx(String),
    Warn(String),
    Continue(ReplId, u64),
    Resync(ReplId, u64),
    Begin(Option<u64>, u64),
    Event(String),
    End(u64),
    Cmd(Command),
}

fn own(out: Output<'_>) -> Out {
    match out {
        Output::Transmit(t) => Out::Tx(String::from_utf8_lossy(&t.0).into_owned()),
        Output::Warning(w) => Out::Warn(w),
        Output::Continue { replid, offset } => Out::Continue(replid, offset),
        Output::Resync { replid, offset } => Out::Resync(replid, offset),
        Output::SnapshotBegin { size, offset, .. } => Out::Begin(size, offset),
        Output::Snapshot(event) => Out::Event(format!("{event:?}")),
        Output::SnapshotEnd { offset } => Out::End(offset),
        Output::Command(c) => Out::Cmd(c.clone()),
    }
}

fn drain(r: &mut Replica, now: Instant) -> Result<Vec<Out>, Error> {
    let mut outs = Vec::new();
    while let Some(out) = r.poll_output(now)? {
        outs.push(own(out));
    }
    Ok(outs)
}

fn tx(args: &[&str]) -> Out {
    Out::Tx(String::from_utf8(cmd(args)).unwrap())
}

fn transmits(outs: &[Out]) -> String {
    outs.iter().filter_map(|o| if let Out::Tx(t) = o { Some(t.as_str()) } else { None }).collect()
}

fn commands(outs: Vec<Out>) -> Vec<Command> {
    outs.into_iter().filter_map(|o| if let Out::Cmd(c) = o { Some(c) } else { None }).collect()
}

/// Runs the handshake with every reply `+OK`, up to the `PSYNC` being sent.
fn handshake(config: Config, now: Instant) -> Replica {
    let mut r = Replica::new(config, now);
    drain(&mut r, now).unwrap();
    r.receive(b"+PONG\r\n", now);
    let outs = drain(&mut r, now).unwrap();
    let replies = transmits(&outs).matches("REPLCONF").count() + transmits(&outs).matches("AUTH").count();
    r.receive("+OK\r\n".repeat(replies).as_bytes(), now);
    let outs = drain(&mut r, now).unwrap();
    assert!(transmits(&outs).contains("PSYNC"));
    r
}

fn resume_config(replid: &str, offset: u64, db: Option<u64>, policy: AckPolicy) -> Config {
    Config {
        start: Start::Resume(Checkpoint { replid: id(replid), offset, db }),
        ack_policy: policy,
        ..Config::default()
    }
}

/// A replica following the stream of `ID_A` after offset 1000, in db 0.
fn streaming(policy: AckPolicy, now: Instant) -> Replica {
    let mut r = handshake(resume_config(ID_A, 1000, Some(0), policy), now);
    r.receive(b"+CONTINUE\r\n", now);
    assert_eq!(drain(&mut r, now).unwrap(), vec![Out::Continue(id(ID_A), 1000)]);
    r
}

#[test]
fn crc_reference_value() {
    assert_eq!(crc64_jones(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
}

#[test]
fn full_handshake_transcript() {
    let now = Instant::now();
    let config = Config {
        auth: Some(Auth { user: Some("repl".into()), password: "s3cret".into() }),
        listening_port: 6380,
        ip_address: Some("10.0.0.7".into()),
        version: Some("9.1.0".into()),
        ..Config::default()
    };
    let mut r = Replica::new(config, now);
    assert_eq!(r.phase(), Phase::Ping);
    assert_eq!(drain(&mut r, now).unwrap(), vec![tx(&["PING"])]);

    // A keepalive before the reply is skipped.
    r.receive(b"\n+PONG\r\n", now);
    let pipelined = [
        cmd(&["AUTH", "repl", "s3cret"]),
        cmd(&["REPLCONF", "listening-port", "6380"]),
        cmd(&["REPLCONF", "ip-address", "10.0.0.7"]),
        cmd(&["REPLCONF", "capa", "eof", "capa", "psync2"]),
        cmd(&["REPLCONF", "version", "9.1.0"]),
    ]
    .concat();
    assert_eq!(drain(&mut r, now).unwrap(), vec![Out::Tx(String::from_utf8(pipelined).unwrap())]);
    assert_eq!(r.phase(), Phase::Handshake);

    // PSYNC waits until every reply is in, even when they arrive one byte at a time.
    let replies = b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n";
    for &byte in &replies[..replies.len() - 1] {
        r.receive(&[byte], now);
        assert_eq!(drain(&mut r, now).unwrap(), vec![]);
    }
    r.receive(b"\n", now);
    assert_eq!(drain(&mut r, now).unwrap(), vec![tx(&["PSYNC", "?", "-1"])]);
    assert_eq!(r.phase(), Phase::Psync);
}

#[test]
fn redis_2_8_refuses_capa_and_version() {
    let now = Instant::now();
    let mut r = Replica::new(Config::default(), now);
    drain(&mut r, now).unwrap();
    r.receive(b"+PONG\r\n", now);
    drain(&mut r, now).unwrap();
    r.receive(b"+OK\r\n-ERR Unrecognized REPLCONF option: capa\r\n-ERR Unrecognized REPLCONF option: version\r\n", now);
    let outs = drain(&mut r, now).unwrap();
    assert_eq!(outs.len(), 2, "{outs:?}");
    assert!(matches!(&outs[0], Out::Warn(w) if w.contains("capa") && w.contains("Unrecognized")));
    assert_eq!(outs[1], tx(&["PSYNC", "?", "-1"]));
    // Redis 2.8 starts its offsets at 1.
    r.receive(format!("+FULLRESYNC {ID_A} 1\r\n").as_bytes(), now);
    let rdb = tiny_rdb();
    r.receive(format!("${}\r\n", rdb.len()).as_bytes(), now);
    r.receive(&rdb, now);
    let outs = drain(&mut r, now).unwrap();
    assert_eq!(outs.last(), Some(&Out::End(1)));
}

#[test]
fn ping_noauth_means_authenticate() {
    let now = Instant::now();
    let config = Config { auth: Some(Auth { user: None, password: "pw".into() }), ..Config::default() };
    let mut r = Replica::new(config, now);
    drain(&mut r, now).unwrap();
    r.receive(b"-NOAUTH Authentication required.\r\n", now);
    let outs = drain(&mut r, now).unwrap();
    assert!(transmits(&outs).starts_with(&String::from_utf8(cmd(&["AUTH", "pw"])).unwrap()));

    for reply in ["-NOPERM this user has no permissions\r\n", "-ERR operation not permitted\r\n"] {
        let mut r =
            Replica::new(Config { auth: Some(Auth { user: None, password: "pw".into() }), ..Config::default() }, now);
        drain(&mut r, now).unwrap();
        r.receive(reply.as_bytes(), now);
        assert!(transmits(&drain(&mut r, now).unwrap()).contains("AUTH"));
    }

    // Without a password there is nothing to carry on with.
    let mut r = Replica::new(Config::default(), now);
    drain(&mut r, now).unwrap();
    r.receive(b"-NOAUTH Authentication required.\r\n", now);
    let err = drain(&mut r, now).unwrap_err();
    assert!(matches!(err, Error::AuthRequired { .. }), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(r.phase(), Phase::Failed);
}

#[test]
fn wrong_password_never_shows_the_password() {
    let now = Instant::now();
    let password = "hunter2-very-secret";
    for (user, reply) in [
        (Some("alice"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n".to_string()),
        (None, "-ERR invalid password\r\n".to_string()),
        // Even a server that echoes it.
        (None, format!("-ERR bad password {password}\r\n")),
    ] {
        let config =
            Config { auth: Some(Auth { user: user.map(Into::into), password: password.into() }), ..Config::default() };
        assert!(!format!("{config:?}").contains(password));
        let mut r = Replica::new(config, now);
        drain(&mut r, now).unwrap();
        r.receive(b"+PONG\r\n", now);
        let outs = drain(&mut r, now).unwrap();
        assert!(!format!("{outs:?}").is_empty());
        r.receive(reply.as_bytes(), now);
        let err = drain(&mut r, now).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Auth { .. }), "{message}");
        assert!(message.contains("wrong password or user"), "{message}");
        assert!(!message.contains(password), "{message}");
        assert!(!format!("{err:?}").contains(password));
        if let Some(u) = user {
            assert!(message.contains(u), "{message}");
        }
        assert!(!err.is_retryable());
    }
    // The bytes to send carry it, but their Debug form does not.
    let t = Transmit(resp::encode_command(&["AUTH", password]));
    assert!(!format!("{t:?}").contains(password));
}

#[test]
fn fullresync_with_a_sized_rdb() {
    let now = Instant::now();
    let mut r = handshake(Config { ack_policy: AckPolicy::Received, ..Config::default() }, now);
    let rdb = rdb_with_key();
    let mut bytes = format!("\n+FULLRESYNC {ID_A} 500\r\n\n\n${}\r\n", rdb.len()).into_bytes();
    bytes.extend_from_slice(&rdb);
    // The stream follows at once, with no CRLF after the RDB.
    let set = cmd(&["SET", "k", "w"]);
    bytes.extend_from_slice(&set);
    r.receive(&bytes, now);
    let outs = drain(&mut r, now).unwrap();
    assert_eq!(outs[0], Out::Begin(Some(rdb.len() as u64), 500));
    let events: Vec<_> =
        outs.iter().filter_map(|o| if let Out::Event(e) = o { Some(e.as_str()) } else { None }).collect();
    assert!(events[0].starts_with("Begin"), "{events:?}");
    assert!(events.iter().any(|e| e.contains("repl-stream-db")));
    assert!(events.iter().any(|e| e.starts_with("Key") && e.contains("\"k\"")));
    assert!(events.last().unwrap().contains("Verified"), "{events:?}");
    let end = outs.iter().position(|o| *o == Out::End(500)).unwrap();
    // No ACK right after a disk-based transfer: the master streams without one.
    assert_eq!(
        outs[end + 1..],
        [Out::Cmd(Command {
            kind: CommandKind::Data,
            db: Some(2),
            args: vec!["SET".into(), "k".into(), "w".into()],
            start_offset: 500,
            end_offset: 500 + set.len() as u64,
            replid: id(ID_A),
            tx: None,
        })]
    );
    assert_eq!(r.phase(), Phase::Stream);
    // The first ACK goes out within the busy interval, since the offset moved.
    assert_eq!(drain(&mut r, now + Duration::from_millis(50)).unwrap(), vec![]);
    let ack = (500 + set.len()).to_string();
    assert_eq!(drain(&mut r, now + Duration::from_millis(100)).unwrap(), vec![tx(&["REPLCONF", "ACK", &ack])]);
}

#[test]
fn fullresync_diskless_with_keepalives() {
    let now = Instant::now();
    let mut r = handshake(Config::default(), now);
    r.receive(format!("+FULLRESYNC {ID_B} 0\r\n").as_bytes(), now);
    assert_eq!(drain(&mut r, now).unwrap(), vec![]);
    // Keepalives while the master waits for its diskless-sync delay.
    for _ in 0..3 {
        r.receive(b"\n", now);
        assert_eq!(drain(&mut r, now).unwrap(), vec![]);
    }
    r.receive(b"$EOF:", now);
    r.receive(MARK, now);
    r.receive(b"\r\n", now);
    let outs = drain(&mut r, now).unwrap();
    assert_eq!(outs, vec![Out::Begin(None, 0)]);
    let rdb = tiny_rdb();
    r.receive(&rdb, now);
    r.receive(&MARK[..20], now);
    let outs = drain(&mut r, now).unwrap();
    assert!(
        matches!(&outs[..], [Out::Event(b), Out::Event(e)] if b.starts_with("Begin") && e.starts_with("End")),
        "{outs:?}"
    );
    assert_eq!(r.phase(), Phase::Snapshot, "half the mark is not the end");
    r.receive(&MARK[20..], now);
    // The master sends nothing more until it gets an ACK: one goes at once.
    assert_eq!(drain(&mut r, now).unwrap(), vec![Out::End(0), tx(&["REPLCONF", "ACK", "0"])]);
    // Under the delivered policy, no checkpoint until the snapshot is delivered.
    assert_eq!(r.checkpoint(), None);
    r.ack_delivered(0);
    assert_eq!(r.checkpoint(), Some(Checkpoint { replid: id(ID_B), offset: 0, db: None }));
    // More soon (the master starts streaming only after an ACK that arrives once its save
    // child has ended), one each busy interval until the stream's first bytes come.
    assert_eq!(drain(&mut r, now + Duration::from_millis(99)).unwrap(), vec![]);
    let soon = now + Duration::from_millis(100);
    assert_eq!(drain(&mut r, soon).unwrap(), vec![tx(&["REPLCONF", "ACK", "0"])]);
    assert_eq!(drain(&mut r, soon + Duration::from_millis(99)).unwrap(), vec![]);
    let later = soon + Duration::from_millis(100);
    assert_eq!(drain(&mut r, later).unwrap(), vec![tx(&["REPLCONF", "ACK", "0"])]);
    // The stream starts: the master has put the replica online, so the idle pace from now on.
    let select = cmd(&["SELECT", "0"]);
    r.receive(&select, later);
    let cmds = commands(drain(&mut r, later).unwrap());
    assert_eq!((cmds[0].kind, cmds[0].db, cmds[0].start_offset), (CommandKind::Select, Some(0), 0));
    r.ack_delivered(select.len() as u64);
    let acked = || tx(&["REPLCONF", "ACK", &select.len().to_string()]);
    assert_eq!(drain(&mut r, later + Duration::from_millis(100)).unwrap(), vec![acked()], "the offset moved");
    assert_eq!(drain(&mut r, later + Duration::from_millis(1099)).unwrap(), vec![]);
    assert_eq!(drain(&mut r, later + Duration::from_millis(1100)).unwrap(), vec![acked()]);
}

/// With no stream at all after a diskless transfer, the fast ACKs run out and the idle pace
/// takes over.
#[test]
fn fast_acks_after_a_diskless_transfer_are_bounded() {
    let now = Instant::now();
    let mut r = handshake(Config::default(), now);
    r.receive(format!("+FULLRESYNC {ID_B} 0\r\n$EOF:").as_bytes(), now);
    r.receive(MARK, now);
    r.receive(b"\r\n", now);
    r.receive(&tiny_rdb(), now);
    r.receive(MARK, now);
    assert!(drain(&mut r, now).unwrap().contains(&tx(&["REPLCONF", "ACK", "0"])));
    r.ack_delivered(0);
    let mut at = now;
    let mut fast = 0;
    loop {
        at += Duration::from_millis(100);
        if drain(&mut r, at).unwrap().is_empty() {
            break;
        }
        fast += 1;
    }
    assert_eq!(fast, 20, "one each busy interval, a bounded number of times");
    assert_eq!(drain(&mut r, at - Duration::from_millis(100) + Duration::from_millis(1000)).unwrap().len(), 1);
}

#[test]
fn diskless_rdb_and_stream_in_one_read() {
    let now = Instant::now();
    let mut r = handshake(Config::default(), now);
    let mut bytes = format!("+FULLRESYNC {ID_B} 7\r\n\n$EOF:").into_bytes();
    bytes.extend_from_slice(MARK);
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&tiny_rdb());
    bytes.extend_from_slice(MARK);
    bytes.extend_from_slice(&cmd(&["ping"]));
    r.receive(&bytes, now);
    let outs = drain(&mut r, now).unwrap();
    let cmds = commands(outs);
    assert_eq!(cmds.len(), 1);
    assert_eq!((cmds[0].kind, cmds[0].start_offset, cmds[0].end_offset), (CommandKind::Ping, 7, 21));
}

#[test]
fn continue_keeps_the_id_and_restores_the_db() {
    let now = Instant::now();
    let mut r = handshake(resume_config(ID_A, 1000, Some(5), AckPolicy::Delivered), now);
    let mut bytes = b"\n+CONTINUE\r\n".to_vec();
    bytes.extend_from_slice(&cmd(&["DEL", "x"]));
    r.receive(&bytes, now);
    let outs = drain(&mut r, now).unwrap();
    assert_eq!(outs[0], Out::Continue(id(ID_A), 1000));
    let cmds = commands(outs);
    assert_eq!((cmds[0].db, cmds[0].start_offset, cmds[0].replid), (Some(5), 1000, id(ID_A)));
    assert_eq!(r.replid2(), None);
}

#[test]
fn continue_with_a_new_id_keeps_the_old_as_replid2() {
    let now = Instant::now();
    let mut r = handshake(resume_config(ID_A, 1000, Some(0), AckPolicy::Delivered), now);
    r.receive(format!("+CONTINUE {ID_B}\r\n").as_bytes(), now);
    assert_eq!(drain(&mut r, now).unwrap(), vec![Out::Continue(id(ID_B), 1000)]);
    assert_eq!(r.replid(), Some(id(ID_B)));
    assert_eq!(r.replid2(), Some((id(ID_A), 1001)));
    assert_eq!(r.checkpoint().unwrap().replid, id(ID_B));

    // The same ID again is not a change.
    let mut r = handshake(resume_config(ID_A, 1000, Some(0), AckPolicy::Delivered), now);
    r.receive(format!("+CONTINUE {ID_A}\r\n").as_bytes(), now);
    drain(&mut r, now).unwrap();
    assert_eq!(r.replid2(), None);
}

#[test]
fn fullresync_after_a_resume_is_a_resync() {
    let now = Instant::now();
    let mut r = handshake(resume_config(ID_A, 1000, Some(0), AckPolicy::Delivered), now);
    r.receive(format!("+FULLRESYNC {ID_B} 42\r\n").as_bytes(), now);
    assert_eq!(drain(&mut r, now).unwrap(), vec![Out::Resync(id(ID_B), 42)]);
}

#[test]
fn psync_errors() {
    let now = Instant::now();
    for (reply, retryable, text) in [
        ("-NOMASTERLINK Can't SYNC while not connected with my master\r\n", true, "not ready"),
        ("-LOADING Redis is loading the dataset in memory\r\n", true, "not ready"),
        ("-ERR unknown command 'PSYNC'\r\n", false, "predates PSYNC"),
        ("-ERR Replica can't interact with the keyspace\r\n", false, "forbid replication"),
        ("+DUALCHANNELSYNC\r\n", false, "Redis or Valkey"),
        (":1\r\n", false, "Redis or Valkey"),
        ("HTTP/1.1 400 Bad Request\r\n", false, "Redis or Valkey"),
    ] {
        let mut r = handshake(Config::default(), now);
        r.receive(reply.as_bytes(), now);
        let err = drain(&mut r, now).unwrap_err();
        assert_eq!(err.is_retryable(), retryable, "{reply}: {err}");
        assert!(err.to_string().contains(text), "{reply}: {err}");
        // The connection stays failed.
        assert!(r.poll_output(now).is_err());
    }
}

#[test]
fn getack_is_answered_with_the_offset_before_it() {
    let now = Instant::now();
    let set = cmd(&["SET", "a", "1"]);
    let getack = cmd(&["REPLCONF", "GETACK", "*"]);
    let mut bytes = set.clone();
    bytes.extend_from_slice(&getack);

    let mut r = streaming(AckPolicy::Received, now);
    r.receive(&bytes, now);
    let outs = drain(&mut r, now).unwrap();
    let expect = (1000 + set.len()).to_string();
    assert_eq!(transmits(&outs), String::from_utf8(cmd(&["REPLCONF", "ACK", &expect])).unwrap());
    let cmds = commands(outs);
    assert_eq!(cmds[1].kind, CommandKind::Replconf);
    assert_eq!(cmds[1].end_offset, 1000 + (set.len() + getack.len()) as u64);
    assert_eq!(r.ack_offset(), Some(cmds[1].end_offset));

    // Under the delivered policy it reports what was delivered.
    let mut r = streaming(AckPolicy::Delivered, now);
    r.receive(&set, now);
    drain(&mut r, now).unwrap();
    r.receive(&getack, now);
    assert_eq!(transmits(&drain(&mut r, now).unwrap()), String::from_utf8(cmd(&["REPLCONF", "ACK", "1000"])).unwrap());
    r.ack_delivered(1000 + set.len() as u64);
    r.receive(&getack, now);
    // The SET is delivered, and the GETACK before this one needs no delivery.
    let expect = (1000 + set.len() + getack.len()).to_string();
    assert_eq!(transmits(&drain(&mut r, now).unwrap()), String::from_utf8(cmd(&["REPLCONF", "ACK", &expect])).unwrap());
}

#[test]
fn multi_exec_is_one_transaction_with_select_inside() {
    let now = Instant::now();
    let mut r = streaming(AckPolicy::Received, now);
    let frames = [
        cmd(&["MULTI"]),
        cmd(&["SELECT", "3"]),
        cmd(&["SET", "a", "1"]),
        cmd(&["INCR", "b"]),
        cmd(&["EXEC"]),
        cmd(&["DEL", "a"]),
    ];
    let mut start = 1000u64;
    let mut offsets = Vec::new();
    for f in &frames {
        offsets.push((start, start + f.len() as u64));
        start += f.len() as u64;
    }
    // Up to the SET: inside the transaction, the acknowledged offset stays before MULTI.
    r.receive(&frames[..3].concat(), now);
    let cmds = commands(drain(&mut r, now).unwrap());
    assert_eq!(r.received_offset(), Some(offsets[2].1));
    assert_eq!(r.ack_offset(), Some(1000));
    assert_eq!(r.checkpoint(), Some(Checkpoint { replid: id(ID_A), offset: 1000, db: Some(0) }));
    r.receive(&frames[3..].concat(), now);
    let cmds: Vec<_> = cmds.into_iter().chain(commands(drain(&mut r, now).unwrap())).collect();
    let tx = Some(TxId(1000));
    let got: Vec<_> = cmds.iter().map(|c| (c.kind, c.db, c.tx, c.start_offset, c.end_offset)).collect();
    assert_eq!(
        got,
        vec![
            (CommandKind::Multi, Some(0), tx, offsets[0].0, offsets[0].1),
            (CommandKind::Select, Some(3), tx, offsets[1].0, offsets[1].1),
            (CommandKind::Data, Some(3), tx, offsets[2].0, offsets[2].1),
            (CommandKind::Data, Some(3), tx, offsets[3].0, offsets[3].1),
            (CommandKind::Exec, Some(3), tx, offsets[4].0, offsets[4].1),
            (CommandKind::Data, Some(3), None, offsets[5].0, offsets[5].1),
        ]
    );
    assert_eq!(r.ack_offset(), Some(offsets[5].1));
    assert_eq!(r.checkpoint(), Some(Checkpoint { replid: id(ID_A), offset: offsets[5].1, db: Some(3) }));
}

#[test]
fn delivered_checkpoints_name_the_db_at_their_offset() {
    let now = Instant::now();
    let mut r = streaming(AckPolicy::Delivered, now);
    let frames = [cmd(&["SET", "a", "1"]), cmd(&["SELECT", "4"]), cmd(&["SET", "b", "2"]), cmd(&["PING"])];
    r.receive(&frames.concat(), now);
    let cmds = commands(drain(&mut r, now).unwrap());
    assert_eq!(r.checkpoint(), Some(Checkpoint { replid: id(ID_A), offset: 1000, db: Some(0) }));
    r.ack_delivered(cmds[0].end_offset);
    assert_eq!(r.checkpoint(), Some(Checkpoint { replid: id(ID_A), offset: cmds[0].end_offset, db: Some(0) }));
    r.ack_delivered(cmds[2].end_offset);
    // Everything with data is delivered: the trailing PING counts too.
    assert_eq!(r.checkpoint(), Some(Checkpoint { replid: id(ID_A), offset: cmds[3].end_offset, db: Some(4) }));
}

#[test]
fn command_names_are_case_insensitive() {
    let now = Instant::now();
    let mut r = streaming(AckPolicy::Received, now);
    r.receive(
        &[cmd(&["ping"]), cmd(&["select", "1"]), cmd(&["Multi"]), cmd(&["exec"]), cmd(&["replconf", "getack", "*"])]
            .concat(),
        now,
    );
    let outs = drain(&mut r, now).unwrap();
    assert!(transmits(&outs).contains("ACK"));
    let kinds: Vec<_> = commands(outs).iter().map(|c| (c.kind, c.db)).collect();
    assert_eq!(
        kinds,
        vec![
            (CommandKind::Ping, Some(0)),
            (CommandKind::Select, Some(1)),
            (CommandKind::Multi, Some(1)),
            (CommandKind::Exec, Some(1)),
            (CommandKind::Replconf, Some(1)),
        ]
    );
}

#[test]
fn stream_split_at_every_byte() {
    let now = Instant::now();
    let mut stream = [
        cmd(&["SELECT", "1"]),
        cmd(&["SET", "key", "a\r\nbinary\0value"]),
        cmd(&["MULTI"]),
        cmd(&["LPUSH", "l", "x", "y"]),
        cmd(&["EXEC"]),
        cmd(&["PING"]),
        cmd(&["REPLCONF", "GETACK", "*"]),
        cmd(&["DEL", "key"]),
    ]
    .concat();
    // Blank lines are tolerated and do not count.
    stream.splice(0..0, b"\n".iter().copied());
    let whole = {
        let mut r = streaming(AckPolicy::Received, now);
        r.receive(&stream, now);
        drain(&mut r, now).unwrap()
    };
    assert_eq!(commands(drain_copy(&whole)).last().unwrap().end_offset, 1000 + stream.len() as u64 - 1);
    for split in 0..=stream.len() {
        let mut r = streaming(AckPolicy::Received, now);
        r.receive(&stream[..split], now);
        let mut outs = drain(&mut r, now).unwrap();
        r.receive(&stream[split..], now);
        outs.extend(drain(&mut r, now).unwrap());
        assert_eq!(outs, whole, "split at {split}");
    }
}

fn drain_copy(outs: &[Out]) -> Vec<Out> {
    outs.iter()
        .map(|o| match o {
            Out::Cmd(c) => Out::Cmd(c.clone()),
            Out::Tx(t) => Out::Tx(t.clone()),
            other => Out::Warn(format!("{other:?}")),
        })
        .collect()
}

#[test]
fn a_lying_bulk_length_is_refused() {
    let now = Instant::now();
    let mut r = streaming(AckPolicy::Received, now);
    let set = cmd(&["SET", "a", "1"]);
    r.receive(&set, now);
    r.receive(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999999999\r\n", now);
    let err = drain(&mut r, now).unwrap_err();
    let offset = 1000 + set.len() as u64;
    assert!(
        matches!(&err, Error::Stream { offset: o, source } if *o == offset && source.offset == offset + 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("999999999999"), "{err}");
    assert!(err.is_retryable());
    // Configurable.
    let config = Config {
        resp_limits: resp::Limits { max_bulk_len: 8, ..Default::default() },
        ..resume_config(ID_A, 0, None, AckPolicy::Received)
    };
    let mut r = handshake(config, now);
    r.receive(b"+CONTINUE\r\n", now);
    r.receive(&cmd(&["SET", "k", "123456789"]), now);
    assert!(matches!(drain(&mut r, now), Err(Error::Stream { .. })));
}

#[test]
fn inline_commands_and_other_frames_are_protocol_errors() {
    let now = Instant::now();
    for (bytes, text) in [
        (&b"SET a b\r\n"[..], "inline command"),
        (b"+OK\r\n", "where only commands belong"),
        (b"*2\r\n$3\r\nDEL\r\n:1\r\n", "not all bulk strings"),
        (b"*2\r\n$6\r\nSELECT\r\n$1\r\nx\r\n", "SELECT with a bad db"),
    ] {
        let mut r = streaming(AckPolicy::Received, now);
        r.receive(bytes, now);
        let err = drain(&mut r, now).unwrap_err();
        assert!(err.to_string().contains(text), "{err}");
        assert!(err.to_string().contains("offset 1000"), "{err}");
    }
}

#[test]
fn garbage_after_the_rdb() {
    let now = Instant::now();
    let rdb = tiny_rdb();
    // A declared length longer than the RDB.
    let mut r = handshake(Config::default(), now);
    let mut bytes = format!("+FULLRESYNC {ID_A} 0\r\n${}\r\n", rdb.len() + 3).into_bytes();
    bytes.extend_from_slice(&rdb);
    bytes.extend_from_slice(b"xyz");
    r.receive(&bytes, now);
    let err = drain(&mut r, now).unwrap_err();
    assert!(matches!(err, Error::TrailingGarbage { rdb_len: 18, declared: Some(21), .. }), "{err:?}");
    assert!(err.to_string().contains("garbage after the RDB"), "{err}");

    // A declared length shorter than the RDB.
    let mut r = handshake(Config::default(), now);
    let mut bytes = format!("+FULLRESYNC {ID_A} 0\r\n${}\r\n", rdb.len() - 2).into_bytes();
    bytes.extend_from_slice(&rdb);
    r.receive(&bytes, now);
    let err = drain(&mut r, now).unwrap_err();
    assert!(matches!(err, Error::SnapshotTruncated { declared: 16, .. }), "{err:?}");

    // A diskless RDB followed by something that is not its mark.
    let mut r = handshake(Config::default(), now);
    let mut bytes = format!("+FULLRESYNC {ID_A} 0\r\n$EOF:").into_bytes();
    bytes.extend_from_slice(MARK);
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&rdb);
    bytes.extend_from_slice(b"ffffeeeeXX");
    r.receive(&bytes, now);
    let err = drain(&mut r, now).unwrap_err();
    assert!(matches!(err, Error::TrailingGarbage { declared: None, .. }), "{err:?}");
    assert!(err.to_string().contains("end mark"), "{err}");

    // A corrupt RDB is the decoder's error.
    let mut r = handshake(Config::default(), now);
    let mut bad = rdb.clone();
    bad[17] ^= 1;
    let mut bytes = format!("+FULLRESYNC {ID_A} 0\r\n${}\r\n", bad.len()).into_bytes();
    bytes.extend_from_slice(&bad);
    r.receive(&bytes, now);
    assert!(matches!(drain(&mut r, now), Err(Error::Rdb(_))));

    // A bad header, and an aborted transfer.
    for (header, text) in [("$abc\r\n", "bad snapshot header"), ("-ERR child died\r\n", "aborted")] {
        let mut r = handshake(Config::default(), now);
        r.receive(format!("+FULLRESYNC {ID_A} 0\r\n{header}").as_bytes(), now);
        let err = drain(&mut r, now).unwrap_err();
        assert!(err.to_string().contains(text), "{err}");
    }
}

#[test]
fn acks_follow_the_timers() {
    let now = Instant::now();
    let ms = Duration::from_millis;
    let mut r = streaming(AckPolicy::Delivered, now);
    // Idle: one per second, at the acknowledged offset.
    assert_eq!(r.poll_timeout(), Some(now + ms(1000)));
    assert_eq!(drain(&mut r, now + ms(999)).unwrap(), vec![]);
    assert_eq!(drain(&mut r, now + ms(1000)).unwrap(), vec![tx(&["REPLCONF", "ACK", "1000"])]);
    // Data arrives, but nothing is delivered: the acked offset does not move.
    let set = cmd(&["SET", "a", "1"]);
    r.receive(&set, now + ms(1100));
    let cmds = commands(drain(&mut r, now + ms(1100)).unwrap());
    assert_eq!(drain(&mut r, now + ms(1999)).unwrap(), vec![]);
    assert_eq!(drain(&mut r, now + ms(2000)).unwrap(), vec![tx(&["REPLCONF", "ACK", "1000"])]);
    // Once delivered, the new offset goes out within the busy interval.
    r.ack_delivered(cmds[0].end_offset);
    assert_eq!(r.poll_timeout(), Some(now + ms(2100)));
    assert_eq!(drain(&mut r, now + ms(2099)).unwrap(), vec![]);
    let acked = cmds[0].end_offset.to_string();
    assert_eq!(drain(&mut r, now + ms(2100)).unwrap(), vec![tx(&["REPLCONF", "ACK", &acked])]);
    assert_eq!(r.poll_timeout(), Some(now + ms(3100)));
}

/// The end of a burst is acknowledged within a few milliseconds, a steady stream every busy
/// interval.
#[test]
fn the_end_of_a_burst_is_acknowledged_at_once() {
    let now = Instant::now();
    let ms = Duration::from_millis;
    let mut r = streaming(AckPolicy::Delivered, now);
    let set = cmd(&["SET", "a", "1"]);
    r.receive(&set, now + ms(2));
    let cmds = commands(drain(&mut r, now + ms(2)).unwrap());
    r.ack_delivered(cmds[0].end_offset);
    assert_eq!(r.poll_timeout(), Some(now + ms(100)), "more may be on its way: the busy interval");
    r.input_idle();
    assert_eq!(r.poll_timeout(), Some(now + ms(10)), "the burst ended");
    assert_eq!(drain(&mut r, now + ms(9)).unwrap(), vec![], "not more often than every 10 ms");
    let acked = cmds[0].end_offset.to_string();
    assert_eq!(drain(&mut r, now + ms(10)).unwrap(), vec![tx(&["REPLCONF", "ACK", &acked])]);
    // Nothing new: back to the idle heartbeat.
    r.input_idle();
    assert_eq!(r.poll_timeout(), Some(now + ms(1010)));
    // A new burst: until it ends, the busy interval again.
    r.receive(&set, now + ms(50));
    let cmds = commands(drain(&mut r, now + ms(50)).unwrap());
    r.ack_delivered(cmds[0].end_offset);
    assert_eq!(r.poll_timeout(), Some(now + ms(110)));
    r.input_idle();
    let acked = cmds[0].end_offset.to_string();
    assert_eq!(drain(&mut r, now + ms(50)).unwrap(), vec![tx(&["REPLCONF", "ACK", &acked])]);
    // A shorter busy interval than the gap wins.
    let mut r =
        handshake(Config { ack_busy_interval: ms(3), ..resume_config(ID_A, 0, Some(0), AckPolicy::Delivered) }, now);
    r.receive(b"+CONTINUE\r\n", now);
    drain(&mut r, now).unwrap();
    r.receive(&set, now);
    let cmds = commands(drain(&mut r, now).unwrap());
    r.ack_delivered(cmds[0].end_offset);
    r.input_idle();
    assert_eq!(r.poll_timeout(), Some(now + ms(3)));
}

#[test]
fn a_silent_master_times_out() {
    let now = Instant::now();
    let mut r = streaming(AckPolicy::Received, now);
    r.receive(&cmd(&["PING"]), now + Duration::from_secs(10));
    r.handle_timeout(now + Duration::from_secs(69));
    drain(&mut r, now + Duration::from_secs(69)).unwrap();
    r.handle_timeout(now + Duration::from_secs(70));
    let err = r.poll_output(now + Duration::from_secs(70)).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("60 s during the command stream"), "{err}");

    let mut r = Replica::new(Config::default(), now);
    assert_eq!(r.connection_closed().to_string(), "the master closed the connection during the handshake (PING)");
}
