//! Opening the connection to the target: the replica crate's connect (TCP, unix socket, TLS,
//! with a deadline), then `AUTH`, `INFO server` and the `SELECT` a resend starts from, one
//! request at a time before the pipeline starts.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use replica::Connection;
use resp::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::target_info::TargetInfo;
use super::RedisConfig;

/// Why a connection could not be opened; `retry` says whether trying again can help.
#[derive(Debug)]
pub(super) struct OpenError {
    pub reason: String,
    pub retry: bool,
}

impl OpenError {
    fn retry(reason: impl Into<String>) -> Self {
        OpenError { reason: reason.into(), retry: true }
    }
}

/// An open, authenticated connection and what it said about itself.
pub(super) struct Opened {
    pub conn: Connection,
    pub info: TargetInfo,
    /// Keys in all its dbs (`INFO keyspace`) when it was opened.
    pub keys: u64,
}

/// Connects, authenticates, reads the server's identity and size, and selects `db`.
pub(super) async fn open(
    config: &RedisConfig,
    tls: Option<&Arc<rustls::ClientConfig>>,
    db: u64,
) -> Result<Opened, OpenError> {
    let tls = tls.map(|t| (&config.tls, t));
    let mut conn = replica::connect(&config.target, tls, config.connect_timeout).await.map_err(|e| OpenError {
        retry: !matches!(e, replica::Error::TlsConfig(_) | replica::Error::TlsHandshake { .. }),
        reason: e.to_string(),
    })?;
    let mut session =
        Requests { conn: &mut conn, buf: BytesMut::with_capacity(16 << 10), timeout: config.connect_timeout };
    if let Some(password) = &config.target.password {
        let mut auth = vec!["AUTH"];
        auth.extend(config.target.user.as_deref());
        auth.push(password);
        if let Frame::Error(e) = session.request(&auth).await? {
            let reply = String::from_utf8_lossy(&e).replace(password.as_str(), "<redacted>");
            return Err(OpenError { reason: format!("authentication refused: {reply}"), retry: false });
        }
    }
    let info = match session.request(&["INFO", "server"]).await? {
        Frame::Bulk(text) | Frame::Verbatim { text, .. } => TargetInfo::parse(&String::from_utf8_lossy(&text)),
        Frame::Error(e) => {
            let reply = String::from_utf8_lossy(&e).into_owned();
            let hint = if reply.starts_with("NOAUTH") { "; give the password in the URL" } else { "" };
            return Err(OpenError { reason: format!("INFO server refused: {reply}{hint}"), retry: false });
        }
        _ => None,
    };
    let info = info.ok_or_else(|| OpenError {
        reason: "its INFO server reply names no version; is it a Redis or Valkey server?".into(),
        retry: false,
    })?;
    let keys = match session.request(&["INFO", "keyspace"]).await? {
        Frame::Bulk(text) | Frame::Verbatim { text, .. } => count_keys(&String::from_utf8_lossy(&text)),
        _ => 0,
    };
    if db != 0 {
        if let Frame::Error(e) = session.request(&["SELECT", &db.to_string()]).await? {
            return Err(OpenError {
                reason: format!("SELECT {db} refused: {}", String::from_utf8_lossy(&e)),
                retry: false,
            });
        }
    }
    Ok(Opened { conn, info, keys })
}

/// The sum of `keys=` over the `dbN:keys=…,expires=…` lines of `INFO keyspace`.
fn count_keys(info: &str) -> u64 {
    info.lines()
        .filter(|l| l.starts_with("db"))
        .filter_map(|l| l.split([':', ',']).find_map(|kv| kv.strip_prefix("keys=")?.trim().parse::<u64>().ok()))
        .sum()
}

/// One request, one reply, before pipelining starts.
struct Requests<'a> {
    conn: &'a mut Connection,
    buf: BytesMut,
    timeout: Duration,
}

impl Requests<'_> {
    async fn request(&mut self, args: &[&str]) -> Result<Frame, OpenError> {
        let exchange = async {
            self.conn.write_all(&resp::encode_command(args)).await.map_err(|e| OpenError::retry(e.to_string()))?;
            let mut decoder = resp::Decoder::default();
            loop {
                match decoder.decode(&mut self.buf) {
                    Ok(Some((resp::Item::Frame(frame), _))) => return Ok(frame),
                    Ok(Some(_)) => continue,
                    Ok(None) => {}
                    Err(e) => return Err(OpenError { reason: format!("bad reply to {}: {e}", args[0]), retry: false }),
                }
                match self.conn.read_buf(&mut self.buf).await {
                    Ok(0) => {
                        return Err(OpenError::retry(format!("the server closed the connection after {}", args[0])))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(OpenError::retry(e.to_string())),
                }
            }
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(OpenError::retry(format!("no reply to {} within {:?}", args[0], self.timeout))),
        }
    }
}
