//! The commands in a piece of RESP the writer handed over, sans-IO: where each one ends, and
//! the few whose meaning the target connection must track (`MULTI`, `EXEC`, `DISCARD`,
//! `SELECT`). Every command gets exactly one reply, so the count is what matches replies to
//! commands; a transaction's commands are resent whole after a reconnect; and a resend starts
//! with the `SELECT` in effect where it starts.

use bytes::{Bytes, BytesMut};

use crate::error::Error;

/// What a command means to the connection carrying it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Multi,
    Exec,
    Discard,
    Select(u64),
    Other,
}

/// Commands are what `RespStreamWriter` writes: arrays of bulk strings, never nested.
const LIMITS: resp::Limits =
    resp::Limits { max_bulk_len: usize::MAX, max_array_len: usize::MAX, max_depth: 2, max_line_len: 64 << 10 };

/// Calls `each` with every command of `piece` (zero-copy slices) and its kind. A piece holds
/// whole commands only (the writer commits whole units), so anything else is a bug upstream,
/// reported rather than sent to the target half.
pub(super) fn split(piece: &Bytes, mut each: impl FnMut(Bytes, Kind)) -> Result<(), Error> {
    let mut at = 0;
    while at < piece.len() {
        let len = match resp::check(&piece[at..], &LIMITS) {
            Ok(Some(len)) => len,
            Ok(None) => return Err(malformed(at, "a command cut short")),
            Err(e) => return Err(malformed(at, &e.to_string())),
        };
        let command = piece.slice(at..at + len);
        let kind = kind(&command);
        each(command, kind);
        at += len;
    }
    Ok(())
}

fn malformed(at: usize, what: &str) -> Error {
    Error::RedisProtocol { address: "the writer's output".into(), reason: format!("{what} at byte {at} of a piece") }
}

/// The kind, from the name (and a `SELECT`'s db) read straight from the encoding.
fn kind(command: &[u8]) -> Kind {
    let mut args = Args { rest: command };
    if args.header(b'*').is_none() {
        return Kind::Other;
    }
    let Some(name) = args.bulk() else { return Kind::Other };
    if name.eq_ignore_ascii_case(b"MULTI") {
        Kind::Multi
    } else if name.eq_ignore_ascii_case(b"EXEC") {
        Kind::Exec
    } else if name.eq_ignore_ascii_case(b"DISCARD") {
        Kind::Discard
    } else if name.eq_ignore_ascii_case(b"SELECT") {
        match args.bulk().and_then(|db| std::str::from_utf8(db).ok()?.parse().ok()) {
            Some(db) => Kind::Select(db),
            None => Kind::Other,
        }
    } else {
        Kind::Other
    }
}

/// A cursor over an encoded command that `resp::check` has already proven whole.
struct Args<'a> {
    rest: &'a [u8],
}

impl<'a> Args<'a> {
    fn header(&mut self, ty: u8) -> Option<usize> {
        let (&first, rest) = self.rest.split_first()?;
        if first != ty {
            return None;
        }
        let end = rest.iter().position(|&b| b == b'\r')?;
        let n = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
        self.rest = rest.get(end + 2..)?;
        Some(n)
    }

    fn bulk(&mut self) -> Option<&'a [u8]> {
        let len = self.header(b'$')?;
        let value = self.rest.get(..len)?;
        self.rest = self.rest.get(len + 2..)?;
        Some(value)
    }
}

/// A command as an error message names it: its name and first key (lossy UTF-8, shortened).
/// Decoded only when something went wrong.
pub(crate) fn describe(command: &Bytes) -> (String, Option<String>) {
    let mut buf = BytesMut::from(&command[..]);
    let args = match resp::Decoder::new(LIMITS).decode(&mut buf) {
        Ok(Some((resp::Item::Frame(frame), _))) => frame.into_command().unwrap_or_default(),
        _ => Vec::new(),
    };
    let name = args.first().map_or_else(|| "?".to_string(), |n| String::from_utf8_lossy(n).to_uppercase());
    let key = event::command_keys::command_keys(&args).next().map(shorten);
    (name, key)
}

/// A key for a message: at most 200 characters, control characters escaped.
fn shorten(key: &[u8]) -> String {
    let text = String::from_utf8_lossy(key);
    let mut out: String = text.chars().take(200).flat_map(char::escape_debug).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(commands: &[&[&str]]) -> Bytes {
        let mut out = BytesMut::new();
        for c in commands {
            resp::encode_command_into(c, &mut out);
        }
        out.freeze()
    }

    #[test]
    fn splits_whole_commands_and_reads_their_kinds() {
        let piece =
            encode(&[&["select", "3"], &["MULTI"], &["SET", "k", "v"], &["exec"], &["DISCARD"], &["SELECT", "x"]]);
        let mut got = Vec::new();
        split(&piece, |c, k| got.push((c, k))).unwrap();
        let kinds: Vec<Kind> = got.iter().map(|(_, k)| *k).collect();
        assert_eq!(kinds, [Kind::Select(3), Kind::Multi, Kind::Other, Kind::Exec, Kind::Discard, Kind::Other]);
        assert_eq!(&got[2].0[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
        let total: usize = got.iter().map(|(c, _)| c.len()).sum();
        assert_eq!(total, piece.len());
    }

    #[test]
    fn a_cut_command_is_an_error_not_a_guess() {
        let piece = encode(&[&["SET", "k", "v"]]);
        let cut = piece.slice(..piece.len() - 3);
        let e = split(&cut, |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("cut short at byte 0"), "{e}");
    }

    #[test]
    fn describe_names_the_command_and_its_key() {
        let (name, key) = describe(&encode(&[&["rpush", "list\n1", "a"]]));
        assert_eq!((name.as_str(), key.as_deref()), ("RPUSH", Some("list\\n1")));
        let (name, key) = describe(&encode(&[&["flushall"]]));
        assert_eq!((name.as_str(), key), ("FLUSHALL", None));
    }
}
