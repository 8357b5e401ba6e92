//! The source and the target side by side: the same command about the same key on both, at
//! the same time, and the small reply readers the comparisons share.

use resp::Frame;

use crate::conn::describe;
use crate::endpoint::Endpoint;
use crate::error::Error;

pub struct Pair<'a> {
    pub src: &'a mut Endpoint,
    pub tgt: &'a mut Endpoint,
}

impl Pair<'_> {
    /// Runs `args` about `key` on both sides concurrently; server errors are errors here (the
    /// key's type was checked first, so a refusal means the data changed under us).
    pub async fn both<A: AsRef<[u8]>>(&mut self, key: &[u8], args: &[A]) -> Result<(Frame, Frame), Error> {
        let (a, b) = tokio::join!(self.src.call_key(key, args), self.tgt.call_key(key, args));
        let (a, b) = (a?, b?);
        let name = String::from_utf8_lossy(args[0].as_ref()).into_owned();
        check(self.src, &name, &a)?;
        check(self.tgt, &name, &b)?;
        Ok((a, b))
    }

    /// An integer reply on both sides (`STRLEN`, `LLEN`...).
    pub async fn both_int<A: AsRef<[u8]>>(&mut self, key: &[u8], args: &[A]) -> Result<(i64, i64), Error> {
        let name = String::from_utf8_lossy(args[0].as_ref()).into_owned();
        let (a, b) = self.both(key, args).await?;
        Ok((int(self.src, &name, &a)?, int(self.tgt, &name, &b)?))
    }
}

fn check(side: &Endpoint, command: &str, reply: &Frame) -> Result<(), Error> {
    match reply {
        Frame::Error(_) | Frame::BulkError(_) => Err(side.refused(command, reply)),
        _ => Ok(()),
    }
}

pub fn int(side: &Endpoint, command: &str, reply: &Frame) -> Result<i64, Error> {
    match reply {
        Frame::Integer(i) => Ok(*i),
        other => Err(side.unexpected(command, other)),
    }
}

/// The elements of an array reply.
pub fn array<'f>(side: &Endpoint, command: &str, reply: &'f Frame) -> Result<&'f [Frame], Error> {
    match reply {
        Frame::Array(items) => Ok(items),
        other => Err(side.unexpected(command, other)),
    }
}

/// A bulk or simple string.
pub fn text(frame: &Frame) -> Option<&[u8]> {
    match frame {
        Frame::Bulk(b) | Frame::Simple(b) => Some(b),
        Frame::Verbatim { text, .. } => Some(text),
        _ => None,
    }
}

/// A reply shown in a difference's detail.
pub fn show(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(b) | Frame::Simple(b) => crate::difference::quote(b),
        Frame::Integer(i) => i.to_string(),
        other => describe(other),
    }
}
