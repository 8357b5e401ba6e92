//! One connection to one server: send commands, read replies, in order. Replies are decoded by
//! the `resp` crate; nothing here knows what a command means.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use replica::{Connection, Source, TlsOptions};
use resp::{Frame, Item};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, Side};

/// A reply longer in coming than this means a dead or stuck server, not a slow one: verify
/// only sends commands that answer in bounded time (chunked reads, `SCAN`).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS settings shared by both sides, read once.
pub struct Tls {
    pub options: TlsOptions,
    pub config: Arc<rustls::ClientConfig>,
}

pub struct Conn {
    stream: Connection,
    decoder: resp::Decoder,
    buf: BytesMut,
    out: BytesMut,
    side: Side,
    address: String,
    /// The db selected on this connection; every connection starts in db 0.
    db: u64,
}

impl Conn {
    /// Connects and authenticates with the source's credentials.
    pub async fn open(side: Side, source: &Source, tls: Option<&Tls>) -> Result<Conn, Error> {
        let address = source.address.to_string();
        let connect_error = |e| Error::Connect { side, address: address.clone(), source: e };
        let tls = tls.map(|t| (&t.options, &t.config));
        let stream = replica::connect(source, tls, CONNECT_TIMEOUT).await.map_err(connect_error)?;
        let mut conn = Conn {
            stream,
            decoder: resp::Decoder::default(),
            buf: BytesMut::with_capacity(64 << 10),
            out: BytesMut::with_capacity(64 << 10),
            side,
            address: address.clone(),
            db: 0,
        };
        if let Some(auth) = source.auth() {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &auth.user {
                args.push(user.as_bytes());
            }
            args.push(auth.password.as_bytes());
            if let Frame::Error(e) = conn.call(&args).await? {
                let reply = String::from_utf8_lossy(&e).replace(&auth.password, "***");
                return Err(connect_error(replica::Error::Auth { user: auth.user.clone(), reply }));
            }
        }
        Ok(conn)
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Sends one command and reads its reply. A server error is `Ok(Frame::Error)`.
    pub async fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Frame, Error> {
        resp::encode_command_into(args, &mut self.out);
        self.flush().await?;
        self.read_frame().await
    }

    /// Sends the commands in one write, then reads their replies, in order.
    pub async fn pipeline<A: AsRef<[u8]>>(&mut self, commands: &[Vec<A>]) -> Result<Vec<Frame>, Error> {
        for args in commands {
            resp::encode_command_into(args, &mut self.out);
        }
        self.flush().await?;
        let mut replies = Vec::with_capacity(commands.len());
        for _ in commands {
            replies.push(self.read_frame().await?);
        }
        Ok(replies)
    }

    /// Selects `db` unless it already is; a refusal (a cluster without that db) is an error.
    pub async fn select(&mut self, db: u64) -> Result<(), Error> {
        if self.db != db {
            let reply = self.call(&[b"SELECT".to_vec(), db.to_string().into_bytes()]).await?;
            self.expect_ok(&format!("SELECT {db}"), reply)?;
            self.db = db;
        }
        Ok(())
    }

    /// An error for a reply that should have been `+OK`.
    pub fn expect_ok(&self, command: &str, reply: Frame) -> Result<(), Error> {
        match reply {
            Frame::Simple(s) if &s[..] == b"OK" => Ok(()),
            other => Err(self.refused(command, &other)),
        }
    }

    /// The error for a command refused or answered in an unexpected shape.
    pub fn refused(&self, command: &str, reply: &Frame) -> Error {
        Error::from_reply(self.side, &self.address, command, reply)
    }

    async fn flush(&mut self) -> Result<(), Error> {
        let out = self.out.split();
        let write = self.stream.write_all(&out);
        match tokio::time::timeout(REPLY_TIMEOUT, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.io(format!("write: {e}"))),
            Err(_) => Err(self.io(format!("write timed out after {REPLY_TIMEOUT:?}"))),
        }
    }

    async fn read_frame(&mut self) -> Result<Frame, Error> {
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some((Item::Frame(frame), _))) => return Ok(frame),
                Ok(Some((Item::EmptyLine, _))) => continue,
                Ok(Some((Item::Inline(line), _))) => {
                    return Err(self.io(format!("not a RESP reply: {:?}", String::from_utf8_lossy(&line))))
                }
                Ok(None) => {}
                Err(e) => return Err(self.io(format!("bad reply: {e}"))),
            }
            let read = self.stream.read_buf(&mut self.buf);
            match tokio::time::timeout(REPLY_TIMEOUT, read).await {
                Ok(Ok(0)) => return Err(self.io("the server closed the connection".into())),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(self.io(format!("read: {e}"))),
                Err(_) => return Err(self.io(format!("no reply within {REPLY_TIMEOUT:?}"))),
            }
        }
    }

    fn io(&self, reason: String) -> Error {
        Error::Io { side: self.side, address: self.address.clone(), reason }
    }
}

/// A short description of a reply for error messages.
pub fn describe(frame: &Frame) -> String {
    match frame {
        Frame::Simple(s) | Frame::Bulk(s) => format!("{:?}", String::from_utf8_lossy(&s[..s.len().min(100)])),
        Frame::Error(e) | Frame::BulkError(e) => format!("error {:?}", String::from_utf8_lossy(e)),
        Frame::Integer(i) => format!("integer {i}"),
        Frame::Null => "null".into(),
        Frame::Array(items) => format!("an array of {}", items.len()),
        other => format!("{other:?}").chars().take(100).collect(),
    }
}
