//! What verify reports: one [`Difference`] per key (the first one found in it), or per db for
//! key counts, written as text or as JSON lines.

use std::fmt;

/// The kinds of difference, as named in the JSON output's `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffKind {
    /// The dbs hold different numbers of keys (`INFO keyspace`).
    KeyCount,
    /// The key exists in the source only.
    Missing,
    /// The key exists in the target only.
    Extra,
    /// The key has different types on the two sides.
    Type,
    /// The expiry times differ by more than the tolerance, or only one side has one.
    Ttl,
    /// The values differ (including hash field TTLs).
    Value,
    /// A stream's metadata or consumer groups differ (last id, groups, PELs, consumers).
    Stream,
}

impl DiffKind {
    pub fn name(self) -> &'static str {
        match self {
            DiffKind::KeyCount => "key_count",
            DiffKind::Missing => "missing",
            DiffKind::Extra => "extra",
            DiffKind::Type => "type",
            DiffKind::Ttl => "ttl",
            DiffKind::Value => "value",
            DiffKind::Stream => "stream",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub db: u64,
    /// `None` for a db-wide difference (key counts).
    pub key: Option<Vec<u8>>,
    pub kind: DiffKind,
    /// What differs, for people: "element 17: \"a\" vs \"b\"".
    pub detail: String,
}

impl Difference {
    /// One JSON object, no newline: `{"db":0,"key":"k","kind":"value","detail":"..."}`. A key
    /// that is not UTF-8 is written as `{"base64":"..."}`, as in the event contract.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"db\":");
        out.extend_from_slice(self.db.to_string().as_bytes());
        if let Some(key) = &self.key {
            out.extend_from_slice(b",\"key\":");
            event::json_str::write_bytes(out, key);
        }
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(self.kind.name().as_bytes());
        out.extend_from_slice(b"\",\"detail\":");
        event::json_str::write_bytes(out, self.detail.as_bytes());
        out.push(b'}');
    }
}

impl fmt::Display for Difference {
    /// `db 0 key "k": value: element 17 ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "db {}", self.db)?;
        if let Some(key) = &self.key {
            write!(f, " key {}", quote(key))?;
        }
        write!(f, ": {}: {}", self.kind.name(), self.detail)
    }
}

/// Bytes as a readable quoted string: UTF-8 as it is, other bytes as `\xNN` escapes, cut at 200
/// bytes so a huge value cannot flood the report.
pub fn quote(bytes: &[u8]) -> String {
    const SHOWN: usize = 200;
    let cut = &bytes[..bytes.len().min(SHOWN)];
    let mut text = format!("{:?}", String::from_utf8_lossy(cut));
    if String::from_utf8(cut.to_vec()).is_err() {
        text = format!("\"{}\"", cut.escape_ascii());
    }
    if bytes.len() > SHOWN {
        text.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_forms() {
        let d = Difference { db: 2, key: Some(b"k\"1".to_vec()), kind: DiffKind::Ttl, detail: "only in source".into() };
        assert_eq!(d.to_string(), r#"db 2 key "k\"1": ttl: only in source"#);
        let mut json = Vec::new();
        d.write_json(&mut json);
        assert_eq!(String::from_utf8(json).unwrap(), r#"{"db":2,"key":"k\"1","kind":"ttl","detail":"only in source"}"#);
        let d = Difference { db: 0, key: None, kind: DiffKind::KeyCount, detail: "3 vs 4".into() };
        assert_eq!(d.to_string(), "db 0: key_count: 3 vs 4");
    }

    #[test]
    fn binary_and_long_keys_stay_readable() {
        assert_eq!(quote(&[0xFF, b'a']), r#""\xffa""#);
        let long = quote(&[b'x'; 1000]);
        assert!(long.ends_with("... (1000 bytes)") && long.len() < 230, "{long}");
    }
}
