//! A tiny synchronous RESP2 client for tests.
//!
//! Hand-written rather than the `redis` crate, because:
//! - it must behave the same on every server from Redis 2.8 to Valkey 9.1, and send exactly the
//!   commands the test wrote. Recent `redis` crate versions send `CLIENT SETINFO` on every
//!   connect (and ignore the error that servers before 7.2 return), which then shows up in
//!   `MONITOR`, `CLIENT LIST` and command statistics that tests may inspect;
//! - replication tests need the raw socket (`PSYNC`, `REPLCONF`, reading an RDB payload), which a
//!   high-level client hides;
//! - it keeps the workspace's release-mode test builds (fat LTO) free of a large dependency tree.
//!
//! RESP2 is small: five reply types, each a prefix byte and a CRLF-terminated line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::Error;

/// A RESP2 reply. `Nil` stands for both the null bulk string and the null array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Array(Vec<Reply>),
    Nil,
}

impl Reply {
    /// The reply as text: a status, error or (UTF-8, lossily) bulk string.
    pub fn as_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Reply::Status(s) | Reply::Error(s) => Some(s.as_str().into()),
            Reply::Bulk(b) => Some(String::from_utf8_lossy(b)),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(b) => Some(b),
            _ => None,
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Panics unless the reply is `+OK`; for setup commands whose failure is a broken test.
    #[track_caller]
    pub fn expect_ok(&self) {
        assert_eq!(self, &Reply::Status("OK".into()), "expected +OK");
    }
}

/// One connection to a server. Replies are read in full before `cmd` returns.
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    /// How long a reply may take: long enough for `SAVE` or `DEBUG POPULATE` of a large data set.
    pub const READ_TIMEOUT: Duration = Duration::from_secs(120);

    pub fn connect(port: u16) -> Result<Client, Error> {
        let stream =
            TcpStream::connect(("127.0.0.1", port)).map_err(Error::io(format!("connect to 127.0.0.1:{port}")))?;
        stream.set_nodelay(true).map_err(Error::io("set TCP_NODELAY"))?;
        stream.set_read_timeout(Some(Self::READ_TIMEOUT)).map_err(Error::io("set read timeout"))?;
        Ok(Client { reader: BufReader::new(stream) })
    }

    /// Sends one command and reads its reply. A server error is `Ok(Reply::Error)`, not `Err`.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Result<Reply, Error> {
        self.send(args)?;
        self.read_reply()
    }

    /// [`Client::cmd`] with string arguments.
    pub fn cmd_str(&mut self, args: &[&str]) -> Result<Reply, Error> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd(&args)
    }

    /// Writes one command as a RESP2 array of bulk strings, without reading the reply.
    pub fn send(&mut self, args: &[&[u8]]) -> Result<(), Error> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a);
            buf.extend_from_slice(b"\r\n");
        }
        self.send_raw(&buf)
    }

    /// Writes bytes as they are (inline commands, malformed input, replication handshakes).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.reader.get_mut().write_all(bytes).map_err(Error::io("write to server"))
    }

    /// Reads one reply.
    pub fn read_reply(&mut self) -> Result<Reply, Error> {
        let line = self.read_line()?;
        let (kind, rest) = line.split_at(1);
        let number = || rest.parse::<i64>().map_err(|_| Error::Protocol(format!("bad number in {line:?}")));
        Ok(match kind {
            "+" => Reply::Status(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(number()?),
            "$" => match number()? {
                -1 => Reply::Nil,
                len => {
                    let mut data = vec![0; len as usize + 2];
                    self.reader.read_exact(&mut data).map_err(Error::io("read bulk string"))?;
                    data.truncate(len as usize);
                    Reply::Bulk(data)
                }
            },
            "*" => match number()? {
                -1 => Reply::Nil,
                n => (0..n).map(|_| self.read_reply()).collect::<Result<_, _>>().map(Reply::Array)?,
            },
            _ => return Err(Error::Protocol(format!("unexpected reply line {line:?}"))),
        })
    }

    /// The buffered reader under this client, for tests that read a raw byte stream (e.g. an
    /// RDB payload after `PSYNC`). Bytes already buffered stay in it.
    pub fn reader(&mut self) -> &mut BufReader<TcpStream> {
        &mut self.reader
    }

    fn read_line(&mut self) -> Result<String, Error> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(Error::io("read reply"))?;
        if n == 0 {
            return Err(Error::Protocol("connection closed by server".into()));
        }
        if !line.ends_with("\r\n") || line.len() < 3 {
            return Err(Error::Protocol(format!("reply line not CRLF-terminated: {line:?}")));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }
}
