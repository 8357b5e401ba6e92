//! The names of a file sink's files: `PATH.000001`, `PATH.000002`, ... A sequence number,
//! zero-padded to six digits, sorts the files in the order they were written (with `ls`, a
//! glob, or any sort by name) and never collides with an earlier run's: a new run, or a
//! rotation, always takes the number after the highest one present. Past 999999 the number
//! simply grows a digit; sort numerically (`sort -t. -k2n` or `ls -v`) if you get there.

use std::ffi::OsString;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The file with sequence number `seq` of the sink writing to `base`.
pub fn segment_path(base: &Path, seq: u64) -> PathBuf {
    let mut name = OsString::from(base.as_os_str());
    name.push(format!(".{seq:06}"));
    PathBuf::from(name)
}

/// The directory the files live in (`.` for a bare file name).
pub fn directory(base: &Path) -> PathBuf {
    match base.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The highest sequence number among the files already written for `base`, if any.
pub fn last_segment(base: &Path) -> Result<Option<u64>, Error> {
    let dir = directory(base);
    let io = |action, source| Error::FileIo { path: dir.clone(), action, source };
    let Some(stem) = base.file_name().and_then(|n| n.to_str()) else {
        return Err(Error::FileIo {
            path: base.to_path_buf(),
            action: "use it as a file name",
            source: std::io::Error::new(ErrorKind::InvalidInput, "the path must end in a UTF-8 file name"),
        });
    };
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(source) => return Err(io("list the directory", source)),
    };
    let mut last = None;
    for entry in entries {
        let entry = entry.map_err(|source| io("list the directory", source))?;
        let name = entry.file_name();
        let Some(seq) = name.to_str().and_then(|n| sequence_of(n, stem)) else { continue };
        last = last.max(Some(seq));
    }
    Ok(last)
}

/// The sequence number in `name` if it is one of `stem`'s files (`stem.` and six or more
/// digits).
fn sequence_of(name: &str, stem: &str) -> Option<u64> {
    let digits = name.strip_prefix(stem)?.strip_prefix('.')?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_in_sequence_order() {
        let base = Path::new("/var/lib/redtail/events.jsonl");
        let names: Vec<PathBuf> = [1, 2, 10, 999_999].iter().map(|&s| segment_path(base, s)).collect();
        assert_eq!(names[0], Path::new("/var/lib/redtail/events.jsonl.000001"));
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, names);
        assert_eq!(directory(Path::new("events")), Path::new("."));
    }

    #[test]
    fn only_the_sinks_own_files_count() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("out");
        assert_eq!(last_segment(&base).unwrap(), None);
        for name in ["out.000003", "out.000012", "out.12", "out.00000x", "outer.000099", "out", "other.000050"] {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        assert_eq!(last_segment(&base).unwrap(), Some(12));
        assert_eq!(sequence_of("out.1000000", "out"), Some(1_000_000));
    }
}
