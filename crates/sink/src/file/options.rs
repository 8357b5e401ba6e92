//! The file sink's options as users write them: sizes with Redis's units (`256mb`), intervals
//! (`1h`), and the fsync policy named as Redis's `appendfsync` names it. The command line and
//! the configuration file both parse through here, so they accept the same spellings.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// When written data is forced to disk, and so when it counts as delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync at every flush (once per read burst): delivered means on disk.
    Always,
    /// fsync at the first flush at least a second after the last one: delivered means on
    /// disk, and it trails the written data by about a second.
    #[default]
    EverySec,
    /// Never fsync: delivered means handed to the operating system, which survives a crash of
    /// redtail but not of the machine.
    No,
}

impl FromStr for FsyncPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "everysec" => Ok(FsyncPolicy::EverySec),
            "no" => Ok(FsyncPolicy::No),
            _ => Err(format!("{s:?}: expected always, everysec or no")),
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        })
    }
}

/// A byte count with Redis's configuration units, any case: `k` is 1000 and `kb` 1024, and
/// likewise `m`/`mb` and `g`/`gb`; no unit means bytes. Zero is refused (a file could never
/// hold anything).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let digits = lower.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = lower.split_at(digits);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1000 * 1000,
        "mb" => 1 << 20,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1 << 30,
        _ => return Err(format!("{s:?}: expected a number of bytes with an optional unit k, kb, m, mb, g or gb")),
    };
    let n: u64 = number.parse().map_err(|_| format!("{s:?}: expected a number of bytes, e.g. 256mb"))?;
    match n.checked_mul(multiplier) {
        Some(0) => Err(format!("{s:?}: a file size must be more than 0")),
        Some(bytes) => Ok(bytes),
        None => Err(format!("{s:?}: too large")),
    }
}

/// A whole number of seconds (`s`), minutes (`m`), hours (`h`) or days (`d`), e.g. `90s` or
/// `1h`; at least one second.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = t.split_at(digits);
    let seconds: u64 = match unit.to_ascii_lowercase().as_str() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("{s:?}: expected a number with a unit s, m, h or d, e.g. 1h")),
    };
    let n: u64 = number.parse().map_err(|_| format!("{s:?}: expected a number with a unit, e.g. 15m"))?;
    match n.checked_mul(seconds) {
        Some(0) => Err(format!("{s:?}: an interval must be at least 1s")),
        Some(total) => Ok(Duration::from_secs(total)),
        None => Err(format!("{s:?}: too large")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_redis_units() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("1k"), Ok(1000));
        assert_eq!(parse_size("1KB"), Ok(1024));
        assert_eq!(parse_size("256mb"), Ok(256 << 20));
        assert_eq!(parse_size("2G"), Ok(2_000_000_000));
        assert_eq!(parse_size("1gb"), Ok(1 << 30));
        for bad in ["", "mb", "0", "0kb", "1.5mb", "-1", "1tb", "99999999999999999999", "18446744073709551615gb"] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn intervals_need_a_unit() {
        assert_eq!(parse_interval("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_interval("1H"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_interval("2d"), Ok(Duration::from_secs(172_800)));
        for bad in ["", "10", "0s", "1w", "h", "1.5h"] {
            assert!(parse_interval(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn fsync_policies_are_appendfsync_names() {
        for p in [FsyncPolicy::Always, FsyncPolicy::EverySec, FsyncPolicy::No] {
            assert_eq!(p.to_string().parse::<FsyncPolicy>(), Ok(p));
        }
        assert_eq!("EVERYSEC".parse::<FsyncPolicy>(), Ok(FsyncPolicy::EverySec));
        assert!("sometimes".parse::<FsyncPolicy>().is_err());
    }
}
