//! `redtail verify`'s command line. The two servers are URLs in redis-cli's form, credentials
//! included; `-a`/`--user` (and `REDISCLI_AUTH`) give the source's credentials as in redis-cli,
//! `--target-pass`/`--target-user` (and `REDTAIL_TARGET_AUTH`) the target's. Each side has its
//! own TLS flags (`--cacert`…, `--target-cacert`…), used where its URL is `rediss://`.

use clap::{Args, ValueEnum};

use crate::connection_args::{SourceAuthArgs, SourceTlsArgs, TargetConnectionArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// One line per difference: `db 0 key "k": value: ...`.
    Text,
    /// One JSON object per difference: `{"db":0,"key":"k","kind":"value","detail":"..."}`.
    Json,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The server with the original data: redis://[[user]:password@]host[:port], rediss://
    /// (TLS), or unix:///path. A cluster node stands for its whole cluster.
    #[arg(value_name = "SOURCE")]
    pub source: String,

    /// The server to check against the source, in the same forms.
    #[arg(value_name = "TARGET")]
    pub target: String,

    /// Only this db (repeatable) [default: every db with keys on either side].
    #[arg(long = "db", value_name = "N")]
    pub dbs: Vec<u64>,

    /// Only keys matching this glob, as SCAN MATCH uses it (repeatable). Key counts per db are
    /// then not compared.
    #[arg(long = "key", value_name = "GLOB")]
    pub keys: Vec<String>,

    /// Expiry times this many milliseconds apart still count as equal (a key's remaining TTL
    /// moves between the reads of the two sides).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub ttl_tolerance: u64,

    /// How differences are written to standard output.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    pub format: VerifyFormat,

    /// Write at most this many differences; all are counted in the summary (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: u64,

    #[command(flatten)]
    pub source_auth: SourceAuthArgs,

    #[command(flatten)]
    pub source_tls: SourceTlsArgs,

    #[command(flatten)]
    pub target_conn: TargetConnectionArgs,
}
