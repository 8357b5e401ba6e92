//! `redtail follow --sink file:PATH`: the chosen format written into the sink crate's
//! [`FileSink`] (numbered, rotated files with an fsync policy), and only what its policy made
//! durable reaches the checkpoint and the ACK.
//!
//! Two halves share the sink, as with Kafka: [`FileWriter`] is the handler's output; it writes
//! through the event crate's JSON or RESP writer and, after each flush, tells the sink where a
//! new file may begin: not inside a snapshot key (its lines or commands are one unit) nor
//! inside a transaction (a `MULTI` in one file and its `EXEC` in the next would make both
//! unloadable). [`FileDelivery`] applies the fsync policy and reports the delivered offset.

use std::cell::RefCell;
use std::io::{self, Write};
use std::path::PathBuf;
use std::rc::Rc;

use anyhow::anyhow;
use bytes::Bytes;
use event::{EventSink, JsonOptions, JsonWriter, LiveEvent, LiveSink, RespStreamWriter};
use sink::{FileConfig, FileSink, Sink, UnitForm};

use crate::exit::Failure;
use crate::follow_args::{FollowArgs, FollowFormat};
use crate::follow_config::FollowConfig;
use crate::follow_output;

/// `--sink file:PATH` and the flags that go with it, checked before anything connects.
pub fn from_args(args: &FollowArgs) -> Result<Option<FileConfig>, Failure> {
    let usage = |msg: String| Failure::Usage(anyhow!(msg));
    let Some(path) = args.sink.strip_prefix("file:") else {
        if args.rotate_size.is_some() || args.rotate_interval.is_some() || args.fsync.is_some() {
            return Err(usage("--rotate-size, --rotate-interval and --fsync need --sink file:PATH".into()));
        }
        return Ok(None);
    };
    if path.is_empty() || path.ends_with('/') {
        return Err(usage(format!(
            "--sink {:?}: expected file:PATH, the name the numbered files start with (PATH.000001, ...)",
            args.sink
        )));
    }
    Ok(Some(FileConfig {
        path: PathBuf::from(path),
        rotate_size: args.rotate_size,
        rotate_interval: args.rotate_interval,
        fsync: args.fsync.unwrap_or_default(),
        units: Some(match args.format {
            FollowFormat::Json => UnitForm::Lines,
            FollowFormat::Resp => UnitForm::Resp,
        }),
    }))
}

/// Opens the next file now, so a wrong path fails before replication starts; `start` is the
/// checkpoint the session resumes from.
pub fn opened_output(
    config: &FollowConfig,
    start: Option<replica::Checkpoint>,
) -> Result<(follow_output::Output, follow_output::Delivery), Failure> {
    let file = config.file.clone().ok_or_else(|| Failure::Usage(anyhow!("not a file sink")))?;
    let sink = FileSink::open(file, start.map_or(0, |cp| cp.offset)).map_err(|e| Failure::Io(anyhow!(e)))?;
    tracing::info!(path = %sink.current_path().display(), "writing");
    let f = config;
    Ok(follow_output::file_output(sink, f.format, &f.filter, f.write_snapshot, f.chunk_elements))
}

/// The sink shared by both halves; the writers write through it.
#[derive(Clone)]
struct SharedFile(Rc<RefCell<FileSink>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().append(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    /// Durability is the delivery half's job.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Format {
    Json(JsonWriter<SharedFile>),
    Resp(Box<RespStreamWriter<SharedFile>>),
}

/// The output half: the format's writer, and where a new file may begin.
pub struct FileWriter {
    format: Format,
    file: SharedFile,
    /// The file the writer last wrote into; a change means it must make the new one stand alone.
    sequence: u64,
    /// Inside a snapshot key.
    in_key: bool,
    /// The transaction of the last command written, until its `exec` (or a command outside it).
    open_tx: Option<u64>,
}

/// The delivery half: the fsync policy and the offset it made durable.
pub struct FileDelivery {
    file: SharedFile,
    reported: u64,
}

/// Both halves over an opened sink. `flush_on_resync` is the RESP writer's (see
/// `follow_output::stdout_output`).
pub fn output(
    sink: FileSink,
    format: FollowFormat,
    chunk_elements: usize,
    flush_on_resync: bool,
) -> (FileWriter, FileDelivery) {
    let reported = sink.delivered();
    let sequence = sink.sequence();
    let file = SharedFile(Rc::new(RefCell::new(sink)));
    let format = match format {
        FollowFormat::Json => Format::Json(JsonWriter::with_options(
            file.clone(),
            JsonOptions { chunk_elements, ..JsonOptions::default() },
        )),
        FollowFormat::Resp => {
            Format::Resp(Box::new(RespStreamWriter::new(file.clone()).flush_on_resync(flush_on_resync)))
        }
    };
    let writer = FileWriter { format, file: file.clone(), sequence, in_key: false, open_tx: None };
    (writer, FileDelivery { file, reported })
}

impl FileWriter {
    fn inner(&mut self) -> &mut dyn LiveSink<Bytes> {
        match &mut self.format {
            Format::Json(w) => w,
            Format::Resp(w) => w.as_mut(),
        }
    }

    /// After a rotation, the RESP form selects its db again: each file loads on its own.
    fn follow_rotation(&mut self) {
        let sequence = self.file.0.borrow().sequence();
        if sequence != self.sequence {
            self.sequence = sequence;
            if let Format::Resp(w) = &mut self.format {
                w.reselect_db();
            }
        }
    }
}

impl EventSink for FileWriter {
    fn event(&mut self, ev: &rdb::Event<'_>, offset: u64) -> event::Result<()> {
        match ev {
            rdb::Event::Key(_) => self.in_key = true,
            rdb::Event::KeyEnd { .. } => self.in_key = false,
            _ => {}
        }
        self.inner().event(ev, offset)
    }

    fn finish(&mut self) -> event::Result<()> {
        self.inner().finish()
    }

    fn abort(&mut self) -> event::Result<()> {
        self.in_key = false;
        self.inner().abort()
    }
}

impl LiveSink<Bytes> for FileWriter {
    fn live(&mut self, ev: &LiveEvent<'_, Bytes>) -> event::Result<()> {
        // As the RESP writer does: a command outside the open transaction ends it.
        self.open_tx = match ev {
            LiveEvent::Command(c) => c.tx,
            _ => None,
        };
        self.inner().live(ev)
    }

    fn flush(&mut self) -> event::Result<()> {
        self.inner().flush()?;
        if !self.in_key && self.open_tx.is_none() {
            self.file.0.borrow_mut().boundary().map_err(|e| event::Error::Io(io::Error::other(e.to_string())))?;
            self.follow_rotation();
        }
        Ok(())
    }
}

impl FileDelivery {
    /// Everything up to `handed` is written (the output was flushed after it); applies the
    /// fsync policy and returns the delivered offset if it moved. Called without `handed`
    /// too (inside a snapshot, or when only a timer woke the follower), so that `everysec`
    /// delivers the last second's writes once the stream goes quiet.
    pub fn deliver(&mut self, handed: Option<u64>) -> Result<Option<u64>, sink::Error> {
        let mut file = self.file.0.borrow_mut();
        if let Some(offset) = handed {
            file.written(offset);
        }
        let delivered = file.flush()?;
        if delivered > self.reported {
            self.reported = delivered;
            return Ok(Some(delivered));
        }
        Ok(None)
    }

    /// A new stream begins: see [`sink::FileSink::new_stream`]. Without it, a stream whose
    /// offsets start below the old one's would never be reported delivered.
    pub fn new_stream(&mut self) -> Result<(), sink::Error> {
        self.file.0.borrow_mut().new_stream()?;
        self.reported = 0;
        Ok(())
    }

    /// The last delivery before a clean stop: whatever the policy, what was written is forced
    /// to disk, so everything handed over is delivered.
    pub fn finish(&mut self, handed: Option<u64>) -> Result<Option<u64>, sink::Error> {
        self.file.0.borrow_mut().sync()?;
        self.deliver(handed)
    }
}

#[cfg(test)]
mod tests {
    use event::{CommandEvent, SyncMode};
    use rdb::{Event, Item, Str};

    use super::*;
    use crate::test_support::list_key as key;

    const ID: &str = "8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1";

    fn set(n: u64, tx: Option<u64>) -> (Vec<Bytes>, u64, Option<u64>) {
        (vec![Bytes::from("SET"), Bytes::from(format!("k{n}")), Bytes::from("v")], n, tx)
    }

    fn command(w: &mut FileWriter, (args, n, tx): (Vec<Bytes>, u64, Option<u64>)) {
        let ev = CommandEvent {
            db: Some(n % 2),
            args: &args,
            replid: ID,
            start_offset: n * 10,
            end_offset: n * 10 + 10,
            tx,
        };
        w.live(&LiveEvent::Command(ev)).unwrap();
    }

    fn opened(dir: &std::path::Path, format: FollowFormat) -> (FileWriter, FileDelivery) {
        let config =
            FileConfig { rotate_size: Some(1), fsync: sink::FsyncPolicy::Always, ..FileConfig::new(dir.join("out")) };
        output(FileSink::open(config, 0).unwrap(), format, 1024, true)
    }

    fn files(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        names.iter().map(|p| String::from_utf8(std::fs::read(p).unwrap()).unwrap()).collect()
    }

    /// With a one-byte rotation size, every flush outside a transaction starts a new file; a
    /// transaction stays whole in one, and each RESP file selects its db first.
    #[test]
    fn a_transaction_stays_in_one_file_and_each_file_selects_its_db() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, mut d) = opened(dir.path(), FollowFormat::Resp);
        command(&mut w, set(1, None));
        LiveSink::flush(&mut w).unwrap();
        assert_eq!(d.deliver(Some(20)).unwrap(), Some(20));
        command(&mut w, set(2, Some(20)));
        LiveSink::flush(&mut w).unwrap();
        command(&mut w, set(4, Some(20)));
        w.live(&LiveEvent::Exec { tx: 20, commands: 2, replid: ID, start_offset: 20, end_offset: 50 }).unwrap();
        LiveSink::flush(&mut w).unwrap();
        command(&mut w, set(6, None));
        LiveSink::flush(&mut w).unwrap();
        let sel = |db: u64| format!("*2\r\n$6\r\nSELECT\r\n$1\r\n{db}\r\n");
        let set_k = |n: u64| format!("*3\r\n$3\r\nSET\r\n$2\r\nk{n}\r\n$1\r\nv\r\n");
        assert_eq!(
            files(dir.path()),
            [
                format!("{}{}", sel(1), set_k(1)),
                format!("{}*1\r\n$5\r\nMULTI\r\n{}{}*1\r\n$4\r\nEXEC\r\n", sel(0), set_k(2), set_k(4)),
                // db 0 as before, selected again for the new file.
                format!("{}{}", sel(0), set_k(6)),
            ]
        );
    }

    /// A snapshot key's lines stay in one file even when a flush comes in the middle of it.
    #[test]
    fn a_snapshot_key_stays_in_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _d) = opened(dir.path(), FollowFormat::Json);
        w.live(&LiveEvent::Sync { mode: SyncMode::Full, replid: ID, offset: 0 }).unwrap();
        LiveSink::flush(&mut w).unwrap();
        w.event(&Event::Key(key(b"l")), 0).unwrap();
        w.event(&Event::Item(Item::ListElement(Str::Bytes(b"x"))), 0).unwrap();
        LiveSink::flush(&mut w).unwrap();
        w.event(&Event::KeyEnd { elements: 1 }, 0).unwrap();
        LiveSink::flush(&mut w).unwrap();
        let got = files(dir.path());
        assert_eq!(got.len(), 2, "the next file waits for a write: {got:?}");
        assert!(got[0].starts_with("{\"event\":\"sync\"") && got[0].lines().count() == 1, "{got:?}");
        assert!(got[1].starts_with("{\"event\":\"key\"") && got[1].lines().count() == 1, "{got:?}");
    }
}
