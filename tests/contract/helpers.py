"""Helpers for the contract tests: schemas, the Kafka partitioner, processes, NDJSON, producing and consuming."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from jsonschema import Draft202012Validator

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO / "schemas"

INPUT_TOPICS = ["quotes", "trades", "instruments", "accounts"]
OUTPUT_TOPICS = ["liquidity-metrics", "backstop-triggers", "backstop-marks", "backstop-fills", "margin-calls",
                 "account-margin", "backstop-dlq"]
ALL_TOPICS = INPUT_TOPICS + OUTPUT_TOPICS

SOURCE_RE = re.compile(r"^(quotes|trades|accounts)/([0-9]+)/([0-9]+)$")


# --- schemas ------------------------------------------------------------------------------------------------------

def schema_path(name: str) -> Path:
    return SCHEMA_DIR / f"{name}.json"


def load_schema(name: str) -> dict:
    with open(schema_path(name), encoding="utf-8") as f:
        return json.load(f)


_validators: dict[str, Draft202012Validator] = {}


def validator(name: str) -> Draft202012Validator:
    if name not in _validators:
        _validators[name] = Draft202012Validator(load_schema(name))
    return _validators[name]


def schema_errors(name: str, instance: Any) -> list[str]:
    """Every violation of schema `name` by `instance`, as `path: message` strings (empty when valid)."""
    errs = sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errs]


# --- Kafka's default (Java) partitioner: murmur2, as librdkafka's `murmur2_random` for non-null keys ---------------

def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as an unsigned 32-bit value."""
    length = len(data)
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(length // 4):
        i4 = i * 4
        k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rem, tail = length % 4, length & ~3
    if rem == 3:
        h ^= data[tail + 2] << 16
    if rem >= 2:
        h ^= data[tail + 1] << 8
    if rem >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition the Java client (and librdkafka's murmur2_random) picks for a non-null key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


# --- processes ----------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, term_timeout: float = 10.0) -> int:
    """SIGTERM, wait up to term_timeout, then SIGKILL. Returns the exit code. Never leaves the process behind."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            return proc.wait(timeout=term_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def tail(path: Path, limit: int = 20000) -> str:
    """The last `limit` characters of a log file (for failure messages)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data[-limit:].decode("utf-8", "replace")
    return ("…\n" if len(data) > limit else "") + text


def run_cli(args: list[str], log: Path, timeout: float = 300.0, env: dict | None = None) -> None:
    """Runs a backstop command to completion, output appended to `log`; fails with the log when it does not exit 0."""
    with open(log, "ab") as out:
        out.write(("\n$ " + " ".join(args) + "\n").encode())
        out.flush()
        try:
            rc = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, env=env).returncode
        except subprocess.TimeoutExpired:
            raise AssertionError(f"`{' '.join(args)}` did not finish within {timeout}s; log {log}:\n{tail(log)}")
    if rc != 0:
        raise AssertionError(f"`{' '.join(args)}` exited {rc}; log {log}:\n{tail(log)}")


# --- NDJSON -------------------------------------------------------------------------------------------------------

def read_lines(path: Path) -> list[bytes]:
    """The lines of an NDJSON file as raw bytes, without line terminators; blank lines dropped."""
    out = []
    for line in Path(path).read_bytes().split(b"\n"):
        line = line.rstrip(b"\r")
        if line.strip():
            out.append(line)
    return out


def parse_line(line: bytes) -> Any | None:
    """The JSON value of a line, or None when it is not valid UTF-8 JSON."""
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def read_ndjson(path: Path) -> list[dict]:
    """Parses every line of an NDJSON output file; fails with the line number on an unparseable line."""
    records = []
    for n, line in enumerate(read_lines(path), 1):
        value = parse_line(line)
        assert isinstance(value, dict), f"{path}:{n}: not a JSON object: {line[:200]!r}"
        records.append(value)
    return records


def write_lines(path: Path, lines: Iterable[bytes]) -> None:
    with open(path, "wb") as f:
        for line in lines:
            f.write(line + b"\n")


FEED_FILES = ["instruments", "quotes", "trades", "accounts"]


def feed_and_backtest(exe: str, broker: str, config: list[str], tmp: Path, log: Path,
                      generate: list[str]) -> tuple[dict[str, list[tuple[bytes, Any]]], Path]:
    """Creates the topics (3 partitions), generates a feed (`generate`: the scenario flags), writes it as the
    backtest's input and runs the backtest on it. Returns every feed file's (line, parsed) pairs and the
    backtest's output directory."""
    run_cli([exe, "topics", "create", "--brokers", broker, *config, "--partitions", "3"], log)
    generated, inputs, backtest = tmp / "generated", tmp / "input", tmp / "backtest"
    run_cli([exe, "generate", *generate, "--output", str(generated)], log)
    inputs.mkdir()
    files = {name: [(line, parse_line(line)) for line in read_lines(generated / f"{name}.ndjson")]
             for name in FEED_FILES}
    for name, lines in files.items():
        write_lines(inputs / f"{name}.ndjson", [line for line, _ in lines])
    run_cli([exe, "backtest", *config, "--partitions", "3", "--input", str(inputs), "--output", str(backtest)], log)
    return files, backtest


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def dlq_value(raw: bytes) -> tuple[str, bool]:
    """What a DLQ record's (value, value_base64) must be for a message value `raw`."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


# --- Kafka --------------------------------------------------------------------------------------------------------

@dataclass
class Produced:
    """One message produced to the broker, with where it landed."""
    topic: str
    key: bytes | None
    value: bytes
    record: Any                # parsed value, None when not JSON
    partition: int = -1
    offset: int = -1
    error: str | None = None


# The environment for `backstop run` in tests that produce their feed while the processes run. The feed comes in
# one transaction (``produce_atomically``), but a consumer's fetches of a task's quotes and trades partitions still
# arrive apart by however long the machine takes; on a loaded machine that can pass the example configuration's
# `max_idle` (50 ms), and a task then rightly goes on without its trades. These tests check state and outputs, not
# idle handling, so their processes wait longer for an empty input.
PATIENT_RUN_ENV = {**os.environ, "BACKSTOP_KAFKA__MAX_IDLE": "2s"}


def produce_atomically(bootstrap: str, messages: list[Produced]) -> None:
    """Produces `messages` in one transaction (murmur2 partitioner, list order per partition): read_committed
    consumers see the whole feed at once. Produced while the processes already run, a feed arriving piecemeal
    (all quotes, then all trades) would leave a task's trades input empty and at its end for longer than
    `max_idle`, and the task would rightly go on without it — the live semantics, not what the tests using this
    check."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random",
                         "transactional.id": f"feed-{uuid.uuid4().hex[:8]}", "linger.ms": 5})
    producer.init_transactions(30)
    producer.begin_transaction()
    for m in messages:
        while True:
            try:
                producer.produce(m.topic, key=m.key, value=m.value)
                break
            except BufferError:
                producer.poll(0.1)
    producer.commit_transaction(120)


def produce_all(bootstrap: str, messages: list[Produced], timeout: float = 120.0) -> None:
    """Produces `messages` in list order with the Java-compatible partitioner; fills in partition and offset.

    Idempotence keeps each partition in produce order even across retries."""
    from confluent_kafka import Producer

    producer = Producer({
        "bootstrap.servers": bootstrap,
        "partitioner": "murmur2_random",
        "enable.idempotence": True,
        "linger.ms": 5,
    })

    def on_delivery(msg_ref: Produced) -> Callable:
        def cb(err, msg):
            if err is not None:
                msg_ref.error = str(err)
            else:
                msg_ref.partition, msg_ref.offset = msg.partition(), msg.offset()
        return cb

    for m in messages:
        while True:
            try:
                producer.produce(m.topic, key=m.key, value=m.value, on_delivery=on_delivery(m))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(timeout)
    if remaining:
        raise AssertionError(f"{remaining} messages still undelivered after {timeout}s")
    failed = [m for m in messages if m.error or m.offset < 0]
    if failed:
        raise AssertionError(f"{len(failed)} messages failed delivery, first: {failed[0]}")


@dataclass
class Consumed:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)

    def header_values(self, name: str) -> list[bytes | None]:
        return [v for k, v in self.headers if k == name]


def topic_partitions(admin, topic: str, timeout: float = 10.0) -> int:
    md = admin.list_topics(topic=topic, timeout=timeout)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return 0
    return len(t.partitions)


class OutputReader:
    """Reads topics from the beginning with read_committed, under a fresh group id (partitions assigned explicitly)."""

    def __init__(self, bootstrap: str, topics: list[str], group: str):
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": bootstrap})
        assignment = []
        for t in topics:
            n = topic_partitions(admin, t)
            assert n > 0, f"topic {t!r} does not exist on {bootstrap}"
            assignment += [TopicPartition(t, p, OFFSET_BEGINNING) for p in range(n)]
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        })
        self.consumer.assign(assignment)
        self.messages: list[Consumed] = []
        self.counts: dict[str, int] = {t: 0 for t in topics}   # messages received per topic
        self.errors: list[str] = []

    def poll(self, timeout: float) -> int:
        """Polls once for up to `timeout` seconds; returns the number of messages received."""
        got = 0
        for msg in self.consumer.consume(num_messages=1000, timeout=timeout):
            if msg.error():
                self.errors.append(str(msg.error()))
                continue
            self.messages.append(Consumed(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(),
                                          [(k, v) for k, v in (msg.headers() or [])]))
            self.counts[msg.topic()] = self.counts.get(msg.topic(), 0) + 1
            got += 1
        return got

    def poll_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.poll(min(0.5, left))
        return True

    def drain(self, quiet: float = 3.0, timeout: float = 20.0) -> None:
        """Keeps reading until nothing arrived for `quiet` seconds (or `timeout` passed)."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet:
            if self.poll(0.5):
                last = time.monotonic()

    def of(self, topic: str) -> list[Consumed]:
        return [m for m in self.messages if m.topic == topic]

    def close(self) -> None:
        self.consumer.close()


# --- comparisons --------------------------------------------------------------------------------------------------

def json_equal(a: Any, b: Any) -> bool:
    """Exact equality of parsed JSON values: 1 and 1.0, or true and 1, are different (Python's == says equal)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return a == b


def dict_diff(a: dict, b: dict, a_name: str = "live", b_name: str = "backtest") -> str:
    """Field-by-field differences between two records (exact, see json_equal)."""
    lines = []
    for k in sorted(set(a) | set(b)):
        if k not in a:
            lines.append(f"  {k}: missing in {a_name}, {b_name} = {b[k]!r}")
        elif k not in b:
            lines.append(f"  {k}: {a_name} = {a[k]!r}, missing in {b_name}")
        elif not json_equal(a[k], b[k]):
            lines.append(f"  {k}: {a_name} = {a[k]!r}, {b_name} = {b[k]!r}")
    return "\n".join(lines)


def env_path(name: str) -> Path | None:
    v = os.environ.get(name)
    return Path(v) if v else None


# --- Comparing a live run with its backtest ---------------------------------------------------------------------

def feed_part(files: dict, keep: Callable[[str, dict], bool]) -> list[Produced]:
    """The feed's messages that `keep(topic, record)` selects: instruments, accounts, quotes, trades, in file order
    (`files` as `feed_and_backtest` returns them)."""
    out = []
    for topic, key in [("instruments", "symbol"), ("accounts", "account"), ("quotes", "instrument"),
                       ("trades", "instrument")]:
        out += [Produced(topic, r[key].encode(), line, r) for line, r in files[topic] if keep(topic, r)]
    return out


def without_last_close(expected: dict[str, dict[str, dict]], metrics: str = "liquidity-metrics",
                       triggers: str = "backstop-triggers") -> None:
    """Removes from a backtest's records what a live run never writes: each instrument's last interval (no later
    event closes it) and the rule events at that close (`stale-market` aside)."""
    last_close: dict[str, int] = {}
    for r in expected[metrics].values():
        last_close[r["instrument"]] = max(last_close.get(r["instrument"], 0), r["ts"])
    expected[metrics] = {i: r for i, r in expected[metrics].items() if r["ts"] != last_close[r["instrument"]]}
    if triggers in expected:
        expected[triggers] = {i: r for i, r in expected[triggers].items()
                              if r.get("rule") == "stale-market" or r["ts"] != last_close.get(r["instrument"])}


def compare_with_backtest(reader: OutputReader, expected: dict[str, dict[str, dict]]) -> list[str]:
    """Per topic, what the live records (as `reader` got them) lack or add against the backtest's (by id), ids
    written twice, and the first records whose values differ."""
    problems = []
    for topic, wanted in expected.items():
        live = [parse_line(m.value) for m in reader.of(topic)]
        counts: dict[Any, int] = {}
        for r in live:
            counts[r.get("id")] = counts.get(r.get("id"), 0) + 1
        twice = [i for i, n in counts.items() if n > 1]
        got = {r.get("id"): r for r in live}
        missing = [i for i in wanted if i not in got]
        extra = [i for i in got if i not in wanted]
        differ = [i for i in wanted if i in got and not json_equal(got[i], wanted[i])]
        if twice:
            problems.append(f"{topic}: {len(twice)} ids written twice, e.g. {twice[:5]}")
        if missing:
            problems.append(f"{topic}: {len(missing)} backtest records missing, e.g. {missing[:5]}")
        if extra:
            problems.append(f"{topic}: {len(extra)} records the backtest does not have, e.g. {extra[:5]}")
        problems += [f"{topic}: {i} differs:\n{dict_diff(got[i], wanted[i])}" for i in differ[:3]]
    return problems


def assigned_quotes(log: Path) -> set[int] | None:
    """The quotes partitions in a `backstop run` log's latest assignment (None before any; empty after a revoke)."""
    found = None
    for line in log.read_text(errors="replace").splitlines():
        if "partitions assigned" in line:
            found = {int(p) for p in re.findall(r'"quotes/(\d+)@', line)}
        elif "partitions revoked" in line:
            found = set()
    return found


def wait_until_shared(logs: list[Path], procs: list[subprocess.Popen], partitions: int = 3,
                      timeout: float = 60.0) -> None:
    """Waits until the processes' latest assignments (from their logs) each hold some quotes partitions and
    together all of them; fails if a process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shares = [assigned_quotes(log) for log in logs]
        if all(shares) and sorted(p for share in shares for p in share) == list(range(partitions)):
            return
        assert all(p.poll() is None for p in procs), "a run exited:\n" + "\n".join(tail(log) for log in logs)
        time.sleep(0.2)
    raise AssertionError(f"the processes did not share the partitions within {timeout:.0f} s:\n"
                         + "\n".join(tail(log) for log in logs))
