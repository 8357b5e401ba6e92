//! A thin tokio driver: moves bytes between a socket and a [`Replica`], and time into it.
//! All protocol decisions stay in the state machine; this file only does I/O.

use std::convert::Infallible;
use std::future::Future;
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
    loop {
        loop {
            let Some(out) = replica.poll_output(Instant::now())? else { break };
            let delivered = match out {
                // Owned bytes: the borrow of `replica` ends here.
                Output::Transmit(bytes) => {
                    stream.write_all(&bytes.0).await?;
                    None
                }
                other => handler.output(&other).map_err(DriverError::Handler)?,
            };
            if let Some(offset) = delivered {
                replica.ack_delivered(offset);
            }
        }
        if let Some(offset) = handler.flush().map_err(DriverError::Handler)? {
            replica.ack_delivered(offset);
        }
        let checkpoint = replica.checkpoint();
        if checkpoint != reported {
            if let Some(cp) = &checkpoint {
                handler.checkpoint(cp).map_err(DriverError::Handler)?;
            }
            reported = checkpoint;
        }
        stream.flush().await?;
        let deadline = replica.poll_timeout().map(tokio::time::Instant::from_std);
        let read = {
            let buf = replica.input_buffer();
            buf.reserve(READ_CHUNK);
            with_deadline(stream.read_buf(buf), deadline).await
        };
        match read {
            Some(Ok(0)) => return Err(replica.connection_closed().into()),
            Some(Ok(_)) => replica.mark_received(Instant::now()),
            Some(Err(e)) => return Err(e.into()),
            None => replica.handle_timeout(Instant::now()),
        }
    }
}

/// `fut`'s output, or `None` if `deadline` passes first.
async fn with_deadline<F: Future>(fut: F, deadline: Option<tokio::time::Instant>) -> Option<F::Output> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, fut).await.ok(),
        None => Some(fut.await),
    }
}
