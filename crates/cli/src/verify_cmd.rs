//! `redtail verify SOURCE TARGET`: wiring only; the comparison is the `verify` crate's. Exit 0
//! when the servers hold the same data, 1 when they differ, 4 or 5 when the source or the target
//! cannot be read.

use std::io::{self, Write};

use anyhow::anyhow;
use replica::{Source, SourceOverrides};
use verify::{Difference, Options, Side};

use crate::exit::{Failure, DIFFERENT};
use crate::verify_args::{VerifyArgs, VerifyFormat};

pub fn run(args: VerifyArgs) -> Result<(), Failure> {
    let source = endpoint(&args.source, &args.source_auth.user, &args.source_auth.password, "SOURCE")?;
    let target = endpoint(&args.target, &args.target_conn.target_user, &args.target_conn.target_password, "TARGET")?;
    let tls = verify::TlsBySide { source: args.source_tls.options(), target: args.target_conn.tls() };
    let options = Options {
        dbs: args.dbs.clone(),
        key_globs: args.keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
        ttl_tolerance_ms: args.ttl_tolerance,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(anyhow!("cannot start the runtime: {e}")))?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut shown = 0u64;
    let mut write_error = None;
    let mut report = |d: Difference| {
        if write_error.is_some() || (args.limit != 0 && shown >= args.limit) {
            return;
        }
        shown += 1;
        if let Err(e) = write_difference(&mut out, &d, args.format) {
            write_error = Some(e);
        }
    };
    let result = runtime.block_on(verify::verify(&source, &target, &tls, &options, &mut report));
    let flushed = out.flush();
    if let Some(e) = write_error.or(flushed.err()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(Failure::Io(anyhow!("cannot write the differences: {e}")));
        }
    }
    // The error's own text already carries its causes; the chain would repeat them.
    let summary = result.map_err(|e| match e.side() {
        Side::Source => Failure::Source(anyhow!("verify: cannot read the source: {e}")),
        Side::Target => Failure::Sink(anyhow!("verify: cannot read the target: {e}")),
    })?;
    let dbs: Vec<String> = summary.dbs.iter().map(u64::to_string).collect();
    let shown_note = if summary.differences > shown { format!(" ({shown} shown; see --limit)") } else { String::new() };
    // The summary goes to stderr so that stdout holds only differences, one per line.
    let _ = writeln!(
        io::stderr(),
        "redtail verify: {} differences{shown_note}; {} source keys compared, {} target keys checked, dbs [{}]",
        summary.differences,
        summary.keys_compared,
        summary.target_keys_checked,
        dbs.join(", ")
    );
    if summary.differences > 0 {
        return Err(Failure::Reported(DIFFERENT));
    }
    Ok(())
}

/// A side's address from its URL, with the flags' credentials winning over the URL's.
fn endpoint(url: &str, user: &Option<String>, password: &Option<String>, what: &str) -> Result<Source, Failure> {
    let overrides = SourceOverrides { user: user.clone(), password: password.clone(), ..Default::default() };
    Source::resolve(Some(url), &overrides).map_err(|e| Failure::Usage(anyhow!(e).context(format!("verify {what}"))))
}

fn write_difference(out: &mut impl Write, d: &Difference, format: VerifyFormat) -> io::Result<()> {
    match format {
        VerifyFormat::Text => writeln!(out, "{d}"),
        VerifyFormat::Json => {
            let mut line = Vec::with_capacity(128);
            d.write_json(&mut line);
            line.push(b'\n');
            out.write_all(&line)
        }
    }
}
