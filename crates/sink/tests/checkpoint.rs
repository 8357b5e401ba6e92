//! The checkpoint store on a real file system: saves are atomic (a reader never sees a torn
//! file, a failed save leaves the old checkpoint), and a damaged file is a clear error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sink::{Checkpoint, CheckpointStore, Error};

const ID: &str = "0123456789abcdef0123456789abcdef01234567";

fn cp(offset: u64) -> Checkpoint {
    Checkpoint { replid: ID.into(), offset, db: Some(offset % 16) }
}

#[test]
fn missing_file_is_no_checkpoint_and_saves_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::new(dir.path().join("follow.checkpoint"));
    assert_eq!(store.load().unwrap(), None);
    store.save(&cp(42)).unwrap();
    assert_eq!(store.load().unwrap(), Some(cp(42)));
    store.save(&Checkpoint { db: None, ..cp(43) }).unwrap();
    assert_eq!(store.load().unwrap(), Some(Checkpoint { db: None, ..cp(43) }));
    // Only the checkpoint is left: no temporary files.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec!["follow.checkpoint"]);
}

/// A reader loading while a writer saves in a loop sees one whole checkpoint or another,
/// never a torn or empty file.
#[test]
fn concurrent_readers_never_see_a_torn_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp");
    CheckpointStore::new(&path).save(&cp(0)).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, done) = (path.clone(), done.clone());
        std::thread::spawn(move || {
            let store = CheckpointStore::new(path);
            let mut loads = 0;
            let mut last = 0;
            while !done.load(Ordering::SeqCst) {
                let got = store.load().expect("always a whole checkpoint").expect("always present");
                assert!(got.offset >= last, "offsets only move forward");
                assert_eq!(got, cp(got.offset));
                last = got.offset;
                loads += 1;
            }
            loads
        })
    };
    let store = CheckpointStore::new(&path);
    for offset in 1..=300 {
        store.save(&cp(offset)).unwrap();
    }
    done.store(true, Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(store.load().unwrap(), Some(cp(300)));
}

/// A save that fails part-way leaves the previous checkpoint in place, and the error names
/// the file.
#[test]
fn a_failed_save_keeps_the_old_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp");
    let store = CheckpointStore::new(&path);
    store.save(&cp(7)).unwrap();
    // Block the temporary file's name with a directory.
    std::fs::create_dir(dir.path().join(".cp.tmp")).unwrap();
    let err = store.save(&cp(8)).unwrap_err();
    assert!(matches!(err, Error::CheckpointIo { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert_eq!(store.load().unwrap(), Some(cp(7)));
    // A save into a directory that does not exist fails the same clear way.
    let nowhere = CheckpointStore::new(dir.path().join("no/such/dir/cp"));
    assert!(nowhere.save(&cp(1)).unwrap_err().to_string().contains("no/such/dir/cp"));
}

/// A temporary file left by a crash in the middle of a save does not affect loading.
#[test]
fn a_leftover_temporary_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::new(dir.path().join("cp"));
    store.save(&cp(9)).unwrap();
    std::fs::write(dir.path().join(".cp.tmp"), "redtail-checkpoint 1\nrepl").unwrap();
    assert_eq!(store.load().unwrap(), Some(cp(9)));
    store.save(&cp(10)).unwrap();
    assert_eq!(store.load().unwrap(), Some(cp(10)));
}

#[test]
fn damaged_files_are_errors_that_name_the_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp");
    let store = CheckpointStore::new(&path);
    let cases: &[(&[u8], usize, &str)] = &[
        (b"", 1, "header"),
        (b"{\"offset\": 5}\n", 1, "header"),
        (b"redtail-checkpoint 9\nreplid x\n", 1, "version"),
        (b"redtail-checkpoint 1\nreplid 0123\noffset 1\ndb 0\n", 2, "40 hex"),
        (b"redtail-checkpoint 1\nreplid 0123456789abcdef0123456789abcdef01234567\noffset -1\ndb 0\n", 3, "bad offset"),
        (b"redtail-checkpoint 1\nreplid 0123456789abcdef0123456789abcdef01234567\noffset 1\ndb zero\n", 4, "bad db"),
        // Truncated in the middle of a save by something other than redtail.
        (b"redtail-checkpoint 1\nreplid 0123456789abcdef0123456789abcdef01234567\noff", 3, "expected"),
        (b"redtail-checkpoint 1\nreplid 0123456789abcdef0123456789abcdef01234567\n", 3, "truncated"),
        (b"redtail-checkpoint 1\n\xff\xfe\n", 1, "UTF-8"),
    ];
    for (content, line, says) in cases {
        std::fs::write(&path, content).unwrap();
        let err = store.load().unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::CorruptCheckpoint { line: l, .. } if l == *line), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains(&format!("line {line}")) && text.contains(says), "{says:?} in {text}");
    }
}
