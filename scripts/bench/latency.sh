#!/usr/bin/env bash
# Latency quote → margin-call on the output topic (SPEC §10), once exactly-once and once at-least-once, each on a
# fresh broker: `backstop topics create`, `backstop run` with config/backstop.yaml, then scripts/bench/latency.py
# feeds instruments, leveraged accounts and quotes/trades paced at LATENCY_RATE events/s and measures.
# Usage: latency.sh BIN TANSU [PYTHON]. Ends with `name: value` lines (latency_… exactly-once, latency_alo_… at-least-once).
set -euo pipefail
BIN="$1"; TANSU="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${3:-$ROOT/.deps/venv/bin/python}"
source "$ROOT/scripts/lib.sh"
RATE="${LATENCY_RATE:-50000}"
DURATION="${LATENCY_DURATION:-12}"
WORK="$(mktemp -d)"
# Tansu answers a waiting fetch late instead of as soon as data arrives (as Kafka does with fetch.min.bytes=1):
# with librdkafka's default fetch.wait.max.ms of 500 a message waits ≈ 160 ms (median) on the test broker before a
# consumer sees it, ≈ 3 ms with 10. backstop's consumers get 10 here, so the figure is backstop's, not Tansu's.
export BACKSTOP_KAFKA__CONSUMER__FETCH__WAIT__MAX__MS="${LATENCY_FETCH_WAIT_MS:-10}"
cleanup() { stop_pid "${RUN_PID:-}"; stop_pid "${BROKER_PID:-}" 3; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# measure GUARANTEE PREFIX
measure() {
    local guarantee="$1" prefix="$2" port rc=0
    start_broker "$TANSU" "$WORK/tansu-$guarantee.log"
    "$BIN" topics create --config "$ROOT/config/backstop.yaml" --brokers "$BROKERS" >/dev/null
    port="$(free_port)"
    "$BIN" run --config "$ROOT/config/backstop.yaml" --brokers "$BROKERS" --group "latency-$$" \
        --guarantee "$guarantee" --http-port "$port" >/dev/null 2>"$WORK/run-$guarantee.log" &
    RUN_PID=$!
    timeout 100 "$PYTHON" "$ROOT/scripts/bench/latency.py" --brokers "$BROKERS" \
        --health "http://127.0.0.1:$port/health/ready" --prefix "$prefix" --rate "$RATE" --duration "$DURATION" \
        || rc=$?
    if ! kill -0 "$RUN_PID" 2>/dev/null; then
        echo "backstop run ($guarantee) exited early; its log:" >&2; tail -n 30 "$WORK/run-$guarantee.log" >&2; rc=1
    fi
    stop_pid "$RUN_PID"; RUN_PID=
    stop_pid "$BROKER_PID" 3; BROKER_PID=
    if [ "$rc" -ne 0 ]; then
        echo "latency measurement ($guarantee) failed; backstop's log ends:" >&2
        tail -n 20 "$WORK/run-$guarantee.log" >&2
        return "$rc"
    fi
}

measure exactly-once latency_
measure at-least-once latency_alo_
