//! Asking a target whether it is a cluster and, if so, which master serves each slot: `AUTH`,
//! `INFO cluster`, `CLUSTER SLOTS`, one request at a time on a short-lived connection.

use std::time::Duration;

use bytes::BytesMut;
use replica::Connection;
use resp::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::redis::RedisConfig;
use crate::redis_cluster::SlotMap;
use crate::Error;

/// The target's slot map, or `None` for a server that is not a cluster node. Runs on a thread
/// of its own, so a caller already inside a tokio runtime can call it.
pub fn discover(config: &RedisConfig) -> Result<Option<SlotMap>, Error> {
    let config = config.clone();
    let address = config.target.address.to_string();
    let unreachable = |reason: String| Error::RedisUnreachable { address: address.clone(), reason };
    std::thread::scope(|scope| {
        let asked = scope.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| unreachable(format!("cannot start a runtime: {e}")))?;
            runtime.block_on(ask(&config)).map_err(unreachable)
        });
        asked.join().unwrap_or_else(|_| Err(unreachable("the discovery thread panicked".into())))
    })
}

async fn ask(config: &RedisConfig) -> Result<Option<SlotMap>, String> {
    let tls = match config.target.tls {
        true => Some(config.tls.client_config().map_err(|e| e.to_string())?),
        false => None,
    };
    let mut conn = replica::connect(&config.target, tls.as_ref().map(|t| (&config.tls, t)), config.connect_timeout)
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = BytesMut::with_capacity(16 << 10);
    let timeout = config.connect_timeout;
    if let Some(password) = &config.target.password {
        let mut auth = vec!["AUTH"];
        auth.extend(config.target.user.as_deref());
        auth.push(password);
        if let Frame::Error(e) = request(&mut conn, &mut buf, &auth, timeout).await? {
            return Err(format!(
                "authentication refused: {}",
                String::from_utf8_lossy(&e).replace(password, "<redacted>")
            ));
        }
    }
    let enabled = match request(&mut conn, &mut buf, &["INFO", "cluster"], timeout).await? {
        Frame::Bulk(text) | Frame::Verbatim { text, .. } => {
            String::from_utf8_lossy(&text).lines().any(|l| l.trim() == "cluster_enabled:1")
        }
        _ => false,
    };
    if !enabled {
        return Ok(None);
    }
    let reply = request(&mut conn, &mut buf, &["CLUSTER", "SLOTS"], timeout).await?;
    let asked = config.target.host().unwrap_or("127.0.0.1");
    let map = SlotMap::from_cluster_slots(&reply, asked).map_err(|e| e.to_string())?;
    if map.unassigned() > 0 {
        return Err(format!(
            "{} slots have no master: the cluster is not complete (CLUSTER INFO says why)",
            map.unassigned()
        ));
    }
    Ok(Some(map))
}

async fn request(conn: &mut Connection, buf: &mut BytesMut, args: &[&str], timeout: Duration) -> Result<Frame, String> {
    let exchange = async {
        conn.write_all(&resp::encode_command(args)).await.map_err(|e| format!("writing: {e}"))?;
        let mut decoder = resp::Decoder::default();
        loop {
            match decoder.decode(buf).map_err(|e| format!("bad reply to {}: {e}", args.join(" ")))? {
                Some((resp::Item::Frame(frame), _)) => return Ok(frame),
                Some(_) => continue,
                None => {}
            }
            if conn.read_buf(buf).await.map_err(|e| format!("reading: {e}"))? == 0 {
                return Err("the target closed the connection".to_string());
            }
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no reply to {} within {timeout:?}", args.join(" ")))?
}
