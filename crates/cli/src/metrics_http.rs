//! `--metrics-addr`: serves `GET /metrics` for Prometheus, and polls the master's offset for
//! the lag (metrics_lag.rs), on a thread of its own.
//!
//! Why a thread: the follow handler writes to its sink synchronously on the main runtime, so
//! a stalled sink (a full pipe, a slow disk) blocks that thread, and that is exactly when the
//! lag must still be visible. The metrics are atomics, so this thread reads them as they are.
//!
//! Why no HTTP crate: one route, answered with one response and the connection closed, is a
//! few lines over tokio; hyper or axum would bring a dozen crates for it. Requests are read
//! with a size cap and a deadline, so a client cannot hold memory or the thread.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use replica::SessionConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::exit::Failure;
use crate::metrics::Metrics;
use crate::metrics_lag;

/// The largest request head read; a scrape's is a few hundred bytes.
const MAX_REQUEST: usize = 8 << 10;
/// How long a client has to send its request and take the answer.
const CLIENT_DEADLINE: Duration = Duration::from_secs(10);
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Binds `addr` (here, so a taken port is an error at start) and starts the metrics thread.
/// Returns the address bound, which differs from `addr` for port 0.
pub fn start(addr: &str, registry: Registry, metrics: Metrics, source: SessionConfig) -> Result<SocketAddr, Failure> {
    let listener = StdListener::bind(addr).map_err(|e| Failure::Io(anyhow!("--metrics-addr {addr}: {e}")))?;
    let bound = listener.local_addr().map_err(|e| Failure::Io(anyhow!("--metrics-addr {addr}: {e}")))?;
    listener.set_nonblocking(true).map_err(|e| Failure::Io(anyhow!("--metrics-addr {addr}: {e}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(anyhow!("cannot start the metrics runtime: {e}")))?;
    let registry = Arc::new(registry);
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return tracing::error!(error = %e, "metrics: cannot listen"),
                };
                tokio::join!(serve(listener, registry), metrics_lag::poll_master(source, metrics));
            })
        })
        .map_err(|e| Failure::Io(anyhow!("cannot start the metrics thread: {e}")))?;
    tracing::info!(address = %bound, "metrics at http://{bound}/metrics");
    Ok(bound)
}

async fn serve(listener: TcpListener, registry: Arc<Registry>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let registry = Arc::clone(&registry);
                tokio::spawn(async move {
                    if tokio::time::timeout(CLIENT_DEADLINE, answer(stream, &registry)).await.is_err() {
                        tracing::debug!("metrics: a client took too long");
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors, say: try again shortly rather than spin.
                tracing::warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads one request head and answers it; errors just close the connection.
async fn answer(mut stream: TcpStream, registry: &Registry) {
    let mut head = Vec::with_capacity(1024);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() >= MAX_REQUEST {
            return respond(&mut stream, "431 Request Header Fields Too Large", "text/plain", b"").await;
        }
        let mut chunk = [0u8; 1024];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    match (method, path) {
        (b"GET", b"/metrics") => {
            let mut body = String::with_capacity(4096);
            if encode(&mut body, registry).is_err() {
                return respond(&mut stream, "500 Internal Server Error", "text/plain", b"").await;
            }
            respond(&mut stream, "200 OK", CONTENT_TYPE, body.as_bytes()).await
        }
        (b"GET", _) => respond(&mut stream, "404 Not Found", "text/plain", b"try /metrics\n").await,
        _ => respond(&mut stream, "405 Method Not Allowed", "text/plain", b"").await,
    }
}

async fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}
