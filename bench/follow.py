#!/usr/bin/env python3
"""The follow benchmark of issue 3 (run it with bench/follow.sh, which builds and checks what this
needs and passes the paths).

Starts a master on a free loopback port, then for every round, workload and consumer: attaches the
consumer to the (emptied) master, drives a redis-benchmark load, and measures the consumer's CPU
time, the master's output buffer and lag for it, the time until the master sees the final offset
acknowledged, the consumer's peak RSS and the master's throughput. Then a latency phase: redtail
and the redis-event consumer both attached, a writer at a fixed rate, and for each
consumer the time from a write being sent to its line coming out. Writes a markdown report.

Standard library only (a few lines of RESP below), so that nothing needs installing.
"""

import argparse
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1 << 20

# Consumers, in the order of a round. `none` is the master alone (throughput without a consumer).
ALL_CONSUMERS = ["none", "redtail", "redtail-file", "replica", "redis-cli", "redis-event", "redis-event-discard"]
ACKING = ("redtail", "redtail-file", "replica", "redis-event", "redis-event-discard")
NAMES = {"none": "none (master alone)", "redtail": "redtail → /dev/null", "redtail-file": "redtail → file",
         "replica": "real replica", "redis-cli": "redis-cli --replica", "redis-event": "redis-event crate",
         "redis-event-discard": "redis-event crate, no output"}
WORKLOADS = {
    # name -> redis-benchmark tests; the requests are split evenly between the tests
    "set": ["set"],
    "mix": ["set", "lpush", "hset", "zadd", "sadd", "incr"],
}


def log(msg):
    print(f"follow-bench: {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(msg)
    sys.exit(1)


# --- a minimal RESP client -------------------------------------------------------------------------

class Redis:
    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rf = self.sock.makefile("rb")

    def close(self):
        try:
            self.rf.close()
            self.sock.close()
        except OSError:
            pass

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def read(self):
        line = self.rf.readline()
        if not line:
            raise ConnectionError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rf.read(n + 2)
            return data[:-2].decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(f"bad reply {line!r}")

    def call(self, *args):
        self.sock.sendall(self.encode(*args))
        return self.read()

    def pipeline(self, *cmds):
        self.sock.sendall(b"".join(self.encode(*c) for c in cmds))
        return [self.read() for _ in cmds]


def info_fields(text):
    d = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            d[k] = v
    return d


def replicas_of(info):
    """INFO replication -> list of dicts (ip, port, state, offset, lag)."""
    out = []
    for k, v in info.items():
        if k.startswith("slave") and k[5:].isdigit():
            out.append(dict(kv.split("=", 1) for kv in v.split(",")))
    return out


def client_list(text):
    out = []
    for line in text.splitlines():
        if line:
            out.append(dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv))
    return out


# --- processes -----------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of the process (all its threads, live and exited), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def tcp_queues(port_a, port_b):
    """(tx_queue + rx_queue) summed over both ends of the loopback connection between two ports,
    or None when it is not found."""
    total, found = 0, False
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split()
                    lp = int(p[1].rsplit(":", 1)[1], 16)
                    rp = int(p[2].rsplit(":", 1)[1], 16)
                    if {lp, rp} == {port_a, port_b}:
                        tx, rx = p[4].split(":")
                        total += int(tx, 16) + int(rx, 16)
                        found = True
        except FileNotFoundError:
            pass
    return total if found else None


class Server:
    """A redis-server on a free loopback port, in its own temporary directory; checked to be ours
    (INFO's process_id) before anything is sent to it."""

    def __init__(self, binary, workdir, name, extra=()):
        self.dir = tempfile.mkdtemp(prefix=f"{name}.", dir=workdir)
        for attempt in range(5):
            self.port = free_port()
            args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", self.dir, "--logfile", os.path.join(self.dir, "log"),
                    "--daemonize", "no", *extra]
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_ours():
                return
            self.proc.kill()
            self.proc.wait()
        die(f"could not start {binary} (see {self.dir}/log)")

    def _wait_ours(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False  # e.g. the port was taken meanwhile
            try:
                r = Redis(self.port, timeout=2)
                pid = int(info_fields(r.call("INFO", "server"))["process_id"])
                r.close()
                return pid == self.proc.pid
            except (OSError, ConnectionError, RuntimeError):
                time.sleep(0.05)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- consumers -----------------------------------------------------------------------------------

class Consumer:
    """One attached consumer: the process to measure, and how to stop it."""

    def __init__(self, name, args, work, replica_server=None):
        self.name = name
        self.replica_server = replica_server
        self.out_path = None
        self.stderr_path = os.path.join(work, f"{name}.stderr")
        stderr = open(self.stderr_path, "wb")
        if replica_server is not None:
            self.proc = replica_server.proc
        else:
            if name == "redtail-file":
                self.out_path = os.path.join(work, "redtail-follow.jsonl")
                stdout = open(self.out_path, "wb")
            else:
                stdout = subprocess.DEVNULL
            self.proc = subprocess.Popen(args, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
            if stdout is not subprocess.DEVNULL:
                stdout.close()
        stderr.close()
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.replica_server is not None:
            self.replica_server.stop()
        elif self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stderr_tail(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""


# --- the measurements ----------------------------------------------------------------------------

class Poller(threading.Thread):
    """Every `interval` s: the master's CLIENT LIST TYPE replica and INFO replication, and the
    consumer's RSS."""

    def __init__(self, port, pid, interval=0.05):
        super().__init__(daemon=True)
        self.r = Redis(port)
        self.pid = pid
        self.interval = interval
        self.stop_ev = threading.Event()
        self.samples = []  # (t, master_offset, replica_offset or None, lag_s or None, omem, totmem, rss)

    def run(self):
        while not self.stop_ev.is_set():
            t = time.monotonic()
            cl, info = self.r.pipeline(("CLIENT", "LIST", "TYPE", "replica"), ("INFO", "replication"))
            info = info_fields(info)
            reps = replicas_of(info)
            clients = client_list(cl)
            omem = max((int(c["omem"]) for c in clients), default=0)
            tot = max((int(c["tot-mem"]) for c in clients), default=0)
            off = lag = None
            if reps:
                off = min(int(x["offset"]) for x in reps)
                lag = max(int(x["lag"]) for x in reps)
            rss = None
            if self.pid:
                try:
                    rss = proc_status(self.pid, "VmRSS")
                except OSError:
                    pass
            self.samples.append((t, int(info["master_repl_offset"]), off, lag, omem, tot, rss))
            self.stop_ev.wait(max(0.0, self.interval - (time.monotonic() - t)))
        self.r.close()

    def stop(self):
        self.stop_ev.set()
        self.join()


def time_lag_max(samples):
    """Largest lag in seconds from the sampled offsets: at each sample, how long ago the master's
    offset was where the replica's acknowledged offset is now."""
    worst = 0.0
    j = 0
    for t, _, off, _, _, _, _ in samples:
        if off is None:
            continue
        while j < len(samples) and samples[j][1] < off:
            j += 1
        if j < len(samples):
            worst = max(worst, t - samples[j][0])
        else:
            worst = max(worst, t - samples[-1][0])
    return worst


def run_benchmark(bench, port, workload, requests, extra):
    tests = WORKLOADS[workload]
    per = max(1, requests // len(tests))
    cmd = [bench, "-h", "127.0.0.1", "-p", str(port), "-n", str(per), "-t", ",".join(tests),
           "--csv", *extra]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        die(f"redis-benchmark failed: {' '.join(cmd)}\n{p.stderr}")
    total_time = 0.0
    n_tests = 0
    for line in p.stdout.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) < 2 or cells[0] == "test":
            continue
        total_time += per / float(cells[1])
        n_tests += 1
    if n_tests != len(tests):
        die(f"redis-benchmark printed {n_tests} results for {len(tests)} tests: {p.stdout!r}")
    return per * len(tests), per * len(tests) / total_time, wall, cmd


def write_calls(master, workload):
    stats = info_fields(master.call("INFO", "commandstats"))
    total = 0
    for t in WORKLOADS[workload]:
        v = stats.get(f"cmdstat_{t}")
        if v:
            total += int(dict(kv.split("=", 1) for kv in v.split(","))["calls"])
    return total


def wait_attached(master, consumer, acks, timeout=30):
    """Until the master lists the consumer as an online replica (and, for consumers that ack,
    until its acked offset is the master's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not consumer.alive():
            die(f"{consumer.name} exited (status {consumer.proc.returncode}):\n{consumer.stderr_tail()}")
        info = info_fields(master.call("INFO", "replication"))
        reps = [x for x in replicas_of(info) if x.get("state") == "online"]
        if reps and (not acks or int(reps[0]["offset"]) == int(info["master_repl_offset"])):
            return
        time.sleep(0.05)
    die(f"{consumer.name} did not attach within {timeout} s:\n{consumer.stderr_tail()}")


def replica_addr_port(master):
    clients = client_list(master.call("CLIENT", "LIST", "TYPE", "replica"))
    if len(clients) != 1:
        return None
    return int(clients[0]["addr"].rsplit(":", 1)[1])


def wait_detached(master, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not client_list(master.call("CLIENT", "LIST", "TYPE", "replica")):
            return
        time.sleep(0.05)
    die("a consumer is still attached to the master after it was stopped")


def measure_one(cfg, master_srv, master, round_no, workload, name):
    """One consumer, one load. Returns a dict of metrics."""
    work = cfg.work
    master.call("FLUSHALL", "SYNC")
    consumer = None
    acks = name in ACKING
    url = f"redis://127.0.0.1:{master_srv.port}"
    if name in ("redtail", "redtail-file"):
        consumer = Consumer(name, [cfg.redtail, "follow", url, "--format", "json"], work)
    elif name == "replica":
        srv = Server(cfg.server, work, "replica", ["--replicaof", "127.0.0.1", str(master_srv.port)])
        consumer = Consumer(name, None, work, replica_server=srv)
    elif name == "redis-cli":
        consumer = Consumer(name, [cfg.redis_cli, "-h", "127.0.0.1", "-p", str(master_srv.port), "--replica"], work)
    elif name == "redis-event":
        consumer = Consumer(name, [cfg.redis_event, "127.0.0.1", str(master_srv.port)], work)
    elif name == "redis-event-discard":
        consumer = Consumer(name, [cfg.redis_event, "--discard", "127.0.0.1", str(master_srv.port)], work)
    elif name != "none":
        die(f"unknown consumer {name}")

    if consumer:
        wait_attached(master, consumer, acks)
        cport = replica_addr_port(master)
        cpu0 = cpu_seconds(consumer.pid)
    calls0 = write_calls(master, workload)
    m_cpu0 = info_fields(master.call("INFO", "cpu"))
    m_off0 = int(info_fields(master.call("INFO", "replication"))["master_repl_offset"])
    poller = Poller(master_srv.port, consumer.pid if consumer else None)
    poller.start()

    _, rps, wall, bench_cmd = run_benchmark(cfg.redis_benchmark, master_srv.port, workload, cfg.requests, cfg.bench_args)
    t_end = time.monotonic()
    m_off_end = int(info_fields(master.call("INFO", "replication"))["master_repl_offset"])
    # What the master executed (redis-benchmark sends a little more than -n with -P: whole
    # pipelines), from INFO commandstats: the "per 1M commands" figures divide by this.
    n = write_calls(master, workload) - calls0
    res = {"round": round_no, "workload": workload, "consumer": name, "commands": n, "rps": rps,
           "load_s": wall, "bench_cmd": " ".join(["redis-benchmark", "-p", "PORT"] + bench_cmd[5:])}

    if consumer:
        # Acks: until the replica's acked offset is the master's final offset.
        ack_s = None
        drained_s = None
        deadline = t_end + cfg.drain_timeout
        disconnected = False
        while time.monotonic() < deadline:
            info = info_fields(master.call("INFO", "replication"))
            reps = replicas_of(info)
            now = time.monotonic()
            if not reps or not consumer.alive():
                # Gone: it exited, or the master dropped it (client-output-buffer-limit).
                disconnected = True
                log(f"  {name} was disconnected (alive: {consumer.alive()}); its stderr ends with:\n"
                    f"{consumer.stderr_tail()}")
                break
            if acks and ack_s is None and reps and int(reps[0]["offset"]) >= int(info["master_repl_offset"]):
                ack_s = now - t_end
            if drained_s is None:
                clients = client_list(master.call("CLIENT", "LIST", "TYPE", "replica"))
                q = tcp_queues(master_srv.port, cport) if cport else None
                # Drained: nothing left in the master's output buffer beyond its last partly
                # referenced block (a 7.0 replica's omem never drops to 0), and nothing in flight.
                if clients and int(clients[0]["obl"]) == 0 and q == 0 and \
                        int(clients[0]["omem"]) <= cfg.idle_omem and \
                        (not acks or ack_s is not None):
                    drained_s = now - t_end
            if drained_s is not None and (ack_s is not None or not acks):
                break
            time.sleep(0.005)
        poller.stop()
        res["disconnected"] = disconnected
        # CPU: wait until it stops moving (what the consumer read last is processed), at most 2 s.
        # (A consumer that exited has no /proc entry any more: its CPU time is unknown.)
        try:
            cpu1 = cpu_seconds(consumer.pid)
            settle = time.monotonic() + 2
            while time.monotonic() < settle:
                time.sleep(0.2)
                c = cpu_seconds(consumer.pid)
                if c == cpu1:
                    break
                cpu1 = c
            res["cpu_s"] = cpu1 - cpu0
            res["cpu_per_1m"] = res["cpu_s"] / n * 1e6
            res["hwm"] = proc_status(consumer.pid, "VmHWM")
        except OSError:
            res["cpu_s"] = res["cpu_per_1m"] = res["hwm"] = None
        rss = [s[6] for s in poller.samples if s[6] is not None]
        res["rss_max_sampled"] = max(rss) if rss else None
        res["omem_max"] = max(s[4] for s in poller.samples)
        res["totmem_max"] = max(s[5] for s in poller.samples)
        if acks:
            res["lag_bytes_max"] = max((s[1] - s[2] for s in poller.samples if s[2] is not None), default=None)
            res["lag_s_max_info"] = max((s[3] for s in poller.samples if s[3] is not None), default=None)
            res["lag_s_max"] = time_lag_max(poller.samples)
        res["ack_s"] = ack_s
        res["drain_s"] = drained_s
        res["stream_bytes"] = int(info_fields(master.call("INFO", "replication"))["master_repl_offset"]) - m_off0
        if consumer.out_path:
            res["file_bytes"] = os.path.getsize(consumer.out_path)
            res.update(check_file(consumer.out_path, m_off_end))
        consumer.stop()
        if consumer.out_path:
            os.unlink(consumer.out_path)
        wait_detached(master)
    else:
        poller.stop()
    m_cpu1 = info_fields(master.call("INFO", "cpu"))
    res["master_cpu_per_1m"] = sum(float(m_cpu1[k]) - float(m_cpu0[k])
                                   for k in ("used_cpu_sys", "used_cpu_user")) / n * 1e6
    return res


PING_FRAME = len(b"*1\r\n$4\r\nPING\r\n")
OFFSETS = re.compile(rb'"start_offset":(\d+),"end_offset":(\d+)')


def check_file(path, final_offset):
    """redtail's output file: command lines, and whether their offsets chain from the first one to
    the master's offset at the end of the load with nothing missing (only the master's PINGs,
    which are not written, between two commands)."""
    lines = 0
    prev = None
    bad_gaps = 0
    with open(path, "rb") as fh:
        for line in fh:
            if not line.startswith(b'{"event":"command"'):
                continue
            m = OFFSETS.search(line)
            start, end = int(m.group(1)), int(m.group(2))
            if prev is not None and (start - prev) % PING_FRAME != 0 or prev is not None and start < prev:
                bad_gaps += 1
            prev = end
            lines += 1
    tail_ok = prev is not None and final_offset >= prev and (final_offset - prev) % PING_FRAME == 0
    return {"file_commands": lines, "file_complete": bad_gaps == 0 and tail_ok, "file_last_end": prev}


def fmt_line(res):
    parts = [f"{res['consumer']:<12} {res['rps']:>9.0f} req/s"]
    if res.get("disconnected"):
        parts.append("DISCONNECTED")
    if res.get("cpu_per_1m") is not None:
        parts.append(f"cpu {res['cpu_per_1m']:.3f} s/1M")
        parts.append(f"omem max {res['omem_max'] / MIB:.2f} MiB")
        if res.get("ack_s") is not None:
            parts.append(f"acked after {res['ack_s'] * 1000:.0f} ms")
        if res.get("drain_s") is not None:
            parts.append(f"drained after {res['drain_s'] * 1000:.0f} ms")
        else:
            parts.append("NOT drained")
        parts.append(f"HWM {res['hwm'] / MIB:.1f} MiB")
    return ", ".join(parts)


# --- latency -------------------------------------------------------------------------------------

def latency_phase(cfg, master_srv, master, round_no):
    """redtail and the redis-event consumer attached one after the other (see below), both following
    the master while a writer sets keys at a fixed rate."""
    master.call("FLUSHALL", "SYNC")
    me = os.path.abspath(__file__)
    url = f"redis://127.0.0.1:{master_srv.port}"
    pipes = []
    consumers = [("redtail", [cfg.redtail, "follow", url, "--format", "json"]),
                 ("redis-event", [cfg.redis_event, "127.0.0.1", str(master_srv.port)])]
    # Which consumer the master writes to first matters: of two replicas fed by one write, the
    # one written to first is woken first and on this 2-core machine runs at once, while the
    # other waits in the run queue behind the master for some 30 µs (`perf sched timehist`
    # shows it). Redis 7.0 writes to the replica that attached *last* first (feeding the
    # replicas in attach order puts each at the head of its pending-write list). So the
    # consumers attach one at a time, each waited for until the master lists it online, and
    # the order alternates per round. (Started together, redtail reached PSYNC first in every
    # round, whichever was launched first, and so always got the later wake-up.)
    if round_no % 2 == 0:
        consumers.reverse()
    for name, args in consumers:
        out = os.path.join(cfg.work, f"lat-{name}-{round_no}.json")
        err = open(os.path.join(cfg.work, f"lat-{name}.stderr"), "wb")
        p1 = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        p2 = subprocess.Popen([sys.executable, me, "--recv", out], stdin=p1.stdout)
        p1.stdout.close()
        err.close()
        pipes.append((name, p1, p2, out))
        wait_online(master, pipes)
    sent_path = os.path.join(cfg.work, f"lat-sent-{round_no}.json")
    w = subprocess.run([sys.executable, me, "--send", str(master_srv.port), str(cfg.lat_rate),
                        str(cfg.lat_seconds), sent_path])
    if w.returncode != 0:
        die("the latency writer failed")
    time.sleep(1.0)
    for name, p1, p2, _ in pipes:
        p1.terminate()
        p1.wait()
        p2.wait()
    with open(sent_path) as f:
        sent = json.load(f)
    out = {"sent": sent["count"], "achieved_rate": sent["rate"], "attached": [name for name, *_ in pipes]}
    for name, _, _, path in pipes:
        with open(path) as f:
            out[name] = json.load(f)["lat_ns"]
    wait_detached(master)
    return out


def wait_online(master, pipes):
    """Until the master lists one online replica per consumer in `pipes`, each acked up to the
    master's offset (redis-event acks once a second)."""
    deadline = time.monotonic() + 30
    while True:
        info = info_fields(master.call("INFO", "replication"))
        reps = [x for x in replicas_of(info) if x.get("state") == "online"]
        if len(reps) == len(pipes) and all(int(x["offset"]) == int(info["master_repl_offset"]) for x in reps):
            return
        for name, p1, _, _ in pipes:
            if p1.poll() is not None:
                die(f"{name} exited before the latency run (status {p1.returncode})")
        if time.monotonic() > deadline:
            die("the latency run's consumers did not attach within 30 s")
        time.sleep(0.05)


def recv_main(out_path):
    """Reads a consumer's stdout; for every `lat:` SET, receive time - the send time it carries."""
    lat = []
    stdin = sys.stdin.buffer
    mark = b'"args":["lat:'
    while True:
        line = stdin.readline()
        if not line:
            break
        now = time.monotonic_ns()
        i = line.find(mark)
        if i < 0:
            continue
        j = line.index(b'","', i)
        k = line.index(b'"', j + 3)
        lat.append(now - int(line[j + 3:k]))
    with open(out_path, "w") as f:
        json.dump({"lat_ns": lat}, f)


def send_main(port, rate, seconds, out_path):
    """SET lat:<seq> <monotonic send time, ns>, one at a time, `rate` per second."""
    r = Redis(port)
    n = int(rate * seconds)
    step = 1e9 / rate
    t0 = time.monotonic_ns() + 10_000_000
    for i in range(n):
        due = t0 + int(i * step)
        while True:
            d = due - time.monotonic_ns()
            if d <= 0:
                break
            if d > 200_000:
                time.sleep((d - 150_000) / 1e9)
        now = time.monotonic_ns()
        r.sock.sendall(Redis.encode("SET", f"lat:{i}", str(now)))
        if r.read() != "OK":
            die("SET failed")
    elapsed = (time.monotonic_ns() - t0) / 1e9
    r.close()
    with open(out_path, "w") as f:
        json.dump({"count": n, "rate": n / elapsed}, f)


# --- report --------------------------------------------------------------------------------------

def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))]


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def maxn(xs):
    xs = [x for x in xs if x is not None]
    return max(xs) if xs else None


def f(x, spec, unit="", none="–"):
    return none if x is None else f"{x:{spec}}{unit}"


def report(cfg, results, latency, header):
    L = [header, ""]
    targets = []
    for workload in cfg.workloads:
        rows = [r for r in results if r["workload"] == workload]
        if not rows:
            continue
        n = cfg.requests
        L.append(f"## Workload `{workload}`: {n:,} commands ({', '.join(t.upper() for t in WORKLOADS[workload])}), "
                 f"`{rows[0]['bench_cmd']}`")
        L.append("")
        L.append("Medians over the rounds; for buffer, lag, ack, drain and RSS the worst round.")
        L.append("")
        L.append("| consumer | CPU s / 1M | master req/s | vs none | master CPU s / 1M | omem max | tot-mem max "
                 "| lag max (bytes) | lag max (s) | INFO lag max (s) | acked after | drained after | peak RSS |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        base = median([r["rps"] for r in rows if r["consumer"] == "none"])
        for c in cfg.consumers:
            rr = [r for r in rows if r["consumer"] == c]
            if not rr:
                continue
            rps = median([r["rps"] for r in rr])
            cpu = median([r.get("cpu_per_1m") for r in rr])
            mcpu = median([r["master_cpu_per_1m"] for r in rr])
            om = maxn([r.get("omem_max") for r in rr])
            tm = maxn([r.get("totmem_max") for r in rr])
            lb = maxn([r.get("lag_bytes_max") for r in rr])
            ls = maxn([r.get("lag_s_max") for r in rr])
            li = maxn([r.get("lag_s_max_info") for r in rr])
            ack_all = [r.get("ack_s") for r in rr]
            ack = maxn(ack_all)
            drain_all = [r.get("drain_s") for r in rr]
            drain = None if any(d is None for d in drain_all) else maxn(drain_all)
            disc = sum(1 for r in rr if r.get("disconnected"))
            hwm = maxn([r.get("hwm") for r in rr])
            name = NAMES[c]
            acks = c in ACKING
            L.append("| " + " | ".join([
                name,
                f(cpu, ".3f"),
                f(rps, ",.0f"),
                "" if c == "none" else (f(rps / base * 100, ".0f", " %") if base else "–"),
                f(mcpu, ".3f"),
                "" if c == "none" else f(om / MIB if om is not None else None, ".2f", " MiB"),
                "" if c == "none" else f(tm / MIB if tm is not None else None, ".2f", " MiB"),
                "" if c == "none" else (f(lb / MIB if lb is not None else None, ".2f", " MiB") if acks else "no acks"),
                "" if c == "none" else (f(ls, ".2f") if acks else "no acks"),
                "" if c == "none" else (f(li, "d") if acks else "no acks"),
                "" if c == "none" else (f(ack * 1000 if ack is not None else None, ".0f", " ms", "never") if acks else "no acks"),
                "" if c == "none" else (f"disconnected by the master ({disc} of {len(rr)} rounds)" if disc else
                                        f(drain * 1000 if drain is not None else None, ".0f", " ms", f"> {cfg.drain_timeout:.0f} s")),
                "" if c == "none" else f(hwm / MIB if hwm is not None else None, ".1f", " MiB"),
            ]) + " |")
            if c == "redtail":
                targets.append((workload, rr))
        files = [r for r in rows if r["consumer"] == "redtail-file"]
        if files:
            complete = all(r.get("file_complete") for r in files)
            L.append("")
            L.append(f"redtail → file wrote {median([r['file_bytes'] for r in files]) / 1e6:,.0f} MB of JSON, "
                     f"{median([r['file_commands'] for r in files]):,.0f} command lines, for "
                     f"{median([r['stream_bytes'] for r in files]) / 1e6:,.0f} MB of replication stream; "
                     f"the command offsets chain without a gap up to the master's final offset in every round: "
                     f"{'yes' if complete else '**NO**'}. (Fewer lines than commands sent is normal for the mix: "
                     f"an SADD or ZADD that changes nothing is not replicated.)")
        L.append("")
        L.append("Per round (CPU s / 1M):")
        L.append("")
        L.append("| consumer | " + " | ".join(f"round {i}" for i in range(1, cfg.rounds + 1)) + " |")
        L.append("|---|" + "---|" * cfg.rounds)
        for c in cfg.consumers:
            if c == "none":
                continue
            rr = {r["round"]: r for r in rows if r["consumer"] == c}
            if rr:
                L.append(f"| {c} | " + " | ".join(f(rr[i].get('cpu_per_1m') if i in rr else None, ".3f")
                                                 for i in range(1, cfg.rounds + 1)) + " |")
        L.append("")

    lat_stats = {}
    if latency:
        L.append(f"## Latency: write on the master → its JSON line, {cfg.lat_rate:,} writes/s for {cfg.lat_seconds:g} s, "
                 f"both consumers attached (one after the other, which first alternating per round), {len(latency)} round(s)")
        L.append("")
        sent = sum(x["sent"] for x in latency)
        rate = median([x["achieved_rate"] for x in latency])
        L.append(f"{sent:,} writes sent (achieved {rate:,.0f}/s); receive time is when a reader process got the "
                 f"line from the consumer's stdout pipe (CLOCK_MONOTONIC on both sides).")
        L.append("")
        L.append("| consumer | lines | p50 | p90 | p99 | p99.9 | max |")
        L.append("|---|---|---|---|---|---|---|")
        for name in ("redtail", "redis-event"):
            v = [x for l in latency for x in l[name]]
            s = {p: pct(v, p) for p in (50, 90, 99, 99.9, 100)}
            lat_stats[name] = (len(v), s)
            L.append(f"| {name} | {len(v):,} | " + " | ".join(f(s[p] / 1e6 if s[p] is not None else None, ".3f", " ms")
                                                            for p in (50, 90, 99, 99.9, 100)) + " |")
        L.append("")
        if len(latency) > 1:
            L.append("p99 per round: " + "; ".join(
                f"round {i + 1}: redtail {pct(x['redtail'], 99) / 1e6:.3f} ms, redis-event {pct(x['redis-event'], 99) / 1e6:.3f} ms"
                for i, x in enumerate(latency) if x['redtail'] and x['redis-event']))
            L.append("")

    # Targets
    L.append("## Targets (issue 3), redtail with JSON output to /dev/null")
    L.append("")
    L.append("| target | workload | measured | result |")
    L.append("|---|---|---|---|")

    def verdict(ok):
        return "**pass**" if ok else "**FAIL**"
    for workload, rr in targets:
        if any(r.get("disconnected") or r.get("cpu_per_1m") is None for r in rr):
            L.append(f"| redtail stayed connected and measurable in every round | {workload} | "
                     f"{sum(1 for r in rr if r.get('disconnected'))} disconnects | **FAIL** |")
            continue
        cpu = median([r["cpu_per_1m"] for r in rr])
        L.append(f"| CPU ≤ 0.35 s per 1M commands (median) | {workload} | {cpu:.3f} s | {verdict(cpu <= 0.35)} |")
        om = maxn([r["omem_max"] for r in rr])
        L.append(f"| master output buffer (omem) never above 1 MB (1 MiB; worst round) | {workload} | "
                 f"{om / MIB:.2f} MiB | {verdict(om <= MIB)} |")
        acks = [r.get("ack_s") for r in rr]
        ack = None if any(a is None for a in acks) else max(acks)
        L.append(f"| acked offset = master_repl_offset within 0.2 s of the load ending (worst round) | {workload} | "
                 f"{f(ack * 1000 if ack is not None else None, '.0f', ' ms', 'never')} | {verdict(ack is not None and ack <= 0.2)} |")
        hwm = maxn([r["hwm"] for r in rr])
        L.append(f"| RSS under 50 MB while streaming (peak, 50 MiB; worst round) | {workload} | "
                 f"{hwm / MIB:.1f} MiB | {verdict(hwm < 50 * MIB)} |")
    if lat_stats:
        (n_rt, s_rt), (n_re, s_re) = lat_stats["redtail"], lat_stats["redis-event"]
        if s_rt[99] is not None and s_re[99] is not None:
            ok = s_rt[99] <= s_re[99] and n_rt >= n_re
            L.append(f"| latency p99 at {cfg.lat_rate:,}/s no worse than the redis-event consumer's | – | "
                     f"{s_rt[99] / 1e6:.3f} ms vs {s_re[99] / 1e6:.3f} ms ({n_rt:,} vs {n_re:,} lines) | {verdict(ok)} |")
    if not targets and not lat_stats:
        L.append("| (redtail was not measured) | | | |")
    L.append("")
    return "\n".join(L)


# --- main ----------------------------------------------------------------------------------------

def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--recv":
        return recv_main(sys.argv[2])
    if len(sys.argv) > 1 and sys.argv[1] == "--send":
        return send_main(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--redis-cli", required=True)
    ap.add_argument("--redis-benchmark", required=True)
    ap.add_argument("--redtail")
    ap.add_argument("--redis-event")
    ap.add_argument("--work", required=True)
    ap.add_argument("--consumers", default=" ".join(ALL_CONSUMERS))
    ap.add_argument("--workloads", default="set mix")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--bench-args", default="-P 32 -r 1000000 -d 64")
    ap.add_argument("--lat-rate", type=int, default=1000)
    ap.add_argument("--lat-seconds", type=float, default=20)
    ap.add_argument("--lat-rounds", type=int, default=None, help="default: --rounds")
    ap.add_argument("--drain-timeout", type=float, default=120)
    ap.add_argument("--header", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--raw", required=True)
    cfg = ap.parse_args()
    cfg.consumers = cfg.consumers.split()
    cfg.workloads = cfg.workloads.split()
    cfg.bench_args = cfg.bench_args.split()
    for c in cfg.consumers:
        if c not in ALL_CONSUMERS:
            die(f"unknown consumer '{c}' (known: {' '.join(ALL_CONSUMERS)})")
    for w in cfg.workloads:
        if w not in WORKLOADS:
            die(f"unknown workload '{w}' (known: {' '.join(WORKLOADS)})")
    if cfg.lat_rounds is None:
        cfg.lat_rounds = cfg.rounds
    if cfg.lat_seconds <= 0 or not cfg.redtail or not cfg.redis_event:
        cfg.lat_rounds = 0

    master_srv = Server(cfg.server, cfg.work, "master", ["--repl-diskless-sync-delay", "0"])
    master = Redis(master_srv.port, timeout=60)
    # 7.0 keeps a replica's omem at the size of the replication buffer block it is in (16 KiB and
    # some), even when it has read everything: below this it counts as drained.
    cfg.idle_omem = 64 * 1024
    log(f"master: {cfg.server} on port {master_srv.port}, pid {master_srv.proc.pid}")
    results, latency = [], []
    try:
        for rnd in range(1, cfg.rounds + 1):
            for workload in cfg.workloads:
                # Rotate the order each round, so no consumer always runs first or last.
                k = (rnd - 1) % len(cfg.consumers)
                order = cfg.consumers[k:] + cfg.consumers[:k]
                log(f"round {rnd}/{cfg.rounds}, workload {workload}: {' '.join(order)}")
                for c in order:
                    res = measure_one(cfg, master_srv, master, rnd, workload, c)
                    results.append(res)
                    log("  " + fmt_line(res))
                    with open(cfg.raw, "a") as fo:
                        fo.write(json.dumps(res) + "\n")
        for rnd in range(1, cfg.lat_rounds + 1):
            log(f"latency round {rnd}/{cfg.lat_rounds}: {cfg.lat_rate}/s for {cfg.lat_seconds:g} s")
            lat = latency_phase(cfg, master_srv, master, rnd)
            latency.append(lat)
            log(f"  attached {lat['attached'][0]} first, so the master wrote to {lat['attached'][1]} first")
            for name in ("redtail", "redis-event"):
                v = lat[name]
                log(f"  {name:<12} {len(v)} lines, p50 {pct(v, 50) / 1e6:.3f} ms, p99 {pct(v, 99) / 1e6:.3f} ms, "
                    f"max {max(v) / 1e6:.3f} ms" if v else f"  {name}: no lines")
            with open(cfg.raw, "a") as fo:
                fo.write(json.dumps({"latency_round": rnd, "sent": lat["sent"], "rate": lat["achieved_rate"],
                                     "attached": lat["attached"],
                                     **{k: {"p50": pct(lat[k], 50), "p99": pct(lat[k], 99), "max": maxn(lat[k]),
                                            "n": len(lat[k])} for k in ("redtail", "redis-event")}}) + "\n")
    finally:
        master.close()
        master_srv.stop()
    with open(cfg.header) as fh:
        header = fh.read().rstrip()
    text = report(cfg, results, latency, header)
    with open(cfg.out, "w") as fo:
        fo.write(text + "\n")


if __name__ == "__main__":
    main()
