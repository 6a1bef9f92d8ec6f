#!/usr/bin/env bash
# make demo: a local broker, backstop's topics, a market-stress feed paced in event time, backstop running, and its
# outputs printed as they arrive. Stops everything cleanly at the end or on Ctrl-C.
set -uo pipefail
BIN="$1"; TANSU="$2"; PYTHON="${3:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/lib.sh"
SCENARIO="${DEMO_SCENARIO:-flash-crash}"
DURATION="${DEMO_DURATION:-3m}"
SPEED="${DEMO_SPEED:-6}"
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
    trap - EXIT INT TERM
    echo; echo "── stopping ──"
    for pid in "${PIDS[@]}"; do stop_pid "$pid" 15; done
    if [ -f "$WORK/run.log" ]; then
        echo "backstop's last progress report:"
        grep "progress" "$WORK/run.log" | tail -n 1 | sed 's/^/  /'
    fi
    stop_pid "${BROKER_PID:-}" 3
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "── starting a local broker (Tansu) ──"
start_broker "$TANSU" "$WORK/tansu.log" || exit 1
echo "broker at $BROKERS"
"$BIN" topics create --config "$ROOT/config/backstop.yaml" --brokers "$BROKERS"

echo "── starting backstop run (logs: $WORK/run.log) ──"
# The paced feed's producer batches each partition on its own timer, so a trade can become readable after quotes
# produced after it; on a busy machine by more than the default 50 ms max_idle, and the task would go on without it
# (the live semantics) and differ from the backtest. A longer max_idle keeps the demo's live run equal to it.
"$BIN" run --config "$ROOT/config/backstop.yaml" --brokers "$BROKERS" --http-port 0 --max-idle 1s \
    >/dev/null 2>"$WORK/run.log" &
PIDS+=($!)

echo "── feeding '$SCENARIO' ($DURATION of event time at ${SPEED}× speed) plus three malformed quotes ──"
"$PYTHON" - "$BROKERS" <<'PY'
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "partitioner": "murmur2_random"})
bad = [b"\xff\xfe not json",
       b'{"instrument":"BTC-PERP","ts":1764000000000000,"bid":"abc","bid_size":1,"ask":64001,"ask_size":1}',
       b'{"instrument":"BTC-PERP","ts":1764000000000000,"bid":64010,"bid_size":1,"ask":64001,"ask_size":1}']
for value in bad:
    p.produce("quotes", key=b"BTC-PERP", value=value)
p.flush(10)
PY
"$BIN" generate --scenario "$SCENARIO" --seed 7 --duration "$DURATION" --accounts 50 --speed "$SPEED" \
    --brokers "$BROKERS" >"$WORK/generate.log" 2>&1 &
GEN_PID=$!
PIDS+=($GEN_PID)

echo "── liquidity-metrics for BTC-PERP (one line per 1 s interval of event time), every backstop trigger, and the dead-letter topic ──"
"$BIN" tail liquidity-metrics --brokers "$BROKERS" --key BTC-PERP 2>/dev/null &
PIDS+=($!)
"$BIN" tail backstop-triggers --brokers "$BROKERS" 2>/dev/null &
PIDS+=($!)
"$BIN" tail backstop-dlq --brokers "$BROKERS" 2>/dev/null &
PIDS+=($!)

wait "$GEN_PID"
sleep 2

echo
echo "── the same feed as a backtest (same engine, no broker), with the account stage and the HTML report ──"
REPORT_DIR="$ROOT/out/demo"
mkdir -p "$REPORT_DIR"
"$BIN" generate --scenario "$SCENARIO" --seed 7 --duration "$DURATION" --accounts 50 --output "$WORK/feed" >/dev/null
"$BIN" backtest --config "$ROOT/config/backstop.yaml" --input "$WORK/feed" --output "$REPORT_DIR" \
    --report "$REPORT_DIR/report.html" 2>/dev/null
"$PYTHON" - "$REPORT_DIR/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
calls = report["margin_calls"]
print(f"margin calls: {calls['count']} " + " ".join(f"{k}={v}" for k, v in sorted(calls["by_level"].items())))
episodes = report["triggers"]["episodes"]
print(f"trigger episodes: {len(episodes)}; VaR traffic lights: "
      + " ".join(f"{k}={v['traffic_light']}" for k, v in sorted(report["var_backtest"].items()) if k.endswith("-PERP")))
PY
"$PYTHON" - "$BROKERS" "$REPORT_DIR/margin-calls.ndjson" <<'PY'
import collections, json, sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "demo-count", "isolation.level": "read_committed",
              "enable.auto.commit": False})
meta = c.list_topics("margin-calls", timeout=10).topics["margin-calls"].partitions
c.assign([TopicPartition("margin-calls", p, 0) for p in meta])
live, idle = [], 0
while idle < 4:
    batch = c.consume(1000, 0.5)
    idle = idle + 1 if not batch else 0
    live += [json.loads(m.value()) for m in batch if not m.error()]
c.close()
backtest = {json.loads(l)["id"] for l in open(sys.argv[2])}
by_level = collections.Counter(r["level"] for r in live)
print(f"live margin calls (backstop run, on the broker): {len(live)} "
      + " ".join(f"{k}={v}" for k, v in sorted(by_level.items()))
      + f"; the same as the backtest's: {'yes' if {r['id'] for r in live} == backtest else 'no'}")
PY
echo "report: $REPORT_DIR/report.html (open it in a browser)"
