//! Server versions, parsed from `--version` (before start, to choose flags) and from
//! `INFO server` (what tests see).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Redis,
    Valkey,
}

/// A server's product and version. Valkey reports `redis_version:7.2.4` for client
/// compatibility; this holds its own `valkey_version` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub product: Product,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// True when this version is `major.minor.patch` or later (within its product).
    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    /// From `redis-server --version`: `Redis server v=7.4.1 sha=...` or `Valkey server v=9.1.2 ...`.
    pub(crate) fn from_version_output(out: &str) -> Option<Version> {
        let product = if out.starts_with("Valkey") { Product::Valkey } else { Product::Redis };
        let v = out.split_whitespace().find_map(|w| w.strip_prefix("v="))?;
        Self::parse(product, v)
    }

    /// From the text of `INFO server`.
    pub(crate) fn from_info(info: &str) -> Option<Version> {
        let field = |name: &str| {
            info.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':'))).map(str::trim)
        };
        match field("valkey_version") {
            Some(v) => Self::parse(Product::Valkey, v),
            None => Self::parse(Product::Redis, field("redis_version")?),
        }
    }

    fn parse(product: Product, text: &str) -> Option<Version> {
        let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().flatten().unwrap_or(0);
        Some(Version { product, major, minor, patch })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.product {
            Product::Redis => "Redis",
            Product::Valkey => "Valkey",
        };
        write!(f, "{name} {}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_version_output() {
        let v =
            Version::from_version_output("Redis server v=2.8.17 sha=00000000:0 malloc=libc bits=64 build=1").unwrap();
        assert_eq!((v.product, v.major, v.minor, v.patch), (Product::Redis, 2, 8, 17));
        let v = Version::from_version_output("Valkey server v=9.1.2 sha=00000000:0 malloc=jemalloc-5.3.0").unwrap();
        assert_eq!(v.product, Product::Valkey);
        assert!(v.at_least(9, 1, 0) && !v.at_least(9, 2, 0));
    }

    #[test]
    fn info_prefers_valkey_version() {
        let info = "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:9.1.2\r\n";
        assert_eq!(Version::from_info(info).unwrap().to_string(), "Valkey 9.1.2");
        assert_eq!(Version::from_info("redis_version:6.2.14\r\n").unwrap().to_string(), "Redis 6.2.14");
    }
}
