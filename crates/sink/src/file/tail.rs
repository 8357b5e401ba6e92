//! What a crash can leave at the end of the previous run's last file, and its repair.
//!
//! The writers hand the file whole units, but a kill can land between two writes of one
//! transaction (its `MULTI` and first commands written, its `EXEC` not), and a power cut with
//! `--fsync no` can leave a unit cut short. None of that was delivered (a transaction counts
//! only from its `EXEC`, a unit only once written whole), so the resumed run writes it again
//! into its new file. Left in place, the old file's tail would make `redis-check-aof` reject
//! the files and a JSON reader choke on half a line, so [`repair`] cuts it off: to the last
//! newline for JSON lines, to the last whole command outside an unfinished `MULTI` for RESP.
//! A file that is malformed elsewhere is left as it is (it is not this sink's to fix).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// How the units in a file are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitForm {
    /// Newline-terminated lines (JSON lines).
    Lines,
    /// RESP commands (arrays of bulk strings), with `MULTI` ... `EXEC`/`DISCARD` groups.
    Resp,
}

/// Truncates `path` to its whole units; returns how many bytes were cut. A file that is not
/// in `form` before its end is an `InvalidData` error, and is left as it is.
pub fn repair(path: &Path, form: UnitForm) -> io::Result<u64> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let whole = match form {
        UnitForm::Lines => whole_lines(&mut file, len)?,
        UnitForm::Resp => whole_commands(BufReader::with_capacity(64 << 10, &mut file))?,
    };
    if whole < len {
        file.set_len(whole)?;
        file.sync_all()?;
    }
    Ok(len - whole)
}

/// The length up to and including the last newline, reading backwards in blocks.
fn whole_lines(file: &mut File, len: u64) -> io::Result<u64> {
    const BLOCK: u64 = 64 << 10;
    let mut end = len;
    let mut buf = vec![0; BLOCK as usize];
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let block = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(block)?;
        if let Some(i) = block.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The length of the whole commands, not counting a `MULTI` with no `EXEC` or `DISCARD` after
/// it. Values are skipped, not read, so a large one costs no memory.
fn whole_commands<R: BufRead>(mut r: R) -> io::Result<u64> {
    let mut good = 0u64;
    let mut multi_at = None;
    loop {
        let start = good;
        let Some(count) = header(&mut r, b'*')? else { break };
        let mut first = Vec::new();
        let mut pos = start + count.1;
        let mut complete = true;
        for i in 0..count.0 {
            let Some((len, used)) = header(&mut r, b'$')? else {
                complete = false;
                break;
            };
            pos += used;
            if i == 0 && len <= 8 {
                first.resize(len as usize, 0);
                if r.read_exact(&mut first).is_err() {
                    complete = false;
                    break;
                }
            } else if !skip(&mut r, len)? {
                complete = false;
                break;
            }
            let mut crlf = [0; 2];
            if r.read_exact(&mut crlf).is_err() {
                complete = false;
                break;
            }
            if crlf != *b"\r\n" {
                return Err(not_commands());
            }
            pos += len + 2;
        }
        if !complete {
            break;
        }
        good = pos;
        match first.to_ascii_uppercase().as_slice() {
            b"MULTI" => multi_at = Some(start),
            b"EXEC" | b"DISCARD" => multi_at = None,
            _ => {}
        }
    }
    Ok(multi_at.unwrap_or(good))
}

/// Reads a `*N\r\n` or `$N\r\n` line: `Some((N, bytes used))`, `None` at the end of the
/// input (also in the middle of the line). Anything else is not a command stream.
fn header<R: BufRead>(r: &mut R, kind: u8) -> io::Result<Option<(u64, u64)>> {
    let mut line = Vec::with_capacity(24);
    // A length line is short; reading at most 32 bytes keeps garbage from growing `line`.
    r.by_ref().take(32).read_until(b'\n', &mut line)?;
    let Some(body) = line.strip_suffix(b"\r\n") else {
        // Cut short by the end of the input, or not a length line at all.
        return if line.len() >= 32 || line.ends_with(b"\n") { Err(not_commands()) } else { Ok(None) };
    };
    let n = body
        .strip_prefix(&[kind])
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|d| d.parse::<u64>().ok())
        .ok_or_else(not_commands)?;
    Ok(Some((n, line.len() as u64)))
}

fn not_commands() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "not a RESP command stream")
}

/// Skips `n` bytes; false if the input ends first.
fn skip<R: BufRead>(r: &mut R, n: u64) -> io::Result<bool> {
    Ok(io::copy(&mut r.by_ref().take(n), &mut io::sink())? == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired(content: &[u8], form: UnitForm) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, content).unwrap();
        let cut = repair(&path, form).unwrap();
        let after = std::fs::read(&path).unwrap();
        assert_eq!(cut as usize, content.len() - after.len());
        after
    }

    #[test]
    fn lines_keep_up_to_the_last_newline() {
        assert_eq!(repaired(b"{\"a\":1}\n{\"b\":", UnitForm::Lines), b"{\"a\":1}\n");
        assert_eq!(repaired(b"{\"a\":1}\n", UnitForm::Lines), b"{\"a\":1}\n");
        assert_eq!(repaired(b"no newline", UnitForm::Lines), b"");
        let long = [vec![b'x'; 200_000], b"\n".to_vec(), vec![b'y'; 100_000]].concat();
        assert_eq!(repaired(&long, UnitForm::Lines).len(), 200_001);
    }

    const SET: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";

    #[test]
    fn resp_keeps_whole_commands_outside_an_open_multi() {
        let whole = [SET, b"*1\r\n$5\r\nMULTI\r\n", SET, b"*1\r\n$4\r\nEXEC\r\n"].concat();
        assert_eq!(repaired(&whole, UnitForm::Resp), whole);
        let cut_value = [&whole[..], &SET[..SET.len() - 3]].concat();
        assert_eq!(repaired(&cut_value, UnitForm::Resp), whole);
        let cut_header = [&whole[..], b"*3\r\n$3"].concat();
        assert_eq!(repaired(&cut_header, UnitForm::Resp), whole);
        let open_multi = [&whole[..], b"*1\r\n$5\r\nmulti\r\n", SET].concat();
        assert_eq!(repaired(&open_multi, UnitForm::Resp), whole);
        let discarded = [&whole[..], b"*1\r\n$5\r\nMULTI\r\n", SET, b"*1\r\n$7\r\nDISCARD\r\n"].concat();
        assert_eq!(repaired(&discarded, UnitForm::Resp), discarded);
    }

    #[test]
    fn a_file_that_is_not_commands_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello world\r\n*1\r\n").unwrap();
        assert!(repair(&path, UnitForm::Resp).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world\r\n*1\r\n");
    }
}
