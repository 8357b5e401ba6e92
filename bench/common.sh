# Shared by the benchmark scripts (sourced; they set REPO and define die and log first).

# Sets REDTAIL to $REDTAIL_BIN, or to a release build made now.
redtail_binary() {
  if [ -n "${REDTAIL_BIN:-}" ]; then
    REDTAIL=$REDTAIL_BIN
  else
    log "cargo build --release -p redtail-cli"
    (cd "$REPO" && cargo build --release -p redtail-cli) || die "redtail does not build (see above)"
    local target_dir
    target_dir=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    REDTAIL=$target_dir/release/redtail
  fi
  [ -x "$REDTAIL" ] || die "no redtail binary at $REDTAIL"
}

# The report's commit line: which code was measured.
commit_line() {
  echo "- commit: $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$REPO" && [ -n "$(git status --porcelain 2>/dev/null)" ] && echo ' (with uncommitted changes)')"
}

# The CPU model and core count, for the report's machine line.
machine() {
  echo "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores"
}
