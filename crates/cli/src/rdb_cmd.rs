//! `redtail rdb`: decode an RDB file or stream to standard output.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufWriter, Read};

use anyhow::anyhow;
use event::{EventSink, Filter, FilteredSink, JsonOptions, JsonWriter, KeysWriter, RebuildWriter};

use crate::cli::{OutputFormat, RdbArgs};
use crate::decode::{decode, DecodeError};
use crate::exit::{decode_failure, Failure};
use crate::progress::Progress;

/// The input: a file, or standard input for `-`.
pub struct Input {
    /// For messages.
    pub name: String,
    pub reader: Box<dyn Read>,
    /// Size in bytes when it is a regular file.
    pub len: Option<u64>,
}

impl Input {
    pub fn open(path: &OsStr) -> Result<Input, Failure> {
        if path == "-" {
            return Ok(Input { name: "standard input".into(), reader: Box::new(io::stdin().lock()), len: None });
        }
        let name = path.to_string_lossy().into_owned();
        let file = File::open(path).map_err(|e| Failure::Io(anyhow!("cannot open {name}: {e}")))?;
        let meta = file.metadata().map_err(|e| Failure::Io(anyhow!("cannot read {name}: {e}")))?;
        let len = meta.is_file().then_some(meta.len());
        Ok(Input { name, reader: Box::new(file), len })
    }
}

pub fn run(args: RdbArgs) -> Result<(), Failure> {
    let mut input = Input::open(&args.file)?;
    let opts = rdb::Options { verify_checksum: !args.no_verify, ..rdb::Options::default() };
    if args.check {
        return crate::check::run(input, opts);
    }

    let out = BufWriter::with_capacity(event::FLUSH_AT, io::stdout().lock());
    let writer: Box<dyn EventSink> = match args.format {
        OutputFormat::Json => {
            let chunk_elements = usize::try_from(args.chunk_elements).unwrap_or(usize::MAX);
            Box::new(JsonWriter::with_options(out, JsonOptions { chunk_elements, ..JsonOptions::default() }))
        }
        OutputFormat::Resp => Box::new(RebuildWriter::new(out)),
        OutputFormat::Keys => Box::new(KeysWriter::new(out)),
    };
    let filter = Filter {
        dbs: args.dbs,
        key_globs: args.keys.into_iter().map(|k| k.into_encoded_bytes()).collect(),
        key_regexes: args.key_regexes,
        types: args.types.into_iter().map(Into::into).collect(),
        ..Filter::default()
    };
    let mut sink: Box<dyn EventSink> =
        if filter.is_empty() { writer } else { Box::new(FilteredSink::new(filter, writer)) };

    let progress = Progress::for_input(input.len);
    match decode(&mut input.reader, input.len, opts, &mut sink, &progress) {
        Ok(done) => {
            if done.trailing {
                eprintln!(
                    "redtail: warning: {} continues after the end of the RDB at byte offset {} (an AOF tail after an \
                     RDB preamble?); the rest was ignored",
                    input.name, done.rdb_len
                );
            }
            Ok(())
        }
        Err(e) => match e {
            DecodeError::Rdb(e) => Err(decode_failure(e)),
            DecodeError::Read(e) => Err(Failure::Io(anyhow!("cannot read {}: {e}", input.name))),
            DecodeError::Sink(e) if e.is_broken_pipe() => Ok(()),
            DecodeError::Sink(event::Error::Io(e)) => Err(Failure::Io(anyhow!("cannot write the output: {e}"))),
            DecodeError::Sink(e) => {
                Err(Failure::Invalid(anyhow!("{e}\nhint: --format json shows every value as it is in the file")))
            }
        },
    }
}
