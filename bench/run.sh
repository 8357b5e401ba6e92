#!/usr/bin/env bash
# Runs the decoder benchmark of issue 2 on the files bench/gen-data.sh made: every tool on every
# file, the tools alternating within each round, and prints a markdown report (also written to
# DIR/results/<date>.md, outside the work tree: results are per machine and are not committed).
#
# usage: bench/run.sh [DIR]
#   DIR                 the data; default ${REDTAIL_BENCH_DATA:-~/.cache/redtail/bench}
# environment:
#   BENCH_ROUNDS=5      rounds per file (each round runs every tool once)
#   BENCH_FILES="strings collections bigkeys"
#   BENCH_TOOLS="redtail-check redtail-json redtail-decode rdb-nil rdb-json redis-check-rdb"
#                       a subset skips the others (e.g. while the CLI does not build)
#   REDTAIL_BENCH_TOOLS where the `rdb` crate's CLI is installed; default ~/.cache/redtail/bench-tools
#   REDTAIL_SERVERS     the test servers' cache (for redis-check-rdb); default ~/.cache/redtail/servers
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DIR=${1:-${REDTAIL_BENCH_DATA:-$HOME/.cache/redtail/bench}}
ROUNDS=${BENCH_ROUNDS:-5}
FILES=${BENCH_FILES:-strings collections bigkeys}
TOOLS=${BENCH_TOOLS:-redtail-check redtail-json redtail-decode rdb-nil rdb-json redis-check-rdb}
TOOLS_ROOT=${REDTAIL_BENCH_TOOLS:-$HOME/.cache/redtail/bench-tools}
SERVERS=${REDTAIL_SERVERS:-$HOME/.cache/redtail/servers}
RDB_CRATE_VERSION=0.4.0

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }
want() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

for t in $TOOLS; do
  case $t in
    redtail-check|redtail-json|redtail-decode|rdb-nil|rdb-json|redis-check-rdb) ;;
    *) die "unknown tool '$t' in BENCH_TOOLS" ;;
  esac
done

# --- prerequisites -----------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is missing: apt-get install python3"
if [ ! -x /usr/bin/time ]; then
  [ "$(id -u)" -eq 0 ] || die "/usr/bin/time is missing: apt-get install time"
  log "installing GNU time (apt-get install time)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; } \
    || die "could not install GNU time: apt-get install time"
fi
for f in $FILES; do
  [ -f "$DIR/$f.rdb" ] && [ -f "$DIR/$f.meta" ] || die "no $DIR/$f.rdb: run bench/gen-data.sh${1:+ $DIR} first"
done

TARGET=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

if want redtail-check || want redtail-json; then
  log "cargo build --release -p redtail-cli"
  (cd "$REPO" && cargo build --release -p redtail-cli) \
    || die "redtail does not build (see above); to measure the other tools meanwhile, set BENCH_TOOLS without redtail-check and redtail-json"
  REDTAIL=$TARGET/release/redtail
  [ -x "$REDTAIL" ] || die "no $REDTAIL after the build"
fi
if want redtail-decode; then
  log "cargo build --release -p redtail-rdb --example decode"
  (cd "$REPO" && cargo build --release -p redtail-rdb --example decode) || die "the decode example does not build"
  DECODE=$TARGET/release/examples/decode
fi
if want rdb-nil || want rdb-json; then
  RDB=$TOOLS_ROOT/bin/rdb
  if [ ! -x "$RDB" ]; then
    log "installing the rdb crate's CLI: cargo install rdb --version $RDB_CRATE_VERSION --locked --root $TOOLS_ROOT"
    cargo install rdb --version "$RDB_CRATE_VERSION" --locked --root "$TOOLS_ROOT" \
      || die "could not install the reference decoder: cargo install rdb --version $RDB_CRATE_VERSION --locked --root $TOOLS_ROOT"
  fi
  [ -x "$RDB" ] || die "no $RDB: cargo install rdb --version $RDB_CRATE_VERSION --locked --root $TOOLS_ROOT"
fi

# redis-check-rdb of the server that wrote the file: the server binary run under that name.
check_rdb_for() { # FILE-NAME -> path
  local server version b
  server=$(sed -n 's/^server=//p' "$DIR/$1.meta")
  version=$(sed -n 's/^server_version=//p' "$DIR/$1.meta")
  for b in redis-check-rdb valkey-check-rdb; do
    [ -x "$SERVERS/$server/bin/$b" ] && { echo "$SERVERS/$server/bin/$b"; return 0; }
  done
  b=$(command -v redis-check-rdb || true)
  if [ -n "$b" ] && "$b" --version 2>/dev/null | grep -q "v=$version "; then echo "$b"; return 0; fi
  local hint="scripts/install-test-servers.sh $server"
  [ "$server" = redis-7.0 ] && hint="$hint (or apt-get install redis-tools)"
  die "no redis-check-rdb for $server ($version): run $hint"
}

# --- measuring ---------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/redtail-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Measure copies: a rebuild in the shared target directory during the run must not change them.
mkdir -p "$WORK/bin"
if [ -n "${REDTAIL:-}" ]; then cp "$REDTAIL" "$WORK/bin/redtail"; REDTAIL=$WORK/bin/redtail; fi
if [ -n "${DECODE:-}" ]; then cp "$DECODE" "$WORK/bin/decode"; DECODE=$WORK/bin/decode; fi
SAMPLES=$WORK/samples.tsv
: > "$SAMPLES"

# measure FILE-NAME TOOL ROUND CMD...: stdout to /dev/null, wall time from the clock, peak RSS
# from GNU time.
measure() {
  local f=$1 tool=$2 round=$3; shift 3
  local t0 t1 rc=0
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$WORK/rss" "$@" > /dev/null 2> "$WORK/stderr" || rc=$?
  t1=$(date +%s%N)
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$WORK/stderr" >&2
    die "$tool failed on $f.rdb (exit $rc): $*"
  fi
  local secs rss
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
  rss=$(tail -n 1 "$WORK/rss")
  printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$tool" "$round" "$secs" "$rss" >> "$SAMPLES"
  printf '  %-16s %8.3f s  %7.1f MB RSS\n' "$tool" "$secs" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" >&2
}

run_tool() { # TOOL FILE-NAME ROUND
  local tool=$1 f=$2 round=$3 path=$DIR/$2.rdb
  case $tool in
    redtail-check)   measure "$f" "$tool" "$round" "$REDTAIL" rdb --check "$path" ;;
    redtail-json)    measure "$f" "$tool" "$round" "$REDTAIL" rdb --format json "$path" ;;
    redtail-decode)  measure "$f" "$tool" "$round" "$DECODE" "$path" ;;
    rdb-nil)         measure "$f" "$tool" "$round" "$RDB" -f nil "$path" ;;
    rdb-json)        measure "$f" "$tool" "$round" "$RDB" -f json "$path" ;;
    redis-check-rdb) measure "$f" "$tool" "$round" "$CHECK_RDB" "$path" ;;
  esac
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for f in $FILES; do
  want redis-check-rdb && CHECK_RDB=$(check_rdb_for "$f")
  log "$f.rdb: warming the page cache"
  cat "$DIR/$f.rdb" > /dev/null
  for round in $(seq "$ROUNDS"); do
    log "$f.rdb: round $round/$ROUNDS"
    for tool in $TOOLS; do
      run_tool "$tool" "$f" "$round"
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------------------------------
{
  echo "# redtail decoder benchmark, $STARTED"
  echo
  echo "- commit: $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$REPO" && [ -n "$(git status --porcelain 2>/dev/null)" ] && echo ' (with uncommitted changes)')"
  echo "- machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores; load average $LOAD_BEFORE before, $LOAD_AFTER after"
  echo "- $ROUNDS rounds per file, tools alternating within each round: $TOOLS"
  for f in $FILES; do
    echo "- $f.rdb: $(sed -n 's/^keys=//p' "$DIR/$f.meta") keys, $(sed -n 's/^elements=//p' "$DIR/$f.meta") elements, written by $(sed -n 's/^server_version=//p' "$DIR/$f.meta") (RDB $(sed -n 's/^rdb_version=//p' "$DIR/$f.meta"))"
  done
  if want rdb-nil || want rdb-json; then
    echo "- reference: $(cargo install --list --root "$TOOLS_ROOT" 2>/dev/null | grep -m1 '^rdb ' | tr -d :) (the rdb crate's CLI)"
  fi
  echo "- MB/s is file size / median time (10^6 bytes); elements are list/set members, zset entries, hash fields and stream entries (strings: one per key)"
  echo
} > "$WORK/header.md"
mkdir -p "$DIR/results"
RESULT=$DIR/results/$(date +%Y-%m-%d-%H%M%S).md
python3 "$HERE/report.py" "$SAMPLES" "$DIR" "$WORK/header.md" > "$RESULT"
cp "$SAMPLES" "${RESULT%.md}.tsv"
cat "$RESULT"
echo
echo "(written to $RESULT; raw samples in ${RESULT%.md}.tsv)"
