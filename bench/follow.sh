#!/usr/bin/env bash
# Runs the follow benchmark of issue 3: `redtail follow` against the other ways of consuming a
# master's replication stream (a real replica, `redis-cli --replica`, a consumer built on the
# redis-event crate), on the same master, consumers alternating within each round, and prints a
# markdown report (also written to DIR/results/follow-<date>.md, outside the work tree: results
# are per machine and are not committed). The measuring is done by bench/follow.py.
#
# usage: bench/follow.sh [DIR]
#   DIR                   where results go (DIR/results); default ${REDTAIL_BENCH_DATA:-~/.cache/redtail/bench}
# environment:
#   FOLLOW_ROUNDS=3       rounds; each runs every workload with every consumer once
#   FOLLOW_CONSUMERS="none redtail redtail-file replica redis-cli redis-event redis-event-discard"
#                         a subset skips the others (e.g. without redtail and redtail-file while
#                         the CLI does not build); `none` is the master alone (its throughput
#                         without a consumer)
#   FOLLOW_WORKLOADS="set mix"   pure SET, and a SET/LPUSH/HSET/ZADD/SADD/INCR mix
#   FOLLOW_REQUESTS=1000000      commands per workload (the issue's figures are for 3000000)
#   FOLLOW_BENCH_ARGS="-P 32 -r 1000000 -d 64"   redis-benchmark's other arguments
#   FOLLOW_LAT_RATE=1000  writes per second in the latency phase
#   FOLLOW_LAT_SECONDS=20 length of each latency round (0: no latency phase)
#   FOLLOW_LAT_ROUNDS     latency rounds; default FOLLOW_ROUNDS
#   REDTAIL_BENCH_SERVER=redis-7.0   the master's (and the real replica's) server
#   REDTAIL_SERVERS       the test servers' cache; default ~/.cache/redtail/servers
#   REDTAIL_BENCH_TOOLS   where the redis-event consumer is built; default ~/.cache/redtail/bench-tools
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DIR=${1:-${REDTAIL_BENCH_DATA:-$HOME/.cache/redtail/bench}}
ROUNDS=${FOLLOW_ROUNDS:-3}
CONSUMERS=${FOLLOW_CONSUMERS:-none redtail redtail-file replica redis-cli redis-event redis-event-discard}
WORKLOADS=${FOLLOW_WORKLOADS:-set mix}
REQUESTS=${FOLLOW_REQUESTS:-1000000}
BENCH_ARGS=${FOLLOW_BENCH_ARGS:--P 32 -r 1000000 -d 64}
LAT_RATE=${FOLLOW_LAT_RATE:-1000}
LAT_SECONDS=${FOLLOW_LAT_SECONDS:-20}
LAT_ROUNDS=${FOLLOW_LAT_ROUNDS:-$ROUNDS}
SERVER_NAME=${REDTAIL_BENCH_SERVER:-redis-7.0}
SERVERS=${REDTAIL_SERVERS:-$HOME/.cache/redtail/servers}
TOOLS_ROOT=${REDTAIL_BENCH_TOOLS:-$HOME/.cache/redtail/bench-tools}

die() { echo "follow-bench: $*" >&2; exit 1; }
log() { echo "follow-bench: $*" >&2; }
. "$HERE/common.sh"
want() { case " $CONSUMERS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

for c in $CONSUMERS; do
  case $c in
    none|redtail|redtail-file|replica|redis-cli|redis-event|redis-event-discard) ;;
    *) die "unknown consumer '$c' in FOLLOW_CONSUMERS" ;;
  esac
done

# --- prerequisites -----------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is missing: apt-get install python3"
[ -r /proc/self/stat ] && [ -r /proc/net/tcp ] || die "needs Linux's /proc (CPU time, RSS and socket queues come from it)"
REDIS_CLI=$(command -v redis-cli || true)
REDIS_BENCHMARK=$(command -v redis-benchmark || true)
[ -n "$REDIS_CLI" ] && [ -n "$REDIS_BENCHMARK" ] \
  || die "redis-cli and redis-benchmark are missing: apt-get install redis-tools"
"$REDIS_BENCHMARK" --help 2>&1 | grep -q -- '--csv' \
  || die "this redis-benchmark has no --csv (too old): apt-get install redis-tools (7.0 or newer)"
SERVER=
for b in redis-server valkey-server; do
  [ -x "$SERVERS/$SERVER_NAME/bin/$b" ] && { SERVER=$SERVERS/$SERVER_NAME/bin/$b; break; }
done
[ -n "$SERVER" ] || die "no $SERVER_NAME server in $SERVERS: run scripts/install-test-servers.sh $SERVER_NAME"

TARGET=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

if want redtail || want redtail-file || [ "$LAT_SECONDS" != 0 ]; then
  log "cargo build --release -p redtail-cli"
  (cd "$REPO" && cargo build --release -p redtail-cli) \
    || die "redtail does not build (see above); to measure the other consumers meanwhile, set FOLLOW_CONSUMERS without redtail and redtail-file, and FOLLOW_LAT_SECONDS=0"
  REDTAIL=$TARGET/release/redtail
  [ -x "$REDTAIL" ] || die "no $REDTAIL after the build"
  "$REDTAIL" follow --help >/dev/null 2>&1 \
    || die "this redtail has no 'follow' command yet; set FOLLOW_CONSUMERS without redtail and redtail-file, and FOLLOW_LAT_SECONDS=0"
fi
if want redis-event || want redis-event-discard || [ "$LAT_SECONDS" != 0 ]; then
  # Its own cargo project (not in the workspace), built outside the work tree.
  log "cargo build --release --locked --manifest-path bench/follow-consumers/Cargo.toml"
  cargo build --release --locked --manifest-path "$HERE/follow-consumers/Cargo.toml" \
    --target-dir "$TOOLS_ROOT/follow-consumers-target" \
    || die "the redis-event consumer does not build (see above; the first build fetches its crates with cargo; it needs libssl-dev and pkg-config for native-tls: apt-get install libssl-dev pkg-config)"
  REDIS_EVENT=$TOOLS_ROOT/follow-consumers-target/release/redis-event-json
  [ -x "$REDIS_EVENT" ] || die "no $REDIS_EVENT after the build"
fi

# --- measuring ---------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/redtail-follow-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Measure copies: a rebuild in the shared target directory during the run must not change them.
mkdir -p "$WORK/bin"
if [ -n "${REDTAIL:-}" ]; then cp "$REDTAIL" "$WORK/bin/redtail"; REDTAIL=$WORK/bin/redtail; fi
if [ -n "${REDIS_EVENT:-}" ]; then cp "$REDIS_EVENT" "$WORK/bin/redis-event-json"; REDIS_EVENT=$WORK/bin/redis-event-json; fi

mkdir -p "$DIR/results"
RESULT=$DIR/results/follow-$(date +%Y-%m-%d-%H%M%S).md
RAW=${RESULT%.md}.jsonl
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# Header first (the commit and machine), the load average after is appended below.
{
  echo "# redtail follow benchmark, $STARTED"
  echo
  commit_line
  echo "- machine: $(machine); load average $LOAD_BEFORE before, @LOAD_AFTER@ after"
  echo "- master: $("$SERVER" --version | sed 's/ sha=.*//') ($SERVER_NAME), \`--save \"\" --repl-diskless-sync-delay 0\`, flushed before each measurement; the real replica is the same server; $("$REDIS_CLI" --version) and its redis-benchmark"
  echo "- $ROUNDS rounds, consumers alternating within each round (order rotated per round): $CONSUMERS"
  echo "- CPU is utime+stime of the consumer process (/proc/PID/stat) from attached to caught up; peak RSS is its VmHWM; omem and tot-mem are the master's \`CLIENT LIST TYPE replica\`, polled every 50 ms; lag in bytes is \`master_repl_offset\` − the replica's acked offset (INFO replication, same polling), lag in seconds how long ago the master was at the acked offset; acked after: from redis-benchmark's exit until the acked offset equals \`master_repl_offset\` (polled every 5 ms); drained after: until the master's buffer for it and both socket queues are empty"
  echo "- redtail: \`redtail follow redis://127.0.0.1:PORT --format json\` to /dev/null, and to a file; redis-event: bench/follow-consumers (redis-event 1.2.1, a JSON line per command, one write each, to /dev/null; \"no output\": its \`--discard\`, the crate alone); redis-cli: \`redis-cli --replica\` to /dev/null"
} > "$WORK/header.md"

args=(--server "$SERVER" --redis-cli "$REDIS_CLI" --redis-benchmark "$REDIS_BENCHMARK"
      --work "$WORK" --consumers "$CONSUMERS" --workloads "$WORKLOADS" --rounds "$ROUNDS"
      --requests "$REQUESTS" --bench-args "$BENCH_ARGS" --lat-rate "$LAT_RATE"
      --lat-seconds "$LAT_SECONDS" --lat-rounds "$LAT_ROUNDS"
      --header "$WORK/header.md" --out "$RESULT" --raw "$RAW")
[ -n "${REDTAIL:-}" ] && args+=(--redtail "$REDTAIL")
[ -n "${REDIS_EVENT:-}" ] && args+=(--redis-event "$REDIS_EVENT")
python3 "$HERE/follow.py" "${args[@]}"

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
sed -i "s/@LOAD_AFTER@/$LOAD_AFTER/" "$RESULT"
cat "$RESULT"
echo
echo "(written to $RESULT; raw samples in $RAW)"
