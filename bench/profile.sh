#!/usr/bin/env bash
# Profiles the decoder with callgrind (no hardware counters needed) over a slice of each
# benchmark file and prints the top functions by their own cost, with inlined code counted in
# the function it was inlined into, and then by source file (where the inlined code is written).
#
# usage: bench/profile.sh [FILE.rdb...]
#   default: strings.rdb and collections.rdb from ${REDTAIL_BENCH_DATA:-~/.cache/redtail/bench}
# environment: PROFILE_BYTES (default 50000000: the slice), PROFILE_TOP (default 15)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DIR=${REDTAIL_BENCH_DATA:-$HOME/.cache/redtail/bench}
BYTES=${PROFILE_BYTES:-50000000}
TOP=${PROFILE_TOP:-15}
[ $# -gt 0 ] || set -- "$DIR/strings.rdb" "$DIR/collections.rdb"

die() { echo "profile: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind is missing: apt-get install valgrind"
command -v callgrind_annotate >/dev/null || die "callgrind_annotate is missing: apt-get install valgrind"
for f in "$@"; do [ -f "$f" ] || die "no $f: run bench/gen-data.sh first"; done

(cd "$REPO" && cargo build --release -p redtail-rdb --example decode) || die "the decode example does not build"
TARGET=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
WORK=$(mktemp -d "${TMPDIR:-/tmp}/redtail-profile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp "$TARGET/release/examples/decode" "$WORK/decode"

summarise() { # MODE(fn|file) < callgrind_annotate output
  python3 -c '
import collections, re, sys
mode, top = sys.argv[1], int(sys.argv[2])
tot, total, section = collections.Counter(), None, False
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
    if "PROGRAM TOTALS" in line:
        total = int(m.group(1).replace(",", ""))
        continue
    if "file:function" in line:
        section = True
        continue
    if not section or not m:
        continue
    n = int(m.group(1).replace(",", ""))
    src, _, fn = re.sub(r" \[[^\]]*\]$", "", m.group(2)).partition(":")
    src = re.sub(r"^/rustc/[0-9a-f]+/library/", "std/", src)
    src = re.sub(r"^.*/registry/src/[^/]+/", "", src)
    src = re.sub(r"^.*/sysdeps/x86_64/(multiarch/)?", "libc/", src)
    tot[fn if mode == "fn" else src] += n
for k, n in tot.most_common(top):
    print(f"{n / total * 100:5.1f}%  {n:>15,}  {k}")
' "$1" "$TOP"
}

for f in "$@"; do
  name=$(basename "$f" .rdb)
  out=$WORK/callgrind.$name
  echo "## $name: first $BYTES bytes of $f"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$WORK/decode" --max-bytes "$BYTES" "$f" 2>"$WORK/vg.log" \
    || { cat "$WORK/vg.log" >&2; die "callgrind failed on $f"; }
  grep -h 'Collected' "$WORK/vg.log" | sed 's/^==[0-9]*== /instructions /'
  echo "### top $TOP functions, self cost (inlined code in its caller)"
  callgrind_annotate --inclusive=no --auto=no --threshold=100 "$out" 2>/dev/null | summarise fn
  echo "### top $TOP source files, self cost"
  callgrind_annotate --inclusive=no --auto=no --threshold=100 "$out" 2>/dev/null | summarise file
  echo
done
