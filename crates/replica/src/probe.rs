//! Asking a server where its replication stream is (`INFO`), on a connection of its own, for
//! a start from now, and for a lag metric (the stream does not carry the master's own offset).
//! The replication connection cannot ask: once it sends `PSYNC` it is a replica, and before
//! that it would have to drain the reply anyway.

use std::time::Duration;

use bytes::BytesMut;
use resp::{Frame, Item};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::Auth;
use crate::error::Error;
use crate::handshake;
use crate::info::ReplicationInfo;

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
        if let Some(auth) = auth {
            let command = match &auth.user {
                Some(user) => resp::encode_command(&[&b"AUTH"[..], user.as_bytes(), auth.password.as_bytes()]),
                None => resp::encode_command(&[&b"AUTH"[..], auth.password.as_bytes()]),
            };
            stream.write_all(&command).await.map_err(io)?;
            if let Frame::Error(e) = read_frame(stream, &mut decoder, &mut buf, address).await? {
                let reply = handshake::redact(&String::from_utf8_lossy(&e), Some(auth));
                return Err(Error::Auth { user: auth.user.clone(), reply });
            }
        }
        stream.write_all(&resp::encode_command(&["INFO"])).await.map_err(io)?;
        match read_frame(stream, &mut decoder, &mut buf, address).await? {
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

async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
    decoder: &mut resp::Decoder,
    buf: &mut BytesMut,
    address: &str,
) -> Result<Frame, Error> {
    loop {
        match decoder.decode(buf).map_err(|source| Error::Resp { during: "INFO", source })? {
            Some((Item::Frame(frame), _)) => return Ok(frame),
            Some((Item::EmptyLine, _)) => continue,
            Some((Item::Inline(line), _)) => {
                return Err(Error::UnexpectedReply { during: "INFO", got: handshake::quote(&line) })
            }
            None => {}
        }
        let n = stream.read_buf(buf).await.map_err(|e| Error::Io { address: address.to_string(), source: e.into() })?;
        if n == 0 {
            return Err(Error::Closed { phase: "INFO replication" });
        }
    }
}
