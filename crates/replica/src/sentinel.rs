//! Finding the master through Redis Sentinel, sans-IO: the question to send and what its
//! answer means. A session with sentinels asks before every connection attempt, so after a
//! failover it connects to the promoted replica, which continues the stream with
//! `+CONTINUE` (PSYNC2 keeps the old replication ID as its `replid2`).

use resp::Frame;

use crate::error::Error;
use crate::source::{Address, Source};

/// Sentinel's own port, as in `sentinel.conf`.
pub const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// The sentinels to ask, in turn, and the name they monitor the master under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sentinels {
    /// TCP addresses, with TLS where `tls` is set; a password on one is sent with `AUTH` before
    /// the question.
    pub addresses: Vec<Source>,
    pub master_name: String,
}

impl Sentinels {
    /// `HOST[:PORT]` entries (26379 when the port is left out), or `redis://HOST[:PORT]`, or
    /// `rediss://HOST[:PORT]` for a sentinel that speaks TLS (its `tls-port`), and the master's
    /// name.
    pub fn parse(addresses: &[String], master_name: &str) -> Result<Sentinels, Error> {
        let bad = |text: &str, reason: &str| Error::BadSource { source_text: text.to_string(), reason: reason.into() };
        if master_name.is_empty() {
            return Err(bad("", "a sentinel needs the master's name (--master-name)"));
        }
        const FORM: &str = "a sentinel is HOST[:PORT], as in 10.0.0.5:26379, or rediss://HOST[:PORT] for TLS";
        let addresses = addresses
            .iter()
            .map(|text| {
                let hostport = ["redis://", "rediss://"].iter().find_map(|scheme| text.strip_prefix(scheme));
                let url = if hostport.is_some() { text.clone() } else { format!("redis://{text}") };
                let hostport = hostport.unwrap_or(text);
                let mut source = Source::parse(&url).map_err(|_| bad(text, FORM))?;
                if source.password.is_some() || source.db.is_some() || hostport.contains('/') {
                    return Err(bad(text, FORM));
                }
                let after_host = hostport.rsplit_once(']').map_or(hostport, |(_, after)| after);
                if !after_host.contains(':') {
                    if let Address::Tcp { port, .. } = &mut source.address {
                        *port = DEFAULT_SENTINEL_PORT;
                    }
                }
                Ok(source)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if addresses.is_empty() {
            return Err(Error::NoSources);
        }
        Ok(Sentinels { addresses, master_name: master_name.to_string() })
    }

    /// `SENTINEL get-master-addr-by-name NAME`.
    pub fn query(&self) -> Vec<u8> {
        resp::encode_command(&[&b"SENTINEL"[..], b"get-master-addr-by-name", self.master_name.as_bytes()]).to_vec()
    }
}

/// The master's address from the reply to [`Sentinels::query`]: `None` when the sentinel
/// does not monitor a master of that name (a nil reply). Anything else is an error message.
pub fn master_address(reply: &Frame) -> Result<Option<Address>, String> {
    match reply {
        Frame::Null => Ok(None),
        Frame::Array(items) => match items.as_slice() {
            [Frame::Bulk(host), Frame::Bulk(port)] => {
                let host = std::str::from_utf8(host).map_err(|_| "the host is not UTF-8".to_string())?;
                let port = std::str::from_utf8(port).ok().and_then(|p| p.parse::<u16>().ok());
                let port =
                    port.ok_or_else(|| format!("bad port in the reply {:?}", crate::handshake::describe(reply)))?;
                Ok(Some(Address::Tcp { host: host.to_string(), port }))
            }
            _ => Err(format!("expected [host, port], got {}", crate::handshake::describe(reply))),
        },
        Frame::Error(e) => Err(format!("the sentinel answered {:?}", String::from_utf8_lossy(e))),
        other => Err(format!("expected [host, port], got {}", crate::handshake::describe(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn tcp(host: &str, port: u16) -> Address {
        Address::Tcp { host: host.into(), port }
    }

    #[test]
    fn addresses_default_to_the_sentinel_port() {
        let s = Sentinels::parse(&["10.0.0.5".into(), "10.0.0.6:5000".into(), "[::1]".into()], "mymaster").unwrap();
        let got: Vec<_> = s.addresses.iter().map(|a| a.address.clone()).collect();
        assert_eq!(got, [tcp("10.0.0.5", 26379), tcp("10.0.0.6", 5000), tcp("::1", 26379)]);
        assert_eq!(s.query(), b"*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n$8\r\nmymaster\r\n");
    }

    #[test]
    fn urls_say_whether_to_use_tls() {
        let s = Sentinels::parse(&["rediss://10.0.0.5".into(), "redis://h:5000".into(), "h2".into()], "m").unwrap();
        let got: Vec<_> = s.addresses.iter().map(|a| (a.address.clone(), a.tls)).collect();
        assert_eq!(got, [(tcp("10.0.0.5", 26379), true), (tcp("h", 5000), false), (tcp("h2", 26379), false)]);
        for wrong in ["rediss://h:1/0", "redis://:pw@h", "http://h"] {
            let err = Sentinels::parse(&[wrong.into()], "m").unwrap_err();
            assert!(err.to_string().contains(wrong), "{err}");
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let err = Sentinels::parse(&["h:notaport".into()], "m").unwrap_err();
        assert!(err.to_string().contains("h:notaport"), "{err}");
        let err = Sentinels::parse(&["h".into()], "").unwrap_err();
        assert!(err.to_string().contains("--master-name"), "{err}");
        assert!(matches!(Sentinels::parse(&[], "m"), Err(Error::NoSources)));
    }

    #[test]
    fn replies() {
        let bulk = |s: &'static str| Frame::Bulk(Bytes::from_static(s.as_bytes()));
        let ok = Frame::Array(vec![bulk("127.0.0.1"), bulk("6380")]);
        assert_eq!(master_address(&ok), Ok(Some(tcp("127.0.0.1", 6380))));
        assert_eq!(master_address(&Frame::Null), Ok(None));
        let bad_port = Frame::Array(vec![bulk("h"), bulk("x")]);
        assert!(master_address(&bad_port).unwrap_err().contains("bad port"));
        let short = Frame::Array(vec![bulk("h")]);
        assert!(master_address(&short).unwrap_err().contains("expected [host, port]"));
        let err = Frame::Error(Bytes::from_static(b"ERR unknown command"));
        assert!(master_address(&err).unwrap_err().contains("unknown command"));
    }
}
