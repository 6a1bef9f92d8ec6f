#!/usr/bin/env bash
# make bench: in one run on one broker, the raw librdkafka consume rate and backstop's end-to-end rate over the
# same pre-produced input, then the in-process stage throughput, then (scripts/bench/latency.sh, fresh brokers) the
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

start_broker "$TANSU" "$WORK/tansu.log"
"$BIN" topics create --brokers "$BROKERS" --partitions 3 >/dev/null
"$BIN" generate --scenario calm --seed 11 --duration "$DURATION" --quote-interval "$QUOTE_INTERVAL" --output "$WORK/feed" >&2
"$BIN" generate --scenario calm --seed 11 --duration "$DURATION" --quote-interval "$QUOTE_INTERVAL" --brokers "$BROKERS" >&2
COUNT=$(( $(wc -l < "$WORK/feed/quotes.ndjson") + $(wc -l < "$WORK/feed/trades.ndjson") ))

"$WORK/raw_consume" "$BROKERS" 3 "$COUNT" quotes trades | tee "$WORK/raw.txt"
"$BIN" run --config "$ROOT/config/backstop.yaml" --brokers "$BROKERS" --group "bench-$$" --stop-when-idle 3s \
    2>"$WORK/run.log" | tee "$WORK/e2e.txt"
"$BIN" bench --input "$WORK/feed" | tee "$WORK/stage.txt"

python3 - "$WORK" "$COUNT" <<'PY'
import sys
work, count = sys.argv[1], int(sys.argv[2])
def read(name):
    return dict(line.split(": ", 1) for line in open(f"{work}/{name}").read().splitlines() if ": " in line)
raw, e2e = read("raw.txt"), read("e2e.txt")
consumed = int(e2e["consumed"])
if consumed != count:
    sys.exit(f"end-to-end consumed {consumed} of {count} messages")
if int(e2e["rejected"]) != 0:
    sys.exit(f"end-to-end rejected {e2e['rejected']} valid inputs (merge order broken?)")
e2e_rate = consumed / float(e2e["processing_seconds"])
raw_rate = float(raw["raw_consume_msgs_per_s"])
print(f"input_messages: {count}")
print(f"end_to_end_msgs_per_s: {e2e_rate:.0f}")
print(f"raw_consume_msgs_per_s: {raw_rate:.0f}")
print(f"end_to_end_vs_raw_consume_ratio: {e2e_rate / raw_rate:.3f}")
PY
stop_pid "$BROKER_PID" 3
bash "$ROOT/scripts/bench/latency.sh" "$BIN" "$TANSU" "$PYTHON"
