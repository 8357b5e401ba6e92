//! Opening a byte stream to a [`Source`]: TCP (with `TCP_NODELAY`, so small `REPLCONF ACK`s
//! are not held back by Nagle's algorithm), a unix socket, or TLS over TCP.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::error::Error;
use crate::source::{Address, Source};
use crate::tls::TlsOptions;

/// An open connection of any kind; the driver only needs bytes in and out.
#[derive(Debug)]
pub enum Connection {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Connects, with a deadline on the whole of it (TCP and the TLS handshake). `tls` is
/// consulted only when the source asks for TLS; pass the config from
/// [`TlsOptions::client_config`] so it is read once per session, not per attempt.
pub async fn connect(
    source: &Source,
    tls: Option<(&TlsOptions, &Arc<rustls::ClientConfig>)>,
    timeout: Duration,
) -> Result<Connection, Error> {
    let address = source.address.to_string();
    match tokio::time::timeout(timeout, open(source, tls)).await {
        Ok(result) => result,
        Err(_) => Err(Error::ConnectTimeout { address, after: timeout }),
    }
}

async fn open(source: &Source, tls: Option<(&TlsOptions, &Arc<rustls::ClientConfig>)>) -> Result<Connection, Error> {
    let address = source.address.to_string();
    let failed = |e: io::Error| Error::Connect { address: address.clone(), source: Arc::new(e) };
    match &source.address {
        Address::Tcp { host, port } => {
            let tcp = TcpStream::connect((host.as_str(), *port)).await.map_err(failed)?;
            tcp.set_nodelay(true).map_err(failed)?;
            if !source.tls {
                return Ok(Connection::Tcp(tcp));
            }
            let (options, config) = tls.ok_or_else(|| Error::TlsConfig("no TLS settings for a TLS source".into()))?;
            let name = options.server_name(Some(host))?;
            match TlsConnector::from(config.clone()).connect(name, tcp).await {
                Ok(stream) => Ok(Connection::Tls(Box::new(stream))),
                // rustls reports a refused certificate or protocol error as InvalidData; the
                // rest are network errors, worth a retry.
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    Err(Error::TlsHandshake { address, source: Arc::new(e) })
                }
                Err(e) => Err(Error::Io { address, source: Arc::new(e) }),
            }
        }
        #[cfg(unix)]
        Address::Unix(path) => {
            if source.tls {
                return Err(Error::TlsConfig("TLS over a unix socket is not supported".into()));
            }
            Ok(Connection::Unix(tokio::net::UnixStream::connect(path).await.map_err(failed)?))
        }
        #[cfg(not(unix))]
        Address::Unix(_) => Err(Error::BadSource {
            source_text: address,
            reason: "unix sockets are not available on this platform".into(),
        }),
    }
}

impl AsyncRead for Connection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Connection::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Connection::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Connection::Unix(s) => Pin::new(s).poll_flush(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Connection::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
