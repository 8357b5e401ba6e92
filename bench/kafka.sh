#!/usr/bin/env bash
# The Kafka benchmark of issue 4: `redtail follow --from now --sink kafka://` into a tansu broker
# while redis-benchmark loads a Redis master with a SET/LPUSH/HSET/ZADD/SADD/INCR mix; reports the
# events per second delivered (counted on the broker), the lag in bytes and seconds, redtail's
# and tansu's CPU and redtail's peak RSS, per producer variant (variants alternate within each
# round), as markdown (also written to DIR/results/kafka-<date>.md, outside the work tree: results
# are per machine). The measuring is done by bench/kafka.py.
#
# usage: bench/kafka.sh [DIR]
#   DIR                    where results go (DIR/results); default ${REDTAIL_BENCH_DATA:-~/.cache/redtail/bench}
# environment:
#   KAFKA_ROUNDS=3         rounds; each measures every variant once
#   KAFKA_REQUESTS=1200000 writes per measurement (split evenly over the six commands)
#   KAFKA_BENCH_ARGS="-P 32 -r 1000000 -d 64"   redis-benchmark's other arguments
#   KAFKA_PARTITIONS=3     partitions of the topic
#   KAFKA_VARIANTS=";linger.ms=0;linger.ms=20"   ';'-separated producer variants, each a
#                          space-separated list of --kafka-opt KEY=VALUE or redtail --FLAG=VALUE
#                          (--kafka-window=0); empty = redtail's defaults
#   REDTAIL_BENCH_SERVER=redis-7.0   the master's server
#   REDTAIL_SERVERS        the test servers' cache (the master and tansu); default ~/.cache/redtail/servers
#   REDTAIL_BENCH_TOOLS    where the consumer that counts records gets its Python environment
#                          (confluent-kafka); default ~/.cache/redtail/bench-tools
#   REDTAIL_BIN            a redtail binary to measure instead of building one (cargo build --release)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DIR=${1:-${REDTAIL_BENCH_DATA:-$HOME/.cache/redtail/bench}}
ROUNDS=${KAFKA_ROUNDS:-3}
REQUESTS=${KAFKA_REQUESTS:-1200000}
BENCH_ARGS=${KAFKA_BENCH_ARGS:--P 32 -r 1000000 -d 64}
PARTITIONS=${KAFKA_PARTITIONS:-3}
VARIANTS=${KAFKA_VARIANTS-;linger.ms=0;linger.ms=20}
SERVER_NAME=${REDTAIL_BENCH_SERVER:-redis-7.0}
SERVERS=${REDTAIL_SERVERS:-$HOME/.cache/redtail/servers}
TOOLS_ROOT=${REDTAIL_BENCH_TOOLS:-$HOME/.cache/redtail/bench-tools}

die() { echo "kafka-bench: $*" >&2; exit 1; }
log() { echo "kafka-bench: $*" >&2; }
. "$HERE/common.sh"

# --- prerequisites -----------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is missing: apt-get install python3"
REDIS_BENCHMARK=$(command -v redis-benchmark || true)
[ -n "$REDIS_BENCHMARK" ] || die "redis-benchmark is missing: apt-get install redis-tools"
"$REDIS_BENCHMARK" --help 2>&1 | grep -q -- '--csv' \
  || die "this redis-benchmark has no --csv (too old): apt-get install redis-tools (7.0 or newer)"
SERVER=$SERVERS/$SERVER_NAME/bin/redis-server
[ -x "$SERVER" ] || SERVER=$SERVERS/$SERVER_NAME/bin/valkey-server
[ -x "$SERVER" ] || die "no $SERVER_NAME server in $SERVERS: run scripts/install-test-servers.sh $SERVER_NAME"
TANSU=$SERVERS/tansu/bin/tansu
[ -x "$TANSU" ] || die "no tansu in $SERVERS: run scripts/install-test-servers.sh tansu"

# The consumer that counts what reached the broker: confluent-kafka (works against tansu) in a
# virtual environment of its own, outside the work tree.
VENV=$TOOLS_ROOT/kafka-venv
if ! "$VENV/bin/python" -c 'import confluent_kafka' 2>/dev/null; then
  log "python3 -m venv $VENV && pip install confluent-kafka==2.16.*"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check 'confluent-kafka==2.16.*' \
    || die "cannot install confluent-kafka into $VENV (see above)"
fi

redtail_binary

WORK=$(mktemp -d "${TMPDIR:-/tmp}/redtail-kafka-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# A copy of the binary: a rebuild in the shared target directory must not change it mid-run.
cp "$REDTAIL" "$WORK/redtail"

mkdir -p "$DIR/results"
RESULT=$DIR/results/kafka-$(date +%Y-%m-%d-%H%M%S).md
{
  echo "# redtail Kafka benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  commit_line
  echo "- machine: $(machine); load average $(cut -d' ' -f1-3 /proc/loadavg) before"
  echo "- master: $("$SERVER" --version | sed 's/ sha=.*//') ($SERVER_NAME), a fresh one per run; broker: $("$TANSU" --version) (memory storage), a fresh one per run, topic of $PARTITIONS partitions"
  echo "- load: redis-benchmark $BENCH_ARGS, $REQUESTS writes over set,lpush,hset,zadd,sadd,incr; redtail follow --from now --fallback snapshot (the master starts empty: no backlog yet) --sink kafka://; $ROUNDS rounds, variants alternating"
  echo "- events/s delivered: records counted in the topic afterwards ÷ time from the load's start until the master saw its whole stream acknowledged (redtail acknowledges only what Kafka confirmed); produce-time rate: records ÷ the span of their timestamps; lag: master_repl_offset − the acked offset (INFO replication every 50 ms), and how long ago the master was at the acked offset; CPU: utime+stime over that time (100% = one core)"
} > "$WORK/header.md"

python3 "$HERE/kafka.py" --server "$SERVER" --tansu "$TANSU" --redtail "$WORK/redtail" \
  --redis-benchmark "$REDIS_BENCHMARK" --python "$VENV/bin/python" --work "$WORK" \
  --rounds "$ROUNDS" --requests "$REQUESTS" --bench-args "$BENCH_ARGS" --partitions "$PARTITIONS" \
  --variants "$VARIANTS" --header "$WORK/header.md" --out "$RESULT" --raw "${RESULT%.md}.jsonl"
cat "$RESULT"
echo
echo "(written to $RESULT; raw results in ${RESULT%.md}.jsonl)"
