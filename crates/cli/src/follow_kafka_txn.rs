//! `redtail follow --sink kafka://… --kafka-transactional[=ID]`: the flags' checks and
//! defaults, and the start, where the checkpoint comes from Kafka instead of a file.
//!
//! The transactional ID must be the same at every start of one follower, since only a
//! producer with the same ID fences a crashed predecessor and aborts what it left open;
//! so the default is made from what stays the same (the sink's topic and the first source),
//! not from anything random. Two followers of one source into one topic (say, with
//! different filters) must each be given an ID.

use anyhow::anyhow;
use replica::{ReplId, Source};
use sink::{KafkaConfig, KafkaTxnConfig, KafkaTxnSink};

use crate::exit::Failure;
use crate::follow_args::{FollowArgs, Start};

/// What `--kafka-transactional` runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaTxnMode {
    pub txn: KafkaTxnConfig,
    /// `--from checkpoint` without `--fallback snapshot`: starting with no checkpoint in Kafka
    /// is an error rather than a full sync.
    pub require_checkpoint: bool,
}

/// The transactional mode's settings, `None` without `--kafka-transactional`. `kafka` is the
/// parsed `--sink kafka://…` (`None` for other sinks), `sources` the resolved sources.
pub fn from_args(
    args: &FollowArgs,
    kafka: Option<&KafkaConfig>,
    sources: &[Source],
) -> Result<Option<KafkaTxnMode>, Failure> {
    let usage = |msg: &str| Err(Failure::Usage(anyhow!("{msg}")));
    let Some(id) = &args.kafka_transactional else {
        if args.kafka_checkpoint_topic.is_some() {
            return usage("--kafka-checkpoint-topic needs --kafka-transactional");
        }
        return Ok(None);
    };
    let Some(kafka) = kafka else {
        return usage("--kafka-transactional needs --sink kafka://BROKERS/TOPIC");
    };
    if args.kafka_window.is_some() {
        // One producer has one open transaction: each burst is committed before the next.
        return usage("--kafka-window has no effect with --kafka-transactional (each burst is one transaction)");
    }
    if args.checkpoint.is_some() {
        // Two places for one position would disagree after a crash; Kafka's is the one
        // committed with the records.
        return usage(
            "--kafka-transactional keeps the checkpoint in Kafka (--kafka-checkpoint-topic); \
             leave out --checkpoint FILE",
        );
    }
    let checkpoint_topic = match &args.kafka_checkpoint_topic {
        Some(topic) => topic.clone(),
        None if kafka.topic.contains("{db}") => {
            return usage("the topic has {db} in it: name the checkpoint topic with --kafka-checkpoint-topic NAME")
        }
        None => format!("{}.redtail-checkpoints", kafka.topic),
    };
    // The topic's name is checked as the sink's own topics are.
    KafkaConfig::from_url(&format!("kafka://localhost/{checkpoint_topic}")).map_err(|_| {
        Failure::Usage(anyhow!("--kafka-checkpoint-topic {checkpoint_topic:?}: not a valid topic name"))
    })?;
    let id = match id.as_str() {
        // With sentinels the master's address changes on failover; its name does not.
        "" if !args.sentinels.is_empty() => {
            format!("redtail:{}:sentinel:{}", kafka.topic, args.master_name.as_deref().unwrap_or_default())
        }
        "" => default_id(&kafka.topic, sources),
        given => given.to_string(),
    };
    Ok(Some(KafkaTxnMode {
        txn: KafkaTxnConfig::new(id, checkpoint_topic),
        require_checkpoint: args.from == Start::Checkpoint && args.fallback.is_none(),
    }))
}

/// `redtail:TOPIC:ADDRESS` of the first source (`host:port` or the socket's path).
fn default_id(topic: &str, sources: &[Source]) -> String {
    match sources.first() {
        Some(source) => format!("redtail:{topic}:{}", source.address),
        None => format!("redtail:{topic}"),
    }
}

/// Connects the transactional sink, which fences a predecessor with the same ID and then
/// reads the checkpoint back; returns the sink and the position to resume from, if any.
pub fn connect(
    kafka: &KafkaConfig,
    mode: &KafkaTxnMode,
) -> Result<(KafkaTxnSink, Option<replica::Checkpoint>), Failure> {
    let txn = &mode.txn;
    let sink = KafkaTxnSink::connect(kafka, txn.clone()).map_err(|e| connect_failure(e, kafka, txn))?;
    let Some(stored) = sink.checkpoint() else {
        if mode.require_checkpoint {
            return Err(Failure::Io(anyhow!(
                "no checkpoint under key {:?} in Kafka topic {:?}: start once with --from snapshot (or now), \
                 or add --fallback snapshot to take a full sync when there is none",
                txn.checkpoint_key,
                txn.checkpoint_topic
            )));
        }
        tracing::info!(topic = %txn.checkpoint_topic, key = %txn.checkpoint_key, "no checkpoint in Kafka yet");
        return Ok((sink, None));
    };
    // The sink's reader checks the ID's form, so this fails only on a record it accepted.
    let replid = stored.replid.parse::<ReplId>().map_err(|e| {
        Failure::Sink(anyhow!("Kafka checkpoint topic {:?}: replication ID: {e}", txn.checkpoint_topic))
    })?;
    let cp = replica::Checkpoint { replid, offset: stored.offset, db: stored.db };
    tracing::info!(offset = cp.offset, topic = %txn.checkpoint_topic, "resuming from the checkpoint stored in Kafka");
    Ok((sink, Some(cp)))
}

/// A sink error at start, with how to create a missing checkpoint topic.
fn connect_failure(e: sink::Error, kafka: &KafkaConfig, txn: &KafkaTxnConfig) -> Failure {
    match &e {
        sink::Error::KafkaNoTopic { topic, .. } if *topic == txn.checkpoint_topic => Failure::Sink(anyhow!(
            "{e}\nhint: the checkpoint topic must be compacted, with one partition, for example \
             kafka-topics.sh --bootstrap-server {} --create --topic {topic} --partitions 1 \
             --config cleanup.policy=compact",
            kafka.bootstrap()
        )),
        _ => Failure::Sink(anyhow!(e)),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn mode(line: &[&str]) -> Result<Option<KafkaTxnMode>, String> {
        let cli = Cli::try_parse_from(line).map_err(|e| e.to_string())?;
        let Command::Follow(args) = cli.command else { panic!("not follow") };
        let kafka = args.sink.starts_with("kafka://").then(|| KafkaConfig::from_url(&args.sink).unwrap());
        let sources = [Source::parse(args.url.as_deref().unwrap_or("redis://127.0.0.1:6379")).unwrap()];
        from_args(&args, kafka.as_ref(), &sources).map_err(|e| match e {
            Failure::Usage(e) => format!("{e:#}"),
            other => panic!("not a usage error: {other:?}"),
        })
    }

    #[test]
    fn the_default_id_and_topic_come_from_the_topic_and_the_source() {
        let m = mode(&["redtail", "follow", "--sink", "kafka://b:9092/cdc", "--kafka-transactional", "redis://h:7000"])
            .unwrap()
            .unwrap();
        assert_eq!(m.txn.transactional_id, "redtail:cdc:h:7000");
        assert_eq!(m.txn.checkpoint_key, "redtail:cdc:h:7000");
        assert_eq!(m.txn.checkpoint_topic, "cdc.redtail-checkpoints");
        assert!(!m.require_checkpoint);
        let sentinel = ["redtail", "follow", "--sink", "kafka://b/cdc", "--kafka-transactional", "--sentinel", "s"];
        let m = mode(&[&sentinel[..], &["--master-name", "cache"]].concat()).unwrap().unwrap();
        assert_eq!(m.txn.transactional_id, "redtail:cdc:sentinel:cache");
    }

    #[test]
    fn an_id_and_a_topic_can_be_given() {
        let m = mode(&[
            "redtail",
            "follow",
            "--sink=kafka://b/cdc",
            "--kafka-transactional=mine",
            "--kafka-checkpoint-topic=cps",
            "--from=checkpoint",
        ])
        .unwrap()
        .unwrap();
        assert_eq!((m.txn.transactional_id.as_str(), m.txn.checkpoint_topic.as_str()), ("mine", "cps"));
        assert!(m.require_checkpoint);
    }

    #[test]
    fn conflicting_flags_are_usage_errors() {
        let err = |line: &[&str]| mode(line).unwrap_err();
        assert!(err(&["redtail", "follow", "--kafka-transactional"]).contains("needs --sink kafka://"));
        assert!(err(&["redtail", "follow", "--kafka-checkpoint-topic", "x"]).contains("needs --kafka-transactional"));
        let both = ["redtail", "follow", "--sink=kafka://b/t", "--kafka-transactional", "--checkpoint", "f"];
        assert!(err(&both).contains("leave out --checkpoint"));
        let window = ["redtail", "follow", "--sink=kafka://b/t", "--kafka-transactional", "--kafka-window", "1mb"];
        assert!(err(&window).contains("--kafka-window has no effect"));
        let per_db = ["redtail", "follow", "--sink=kafka://b/t-{db}", "--kafka-transactional"];
        assert!(err(&per_db).contains("--kafka-checkpoint-topic NAME"));
        let bad = ["redtail", "follow", "--sink=kafka://b/t", "--kafka-transactional", "--kafka-checkpoint-topic=a b"];
        assert!(err(&bad).contains("not a valid topic name"));
    }
}
