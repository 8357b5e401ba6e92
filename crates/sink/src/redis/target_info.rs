//! Which server the target is, from its `INFO server`: what the snapshot may use depends on it
//! (`RESTORE` payloads it can read, command options it knows).

use std::fmt;

use rdb::{Family, Format, RestoreTarget};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    Redis,
    Valkey,
}

/// The target's product and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetInfo {
    pub product: Product,
    pub version: (u32, u32, u32),
}

impl TargetInfo {
    /// Reads `INFO server`. Valkey 8+ says `server_name:valkey` and `valkey_version`; Valkey 7.2
    /// presents itself as Redis 7.2.4, which it is compatible with.
    pub fn parse(info: &str) -> Option<TargetInfo> {
        let field = |name: &str| {
            info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(|v| v.trim().to_string())
        };
        let valkey = field("valkey_version").or_else(|| {
            field("server_name").filter(|n| n.eq_ignore_ascii_case("valkey")).and_then(|_| field("redis_version"))
        });
        let (product, text) = match valkey {
            Some(v) => (Product::Valkey, v),
            None => (Product::Redis, field("redis_version")?),
        };
        let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
        let mut next = || parts.next().flatten().unwrap_or(0);
        Some(TargetInfo { product, version: (next(), next(), next()) })
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.version.0, self.version.1) >= (major, minor)
    }

    /// The RDB format the target writes, and so the newest it reads: the snapshot's commands
    /// and `RESTORE` payloads must not need more.
    pub fn rdb_format(&self) -> Format {
        let version = self.restore_target().rdb_version;
        // Valkey 7.2 and 8 write Redis 7.2's RDB 11; Valkey 9 its own numbers, from 80.
        let family = if version >= 80 { Family::Valkey } else { Family::Redis };
        Format { family, version }
    }

    /// The target as the `RESTORE` writer sees it: which payloads it reads.
    pub fn restore_target(&self) -> RestoreTarget {
        let family = match self.product {
            Product::Redis => Family::Redis,
            Product::Valkey => Family::Valkey,
        };
        RestoreTarget::new(family, self.version.0, self.version.1)
    }
}

impl fmt::Display for TargetInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.version;
        let name = match self.product {
            Product::Redis => "Redis",
            Product::Valkey => "Valkey",
        };
        write!(f, "{name} {a}.{b}.{c}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_redis_and_valkey_apart_and_knows_their_formats() {
        let redis62 = TargetInfo::parse("# Server\r\nredis_version:6.2.14\r\nredis_mode:standalone\r\n").unwrap();
        assert_eq!(redis62, TargetInfo { product: Product::Redis, version: (6, 2, 14) });
        assert_eq!(redis62.rdb_format(), Format { family: Family::Redis, version: 9 });
        let valkey9 =
            TargetInfo::parse("redis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:9.0.1\r\n").unwrap();
        assert_eq!(valkey9.to_string(), "Valkey 9.0.1");
        assert_eq!(valkey9.rdb_format(), Format { family: Family::Valkey, version: 80 });
        let redis74 = TargetInfo::parse("redis_version:7.4.2\r\n").unwrap();
        assert_eq!(redis74.rdb_format().version, 12);
        assert!(TargetInfo::parse("# Server\r\n").is_none());
    }
}
