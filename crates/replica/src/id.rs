//! Identifiers: the master's replication ID and transaction IDs.

use std::fmt;
use std::str::FromStr;

/// A replication ID: 40 hex characters naming one history of a master's stream (PSYNC2). On
/// Redis 2.8 to 3.2 the master's run ID fills the same role. It is `Copy`, so each command
/// can carry it for free.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplId([u8; 40]);

impl ReplId {
    pub fn parse(text: &[u8]) -> Option<ReplId> {
        let raw: [u8; 40] = text.try_into().ok()?;
        raw.iter().all(u8::is_ascii_hexdigit).then_some(ReplId(raw))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits get in.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl FromStr for ReplId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReplId::parse(s.as_bytes()).ok_or_else(|| format!("{s:?} is not a replication ID (40 hex characters)"))
    }
}

impl fmt::Display for ReplId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ReplId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplId({})", self.as_str())
    }
}

/// A `MULTI … EXEC` transaction: the offset before its `MULTI`. Unique within one replication
/// history and the same across reconnections, so consumers can group and deduplicate by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub u64);

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
