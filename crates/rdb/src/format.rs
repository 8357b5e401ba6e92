//! Which dialect of RDB a file is written in.
//!
//! Redis and Valkey share version numbers up to 11 and then diverge: Redis 12/13 and Valkey 80
//! give type 22 and opcode 243 different meanings, so every dispatch keys on the pair
//! (family, version), never on the version alone.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Redis,
    Valkey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    pub family: Family,
    pub version: u32,
}

/// The newest Redis RDB version this decoder understands fully.
pub const REDIS_MAX_VERSION: u32 = 12;
/// Redis 8.6 writes 13; its new type 26 and opcode KEY_META are rejected by name until their
/// layout is confirmed from the Redis source.
pub const REDIS_PARTIAL_VERSION: u32 = 13;
pub const VALKEY_VERSION: u32 = 80;

impl Format {
    /// Parses the 9-byte magic. `None` means it is neither `REDISnnnn` nor `VALKEYnnn`.
    pub fn from_magic(magic: &[u8; 9]) -> Option<Format> {
        let digits = |s: &[u8]| -> Option<u32> {
            if s.iter().all(u8::is_ascii_digit) {
                std::str::from_utf8(s).ok()?.parse().ok()
            } else {
                None
            }
        };
        if &magic[..5] == b"REDIS" {
            Some(Format { family: Family::Redis, version: digits(&magic[5..])? })
        } else if &magic[..6] == b"VALKEY" {
            Some(Format { family: Family::Valkey, version: digits(&magic[6..])? })
        } else {
            None
        }
    }

    /// Whether this decoder accepts the file. Valkey ≥ 9 writes `VALKEY080`; Valkey ≤ 8 and all
    /// of Redis write `REDIS00nn`.
    pub fn is_supported(&self) -> bool {
        match self.family {
            Family::Redis => (1..=REDIS_PARTIAL_VERSION).contains(&self.version),
            Family::Valkey => self.version == VALKEY_VERSION,
        }
    }

    pub fn is_valkey(&self) -> bool {
        self.family == Family::Valkey
    }

    /// Whether 8-byte millisecond times and 64-bit lengths exist (RDB ≥ 8, and all of Valkey).
    pub fn at_least(&self, redis_version: u32) -> bool {
        match self.family {
            Family::Redis => self.version >= redis_version,
            // Valkey 80 carries everything Redis 11 had.
            Family::Valkey => redis_version <= 11,
        }
    }

    /// Whether the file ends with an 8-byte CRC64 (RDB ≥ 5).
    pub fn has_checksum(&self) -> bool {
        self.at_least(5)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family {
            Family::Redis => write!(f, "REDIS{:04}", self.version),
            Family::Valkey => write!(f, "VALKEY{:03}", self.version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic() {
        assert_eq!(Format::from_magic(b"REDIS0012"), Some(Format { family: Family::Redis, version: 12 }));
        assert_eq!(Format::from_magic(b"VALKEY080"), Some(Format { family: Family::Valkey, version: 80 }));
        let future = Format::from_magic(b"VALKEY987").unwrap();
        assert!(!future.is_supported());
        assert!(!Format::from_magic(b"REDIS0014").unwrap().is_supported());
        assert_eq!(Format::from_magic(b"RADIS0001"), None);
        assert_eq!(Format::from_magic(b"REDIS00x1"), None);
    }
}
