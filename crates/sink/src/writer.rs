//! [`WriterSink`]: lines to any `Write` (stdout, a file), the simplest sink and the model for
//! the others.

use std::io::{BufWriter, Write};

use crate::error::Error;
use crate::{Batch, Sink};

/// Writes each record as it is (records are expected to end with their own newline) through a
/// buffer. `flush` flushes the buffer and, for a file, can fsync it (see
/// [`WriterSink::with_sync`]); only then are the batch's offsets delivered.
pub struct WriterSink<W: Write> {
    out: BufWriter<W>,
    destination: String,
    sync: Option<fn(&mut W) -> std::io::Result<()>>,
    /// The end offset of the last batch written into the buffer.
    sent: u64,
    delivered: u64,
}

impl<W: Write> WriterSink<W> {
    /// `destination` names the output in error messages (`stdout`, a path). `start` is the
    /// offset already delivered (the checkpoint's).
    pub fn new(out: W, destination: impl Into<String>, start: u64) -> Self {
        WriterSink {
            out: BufWriter::with_capacity(64 << 10, out),
            destination: destination.into(),
            sync: None,
            sent: start,
            delivered: start,
        }
    }

    /// Runs `sync` after each flush (for a file: `File::sync_data`), so delivered means on disk.
    pub fn with_sync(mut self, sync: fn(&mut W) -> std::io::Result<()>) -> Self {
        self.sync = Some(sync);
        self
    }

    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }

    fn failed(&self) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Write { destination: self.destination.clone(), source }
    }
}

impl<W: Write> Sink for WriterSink<W> {
    type Record = Vec<u8>;

    fn send(&mut self, batch: Batch<Vec<u8>>) -> Result<(), Error> {
        for record in &batch.records {
            if let Err(source) = self.out.write_all(record) {
                return Err(Error::Write { destination: self.destination.clone(), source });
            }
        }
        self.sent = self.sent.max(batch.end_offset);
        Ok(())
    }

    fn flush(&mut self) -> Result<u64, Error> {
        if let Err(e) = self.out.flush() {
            return Err(self.failed()(e));
        }
        if let Some(sync) = self.sync {
            if let Err(e) = sync(self.out.get_mut()) {
                return Err(self.failed()(e));
            }
        }
        self.delivered = self.sent;
        Ok(self.delivered)
    }

    fn delivered(&self) -> u64 {
        self.delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_delivered_only_by_flush() {
        let mut sink = WriterSink::new(Vec::new(), "memory", 100);
        sink.send(Batch { records: vec![b"a\n".to_vec(), b"b\n".to_vec()], end_offset: 150 }).unwrap();
        assert_eq!(sink.delivered(), 100);
        sink.send(Batch { records: vec![], end_offset: 164 }).unwrap();
        assert_eq!(sink.flush().unwrap(), 164);
        assert_eq!(sink.delivered(), 164);
        assert_eq!(sink.get_ref(), b"a\nb\n");
    }

    /// A destination that fails: nothing past the last good flush is reported delivered.
    #[test]
    fn a_failed_write_delivers_nothing_more() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::StorageFull.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut sink = WriterSink::new(Full, "disk", 7);
        sink.send(Batch { records: vec![b"x\n".to_vec()], end_offset: 20 }).unwrap();
        let err = sink.flush().unwrap_err();
        assert!(err.to_string().starts_with("writing to disk"), "{err}");
        assert_eq!(sink.delivered(), 7);
    }
}
