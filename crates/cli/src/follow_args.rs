//! `redtail follow`'s command line. Connection flags follow redis-cli's (`-h`, `-p`, `-s`,
//! `-a`, `--user`, `--tls`, `--cacert`, `--cert`, `--sni`, `--insecure`), so a command line that
//! reaches a server with redis-cli reaches it with redtail. `-h` is the host, as in redis-cli;
//! help is `--help`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Args, ValueEnum};

use crate::cli::{parse_regex, KeyType};
use crate::connection_args::{SourceAuthArgs, SourceTlsArgs, TargetConnectionArgs};

#[derive(Debug, Args)]
pub struct FollowArgs {
    /// The master: redis://[[user]:password@]host[:port][/db], rediss://... (TLS), or
    /// unix:///path/to.sock [default: redis://127.0.0.1:6379]. A /db in the URL keeps only
    /// that database, like --db.
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    /// Another address of the same data (a replica to fail over to), tried in turn after the
    /// first when a connection is lost (repeatable).
    #[arg(long = "source", value_name = "URL")]
    pub sources: Vec<String>,

    /// Find the master through these Redis Sentinels (comma-separated or repeated; port 26379
    /// when left out; rediss://HOST:PORT for a sentinel's TLS port), asked in turn before every
    /// connection, so a failover leads to the promoted replica. Needs --master-name. The
    /// credential flags apply to the master; the TLS file flags to both.
    #[arg(long = "sentinel", value_name = "HOST:PORT", value_delimiter = ',', help_heading = "Connection")]
    pub sentinels: Vec<String>,

    /// The name the sentinels monitor the master under (`sentinel monitor NAME ...`).
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub master_name: Option<String>,

    /// The sentinels' own password (their `requirepass`), if they have one; also from
    /// REDTAIL_SENTINEL_AUTH, which other users cannot see in the process list.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "REDTAIL_SENTINEL_AUTH",
        hide_env_values = true,
        help_heading = "Connection"
    )]
    pub sentinel_pass: Option<String>,

    /// Server hostname (wins over the URL's).
    #[arg(short = 'h', long = "host", value_name = "HOST", help_heading = "Connection")]
    pub host: Option<String>,

    /// Server port (wins over the URL's).
    #[arg(short = 'p', long = "port", value_name = "PORT", help_heading = "Connection")]
    pub port: Option<u16>,

    /// Server unix socket (wins over the URL and -h/-p).
    #[arg(short = 's', long = "socket", value_name = "PATH", help_heading = "Connection")]
    pub socket: Option<PathBuf>,

    #[command(flatten)]
    pub source_auth: SourceAuthArgs,

    /// Connect with TLS (as rediss:// does).
    #[arg(long, help_heading = "Connection")]
    pub tls: bool,

    #[command(flatten)]
    pub source_tls: SourceTlsArgs,

    /// Give up with exit code 4 after this many failed connection attempts in a row
    /// [default: retry forever, with capped exponential backoff].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Connection")]
    pub retries: Option<u32>,

    /// Reconnect when the master has sent nothing (not even its pings) for this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Connection")]
    pub read_timeout: u64,

    /// Where to start: the snapshot then every write, only the writes made from now on, or
    /// where the --checkpoint file says a previous run stopped. With --kafka-transactional, a
    /// checkpoint stored in Kafka always wins; this says how to start without one.
    #[arg(long, value_enum, default_value_t = Start::Snapshot, help_heading = "Position")]
    pub from: Start,

    /// With --from now: a full sync when the master's backlog cannot serve "now" (a master
    /// that never had a replica). With --from checkpoint: a full sync when the checkpoint file
    /// does not exist yet. Without it both are errors.
    #[arg(long, value_enum, value_name = "snapshot", help_heading = "Position")]
    pub fallback: Option<Fallback>,

    /// Save the position delivered so far in FILE (atomically, after each flush of the
    /// output), and with --from checkpoint resume from it.
    #[arg(long, value_name = "FILE", help_heading = "Position")]
    pub checkpoint: Option<PathBuf>,

    /// What REPLCONF ACK (and the checkpoint) report to the master: what was written to the
    /// output and flushed, or what was received (as a real replica does).
    #[arg(long, value_enum, default_value_t = Ack::Delivered, help_heading = "Position")]
    pub ack: Ack,

    /// How soon to acknowledge after the delivered offset moves while data flows (when a burst
    /// ends: within 10 ms; idle: every second).
    #[arg(long, value_name = "MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Position")]
    pub ack_interval_ms: u64,

    /// Where events go: stdout, or kafka://HOST[:PORT][,HOST[:PORT]...]/TOPIC (JSON values, the
    /// Redis key as the record key; see docs/kafka.md), or redis://[[USER]:PASSWORD@]HOST[:PORT]
    /// (also rediss:// and unix://): a live migration into that server (docs/migration.md). The
    /// checkpoint and the ACK then follow what Kafka or the target acknowledged. Or file:PATH:
    /// --format's output in PATH.000001, PATH.000002, ... (see --rotate-size and --fsync).
    #[arg(long, value_name = "URL", default_value = "stdout", help_heading = "Output")]
    pub sink: String,

    // With --sink redis:// or rediss://: the target's own credentials and TLS.
    #[command(flatten)]
    pub target_conn: TargetConnectionArgs,

    /// With --sink redis://: what to do when the target answers a command with an error
    /// (OOM, READONLY, WRONGTYPE, ...): stop (exit code 5; the checkpoint stays before it), or
    /// log it and go on.
    #[arg(long, value_enum, default_value_t = OnTargetError::Fail, help_heading = "Output")]
    pub on_target_error: OnTargetError,

    /// With --sink redis:// and a full sync: empty the target first (FLUSHALL), as a replica's
    /// full sync does. Without it, a snapshot into a target that holds keys is refused.
    #[arg(long, help_heading = "Output")]
    pub target_flush: bool,

    /// With --sink redis://: how the snapshot's keys go to the target: as RESTORE of the
    /// source's own bytes where the target's version can read them and as commands otherwise
    /// (auto), or always as commands.
    #[arg(long, value_enum, default_value_t = SnapshotVia::Auto, help_heading = "Output")]
    pub snapshot_via: SnapshotVia,

    /// A librdkafka producer option for --sink kafka:// (repeatable; wins over redtail's own).
    #[arg(long = "kafka-opt", value_name = "KEY=VALUE", help_heading = "Output")]
    pub kafka_opts: Vec<String>,

    /// Records of keys starting with PREFIX go to TOPIC instead (repeatable; the longest
    /// matching prefix wins).
    #[arg(long = "kafka-route", value_name = "PREFIX=TOPIC", help_heading = "Output")]
    pub kafka_routes: Vec<String>,

    /// With --sink kafka://: how much (record values and keys) may be sent and not yet
    /// acknowledged before redtail waits for Kafka and stops reading the master [default:
    /// 32mb]. The checkpoint and the ACK follow the acknowledgements in order either way. 0
    /// waits for each read burst's acknowledgements before reading the next. Not used by
    /// --kafka-transactional, which commits each burst.
    #[arg(long, value_name = "SIZE", value_parser = parse_window, help_heading = "Output")]
    pub kafka_window: Option<u64>,

    /// With --sink kafka://: effectively once for read_committed consumers. Each flush commits
    /// the records and the checkpoint in one Kafka transaction under this transactional.id
    /// [default: redtail:TOPIC:HOST:PORT, from the sink's topic and the first source, so a
    /// restart keeps it]. The checkpoint then lives in Kafka (see --kafka-checkpoint-topic),
    /// a start resumes from it, and --checkpoint FILE is refused. Give each follower its own ID.
    #[arg(long, value_name = "ID", num_args = 0..=1, require_equals = true, default_missing_value = "", help_heading = "Output")]
    pub kafka_transactional: Option<String>,

    /// With --kafka-transactional: the compacted topic holding the checkpoint
    /// [default: TOPIC.redtail-checkpoints]. Create it with cleanup.policy=compact.
    #[arg(long, value_name = "NAME", help_heading = "Output")]
    pub kafka_checkpoint_topic: Option<String>,

    /// With --sink file:PATH, start a new file once one holds this much: 256mb (mb and kb are
    /// binary, m and k decimal, as in redis.conf). Lines, commands and transactions are never
    /// split between files.
    #[arg(long, value_name = "SIZE", value_parser = sink::file::options::parse_size, help_heading = "Output")]
    pub rotate_size: Option<u64>,

    /// With --sink file:PATH, start a new file once one is this old: 90s, 15m, 1h, 1d.
    #[arg(long, value_name = "INTERVAL", value_parser = sink::file::options::parse_interval, help_heading = "Output")]
    pub rotate_interval: Option<std::time::Duration>,

    /// With --sink file:PATH, when to fsync, as Redis's appendfsync: always (each flush),
    /// everysec, or no (leave it to the OS) [default: everysec]. The checkpoint and the ACK
    /// follow what was fsynced (with no: what was written).
    #[arg(long, value_name = "POLICY", value_parser = parse_fsync, help_heading = "Output")]
    pub fsync: Option<sink::FsyncPolicy>,

    /// What to write to standard output.
    #[arg(long, value_enum, default_value_t = FollowFormat::Json, help_heading = "Output")]
    pub format: FollowFormat,

    /// Write the snapshot's events, or only parse it (to stay in step) and write the stream.
    #[arg(long, value_enum, default_value_t = SnapshotMode::Write, help_heading = "Output")]
    pub snapshot: SnapshotMode,

    /// With --format json, split values with more elements than this into several lines.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Output")]
    pub chunk_elements: u64,

    /// Only keys and commands of this database (repeatable).
    #[arg(long = "db", value_name = "N", help_heading = "Filters")]
    pub dbs: Vec<u64>,

    /// Only keys, and commands touching a key, matching this Redis glob pattern (repeatable;
    /// a key matching any --key or --key-regex is kept).
    #[arg(long = "key", value_name = "GLOB", help_heading = "Filters")]
    pub keys: Vec<OsString>,

    /// Only keys (and commands touching one) matching this regular expression (unanchored;
    /// repeatable).
    #[arg(long = "key-regex", value_name = "RE", value_parser = parse_regex, help_heading = "Filters")]
    pub key_regexes: Vec<regex::bytes::Regex>,

    /// Only snapshot keys of this type (repeatable; commands are not typed).
    #[arg(long = "type", value_name = "TYPE", value_enum, help_heading = "Filters")]
    pub types: Vec<KeyType>,

    /// Only these commands, any case (repeatable). PING and REPLCONF appear only when named
    /// here; SELECT, MULTI and EXEC never do: the events' db and tx fields carry them.
    #[arg(long = "command", value_name = "NAME", help_heading = "Filters")]
    pub commands: Vec<String>,

    /// Not these commands (repeatable).
    #[arg(long = "exclude-command", value_name = "NAME", help_heading = "Filters")]
    pub exclude_commands: Vec<String>,

    /// Serve Prometheus metrics at http://HOST:PORT/metrics: offsets, lag, events, snapshot
    /// progress, sink latency and errors, reconnects (see docs/metrics.md).
    #[arg(long, value_name = "HOST:PORT", help_heading = "Operation")]
    pub metrics_addr: Option<String>,

    /// Ask Linux (6.12 or newer) for a scheduler time slice of US microseconds, so that redtail
    /// runs as soon as the master's data arrives instead of queueing behind busier processes on
    /// its CPU; its share of the CPU stays the same. 0 keeps the kernel's default (the kernel
    /// raises anything below 100 to 100).
    #[arg(long, value_name = "US", default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=100_000), help_heading = "Operation")]
    pub sched_slice_us: u64,

    /// Read settings from this TOML file (docs/config.md); flags given here win over it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace); RUST_LOG wins.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,

    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

/// A size as `--rotate-size` takes it, or 0.
pub fn parse_window(s: &str) -> Result<u64, String> {
    if s.trim() == "0" {
        return Ok(0);
    }
    sink::file::options::parse_size(s)
}

fn parse_fsync(s: &str) -> Result<sink::FsyncPolicy, String> {
    s.parse()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Start {
    /// A full sync: the snapshot, then every write.
    Snapshot,
    /// Only writes made from now on (PSYNC at the master's current offset).
    Now,
    /// Resume where the --checkpoint file (with --kafka-transactional: Kafka) says.
    Checkpoint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fallback {
    /// Take a full sync instead.
    Snapshot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ack {
    Delivered,
    Received,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FollowFormat {
    /// The event contract's JSON lines: snapshot events, then live events (docs/events.md).
    Json,
    /// Commands: the snapshot as rebuild commands, then the stream's own, with SELECT and
    /// MULTI/EXEC; pipe into `redis-cli --pipe`.
    Resp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SnapshotVia {
    Auto,
    Commands,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnTargetError {
    Fail,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SnapshotMode {
    Write,
    Skip,
}
