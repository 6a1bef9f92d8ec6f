#!/usr/bin/env bash
# Instructions per instrument-stage event: one pass of `backstop bench --instrument-only` over the calm bench feed,
# counted by valgrind's callgrind (the run with two passes minus the run with one, so reading the feed does not
# count). Unlike events/s, the count does not depend on the machine's load: use it to compare builds.
# Needs valgrind (Debian: apt-get install valgrind). Usage: scripts/bench/instructions.sh [BIN]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${1:-$ROOT/.build/release/backstop}"
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$BIN" generate --scenario calm --seed 11 --duration 10m --quote-interval 25ms --output "$WORK/feed" >/dev/null
# Without the DWARF sections, which this valgrind cannot read from the Swift toolchain's output (symbols stay).
objcopy --strip-debug "$BIN" "$WORK/backstop"
count() {
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.$1" "$WORK/backstop" bench --input "$WORK/feed" \
        --instrument-only --config "$ROOT/config/backstop.yaml" --repeats "$1" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
one=$(count 1)
two=$(count 2)
events=$(( $(wc -l < "$WORK/feed/quotes.ndjson") + $(wc -l < "$WORK/feed/trades.ndjson") ))
echo "instrument_stage_events: $events"
echo "instrument_stage_instructions_per_event: $(( (two - one) / events ))"
