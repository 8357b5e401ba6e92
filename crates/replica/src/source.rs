//! Where the master is: parsed from a URL the way redis-cli reads `-u`, then adjusted by
//! explicit flags (`-h`, `-p`, `-a`, `--user`, `--tls`), so a command line that works with
//! redis-cli works with redtail.
//!
//! Accepted forms:
//! - `redis://[[user]:password@]host[:port][/db]` (also `valkey://`);
//! - `rediss://…` (also `valkeys://`): the same over TLS;
//! - `unix:///path/to.sock` or a bare path (`/path/to.sock`, `./to.sock`).
//!
//! As in redis-cli, userinfo without a `:` is the password alone, and `%XX` escapes are
//! decoded. An empty user (`redis://:secret@host`) means the default user.
//!
//! The password never appears in `Debug` or `Display` output: sources are logged.

use std::fmt;
use std::path::PathBuf;

use crate::config::Auth;
use crate::error::Error;

pub const DEFAULT_PORT: u16 = 6379;

/// How to reach the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Tcp { host, port } => write!(f, "{host}:{port}"),
            Address::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One master (or replica) to follow, with its credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Source {
    pub address: Address,
    /// Connect with TLS (`rediss://` or `--tls`); how is in [`TlsOptions`](crate::TlsOptions).
    pub tls: bool,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The db named in the URL. Replication carries every db, so the session does not use it;
    /// the CLI may take it as a default db filter.
    pub db: Option<u64>,
}

/// Explicit settings that win over the URL, as redis-cli's flags do.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceOverrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub socket: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub tls: bool,
    pub db: Option<u64>,
}

impl fmt::Debug for SourceOverrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceOverrides")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("socket", &self.socket)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("db", &self.db)
            .finish()
    }
}

impl Default for Source {
    /// `redis://127.0.0.1:6379`, redis-cli's default.
    fn default() -> Self {
        Source {
            address: Address::Tcp { host: "127.0.0.1".into(), port: DEFAULT_PORT },
            tls: false,
            user: None,
            password: None,
            db: None,
        }
    }
}

impl Source {
    /// Parses a URL or a socket path. Errors never quote the password.
    pub fn parse(text: &str) -> Result<Source, Error> {
        let bad = |reason: &str| Error::BadSource { source_text: redact_url(text), reason: reason.to_string() };
        if text.starts_with('/') || text.starts_with("./") || text.starts_with("../") {
            return Ok(Source { address: Address::Unix(PathBuf::from(text)), ..Source::default() });
        }
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("expected redis://, rediss:// or unix://"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "redis" | "valkey" => false,
            "rediss" | "valkeys" => true,
            "unix" => {
                let (userinfo, path) = split_userinfo(rest);
                if !path.starts_with('/') {
                    return Err(bad("a unix socket URL needs an absolute path: unix:///path/to.sock"));
                }
                let mut source = Source { address: Address::Unix(PathBuf::from(path)), ..Source::default() };
                if let Some(info) = userinfo {
                    source.set_userinfo(info).map_err(|r| bad(&r))?;
                }
                return Ok(source);
            }
            _ => return Err(bad("unknown scheme; expected redis://, rediss:// or unix://")),
        };
        let (userinfo, rest) = split_userinfo(rest);
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (host, port) = split_host_port(authority).map_err(|r| bad(&r))?;
        let db = match path.trim_end_matches('/') {
            "" => None,
            n => Some(n.parse::<u64>().map_err(|_| bad("the path must be a db number, as in redis://host:6379/0"))?),
        };
        let mut source = Source {
            address: Address::Tcp {
                host: host.unwrap_or_else(|| "127.0.0.1".into()),
                port: port.unwrap_or(DEFAULT_PORT),
            },
            tls,
            user: None,
            password: None,
            db,
        };
        if let Some(info) = userinfo {
            source.set_userinfo(info).map_err(|r| bad(&r))?;
        }
        Ok(source)
    }

    /// The source from an optional URL (default `redis://127.0.0.1:6379`) and flags that win
    /// over it.
    pub fn resolve(url: Option<&str>, overrides: &SourceOverrides) -> Result<Source, Error> {
        let mut source = match url {
            Some(url) => Source::parse(url)?,
            None => Source::default(),
        };
        source.apply(overrides);
        Ok(source)
    }

    /// Applies explicit settings: a socket path replaces the address; a host or port replaces
    /// that part of a TCP address (a port alone keeps the host, as `redis-cli -p` does).
    pub fn apply(&mut self, o: &SourceOverrides) {
        if let Some(path) = &o.socket {
            self.address = Address::Unix(path.clone());
        } else if o.host.is_some() || o.port.is_some() {
            let (host, port) = match &self.address {
                Address::Tcp { host, port } => (host.clone(), *port),
                Address::Unix(_) => ("127.0.0.1".to_string(), DEFAULT_PORT),
            };
            self.address = Address::Tcp { host: o.host.clone().unwrap_or(host), port: o.port.unwrap_or(port) };
        }
        if o.user.is_some() {
            self.user = o.user.clone().filter(|u| !u.is_empty());
        }
        if o.password.is_some() {
            self.password = o.password.clone();
        }
        self.tls |= o.tls;
        if o.db.is_some() {
            self.db = o.db;
        }
    }

    /// Credentials for the handshake: `AUTH <password>` or `AUTH <user> <password>`.
    pub fn auth(&self) -> Option<Auth> {
        self.password.as_ref().map(|password| Auth { user: self.user.clone(), password: password.clone() })
    }

    /// The TLS server name: the host of a TCP address.
    pub fn host(&self) -> Option<&str> {
        match &self.address {
            Address::Tcp { host, .. } => Some(host),
            Address::Unix(_) => None,
        }
    }

    fn set_userinfo(&mut self, info: &str) -> Result<(), String> {
        let (user, password) = match info.split_once(':') {
            Some((user, password)) => (Some(user), password),
            None => (None, info),
        };
        self.user = user.map(percent_decode).transpose()?.filter(|u| !u.is_empty());
        self.password = Some(percent_decode(password)?);
        Ok(())
    }
}

impl fmt::Display for Source {
    /// The source as a URL with the password masked: `redis://user:***@host:6379/0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (&self.address, self.tls) {
            (Address::Unix(_), _) => "unix",
            (_, true) => "rediss",
            (_, false) => "redis",
        };
        write!(f, "{scheme}://")?;
        match (&self.user, &self.password) {
            (Some(user), Some(_)) => write!(f, "{user}:***@")?,
            (None, Some(_)) => write!(f, ":***@")?,
            (Some(user), None) => write!(f, "{user}@")?,
            (None, None) => {}
        }
        write!(f, "{}", self.address)?;
        if let Some(db) = self.db {
            write!(f, "/{db}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Source({self})")
    }
}

/// `user:pass@rest` → (`user:pass`, `rest`). The last `@` ends the userinfo, so a password
/// may contain `@` unescaped, as redis-cli allows.
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    }
}

fn split_host_port(authority: &str) -> Result<(Option<String>, Option<u16>), String> {
    let parse_port = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port {p:?}"));
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed [ in an IPv6 address")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(p)?),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected {after:?} after the address")),
        };
        return Ok((Some(host.to_string()), port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (authority, None),
    };
    Ok(((!host.is_empty()).then(|| host.to_string()), port))
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or("a bad %-escape in the userinfo")?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the userinfo is not UTF-8 once %-decoded".to_string())
}

/// The URL with any password replaced, for error messages.
fn redact_url(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_string() };
    match split_userinfo(rest) {
        (Some(info), after) => {
            let user = info.split_once(':').map(|(u, _)| u).unwrap_or("");
            format!("{scheme}://{user}:***@{after}")
        }
        (None, _) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Address {
        Address::Tcp { host: host.into(), port }
    }

    #[test]
    fn redis_cli_forms() {
        let s = Source::parse("redis://127.0.0.1:6380/2").unwrap();
        assert_eq!((s.address.clone(), s.tls, s.db, s.auth()), (tcp("127.0.0.1", 6380), false, Some(2), None));
        let s = Source::parse("rediss://alice:s3cr%40t@cache.example.com").unwrap();
        assert_eq!(s.address, tcp("cache.example.com", 6379));
        assert!(s.tls);
        assert_eq!(s.auth(), Some(Auth { user: Some("alice".into()), password: "s3cr@t".into() }));
        let s = Source::parse("redis://justapassword@h:1").unwrap();
        assert_eq!(s.auth(), Some(Auth { user: None, password: "justapassword".into() }));
        let s = Source::parse("redis://:pw@h").unwrap();
        assert_eq!(s.auth(), Some(Auth { user: None, password: "pw".into() }));
        assert_eq!(Source::parse("redis://[::1]:7000").unwrap().address, tcp("::1", 7000));
        assert_eq!(Source::parse("redis://").unwrap().address, tcp("127.0.0.1", 6379));
        assert!(Source::parse("valkeys://h").unwrap().tls);
        assert_eq!(Source::parse("unix:///run/redis.sock").unwrap().address, Address::Unix("/run/redis.sock".into()));
        assert_eq!(Source::parse("/tmp/r.sock").unwrap().address, Address::Unix("/tmp/r.sock".into()));
        let s = Source::parse("unix://u:p@/tmp/r.sock").unwrap();
        assert_eq!(
            (s.address.clone(), s.user.as_deref(), s.password.as_deref()),
            (Address::Unix("/tmp/r.sock".into()), Some("u"), Some("p"))
        );
    }

    #[test]
    fn bad_urls_say_why_without_the_password() {
        for bad in ["http://h", "redis://:hunter2@h:notaport", "redis://h/x", "unix://relative.sock", "localhost:6379"]
        {
            let err = Source::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
            assert!(
                err.contains("expected") || err.contains("bad") || err.contains("must") || err.contains("needs"),
                "{err}"
            );
        }
    }

    #[test]
    fn flags_win_over_the_url() {
        let o = SourceOverrides { port: Some(7001), password: Some("pw".into()), tls: true, ..Default::default() };
        let s = Source::resolve(Some("redis://h:6379"), &o).unwrap();
        assert_eq!((s.address.clone(), s.tls, s.password.as_deref()), (tcp("h", 7001), true, Some("pw")));
        let o = SourceOverrides { host: Some("10.0.0.1".into()), user: Some("bob".into()), ..Default::default() };
        let s = Source::resolve(None, &o).unwrap();
        assert_eq!((s.address.clone(), s.user.as_deref()), (tcp("10.0.0.1", 6379), Some("bob")));
        let o = SourceOverrides { socket: Some("/s".into()), ..Default::default() };
        assert_eq!(Source::resolve(Some("redis://h"), &o).unwrap().address, Address::Unix("/s".into()));
    }

    #[test]
    fn passwords_never_print() {
        let s = Source::parse("rediss://alice:hunter2@h:1/3").unwrap();
        assert_eq!(s.to_string(), "rediss://alice:***@h:1/3");
        assert!(!format!("{s:?}").contains("hunter2"));
        let o = SourceOverrides { password: Some("hunter2".into()), ..Default::default() };
        assert!(!format!("{o:?}").contains("hunter2"));
        assert_eq!(Source::parse("redis://:hunter2@h").unwrap().to_string(), "redis://:***@h:6379");
    }
}
