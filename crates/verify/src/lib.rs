//! `redtail verify SOURCE TARGET`: are two live servers holding the same data? It compares key
//! counts per db, then every key's type, TTL and value, in both directions (keys missing in
//! the target, extra keys in the target), and reports each [`Difference`].
//!
//! - **Bounded memory.** Keys come from `SCAN`, a chunk at a time, on every master of a
//!   cluster. Values are read in chunks (`GETRANGE`, `LRANGE`, `XRANGE`, `XPENDING`), and
//!   unordered types are compared by size and then by looking up the source's elements in the
//!   target (`SSCAN`/`ZSCAN`/`HSCAN` against `SISMEMBER`/`ZSCORE`/`HMGET`), so no value is ever
//!   held whole. `DEBUG DIGEST-VALUE` would be cheaper, but production servers refuse `DEBUG`
//!   since 7.0 and its digest is only comparable between identical versions.
//! - **Any version pair.** Only commands of Redis 2.8 are needed for the core types and 5.0 for
//!   streams; newer facts (hash field TTLs, stream entries-added) are compared when both
//!   sides report them.
//! - **The client is the project's own**, not the `redis` crate: `replica` already parses
//!   redis-cli URLs and opens TCP, unix and TLS connections with the same options as `follow`,
//!   `resp` decodes replies with bounded lengths, and the sink's routing module knows cluster
//!   slots. A second client stack would bring a second set of connection rules to document.
//!
//! The data should be quiet while verify runs: a key written between the two reads shows up
//! as a difference.

mod compare;
mod conn;
mod difference;
mod endpoint;
mod error;
mod pair;
mod stream;
mod values;

use replica::{Source, TlsOptions};

pub use compare::{Options, Summary};
pub use difference::{DiffKind, Difference};
pub use error::{Error, Side};

/// Each side's TLS settings, used where its URL asks for TLS: a migration may go between
/// servers that trust different CAs or want different client certificates.
#[derive(Clone, Debug, Default)]
pub struct TlsBySide {
    pub source: TlsOptions,
    pub target: TlsOptions,
}

/// Connects to both servers (every master of a cluster) and compares them; each difference
/// goes to `report` as it is found.
pub async fn verify(
    source: &Source,
    target: &Source,
    tls: &TlsBySide,
    options: &Options,
    report: &mut dyn FnMut(Difference),
) -> Result<Summary, Error> {
    let tls_for = |side: Side, s: &Source| -> Result<Option<conn::Tls>, Error> {
        if !s.tls {
            return Ok(None);
        }
        let tls = match side {
            Side::Source => &tls.source,
            Side::Target => &tls.target,
        };
        let config =
            tls.client_config().map_err(|e| Error::Connect { side, address: s.address.to_string(), source: e })?;
        Ok(Some(conn::Tls { options: tls.clone(), config }))
    };
    let (src_tls, tgt_tls) = (tls_for(Side::Source, source)?, tls_for(Side::Target, target)?);
    let mut src = endpoint::Endpoint::connect(Side::Source, source, src_tls.as_ref()).await?;
    let mut tgt = endpoint::Endpoint::connect(Side::Target, target, tgt_tls.as_ref()).await?;
    compare::run(&mut src, &mut tgt, options, report).await
}
