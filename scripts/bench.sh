#!/usr/bin/env bash
# make bench: on one broker per run, the raw librdkafka consume rate and backstop's end-to-end rate over the same
# pre-produced input (the market alone, then with accounts), then the in-process stage throughput, then (scripts/bench/latency.sh, fresh brokers) the
# latency quote → margin-call at a paced input rate, exactly-once and at-least-once. Ends with `name: value` lines.
# Usage: bench.sh BIN TANSU [PYTHON]
set -euo pipefail
BIN="$1"; TANSU="$2"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${3:-$ROOT/.deps/venv/bin/python}"
source "$ROOT/scripts/lib.sh"
WORK="$(mktemp -d)"
DURATION="${BENCH_DURATION:-10m}"
QUOTE_INTERVAL="${BENCH_QUOTE_INTERVAL:-25ms}"
cleanup() { stop_pid "${RUN_PID:-}"; stop_pid "${BROKER_PID:-}" 3; rm -rf "$WORK"; }
trap cleanup EXIT

cc -O2 -o "$WORK/raw_consume" "$ROOT/scripts/bench/raw_consume.c" $(pkg-config --cflags --libs rdkafka) \
    -Wl,-rpath,"$(pkg-config --variable=libdir rdkafka)"

# e2e NAME ACCOUNTS: on a fresh broker, the feed (with ACCOUNTS leveraged accounts) pre-produced, the raw consume
# rate over it, then `backstop run` over the same messages; prints NAME-prefixed figures.
e2e() {
    local name="$1" accounts="$2" dir="$WORK/$1"
    mkdir -p "$dir"
    start_broker "$TANSU" "$dir/tansu.log"
    "$BIN" topics create --brokers "$BROKERS" --partitions 3 >/dev/null
    local feed=(--scenario calm --seed 11 --duration "$DURATION" --quote-interval "$QUOTE_INTERVAL" --accounts "$accounts")
    "$BIN" generate "${feed[@]}" --output "$dir/feed" >&2
    "$BIN" generate "${feed[@]}" --brokers "$BROKERS" >&2
    local count=$(( $(wc -l < "$dir/feed/quotes.ndjson") + $(wc -l < "$dir/feed/trades.ndjson") ))
    [ -f "$dir/feed/accounts.ndjson" ] && count=$(( count + $(wc -l < "$dir/feed/accounts.ndjson") ))
    "$WORK/raw_consume" "$BROKERS" 3 "$count" quotes trades accounts > "$dir/raw.txt"
    local rc=0
    "$BIN" run --config "$ROOT/config/backstop.yaml" --brokers "$BROKERS" --group "bench-$$" --stop-when-idle 3s \
        2>"$dir/run.log" > "$dir/e2e.txt" || rc=$?
    if [ "$rc" -ne 0 ]; then
        # The work directory goes with the exit: show why the run failed first.
        echo "${name}end-to-end run failed (exit $rc); the end of its log:" >&2
        tail -n 40 "$dir/run.log" >&2
        exit 1
    fi
    stop_pid "$BROKER_PID" 3
    python3 - "$dir" "$count" "$name" <<'PY'
import sys
work, count, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def read(file):
    return dict(line.split(": ", 1) for line in open(f"{work}/{file}").read().splitlines() if ": " in line)
raw, e2e = read("raw.txt"), read("e2e.txt")
consumed = int(e2e["consumed"])
if consumed != count:
    sys.exit(f"{name}: end-to-end consumed {consumed} of {count} messages")
if int(e2e["rejected"]) != 0:
    sys.exit(f"{name}: end-to-end rejected {e2e['rejected']} valid inputs (merge order broken?)")
e2e_rate = consumed / float(e2e["processing_seconds"])
raw_rate = float(raw["raw_consume_msgs_per_s"])
print(f"{name}input_messages: {count}")
print(f"{name}end_to_end_msgs_per_s: {e2e_rate:.0f}")
print(f"{name}raw_consume_msgs_per_s: {raw_rate:.0f}")
print(f"{name}end_to_end_vs_raw_consume_ratio: {e2e_rate / raw_rate:.3f}")
PY
}

# The market alone (instrument stage, marks read back by the account tasks), then with leveraged accounts on
# board (the account stage's margin, liquidation prices, snapshots and margin calls as well).
e2e "" 0
e2e "with_accounts_" "${BENCH_ACCOUNTS:-100}"
"$BIN" generate --scenario calm --seed 11 --duration "$DURATION" --quote-interval "$QUOTE_INTERVAL" \
    --output "$WORK/stage-feed" >&2
"$BIN" bench --input "$WORK/stage-feed"
bash "$ROOT/scripts/bench/latency.sh" "$BIN" "$TANSU" "$PYTHON"
