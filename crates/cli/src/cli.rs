//! Command-line arguments.

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::follow_args::FollowArgs;
use crate::verify_args::VerifyArgs;

const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when the reader of the output goes away, as with `| head`)
  1  the input is not a valid RDB file (corrupt, truncated, unsupported), or holds a value the
     chosen output cannot express; for verify: the servers hold different data
  2  usage error
  3  I/O error: the input cannot be opened or read, or the output (or checkpoint file) cannot be
     written
  4  source error (follow, verify): cannot connect to or authenticate with the master, or it refuses to
     replicate (PSYNC refused, not a Redis server, no backlog for --from now, retries used up)
  5  sink error (follow): the sink cannot deliver (Kafka unreachable at start, a missing topic,
     a record refused or not acknowledged in time); for verify: the target cannot be read";

#[derive(Debug, Parser)]
#[command(name = "redtail", version, about = "Change data capture for Redis and Valkey", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode an RDB file into events (JSON lines), Redis commands, or a key listing.
    #[command(after_help = EXIT_CODES)]
    Rdb(RdbArgs),
    /// Follow a live master as a replica: its snapshot, then every write, as events (JSON lines)
    /// or as commands to replay into another server.
    #[command(after_help = EXIT_CODES, disable_help_flag = true)]
    Follow(Box<FollowArgs>),
    /// Compare two live servers (or clusters): key counts, then every key's type, TTL and
    /// value, both ways. Exit 0 if they hold the same data, 1 if not.
    #[command(after_help = EXIT_CODES)]
    Verify(Box<VerifyArgs>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// The event contract's JSON lines (docs/events.md).
    Json,
    /// RESP commands that rebuild the data set: pipe into `redis-cli --pipe`.
    Resp,
    /// One JSON line per key with its type, encoding, element count and size in the file.
    Keys,
}

/// Key types as `TYPE` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyType {
    String,
    List,
    Set,
    Zset,
    Hash,
    Stream,
    Module,
}

impl From<KeyType> for rdb::ValueType {
    fn from(t: KeyType) -> Self {
        match t {
            KeyType::String => rdb::ValueType::String,
            KeyType::List => rdb::ValueType::List,
            KeyType::Set => rdb::ValueType::Set,
            KeyType::Zset => rdb::ValueType::Zset,
            KeyType::Hash => rdb::ValueType::Hash,
            KeyType::Stream => rdb::ValueType::Stream,
            KeyType::Module => rdb::ValueType::Module,
        }
    }
}

#[derive(Debug, Args)]
pub struct RdbArgs {
    /// The RDB file, or `-` to read standard input.
    #[arg(value_name = "FILE")]
    pub file: OsString,

    /// What to write to standard output.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub format: OutputFormat,

    /// Only validate the file, like redis-check-rdb: print its version, keys per database and
    /// checksum status, or where it is damaged.
    #[arg(long, conflicts_with_all = ["format", "chunk_elements", "dbs", "keys", "key_regexes", "types"])]
    pub check: bool,

    /// Do not verify the trailing CRC64 checksum.
    #[arg(long)]
    pub no_verify: bool,

    /// Only keys of this database (repeatable).
    #[arg(long = "db", value_name = "N")]
    pub dbs: Vec<u64>,

    /// Only keys matching this Redis glob pattern, as KEYS and SCAN MATCH use them
    /// (repeatable; a key matching any --key or --key-regex is kept).
    #[arg(long = "key", value_name = "GLOB")]
    pub keys: Vec<OsString>,

    /// Only keys matching this regular expression (unanchored; repeatable).
    #[arg(long = "key-regex", value_name = "RE", value_parser = parse_regex)]
    pub key_regexes: Vec<regex::bytes::Regex>,

    /// Only keys of this type (repeatable).
    #[arg(long = "type", value_name = "TYPE", value_enum)]
    pub types: Vec<KeyType>,

    /// With --format json, split values with more elements than this into several lines.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_elements: u64,
}

pub fn parse_regex(s: &str) -> Result<regex::bytes::Regex, String> {
    regex::bytes::Regex::new(s).map_err(|e| e.to_string())
}
