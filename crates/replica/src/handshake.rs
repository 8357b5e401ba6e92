//! The handshake before `PSYNC`, and the replies it gets (protocol.md §2.1–2.2; redis 7.4.1
//! src/replication.c `syncWithMaster`).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use resp::Frame;

use crate::config::{Auth, Config};
use crate::error::Error;
use crate::id::ReplId;

/// A handshake command whose reply is still to come, in the order they were sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Auth,
    ListeningPort,
    IpAddress,
    Capa,
    Version,
}

/// The commands sent after `PING` succeeds, pipelined as Redis does, with the replies to
/// expect. `PSYNC` goes only after all of them are answered: a master refuses `PSYNC` from a
/// client with replies still pending (src/replication.c:962-967).
pub(crate) fn pipeline(config: &Config) -> (Bytes, VecDeque<Step>) {
    let mut out = BytesMut::new();
    let mut steps = VecDeque::new();
    if let Some(auth) = &config.auth {
        match &auth.user {
            Some(user) => {
                resp::encode_command_into(&[&b"AUTH"[..], user.as_bytes(), auth.password.as_bytes()], &mut out)
            }
            None => resp::encode_command_into(&[&b"AUTH"[..], auth.password.as_bytes()], &mut out),
        }
        steps.push_back(Step::Auth);
    }
    let port = config.listening_port.to_string();
    resp::encode_command_into(&["REPLCONF", "listening-port", &port], &mut out);
    steps.push_back(Step::ListeningPort);
    if let Some(ip) = &config.ip_address {
        resp::encode_command_into(&["REPLCONF", "ip-address", ip], &mut out);
        steps.push_back(Step::IpAddress);
    }
    // No `capa dual-channel` / `rdb-channel-repl`: without them Valkey 8 and Redis 8 use
    // the classic single-connection sync (protocol.md §2.7).
    resp::encode_command_into(&["REPLCONF", "capa", "eof", "capa", "psync2"], &mut out);
    steps.push_back(Step::Capa);
    if let Some(version) = &config.version {
        resp::encode_command_into(&["REPLCONF", "version", version], &mut out);
        steps.push_back(Step::Version);
    }
    (out.freeze(), steps)
}

/// A handshake reply: `+…` or `-…`.
pub(crate) enum Reply {
    Ok(String),
    Err(String),
}

impl Reply {
    pub fn from_frame(frame: Frame, during: &'static str) -> Result<Reply, Error> {
        match frame {
            Frame::Simple(s) => Ok(Reply::Ok(String::from_utf8_lossy(&s).into_owned())),
            Frame::Error(e) | Frame::BulkError(e) => Ok(Reply::Err(String::from_utf8_lossy(&e).into_owned())),
            other => Err(Error::UnexpectedReply { during, got: describe(&other) }),
        }
    }
}

/// A short description of an unexpected frame, for error messages.
pub(crate) fn describe(frame: &Frame) -> String {
    let mut out = Vec::new();
    frame.write_to(&mut out);
    quote(&out)
}

/// Bytes as a bounded, printable string.
pub(crate) fn quote(bytes: &[u8]) -> String {
    const MAX: usize = 80;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]);
    let more = if bytes.len() > MAX { "…" } else { "" };
    format!("{text:?}{more}")
}

/// Whether a `PING` error means "authenticate first" (src/replication.c:2647-2668).
pub(crate) fn needs_auth(reply: &str) -> bool {
    reply.starts_with("NOAUTH") || reply.starts_with("NOPERM") || reply.starts_with("ERR operation not permitted")
}

/// Whether an error means "not now": the master is loading its data, or is itself a replica
/// whose link is down (src/replication.c:2581-2589).
pub(crate) fn is_not_ready(reply: &str) -> bool {
    reply.starts_with("LOADING") || reply.starts_with("NOMASTERLINK") || reply.starts_with("MASTERDOWN")
}

/// A server's message with the password taken out. Servers do not echo passwords, but a
/// message that reaches a log must not depend on that.
pub(crate) fn redact(reply: &str, auth: Option<&Auth>) -> String {
    match auth {
        Some(a) if !a.password.is_empty() => reply.replace(&a.password, "<redacted>"),
        _ => reply.to_string(),
    }
}

/// What a master answered to `PSYNC`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PsyncReply {
    FullResync { replid: ReplId, offset: u64 },
    Continue { replid: Option<ReplId> },
}

pub(crate) fn parse_psync(reply: Reply) -> Result<PsyncReply, Error> {
    let text = match reply {
        Reply::Ok(text) => text,
        Reply::Err(e) if is_not_ready(&e) => return Err(Error::NotReady { reply: e }),
        Reply::Err(e) => {
            let hint = if e.to_ascii_lowercase().contains("unknown command") {
                "the server predates PSYNC, Redis 2.8"
            } else {
                "the server may forbid replication, as some managed services do"
            };
            return Err(Error::PsyncRefused { reply: e, hint });
        }
    };
    let unexpected = || Error::UnexpectedReply { during: "PSYNC", got: format!("{:?}", quote(text.as_bytes())) };
    let mut words = text.split_ascii_whitespace();
    match words.next() {
        Some("FULLRESYNC") => {
            let replid = words.next().and_then(|id| ReplId::parse(id.as_bytes())).ok_or_else(unexpected)?;
            let offset = words.next().and_then(|o| o.parse().ok()).ok_or_else(unexpected)?;
            Ok(PsyncReply::FullResync { replid, offset })
        }
        Some("CONTINUE") => match words.next() {
            None => Ok(PsyncReply::Continue { replid: None }),
            Some(id) => Ok(PsyncReply::Continue { replid: Some(ReplId::parse(id.as_bytes()).ok_or_else(unexpected)?) }),
        },
        // Answers to capabilities this replica does not announce.
        _ => Err(unexpected()),
    }
}
