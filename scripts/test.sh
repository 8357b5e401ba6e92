#!/usr/bin/env bash
# Installs what the tests need, then runs every test of the workspace. This is the README's test
# command and what CI runs (.ci/run), on a fresh Debian bookworm with a Rust toolchain, as root.
#
# usage: scripts/test.sh [extra arguments for cargo test / cargo nextest run]
# Servers are cached in $REDTAIL_SERVERS (default ~/.cache/redtail/servers), outside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "== $* ($(date +%H:%M:%S))" >&2; }

step "test servers (scripts/install-test-servers.sh ci)"
# Also installs the Debian packages the tests use (redis-tools, build-essential, ...).
scripts/install-test-servers.sh ci </dev/null

# The ci profile (optimised, no LTO): the decoder tests run on large data sets, which are slow in debug builds.
if cargo nextest --version >/dev/null 2>&1; then
  step "cargo nextest run --workspace --cargo-profile ci"
  cargo nextest run --workspace --cargo-profile ci "$@"
  # nextest does not run doc tests.
  cargo test --workspace --profile ci --doc
else
  step "cargo test --workspace --profile ci"
  cargo test --workspace --profile ci "$@"
fi
step "tests passed"
