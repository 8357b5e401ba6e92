//! [`CheckpointStore`]: where a follower saves how far its sink has durably delivered, so a
//! restart resumes there with `PSYNC <replid> <offset+1>` instead of a new full sync.
//!
//! The file is a few lines of text, readable and editable by hand:
//!
//! ```text
//! redtail-checkpoint 1
//! replid 8c4e5e1b58cd3ac0ea3a5ab8a4b6ee9b29b3e3a1
//! offset 12345
//! db 0
//! ```
//!
//! `db` is the db selected at that offset (`none` when not yet known): the master does not
//! resend `SELECT` on `+CONTINUE`, so it has to be remembered.
//!
//! A save never leaves a torn file behind, even on power loss: the new content is written to
//! a temporary file in the same directory, fsynced, renamed over the old one (atomic on POSIX),
//! and the directory is fsynced so the rename itself is durable.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The first line of a checkpoint file, with the format version.
const MAGIC: &str = "redtail-checkpoint";
const VERSION: u32 = 1;

/// A position in a master's replication history: everything up to `offset` is delivered.
///
/// The replication crate has a `Checkpoint` of its own with a typed replication ID; this one
/// is the stored form. The sink crate may not depend on the replication crate (no arrow runs
/// back up), so the binary converts between the two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// 40 hex characters.
    pub replid: String,
    pub offset: u64,
    pub db: Option<u64>,
}

/// Loads and saves one checkpoint file.
#[derive(Clone, Debug)]
pub struct CheckpointStore {
    path: PathBuf,
}

impl CheckpointStore {
    pub fn new(path: impl Into<PathBuf>) -> CheckpointStore {
        CheckpointStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved checkpoint, `None` if there is no file yet, and an error naming the line if
    /// the file is there but not a valid checkpoint.
    pub fn load(&self) -> Result<Option<Checkpoint>, Error> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == ErrorKind::InvalidData => return Err(self.corrupt(1, "not UTF-8 text".into())),
            Err(source) => return Err(Error::CheckpointIo { path: self.path.clone(), action: "read it", source }),
        };
        parse(&text).map(Some).map_err(|(line, reason)| self.corrupt(line, reason))
    }

    /// Replaces the saved checkpoint atomically and durably.
    pub fn save(&self, checkpoint: &Checkpoint) -> Result<(), Error> {
        if !is_replid(&checkpoint.replid) {
            return Err(self.corrupt(0, format!("refusing to save the replication ID {:?}", checkpoint.replid)));
        }
        let io = |action, source| Error::CheckpointIo { path: self.path.clone(), action, source };
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .ok_or_else(|| io("save it", std::io::Error::new(ErrorKind::InvalidInput, "the path names no file")))?;
        let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
        let result = (|| {
            let mut file = File::create(&tmp).map_err(|e| io("create a temporary file next to it", e))?;
            file.write_all(format(checkpoint).as_bytes()).map_err(|e| io("write it", e))?;
            file.sync_all().map_err(|e| io("fsync it", e))?;
            fs::rename(&tmp, &self.path).map_err(|e| io("rename the temporary file over it", e))?;
            sync_dir(&dir).map_err(|e| io("fsync its directory", e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn corrupt(&self, line: usize, reason: String) -> Error {
        Error::CorruptCheckpoint { path: self.path.clone(), line, reason }
    }
}

pub(crate) fn format(cp: &Checkpoint) -> String {
    let db = cp.db.map_or_else(|| "none".to_string(), |db| db.to_string());
    format!("{MAGIC} {VERSION}\nreplid {}\noffset {}\ndb {db}\n", cp.replid, cp.offset)
}

/// Parses the file; an error is `(line number, reason)`.
pub(crate) fn parse(text: &str) -> Result<Checkpoint, (usize, String)> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    match lines.next() {
        Some((_, header)) if header.split_once(' ').is_some_and(|(m, _)| m == MAGIC) => {
            let version = &header[MAGIC.len() + 1..];
            if version != VERSION.to_string() {
                return Err((1, format!("format version {version:?}; this redtail reads version {VERSION}")));
            }
        }
        _ => return Err((1, format!("expected the header \"{MAGIC} {VERSION}\""))),
    }
    let (mut replid, mut offset, mut db) = (None, None, None);
    let mut last = 1;
    for (n, line) in lines {
        last = n;
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(' ').ok_or((n, format!("expected \"key value\", found {line:?}")))?;
        match key {
            "replid" if is_replid(value) => replid = Some(value.to_string()),
            "replid" => return Err((n, format!("the replication ID {value:?} is not 40 hex characters"))),
            "offset" => offset = Some(value.parse::<u64>().map_err(|_| (n, format!("bad offset {value:?}")))?),
            "db" if value == "none" => db = Some(None),
            "db" => db = Some(Some(value.parse::<u64>().map_err(|_| (n, format!("bad db {value:?}")))?)),
            _ => return Err((n, format!("unknown field {key:?}"))),
        }
    }
    let missing = |field| (last + 1, format!("the file ends without the {field} line (truncated?)"));
    Ok(Checkpoint {
        replid: replid.ok_or_else(|| missing("replid"))?,
        offset: offset.ok_or_else(|| missing("offset"))?,
        db: db.ok_or_else(|| missing("db"))?,
    })
}

pub(crate) fn is_replid(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Makes a rename in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "8c4e5e1b58cd3ac0ea3a5ab8a4b6ee9b29b3e3a1";

    #[test]
    fn round_trips_through_the_text_form() {
        for db in [Some(0), Some(15), None] {
            let cp = Checkpoint { replid: ID.into(), offset: 1 << 40, db };
            assert_eq!(parse(&format(&cp)), Ok(cp));
        }
    }

    #[test]
    fn errors_name_the_line() {
        let err = |text: &str| parse(text).unwrap_err();
        assert_eq!(err("").0, 1);
        assert_eq!(err("redtail-checkpoint 2\n").0, 1);
        assert!(err("redtail-checkpoint 2\n").1.contains("version"));
        assert_eq!(err(&format!("redtail-checkpoint 1\nreplid {ID}\noffset x\ndb 0\n")).0, 3);
        assert_eq!(err("redtail-checkpoint 1\nreplid abc\n").0, 2);
        assert_eq!(
            err(&format!("redtail-checkpoint 1\nreplid {ID}\noffset 5\n")),
            (4, "the file ends without the db line (truncated?)".into())
        );
        assert_eq!(err(&format!("redtail-checkpoint 1\nreplid {ID}\nofset 5\n")).0, 3);
    }
}
