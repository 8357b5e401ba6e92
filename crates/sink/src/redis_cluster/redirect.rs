//! The redirections a cluster node answers with when it does not serve a key's slot.
//!
//! - `-MOVED 3999 127.0.0.1:6381`: the slot lives on that node now; update the slot map and
//!   send this and later commands for the slot there.
//! - `-ASK 3999 127.0.0.1:6381`: the slot is being migrated and this key has already moved;
//!   send `ASKING` then the command to that node, once, without touching the slot map.
//! - `-TRYAGAIN ...`: the slot is being migrated and some of a multi-key command's keys have
//!   moved and some not; send it again a moment later.
//!
//! Since Redis 7 a node that does not know the other's endpoint may leave the host empty
//! (`-MOVED 3999 :6381`), meaning "the host you are talking to"; the caller fills it in.

use crate::redis_cluster::slot::SLOT_COUNT;
use crate::redis_cluster::slot_map::NodeAddr;
use crate::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redirect {
    Moved { slot: u16, node: NodeAddr },
    Ask { slot: u16, node: NodeAddr },
    TryAgain,
}

/// Reads an error reply (without its `-`). `Ok(None)` for any other error (`WRONGTYPE`,
/// `OOM`...); an error for a `MOVED` or `ASK` that cannot be read, since guessing a node would
/// send the write to the wrong place.
pub fn parse_redirect(error: &[u8]) -> Result<Option<Redirect>, Error> {
    let text = String::from_utf8_lossy(error);
    let mut words = text.split(' ');
    let kind = words.next().unwrap_or("");
    if kind == "TRYAGAIN" {
        return Ok(Some(Redirect::TryAgain));
    }
    if kind != "MOVED" && kind != "ASK" {
        return Ok(None);
    }
    let bad = |reason: &str| Error::ClusterReply { reply: text.to_string(), reason: reason.to_string() };
    let slot = words
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|&s| s < SLOT_COUNT)
        .ok_or_else(|| bad("the slot is not a number below 16384"))?;
    let endpoint = words.next().ok_or_else(|| bad("no host:port"))?;
    let (host, port) = endpoint.rsplit_once(':').ok_or_else(|| bad("no :port in the address"))?;
    let port = port.parse::<u16>().map_err(|_| bad("the port is not a number"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let node = NodeAddr { host, port };
    Ok(Some(if kind == "MOVED" { Redirect::Moved { slot, node } } else { Redirect::Ask { slot, node } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: u16) -> NodeAddr {
        NodeAddr { host: host.into(), port }
    }

    #[test]
    fn reads_moved_and_ask() {
        assert_eq!(
            parse_redirect(b"MOVED 3999 127.0.0.1:6381").unwrap(),
            Some(Redirect::Moved { slot: 3999, node: node("127.0.0.1", 6381) })
        );
        assert_eq!(
            parse_redirect(b"ASK 16383 [::1]:7000").unwrap(),
            Some(Redirect::Ask { slot: 16383, node: node("::1", 7000) })
        );
        assert_eq!(
            parse_redirect(b"TRYAGAIN Multiple keys request during rehashing of slot").unwrap(),
            Some(Redirect::TryAgain)
        );
        assert_eq!(
            parse_redirect(b"MOVED 0 :6380").unwrap(),
            Some(Redirect::Moved { slot: 0, node: node("", 6380) }),
            "an empty host means the node asked"
        );
    }

    #[test]
    fn other_errors_are_not_redirects() {
        assert_eq!(parse_redirect(b"WRONGTYPE Operation against a key holding the wrong kind of value").unwrap(), None);
        assert_eq!(parse_redirect(b"ERR unknown command 'MOVEDX'").unwrap(), None);
        assert_eq!(parse_redirect(b"").unwrap(), None);
    }

    #[test]
    fn broken_redirects_are_errors_that_quote_the_reply() {
        for bad in [&b"MOVED"[..], b"MOVED 16384 h:1", b"MOVED x h:1", b"ASK 1 hostonly", b"ASK 1 h:port", b"MOVED 1"] {
            let err = parse_redirect(bad).unwrap_err().to_string();
            assert!(err.contains(&*String::from_utf8_lossy(bad)), "{err}");
        }
    }
}
