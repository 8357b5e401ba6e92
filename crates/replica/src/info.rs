//! `INFO replication`, for starting at the master's current position (`--from now`).

use crate::config::{Checkpoint, Start};
use crate::id::ReplId;

/// The fields of `INFO replication` (plus `run_id` from `INFO server`) that say where a
/// master's stream is. Names are the same in Redis and Valkey.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationInfo {
    pub role: Option<String>,
    /// `master_replid`, or on Redis < 4.0 (which has none) `run_id` if the text includes the
    /// server section.
    pub replid: Option<ReplId>,
    pub replid2: Option<ReplId>,
    /// `master_repl_offset`: the offset of the last byte the master produced.
    pub offset: Option<u64>,
    /// `second_repl_offset` (`-1` when there is no second ID).
    pub second_offset: Option<i64>,
    pub backlog_active: Option<bool>,
    pub backlog_first_byte_offset: Option<u64>,
    pub backlog_histlen: Option<u64>,
}

impl ReplicationInfo {
    /// Parses the text of `INFO replication` (or `INFO` / `INFO server replication`).
    pub fn parse(text: &str) -> ReplicationInfo {
        let mut info = ReplicationInfo::default();
        let mut run_id = None;
        for line in text.lines() {
            let Some((key, value)) = line.trim_end_matches('\r').split_once(':') else { continue };
            match key {
                "role" => info.role = Some(value.to_string()),
                "master_replid" => info.replid = ReplId::parse(value.as_bytes()),
                "run_id" => run_id = ReplId::parse(value.as_bytes()),
                // All zeros means "none".
                "master_replid2" => {
                    info.replid2 = ReplId::parse(value.as_bytes()).filter(|id| id.as_bytes().iter().any(|&b| b != b'0'))
                }
                "master_repl_offset" => info.offset = value.parse().ok(),
                "second_repl_offset" => info.second_offset = value.parse().ok(),
                "repl_backlog_active" => info.backlog_active = Some(value == "1"),
                "repl_backlog_first_byte_offset" => info.backlog_first_byte_offset = value.parse().ok(),
                "repl_backlog_histlen" => info.backlog_histlen = value.parse().ok(),
                _ => {}
            }
        }
        if info.replid.is_none() {
            info.replid = run_id;
        }
        info
    }

    /// The start that follows only writes made after this INFO was taken:
    /// `PSYNC <master_replid> <master_repl_offset+1>`. The db is unknown until the master's
    /// next `SELECT` (it is not in INFO). Whether the master can continue there shows in its
    /// reply: with no backlog yet (`repl_backlog_active:0`) it answers `+FULLRESYNC`.
    pub fn start_from_now(&self) -> Result<Start, String> {
        let replid = self.replid.ok_or("INFO has no master_replid (nor run_id): cannot start from now")?;
        let offset = self.offset.ok_or("INFO has no master_repl_offset: cannot start from now")?;
        Ok(Start::Resume(Checkpoint { replid, offset, db: None }))
    }

    /// Whether the backlog still holds the byte after `offset`, so `PSYNC` at `offset+1`
    /// can continue (the master's test, redis 7.4.1 src/replication.c:755-770).
    pub fn backlog_covers(&self, offset: u64) -> bool {
        match (self.backlog_active, self.backlog_first_byte_offset, self.backlog_histlen) {
            (Some(true), Some(first), Some(len)) => first <= offset + 1 && offset < first + len,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO_74: &str = "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\
master_failover_state:no-failover\r\n\
master_replid:8c4e5e1b58cd3ac0ea3a5ab8a4b6ee9b29b3e3a1\r\n\
master_replid2:0000000000000000000000000000000000000000\r\n\
master_repl_offset:12345\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:1\r\n\
repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:1000\r\nrepl_backlog_histlen:11346\r\n";

    #[test]
    fn parses_info_replication() {
        let info = ReplicationInfo::parse(INFO_74);
        assert_eq!(info.role.as_deref(), Some("master"));
        assert_eq!(info.replid.unwrap().as_str(), "8c4e5e1b58cd3ac0ea3a5ab8a4b6ee9b29b3e3a1");
        assert_eq!(info.replid2, None);
        assert_eq!(info.offset, Some(12345));
        assert_eq!(info.second_offset, Some(-1));
        let start = info.start_from_now().unwrap();
        assert_eq!(start.psync_args(), ["8c4e5e1b58cd3ac0ea3a5ab8a4b6ee9b29b3e3a1".to_string(), "12346".to_string()]);
        assert!(info.backlog_covers(12345));
        assert!(info.backlog_covers(999));
        assert!(!info.backlog_covers(998));
    }

    #[test]
    fn old_servers_use_run_id() {
        let text = "# Server\nrun_id:aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd\n# Replication\nrole:master\nmaster_repl_offset:1\nrepl_backlog_active:0\n";
        let info = ReplicationInfo::parse(text);
        assert_eq!(info.replid.unwrap().as_str(), "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd");
        assert!(!info.backlog_covers(1));
        assert!(ReplicationInfo::parse("role:master\n").start_from_now().is_err());
    }
}
