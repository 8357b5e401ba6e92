//! The writer `redtail follow` hands its events to: the chosen format on standard output,
//! behind the filter when there is one.

use std::io;

use bytes::Bytes;
use event::{Filter, FilteredSink, JsonOptions, JsonWriter, LiveSink, RespStreamWriter};

use crate::follow_args::FollowFormat;

/// A live sink over the replica's argument type.
pub type Output = Box<dyn LiveSink<Bytes>>;

/// The writers buffer whole lines or commands themselves and write them in large pieces, so
/// stdout needs no buffer of its own (its line buffering passes whole lines straight through).
pub fn stdout_output(format: FollowFormat, filter: &Filter, write_snapshot: bool, chunk_elements: usize) -> Output {
    let out = io::stdout().lock();
    let writer: Output = match format {
        FollowFormat::Json => {
            Box::new(JsonWriter::with_options(out, JsonOptions { chunk_elements, ..JsonOptions::default() }))
        }
        // After a resync the snapshot replaces everything, as a real replica's full sync does,
        // unless the target holds only part of the data (a db or key filter), where a
        // FLUSHALL would remove more than redtail writes, or no snapshot is written at all.
        FollowFormat::Resp => {
            let partial = !filter.dbs.is_empty()
                || !filter.key_globs.is_empty()
                || !filter.key_regexes.is_empty()
                || !filter.types.is_empty();
            Box::new(RespStreamWriter::new(out).flush_on_resync(write_snapshot && !partial))
        }
    };
    if filter.is_empty() {
        writer
    } else {
        Box::new(FilteredSink::new(filter.clone(), writer))
    }
}
