//! `redtail verify`'s command line. The two servers are URLs in redis-cli's form, credentials
//! included; `-a`/`--user` (and `REDISCLI_AUTH`) give the source's credentials as in redis-cli,
//! `--target-pass`/`--target-user` (and `REDTAIL_TARGET_AUTH`) the target's. The TLS options
//! apply to whichever side is a `rediss://` URL.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

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

    /// The source's password (wins over the URL's). Prefer the REDISCLI_AUTH environment
    /// variable, which other users cannot see in the process list.
    #[arg(
        short = 'a',
        long = "pass",
        value_name = "PASSWORD",
        env = "REDISCLI_AUTH",
        hide_env_values = true,
        help_heading = "Connection"
    )]
    pub password: Option<String>,

    /// The source's ACL user, with -a.
    #[arg(long = "user", value_name = "USER", help_heading = "Connection")]
    pub user: Option<String>,

    /// The target's password (wins over the URL's); also from REDTAIL_TARGET_AUTH.
    #[arg(
        long = "target-pass",
        value_name = "PASSWORD",
        env = "REDTAIL_TARGET_AUTH",
        hide_env_values = true,
        help_heading = "Connection"
    )]
    pub target_password: Option<String>,

    /// The target's ACL user, with --target-pass.
    #[arg(long = "target-user", value_name = "USER", help_heading = "Connection")]
    pub target_user: Option<String>,

    /// PEM file of CA certificates to trust for rediss:// (default: the system's).
    #[arg(long, value_name = "FILE", help_heading = "Connection")]
    pub cacert: Option<PathBuf>,

    /// PEM client certificate, for servers with tls-auth-clients.
    #[arg(long, value_name = "FILE", requires = "tls_key", help_heading = "Connection")]
    pub cert: Option<PathBuf>,

    /// PEM private key of --cert.
    #[arg(long = "tls-key", value_name = "FILE", requires = "cert", help_heading = "Connection")]
    pub tls_key: Option<PathBuf>,

    /// Server name to send and verify, when it differs from the host.
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub sni: Option<String>,

    /// Accept any server certificate (still encrypted, but unauthenticated; for tests).
    #[arg(long, help_heading = "Connection")]
    pub insecure: bool,
}
