//! DUMP payloads, the form `RESTORE` takes, and which servers can read one.
//!
//! A payload is a key's serialized value as an RDB file holds it (the type byte, then the
//! value; see [`crate::Event::RawValue`]), then a footer: the RDB version that wrote it (u16 LE)
//! and the CRC-64/Jones of everything before (u64 LE), the same CRC as the file's checksum
//! (redis src/cluster.c `createDumpPayload`). docs/rdb-format-notes.md §11 has the sources.
//!
//! `RESTORE` checks the footer before it reads the value (`verifyDumpPayload`): Redis refuses a
//! version newer than its own, and Valkey 9 also refuses the versions Redis 7.4+ writes (12–79,
//! "foreign"). Within an accepted version the loader dispatches on the type byte alone, so a
//! payload is readable exactly when the footer passes and the target gives the type byte the
//! same meaning (Redis and Valkey differ from 22 on). Everything else must be rebuilt with
//! commands.

use crate::crc64::Crc64;
use crate::format::{Family, Format};

/// The first RDB version Valkey writes (`VALKEY080`, Valkey 9.0). Versions 12 to 79 are
/// "foreign" to Valkey: Redis' numbers, with types Valkey does not share.
const VALKEY_FIRST_OWN_VERSION: u32 = 80;

/// The server `RESTORE` is sent to, as far as payloads are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoreTarget {
    pub family: Family,
    /// The release, `major.minor`.
    pub release: (u32, u32),
    /// The RDB version the release writes, and so the newest it reads.
    pub rdb_version: u32,
}

impl RestoreTarget {
    /// A target by release. Releases newer than this table are taken to read what the newest
    /// known one reads, which can only send more keys the slower, always-correct way.
    pub fn new(family: Family, major: u32, minor: u32) -> RestoreTarget {
        let rdb_version = match family {
            // The version each release's DUMP writes (checked against real servers in
            // crates/event/tests/restore.rs).
            Family::Redis => match (major, minor) {
                (0..=2, _) => 6,
                (3, 0..=1) => 6,
                (3, _) => 7,
                (4, _) => 8,
                (5..=6, _) => 9,
                (7, 0..=1) => 10,
                (7, 2..=3) => 11,
                (7, _) | (8, 0..=5) => 12,
                _ => 13,
            },
            Family::Valkey => match major {
                0..=8 => 11,
                _ => VALKEY_FIRST_OWN_VERSION,
            },
        };
        RestoreTarget { family, release: (major, minor), rdb_version }
    }

    /// From the text of `INFO server`. Valkey reports `redis_version:7.2.4` for client
    /// compatibility, so its own `valkey_version` (or `server_name:valkey`) decides.
    pub fn from_info(info: &str) -> Option<RestoreTarget> {
        let field = |name: &str| {
            info.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':'))).map(str::trim)
        };
        let (family, version) = match field("valkey_version") {
            Some(v) => (Family::Valkey, v),
            None => (Family::Redis, field("redis_version")?),
        };
        let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        Some(RestoreTarget::new(family, major, minor))
    }

    /// The RDB format the target itself writes: what its commands and types are measured by.
    pub fn format(&self) -> Format {
        Format { family: self.family, version: self.rdb_version }
    }

    /// Whether `RESTORE` takes `ABSTTL`, `IDLETIME` and `FREQ` (Redis 5.0; every Valkey).
    /// Without them, the writer restores with no TTL and sets the expiry after.
    pub fn has_restore_options(&self) -> bool {
        self.family == Family::Valkey || self.release >= (5, 0)
    }

    /// Whether the footer check of `RESTORE` passes for a payload of RDB version `version`.
    pub fn accepts_version(&self, version: u32) -> bool {
        match self.family {
            // Redis < 3.2.1 wanted its own version exactly (redis issue #3218); later ones
            // accept any version up to their own (`rdbver > RDB_VERSION` fails).
            Family::Redis if self.release < (4, 0) => version == self.rdb_version,
            Family::Redis => (1..=self.rdb_version).contains(&version),
            // Valkey 9 `rdbIsVersionAccepted(rdbver, false, false)` in strict mode (the
            // default): not newer than its own, and not foreign. Valkey 8 knows no foreign
            // range, but its own version is 11, below it.
            Family::Valkey => {
                (1..=self.rdb_version).contains(&version) && !(12..VALKEY_FIRST_OWN_VERSION).contains(&version)
            }
        }
    }

    /// Whether this server gives `type_byte` the meaning it has in `source`.
    pub fn knows_type(&self, source: Format, type_byte: u8) -> bool {
        match type_introduced(type_byte, source.family) {
            Some(v) if type_byte >= 22 => source.family == self.family && v <= self.rdb_version,
            Some(v) => v <= self.rdb_version,
            None => false,
        }
    }

    /// Whether `RESTORE` on this server reads a payload of a key of type `type_byte` from an
    /// RDB in `source` format, with the source's version in its footer (as `DUMP` on the
    /// source would write it).
    pub fn reads(&self, source: Format, type_byte: u8) -> bool {
        self.accepts_version(source.version) && self.knows_type(source, type_byte)
    }
}

/// The RDB version that introduced a type byte, in a family; `None` for a byte that is no
/// value type there (8, and Redis 6, a module type no release wrote).
fn type_introduced(type_byte: u8, family: Family) -> Option<u32> {
    Some(match (type_byte, family) {
        (0..=4, _) => 1,
        // Zipmap, ziplists and intset came with Redis 2.2–2.6; every server with RESTORE reads them.
        (9..=13, _) => 1,
        (5 | 7, _) => 8,
        (14, _) => 7,
        (15, _) => 9,
        (16..=19, _) => 10,
        (20 | 21, _) => 11,
        (22..=25, Family::Redis) => 12,
        (22, Family::Valkey) => VALKEY_FIRST_OWN_VERSION,
        _ => return None,
    })
}

/// Ends a DUMP payload: `payload` holds a type byte and value (as [`crate::Event::RawValue`]
/// gives them) and gets the footer of an RDB of `version`, which makes it what `DUMP` on a
/// server of that version returns.
pub fn push_dump_footer(payload: &mut Vec<u8>, version: u32) {
    // RDB versions fit in u16: the largest in use is Valkey's 80.
    payload.extend_from_slice(&(version as u16).to_le_bytes());
    let mut crc = Crc64::new();
    crc.update(payload);
    payload.extend_from_slice(&crc.value().to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    const REDIS: Family = Family::Redis;
    const VALKEY: Family = Family::Valkey;

    fn fmt(family: Family, version: u32) -> Format {
        Format { family, version }
    }

    #[test]
    fn releases_map_to_the_rdb_version_their_dump_writes() {
        // Versions from the `RDB_VERSION` of each release's rdb.h, as docs/rdb-format-notes.md
        // lists them (and as the real-server test reads them from DUMP).
        for (family, major, minor, want) in [
            (REDIS, 2, 8, 6),
            (REDIS, 3, 0, 6),
            (REDIS, 3, 2, 7),
            (REDIS, 4, 0, 8),
            (REDIS, 5, 0, 9),
            (REDIS, 6, 2, 9),
            (REDIS, 7, 0, 10),
            (REDIS, 7, 2, 11),
            (REDIS, 7, 4, 12),
            (REDIS, 8, 2, 12),
            (REDIS, 8, 6, 13),
            (VALKEY, 8, 0, 11),
            (VALKEY, 8, 1, 11),
            (VALKEY, 9, 0, 80),
            (VALKEY, 9, 1, 80),
        ] {
            assert_eq!(RestoreTarget::new(family, major, minor).rdb_version, want, "{family:?} {major}.{minor}");
        }
    }

    #[test]
    fn info_server_names_the_product() {
        let valkey = "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:9.1.2\r\n";
        assert_eq!(RestoreTarget::from_info(valkey), Some(RestoreTarget::new(VALKEY, 9, 1)));
        let redis = "# Server\r\nredis_version:6.2.14\r\nredis_git_sha1:00000000\r\n";
        assert_eq!(RestoreTarget::from_info(redis), Some(RestoreTarget::new(REDIS, 6, 2)));
        assert_eq!(RestoreTarget::from_info("# Server\r\n"), None);
    }

    #[test]
    fn which_payloads_each_target_reads() {
        // (source format, type byte, target, reads?) — from verifyDumpPayload and the type
        // tables (docs/rdb-format-notes.md §11).
        let cases = [
            // Same version: always.
            (fmt(REDIS, 10), 18, (REDIS, 7, 0), true),
            (fmt(VALKEY, 80), 22, (VALKEY, 9, 1), true),
            // Older payloads into newer Redis.
            (fmt(REDIS, 9), 14, (REDIS, 7, 0), true),
            (fmt(REDIS, 9), 0, (REDIS, 8, 2), true),
            // Newer into older: the footer check fails, whatever the type.
            (fmt(REDIS, 10), 0, (REDIS, 6, 2), false),
            (fmt(REDIS, 10), 16, (REDIS, 6, 2), false),
            (fmt(REDIS, 12), 25, (REDIS, 7, 2), false),
            // Old Redis wants its own version exactly.
            (fmt(REDIS, 6), 0, (REDIS, 3, 2), false),
            (fmt(REDIS, 7), 0, (REDIS, 3, 2), true),
            // Valkey 9: Redis ≤ 7.2 payloads yes, Redis 7.4+ (foreign 12) no.
            (fmt(REDIS, 9), 15, (VALKEY, 9, 1), true),
            (fmt(REDIS, 11), 21, (VALKEY, 9, 1), true),
            (fmt(REDIS, 12), 0, (VALKEY, 9, 1), false),
            (fmt(REDIS, 12), 24, (VALKEY, 9, 1), false),
            // Valkey 9 payloads (80) into anything older or into Redis: no.
            (fmt(VALKEY, 80), 0, (VALKEY, 8, 1), false),
            (fmt(VALKEY, 80), 0, (REDIS, 8, 2), false),
            // Valkey 8 writes REDIS0011: Redis 7.2+ and Valkey read it.
            (fmt(REDIS, 11), 20, (REDIS, 7, 4), true),
            (fmt(REDIS, 11), 20, (VALKEY, 8, 0), true),
            // Redis 7.4 hash field TTL types mean something else (or nothing) in Valkey.
            (fmt(REDIS, 12), 22, (VALKEY, 9, 1), false),
            (fmt(REDIS, 12), 25, (REDIS, 8, 2), true),
            // Module values need a server with modules.
            (fmt(REDIS, 8), 7, (REDIS, 3, 2), false),
            (fmt(REDIS, 9), 7, (REDIS, 6, 2), true),
        ];
        for (source, ty, (family, major, minor), want) in cases {
            let target = RestoreTarget::new(family, major, minor);
            assert_eq!(target.reads(source, ty), want, "{source} type {ty} into {family:?} {major}.{minor}");
        }
    }

    #[test]
    fn restore_options_arrived_in_redis_5() {
        assert!(!RestoreTarget::new(REDIS, 3, 2).has_restore_options());
        assert!(RestoreTarget::new(REDIS, 5, 0).has_restore_options());
        assert!(RestoreTarget::new(VALKEY, 8, 0).has_restore_options());
    }

    #[test]
    fn payload_footer() {
        // `DUMP` of SET foo 1 on Redis 3.0.7, quoted in redis issue #3218:
        // "\x00\xc0\x01\x06\x00\xb0\x95\x8f6$T-o".
        let mut out = vec![0x00, 0xc0, 0x01];
        push_dump_footer(&mut out, 6);
        assert_eq!(out, b"\x00\xc0\x01\x06\x00\xb0\x95\x8f6$T-o");
    }
}
