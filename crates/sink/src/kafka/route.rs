//! Which topic and partition each record goes to.
//!
//! - **Topic:** the longest key prefix in [`KafkaConfig::prefix_topics`] that the record's key
//!   starts with, else [`KafkaConfig::topic`]. `{db}` in a topic name becomes the record's db,
//!   so `cdc-{db}` gives one topic per database. Records without a db (`sync`, `resync`, and
//!   commands before the master's first `SELECT` when following from "now") use db 0's topic.
//! - **Partition:** a keyed record is left to the producer's partitioner, which hashes the key,
//!   so one Redis key's changes stay in order in one partition. A keyless record goes to
//!   partition 0 (see [`crate::kafka::KafkaRecord::key`] for which records are keyless).

use std::collections::HashMap;

use super::config::KafkaConfig;

/// The partition of keyless records: it exists in every topic.
pub const KEYLESS_PARTITION: i32 = 0;

/// Topic routing, with `{db}` templates rendered once per db.
#[derive(Debug)]
pub struct Routes {
    default: String,
    /// Longest prefix first, so the first match is the longest.
    prefixes: Vec<(Vec<u8>, String)>,
    rendered: HashMap<(usize, u64), String>,
}

impl Routes {
    pub fn new(config: &KafkaConfig) -> Routes {
        let mut prefixes = config.prefix_topics.clone();
        prefixes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Routes { default: config.topic.clone(), prefixes, rendered: HashMap::new() }
    }

    /// The topic for a record with this key and db.
    pub fn topic(&mut self, key: Option<&[u8]>, db: Option<u64>) -> &str {
        let found = key.and_then(|k| self.prefixes.iter().position(|(p, _)| k.starts_with(p)));
        let (index, template) = match found {
            Some(i) => (i + 1, &self.prefixes[i].1),
            None => (0, &self.default),
        };
        if !template.contains("{db}") {
            return template;
        }
        let db = db.unwrap_or(0);
        self.rendered.entry((index, db)).or_insert_with(|| template.replace("{db}", &db.to_string()))
    }

    /// The topics known before any record is seen (those without `{db}`): checked at start.
    pub fn fixed_topics(&self) -> Vec<&str> {
        let all = std::iter::once(&self.default).chain(self.prefixes.iter().map(|(_, t)| t));
        let mut topics: Vec<&str> = all.filter(|t| !t.contains("{db}")).map(String::as_str).collect();
        topics.sort_unstable();
        topics.dedup();
        topics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_then_db_template() {
        let config = KafkaConfig::from_url("kafka://b/cdc-{db}")
            .unwrap()
            .route_prefix("user:", "users")
            .unwrap()
            .route_prefix("user:admin:", "admins-{db}")
            .unwrap();
        let mut r = Routes::new(&config);
        assert_eq!(r.topic(Some(b"user:1"), Some(3)), "users");
        assert_eq!(r.topic(Some(b"user:admin:1"), Some(3)), "admins-3");
        assert_eq!(r.topic(Some(b"order:1"), Some(3)), "cdc-3");
        assert_eq!(r.topic(None, Some(12)), "cdc-12");
        assert_eq!(r.topic(None, None), "cdc-0");
        assert_eq!(r.fixed_topics(), ["users"]);
    }
}
