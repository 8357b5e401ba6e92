#!/usr/bin/env bash
# Generates the benchmark's RDB files with a real server: strings.rdb (~1 GB), collections.rdb
# (~500 MB, every type in small and large encodings, streams with consumer groups) and
# bigkeys.rdb (a 10M-element list, a 3M-member zset and a 3M-field hash).
#
# usage: bench/gen-data.sh [--scale F] [DIR]
#   DIR      where the files go; default ${REDTAIL_BENCH_DATA:-~/.cache/redtail/bench}, outside
#            the work tree. A file that exists (with its .meta) is kept: delete it to remake it.
#   --scale  multiplies every count (e.g. 0.1 for files a tenth the size, to try the harness).
#
# The server is REDTAIL_BENCH_SERVER (default redis-7.0: RDB 10, which the `rdb` crate's CLI and
# Debian's redis-check-rdb 7.0 both read), taken from scripts/install-test-servers.sh's cache
# (REDTAIL_SERVERS, default ~/.cache/redtail/servers) or, for redis-7.0, from Debian's
# redis-server package. Data come from bench/gen_data.py (fixed seed) through `redis-cli --pipe`.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SCALE=1
DIR=
while [ $# -gt 0 ]; do
  case $1 in
    --scale) SCALE=${2:?--scale needs a value}; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "gen-data: unknown option $1" >&2; exit 2 ;;
    *) DIR=$1; shift ;;
  esac
done
DIR=${DIR:-${REDTAIL_BENCH_DATA:-$HOME/.cache/redtail/bench}}
SERVER_NAME=${REDTAIL_BENCH_SERVER:-redis-7.0}
SERVERS=${REDTAIL_SERVERS:-$HOME/.cache/redtail/servers}

die() { echo "gen-data: $*" >&2; exit 1; }
log() { echo "gen-data: $*" >&2; }

command -v python3 >/dev/null || die "python3 is missing (apt-get install python3)"

# --- the server --------------------------------------------------------------------------------
SERVER_DIR=$SERVERS/$SERVER_NAME
SERVER_BIN=
for b in redis-server valkey-server; do
  [ -x "$SERVER_DIR/bin/$b" ] && { SERVER_BIN=$SERVER_DIR/bin/$b; break; }
done
if [ -z "$SERVER_BIN" ] && [ "$SERVER_NAME" = redis-7.0 ] && command -v redis-server >/dev/null \
   && redis-server --version | grep -q 'v=7\.0\.'; then
  SERVER_BIN=$(command -v redis-server)
fi
[ -n "$SERVER_BIN" ] || die "no $SERVER_NAME server: run scripts/install-test-servers.sh $SERVER_NAME (or, for redis-7.0, apt-get install redis-server)"
[ -d "$SERVER_DIR/lib" ] && export LD_LIBRARY_PATH=$SERVER_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
CLI=
for c in "$(dirname "$SERVER_BIN")/redis-cli" "$(dirname "$SERVER_BIN")/valkey-cli" "$(command -v redis-cli || true)"; do
  [ -n "$c" ] && [ -x "$c" ] && { CLI=$c; break; }
done
[ -n "$CLI" ] || die "redis-cli is missing: apt-get install redis-tools"
SERVER_VERSION=$("$SERVER_BIN" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')

mkdir -p "$DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/redtail-bench.XXXXXX")
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server() {
  PORT=$(free_port)
  rm -rf "$WORK/srv"; mkdir -p "$WORK/srv"
  "$SERVER_BIN" --port "$PORT" --bind 127.0.0.1 --dir "$WORK/srv" --dbfilename dump.rdb \
    --save '' --appendonly no --daemonize no --logfile "$WORK/srv/server.log" &
  PID=$!
  for _ in $(seq 100); do
    "$CLI" -p "$PORT" PING 2>/dev/null | grep -q PONG && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$WORK/srv/server.log" >&2 || true
  die "$SERVER_NAME did not start on port $PORT"
}

stop_server() {
  "$CLI" -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  wait "$PID" 2>/dev/null || true
  PID=
}

human() { numfmt --to=si --suffix=B "$1"; }

# --- one data set ------------------------------------------------------------------------------
gen() {
  local name=$1 out=$DIR/$1.rdb meta=$DIR/$1.meta
  if [ -f "$out" ] && [ -f "$meta" ]; then
    log "$out exists, kept"
    return 0
  fi
  log "$name: generating with $SERVER_NAME ($SERVER_VERSION), scale $SCALE"
  start_server
  local t0=$SECONDS
  python3 "$HERE/gen_data.py" "$name" --scale "$SCALE" --meta "$WORK/meta" \
    | "$CLI" -p "$PORT" --pipe --pipe-timeout 0 > "$WORK/pipe.log"
  cat "$WORK/pipe.log" >&2
  grep -q 'errors: 0,' "$WORK/pipe.log" || die "$name: the server rejected some commands (see above)"
  local want got
  want=$(sed -n 's/^keys=//p' "$WORK/meta")
  got=$("$CLI" -p "$PORT" DBSIZE)
  [ "$got" = "$want" ] || die "$name: the server holds $got keys, the generator wrote $want"
  log "$name: loaded $got keys in $((SECONDS - t0)) s; SAVE"
  "$CLI" -p "$PORT" SAVE | grep -q OK || die "$name: SAVE failed"
  stop_server
  mv "$WORK/srv/dump.rdb" "$out.tmp"
  {
    cat "$WORK/meta"
    echo "server=$SERVER_NAME"
    echo "server_version=$SERVER_VERSION"
    echo "rdb_version=$(head -c 9 "$out.tmp" | tail -c 4)"
    echo "bytes=$(stat -c %s "$out.tmp")"
  } > "$meta.tmp"
  mv "$out.tmp" "$out"
  mv "$meta.tmp" "$meta"
}

for name in strings collections bigkeys; do
  gen "$name"
done

echo "# data in $DIR"
printf '%-16s %9s %9s %10s  %s\n' file size keys elements server
for name in strings collections bigkeys; do
  m=$DIR/$name.meta
  get() { sed -n "s/^$1=//p" "$m"; }
  printf '%-16s %9s %9s %10s  %s\n' "$name.rdb" "$(human "$(get bytes)")" "$(get keys)" "$(get elements)" \
    "$(get server_version) (RDB $(get rdb_version))"
done
