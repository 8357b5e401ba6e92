//! `redtail follow --config FILE`: a TOML file for everything the flags set (docs/config.md).
//!
//! The file fills in only what the command line leaves unset: a flag given on the command line
//! (or through its environment variable, `REDISCLI_AUTH`) always wins, which clap's
//! `ArgMatches::value_source` tells apart from a default. A list given on the command line
//! replaces the file's list rather than adding to it, so the command line says exactly what
//! runs.
//!
//! Secrets need not be in the file: `password_env` names an environment variable and
//! `password_file` a file (its first line) holding the password; `password` in clear is
//! accepted for those who insist. Nothing here logs a value.
//!
//! Every mistake is a usage error (exit code 2) that names the place: TOML syntax and unknown
//! keys through the `toml` crate's own line-and-column messages, a value that does not parse
//! through the span of that value.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::parser::ValueSource;
use clap::{ArgMatches, ValueEnum};
use serde::Deserialize;
use toml::Spanned;

use crate::cli::{parse_regex, KeyType};
use crate::exit::Failure;
use crate::follow_args::FollowArgs;

/// The file's layout: one table per concern; each key is the long flag's name with `_` for
/// `-` (`[sink] rotate_size` is `--rotate-size`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    source: SourceTable,
    #[serde(default)]
    position: PositionTable,
    #[serde(default)]
    sink: SinkTable,
    #[serde(default)]
    filter: FilterTable,
    #[serde(default)]
    operation: OperationTable,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceTable {
    url: Option<String>,
    sources: Option<Vec<String>>,
    sentinel: Option<Vec<String>>,
    master_name: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    socket: Option<PathBuf>,
    user: Option<String>,
    password: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<PathBuf>>,
    tls: Option<bool>,
    cacert: Option<PathBuf>,
    cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    sni: Option<String>,
    insecure: Option<bool>,
    retries: Option<Spanned<u32>>,
    read_timeout: Option<Spanned<u64>>,
}

/// A password, from at most one of three places (the source's, or the `[sink]` target's).
struct Secret {
    password: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<PathBuf>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PositionTable {
    from: Option<Spanned<String>>,
    fallback: Option<Spanned<String>>,
    checkpoint: Option<PathBuf>,
    ack: Option<Spanned<String>>,
    ack_interval_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkTable {
    /// `--sink`: stdout, kafka://..., redis://..., file:PATH.
    url: Option<String>,
    format: Option<Spanned<String>>,
    snapshot: Option<Spanned<String>>,
    chunk_elements: Option<Spanned<u64>>,
    rotate_size: Option<Spanned<String>>,
    rotate_interval: Option<Spanned<String>>,
    fsync: Option<Spanned<String>>,
    kafka_opts: Option<Vec<String>>,
    kafka_routes: Option<Vec<String>>,
    kafka_window: Option<Spanned<String>>,
    kafka_transactional: Option<Transactional>,
    kafka_checkpoint_topic: Option<String>,
    on_target_error: Option<Spanned<String>>,
    target_flush: Option<bool>,
    snapshot_via: Option<Spanned<String>>,
    target_user: Option<String>,
    target_password: Option<Spanned<String>>,
    target_password_env: Option<Spanned<String>>,
    target_password_file: Option<Spanned<PathBuf>>,
    target_cacert: Option<PathBuf>,
    target_cert: Option<PathBuf>,
    target_tls_key: Option<PathBuf>,
    target_sni: Option<String>,
    target_insecure: Option<bool>,
}

/// `kafka_transactional = true` (the default ID), `false`, or `"ID"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Transactional {
    On(bool),
    Id(String),
}

impl Transactional {
    /// The flag's form: `None` off, `Some("")` for the default ID.
    fn flag(self) -> Option<String> {
        match self {
            Transactional::On(on) => on.then(String::new),
            Transactional::Id(id) => Some(id),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterTable {
    dbs: Option<Vec<u64>>,
    keys: Option<Vec<String>>,
    key_regexes: Option<Vec<Spanned<String>>>,
    types: Option<Vec<Spanned<String>>>,
    commands: Option<Vec<String>>,
    exclude_commands: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationTable {
    metrics_addr: Option<String>,
    verbose: Option<u8>,
    sched_slice_us: Option<Spanned<u64>>,
}

/// Reads `path` and fills in `args` where `matches` (the command line they came from) left
/// them unset.
pub fn apply(path: &Path, args: &mut FollowArgs, matches: &ArgMatches) -> Result<(), Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(anyhow!("cannot read the config file {}: {e}", path.display())))?;
    apply_text(&text, path, args, matches)
}

fn apply_text(text: &str, path: &Path, args: &mut FollowArgs, matches: &ArgMatches) -> Result<(), Failure> {
    // The toml crate's message starts "TOML parse error at line L, column C" and shows the line.
    let file: ConfigFile =
        toml::from_str(text).map_err(|e| Failure::Usage(anyhow!("config file {}: {e}", path.display())))?;
    let values = Values { text, path };
    let given =
        |id: &str| matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable));

    // `field`: the FollowArgs field (also clap's id for it); `value`: the file's, if set.
    macro_rules! fill {
        ($field:ident, $value:expr) => {
            if let Some(v) = $value {
                if !given(stringify!($field)) {
                    args.$field = v;
                }
            }
        };
        // A flag of a flattened group: clap's id is still the field's own name.
        ($group:ident . $field:ident, $value:expr) => {
            if let Some(v) = $value {
                if !given(stringify!($field)) {
                    args.$group.$field = v;
                }
            }
        };
    }

    let s = file.source;
    fill!(url, s.url.map(Some));
    fill!(sources, s.sources);
    fill!(sentinels, s.sentinel);
    fill!(master_name, s.master_name.map(Some));
    fill!(host, s.host.map(Some));
    fill!(port, s.port.map(Some));
    fill!(socket, s.socket.map(Some));
    fill!(source_auth.user, s.user.map(Some));
    let secret = Secret { password: s.password, password_env: s.password_env, password_file: s.password_file };
    fill!(source_auth.password, values.secret(secret)?.map(Some));
    fill!(tls, s.tls);
    fill!(source_tls.cacert, s.cacert.map(Some));
    fill!(source_tls.cert, s.cert.map(Some));
    fill!(source_tls.tls_key, s.tls_key.map(Some));
    fill!(source_tls.sni, s.sni.map(Some));
    fill!(source_tls.insecure, s.insecure);
    fill!(retries, s.retries.map(|v| values.at_least_one(v, "[source] retries").map(Some)).transpose()?);
    fill!(read_timeout, s.read_timeout.map(|v| values.at_least_one(v, "[source] read_timeout")).transpose()?);

    let p = file.position;
    fill!(from, values.choice(p.from, "[position] from")?);
    fill!(fallback, values.choice(p.fallback, "[position] fallback")?.map(Some));
    fill!(checkpoint, p.checkpoint.map(Some));
    fill!(ack, values.choice(p.ack, "[position] ack")?);
    fill!(
        ack_interval_ms,
        p.ack_interval_ms.map(|v| values.at_least_one(v, "[position] ack_interval_ms")).transpose()?
    );

    let k = file.sink;
    fill!(sink, k.url);
    fill!(format, values.choice(k.format, "[sink] format")?);
    fill!(snapshot, values.choice(k.snapshot, "[sink] snapshot")?);
    fill!(chunk_elements, k.chunk_elements.map(|v| values.at_least_one(v, "[sink] chunk_elements")).transpose()?);
    let size = sink::file::options::parse_size;
    fill!(rotate_size, k.rotate_size.map(|v| values.parse(v, "[sink] rotate_size", size).map(Some)).transpose()?);
    let interval = sink::file::options::parse_interval;
    fill!(
        rotate_interval,
        k.rotate_interval.map(|v| values.parse(v, "[sink] rotate_interval", interval).map(Some)).transpose()?
    );
    fill!(fsync, k.fsync.map(|v| values.parse(v, "[sink] fsync", |s| s.parse()).map(Some)).transpose()?);
    fill!(kafka_opts, k.kafka_opts);
    fill!(kafka_routes, k.kafka_routes);
    let window = crate::follow_args::parse_window;
    fill!(kafka_window, k.kafka_window.map(|v| values.parse(v, "[sink] kafka_window", window).map(Some)).transpose()?);
    fill!(kafka_transactional, k.kafka_transactional.map(Transactional::flag));
    fill!(kafka_checkpoint_topic, k.kafka_checkpoint_topic.map(Some));
    fill!(on_target_error, values.choice(k.on_target_error, "[sink] on_target_error")?);
    fill!(target_flush, k.target_flush);
    fill!(snapshot_via, values.choice(k.snapshot_via, "[sink] snapshot_via")?);
    fill!(target_conn.target_user, k.target_user.map(Some));
    let secret = Secret {
        password: k.target_password,
        password_env: k.target_password_env,
        password_file: k.target_password_file,
    };
    fill!(target_conn.target_password, values.secret(secret)?.map(Some));
    fill!(target_conn.target_cacert, k.target_cacert.map(Some));
    fill!(target_conn.target_cert, k.target_cert.map(Some));
    fill!(target_conn.target_tls_key, k.target_tls_key.map(Some));
    fill!(target_conn.target_sni, k.target_sni.map(Some));
    fill!(target_conn.target_insecure, k.target_insecure);

    let f = file.filter;
    fill!(dbs, f.dbs);
    fill!(keys, f.keys.map(|keys| keys.into_iter().map(OsString::from).collect()));
    fill!(key_regexes, values.each(f.key_regexes, "[filter] key_regexes", parse_regex)?);
    fill!(types, values.each(f.types, "[filter] types", |s| KeyType::from_str(s, false))?);
    fill!(commands, f.commands);
    fill!(exclude_commands, f.exclude_commands);

    let o = file.operation;
    fill!(metrics_addr, o.metrics_addr.map(Some));
    fill!(verbose, o.verbose);
    fill!(
        sched_slice_us,
        o.sched_slice_us.map(|v| values.at_most(v, 100_000, "[operation] sched_slice_us")).transpose()?
    );
    Ok(())
}

/// Turns the file's values into the flags' types, with errors that name where they are.
struct Values<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Values<'_> {
    /// A usage error at the start of `span`, as "config file F, line L, column C: ...".
    fn error(&self, span: std::ops::Range<usize>, msg: String) -> Failure {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Failure::Usage(anyhow!("config file {}, line {line}, column {column}: {msg}", self.path.display()))
    }

    fn parse<T>(&self, v: Spanned<String>, key: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<T, Failure> {
        parse(v.get_ref()).map_err(|e| self.error(v.span(), format!("{key}: {e}")))
    }

    /// One of a flag's named values (`from = "checkpoint"`).
    fn choice<T: ValueEnum>(&self, v: Option<Spanned<String>>, key: &str) -> Result<Option<T>, Failure> {
        v.map(|v| self.parse(v, key, |s| T::from_str(s, false))).transpose()
    }

    fn each<T>(
        &self,
        v: Option<Vec<Spanned<String>>>,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<Vec<T>>, Failure> {
        v.map(|list| list.into_iter().map(|v| self.parse(v, key, &parse)).collect()).transpose()
    }

    /// The flags' `range(1..)`: a count or duration of zero would mean "never".
    fn at_least_one<T: Copy + PartialOrd + From<u8>>(&self, v: Spanned<T>, key: &str) -> Result<T, Failure> {
        if *v.get_ref() < T::from(1) {
            return Err(self.error(v.span(), format!("{key} must be at least 1")));
        }
        Ok(*v.get_ref())
    }

    fn at_most(&self, v: Spanned<u64>, max: u64, key: &str) -> Result<u64, Failure> {
        if *v.get_ref() > max {
            return Err(self.error(v.span(), format!("{key} must be at most {max}")));
        }
        Ok(*v.get_ref())
    }

    /// The password from at most one of `password`, `password_env` and `password_file`.
    fn secret(&self, s: Secret) -> Result<Option<String>, Failure> {
        let spans: Vec<_> = [
            s.password.as_ref().map(Spanned::span),
            s.password_env.as_ref().map(Spanned::span),
            s.password_file.as_ref().map(Spanned::span),
        ]
        .into_iter()
        .flatten()
        .collect();
        if spans.len() > 1 {
            let msg = "give one of password, password_env and password_file".to_string();
            return Err(self.error(spans[1].clone(), msg));
        }
        if let Some(p) = s.password {
            return Ok(Some(p.into_inner()));
        }
        if let Some(var) = s.password_env {
            return match std::env::var(var.get_ref()) {
                Ok(p) => Ok(Some(p)),
                Err(e) => Err(self.error(var.span(), format!("password_env: ${}: {e}", var.get_ref()))),
            };
        }
        if let Some(file) = s.password_file {
            let path = file.get_ref();
            let text = std::fs::read_to_string(path)
                .map_err(|e| self.error(file.span(), format!("password_file {}: {e}", path.display())))?;
            // The first line: a trailing newline (as `echo` writes) is not part of it.
            return Ok(Some(text.lines().next().unwrap_or_default().to_string()));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::follow_args::{FollowFormat, Start};

    /// `redtail follow ARGS` with the config `text` applied.
    fn run(args: &[&str], text: &str) -> Result<FollowArgs, String> {
        let matches =
            Cli::command().try_get_matches_from(["redtail", "follow"].iter().chain(args)).map_err(|e| e.to_string())?;
        let Command::Follow(mut follow) = Cli::from_arg_matches(&matches).unwrap().command else { unreachable!() };
        let sub = matches.subcommand_matches("follow").unwrap();
        match apply_text(text, Path::new("redtail.toml"), &mut follow, sub) {
            Ok(()) => Ok(*follow),
            Err(Failure::Usage(e)) => Err(format!("{e:#}")),
            Err(other) => panic!("not a usage error: {other:?}"),
        }
    }

    const FILE: &str = r#"
[source]
url = "redis://10.0.0.5:6380"
user = "cdc"
password = "from-the-file"
retries = 3

[position]
from = "checkpoint"
checkpoint = "/var/lib/redtail/cp"

[sink]
url = "file:/var/lib/redtail/events"
format = "resp"
rotate_size = "64mb"
rotate_interval = "1h"
fsync = "always"

[filter]
dbs = [0, 3]
keys = ["user:*"]
types = ["hash", "zset"]

[operation]
verbose = 2
"#;

    #[test]
    fn sentinels_come_from_the_source_table() {
        let text = "[source]\nsentinel = [\"10.0.0.5:26379\", \"10.0.0.6\"]\nmaster_name = \"cache\"\n";
        let a = run(&[], text).unwrap();
        assert_eq!(a.sentinels, ["10.0.0.5:26379", "10.0.0.6"]);
        assert_eq!(a.master_name.as_deref(), Some("cache"));
        let a = run(&["--sentinel", "h:1", "--master-name", "flag"], text).unwrap();
        assert_eq!((a.sentinels, a.master_name.as_deref()), (vec!["h:1".to_string()], Some("flag")));
    }

    #[test]
    fn the_file_fills_in_what_the_command_line_leaves_unset() {
        let a = run(&[], FILE).unwrap();
        assert_eq!(a.url.as_deref(), Some("redis://10.0.0.5:6380"));
        let auth = &a.source_auth;
        assert_eq!((auth.user.as_deref(), auth.password.as_deref()), (Some("cdc"), Some("from-the-file")));
        assert_eq!(a.retries, Some(3));
        assert_eq!(a.from, Start::Checkpoint);
        assert_eq!(a.checkpoint.as_deref(), Some(Path::new("/var/lib/redtail/cp")));
        assert_eq!(a.sink, "file:/var/lib/redtail/events");
        assert_eq!(a.format, FollowFormat::Resp);
        assert_eq!((a.rotate_size, a.rotate_interval), (Some(64 << 20), Some(std::time::Duration::from_secs(3600))));
        assert_eq!(a.fsync, Some(sink::FsyncPolicy::Always));
        assert_eq!(a.dbs, [0, 3]);
        assert_eq!(a.keys, [OsString::from("user:*")]);
        assert_eq!(a.types, [KeyType::Hash, KeyType::Zset]);
        assert_eq!(a.verbose, 2);
        // Defaults the file does not mention stay.
        assert_eq!(a.read_timeout, 60);
    }

    #[test]
    fn the_source_and_the_target_have_their_own_tls_and_credentials() {
        let text = r#"
[source]
cacert = "/etc/source-ca.pem"
insecure = true

[sink]
url = "rediss://10.0.0.9:6380"
target_user = "migrator"
target_password = "target-secret"
target_cacert = "/etc/target-ca.pem"
target_cert = "/etc/target.pem"
target_tls_key = "/etc/target.key"
target_sni = "new.internal"
"#;
        let a = run(&["--target-sni", "flag.internal"], text).unwrap();
        assert_eq!(
            (a.source_tls.cacert.as_deref(), a.source_tls.insecure),
            (Some(Path::new("/etc/source-ca.pem")), true)
        );
        let t = &a.target_conn;
        assert_eq!((t.target_user.as_deref(), t.target_password.as_deref()), (Some("migrator"), Some("target-secret")));
        assert_eq!(t.target_cacert.as_deref(), Some(Path::new("/etc/target-ca.pem")));
        assert_eq!(
            (t.target_cert.as_deref(), t.target_tls_key.as_deref()),
            (Some(Path::new("/etc/target.pem")), Some(Path::new("/etc/target.key")))
        );
        assert_eq!((t.target_sni.as_deref(), t.target_insecure), (Some("flag.internal"), false), "the flag wins");
        let twice = "[sink]\ntarget_password = \"a\"\ntarget_password_file = \"/x\"\n";
        let err = run(&[], twice).unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn flags_win_over_the_file_and_lists_replace() {
        let a = run(
            &["redis://127.0.0.1:7000", "--from", "snapshot", "--db", "5", "--rotate-size", "1kb", "-a", "flag", "-v"],
            FILE,
        )
        .unwrap();
        assert_eq!(a.url.as_deref(), Some("redis://127.0.0.1:7000"));
        assert_eq!(a.from, Start::Snapshot);
        assert_eq!(a.dbs, [5]);
        assert_eq!(a.rotate_size, Some(1024));
        assert_eq!(a.source_auth.password.as_deref(), Some("flag"));
        assert_eq!(a.verbose, 1);
        // An explicit flag equal to its default still wins: `--format json` over the file's resp.
        let a = run(&["--format", "json"], FILE).unwrap();
        assert_eq!(a.format, FollowFormat::Json);
    }

    #[test]
    fn the_transactional_kafka_keys() {
        let sink = |keys: &str| format!("[sink]\nurl = \"kafka://b/t\"\n{keys}\n");
        let a = run(&[], &sink("kafka_transactional = true\nkafka_checkpoint_topic = \"cps\"")).unwrap();
        assert_eq!((a.kafka_transactional.as_deref(), a.kafka_checkpoint_topic.as_deref()), (Some(""), Some("cps")));
        let a = run(&[], &sink("kafka_transactional = \"mine\"")).unwrap();
        assert_eq!(a.kafka_transactional.as_deref(), Some("mine"));
        let a = run(&[], &sink("kafka_transactional = false")).unwrap();
        assert_eq!(a.kafka_transactional, None);
        let a = run(&["--kafka-transactional=flag"], &sink("kafka_transactional = \"file\"")).unwrap();
        assert_eq!(a.kafka_transactional.as_deref(), Some("flag"));
        let err = run(&[], &sink("kafka_transactional = 3")).unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn the_kafka_window_is_a_size_or_0() {
        let sink = |keys: &str| format!("[sink]\nurl = \"kafka://b/t\"\n{keys}\n");
        assert_eq!(run(&[], &sink("kafka_window = \"8mb\"")).unwrap().kafka_window, Some(8 << 20));
        assert_eq!(run(&[], &sink("kafka_window = \"0\"")).unwrap().kafka_window, Some(0));
        assert_eq!(run(&["--kafka-window=1k"], &sink("kafka_window = \"0\"")).unwrap().kafka_window, Some(1000));
        let err = run(&[], &sink("kafka_window = \"lots\"")).unwrap_err();
        assert!(err.contains("line 3") && err.contains("[sink] kafka_window"), "{err}");
    }

    #[test]
    fn secrets_come_from_the_environment_or_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let text = format!("[source]\npassword_file = {:?}\n", secret.to_str().unwrap());
        assert_eq!(run(&[], &text).unwrap().source_auth.password.as_deref(), Some("s3cret"));

        // PATH is set in every test environment; its value stands in for a secret.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(run(&[], "[source]\npassword_env = \"PATH\"\n").unwrap().source_auth.password, Some(path));
        let err = run(&[], "[source]\npassword_env = \"REDTAIL_TEST_NO_SUCH_VARIABLE\"\n").unwrap_err();
        assert!(err.contains("line 2, column 16") && err.contains("REDTAIL_TEST_NO_SUCH_VARIABLE"), "{err}");
        let err = run(&[], "[source]\npassword = \"a\"\npassword_env = \"PATH\"\n").unwrap_err();
        assert!(err.contains("line 3") && err.contains("one of password"), "{err}");
    }

    /// The example in docs/config.md is a valid file that sets what it says.
    #[test]
    fn the_documented_example_works() {
        let doc = include_str!("../../../docs/config.md");
        let example = doc.split("```toml\n").nth(1).unwrap().split("```").next().unwrap();
        // PATH stands in for the secret's variable, which the test environment does not set.
        let example = example.replace("REDTAIL_SOURCE_PASSWORD", "PATH");
        let a = run(&[], &example).unwrap();
        assert_eq!(a.sources, ["redis://10.0.0.6:6379"]);
        assert_eq!(a.sink, "file:/var/lib/redtail/events");
        assert_eq!(a.fallback, Some(crate::follow_args::Fallback::Snapshot));
        assert_eq!(a.rotate_size, Some(256 << 20));
        assert_eq!(a.exclude_commands, ["expire"]);
        assert_eq!(a.metrics_addr.as_deref(), Some("127.0.0.1:9121"));
        assert_eq!(a.sched_slice_us, 200);
        assert!(a.source_auth.password.is_some());
    }

    #[test]
    fn mistakes_name_the_line_and_column() {
        let err = run(&[], "[sink]\nurl = \"stdout\"\nrotate_size = \"lots\"\n").unwrap_err();
        assert!(err.starts_with("config file redtail.toml, line 3, column 15: [sink] rotate_size"), "{err}");

        let err = run(&[], "[position]\nfrom = \"yesterday\"\n").unwrap_err();
        assert!(err.contains("line 2, column 8") && err.contains("yesterday"), "{err}");

        let err = run(&[], "[source]\nurl = \"redis://x\n").unwrap_err();
        assert!(err.contains("line 2"), "unterminated string: {err}");

        let err = run(&[], "[filter]\ndbs = [0]\nkey = [\"a*\"]\n").unwrap_err();
        assert!(err.contains("line 3") && err.contains("unknown field `key`"), "{err}");

        let err = run(&[], "[sorce]\nurl = \"redis://x\"\n").unwrap_err();
        assert!(err.contains("line 1") && err.contains("unknown field `sorce`"), "{err}");

        let err = run(&[], "[position]\nack_interval_ms = 0\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("at least 1"), "{err}");

        let err = run(&[], "[operation]\nsched_slice_us = 100001\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("[operation] sched_slice_us must be at most 100000"), "{err}");
    }
}
