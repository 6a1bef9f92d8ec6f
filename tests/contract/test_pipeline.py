"""Contract / system test: the real `backstop` binary against a real broker, its output checked against schemas/.

Flow (module-scoped, shared by the tests below):
  1. `backstop topics create` on a fresh Tansu broker; `backstop generate --scenario calm` (120 s of feed).
  2. Bad lines are appended to quotes.ndjson (garbage bytes, a string price, a missing ask, a crossed book, a zero
     price); every line of instruments, quotes and trades is produced, in file order, keyed by instrument, with the
     Java-compatible partitioner.
  3. `backstop backtest --partitions 3` runs on the same files.
  4. `backstop run --guarantee exactly-once` runs live; liquidity-metrics and backstop-dlq are read (read_committed)
     until every expected metrics record is there or the timeout passes; then SIGTERM, which must exit 0.
The live run never closes each instrument's last interval (no later event arrives), so the live metrics must be
the backtest's minus each instrument's last record, value for value.

Environment (set by the Makefile): BACKSTOP (the binary), TANSU (the broker), BACKSTOP_CONFIG (optional YAML).
BACKSTOP_CONTRACT_TIMEOUT overrides the 90 s wait for the live output.
"""

from __future__ import annotations

import bisect
import collections
import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from helpers import (ALL_TOPICS, SOURCE_RE, Consumed, OutputReader, Produced, compact, dict_diff, dlq_value,
                     env_path, json_equal, parse_line, partition_for, produce_all, read_lines, read_ndjson, run_cli,
                     schema_errors, stop_process, tail, topic_partitions, write_lines)

BACKSTOP = env_path("BACKSTOP")
CONFIG = env_path("BACKSTOP_CONFIG")
PARTITIONS = 3
LIVE_TIMEOUT = float(os.environ.get("BACKSTOP_CONTRACT_TIMEOUT", "90"))
SHUTDOWN_TIMEOUT = 30.0
GARBAGE = b"\xff\xfe not json"
METRICS, DLQ = "liquidity-metrics", "backstop-dlq"

pytestmark = pytest.mark.skipif(BACKSTOP is None, reason="BACKSTOP is not set (the Makefile points it at the binary)")


def config_args() -> list[str]:
    return ["--config", str(CONFIG.resolve())] if CONFIG else []


@dataclass
class BadLine:
    name: str
    raw: bytes                # the line exactly as written and produced
    reason: str               # the DLQ reason backstop must give
    key: str                  # the message key it is produced with
    produced: Produced | None = None


@dataclass
class Pipeline:
    tmp: Path
    cli_log: Path
    run_log: Path
    partitions: dict[str, int]               # topic -> partition count after `topics create`
    instrument: str                          # the instrument the bad quotes are for
    bad: list[BadLine]
    produced: list[Produced]
    backtest_metrics: list[dict]
    backtest_dlq: list[dict]
    expected_live: dict[str, dict]           # id -> record: the backtest's metrics minus each instrument's last
    live: list[Consumed] = field(default_factory=list)
    consumer_errors: list[str] = field(default_factory=list)
    complete: bool = False                   # all expected output arrived before the timeout
    died_early: int | None = None            # exit code, when `run` exited before it was told to
    exit_code: int | None = None             # exit code after SIGTERM; None if it had to be killed

    def of(self, topic: str) -> list[Consumed]:
        return [m for m in self.live if m.topic == topic]


# --- set-up -------------------------------------------------------------------------------------------------------

def make_bad_lines(quotes: list[tuple[bytes, dict | None]], trades: list[tuple[bytes, dict | None]]
                   ) -> tuple[str, list[BadLine]]:
    """Bad quotes for the instrument whose last event is the latest (so their ts is never late on any partition),
    stamped with that last event's ts (so they fall inside its last interval and can close no interval).
    The garbage line (no instrument, no ts) is keyed BTC-PERP when the feed has it."""
    last_ts: dict[str, int] = {}
    last_quote: dict[str, dict] = {}
    for _, q in quotes:
        if isinstance(q, dict) and "instrument" in q:
            last_ts[q["instrument"]] = max(last_ts.get(q["instrument"], q["ts"]), q["ts"])
            last_quote[q["instrument"]] = q
    for _, t in trades:
        if isinstance(t, dict) and t.get("instrument") in last_ts:
            last_ts[t["instrument"]] = max(last_ts[t["instrument"]], t["ts"])
    assert last_quote, "the generated quotes.ndjson holds no quote"
    instrument = max(last_ts, key=lambda s: (last_ts[s], s))
    q = last_quote[instrument]
    base = {"instrument": instrument, "ts": last_ts[instrument], "bid": q["bid"], "bid_size": q["bid_size"],
            "ask": q["ask"], "ask_size": q["ask_size"]}
    missing_ask = dict(base)
    del missing_ask["ask"]
    garbage_key = "BTC-PERP" if "BTC-PERP" in last_ts else instrument
    return instrument, [
        BadLine("garbage bytes", GARBAGE, "decode_error", garbage_key),
        BadLine("string bid", compact(base | {"bid": "abc"}), "wrong_type", instrument),
        BadLine("missing ask", compact(missing_ask), "missing_field", instrument),
        BadLine("crossed book", compact(base | {"bid": q["ask"] * 1.001, "ask": q["bid"]}), "crossed_book", instrument),
        BadLine("zero bid", compact(base | {"bid": 0.0}), "non_positive", instrument),
    ]


@pytest.fixture(scope="module")
def pipeline(broker, tmp_path_factory) -> Pipeline:
    assert BACKSTOP.exists() and os.access(BACKSTOP, os.X_OK), f"BACKSTOP={BACKSTOP} is not an executable file"
    if CONFIG:
        assert CONFIG.exists(), f"BACKSTOP_CONFIG={CONFIG} does not exist"
    tmp = tmp_path_factory.mktemp("pipeline")
    cli_log, run_log = tmp / "cli.log", tmp / "run.log"
    generated, inputs, backtest = tmp / "generated", tmp / "input", tmp / "backtest"
    inputs.mkdir()
    exe = str(BACKSTOP.resolve())

    # 1. topics and feed
    run_cli([exe, "topics", "create", "--brokers", broker, *config_args(), "--partitions", str(PARTITIONS)], cli_log)
    admin = AdminClient({"bootstrap.servers": broker})
    partitions = {t: topic_partitions(admin, t) for t in ALL_TOPICS}
    run_cli([exe, "generate", "--scenario", "calm", "--seed", "7", "--duration", "120s", "--output", str(generated)],
            cli_log)
    files = {}
    for name in ["instruments", "quotes", "trades"]:
        path = generated / f"{name}.ndjson"
        assert path.exists(), f"`backstop generate` wrote no {path.name}; log:\n{tail(cli_log)}"
        files[name] = [(line, parse_line(line)) for line in read_lines(path)]
        assert files[name], f"`backstop generate` wrote an empty {path.name}"

    # 2. bad lines, the backtest's input files, the live input
    instrument, bad = make_bad_lines(files["quotes"], files["trades"])
    write_lines(inputs / "instruments.ndjson", [line for line, _ in files["instruments"]])
    write_lines(inputs / "quotes.ndjson", [line for line, _ in files["quotes"]] + [b.raw for b in bad])
    write_lines(inputs / "trades.ndjson", [line for line, _ in files["trades"]])

    produced: list[Produced] = []
    for topic, key_field in [("instruments", "symbol"), ("quotes", "instrument"), ("trades", "instrument")]:
        for line, record in files[topic]:
            assert isinstance(record, dict) and isinstance(record.get(key_field), str), \
                f"generated {topic}.ndjson has a line without a string {key_field!r}: {line[:200]!r}"
            produced.append(Produced(topic, record[key_field].encode(), line, record))
        if topic == "quotes":
            for b in bad:
                b.produced = Produced("quotes", b.key.encode(), b.raw, parse_line(b.raw))
                produced.append(b.produced)
    produce_all(broker, produced)

    # 3. backtest on the same files
    run_cli([exe, "backtest", *config_args(), "--partitions", str(PARTITIONS), "--input", str(inputs),
             "--output", str(backtest)], cli_log)
    for name in [METRICS, DLQ]:
        assert (backtest / f"{name}.ndjson").exists(), f"backtest wrote no {name}.ndjson; log:\n{tail(cli_log)}"
    backtest_metrics = read_ndjson(backtest / f"{METRICS}.ndjson")
    backtest_dlq = read_ndjson(backtest / f"{DLQ}.ndjson")
    assert backtest_metrics, "the backtest wrote no liquidity-metrics record"
    last_id = {}
    for r in backtest_metrics:
        if r["instrument"] not in last_id or r["ts"] > last_id[r["instrument"]][0]:
            last_id[r["instrument"]] = (r["ts"], r["id"])
    closing = {i for _, i in last_id.values()}
    expected_live = {r["id"]: r for r in backtest_metrics if r["id"] not in closing}

    p = Pipeline(tmp, cli_log, run_log, partitions, instrument, bad, produced, backtest_metrics, backtest_dlq,
                 expected_live)

    # 4. the live run
    group = f"backstop-contract-{uuid.uuid4().hex[:12]}"
    with open(run_log, "wb") as out:
        proc = subprocess.Popen([exe, "run", "--brokers", broker, *config_args(), "--group", group,
                                 "--guarantee", "exactly-once"],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    reader = None
    try:
        reader = OutputReader(broker, [METRICS, DLQ], group=f"contract-reader-{uuid.uuid4().hex[:12]}")

        def done() -> bool:
            return proc.poll() is not None or (len(reader.of(METRICS)) >= len(expected_live)
                                               and len(reader.of(DLQ)) >= len(bad))
        p.complete = reader.poll_until(done, LIVE_TIMEOUT) and proc.poll() is None
        if proc.poll() is not None:
            p.died_early = proc.returncode
        else:
            try:
                proc.terminate()
                p.exit_code = proc.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.exit_code = None
        # Whatever the run committed (including at shutdown) counts: read until the topics are quiet.
        reader.drain(quiet=3.0, timeout=20.0)
        p.live, p.consumer_errors = reader.messages, reader.errors
    finally:
        stop_process(proc, term_timeout=5)
        if reader is not None:
            reader.close()
    return p


_printed_logs = set()


@pytest.fixture(autouse=True)
def logs_on_failure(request):
    """Prints the backstop logs once (to the failing test's captured output) when a test fails."""
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is None or not rep.failed or "pipeline" not in request.fixturenames:
        return
    p: Pipeline = request.getfixturevalue("pipeline")
    if p.tmp in _printed_logs:
        print(f"backstop logs: {p.cli_log}, {p.run_log}")
        return
    _printed_logs.add(p.tmp)
    print(f"===== backstop CLI log ({p.cli_log}) =====\n{tail(p.cli_log, 8000)}")
    print(f"===== backstop run log ({p.run_log}) =====\n{tail(p.run_log, 20000)}")


def require(problems: list[str], header: str, limit: int = 20) -> None:
    """Fails with every problem listed (up to `limit`) under `header`."""
    if problems:
        more = [f"… and {len(problems) - limit} more"] if len(problems) > limit else []
        pytest.fail(header + "\n" + "\n".join(problems[:limit] + more), pytrace=False)


def values(messages: list[Consumed]) -> list[tuple[Consumed, dict | None]]:
    return [(m, parse_line(m.value) if m.value is not None else None) for m in messages]


def where(m: Consumed) -> str:
    return f"{m.topic}/{m.partition}/{m.offset}"


# --- the run ------------------------------------------------------------------------------------------------------

def test_topics_created(pipeline: Pipeline):
    missing = [t for t, n in pipeline.partitions.items() if n == 0]
    assert not missing, f"`backstop topics create` did not create {missing}"
    for t in ["quotes", "trades"]:
        assert pipeline.partitions[t] == PARTITIONS, f"{t} has {pipeline.partitions[t]} partitions, not {PARTITIONS}"
    assert pipeline.partitions["accounts"] == pipeline.partitions["backstop-fills"], \
        "accounts and backstop-fills must be co-partitioned (same partition count)"


def test_inputs_on_java_partitions(pipeline: Pipeline):
    """Harness check: the feed landed where the Java client would put it (murmur2 of the key)."""
    wrong = [(m.topic, m.key, m.partition) for m in pipeline.produced
             if m.topic in ("quotes", "trades") and m.partition != partition_for(m.key, pipeline.partitions[m.topic])]
    assert not wrong, f"inputs not on murmur2 partitions (the producer must use murmur2_random): {wrong[:5]}"


def test_run_kept_running_and_exited_cleanly_on_sigterm(pipeline: Pipeline):
    assert pipeline.died_early is None, \
        f"`backstop run` exited by itself with code {pipeline.died_early} before the output was complete"
    assert pipeline.exit_code is not None, f"`backstop run` did not exit within {SHUTDOWN_TIMEOUT}s of SIGTERM"
    assert pipeline.exit_code == 0, f"`backstop run` exited {pipeline.exit_code} on SIGTERM, expected 0"
    assert not pipeline.consumer_errors, f"errors while consuming the output: {pipeline.consumer_errors[:5]}"


# --- every record ---------------------------------------------------------------------------------------------------

def test_live_records_match_their_schema(pipeline: Pipeline):
    assert pipeline.live, "no record arrived on liquidity-metrics or backstop-dlq"
    problems = []
    for m, record in values(pipeline.live):
        if not isinstance(record, dict):
            problems.append(f"{where(m)}: value is not a UTF-8 JSON object: {m.value[:200]!r}")
            continue
        errors = schema_errors(m.topic, record)
        if errors:
            problems.append(f"{where(m)}: {'; '.join(errors[:5])}\n    {json.dumps(record)[:400]}")
    require(problems, f"{len(problems)} records break schemas/*.json:")


def test_backtest_records_match_their_schema(pipeline: Pipeline):
    problems = []
    for topic, records in [(METRICS, pipeline.backtest_metrics), (DLQ, pipeline.backtest_dlq)]:
        for n, record in enumerate(records, 1):
            errors = schema_errors(topic, record)
            if errors:
                problems.append(f"backtest {topic}.ndjson:{n}: {'; '.join(errors[:5])}\n    {json.dumps(record)[:400]}")
    require(problems, f"{len(problems)} backtest records break schemas/*.json:")


def test_live_headers(pipeline: Pipeline):
    problems = []
    for m in pipeline.live:
        expected = {"content-type": b"application/json", "schema": f"{m.topic}/1".encode()}
        for name, value in expected.items():
            got = m.header_values(name)
            if got != [value]:
                problems.append(f"{where(m)}: header {name!r} is {got!r}, expected exactly [{value!r}]")
        source = m.header_values("source")
        if len(source) != 1 or source[0] is None or not SOURCE_RE.match(source[0].decode("utf-8", "replace")):
            problems.append(f"{where(m)}: header 'source' is {source!r}, expected one (quotes|trades)/<p>/<offset>")
    require(problems, f"{len(problems)} header problems:")


def test_live_keys_and_partitions(pipeline: Pipeline):
    problems = []
    n = pipeline.partitions[METRICS]
    for m, record in values(pipeline.of(METRICS)):
        if not isinstance(record, dict) or not isinstance(record.get("instrument"), str):
            continue  # reported by the schema test
        key = record["instrument"].encode()
        if m.key != key:
            problems.append(f"{where(m)}: key {m.key!r}, expected the record's instrument {key!r}")
        elif m.partition != partition_for(key, n):
            problems.append(f"{where(m)}: key {key!r} is on partition {m.partition}, the Java partitioner "
                            f"(murmur2_random) puts it on {partition_for(key, n)}")
    for m, record in values(pipeline.of(DLQ)):
        if isinstance(record, dict) and "key" in record:
            key = record["key"].encode() if isinstance(record["key"], str) else None
            if m.key != key:
                problems.append(f"{where(m)}: DLQ key {m.key!r}, expected the rejected message's key {key!r}")
    require(problems, f"{len(problems)} key/partition problems:")


# --- liquidity-metrics ------------------------------------------------------------------------------------------------

def test_backtest_metrics_ids_and_intervals(pipeline: Pipeline):
    records = pipeline.backtest_metrics
    ids = collections.Counter(r.get("id") for r in records)
    dup = [i for i, c in ids.items() if c > 1]
    assert not dup, f"the backtest wrote duplicate metrics ids: {dup[:10]}"
    bad_ids = [r.get("id") for r in records if r.get("id") != f"{r.get('instrument')}:metrics:{r.get('ts')}"]
    assert not bad_ids, f"metrics id must be <instrument>:metrics:<ts>: {bad_ids[:10]}"
    widths = {r["ts"] - r["start"] for r in records}
    assert len(widths) == 1 and min(widths) > 0, f"intervals of different widths ts - start: {sorted(widths)[:10]}"
    w = widths.pop()
    misaligned = [r["id"] for r in records if r["start"] % w]
    assert not misaligned, f"interval starts not aligned to multiples of {w} µs: {misaligned[:10]}"


def test_live_metrics_equal_backtest(pipeline: Pipeline):
    live = [(m, r) for m, r in values(pipeline.of(METRICS)) if isinstance(r, dict) and "id" in r]
    counts = collections.Counter(r["id"] for _, r in live)
    dup = [i for i, c in counts.items() if c > 1]
    assert not dup, f"duplicate ids in the live output (exactly-once violated): {dup[:10]}"
    got = {r["id"]: r for _, r in live}
    expected = pipeline.expected_live
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    differ = [i for i in sorted(set(got) & set(expected)) if not json_equal(got[i], expected[i])]
    msg = []
    if not pipeline.complete:
        msg.append(f"only {len(got)} of {len(expected)} expected metrics records arrived within {LIVE_TIMEOUT}s")
    if missing:
        msg.append(f"{len(missing)} backtest records missing from the live output, e.g. {missing[:10]}")
    if extra:
        msg.append(f"{len(extra)} live records not in the backtest (or an instrument's last interval, which only "
                   f"the backtest may close), e.g. {extra[:10]}")
    for i in differ[:5]:
        msg.append(f"{i} differs (the engine is deterministic: values must be equal):\n"
                   f"{dict_diff(got[i], expected[i])}")
    if len(differ) > 5:
        msg.append(f"… {len(differ) - 5} more records differ")
    require(msg, "live liquidity-metrics != backtest minus each instrument's last record:")


def test_live_metrics_in_time_order(pipeline: Pipeline):
    last: dict[str, int] = {}
    problems = []
    for m, r in values(pipeline.of(METRICS)):
        if not isinstance(r, dict) or not isinstance(r.get("ts"), int):
            continue
        prev = last.get(r.get("instrument"))
        if prev is not None and r["ts"] <= prev:
            problems.append(f"{where(m)}: {r.get('id')} after ts {prev}")
        last[r.get("instrument")] = r["ts"]
    require(problems, "an instrument's metrics records must come in increasing ts:")


def test_metrics_source_is_the_closing_event(pipeline: Pipeline):
    """`source` names the input that caused the record: the instrument's first valid event with ts >= the record's
    end, in merge order (ts, quotes before trades, offset). Rejected (DLQ) inputs close nothing."""
    by_location = {(m.topic, m.partition, m.offset): m for m in pipeline.produced}
    bad = {id(b.produced) for b in pipeline.bad}
    events: dict[str, list[tuple[int, int, int, str]]] = collections.defaultdict(list)
    for m in pipeline.produced:
        if m.topic in ("quotes", "trades") and id(m) not in bad:
            events[m.record["instrument"]].append((m.record["ts"], 0 if m.topic == "quotes" else 1, m.offset,
                                                   f"{m.topic}/{m.partition}/{m.offset}"))
    for evs in events.values():
        evs.sort()
    problems = []
    for m, r in values(pipeline.of(METRICS)):
        source = m.header_values("source")
        match = SOURCE_RE.match(source[0].decode("utf-8", "replace")) if len(source) == 1 and source[0] else None
        if not isinstance(r, dict) or match is None:
            continue  # reported by the schema and header tests
        topic, part, off = match.group(1), int(match.group(2)), int(match.group(3))
        src = by_location.get((topic, part, off))
        if src is None:
            problems.append(f"{r.get('id')}: source {source[0].decode()} is not a message the test produced")
            continue
        evs = events.get(r.get("instrument"), [])
        k = bisect.bisect_left(evs, (r["ts"], -1, -1, ""))
        first = evs[k][3] if k < len(evs) else None
        if src.record is None or src.record.get("instrument") != r.get("instrument") or src.record["ts"] < r["ts"]:
            problems.append(f"{r.get('id')}: source {source[0].decode()} is {src.value[:160]!r}, not an event of "
                            f"{r.get('instrument')} at or after the interval's end (the closing event is {first})")
        elif source[0].decode() != first:
            problems.append(f"{r.get('id')}: source {source[0].decode()}, but the event that closed the interval "
                            f"is {first}")
    require(problems, f"{len(problems)} metrics records name the wrong source:")


# --- backstop-dlq -----------------------------------------------------------------------------------------------------

def test_live_dlq_holds_each_bad_line(pipeline: Pipeline):
    records = [(m, r) for m, r in values(pipeline.of(DLQ)) if isinstance(r, dict)]
    by_location = collections.defaultdict(list)
    for m, r in records:
        by_location[(r.get("topic"), r.get("partition"), r.get("offset"))].append((m, r))
    problems = []
    matched = set()
    for b in pipeline.bad:
        loc = ("quotes", b.produced.partition, b.produced.offset)
        found = by_location.get(loc, [])
        matched.add(loc)
        if len(found) != 1:
            problems.append(f"{b.name}: {len(found)} DLQ records for quotes/{loc[1]}/{loc[2]}, expected exactly 1")
            continue
        m, r = found[0]
        value, is_b64 = dlq_value(b.raw)
        if r.get("reason") != b.reason:
            problems.append(f"{b.name}: reason {r.get('reason')!r}, expected {b.reason!r} (error: {r.get('error')!r})")
        if r.get("value") != value:
            problems.append(f"{b.name}: value {r.get('value')!r}, expected the message as produced {value!r}")
        if bool(r.get("value_base64", False)) != is_b64:
            problems.append(f"{b.name}: value_base64 is {r.get('value_base64')!r}, expected {is_b64}")
        if r.get("key") != b.key:
            problems.append(f"{b.name}: key {r.get('key')!r}, expected the message's key {b.key!r}")
        if m.header_values("source") != [f"quotes/{loc[1]}/{loc[2]}".encode()]:
            problems.append(f"{b.name}: source header {m.header_values('source')!r}, expected quotes/{loc[1]}/{loc[2]}")
    others = [(m, r) for m, r in records if (r.get("topic"), r.get("partition"), r.get("offset")) not in matched]
    for m, r in others[:10]:
        problems.append(f"unexpected DLQ record for a valid input of the calm feed: {json.dumps(r)[:300]}")
    if not pipeline.complete and problems:
        problems.insert(0, f"(the live output was incomplete after {LIVE_TIMEOUT}s)")
    require(problems, "backstop-dlq must hold exactly one record per bad line:")


def test_backtest_dlq_holds_each_bad_line(pipeline: Pipeline):
    problems = []
    remaining = list(pipeline.backtest_dlq)
    for b in pipeline.bad:
        value, is_b64 = dlq_value(b.raw)
        found = [r for r in remaining if r.get("value") == value and r.get("topic") == "quotes"]
        if len(found) != 1:
            problems.append(f"{b.name}: {len(found)} backtest DLQ records with value {value!r}, expected 1")
            continue
        r = found[0]
        remaining.remove(r)
        if r.get("reason") != b.reason:
            problems.append(f"{b.name}: reason {r.get('reason')!r}, expected {b.reason!r} (error: {r.get('error')!r})")
        if bool(r.get("value_base64", False)) != is_b64:
            problems.append(f"{b.name}: value_base64 is {r.get('value_base64')!r}, expected {is_b64}")
    for r in remaining[:10]:
        problems.append(f"unexpected backtest DLQ record for a valid input of the calm feed: {json.dumps(r)[:300]}")
    live_reasons = collections.Counter(r.get("reason") for _, r in values(pipeline.of(DLQ)) if isinstance(r, dict))
    backtest_reasons = collections.Counter(r.get("reason") for r in pipeline.backtest_dlq)
    if pipeline.complete and live_reasons != backtest_reasons:
        problems.append(f"DLQ reasons differ: live {dict(live_reasons)}, backtest {dict(backtest_reasons)}")
    require(problems, "the backtest's backstop-dlq must hold exactly one record per bad line:")
