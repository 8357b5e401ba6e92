//! The connection flags `follow` and `verify` share. The source's TLS flags keep redis-cli's
//! names (`--cacert`, `--cert`, `--tls-key`, `--sni`, `--insecure`); the target's are the same
//! with `--target-` in front, with its own credentials (`--target-pass`, `--target-user`), so a
//! migration between two differently secured servers needs no compromise. clap cannot prefix
//! a flattened group, so these are two small structs that give the same `TlsOptions`.

use std::path::PathBuf;

use clap::Args;
use replica::TlsOptions;

/// The source's credentials, as redis-cli takes them.
#[derive(Debug, Clone, Default, Args)]
pub struct SourceAuthArgs {
    /// The source's password for AUTH (wins over the URL's). Prefer the REDISCLI_AUTH
    /// environment variable, which other users cannot see in the process list.
    #[arg(
        short = 'a',
        long = "pass",
        value_name = "PASSWORD",
        env = "REDISCLI_AUTH",
        hide_env_values = true,
        help_heading = "Connection"
    )]
    pub password: Option<String>,

    /// The source's ACL user for AUTH (Redis 6+), with -a.
    #[arg(long = "user", value_name = "USER", help_heading = "Connection")]
    pub user: Option<String>,
}

/// The source's TLS files and checks, used where its URL is `rediss://` (or with `--tls`).
#[derive(Debug, Clone, Default, Args)]
pub struct SourceTlsArgs {
    /// PEM file of CA certificates to trust (default: the system's).
    #[arg(long, value_name = "FILE", help_heading = "Connection")]
    pub cacert: Option<PathBuf>,

    /// PEM client certificate, for servers with tls-auth-clients.
    #[arg(long, value_name = "FILE", requires = "tls_key", help_heading = "Connection")]
    pub cert: Option<PathBuf>,

    /// PEM private key of --cert (redis-cli calls this --key; here --key filters keys).
    #[arg(long = "tls-key", value_name = "FILE", requires = "cert", help_heading = "Connection")]
    pub tls_key: Option<PathBuf>,

    /// Server name to send and verify, when it differs from the host.
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub sni: Option<String>,

    /// Accept any server certificate (still encrypted, but unauthenticated; for tests).
    #[arg(long, help_heading = "Connection")]
    pub insecure: bool,
}

impl SourceTlsArgs {
    pub fn options(&self) -> TlsOptions {
        tls_options(&self.cacert, &self.cert, &self.tls_key, &self.sni, self.insecure)
    }
}

/// The target's credentials and TLS: `redtail follow --sink redis://…` or `rediss://…`, and
/// `redtail verify`'s TARGET. TLS is on where the target's URL is `rediss://`.
#[derive(Debug, Clone, Default, Args)]
pub struct TargetConnectionArgs {
    /// The target's password (wins over the URL's); also from REDTAIL_TARGET_AUTH, which other
    /// users cannot see in the process list.
    #[arg(
        long = "target-pass",
        value_name = "PASSWORD",
        env = "REDTAIL_TARGET_AUTH",
        hide_env_values = true,
        help_heading = "Target connection"
    )]
    pub target_password: Option<String>,

    /// The target's ACL user, with --target-pass.
    #[arg(long = "target-user", value_name = "USER", help_heading = "Target connection")]
    pub target_user: Option<String>,

    /// PEM file of CA certificates to trust for a rediss:// target (default: the system's).
    #[arg(long, value_name = "FILE", help_heading = "Target connection")]
    pub target_cacert: Option<PathBuf>,

    /// PEM client certificate for the target, for servers with tls-auth-clients.
    #[arg(long, value_name = "FILE", requires = "target_tls_key", help_heading = "Target connection")]
    pub target_cert: Option<PathBuf>,

    /// PEM private key of --target-cert.
    #[arg(long, value_name = "FILE", requires = "target_cert", help_heading = "Target connection")]
    pub target_tls_key: Option<PathBuf>,

    /// Server name to send to the target and verify, when it differs from the host.
    #[arg(long, value_name = "NAME", help_heading = "Target connection")]
    pub target_sni: Option<String>,

    /// Accept any target certificate (still encrypted, but unauthenticated; for tests).
    #[arg(long, help_heading = "Target connection")]
    pub target_insecure: bool,
}

impl TargetConnectionArgs {
    pub fn tls(&self) -> TlsOptions {
        tls_options(
            &self.target_cacert,
            &self.target_cert,
            &self.target_tls_key,
            &self.target_sni,
            self.target_insecure,
        )
    }
}

fn tls_options(
    ca: &Option<PathBuf>,
    cert: &Option<PathBuf>,
    key: &Option<PathBuf>,
    sni: &Option<String>,
    insecure: bool,
) -> TlsOptions {
    TlsOptions { ca_file: ca.clone(), cert_file: cert.clone(), key_file: key.clone(), sni: sni.clone(), insecure }
}
