//! Which arguments of a command are keys: the `keys` field of `command` events and what key
//! filters match.
//!
//! The table covers the commands that appear in replication streams (reference protocol.md §3:
//! writes as the master rewrites them, plus the forms older servers propagate verbatim, such as
//! `EVAL` and `SETEX`). It mirrors the key specs of `COMMAND INFO`: a range with a step, a
//! `numkeys` argument, or a `STORE` keyword. Names match case-insensitively.
//!
//! **Unknown commands** (module commands, commands newer than this table) are taken to have one
//! key, their first argument. That is right for nearly every module command (`JSON.SET key`,
//! `TS.ADD key`, `BF.ADD key`) and for most future commands; a command that is really keyless
//! then reports its first argument as a key, which at worst lets a key filter pass or drop it
//! by that argument.
//!
//! Malformed argument lists never panic: indices are clamped to the arguments present and a
//! `numkeys` that is not a number counts as 0.

/// Where a command's keys are, as argument indices (0 is the command name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// No keys (`FLUSHALL`, `SWAPDB`, `PUBLISH`: a channel is not a key).
    None,
    /// Every `step`-th argument from `first` through `last`; a negative `last` counts from the
    /// end (-1 is the last argument). Redis' classic (first, last, step) triple.
    Range { first: usize, last: isize, step: usize },
    /// A count of keys at index `at`, then that many keys, each followed by `step - 1` other
    /// arguments. With `dest`, the argument at index 1 (before the count) is a key too
    /// (`ZUNIONSTORE dest numkeys key ...`).
    NumKeys { dest: bool, at: usize, step: usize },
    /// The key at index 1, and the argument after a `STORE` or `STOREDIST` keyword found from
    /// index `from` on (`SORT key ... STORE dest`, `GEORADIUS ... STORE dest`).
    Store { from: usize },
}

/// One key: the first argument. Also the rule for unknown commands.
const FIRST: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };

/// The key spec of a command name, in any case.
pub fn key_spec(name: &[u8]) -> KeySpec {
    // Lowercase into a stack buffer: no allocation per command. No command in the table is
    // longer than the buffer; a longer name is unknown anyway.
    let mut lower = [0u8; 20];
    let Some(lower) = lower.get_mut(..name.len()) else { return FIRST };
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    use KeySpec::*;
    match &*lower {
        b"ping" | b"replconf" | b"select" | b"multi" | b"exec" | b"discard" | b"swapdb" | b"flushdb" | b"flushall"
        | b"function" | b"script" | b"publish" | b"spublish" | b"cluster" => None,

        // Two keys: source and destination.
        b"rpoplpush" | b"brpoplpush" | b"lmove" | b"blmove" | b"smove" | b"rename" | b"renamenx" | b"copy"
        | b"zrangestore" | b"geosearchstore" => Range { first: 1, last: 2, step: 1 },
        // Every argument is a key (for the *STORE commands the destination comes first).
        b"del" | b"unlink" | b"sinterstore" | b"sunionstore" | b"sdiffstore" | b"pfmerge" | b"pfcount" => {
            Range { first: 1, last: -1, step: 1 }
        }
        b"mset" | b"msetnx" => Range { first: 1, last: -1, step: 2 },
        // `BITOP op dest src ...`
        b"bitop" => Range { first: 2, last: -1, step: 1 },
        // Blocking pops end with a timeout (they arrive rewritten, but old AOFs have them).
        b"blpop" | b"brpop" | b"bzpopmin" | b"bzpopmax" => Range { first: 1, last: -2, step: 1 },
        // `XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER key group ...`
        b"xgroup" => Range { first: 2, last: 2, step: 1 },

        b"zunionstore" | b"zinterstore" | b"zdiffstore" => NumKeys { dest: true, at: 2, step: 1 },
        b"eval" | b"evalsha" | b"eval_ro" | b"evalsha_ro" | b"fcall" | b"fcall_ro" => {
            NumKeys { dest: false, at: 2, step: 1 }
        }
        b"blmpop" | b"bzmpop" => NumKeys { dest: false, at: 2, step: 1 },
        b"lmpop" | b"zmpop" => NumKeys { dest: false, at: 1, step: 1 },
        // `MSETEX numkeys key value [key value ...] [options]` (Redis 8.4, Valkey 9.1).
        b"msetex" => NumKeys { dest: false, at: 1, step: 2 },

        b"sort" => Store { from: 2 },
        // `GEORADIUS key lon lat radius unit [options]`, `GEORADIUSBYMEMBER key member radius unit`.
        b"georadius" => Store { from: 6 },
        b"georadiusbymember" => Store { from: 5 },

        // The single-key writes, listed so that the table says what was checked; they share the
        // unknown commands' rule.
        b"set" | b"setnx" | b"setex" | b"psetex" | b"getset" | b"append" | b"setrange" | b"incr" | b"incrby"
        | b"incrbyfloat" | b"decr" | b"decrby" | b"getdel" | b"getex" | b"delifeq" | b"expire" | b"pexpire"
        | b"expireat" | b"pexpireat" | b"persist" | b"move" | b"restore" | b"restore-asking" | b"setbit"
        | b"bitfield" | b"pfadd" | b"rpush" | b"lpush" | b"rpushx" | b"lpushx" | b"lpop" | b"rpop" | b"lset"
        | b"ltrim" | b"lrem" | b"linsert" | b"sadd" | b"srem" | b"spop" | b"zadd" | b"zrem" | b"zincrby"
        | b"zremrangebyscore" | b"zremrangebyrank" | b"zremrangebylex" | b"zpopmin" | b"zpopmax" | b"geoadd"
        | b"hset" | b"hmset" | b"hdel" | b"hincrby" | b"hincrbyfloat" | b"hsetnx" | b"hexpire" | b"hpexpire"
        | b"hexpireat" | b"hpexpireat" | b"hpersist" | b"hsetex" | b"hgetex" | b"hgetdel" | b"xadd" | b"xdel"
        | b"xtrim" | b"xclaim" | b"xautoclaim" | b"xack" | b"xsetid" | b"xackdel" | b"xdelex" => FIRST,
        _ => FIRST,
    }
}

/// The indices of the key arguments of `args` (name first), in argument order.
pub fn key_indices<A: AsRef<[u8]>>(args: &[A]) -> KeyIndices {
    let n = args.len();
    let Some(name) = args.first() else { return KeyIndices::EMPTY };
    match key_spec(name.as_ref()) {
        KeySpec::None => KeyIndices::EMPTY,
        KeySpec::Range { first, last, step } => {
            let end = if last >= 0 {
                (last as usize).saturating_add(1).min(n)
            } else {
                n.saturating_sub(last.unsigned_abs() - 1)
            };
            KeyIndices { lead: None, next: first, end, step, trail: None }
        }
        KeySpec::NumKeys { dest, at, step } => {
            let count = args.get(at).and_then(|a| parse_count(a.as_ref())).unwrap_or(0);
            let next = at + 1;
            let end = count.saturating_mul(step).saturating_add(next).min(n);
            KeyIndices { lead: (dest && n > 1).then_some(1), next, end, step, trail: None }
        }
        KeySpec::Store { from } => {
            KeyIndices { lead: (n > 1).then_some(1), next: 0, end: 0, step: 1, trail: store_target(args, from) }
        }
    }
}

/// The keys of `args` (name first), in argument order.
pub fn command_keys<'a, A: AsRef<[u8]> + 'a>(args: &'a [A]) -> impl Iterator<Item = &'a [u8]> + 'a {
    key_indices(args).map(move |i| args[i].as_ref())
}

/// A non-negative decimal count, as Redis accepts `numkeys`.
fn parse_count(b: &[u8]) -> Option<usize> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// The index of the destination after `STORE`/`STOREDIST`, skipping the values of the options
/// that take some (a `GET store` pattern is not the keyword).
fn store_target<A: AsRef<[u8]>>(args: &[A], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(a) = args.get(i) {
        let a = a.as_ref();
        if a.eq_ignore_ascii_case(b"store") || a.eq_ignore_ascii_case(b"storedist") {
            return (i + 1 < args.len()).then_some(i + 1);
        }
        i += if a.eq_ignore_ascii_case(b"limit") {
            3
        } else if a.eq_ignore_ascii_case(b"by") || a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"count") {
            2
        } else {
            1
        };
    }
    None
}

/// Iterator over key indices: an optional leading index, a stepped range, an optional trailing
/// index. Every spec is one of these shapes, so no allocation is needed.
#[derive(Debug, Clone)]
pub struct KeyIndices {
    lead: Option<usize>,
    next: usize,
    end: usize,
    step: usize,
    trail: Option<usize>,
}

impl KeyIndices {
    const EMPTY: KeyIndices = KeyIndices { lead: None, next: 0, end: 0, step: 1, trail: None };
}

impl Iterator for KeyIndices {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if let Some(i) = self.lead.take() {
            return Some(i);
        }
        if self.next < self.end {
            let i = self.next;
            self.next += self.step;
            return Some(i);
        }
        self.trail.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(cmd: &str) -> Vec<String> {
        let args: Vec<&str> = cmd.split(' ').collect();
        command_keys(&args).map(|k| String::from_utf8(k.to_vec()).unwrap()).collect()
    }

    #[test]
    fn strings_and_generic_keys() {
        assert_eq!(keys("SET k v PXAT 1893456000000"), ["k"]);
        assert_eq!(keys("set k v"), ["k"], "case-insensitive");
        assert_eq!(keys("INCRBY counter 5"), ["counter"]);
        assert_eq!(keys("APPEND k x"), ["k"]);
        assert_eq!(keys("SETRANGE k 3 x"), ["k"]);
        assert_eq!(keys("PEXPIREAT k 1893456000000"), ["k"]);
        assert_eq!(keys("PERSIST k"), ["k"]);
        assert_eq!(keys("DEL a b c"), ["a", "b", "c"]);
        assert_eq!(keys("UNLINK a"), ["a"]);
        assert_eq!(keys("MSET a 1 b 2"), ["a", "b"]);
        assert_eq!(keys("MSETNX a 1 b 2 c"), ["a", "b", "c"], "a truncated pair still names its key");
        assert_eq!(keys("MSETEX 2 a 1 b 2 PX 100"), ["a", "b"]);
        assert_eq!(keys("RENAME a b"), ["a", "b"]);
        assert_eq!(keys("RENAMENX a b"), ["a", "b"]);
        assert_eq!(keys("COPY a b DB 3 REPLACE"), ["a", "b"]);
        assert_eq!(keys("MOVE a 2"), ["a"]);
        assert_eq!(keys("RESTORE k 1893456000000 payload ABSTTL"), ["k"]);
        assert_eq!(keys("SETBIT k 7 1"), ["k"]);
        assert_eq!(keys("BITFIELD k SET u8 0 1"), ["k"]);
        assert_eq!(keys("BITOP AND dest a b"), ["dest", "a", "b"]);
        assert_eq!(keys("PFADD hll a b"), ["hll"]);
        assert_eq!(keys("PFMERGE dest a b"), ["dest", "a", "b"]);
    }

    #[test]
    fn lists_sets_and_sorted_sets() {
        assert_eq!(keys("RPUSH l a b"), ["l"]);
        assert_eq!(keys("LINSERT l BEFORE a b"), ["l"]);
        assert_eq!(keys("LPOP l 3"), ["l"]);
        assert_eq!(keys("RPOPLPUSH src dst"), ["src", "dst"]);
        assert_eq!(keys("LMOVE src dst LEFT RIGHT"), ["src", "dst"]);
        assert_eq!(keys("BLPOP a b 0"), ["a", "b"]);
        assert_eq!(keys("LMPOP 2 a b LEFT"), ["a", "b"]);
        assert_eq!(keys("SADD s a b"), ["s"]);
        assert_eq!(keys("SMOVE src dst m"), ["src", "dst"]);
        assert_eq!(keys("SINTERSTORE dest a b"), ["dest", "a", "b"]);
        assert_eq!(keys("ZADD z 1 a"), ["z"]);
        assert_eq!(keys("ZREMRANGEBYSCORE z 0 1"), ["z"]);
        assert_eq!(keys("ZPOPMAX z 2"), ["z"]);
        assert_eq!(keys("ZUNIONSTORE dest 2 a b WEIGHTS 1 2"), ["dest", "a", "b"]);
        assert_eq!(keys("ZINTERSTORE dest 1 a AGGREGATE MAX"), ["dest", "a"]);
        assert_eq!(keys("ZDIFFSTORE dest 2 a b"), ["dest", "a", "b"]);
        assert_eq!(keys("ZRANGESTORE dst src 0 -1"), ["dst", "src"]);
        assert_eq!(keys("GEOADD g 13.3 38.1 palermo"), ["g"]);
    }

    #[test]
    fn hashes_and_streams() {
        assert_eq!(keys("HSET h f v g w"), ["h"]);
        assert_eq!(keys("HPEXPIREAT h 1893456000000 FIELDS 1 f"), ["h"]);
        assert_eq!(keys("HGETDEL h FIELDS 1 f"), ["h"]);
        assert_eq!(keys("HSETEX h PXAT 1 FIELDS 1 f v"), ["h"]);
        assert_eq!(keys("XADD s 1-1 f v"), ["s"]);
        assert_eq!(keys("XCLAIM s g c 0 1-1 TIME 1 RETRYCOUNT 1 FORCE JUSTID LASTID 1-1"), ["s"]);
        assert_eq!(keys("XGROUP CREATE s g $ MKSTREAM"), ["s"]);
        assert_eq!(keys("XGROUP SETID s g 1-1 ENTRIESREAD 3"), ["s"]);
        assert!(keys("XGROUP HELP").is_empty());
        assert_eq!(keys("XSETID s 5-0"), ["s"]);
    }

    #[test]
    fn scripts_and_store_options() {
        assert_eq!(keys("EVAL script 2 a b x y"), ["a", "b"]);
        assert!(keys("EVALSHA sha 0 x").is_empty());
        assert_eq!(keys("FCALL f 1 a x"), ["a"]);
        assert_eq!(keys("SORT k BY w_* GET store LIMIT 0 10 STORE dest"), ["k", "dest"]);
        assert_eq!(keys("SORT k"), ["k"]);
        assert_eq!(keys("GEORADIUS g 15 37 200 km COUNT 3 STOREDIST d"), ["g", "d"]);
        assert_eq!(keys("GEORADIUSBYMEMBER g store 10 km STORE d"), ["g", "d"]);
    }

    #[test]
    fn keyless_commands() {
        for cmd in ["FLUSHALL", "FLUSHDB ASYNC", "SWAPDB 0 1", "FUNCTION LOAD code", "PUBLISH chan msg", "SPUBLISH c m"]
        {
            assert!(keys(cmd).is_empty(), "{cmd}");
        }
    }

    #[test]
    fn unknown_commands_take_their_first_argument() {
        assert_eq!(keys("JSON.SET doc $ 1"), ["doc"]);
        assert_eq!(keys("SOMEFUTURECOMMANDWITHALONGNAME k"), ["k"]);
        assert!(keys("NOARGS").is_empty());
    }

    #[test]
    fn malformed_input_is_clamped() {
        assert_eq!(keys("EVAL s 99 a"), ["a"]);
        assert!(keys("EVAL s x a").is_empty(), "numkeys not a number");
        assert!(keys("EVAL s -1 a").is_empty());
        assert_eq!(keys("ZUNIONSTORE dest"), ["dest"]);
        assert!(keys("BLPOP").is_empty());
        assert_eq!(keys("SORT k STORE"), ["k"]);
        let empty: [&[u8]; 0] = [];
        assert_eq!(command_keys(&empty).count(), 0);
    }
}
