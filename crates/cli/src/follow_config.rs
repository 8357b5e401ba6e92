//! Turns `redtail follow`'s flags into what the pieces need: the replication session's
//! configuration (sources, TLS, credentials, timings, where to start), the checkpoint file, and
//! the output's filter. The `replica` crate does the protocol; this only translates.

use std::time::Duration;

use anyhow::anyhow;
use event::Filter;
use replica::{AckPolicy, Auth, Config, ReplId, Sentinels, Session, SessionConfig, Source, SourceOverrides, StartFrom};
use sink::{CheckpointStore, ErrorPolicy, FileConfig, KafkaConfig, RedisConfig};

use crate::exit::Failure;
use crate::follow_args::{Ack, FollowArgs, FollowFormat, OnTargetError, SnapshotMode, SnapshotVia, Start};
use crate::follow_file;
use crate::follow_kafka_txn::{self, KafkaTxnMode};

/// Everything `redtail follow` runs with.
pub struct FollowConfig {
    pub session: SessionConfig,
    pub checkpoints: Option<CheckpointStore>,
    pub filter: Filter,
    pub format: FollowFormat,
    pub write_snapshot: bool,
    pub chunk_elements: usize,
    /// `--sink kafka://...`; `None` for stdout.
    pub kafka: Option<KafkaConfig>,
    /// `--kafka-transactional`: the checkpoint is in Kafka, and the start is decided once the
    /// sink has read it (`session.start` then says how to start without one).
    pub kafka_txn: Option<KafkaTxnMode>,
    /// `--sink file:PATH`.
    pub file: Option<FileConfig>,
    /// `--sink redis://...`: a live migration target.
    pub redis: Option<RedisConfig>,
    /// `--target-flush`: empty the target before a full sync.
    pub target_flush: bool,
    /// `--snapshot-via auto`: snapshot keys as `RESTORE` where the target reads the payload.
    pub snapshot_by_restore: bool,
    /// `--metrics-addr`: where to serve Prometheus metrics.
    pub metrics_addr: Option<String>,
    /// `--sched-slice-us`: the scheduler slice to ask for; `None` keeps the kernel's.
    pub sched_slice: Option<Duration>,
}

impl FollowConfig {
    pub fn from_args(args: FollowArgs) -> Result<FollowConfig, Failure> {
        let usage = |msg: String| Failure::Usage(anyhow!(msg));
        let sources = sources(&args)?;
        let kafka = kafka(&args)?;
        let kafka_txn = follow_kafka_txn::from_args(&args, kafka.as_ref(), &sources)?;
        let file = follow_file::from_args(&args)?;
        let redis = redis(&args)?;
        let checkpoints = args.checkpoint.clone().map(CheckpointStore::new);
        let start = match args.from {
            Start::Snapshot => {
                if args.fallback.is_some() {
                    return Err(usage("--fallback applies to --from now and --from checkpoint".into()));
                }
                StartFrom::Snapshot
            }
            Start::Now => StartFrom::Now { fallback_snapshot: args.fallback.is_some() },
            // Without a checkpoint in Kafka: a full sync, or (`require_checkpoint`) an error.
            Start::Checkpoint if kafka_txn.is_some() => StartFrom::Snapshot,
            Start::Checkpoint => {
                let store = checkpoints.as_ref().ok_or_else(|| {
                    usage("--from checkpoint needs --checkpoint FILE: the file to resume from".into())
                })?;
                match load(store)? {
                    Some(cp) => StartFrom::Checkpoint(cp),
                    None if args.fallback.is_some() => {
                        tracing::info!(path = %store.path().display(), "no checkpoint yet; starting with a full sync");
                        StartFrom::Snapshot
                    }
                    None => {
                        return Err(Failure::Io(anyhow!(
                            "no checkpoint file at {}: start once with --from snapshot (or now) and --checkpoint \
                             FILE, or add --fallback snapshot to take a full sync when there is none",
                            store.path().display()
                        )))
                    }
                }
            }
        };

        let source_auth = &args.source_auth;
        let auth = source_auth.password.clone().map(|password| Auth { user: source_auth.user.clone(), password });
        let mut session = SessionConfig {
            // The URL's /db is a filter (replication carries every db), applied below.
            sources: sources.clone(),
            sentinels: sentinels(&args)?,
            tls: args.source_tls.options(),
            replica: Config {
                auth,
                ack_policy: match args.ack {
                    Ack::Delivered => AckPolicy::Delivered,
                    Ack::Received => AckPolicy::Received,
                },
                ack_busy_interval: Duration::from_millis(args.ack_interval_ms),
                read_timeout: Duration::from_secs(args.read_timeout),
                ..Config::default()
            },
            start,
            max_failures: args.retries,
            ..SessionConfig::default()
        };

        // RESTORE needs each key's bytes from the decoder, up to the writer's limit.
        let snapshot_by_restore = redis.is_some() && args.snapshot_via == SnapshotVia::Auto;
        if snapshot_by_restore {
            session.replica.rdb_options.raw_values_up_to = event::restore::DEFAULT_RAW_VALUES_UP_TO;
        }

        let mut dbs = args.dbs;
        if dbs.is_empty() {
            dbs.extend(sources.first().and_then(|s| s.db));
        }
        let filter = Filter {
            dbs,
            key_globs: args.keys.into_iter().map(|k| k.into_encoded_bytes()).collect(),
            key_regexes: args.key_regexes,
            types: args.types.into_iter().map(Into::into).collect(),
            commands: args.commands.into_iter().map(String::into_bytes).collect(),
            exclude_commands: args.exclude_commands.into_iter().map(String::into_bytes).collect(),
        };
        Ok(FollowConfig {
            session,
            checkpoints,
            filter,
            format: args.format,
            write_snapshot: args.snapshot == SnapshotMode::Write,
            chunk_elements: usize::try_from(args.chunk_elements).unwrap_or(usize::MAX),
            kafka,
            kafka_txn,
            file,
            redis,
            target_flush: args.target_flush,
            snapshot_by_restore,
            metrics_addr: args.metrics_addr,
            sched_slice: (args.sched_slice_us > 0).then(|| Duration::from_micros(args.sched_slice_us)),
        })
    }

    /// Checks the sources and TLS files before anything connects.
    pub fn session(&self) -> Result<Session, Failure> {
        Session::new(self.session.clone()).map_err(|e| Failure::Usage(anyhow!(e)))
    }
}

/// `--sink` and the `--kafka-*` flags, checked before anything connects.
fn kafka(args: &FollowArgs) -> Result<Option<KafkaConfig>, Failure> {
    let usage = |msg: String| Failure::Usage(anyhow!(msg));
    let bad = |e: sink::Error| Failure::Usage(anyhow!(e));
    if args.sink == "stdout" || is_redis(&args.sink) || args.sink.starts_with("file:") {
        if !args.kafka_opts.is_empty() || !args.kafka_routes.is_empty() || args.kafka_window.is_some() {
            return Err(usage(
                "--kafka-opt, --kafka-route and --kafka-window need --sink kafka://BROKERS/TOPIC".into(),
            ));
        }
        return Ok(None);
    }
    if !args.sink.starts_with("kafka://") {
        return Err(usage(format!(
            "--sink {:?}: expected stdout, kafka://BROKERS/TOPIC, redis://HOST[:PORT] or file:PATH",
            args.sink
        )));
    }
    if args.format != FollowFormat::Json {
        return Err(usage("--sink kafka:// writes JSON events; --format resp is for stdout and file:PATH".into()));
    }
    let mut config = KafkaConfig::from_url(&args.sink).map_err(bad)?;
    if let Some(window) = args.kafka_window {
        config.window_bytes = usize::try_from(window).unwrap_or(usize::MAX);
    }
    for opt in &args.kafka_opts {
        config = config.option(opt).map_err(bad)?;
    }
    for route in &args.kafka_routes {
        // A topic name has no '=', so a prefix may.
        let (prefix, topic) =
            route.rsplit_once('=').ok_or_else(|| usage(format!("--kafka-route {route:?}: expected PREFIX=TOPIC")))?;
        config = config.route_prefix(prefix.as_bytes(), topic).map_err(bad)?;
    }
    Ok(Some(config))
}

/// Whether `--sink` names a Redis or Valkey target.
fn is_redis(sink: &str) -> bool {
    ["redis://", "rediss://", "valkey://", "valkeys://", "unix://"].iter().any(|s| sink.starts_with(s))
}

/// `--sink redis://...` and its options. The target has its own credentials and TLS flags
/// (`--target-*`); `rediss://` turns TLS on.
fn redis(args: &FollowArgs) -> Result<Option<RedisConfig>, Failure> {
    let usage = |msg: String| Failure::Usage(anyhow!(msg));
    if !is_redis(&args.sink) {
        // Not the credentials: REDTAIL_TARGET_AUTH may be set for other runs.
        let t = &args.target_conn;
        let target_flags =
            t.target_cacert.is_some() || t.target_cert.is_some() || t.target_sni.is_some() || t.target_insecure;
        if args.target_flush
            || args.on_target_error != OnTargetError::Fail
            || args.snapshot_via != SnapshotVia::Auto
            || target_flags
        {
            return Err(usage(
                "--target-flush, --on-target-error, --snapshot-via and the --target-* TLS flags need \
                 --sink redis://HOST[:PORT]"
                    .into(),
            ));
        }
        return Ok(None);
    }
    if args.format != FollowFormat::Json {
        return Err(usage("--sink redis:// writes commands to the target; --format is for stdout".into()));
    }
    let mut config = RedisConfig::from_url(&args.sink).map_err(|e| usage(e.to_string()))?;
    let credentials = SourceOverrides {
        user: args.target_conn.target_user.clone(),
        password: args.target_conn.target_password.clone(),
        ..SourceOverrides::default()
    };
    config.target.apply(&credentials);
    config.tls = args.target_conn.tls();
    // Checked now, as the source's are: a missing file is a usage error, not an unreachable target.
    if config.target.tls {
        config.tls.client_config().map_err(|e| usage(format!("--sink {}: {e}", config.target.address)))?;
    }
    config.on_error = match args.on_target_error {
        OnTargetError::Fail => ErrorPolicy::Fail,
        OnTargetError::Skip => ErrorPolicy::Skip,
    };
    Ok(Some(config))
}

/// The positional URL (with -h/-p/-s and the credential flags winning over it, as in
/// redis-cli), then each `--source`. The URL is left out only when `--source` alone names the
/// sources.
fn sources(args: &FollowArgs) -> Result<Vec<Source>, Failure> {
    let bad = |e: replica::Error| Failure::Usage(anyhow!(e));
    let credentials = SourceOverrides {
        user: args.source_auth.user.clone(),
        password: args.source_auth.password.clone(),
        tls: args.tls,
        ..SourceOverrides::default()
    };
    let address = SourceOverrides {
        host: args.host.clone(),
        port: args.port,
        socket: args.socket.clone(),
        ..credentials.clone()
    };
    let explicit = args.url.is_some() || args.host.is_some() || args.port.is_some() || args.socket.is_some();
    let mut sources = Vec::new();
    if explicit || args.sources.is_empty() {
        sources.push(Source::resolve(args.url.as_deref(), &address).map_err(bad)?);
    }
    for url in &args.sources {
        let mut source = Source::parse(url).map_err(bad)?;
        source.apply(&credentials);
        sources.push(source);
    }
    Ok(sources)
}

/// `--sentinel` and `--master-name`, which come together, and instead of any address of the
/// master: the sentinels name it.
fn sentinels(args: &FollowArgs) -> Result<Option<Sentinels>, Failure> {
    let usage = |msg: &str| Failure::Usage(anyhow!("{msg}"));
    if args.sentinels.is_empty() {
        if args.master_name.is_some() || args.sentinel_pass.is_some() {
            return Err(usage("--master-name and --sentinel-pass need --sentinel HOST:PORT"));
        }
        return Ok(None);
    }
    let Some(name) = &args.master_name else {
        return Err(usage("--sentinel needs --master-name NAME: the name the sentinels monitor the master under"));
    };
    let addressed = args.url.is_some() || args.host.is_some() || args.port.is_some() || args.socket.is_some();
    if addressed || !args.sources.is_empty() {
        return Err(usage("--sentinel finds the master: give no URL, -h, -p, -s or --source with it"));
    }
    let mut sentinels = Sentinels::parse(&args.sentinels, name).map_err(|e| Failure::Usage(anyhow!(e)))?;
    for sentinel in &mut sentinels.addresses {
        sentinel.password = args.sentinel_pass.clone();
    }
    Ok(Some(sentinels))
}

/// The saved checkpoint in the replication crate's form.
fn load(store: &CheckpointStore) -> Result<Option<replica::Checkpoint>, Failure> {
    let Some(cp) = store.load().map_err(|e| Failure::Io(anyhow!(e)))? else { return Ok(None) };
    // The store checks the ID's form when it loads, so this cannot fail on a file it accepted.
    let replid = cp.replid.parse::<ReplId>().map_err(|e| Failure::Io(anyhow!("{}: {e}", store.path().display())))?;
    Ok(Some(replica::Checkpoint { replid, offset: cp.offset, db: cp.db }))
}

/// The stored form of a checkpoint.
pub fn stored(cp: &replica::Checkpoint) -> sink::Checkpoint {
    sink::Checkpoint { replid: cp.replid.to_string(), offset: cp.offset, db: cp.db }
}
