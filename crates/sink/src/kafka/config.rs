//! [`KafkaConfig`]: what `--sink kafka://BROKERS/TOPIC` and the `--kafka-*` flags say, parsed
//! and checked before any connection is made, so a typo is a configuration error and not a
//! broker error a minute later.

use std::time::Duration;

use crate::error::Error;

/// The port Kafka brokers listen on unless told otherwise.
const DEFAULT_PORT: u16 = 9092;

/// The default [`KafkaConfig::window_bytes`]: the Redis sink's window, enough for a hundred
/// read bursts from the master, far below librdkafka's own queue bound.
const DEFAULT_WINDOW_BYTES: usize = 32 << 20;

/// Everything the Kafka sinks need to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `host:port` each, as `bootstrap.servers` takes them.
    pub brokers: Vec<String>,
    /// The topic of every record that no key prefix routes elsewhere. `{db}` in it is replaced
    /// by the record's db (see [`crate::kafka::Routes`]).
    pub topic: String,
    /// Key prefix to topic; the longest matching prefix wins over [`KafkaConfig::topic`].
    pub prefix_topics: Vec<(Vec<u8>, String)>,
    /// librdkafka options (`--kafka-opt key=value`), applied after redtail's own, so they win.
    pub options: Vec<(String, String)>,
    /// How long to wait for a broker at start before giving up with an error.
    pub connect_timeout: Duration,
    /// The bound on records produced but not yet acknowledged (librdkafka's
    /// `queue.buffering.max.messages`): `send` waits when it is reached.
    pub max_in_flight_records: usize,
    /// The same bound in bytes (`queue.buffering.max.kbytes`, in KiB).
    pub max_in_flight_kbytes: usize,
    /// The at-least-once sink's window: once this many bytes (record values and keys, plus
    /// librdkafka's overhead per record) are sent and not yet acknowledged, `send` waits for acknowledgements. Below it the follower
    /// reads on while earlier bursts are still being acknowledged, so a burst costs no round
    /// trip to the broker. 0 waits for every batch to be acknowledged before the next.
    pub window_bytes: usize,
    /// How long `flush` waits for acknowledgements beyond librdkafka's own delivery timeout
    /// (`message.timeout.ms`, after which every record has a final report anyway).
    pub flush_grace: Duration,
}

impl KafkaConfig {
    /// Parses `kafka://HOST[:PORT][,HOST[:PORT]...]/TOPIC`.
    pub fn from_url(url: &str) -> Result<KafkaConfig, Error> {
        let bad = |reason: String| Error::KafkaConfig { what: format!("URL {url:?}"), reason };
        let rest = url.strip_prefix("kafka://").ok_or_else(|| bad("expected kafka://BROKERS/TOPIC".into()))?;
        let (hosts, topic) = rest.split_once('/').ok_or_else(|| bad("no /TOPIC after the brokers".into()))?;
        let brokers = hosts.split(',').map(|h| parse_broker(h).map_err(&bad)).collect::<Result<Vec<_>, _>>()?;
        check_topic(topic).map_err(bad)?;
        Ok(KafkaConfig {
            brokers,
            topic: topic.to_string(),
            prefix_topics: Vec::new(),
            options: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            max_in_flight_records: 100_000,
            max_in_flight_kbytes: 256 << 10,
            window_bytes: DEFAULT_WINDOW_BYTES,
            flush_grace: Duration::from_secs(30),
        })
    }

    /// Routes keys starting with `prefix` to `topic`.
    pub fn route_prefix(mut self, prefix: impl Into<Vec<u8>>, topic: impl Into<String>) -> Result<Self, Error> {
        let topic = topic.into();
        check_topic(&topic).map_err(|reason| Error::KafkaConfig { what: format!("prefix topic {topic:?}"), reason })?;
        self.prefix_topics.push((prefix.into(), topic));
        Ok(self)
    }

    /// Adds a librdkafka option from `key=value` (the `--kafka-opt` form).
    pub fn option(mut self, key_value: &str) -> Result<Self, Error> {
        match key_value.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                self.options.push((k.trim().to_string(), v.to_string()));
                Ok(self)
            }
            _ => Err(Error::KafkaConfig {
                what: format!("option {key_value:?}"),
                reason: "expected key=value (a librdkafka property)".into(),
            }),
        }
    }

    /// `bootstrap.servers`, also how errors name the brokers.
    pub fn bootstrap(&self) -> String {
        self.brokers.join(",")
    }

    /// The value the user gave for a librdkafka option, if any (the last one wins).
    pub(crate) fn user_option(&self, key: &str) -> Option<&str> {
        self.options.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn parse_broker(host: &str) -> Result<String, String> {
    let host = host.trim();
    if host.is_empty() {
        return Err("an empty broker address".into());
    }
    // `[::1]:9092` or `host:9092`; a bare host gets the default port.
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && (!name.contains(':') || name.ends_with(']')) => (name, Some(port)),
        _ => (host, None),
    };
    match port {
        None => Ok(format!("{name}:{DEFAULT_PORT}")),
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => Ok(format!("{name}:{p}")),
            _ => Err(format!("bad port {p:?} in broker {host:?}")),
        },
    }
}

/// Kafka's rule for topic names (letters, digits, `.`, `_`, `-`; at most 249), with `{db}`
/// allowed as a placeholder.
fn check_topic(topic: &str) -> Result<(), String> {
    let plain = topic.replace("{db}", "0");
    if plain.is_empty() {
        return Err("no topic name".into());
    }
    if plain.len() > 249 || plain == "." || plain == ".." {
        return Err(format!("{topic:?} is not a valid Kafka topic name"));
    }
    match plain.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some(c) => {
            Err(format!("{c:?} is not allowed in a Kafka topic name (letters, digits, '.', '_', '-', and {{db}})"))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_brokers_and_topic() {
        let c = KafkaConfig::from_url("kafka://a:9093,b,[::1]:7/cdc-{db}").unwrap();
        assert_eq!(c.brokers, ["a:9093", "b:9092", "[::1]:7"]);
        assert_eq!(c.topic, "cdc-{db}");
        assert_eq!(c.bootstrap(), "a:9093,b:9092,[::1]:7");
    }

    #[test]
    fn rejects_bad_urls_with_the_reason() {
        for (url, why) in [
            ("redis://a/t", "kafka://"),
            ("kafka://a", "/TOPIC"),
            ("kafka://a/", "no topic"),
            ("kafka://a:x/t", "bad port"),
            ("kafka://a,,b/t", "empty broker"),
            ("kafka://a/t t", "not allowed"),
        ] {
            let err = KafkaConfig::from_url(url).unwrap_err().to_string();
            assert!(err.contains(why) && err.contains(url), "{url}: {err}");
        }
    }

    #[test]
    fn options_are_key_value() {
        let c = KafkaConfig::from_url("kafka://a/t").unwrap().option("linger.ms=50").unwrap();
        assert_eq!(c.user_option("linger.ms"), Some("50"));
        assert!(c.option("linger.ms").is_err());
    }
}
