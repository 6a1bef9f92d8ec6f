"""Latency quote → margin-call through a running `backstop run` (SPEC §10), measured on the output topic.

Against a broker where `backstop topics create` has run and `backstop run` is up (its /health/ready answers 200):
  1. on-boards `--instruments` perpetuals and `--accounts-per-instrument` leveraged accounts in each (a USD deposit
     and one long or short position entered at the instrument's centre price, collateral 1.2–2 % of the notional);
  2. produces quotes and trades (market data only: one event in `--trade-every` is a trade), round-robin over the
     instruments, paced at `--rate` events/s for `--warmup` + `--duration` seconds. The mid of instrument i swings
     as centre·(1 + A·sin(2πt/T + φ_i)) with A = 1.2 %, so every account walks ok → warning → margin_call →
     liquidation and back (with the SPEC §6 hysteresis) in every period T, at a coverage of its own. `ts` is the
     wall clock in µs since the epoch, so event time advances with real time (the marks' 100 ms throttle is in
     event time: with many instruments, many marks are due at any moment);
  3. meanwhile, on a second thread, reads `margin-calls` and `backstop-marks` with isolation.level=read_committed.

Latency of a margin call = the monotonic time its message was returned by the consumer − the monotonic time taken
just before `produce()` of the input named by its `source` header (`<topic>/<partition>/<offset>`; the partition
and offset come from the delivery report). A margin call caused by a mark carries the source of the mark, i.e. the
quote (or trade) whose processing published that mark. Both times come from time.monotonic_ns() in this process;
the produce time includes the client's own batching (linger.ms = 1). Only inputs produced after the warm-up count.
Margin calls whose source is a trade (a trade also publishes a due mark) are counted apart, not in the quote
figure. The quote → mark latency (the same measurement on `backstop-marks`) is printed too, to show which stage
dominates.

Prints `<prefix>quote_to_margin_call_{p50,p99,max}_ms`, `<prefix>quote_to_margin_call_samples`,
`<prefix>input_events_per_s` and a few more `name: value` lines; exits 1 when fewer than `--min-samples` samples
were measured, or when backstop never became ready.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import threading
import time
import urllib.request
from array import array

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

AMPLITUDE = 0.012       # relative swing of every mid
HALF_SPREAD = 0.00005   # 0.5 bp either side of the mid
BOOK_SIZE = 1_000_000   # units at the best level: far more than any position, so the liquidity add-on stays small
NOTIONAL = 100_000.0    # USD per position at the centre price


def parse_args() -> argparse.Namespace:
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--brokers", required=True)
    a.add_argument("--health", required=True, help="backstop's /health/ready URL")
    a.add_argument("--prefix", default="latency_", help="prefix of the printed names")
    a.add_argument("--rate", type=float, default=50_000, help="input events per second (quotes and trades)")
    a.add_argument("--duration", type=float, default=12.0, help="measured seconds, after the warm-up")
    a.add_argument("--warmup", type=float, default=3.0, help="seconds of feed before the measurement")
    a.add_argument("--instruments", type=int, default=100)
    a.add_argument("--accounts-per-instrument", type=int, default=4)
    a.add_argument("--period", type=float, default=4.0, help="seconds per price swing")
    a.add_argument("--trade-every", type=int, default=10, help="one trade per this many events")
    a.add_argument("--min-samples", type=int, default=200)
    a.add_argument("--drain", type=float, default=3.0, help="seconds without new output that end the read")
    a.add_argument("--seed", type=int, default=1)
    return a.parse_args()


def wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception as e:  # 503 while not ready, connection refused while starting
            last = str(e)
        time.sleep(0.2)
    sys.exit(f"backstop was not ready within {timeout:.0f} s ({url}: {last})")


class Reader(threading.Thread):
    """Reads margin-calls and backstop-marks (read_committed) from the beginning; keeps (arrival, source, topic)."""

    def __init__(self, brokers: str):
        super().__init__(daemon=True)
        self.consumer = Consumer({
            "bootstrap.servers": brokers,
            "group.id": f"latency-{time.time_ns()}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
            "fetch.error.backoff.ms": 10,
        })
        assignment = []
        for topic in ("margin-calls", "backstop-marks"):
            meta = self.consumer.list_topics(topic, timeout=10).topics[topic]
            if meta.error is not None or not meta.partitions:
                sys.exit(f"topic {topic} is missing: {meta.error}")
            assignment += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions]
        self.consumer.assign(assignment)
        self.calls: list[tuple[int, bytes | None]] = []
        self.marks: list[tuple[int, bytes | None]] = []
        self.errors = 0
        self.last_arrival = time.monotonic_ns()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            # poll() returns as soon as one message is there; consume(…, timeout) would wait for a full batch.
            first = self.consumer.poll(0.05)
            if first is None:
                continue
            now = time.monotonic_ns()  # arrival: when the client handed the first message over
            batch = [first] + self.consumer.consume(1000, 0)
            self.last_arrival = now
            for m in batch:
                if m.error():
                    self.errors += 1
                    continue
                source = next((v for k, v in (m.headers() or []) if k == "source"), None)
                (self.calls if m.topic() == "margin-calls" else self.marks).append((now, source))
        self.consumer.close()


class Feed:
    """The instruments, their price paths and the producer; produce times per (topic, partition) by offset."""

    def __init__(self, brokers: str, args: argparse.Namespace):
        rng = random.Random(args.seed)
        self.args = args
        self.symbols = [f"LAT{i:03d}-USD" for i in range(args.instruments)]
        self.keys = [s.encode() for s in self.symbols]
        self.centre = [round(rng.uniform(500, 5000), 2) for _ in self.symbols]
        self.phase = [rng.uniform(0, 2 * math.pi) for _ in self.symbols]
        self.rng = rng
        self.producer = Producer({"bootstrap.servers": brokers, "partitioner": "murmur2_random",
                                  "linger.ms": 1, "queue.buffering.max.messages": 1_000_000,
                                  "enable.idempotence": True})
        self.times: dict[tuple[str, int], array] = {}  # produce time (monotonic ns) by offset; NaN: not ours
        self.failed = 0
        self.undelivered = 0
        self.acked: list[float] = []  # ms from produce() to its delivery report (the broker's acknowledgement)
        self.acked_since = math.inf

    def _delivered(self, t: int, err, msg) -> None:
        if err is not None:
            self.failed += 1
            return
        arr = self.times.setdefault((msg.topic(), msg.partition()), array("d"))
        off = msg.offset()
        if off >= len(arr):
            arr.extend([math.nan] * (off + 1 - len(arr)))
        arr[off] = t
        if t >= self.acked_since:
            self.acked.append((time.monotonic_ns() - t) / 1e6)

    def produce(self, topic: str, key: bytes, value: bytes) -> None:
        t = time.monotonic_ns()  # just before produce(): the latency includes the client's batching
        while True:
            try:
                self.producer.produce(topic, value, key, on_delivery=lambda err, msg: self._delivered(t, err, msg))
                return
            except BufferError:
                self.producer.poll(0.01)

    def produced_at(self, source: bytes | None) -> tuple[str, int] | None:
        """(topic, produce time) of the input a `source` header names, None when it is not one of ours."""
        if not source:
            return None
        topic, _, rest = source.decode().partition("/")
        partition, _, offset = rest.partition("/")
        arr = self.times.get((topic, int(partition)))
        off = int(offset)
        if arr is None or off >= len(arr) or math.isnan(arr[off]):
            return None
        return topic, int(arr[off])

    def onboard(self) -> int:
        """Instruments, then per instrument the accounts: a USD deposit and one position at the centre price."""
        for sym, centre in zip(self.symbols, self.centre):
            value = (f'{{"symbol":"{sym}","kind":"perpetual","underlying":"{sym.split("-")[0]}","reference":"{sym}",'
                     f'"multiplier":1,"tick_size":0.01}}')
            self.produce("instruments", sym.encode(), value.encode())
        self.producer.flush(30)
        ts = time.time_ns() // 1000
        n = 0
        for i, (sym, centre) in enumerate(zip(self.symbols, self.centre)):
            for j in range(self.args.accounts_per_instrument):
                n += 1
                account = f"lat-{i:03d}-{j}"
                size = round(NOTIONAL / centre, 3) * (1 if j % 2 == 0 else -1)
                cash = round(NOTIONAL * self.rng.uniform(0.012, 0.020), 2)
                for k, body in enumerate([f'"type":"deposit","asset":"USD","amount":{cash}',
                                          f'"type":"position","instrument":"{sym}","size":{size},'
                                          f'"entry_price":{centre}']):
                    value = f'{{"account":"{account}","ts":{ts},"id":"{account}-{k}",{body}}}'
                    self.produce("accounts", account.encode(), value.encode())
        if self.producer.flush(30):
            sys.exit("the on-boarding records were not delivered within 30 s")
        return n

    def run(self, seconds: float, rate: float) -> tuple[int, float]:
        """Quotes and trades paced at `rate` for `seconds`. - Returns: (events, achieved events/s)."""
        n_inst, every, period = len(self.symbols), self.args.trade_every, self.args.period
        symbols, centre, phase, keys = self.symbols, self.centre, self.phase, self.keys
        start = time.monotonic()
        wall0 = time.time()
        sent = 0
        trade_id = 0
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= seconds:
                break
            due = int(elapsed * rate) - sent
            if due <= 0:
                self.producer.poll(0)
                time.sleep(0.0005)
                continue
            due = min(due, 2000)  # never a burst of more than ~40 ms after a stall
            now = wall0 + elapsed
            ts = int(now * 1_000_000)
            angle = 2 * math.pi * now / period
            for _ in range(due):
                i = sent % n_inst
                mid = centre[i] * (1 + AMPLITUDE * math.sin(angle + phase[i]))
                if (sent // n_inst + i) % every == every - 1:  # each instrument: a trade every `every` rounds
                    trade_id += 1
                    side = "buy" if trade_id % 2 else "sell"
                    price = round(mid * (1 + HALF_SPREAD if side == "buy" else 1 - HALF_SPREAD), 2)
                    value = (f'{{"instrument":"{symbols[i]}","ts":{ts},"id":"T-{trade_id}","price":{price},'
                             f'"size":0.5,"side":"{side}"}}')
                    self.produce("trades", keys[i], value.encode())
                else:
                    bid, ask = round(mid * (1 - HALF_SPREAD), 2), round(mid * (1 + HALF_SPREAD), 2)
                    value = (f'{{"instrument":"{symbols[i]}","ts":{ts},"bid":{bid},"bid_size":{BOOK_SIZE},'
                             f'"ask":{ask},"ask_size":{BOOK_SIZE}}}')
                    self.produce("quotes", keys[i], value.encode())
                sent += 1
            self.producer.poll(0)
        took = time.monotonic() - start
        self.undelivered = self.producer.flush(30)
        return sent, sent / took


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank."""
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def latencies(feed: Feed, records: list[tuple[int, bytes | None]], since: int) -> tuple[dict[str, list[float]], int]:
    """Latencies in ms by the source input's topic (inputs produced from `since` on), and the records not matched."""
    out: dict[str, list[float]] = {"quotes": [], "trades": [], "accounts": []}
    unmatched = 0
    for arrival, source in records:
        found = feed.produced_at(source)
        if found is None:
            unmatched += 1
            continue
        topic, produced = found
        if produced >= since:
            out.setdefault(topic, []).append((arrival - produced) / 1e6)
    return out, unmatched


def main() -> None:
    args = parse_args()
    sys.setswitchinterval(0.0002)  # the reader thread takes its arrival time soon after the client returns
    wait_ready(args.health, 90)
    reader = Reader(args.brokers)
    reader.start()
    feed = Feed(args.brokers, args)
    accounts = feed.onboard()
    time.sleep(1.0)  # let the account stage take the on-boarding in
    feed.run(args.warmup, args.rate)
    since = time.monotonic_ns()
    feed.acked_since = since
    events, rate = feed.run(args.duration, args.rate)
    if feed.failed or feed.undelivered:
        sys.exit(f"{feed.failed} inputs failed delivery, {feed.undelivered} still undelivered")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and time.monotonic_ns() - reader.last_arrival < args.drain * 1e9:
        time.sleep(0.1)
    reader.stop.set()
    reader.join(10)

    calls, unmatched = latencies(feed, reader.calls, since)
    marks, _ = latencies(feed, reader.marks, since)
    p = args.prefix
    q = sorted(calls["quotes"])
    print(f"{p}input_events_per_s: {rate:.0f}")
    print(f"{p}input_events: {events}")
    print(f"{p}accounts: {accounts}")
    print(f"{p}margin_calls_read: {len(reader.calls)}")
    if q:
        print(f"{p}quote_to_margin_call_p50_ms: {percentile(q, 0.50):.2f}")
        print(f"{p}quote_to_margin_call_p99_ms: {percentile(q, 0.99):.2f}")
        print(f"{p}quote_to_margin_call_max_ms: {q[-1]:.2f}")
    print(f"{p}quote_to_margin_call_samples: {len(q)}")
    t = sorted(calls["trades"])
    if t:
        print(f"{p}trade_to_margin_call_p99_ms: {percentile(t, 0.99):.2f}")
    print(f"{p}trade_to_margin_call_samples: {len(t)}")
    m = sorted(marks["quotes"])
    if m:
        print(f"{p}quote_to_mark_p50_ms: {percentile(m, 0.50):.2f}")
        print(f"{p}quote_to_mark_p99_ms: {percentile(m, 0.99):.2f}")
    print(f"{p}quote_to_mark_samples: {len(m)}")
    a = sorted(feed.acked)
    if a:
        print(f"{p}input_produce_to_ack_p50_ms: {percentile(a, 0.50):.2f}")
        print(f"{p}input_produce_to_ack_p99_ms: {percentile(a, 0.99):.2f}")
    if rate < 0.9 * args.rate:
        print(f"the feed reached only {rate:.0f} of {args.rate:.0f} events/s (this machine is too busy?)", file=sys.stderr)
    if unmatched or reader.errors:
        print(f"{len(reader.calls)} margin calls read: {unmatched} without a known source, "
              f"{reader.errors} consumer errors", file=sys.stderr)
    if len(q) < args.min_samples:
        sys.exit(f"only {len(q)} quote → margin-call samples (fewer than {args.min_samples}): the measurement is "
                 "not meaningful; see backstop's log")


if __name__ == "__main__":
    try:
        main()
    except KafkaException as e:
        sys.exit(f"Kafka error: {e}")
