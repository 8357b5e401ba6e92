#!/usr/bin/env python3
"""The Kafka benchmark of issue 4 (run it with bench/kafka.sh, which builds and checks what this
needs and passes the paths).

For every round and producer variant (a set of --kafka-opt options; variants alternate within a
round): a fresh master, a fresh tansu broker with one topic, and `redtail follow --from now --sink
kafka://`; then a redis-benchmark load (a SET/LPUSH/HSET/ZADD/SADD/INCR mix), and until the master
sees its whole stream acknowledged (redtail acknowledges only what Kafka confirmed). Measured:
events per second delivered, counted on the broker's side (a consumer reads the topic back after
the run: the record count, and their timestamps for the rate per second), the largest lag in bytes
and seconds in the master's INFO replication, redtail's and tansu's CPU, and redtail's peak RSS.

The master, the polling and the report come from bench/follow.py.
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from follow import (  # noqa: E402  (a sibling script, not a package)
    Consumer, Poller, Redis, Server, cpu_seconds, die, free_port, info_fields, median, proc_status,
    replicas_of, run_benchmark, time_lag_max, wait_attached, write_calls,
)

MIB = 1 << 20
TOPIC = "bench"

# Reads the topic back: the number of records, the first and last CreateTime (ms, set by the
# producer when redtail hands the record over), and the busiest second. Run with the tools' Python
# (confluent-kafka); partitions are assigned, a group subscribe takes ~23 s on tansu.
COUNT_SCRIPT = r"""
import collections, json, sys, time
from confluent_kafka import Consumer, TopicPartition, KafkaError
bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "redtail-bench", "enable.partition.eof": True,
              "enable.auto.commit": False, "fetch.max.bytes": 52428800})
c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
count, first, last, per_sec, eof = 0, None, None, collections.Counter(), set()
deadline = time.time() + 600
while len(eof) < partitions and time.time() < deadline:
    for m in c.consume(10000, 1.0):
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
                continue
            raise SystemExit(str(m.error()))
        eof.discard(m.partition())
        count += 1
        ts = m.timestamp()[1]
        first = ts if first is None else min(first, ts)
        last = ts if last is None else max(last, ts)
        per_sec[ts // 1000] += 1
c.close()
print(json.dumps({"count": count, "first_ms": first, "last_ms": last,
                  "busiest_second": max(per_sec.values(), default=0)}))
"""


class Broker:
    """tansu with memory storage on a free port, one topic."""

    def __init__(self, binary, work, partitions):
        self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        self.log = open(os.path.join(work, f"tansu-{self.port}.log"), "wb")
        self.proc = subprocess.Popen([binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                                      "--storage-engine", "memory://tansu/"],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            p = subprocess.run([binary, "topic", "create", "--broker", url, "--partitions", str(partitions), TOPIC],
                               capture_output=True, text=True)
            if p.returncode == 0:
                break
            if time.time() > deadline or self.proc.poll() is not None:
                die(f"tansu did not start or create the topic: {p.stderr}")
            time.sleep(0.1)

    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def measure(cfg, round_no, variant):
    master_srv = Server(cfg.server, cfg.work, "master",
                        extra=["--repl-diskless-sync-delay", "0", "--repl-backlog-size", "256mb",
                               "--client-output-buffer-limit", "replica 0 0 0"])
    master = Redis(master_srv.port)
    broker = Broker(cfg.tansu, cfg.work, cfg.partitions)
    args = [cfg.redtail, "follow", f"redis://127.0.0.1:{master_srv.port}", "--from", "now", "--fallback", "snapshot",
            "--sink", f"kafka://{broker.bootstrap()}/{TOPIC}"]
    for opt in variant.split():
        # `--flag=VALUE` is a redtail option (`--kafka-window=0`); anything else a librdkafka one.
        args += [opt] if opt.startswith("--") else ["--kafka-opt", opt]
    redtail = Consumer(f"redtail-{round_no}", args, cfg.work)
    try:
        wait_attached(master, redtail, acks=True)
        poller = Poller(master_srv.port, redtail.pid)
        cpu0 = (cpu_seconds(redtail.pid), cpu_seconds(broker.proc.pid))
        t0 = time.monotonic()
        poller.start()
        writes, master_rate, _, bench_cmd = run_benchmark(cfg.redis_benchmark, master_srv.port, "mix",
                                                           cfg.requests, cfg.bench_args.split())
        t_load = time.monotonic() - t0
        final = int(info_fields(master.call("INFO", "replication"))["master_repl_offset"])
        deadline = time.monotonic() + 600
        while True:
            if not redtail.alive():
                die(f"redtail exited:\n{redtail.stderr_tail()}")
            reps = replicas_of(info_fields(master.call("INFO", "replication")))
            if reps and int(reps[0]["offset"]) >= final:
                break
            if time.monotonic() > deadline:
                die("redtail did not acknowledge the whole stream within 600 s")
            time.sleep(0.005)
        t_acked = time.monotonic() - t0
        poller.stop()
        cpu = (cpu_seconds(redtail.pid) - cpu0[0], cpu_seconds(broker.proc.pid) - cpu0[1])
        peak_rss = proc_status(redtail.pid, "VmHWM")
        calls = write_calls(master, "mix")
        counted = json.loads(subprocess.run([cfg.python, "-c", COUNT_SCRIPT, broker.bootstrap(), TOPIC,
                                             str(cfg.partitions)], check=True, capture_output=True,
                                            text=True).stdout)
    finally:
        redtail.stop()
        broker.stop()
        master.close()
        master_srv.stop()
    lag_bytes = max((m - o for _, m, o, *_ in poller.samples if o is not None), default=0)
    span_ms = (counted["last_ms"] - counted["first_ms"]) if counted["count"] else 0
    return {
        "round": round_no, "variant": variant or "(defaults)", "writes": calls, "records": counted["count"],
        "load_s": t_load, "acked_s": t_acked, "events_per_s": counted["count"] / t_acked,
        "produce_rate": counted["count"] / (span_ms / 1000) if span_ms else None,
        "busiest_second": counted["busiest_second"], "master_rate": master_rate,
        "lag_bytes_max": lag_bytes, "lag_s_max": time_lag_max(poller.samples),
        "redtail_cpu": cpu[0] / t_acked, "tansu_cpu": cpu[1] / t_acked, "peak_rss": peak_rss,
        "bench_cmd": " ".join(bench_cmd),
    }


def fmt(x, spec):
    return "–" if x is None else format(x, spec)


def report(cfg, results, header):
    lines = [open(header).read().rstrip(), ""]
    lines.append("| variant | events/s delivered (median, best) | produce-time rate | busiest second "
                 "| master writes/s | max lag MiB | max lag s | redtail CPU | tansu CPU | redtail peak RSS MiB |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for variant in cfg.variants:
        rs = [r for r in results if r["variant"] == (variant or "(defaults)")]
        ev = [r["events_per_s"] for r in rs]
        med = lambda k: median([r[k] for r in rs if r[k] is not None]) if rs else None  # noqa: E731
        lines.append(
            f"| {variant or '(defaults)'} | {fmt(median(ev), ',.0f')}, {fmt(max(ev), ',.0f')} "
            f"| {fmt(med('produce_rate'), ',.0f')} | {fmt(med('busiest_second'), ',.0f')} "
            f"| {fmt(med('master_rate'), ',.0f')} | {fmt(max(r['lag_bytes_max'] for r in rs) / MIB, '.1f')} "
            f"| {fmt(max(r['lag_s_max'] for r in rs), '.1f')} | {fmt(med('redtail_cpu') * 100, '.0f')}% "
            f"| {fmt(med('tansu_cpu') * 100, '.0f')}% | {fmt(max(r['peak_rss'] for r in rs) / MIB, '.0f')} |")
    lines.append("")
    lines.append("Per run: round, variant, writes (the master's commandstats) → records in the topic, "
                 "load time → all acknowledged, events/s.")
    lines.append("")
    for r in results:
        lines.append(f"- round {r['round']}, {r['variant']}: {r['writes']:,} writes → {r['records']:,} records; "
                     f"load {r['load_s']:.1f} s, acknowledged at {r['acked_s']:.1f} s; "
                     f"{r['events_per_s']:,.0f} events/s; lag max {r['lag_bytes_max'] / MIB:.1f} MiB, "
                     f"{r['lag_s_max']:.1f} s")
    text = "\n".join(lines) + "\n"
    with open(cfg.out, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser()
    for a in ("server", "tansu", "redtail", "redis-benchmark", "python", "work", "out", "header", "raw"):
        p.add_argument(f"--{a}", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=1_200_000)
    p.add_argument("--bench-args", default="-P 32 -r 1000000 -d 64")
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--variants", default="", help="';'-separated sets of space-separated KEY=VALUE (--kafka-opt) or --FLAG=VALUE")
    cfg = p.parse_args()
    cfg.variants = [v.strip() for v in cfg.variants.split(";")]
    results = []
    with open(cfg.raw, "w") as raw:
        for round_no in range(1, cfg.rounds + 1):
            order = cfg.variants[round_no % len(cfg.variants):] + cfg.variants[:round_no % len(cfg.variants)]
            for variant in order:
                r = measure(cfg, round_no, variant)
                # Not every write reaches the stream (SADD or ZADD of a member already there changes
                # nothing and is not propagated), so records can only be fewer, never more.
                if not 0.9 * r["writes"] < r["records"] <= r["writes"] + 2:
                    die(f"the topic holds {r['records']} records for {r['writes']} writes")
                print(f"kafka-bench: round {round_no} {r['variant']}: {r['events_per_s']:,.0f} events/s, "
                      f"lag max {r['lag_bytes_max'] / MIB:.1f} MiB / {r['lag_s_max']:.1f} s, "
                      f"redtail CPU {r['redtail_cpu'] * 100:.0f}%, tansu CPU {r['tansu_cpu'] * 100:.0f}%",
                      file=sys.stderr, flush=True)
                raw.write(json.dumps(r) + "\n")
                results.append(r)
    report(cfg, results, cfg.header)


if __name__ == "__main__":
    main()
