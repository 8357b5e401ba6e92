#!/usr/bin/env bash
# The migration benchmark of issue 4: the snapshot of the ~500 MB collections data set into an
# empty target, `redtail follow --sink redis://TARGET` against a native `REPLICAOF` full sync of
# the same master, alternating within each round, and a markdown report (also written to
# DIR/results/migrate-<date>.md, outside the work tree: results are per machine).
#
# usage: bench/migrate.sh [DIR]
#   DIR                    the data (collections.rdb from bench/gen-data.sh) and results;
#                          default ${REDTAIL_BENCH_DATA:-~/.cache/redtail/bench}
# environment:
#   MIGRATE_ROUNDS=3       rounds; each times both ways once (the order alternates per round)
#   MIGRATE_FILE=collections   which data file (strings, bigkeys also work)
#   REDTAIL_BENCH_SERVER=redis-7.0   the master's and the targets' server
#   REDTAIL_SERVERS        the test servers' cache; default ~/.cache/redtail/servers
#   REDTAIL_BIN            a redtail binary to measure instead of building one (cargo build --release)
#   MIGRATE_REDTAIL_ARGS   more arguments for redtail follow, e.g. "--snapshot-via commands"
#
# What is timed:
# - native: from `REPLICAOF` until the replica reports `master_link_status:up` (it has received
#   and loaded the snapshot);
# - redtail: from starting `redtail follow` until the master sees it acknowledge its whole
#   stream (redtail acknowledges the snapshot only once the target has answered every command
#   of it) and the target holds every key.
# The master uses diskless replication with no delay (`repl-diskless-sync yes`,
# `repl-diskless-sync-delay 0`) for both; the native replica loads from disk after the transfer
# (the default `repl-diskless-load disabled`).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DIR=${1:-${REDTAIL_BENCH_DATA:-$HOME/.cache/redtail/bench}}
ROUNDS=${MIGRATE_ROUNDS:-3}
FILE=${MIGRATE_FILE:-collections}
SERVER_NAME=${REDTAIL_BENCH_SERVER:-redis-7.0}
SERVERS=${REDTAIL_SERVERS:-$HOME/.cache/redtail/servers}
read -r -a REDTAIL_ARGS <<<"${MIGRATE_REDTAIL_ARGS:-}"

die() { echo "migrate-bench: $*" >&2; exit 1; }
log() { echo "migrate-bench: $*" >&2; }
. "$HERE/common.sh"

# --- prerequisites -----------------------------------------------------------------------------
[ -f "$DIR/$FILE.rdb" ] && [ -f "$DIR/$FILE.meta" ] || die "no $DIR/$FILE.rdb: run bench/gen-data.sh${1:+ $DIR} first"
SERVER=$SERVERS/$SERVER_NAME/bin/redis-server
[ -x "$SERVER" ] || SERVER=$SERVERS/$SERVER_NAME/bin/valkey-server
[ -x "$SERVER" ] || die "no $SERVER_NAME server in $SERVERS: run scripts/install-test-servers.sh $SERVER_NAME"
CLI=$(dirname "$SERVER")/redis-cli
[ -x "$CLI" ] || CLI=$(dirname "$SERVER")/valkey-cli
[ -x "$CLI" ] || CLI=$(command -v redis-cli || true)
[ -n "$CLI" ] || die "no redis-cli: apt-get install redis-tools"
KEYS=$(sed -n 's/^keys=//p' "$DIR/$FILE.meta")
[ -n "$KEYS" ] || die "$DIR/$FILE.meta has no keys= line: remake it with bench/gen-data.sh"

redtail_binary
"$REDTAIL" follow --help 2>/dev/null | grep -q -- '--target-flush' || die "$REDTAIL has no --sink redis:// yet"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/redtail-migrate-bench.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# A copy of the binary: a rebuild in the shared target directory must not change it mid-run.
cp "$REDTAIL" "$WORK/redtail"
REDTAIL=$WORK/redtail

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
cli() { local port=$1; shift; "$CLI" -p "$port" "$@"; }
info_field() { cli "$1" info "$2" | tr -d '\r' | sed -n "s/^$3://p"; }

# Starts a server on a free port in its own directory, setting PORT and PID. Extra arguments
# are passed on (the master gets the data file).
start_server() {
  local name=$1; shift
  PORT=$(free_port)
  mkdir -p "$WORK/$name"
  "$SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$WORK/$name" --save "" --appendonly no \
    --logfile "$WORK/$name/log" "$@" >/dev/null &
  PID=$!
  PIDS+=("$PID")
}

wait_loaded() {
  local port=$1
  until [ "$(cli "$port" ping 2>/dev/null)" = PONG ] && [ "$(info_field "$port" persistence loading)" = 0 ]; do
    sleep 0.1
  done
}

total_keys() {
  cli "$1" info keyspace | tr -d '\r' | sed -n 's/^db[0-9]*:keys=\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}'
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# --- the master --------------------------------------------------------------------------------
mkdir -p "$WORK/master"
ln -s "$DIR/$FILE.rdb" "$WORK/master/$FILE.rdb"
start_server master --dbfilename "$FILE.rdb" \
  --repl-diskless-sync yes --repl-diskless-sync-delay 0 --repl-backlog-size 64mb
MASTER=$PORT
log "loading $FILE.rdb ($(du -h "$DIR/$FILE.rdb" | cut -f1)) into the master on port $MASTER"
wait_loaded "$MASTER"
[ "$(total_keys "$MASTER")" = "$KEYS" ] || die "the master holds $(total_keys "$MASTER") keys, the meta file says $KEYS"

# Each run sets SECONDS_TAKEN.
run_native() {
  local port pid t0
  start_server "native-$1"; port=$PORT; pid=$PID
  wait_loaded "$port"
  t0=$(now)
  cli "$port" replicaof 127.0.0.1 "$MASTER" >/dev/null
  until [ "$(info_field "$port" replication master_link_status)" = up ] \
    && [ "$(info_field "$port" persistence loading)" = 0 ]; do
    sleep 0.05
  done
  local t1; t1=$(now)
  [ "$(total_keys "$port")" = "$KEYS" ] || die "native replica holds $(total_keys "$port") keys, want $KEYS"
  stop "$pid"
  rm -rf "$WORK/native-$1"
  # The master forgets the replica once the connection closes.
  until ! cli "$MASTER" info replication | grep -q '^slave0:'; do sleep 0.05; done
  SECONDS_TAKEN=$(echo "$t1 - $t0" | bc -l)
}

run_redtail() {
  local port pid t0 rt
  start_server "redtail-$1"; port=$PORT; pid=$PID
  wait_loaded "$port"
  t0=$(now)
  "$REDTAIL" follow "redis://127.0.0.1:$MASTER" --sink "redis://127.0.0.1:$port" "${REDTAIL_ARGS[@]}" >/dev/null 2>"$WORK/redtail-$1.log" &
  rt=$!
  PIDS+=($rt)
  while :; do
    kill -0 "$rt" 2>/dev/null || die "redtail stopped: $(cat "$WORK/redtail-$1.log")"
    local line master_offset
    line=$(cli "$MASTER" info replication | tr -d '\r')
    master_offset=$(sed -n 's/^master_repl_offset://p' <<<"$line")
    if grep -q "^slave0:.*state=online,offset=$master_offset," <<<"$line" && [ "$(total_keys "$port")" = "$KEYS" ]; then
      break
    fi
    sleep 0.05
  done
  local t1; t1=$(now)
  stop "$rt"
  stop "$pid"
  rm -rf "$WORK/redtail-$1"
  until ! cli "$MASTER" info replication | grep -q '^slave0:'; do sleep 0.05; done
  SECONDS_TAKEN=$(echo "$t1 - $t0" | bc -l)
}

command -v bc >/dev/null || die "bc is missing: apt-get install bc"
NATIVE=()
REDTAIL_TIMES=()
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="native redtail"; else order="redtail native"; fi
  for way in $order; do
    if [ "$way" = native ]; then
      run_native "$round"; t=$SECONDS_TAKEN; NATIVE+=("$t")
    else
      run_redtail "$round"; t=$SECONDS_TAKEN; REDTAIL_TIMES+=("$t")
    fi
    log "round $round: $way $(printf '%.2f' "$t") s"
  done
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
N_MED=$(median "${NATIVE[@]}")
R_MED=$(median "${REDTAIL_TIMES[@]}")
RATIO=$(echo "$R_MED / $N_MED" | bc -l)

mkdir -p "$DIR/results"
RESULT=$DIR/results/migrate-$(date +%Y-%m-%d-%H%M%S).md
{
  echo "# redtail migration benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  commit_line
  echo "- machine: $(machine); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  echo "- data: $FILE.rdb, $(du -h "$DIR/$FILE.rdb" | cut -f1), $KEYS keys; master and targets: $("$SERVER" --version | sed 's/ sha=.*//')"
  echo "- $ROUNDS rounds, alternating; redtail arguments: ${MIGRATE_REDTAIL_ARGS:-(none)}"
  echo
  echo "| way | median s | fastest s | all |"
  echo "|---|---|---|---|"
  echo "| native REPLICAOF full sync | $(printf '%.2f' "$N_MED") | $(printf '%s\n' "${NATIVE[@]}" | sort -g | head -n1 | xargs printf '%.2f') | $(printf '%.2f ' "${NATIVE[@]}") |"
  echo "| redtail follow --sink redis:// | $(printf '%.2f' "$R_MED") | $(printf '%s\n' "${REDTAIL_TIMES[@]}" | sort -g | head -n1 | xargs printf '%.2f') | $(printf '%.2f ' "${REDTAIL_TIMES[@]}") |"
  echo
  echo "redtail / native (medians): $(printf '%.2f' "$RATIO")× (target: at most 1.5×)"
} > "$RESULT"
cat "$RESULT"
echo
echo "(written to $RESULT)"
