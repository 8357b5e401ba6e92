//! Cluster redirections on a target connection, sans-IO. A cluster node that does not serve a
//! command's slot answers `-MOVED`, `-ASK` or `-TRYAGAIN` instead of running it. That is not a
//! refusal: nothing was applied, and another node (or the same one, a moment later) will run
//! it. So no policy may skip it: the connection hands the command back, and the cluster sink
//! sends it where the reply says (`redis_cluster::reroute`).

use bytes::Bytes;

/// A command, or a whole `MULTI` … `EXEC`, that a node redirected instead of running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Redirected {
    /// Exactly the bytes written (a transaction from its `MULTI` to its `EXEC`).
    pub command: Bytes,
    /// The node's error reply, without the `-`: `MOVED 3999 127.0.0.1:6381`.
    pub reply: String,
    /// The db it was written in: a resend elsewhere must run it there too.
    pub db: u64,
}

/// Whether an error reply is a redirection rather than a refusal.
pub(super) fn is_redirect(error: &str) -> bool {
    let kind = error.split(' ').next().unwrap_or("");
    matches!(kind, "MOVED" | "ASK" | "TRYAGAIN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirections_and_refusals() {
        assert!(is_redirect("MOVED 3999 127.0.0.1:6381"));
        assert!(is_redirect("ASK 3999 :6381"));
        assert!(is_redirect("TRYAGAIN Multiple keys request during rehashing of slot"));
        assert!(!is_redirect("WRONGTYPE Operation against a key holding the wrong kind of value"));
        assert!(!is_redirect("MOVEDX 1 h:1"));
        assert!(!is_redirect("ERR unknown command 'ASK'"));
    }
}
