//! A thin tokio driver: moves bytes between a socket and a [`Replica`], and time into it.
//! All protocol decisions stay in the state machine; this file only does I/O.

use std::convert::Infallible;
use std::future::Future;
use std::task::Poll;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{Checkpoint, Error, Output, Replica};

/// Read at least this much room at a time, so a large snapshot takes few syscalls.
const READ_CHUNK: usize = 256 << 10;

/// Why [`run`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum DriverError<E> {
    #[error(transparent)]
    Replication(#[from] Error),
    #[error("connection to the master: {0}")]
    Io(#[from] std::io::Error),
    /// The handler asked to stop.
    #[error("stopped by the output handler: {0}")]
    Handler(E),
}

/// What receives the outputs of a connection (and of a [`Session`](crate::Session)).
///
/// `output` is synchronous on purpose: snapshot events borrow the decoder's buffer, so each
/// one is dealt with before the next is decoded. A sink that works asynchronously reports its
/// progress on a later call, or from [`Handler::flush`]. A closure
/// `FnMut(&Output) -> Result<Option<u64>, E>` is a handler that ignores checkpoints.
pub trait Handler {
    type Error;

    /// Handles one output (never a `Transmit`: the driver writes those). Returns the offset
    /// durably delivered up to, if that moved: a command's `end_offset`, or the
    /// `SnapshotEnd` offset. It drives `REPLCONF ACK` and the checkpoint.
    fn output(&mut self, out: &Output<'_>) -> Result<Option<u64>, Self::Error>;

    /// Snapshot items that come in a batch ([`Replica::snapshot_ready_items`]): exactly the
    /// `Output::Snapshot(Event::Item)`s that would otherwise come one by one, right after the
    /// item before them. The default hands them to [`Handler::output`] one by one; a writer
    /// takes them in a tight loop (the per-output round trip cost about as much as writing a
    /// small element). Returns what `output` would have.
    fn snapshot_items(&mut self, items: rdb::ReadyItems<'_>) -> Result<Option<u64>, Self::Error> {
        let mut delivered = None;
        for item in items {
            delivered = self.output(&Output::Snapshot(rdb::Event::Item(item)))?.or(delivered);
        }
        Ok(delivered)
    }

    /// The driver has handed out everything the last read produced and is about to wait for
    /// the master. A handler that buffers its output (stdout, a file) writes it out here, once
    /// per read burst rather than once per command, and returns the offset now durably
    /// delivered, if that moved. Without this, a buffered handler could only report delivery
    /// on its next `output`, which never comes once the master goes quiet.
    fn flush(&mut self) -> Result<Option<u64>, Self::Error> {
        Ok(None)
    }

    /// The position a restart can resume from without loss has moved (it follows the
    /// delivered offset). Called at most once per batch of input; save it from here (not
    /// necessarily every time) to survive a crash.
    fn checkpoint(&mut self, _checkpoint: &Checkpoint) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A [`Session`](crate::Session)'s connection failed with `error` and it will try again
    /// (after a backoff): the place to count reconnections, which the outputs alone do not
    /// show when attempts fail before reaching the stream.
    fn reconnecting(&mut self, _error: &Error) {}
}

impl<E, F> Handler for F
where
    F: FnMut(&Output<'_>) -> Result<Option<u64>, E>,
{
    type Error = E;
    fn output(&mut self, out: &Output<'_>) -> Result<Option<u64>, E> {
        self(out)
    }
}

/// Runs one connection until it fails or the handler stops it. `Transmit`s are written
/// here; every other output goes to `handler`. The replica is borrowed so that, after a
/// failure, its [`Replica::checkpoint`] says where the next connection resumes.
pub async fn run<S, H>(
    stream: &mut S,
    replica: &mut Replica,
    handler: &mut H,
) -> Result<Infallible, DriverError<H::Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler + ?Sized,
{
    let mut reported = replica.checkpoint();
    // Bytes for the master are written after the handler's flush and checkpoint, so that the
    // only points where this future waits (and where a caller may drop it, say on SIGTERM)
    // come after everything handed out is flushed and its checkpoint saved.
    let mut outgoing: Vec<bytes::Bytes> = Vec::new();
    loop {
        pump(replica, handler, &mut reported, &mut outgoing)?;
        send(stream, &mut outgoing).await?;
        // What the master sent meanwhile is read without waiting. When nothing has come, a
        // burst has ended: its ACK goes out before the wait (see `Replica::input_idle`).
        let read = match read_now(stream, replica.input_buffer()).await {
            Some(read) => read,
            None => {
                replica.input_idle();
                pump(replica, handler, &mut reported, &mut outgoing)?;
                send(stream, &mut outgoing).await?;
                stream.flush().await?;
                let deadline = replica.poll_timeout().map(tokio::time::Instant::from_std);
                let buf = replica.input_buffer();
                buf.reserve(READ_CHUNK);
                match with_deadline(stream.read_buf(buf), deadline).await {
                    Some(read) => read,
                    None => {
                        replica.handle_timeout(Instant::now());
                        continue;
                    }
                }
            }
        };
        match read {
            Ok(0) => return Err(replica.connection_closed().into()),
            Ok(_) => replica.mark_received(Instant::now()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Hands every output the replica has to the handler (keeping the `Transmit`s in `outgoing`),
/// then flushes the handler and reports a moved checkpoint. The clock is read once: the
/// outputs of one read come out within microseconds.
fn pump<H: Handler + ?Sized>(
    replica: &mut Replica,
    handler: &mut H,
    reported: &mut Option<Checkpoint>,
    outgoing: &mut Vec<bytes::Bytes>,
) -> Result<(), DriverError<H::Error>> {
    let now = Instant::now();
    while let Some(out) = replica.poll_output(now)? {
        let delivered = match out {
            // Owned bytes: the borrow of `replica` ends here.
            Output::Transmit(bytes) => {
                outgoing.push(bytes.0);
                None
            }
            other => {
                let item = matches!(other, Output::Snapshot(rdb::Event::Item(_)));
                let delivered = handler.output(&other).map_err(DriverError::Handler)?;
                // Only right after an item: that is when the parser may have more of them ready.
                match if item { replica.snapshot_ready_items() } else { None } {
                    Some(items) => handler.snapshot_items(items).map_err(DriverError::Handler)?.or(delivered),
                    None => delivered,
                }
            }
        };
        if let Some(offset) = delivered {
            replica.ack_delivered(offset);
        }
    }
    if let Some(offset) = handler.flush().map_err(DriverError::Handler)? {
        replica.ack_delivered(offset);
    }
    let checkpoint = replica.checkpoint();
    if checkpoint != *reported {
        if let Some(cp) = &checkpoint {
            handler.checkpoint(cp).map_err(DriverError::Handler)?;
        }
        *reported = checkpoint;
    }
    Ok(())
}

/// Writes the bytes for the master, flushing (a TLS stream buffers) when there were any.
async fn send<S: AsyncWrite + Unpin>(stream: &mut S, outgoing: &mut Vec<bytes::Bytes>) -> std::io::Result<()> {
    if outgoing.is_empty() {
        return Ok(());
    }
    for bytes in outgoing.drain(..) {
        stream.write_all(&bytes).await?;
    }
    stream.flush().await
}

/// Reads what has already arrived, without waiting: `None` when a read would wait. (A read
/// that would wait registers for a wake-up and is dropped unfinished, which reads nothing.)
async fn read_now<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut bytes::BytesMut) -> Option<std::io::Result<usize>> {
    buf.reserve(READ_CHUNK);
    let mut read = std::pin::pin!(stream.read_buf(buf));
    std::future::poll_fn(|cx| match read.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(Some(result)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// `fut`'s output, or `None` if `deadline` passes first.
async fn with_deadline<F: Future>(fut: F, deadline: Option<tokio::time::Instant>) -> Option<F::Output> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, fut).await.ok(),
        None => Some(fut.await),
    }
}
