//! `redtail follow`: runs the replication session with the handler on a single-threaded
//! runtime until it fails or a signal asks it to stop, and turns the way it ended into an exit
//! code. On SIGINT or SIGTERM the output is flushed and the process exits 0; the checkpoint
//! file already holds the last flushed position (the handler saves it after every flush).
//! With `--kafka-transactional` the sink connects first, because the position to start from
//! is in Kafka.

use anyhow::anyhow;
use replica::driver::DriverError;
use replica::StartFrom;
use sink::KafkaSink;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::exit::Failure;
use crate::follow_args::FollowArgs;
use crate::follow_config::FollowConfig;
use crate::follow_handler::{DeliveryError, FollowHandler};
use crate::follow_kafka::KafkaSinkKind;
use crate::follow_output::Delivery;
use crate::metrics::Metrics;
use crate::{
    config_file, follow_file, follow_kafka_txn, follow_output, follow_redis, logging, metrics_http, metrics_kafka,
    sched_slice,
};

/// `matches` are the command line `args` came from: with `--config`, they tell which flags
/// were given (and win over the file).
pub fn run(mut args: FollowArgs, matches: Option<&clap::ArgMatches>) -> Result<(), Failure> {
    if let Some(path) = args.config.clone() {
        config_file::apply(&path, &mut args, matches.unwrap_or(&clap::ArgMatches::default()))?;
    }
    logging::init(args.verbose);
    let config = FollowConfig::from_args(args)?;
    // Before the runtime starts: it runs on this thread, and threads started later inherit it.
    if let Some(slice) = config.sched_slice {
        match sched_slice::request(slice) {
            Ok(outcome) => tracing::debug!(?slice, ?outcome, "scheduler slice"),
            // Only latency is at stake: no warning, but visible with -v.
            Err(e) => tracing::info!(?slice, error = %e, "could not ask for a shorter scheduler slice"),
        }
    }
    // One thread: the handler writes synchronously, and the connection is one socket.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(anyhow!("cannot start the runtime: {e}")))?;
    runtime.block_on(follow(config))
}

async fn follow(mut config: FollowConfig) -> Result<(), Failure> {
    // Checks the sources and TLS files before anything connects.
    config.session()?;
    let txn_sink = match (&config.kafka, &config.kafka_txn) {
        (Some(kafka), Some(mode)) => {
            let (sink, stored) = follow_kafka_txn::connect(kafka, mode)?;
            if let Some(cp) = stored {
                config.session.start = StartFrom::Checkpoint(cp);
            }
            Some(sink)
        }
        _ => None,
    };
    let mut session = config.session()?;
    // Installed before the first connection, so that an early signal also stops cleanly.
    let mut signals = Signals::install()?;
    let start = match config.session.start {
        StartFrom::Checkpoint(cp) => Some(cp),
        _ => None,
    };
    let (out, delivery) = match &config.kafka {
        Some(_) if txn_sink.is_some() => {
            let sink = KafkaSinkKind::Transactional(Box::new(txn_sink.expect("connected above")));
            follow_output::kafka_output(sink, start.map_or(0, |cp| cp.offset), &config.filter)
        }
        None if config.redis.is_some() => follow_redis::connected_output(&config, start)?,
        None if config.file.is_some() => follow_file::opened_output(&config, start)?,
        None => (
            follow_output::stdout_output(config.format, &config.filter, config.write_snapshot, config.chunk_elements),
            Delivery::Direct,
        ),
        Some(kafka) => {
            // Waits (bounded) for a broker, so a wrong address fails before replication starts.
            let sink =
                KafkaSink::connect(kafka, start.map_or(0, |cp| cp.offset)).map_err(|e| Failure::Sink(anyhow!(e)))?;
            follow_output::kafka_output(
                KafkaSinkKind::AtLeastOnce(sink),
                start.map_or(0, |cp| cp.offset),
                &config.filter,
            )
        }
    };
    let metrics = match &config.metrics_addr {
        Some(addr) => {
            let (metrics, mut registry) = Metrics::registered();
            if let Some(health) = delivery.kafka_health() {
                metrics_kafka::register(&mut registry, health);
            }
            metrics_http::start(addr, registry, metrics.clone(), config.session.clone())?;
            Some(metrics)
        }
        None => None,
    };
    let mut handler =
        FollowHandler::new(out, delivery, &config.filter, config.write_snapshot, config.checkpoints.clone(), start)
            .with_metrics(metrics);

    let ended = tokio::select! {
        result = session.run(&mut handler) => match result {
            Err(e) => Some(e),
        },
        name = signals.recv() => {
            tracing::info!(signal = name, "stopping");
            None
        }
    };
    let finished = handler.finish();
    match ended {
        None => finished.or_else(delivery_failure),
        // The error that stopped the session matters more than a failure to flush after it.
        Some(e) => failure(e),
    }
}

/// SIGINT and SIGTERM.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn install() -> Result<Signals, Failure> {
        let install = |kind| signal(kind).map_err(|e| Failure::Io(anyhow!("cannot install a signal handler: {e}")));
        Ok(Signals { interrupt: install(SignalKind::interrupt())?, terminate: install(SignalKind::terminate())? })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

fn failure(e: DriverError<DeliveryError>) -> Result<(), Failure> {
    match e {
        DriverError::Handler(e) => delivery_failure(e),
        DriverError::Replication(e) => Err(source_failure(e)),
        DriverError::Io(e) => Err(Failure::Source(anyhow!("connection to the master: {e}"))),
    }
}

fn delivery_failure(e: DeliveryError) -> Result<(), Failure> {
    match e {
        // The reader went away (`| head`): it has what it wanted.
        DeliveryError::Output(e) if e.is_broken_pipe() => Ok(()),
        // The Redis target's failures reach the writer through its `Write`.
        DeliveryError::Output(event::Error::Io(e)) if follow_redis::is_sink_error(&e) => Err(Failure::Sink(anyhow!(e))),
        DeliveryError::Output(e @ event::Error::Io(_)) => Err(Failure::Io(anyhow!(e))),
        DeliveryError::Output(e) => {
            Err(Failure::Invalid(anyhow!("{e}\nhint: --format json shows every value as the master sent it")))
        }
        DeliveryError::Checkpoint(e) => Err(Failure::Io(anyhow!(e))),
        DeliveryError::Sink(e) => Err(Failure::Sink(anyhow!(e))),
    }
}

/// A replication failure that retrying did not (or cannot) fix, with what to do about it.
fn source_failure(e: replica::Error) -> Failure {
    use replica::Error::*;
    // After retries, the hint is the last failure's.
    let cause = match &e {
        GaveUp { last, .. } => last.as_ref(),
        other => other,
    };
    let hint = match cause {
        BadSource { .. } | NoSources | TlsConfig(_) => return Failure::Usage(anyhow!(e)),
        AuthRequired { .. } | Auth { .. } => Some(
            "give the password with -a, the REDISCLI_AUTH environment variable or the URL \
             (redis://user:password@host), and the ACL user with --user",
        ),
        Connect { .. } | ConnectTimeout { .. } => Some("is the server running and reachable at that address?"),
        NoSentinel { .. } => Some("are the sentinels running and reachable at the --sentinel addresses?"),
        SentinelAuth { .. } => Some("give the sentinels' password with --sentinel-pass or REDTAIL_SENTINEL_AUTH"),
        TlsHandshake { .. } => Some("check --cacert and --sni (or --insecure for a test server)"),
        NowNotCovered { .. } => Some("add --fallback snapshot to start with a full sync instead"),
        UnexpectedReply { .. } | PingRefused { .. } => Some("check that the address is a Redis or Valkey server"),
        _ => None,
    };
    let err = anyhow!(e).context("cannot follow the master");
    Failure::Source(match hint {
        Some(h) => anyhow!("{err:#}\nhint: {h}"),
        None => err,
    })
}
