//! [`FileSink`] (`--sink file:PATH`): records appended to numbered files, `PATH.000001`,
//! `PATH.000002`, ... ([`segments`] says why that naming), rotated by size or age, and made
//! durable by an fsync policy like Redis's `appendfsync`.
//!
//! - **Whole units per file.** A new file begins only where the writer says one may
//!   ([`FileSink::boundary`]; for [`Sink::send`], between batches), so a JSON line, a command
//!   or a `MULTI`/`EXEC` group is never split between two files. Rotation is checked there:
//!   a file grows past `rotate_size` by at most what was written since the last boundary, and
//!   is closed at the first boundary after `rotate_interval`. The next file is created by the
//!   first write after a rotation, so an idle stream leaves no empty files.
//! - **Delivered means durable, per [`FsyncPolicy`].** [`Sink::flush`] reports the end offset
//!   of what is written and, with `always` or `everysec`, fsynced (with `everysec` it may
//!   trail by about a second); with `no`, what is written to the operating system. A rotated
//!   file is fsynced before the next one opens (unless `no`), and a new file's directory entry
//!   is fsynced too, so the delivered offset never covers data that a power cut could lose.
//! - **A restart never overwrites.** [`FileSink::open`] starts the file after the highest one
//!   present. After a crash the previous run's last file may end with records past the
//!   checkpoint, which the resumed run writes again into its new file: at least once, with the
//!   events' offsets to drop the repeats (see [`tail`] for what is done about a cut-off unit).

pub mod options;
pub mod segments;
pub mod tail;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::{Batch, Sink};
pub use options::FsyncPolicy;
pub use tail::UnitForm;

/// How often `everysec` fsyncs.
const EVERY_SEC: Duration = Duration::from_secs(1);

/// Where and how a [`FileSink`] writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileConfig {
    /// The files are this path with `.000001`, `.000002`, ... appended.
    pub path: PathBuf,
    /// Start a new file at the first boundary once the current one holds this many bytes.
    pub rotate_size: Option<u64>,
    /// Start a new file at the first boundary once the current one is this old.
    pub rotate_interval: Option<Duration>,
    pub fsync: FsyncPolicy,
    /// What the records are, so that [`FileSink::open`] can cut an unfinished unit off the
    /// previous run's last file ([`tail`]); `None` leaves it as it is.
    pub units: Option<UnitForm>,
}

impl FileConfig {
    pub fn new(path: impl Into<PathBuf>) -> FileConfig {
        FileConfig {
            path: path.into(),
            rotate_size: None,
            rotate_interval: None,
            fsync: FsyncPolicy::default(),
            units: None,
        }
    }
}

/// The file being written.
struct Segment {
    file: File,
    path: PathBuf,
    bytes: u64,
    opened: Instant,
}

/// Appends records to rotated files; see the module documentation.
pub struct FileSink {
    config: FileConfig,
    /// The number of the file being written, or of the next one after a rotation.
    seq: u64,
    /// `None` after a rotation until the next append: an idle stream leaves no empty files.
    segment: Option<Segment>,
    /// Bytes were written to the current file since its last fsync.
    unsynced: bool,
    last_sync: Instant,
    /// The end offset of everything written so far.
    written: u64,
    delivered: u64,
}

impl FileSink {
    /// Opens the file after the highest one already present for `config.path` (or
    /// `PATH.000001`). `start` is the offset already delivered (the checkpoint's).
    pub fn open(config: FileConfig, start: u64) -> Result<FileSink, Error> {
        let last = segments::last_segment(&config.path)?;
        if let (Some(last), Some(form)) = (last, config.units) {
            repair_tail(&segments::segment_path(&config.path, last), form);
        }
        let seq = last.map_or(1, |last| last + 1);
        // The first file is created now, so a path that cannot work fails at start.
        let segment = Some(create(&config, seq)?);
        Ok(FileSink {
            config,
            seq,
            segment,
            unsynced: false,
            last_sync: Instant::now(),
            written: start,
            delivered: start,
        })
    }

    /// The file being written (or, after a rotation, the next one).
    pub fn current_path(&self) -> PathBuf {
        segments::segment_path(&self.config.path, self.seq)
    }

    /// The current file's sequence number; it changes when the sink rotates.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// Everything written so far ends where a new file may begin (no line, command or
    /// transaction is open): rotates now if the current file is due.
    pub fn boundary(&mut self) -> Result<(), Error> {
        let Some(s) = &self.segment else { return Ok(()) };
        let full = self.config.rotate_size.is_some_and(|max| s.bytes >= max);
        let old = self.config.rotate_interval.is_some_and(|age| s.opened.elapsed() >= age);
        if s.bytes == 0 || !(full || old) {
            return Ok(());
        }
        if self.config.fsync != FsyncPolicy::No {
            self.sync()?;
        }
        if let Some(closed) = self.segment.take() {
            tracing::debug!(closed = %closed.path.display(), bytes = closed.bytes, "rotated");
        }
        self.seq += 1;
        self.unsynced = false;
        Ok(())
    }

    /// Appends bytes to the current file, unbuffered: the writers in front of it (the event
    /// crate's) already buffer and hand over whole units in large pieces. Durability is
    /// [`Sink::flush`]'s job, by the policy.
    pub fn append(&mut self, buf: &[u8]) -> Result<(), Error> {
        let segment = match &mut self.segment {
            Some(s) => s,
            None => self.segment.insert(create(&self.config, self.seq)?),
        };
        segment
            .file
            .write_all(buf)
            .map_err(|source| Error::Write { destination: segment.path.display().to_string(), source })?;
        segment.bytes += buf.len() as u64;
        self.unsynced |= !buf.is_empty();
        Ok(())
    }

    /// Everything up to `end_offset` has been written (with [`FileSink::append`]).
    pub fn written(&mut self, end_offset: u64) {
        self.written = self.written.max(end_offset);
    }

    /// A new stream begins (a full sync, or a continuation after a reconnect): what was
    /// written is made durable now, and the offsets start over from the new stream's, which
    /// may count from lower down (a restarted master's new replication ID starts near 0).
    pub fn new_stream(&mut self) -> Result<(), Error> {
        self.sync()?;
        self.written = 0;
        self.delivered = 0;
        Ok(())
    }

    /// Forces what was written to disk now, whatever the policy (for a clean stop).
    pub fn sync(&mut self) -> Result<(), Error> {
        if let Some(s) = self.segment.as_mut().filter(|_| self.unsynced) {
            s.file.sync_data().map_err(|source| Error::FileIo { path: s.path.clone(), action: "fsync it", source })?;
            self.unsynced = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }
}

/// Cuts what a crash left unfinished off the end of the previous run's last file. A file that
/// cannot be repaired is left for the user, with a warning: the new run does not need it.
fn repair_tail(path: &Path, form: UnitForm) {
    match tail::repair(path, form) {
        Ok(0) => {}
        Ok(cut) => {
            tracing::warn!(path = %path.display(), bytes = cut, "cut an unfinished record off the end of the previous run's last file; the resumed run writes it again")
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot check the end of the previous run's last file; left as it is")
        }
    }
}

/// Creates file `seq`, refusing to overwrite one (another process writing the same path would
/// otherwise interleave with this one unnoticed).
fn create(config: &FileConfig, seq: u64) -> Result<Segment, Error> {
    let path = segments::segment_path(&config.path, seq);
    let file = OpenOptions::new().write(true).create_new(true).open(&path).map_err(|source| Error::FileIo {
        path: path.clone(),
        action: "create it (is another redtail writing the same files?)",
        source,
    })?;
    if config.fsync != FsyncPolicy::No {
        let dir = segments::directory(&config.path);
        File::open(&dir).and_then(|d| d.sync_all()).map_err(|source| Error::FileIo {
            path: dir,
            action: "fsync the directory",
            source,
        })?;
    }
    Ok(Segment { file, path, bytes: 0, opened: Instant::now() })
}

impl Sink for FileSink {
    type Record = Vec<u8>;

    /// Writes the batch's records into one file: a batch is never split.
    fn send(&mut self, batch: Batch<Vec<u8>>) -> Result<(), Error> {
        for record in &batch.records {
            self.append(record)?;
        }
        self.written(batch.end_offset);
        self.boundary()
    }

    fn flush(&mut self) -> Result<u64, Error> {
        let due = match self.config.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::EverySec => self.last_sync.elapsed() >= EVERY_SEC,
            FsyncPolicy::No => false,
        };
        if due {
            self.sync()?;
        }
        // With nothing left unsynced (or nothing to sync by the policy), all written is delivered.
        if !self.unsynced || self.config.fsync == FsyncPolicy::No {
            self.delivered = self.written;
        }
        Ok(self.delivered)
    }

    fn delivered(&self) -> u64 {
        self.delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(records: &[&str], end_offset: u64) -> Batch<Vec<u8>> {
        Batch { records: records.iter().map(|r| r.as_bytes().to_vec()).collect(), end_offset }
    }

    fn files(dir: &Path) -> Vec<(String, String)> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().into_string().unwrap(), std::fs::read_to_string(e.path()).unwrap())
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn rotates_by_size_between_batches_only() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            FileConfig { rotate_size: Some(10), fsync: FsyncPolicy::Always, ..FileConfig::new(dir.path().join("ev")) };
        let mut sink = FileSink::open(config, 0).unwrap();
        sink.send(batch(&["aaaa\n", "bbbb\n", "cccc\n"], 10)).unwrap();
        sink.send(batch(&["dd\n"], 20)).unwrap();
        sink.send(batch(&[], 25)).unwrap();
        assert_eq!(sink.flush().unwrap(), 25);
        let got = files(dir.path());
        assert_eq!(
            got,
            [("ev.000001".to_string(), "aaaa\nbbbb\ncccc\n".to_string()), ("ev.000002".into(), "dd\n".into())]
        );
        assert_eq!(sink.sequence(), 2, "a file under the size is not rotated");
    }

    #[test]
    fn rotates_by_age_and_a_restart_takes_the_next_number() {
        let dir = tempfile::tempdir().unwrap();
        let config = FileConfig { rotate_interval: Some(Duration::ZERO), ..FileConfig::new(dir.path().join("ev")) };
        let mut sink = FileSink::open(config.clone(), 0).unwrap();
        sink.send(batch(&["1\n"], 1)).unwrap();
        sink.send(batch(&["2\n"], 2)).unwrap();
        drop(sink);
        let mut again = FileSink::open(config, 2).unwrap();
        assert_eq!(again.current_path(), dir.path().join("ev.000003"));
        again.send(batch(&["3\n"], 3)).unwrap();
        // The next file is created by the next write, so none is left empty.
        let contents: Vec<String> = files(dir.path()).into_iter().map(|f| f.1).collect();
        assert_eq!(contents, ["1\n", "2\n", "3\n"]);
        assert_eq!(again.sequence(), 4);
    }

    #[test]
    fn a_restart_cuts_the_unfinished_line_off_the_last_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("ev");
        std::fs::write(segments::segment_path(&base, 4), b"{\"a\":1}\n{\"b\"").unwrap();
        let sink = FileSink::open(FileConfig { units: Some(UnitForm::Lines), ..FileConfig::new(&base) }, 0).unwrap();
        assert_eq!(sink.sequence(), 5);
        assert_eq!(std::fs::read(segments::segment_path(&base, 4)).unwrap(), b"{\"a\":1}\n");
    }

    #[test]
    fn everysec_delivers_only_what_was_fsynced() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FileSink::open(FileConfig::new(dir.path().join("ev")), 100).unwrap();
        sink.send(batch(&["x\n"], 150)).unwrap();
        assert_eq!(sink.flush().unwrap(), 100, "written, not yet fsynced");
        sink.last_sync -= EVERY_SEC;
        assert_eq!(sink.flush().unwrap(), 150);
        // Offsets that add no bytes (pings) are delivered at once: nothing is left unsynced.
        sink.send(batch(&[], 170)).unwrap();
        assert_eq!(sink.flush().unwrap(), 170);
    }

    #[test]
    fn always_and_no_deliver_at_each_flush() {
        for fsync in [FsyncPolicy::Always, FsyncPolicy::No] {
            let dir = tempfile::tempdir().unwrap();
            let mut sink = FileSink::open(FileConfig { fsync, ..FileConfig::new(dir.path().join("ev")) }, 0).unwrap();
            sink.send(batch(&["x\n"], 9)).unwrap();
            assert_eq!(sink.delivered(), 0);
            assert_eq!(sink.flush().unwrap(), 9, "{fsync}");
        }
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("no/such/dir/ev");
        let err = FileSink::open(FileConfig::new(&base), 0).err().unwrap().to_string();
        assert!(err.contains("no/such/dir"), "{err}");
    }
}
