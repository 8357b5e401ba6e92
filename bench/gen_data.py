#!/usr/bin/env python3
"""Writes the commands that build one benchmark data set, as RESP on stdout, for
`redis-cli --pipe`. Deterministic: a fixed seed, fixed counts, and absolute expiry times, so the
same data set comes out on every machine (only the server's own aux fields and the stream
delivery times, which the server takes from its clock, differ).

usage: gen_data.py strings|collections|bigkeys [--scale F] [--meta FILE]

--meta FILE receives what the data set holds (`keys=`, `elements=`, ...) for the benchmark's
elements/s column and for the generator's own check against DBSIZE.

Runs with the server defaults (Redis 7.0): small collections stay in their compact encodings
(listpack hashes and zsets up to 128 entries of up to 64 bytes, intsets up to 512 integers,
quicklist lists of 8 KB listpack nodes), larger ones are converted to hashtable/skiplist.
"""

import argparse
import base64
import random
import sys

SEED = 20240601
# 2100-01-01T00:00:00Z in ms: expiry times far in the future, so nothing expires while loading.
FUTURE_MS = 4102444800000
BATCH = 1000  # members per variadic command

WORDS = (
    b"redis valkey stream replica snapshot offset backlog channel cluster slot shard primary "
    b"event order user session cart item price count total status active pending done error "
    b"region country city street name email phone created updated deleted version payload "
    b"the of and to in is it that for on with as at by from this be or are an was"
).split()


class Out:
    """Buffers RESP commands and writes them in large chunks."""

    def __init__(self, stream):
        self.stream = stream
        self.parts = []
        self.size = 0
        self.commands = 0

    def cmd(self, *args):
        parts = self.parts
        parts.append(b"*%d\r\n" % len(args))
        for a in args:
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
            self.size += len(a)
        self.commands += 1
        if self.size > 1 << 22:
            self.flush()

    def cmd_list(self, head, args):
        """A command whose arguments are `head` followed by `args`."""
        self.cmd(*head, *args)

    def flush(self):
        self.stream.write(b"".join(self.parts))
        self.parts = []
        self.size = 0


class Values:
    """Pools of incompressible and compressible bytes, sliced to make values fast."""

    def __init__(self, rng):
        self.rng = rng
        raw = rng.randbytes(3 << 22)
        # Incompressible but printable (tokens, hashes, base64 blobs: most real "random" values).
        self.random_pool = base64.b64encode(raw)
        # Truly binary: not valid UTF-8, so JSON writers need their escape or wrapper.
        self.binary_pool = raw[: 1 << 22]
        words = [rng.choice(WORDS) for _ in range(400_000)]
        # Prose-like text: LZF finds repeated words (roughly 2x).
        self.text_pool = b" ".join(words)
        # Highly repetitive records, as JSON blobs in caches often are (roughly 5-10x).
        rec = b'{"id":%d,"status":"active","type":"session","flags":[1,2,3],"region":"eu-west"},'
        self.rep_pool = b"".join(rec % (i % 97) for i in range(60_000))

    def random_bytes(self, n):
        """Random printable bytes (base64 alphabet)."""
        off = self.rng.randrange(len(self.random_pool) - n)
        return self.random_pool[off:off + n]

    def binary(self, n):
        off = self.rng.randrange(len(self.binary_pool) - n)
        return self.binary_pool[off:off + n]

    def text(self, n):
        off = self.rng.randrange(len(self.text_pool) - n)
        return self.text_pool[off:off + n]

    def repetitive(self, n):
        off = self.rng.randrange(len(self.rep_pool) - n)
        return self.rep_pool[off:off + n]

    def mixed(self, n):
        """Two thirds incompressible (a sixth of those binary), a third compressible."""
        r = self.rng.random()
        if r < 0.55:
            return self.random_bytes(n)
        if r < 0.65:
            return self.binary(n)
        if r < 0.85:
            return self.text(n)
        return self.repetitive(n)

    def integer(self):
        r = self.rng.random()
        if r < 0.3:
            return b"%d" % self.rng.randrange(-128, 128)
        if r < 0.6:
            return b"%d" % self.rng.randrange(-32768, 32768)
        if r < 0.9:
            return b"%d" % self.rng.randrange(-(2**31), 2**31)
        return b"%d" % self.rng.randrange(-(2**63), 2**63)

    def member(self, lo, hi):
        """A collection element: an integer, text, a random token or binary bytes."""
        r = self.rng.random()
        if r < 0.25:
            return self.integer()
        n = self.rng.randint(lo, hi)
        if r < 0.65:
            return self.text(n)
        if r < 0.90:
            return self.random_bytes(n)
        return self.binary(n)


def expire_arg(rng):
    return b"%d" % (FUTURE_MS + rng.randrange(10**9))


# ------------------------------------------------------------------------------------------------
def gen_strings(out, rng, scale):
    v = Values(rng)
    n = int(900_000 * scale)
    for i in range(n):
        key = b"%s:%08d" % (rng.choice((b"s", b"user:session", b"cache:page", b"k")), i)
        r = rng.random()
        if r < 0.10:
            val = v.integer()
        elif r < 0.45:
            val = v.mixed(rng.randint(10, 100))
        elif r < 0.78:
            val = v.mixed(rng.randint(100, 1000))
        else:
            val = v.mixed(rng.randint(1000, 10_000))
        if rng.random() < 0.20:
            out.cmd(b"SET", key, val, b"PXAT", expire_arg(rng))
        else:
            out.cmd(b"SET", key, val)
    return {"keys": n, "elements": n}


def batched(out, head, items):
    for i in range(0, len(items), BATCH):
        out.cmd_list(head, items[i:i + BATCH])


def gen_collections(out, rng, scale):
    v = Values(rng)
    keys = 0
    elements = 0

    def count(n):
        nonlocal keys, elements
        keys += 1
        elements += n

    def maybe_expire(key):
        if rng.random() < 0.10:
            out.cmd(b"PEXPIREAT", key, expire_arg(rng))

    def s(n):
        return max(1, int(n * scale))

    # Lists: small ones are one listpack node, large ones many (quicklist).
    for i in range(s(28_000)):
        key = b"list:small:%d" % i
        n = rng.randint(5, 100)
        batched(out, (b"RPUSH", key), [v.member(4, 48) for _ in range(n)])
        maybe_expire(key)
        count(n)
    for i in range(s(280)):
        key = b"list:large:%d" % i
        n = rng.randint(2_000, 20_000)
        batched(out, (b"RPUSH", key), [v.member(4, 64) for _ in range(n)])
        maybe_expire(key)
        count(n)

    # Sets: intsets (<= 512 integers), small and large hashtable sets.
    for i in range(s(14_000)):
        key = b"set:int:%d" % i
        members = list({b"%d" % rng.randrange(-(2**40), 2**40) for _ in range(rng.randint(5, 500))})
        batched(out, (b"SADD", key), members)
        maybe_expire(key)
        count(len(members))
    for i in range(s(14_000)):
        key = b"set:small:%d" % i
        members = list({v.member(6, 40) for _ in range(rng.randint(5, 100))})
        batched(out, (b"SADD", key), members)
        maybe_expire(key)
        count(len(members))
    for i in range(s(200)):
        key = b"set:large:%d" % i
        n = rng.randint(1_000, 10_000)
        members = [b"m:%d:%s" % (j, v.text(rng.randint(4, 24))) for j in range(n)]
        batched(out, (b"SADD", key), members)
        maybe_expire(key)
        count(n)

    # Sorted sets: listpack (<= 128 entries of <= 64 bytes) and skiplist.
    def score():
        r = rng.random()
        if r < 0.4:
            return b"%d" % rng.randrange(-1000, 100_000)
        if r < 0.95:
            return repr(rng.uniform(-1e6, 1e6)).encode()
        return rng.choice((b"inf", b"-inf", b"0", b"-0.5", b"1e300"))

    for i in range(s(21_000)):
        key = b"zset:small:%d" % i
        n = rng.randint(5, 120)
        args = []
        for j in range(n):
            args += (score(), b"%d:%s" % (j, v.text(rng.randint(4, 40))))
        batched(out, (b"ZADD", key), args)
        maybe_expire(key)
        count(n)
    for i in range(s(200)):
        key = b"zset:large:%d" % i
        n = rng.randint(1_000, 10_000)
        args = []
        for j in range(n):
            args += (score(), b"m:%d:%s" % (j, v.text(rng.randint(4, 30))))
        batched(out, (b"ZADD", key), args)
        maybe_expire(key)
        count(n)

    # Hashes: listpack (<= 128 fields of <= 64 bytes) and hashtable.
    for i in range(s(28_000)):
        key = b"hash:small:%d" % i
        n = rng.randint(5, 100)
        args = []
        for j in range(n):
            args += (b"f%d" % j, v.member(2, 60))
        batched(out, (b"HSET", key), args)
        maybe_expire(key)
        count(n)
    for i in range(s(200)):
        key = b"hash:large:%d" % i
        n = rng.randint(1_000, 10_000)
        args = []
        for j in range(n):
            args += (b"field:%d" % j, v.member(4, 120))
        batched(out, (b"HSET", key), args)
        maybe_expire(key)
        count(n)

    # Streams: explicit IDs, deleted entries, consumer groups with pending entries lists.
    base_ms = 1_700_000_000_000
    for i in range(s(2_100)):
        key = b"stream:%d" % i
        n = rng.randint(200, 2_000)
        nfields = rng.randint(2, 5)
        ms = base_ms + i * 10_000_000
        ids = []
        for j in range(n):
            if rng.random() < 0.3:
                ms += rng.randint(1, 1000)
            ids.append(b"%d-%d" % (ms, j))
            args = [key, ids[-1]]
            for f in range(nfields):
                args += (b"field%d" % f, v.member(2, 40))
            out.cmd(b"XADD", *args)
        # Deleted entries stay in their listpack, flagged: the decoder must skip them.
        dead = sorted(rng.sample(range(n), n // 20))
        for j in range(0, len(dead), BATCH):
            out.cmd_list((b"XDEL", key), [ids[k] for k in dead[j:j + BATCH]])
        deleted = len(dead)
        for g in range(rng.randint(1, 3)):
            group = b"group%d" % g
            out.cmd(b"XGROUP", b"CREATE", key, group, b"0")
            read = 0
            for c in range(rng.randint(1, 3)):
                count_ = rng.randint(10, 200)
                out.cmd(b"XREADGROUP", b"GROUP", group, b"consumer%d" % c, b"COUNT",
                        b"%d" % count_, b"STREAMS", key, b">")
                read += count_
            # Acknowledge some of what was read, leaving holes in the PELs.
            acked = [ids[k] for k in range(0, min(read, n), 7)]
            if acked:
                out.cmd_list((b"XACK", key, group), acked)
        maybe_expire(key)
        count(n - deleted)
    return {"keys": keys, "elements": elements}


def gen_bigkeys(out, rng, scale):
    v = Values(rng)
    n_list = int(10_000_000 * scale)
    n_zset = int(3_000_000 * scale)
    n_hash = int(3_000_000 * scale)
    for i in range(0, n_list, BATCH):
        items = []
        for j in range(i, min(i + BATCH, n_list)):
            items.append(b"%d" % j if j & 1 else b"item:%d" % j)
        out.cmd_list((b"RPUSH", b"big:list"), items)
    for i in range(0, n_zset, BATCH):
        args = []
        for j in range(i, min(i + BATCH, n_zset)):
            args += (b"%d.%d" % (j, j % 7) if j % 3 else b"%d" % j, b"member:%d" % j)
        out.cmd_list((b"ZADD", b"big:zset"), args)
    for i in range(0, n_hash, BATCH):
        args = []
        for j in range(i, min(i + BATCH, n_hash)):
            args += (b"field:%d" % j, v.member(4, 24))
        out.cmd_list((b"HSET", b"big:hash"), args)
    return {"keys": 3, "elements": n_list + n_zset + n_hash}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", choices=("strings", "collections", "bigkeys"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--meta")
    a = ap.parse_args()
    rng = random.Random(f"{SEED}:{a.dataset}")
    out = Out(sys.stdout.buffer)
    gen = {"strings": gen_strings, "collections": gen_collections, "bigkeys": gen_bigkeys}
    meta = gen[a.dataset](out, rng, a.scale)
    out.flush()
    sys.stdout.buffer.flush()
    meta.update(commands=out.commands, scale=a.scale)
    if a.meta:
        with open(a.meta, "w") as f:
            for k, val in meta.items():
                f.write(f"{k}={val}\n")


if __name__ == "__main__":
    main()
