//! Asking a server where its replication stream is (`INFO`), on a connection of its own, for
//! a start from now, and for a lag metric (the stream does not carry the master's own offset).
//! Sentinels are asked the same way where the master is. The replication connection cannot
//! ask: once it sends `PSYNC` it is a replica, and before that it would have to drain the
//! reply anyway.

use std::time::Duration;

use bytes::BytesMut;
use resp::{Frame, Item};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::Auth;
use crate::error::Error;
use crate::handshake;
use crate::info::ReplicationInfo;
use crate::sentinel::{self, Sentinels};
use crate::source::{Address, Source};

/// Sends `AUTH` (if any) and `INFO`, and parses the replication fields. `INFO` without a
/// section includes `run_id`, the replication ID of Redis before 4.0.
pub async fn replication_info<S>(
    stream: &mut S,
    auth: Option<&Auth>,
    address: &str,
    timeout: Duration,
) -> Result<ReplicationInfo, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let io = |e: std::io::Error| Error::Io { address: address.to_string(), source: e.into() };
    let exchange = async {
        let mut decoder = resp::Decoder::default();
        let mut buf = BytesMut::with_capacity(16 << 10);
        authenticate(stream, auth, &mut decoder, &mut buf, address).await?;
        stream.write_all(&resp::encode_command(&["INFO"])).await.map_err(io)?;
        match read_frame(stream, &mut decoder, &mut buf, address, "INFO").await? {
            Frame::Bulk(text) | Frame::Verbatim { text, .. } => {
                Ok(ReplicationInfo::parse(&String::from_utf8_lossy(&text)))
            }
            Frame::Error(e) if handshake::needs_auth(&String::from_utf8_lossy(&e)) => {
                Err(Error::AuthRequired { reply: String::from_utf8_lossy(&e).into_owned() })
            }
            other => Err(Error::UnexpectedReply { during: "INFO", got: handshake::describe(&other) }),
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout { phase: "INFO replication", after: timeout }),
    }
}

/// Asks a sentinel where the master it monitors under `sentinels.master_name` is: `None` when
/// it monitors no master of that name.
pub async fn ask_sentinel<S>(
    stream: &mut S,
    sentinels: &Sentinels,
    sentinel: &Source,
    timeout: Duration,
) -> Result<Option<Address>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let address = sentinel.address.to_string();
    let address = address.as_str();
    let exchange = async {
        let mut decoder = resp::Decoder::default();
        let mut buf = BytesMut::with_capacity(1024);
        let refused = |reply: String| Error::SentinelAuth { sentinel: address.to_string(), reply };
        match authenticate(stream, sentinel.auth().as_ref(), &mut decoder, &mut buf, address).await {
            Err(Error::Auth { reply, .. }) => return Err(refused(reply)),
            other => other?,
        }
        stream
            .write_all(&sentinels.query())
            .await
            .map_err(|e| Error::Io { address: address.into(), source: e.into() })?;
        let reply = read_frame(stream, &mut decoder, &mut buf, address, "SENTINEL get-master-addr-by-name").await?;
        if let Frame::Error(e) = &reply {
            let e = String::from_utf8_lossy(e);
            if handshake::needs_auth(&e) {
                return Err(refused(e.into_owned()));
            }
        }
        sentinel::master_address(&reply)
            .map_err(|reason| Error::SentinelReply { sentinel: address.to_string(), reason })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout { phase: "SENTINEL get-master-addr-by-name", after: timeout }),
    }
}

/// Sends `AUTH` when there are credentials; a refusal is [`Error::Auth`].
async fn authenticate<S>(
    stream: &mut S,
    auth: Option<&Auth>,
    decoder: &mut resp::Decoder,
    buf: &mut BytesMut,
    address: &str,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(auth) = auth else { return Ok(()) };
    let command = match &auth.user {
        Some(user) => resp::encode_command(&[&b"AUTH"[..], user.as_bytes(), auth.password.as_bytes()]),
        None => resp::encode_command(&[&b"AUTH"[..], auth.password.as_bytes()]),
    };
    stream.write_all(&command).await.map_err(|e| Error::Io { address: address.to_string(), source: e.into() })?;
    if let Frame::Error(e) = read_frame(stream, decoder, buf, address, "AUTH").await? {
        let reply = handshake::redact(&String::from_utf8_lossy(&e), Some(auth));
        return Err(Error::Auth { user: auth.user.clone(), reply });
    }
    Ok(())
}

async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
    decoder: &mut resp::Decoder,
    buf: &mut BytesMut,
    address: &str,
    during: &'static str,
) -> Result<Frame, Error> {
    loop {
        match decoder.decode(buf).map_err(|source| Error::Resp { during, source })? {
            Some((Item::Frame(frame), _)) => return Ok(frame),
            Some((Item::EmptyLine, _)) => continue,
            Some((Item::Inline(line), _)) => {
                return Err(Error::UnexpectedReply { during, got: handshake::quote(&line) })
            }
            None => {}
        }
        let n = stream.read_buf(buf).await.map_err(|e| Error::Io { address: address.to_string(), source: e.into() })?;
        if n == 0 {
            return Err(Error::Closed { phase: during });
        }
    }
}
