"""Contract / system test: the real `backstop` binary against a real broker, its output checked against schemas/.

Flow (module-scoped, shared by the tests below):
  1. `backstop topics create` on a fresh Tansu broker; `backstop generate --scenario flash-crash --accounts 20`
     (4 min of feed: the crash fires backstop triggers, and trades name buyer/seller accounts, i.e. fills).
  2. Bad lines are appended to quotes.ndjson (garbage bytes, a string price, a missing ask, a crossed book, a zero
     price) and to accounts.ndjson (a string amount, an unknown type, a negative withdrawal); every line of
     instruments, quotes, trades (keyed by instrument) and accounts (keyed by account) is produced, in file order,
     with the Java-compatible partitioner.
  3. `backstop backtest --partitions 3` runs on the same files; it must have written every output topic, with
     trigger events and fills (so the comparison below cannot silently compare nothing).
  4. `backstop run --guarantee exactly-once` (then, on a fresh broker, at-least-once) runs live; every output topic
     (the instrument stage's and the account stage's margin-calls and account-margin) is read (read_committed,
     fresh group) until every expected record is there or the timeout passes; then SIGTERM, which must exit 0.
The live run never closes each instrument's last interval (no later event arrives; the backtest closes it at the end
of input), so live must equal the backtest, record for record and value for value, except for:
  - liquidity-metrics: each instrument's last record (greatest ts);
  - backstop-triggers: the rule events that last close caused (same instrument, ts = that record's ts).
backstop-marks, backstop-fills, margin-calls and account-margin are equal sets (the account stage sees the same
marks and fills in the same merge order live as in the backtest); backstop-dlq holds one record per bad line in both.
Per key, live records come in the backtest's relative order (the engine is deterministic per input partition).

Environment (set by the Makefile): BACKSTOP (the binary), TANSU (the broker), BACKSTOP_CONFIG (optional YAML; the
example config/backstop.yaml has the trigger rules the flash crash fires).
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

from conftest import running_broker
from helpers import (ALL_TOPICS, SOURCE_RE, Consumed, OutputReader, Produced, compact, dict_diff, dlq_value,
                     env_path, json_equal, parse_line, partition_for, produce_all, read_lines, read_ndjson, run_cli,
                     schema_errors, stop_process, tail, topic_partitions, write_lines)

BACKSTOP = env_path("BACKSTOP")
CONFIG = env_path("BACKSTOP_CONFIG")
PARTITIONS = 3
# Seed 5: the crash fires every trigger state (activated, escalated, deescalated, cleared, stale-market), and one
# event (ETH-PERP spread-blowout cleared) comes from the end-of-input close, which the live run must not write.
SCENARIO, SEED, DURATION, ACCOUNTS = "flash-crash", "5", "4m", "20"
LIVE_TIMEOUT = float(os.environ.get("BACKSTOP_CONTRACT_TIMEOUT", "90"))
SHUTDOWN_TIMEOUT = 30.0
GARBAGE = b"\xff\xfe not json"
METRICS, TRIGGERS, MARKS, FILLS, DLQ = ("liquidity-metrics", "backstop-triggers", "backstop-marks", "backstop-fills",
                                        "backstop-dlq")
CALLS, SNAPSHOTS = "margin-calls", "account-margin"
OUTPUTS = [METRICS, TRIGGERS, MARKS, FILLS, CALLS, SNAPSHOTS, DLQ]
KEYED = [METRICS, TRIGGERS, MARKS, FILLS, CALLS, SNAPSHOTS]  # records with an id, compared one to one
ACCOUNT_STAGE = [CALLS, SNAPSHOTS]                           # caused by account events, marks and fills
KEY_FIELD = {METRICS: "instrument", TRIGGERS: "instrument", MARKS: "instrument", FILLS: "account", CALLS: "account",
             SNAPSHOTS: "account"}
STALE_RULE = "stale-market"                         # built-in: caused by task event time, never by a metrics close

pytestmark = pytest.mark.skipif(BACKSTOP is None, reason="BACKSTOP is not set (the Makefile points it at the binary)")


def config_args() -> list[str]:
    return ["--config", str(CONFIG.resolve())] if CONFIG else []


def ident(topic: str, r: dict) -> str | None:
    """A record's identity for the live/backtest comparison: its `id` (optional on marks: then instrument and ts)."""
    if topic == MARKS and "id" not in r and "instrument" in r and "ts" in r:
        return f"{r['instrument']}:mark:{r['ts']}"
    i = r.get("id")
    return i if isinstance(i, str) else None


@dataclass
class BadLine:
    name: str
    raw: bytes                # the line exactly as written and produced
    reason: str               # the DLQ reason backstop must give
    key: str                  # the message key it is produced with
    produced: Produced | None = None
    topic: str = "quotes"     # the input topic it is produced to (and the backtest file it is appended to)


@dataclass
class Pipeline:
    tmp: Path
    cli_log: Path
    run_log: Path
    partitions: dict[str, int]               # topic -> partition count after `topics create`
    instrument: str                          # the instrument the bad quotes are for
    bad: list[BadLine]
    produced: list[Produced]
    backtest: dict[str, list[dict]]          # output topic -> the backtest's records, in file order
    expected_live: dict[str, dict[str, dict]]  # keyed topic -> id -> record the live run must write
    final_close: dict[str, list[str]]        # keyed topic -> ids only the backtest's end-of-input close writes
    live: list[Consumed] = field(default_factory=list)
    consumer_errors: list[str] = field(default_factory=list)
    complete: bool = False                   # all expected output arrived before the timeout
    died_early: int | None = None            # exit code, when `run` exited before it was told to
    exit_code: int | None = None             # exit code after SIGTERM; None if it had to be killed
    _values: dict[str, list[tuple[Consumed, dict | None]]] = field(default_factory=dict)

    def of(self, topic: str) -> list[Consumed]:
        return [m for m in self.live if m.topic == topic]

    def values(self, topic: str) -> list[tuple[Consumed, dict | None]]:
        """The topic's live messages in (partition, offset) order, with their parsed values (None if not JSON)."""
        if topic not in self._values:
            msgs = sorted(self.of(topic), key=lambda m: (m.partition, m.offset))
            self._values[topic] = values(msgs)
        return self._values[topic]

    def task_partition(self, instrument: str) -> int:
        """The input partition (task) of an instrument's quotes and trades."""
        return partition_for(instrument.encode(), self.partitions["quotes"])


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


def make_bad_account_lines(accounts: list[tuple[bytes, dict | None]]) -> list[BadLine]:
    """Bad account events for the account with the most events, after all its good ones: each goes to the DLQ with
    the greatest ts read before it on its partition, live and in the backtest alike."""
    counts = collections.Counter(a["account"] for _, a in accounts if isinstance(a, dict) and "account" in a)
    assert counts, "the generated accounts.ndjson holds no account event"
    account = max(counts, key=lambda a: (counts[a], a))
    ts = max(a["ts"] for _, a in accounts if isinstance(a, dict) and a.get("account") == account)
    base = {"account": account, "ts": ts, "asset": "USD"}
    return [
        BadLine("string amount", compact(base | {"id": "BAD-1", "type": "deposit", "amount": "lots"}), "wrong_type",
                account, topic="accounts"),
        BadLine("unknown type", compact(base | {"id": "BAD-2", "type": "teleport", "amount": 1}), "unknown_type",
                account, topic="accounts"),
        BadLine("negative withdrawal", compact(base | {"id": "BAD-3", "type": "withdrawal", "amount": -5}),
                "non_positive", account, topic="accounts"),
    ]


def expected_live_output(backtest: dict[str, list[dict]]) -> tuple[dict[str, dict[str, dict]], dict[str, list[str]]]:
    """What the live run must write, by topic and id: the backtest's records minus those of the end-of-input close
    (each instrument's last metrics record, and the rule trigger events of that close)."""
    final_ts: dict[str, int] = {}
    for r in backtest[METRICS]:
        if r["instrument"] not in final_ts or r["ts"] > final_ts[r["instrument"]]:
            final_ts[r["instrument"]] = r["ts"]
    closing = {
        METRICS: lambda r: r["ts"] == final_ts[r["instrument"]],
        TRIGGERS: lambda r: r.get("rule") != STALE_RULE and r.get("ts") == final_ts.get(r.get("instrument")),
        MARKS: lambda r: False,     # marks follow inputs, never a close
        FILLS: lambda r: False,     # fills follow trades
        CALLS: lambda r: False,     # the account stage follows marks, fills and account events
        SNAPSHOTS: lambda r: False,
    }
    expected, final = {}, {}
    for topic in KEYED:
        expected[topic] = {ident(topic, r): r for r in backtest[topic] if not closing[topic](r)}
        final[topic] = [ident(topic, r) for r in backtest[topic] if closing[topic](r)]
    return expected, final


@pytest.fixture(scope="module", params=["exactly-once", "at-least-once"])
def guarantee(request) -> str:
    """Every test below runs once per delivery guarantee; a run without failures writes each output once in both."""
    return request.param


@pytest.fixture(scope="module")
def broker(guarantee, tmp_path_factory):
    """A fresh broker per guarantee (the feed is produced once per broker)."""
    yield from running_broker(tmp_path_factory)


@pytest.fixture(scope="module")
def pipeline(broker, guarantee, tmp_path_factory) -> Pipeline:
    assert BACKSTOP.exists() and os.access(BACKSTOP, os.X_OK), f"BACKSTOP={BACKSTOP} is not an executable file"
    if CONFIG:
        assert CONFIG.exists(), f"BACKSTOP_CONFIG={CONFIG} does not exist"
    tmp = tmp_path_factory.mktemp("pipeline")
    cli_log, run_log = tmp / "cli.log", tmp / "run.log"
    generated, inputs, backtest_dir = tmp / "generated", tmp / "input", tmp / "backtest"
    inputs.mkdir()
    exe = str(BACKSTOP.resolve())

    # 1. topics and feed
    run_cli([exe, "topics", "create", "--brokers", broker, *config_args(), "--partitions", str(PARTITIONS)], cli_log)
    admin = AdminClient({"bootstrap.servers": broker})
    partitions = {t: topic_partitions(admin, t) for t in ALL_TOPICS}
    run_cli([exe, "generate", "--scenario", SCENARIO, "--seed", SEED, "--duration", DURATION, "--accounts", ACCOUNTS,
             "--output", str(generated)], cli_log)
    files = {}
    for name in ["instruments", "quotes", "trades", "accounts"]:
        path = generated / f"{name}.ndjson"
        assert path.exists(), f"`backstop generate` wrote no {path.name}; log:\n{tail(cli_log)}"
        files[name] = [(line, parse_line(line)) for line in read_lines(path)]
        assert files[name], f"`backstop generate` wrote an empty {path.name}"

    # 2. bad lines, the backtest's input files, the live input
    instrument, bad = make_bad_lines(files["quotes"], files["trades"])
    bad_accounts = make_bad_account_lines(files["accounts"])
    write_lines(inputs / "instruments.ndjson", [line for line, _ in files["instruments"]])
    write_lines(inputs / "quotes.ndjson", [line for line, _ in files["quotes"]] + [b.raw for b in bad])
    write_lines(inputs / "trades.ndjson", [line for line, _ in files["trades"]])
    write_lines(inputs / "accounts.ndjson", [line for line, _ in files["accounts"]] + [b.raw for b in bad_accounts])

    produced: list[Produced] = []
    for topic, key_field in [("instruments", "symbol"), ("quotes", "instrument"), ("trades", "instrument"),
                             ("accounts", "account")]:
        for line, record in files[topic]:
            assert isinstance(record, dict) and isinstance(record.get(key_field), str), \
                f"generated {topic}.ndjson has a line without a string {key_field!r}: {line[:200]!r}"
            produced.append(Produced(topic, record[key_field].encode(), line, record))
        for b in bad if topic == "quotes" else bad_accounts if topic == "accounts" else []:
            b.produced = Produced(topic, b.key.encode(), b.raw, parse_line(b.raw))
            produced.append(b.produced)
    bad += bad_accounts
    produce_all(broker, produced)

    # 3. backtest on the same files
    run_cli([exe, "backtest", *config_args(), "--partitions", str(PARTITIONS), "--input", str(inputs),
             "--output", str(backtest_dir)], cli_log)
    backtest = {}
    for name in OUTPUTS:
        path = backtest_dir / f"{name}.ndjson"
        assert path.exists(), f"backtest wrote no {name}.ndjson; log:\n{tail(cli_log)}"
        backtest[name] = read_ndjson(path)
    assert backtest[METRICS], "the backtest wrote no liquidity-metrics record"
    expected_live, final_close = expected_live_output(backtest)

    p = Pipeline(tmp, cli_log, run_log, partitions, instrument, bad, produced, backtest, expected_live, final_close)

    # 4. the live run
    group = f"backstop-contract-{uuid.uuid4().hex[:12]}"
    with open(run_log, "wb") as out:
        proc = subprocess.Popen([exe, "run", "--brokers", broker, *config_args(), "--group", group,
                                 "--guarantee", guarantee],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    reader = None
    try:
        reader = OutputReader(broker, OUTPUTS, group=f"contract-reader-{uuid.uuid4().hex[:12]}")
        want = {t: len(expected_live[t]) for t in KEYED} | {DLQ: len(bad)}

        def done() -> bool:
            return proc.poll() is not None or all(reader.counts[t] >= n for t, n in want.items())
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


def source_of(m: Consumed) -> tuple[str, int, int] | None:
    """The message's `source` header as (topic, partition, offset); None when absent or malformed."""
    source = m.header_values("source")
    match = SOURCE_RE.match(source[0].decode("utf-8", "replace")) if len(source) == 1 and source[0] else None
    return (match.group(1), int(match.group(2)), int(match.group(3))) if match else None


def incomplete_note(p: Pipeline) -> list[str]:
    return [] if p.complete else [f"(the live output was incomplete after {LIVE_TIMEOUT}s)"]


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


def test_feed_exercises_every_output(pipeline: Pipeline):
    """Harness check: the flash-crash feed makes the backtest write every output topic, so no comparison below
    compares two empty sets. Trigger events must remain after removing those of the end-of-input close."""
    trades = [m.record for m in pipeline.produced if m.topic == "trades"]
    with_accounts = [t for t in trades if t.get("buyer") or t.get("seller")]
    assert with_accounts, f"no generated trade names a buyer or seller (`generate --accounts {ACCOUNTS}`)"
    problems = [f"the backtest wrote no {t} record" for t in KEYED if not pipeline.backtest[t]]
    problems += [f"no {t} record is expected live (all come from the end-of-input close)"
                 for t in KEYED if pipeline.backtest[t] and not pipeline.expected_live[t]]
    rules = {r.get("rule") for r in pipeline.expected_live[TRIGGERS].values()}
    if pipeline.expected_live[TRIGGERS] and not rules - {STALE_RULE}:
        problems.append(f"no configured rule fired in the {SCENARIO} feed (only {sorted(rules)}): is "
                        f"BACKSTOP_CONFIG={CONFIG} the example config with trigger rules?")
    require(problems, f"the {SCENARIO} feed (seed {SEED}, {DURATION}) does not exercise every output:")


def test_run_kept_running_and_exited_cleanly_on_sigterm(pipeline: Pipeline):
    assert pipeline.died_early is None, \
        f"`backstop run` exited by itself with code {pipeline.died_early} before the output was complete"
    assert pipeline.exit_code is not None, f"`backstop run` did not exit within {SHUTDOWN_TIMEOUT}s of SIGTERM"
    assert pipeline.exit_code == 0, f"`backstop run` exited {pipeline.exit_code} on SIGTERM, expected 0"
    assert not pipeline.consumer_errors, f"errors while consuming the output: {pipeline.consumer_errors[:5]}"


# --- every record ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("topic", OUTPUTS)
def test_live_records_match_their_schema(pipeline: Pipeline, topic: str):
    records = pipeline.values(topic)
    assert records, f"no record arrived on {topic}"
    problems = []
    for m, record in records:
        if not isinstance(record, dict):
            problems.append(f"{where(m)}: value is not a UTF-8 JSON object: {(m.value or b'')[:200]!r}")
            continue
        errors = schema_errors(topic, record)
        if errors:
            problems.append(f"{where(m)}: {'; '.join(errors[:5])}\n    {json.dumps(record)[:400]}")
    require(problems, f"{len(problems)} live {topic} records break schemas/{topic}.json:")


@pytest.mark.parametrize("topic", OUTPUTS)
def test_backtest_records_match_their_schema(pipeline: Pipeline, topic: str):
    problems = []
    for n, record in enumerate(pipeline.backtest[topic], 1):
        errors = schema_errors(topic, record)
        if errors:
            problems.append(f"backtest {topic}.ndjson:{n}: {'; '.join(errors[:5])}\n    {json.dumps(record)[:400]}")
    require(problems, f"{len(problems)} backtest {topic} records break schemas/{topic}.json:")


@pytest.mark.parametrize("topic", OUTPUTS)
def test_live_headers(pipeline: Pipeline, topic: str):
    problems = []
    for m in pipeline.of(topic):
        expected = {"content-type": b"application/json", "schema": f"{m.topic}/1".encode()}
        for name, value in expected.items():
            got = m.header_values(name)
            if got != [value]:
                problems.append(f"{where(m)}: header {name!r} is {got!r}, expected exactly [{value!r}]")
        source = m.header_values("source")
        if len(source) != 1 or source[0] is None or not SOURCE_RE.match(source[0].decode("utf-8", "replace")):
            problems.append(f"{where(m)}: header 'source' is {source!r}, expected one "
                            f"(quotes|trades|accounts)/<p>/<offset>")
    require(problems, f"{len(problems)} {topic} header problems:")


@pytest.mark.parametrize("topic", KEYED)
def test_live_keys_and_partitions(pipeline: Pipeline, topic: str):
    """The key is the record's instrument (its account for fills) and decides the partition (murmur2)."""
    problems = []
    n = pipeline.partitions[topic]
    key_field = KEY_FIELD[topic]
    for m, record in pipeline.values(topic):
        if not isinstance(record, dict) or not isinstance(record.get(key_field), str):
            continue  # reported by the schema test
        key = record[key_field].encode()
        if m.key != key:
            problems.append(f"{where(m)}: key {m.key!r}, expected the record's {key_field} {key!r}")
        elif m.partition != partition_for(key, n):
            problems.append(f"{where(m)}: key {key!r} is on partition {m.partition}, the Java partitioner "
                            f"(murmur2_random) puts it on {partition_for(key, n)}")
    require(problems, f"{len(problems)} {topic} key/partition problems:")


def test_live_dlq_keys(pipeline: Pipeline):
    problems = []
    for m, record in pipeline.values(DLQ):
        if isinstance(record, dict) and "key" in record:
            key = record["key"].encode() if isinstance(record["key"], str) else None
            if m.key != key:
                problems.append(f"{where(m)}: DLQ key {m.key!r}, expected the rejected message's key {key!r}")
    require(problems, f"{len(problems)} DLQ key problems:")


@pytest.mark.parametrize("topic", KEYED)
def test_live_sources_are_inputs_of_the_task(pipeline: Pipeline, topic: str):
    """`source` names an input the test produced, on the input partition (task) of the record's instrument (for
    the account stage: an account event, or the quote or trade behind the mark or fill that caused the record)."""
    locations = {(m.topic, m.partition, m.offset) for m in pipeline.produced}
    problems = []
    for m, r in pipeline.values(topic):
        src = source_of(m)
        if topic in ACCOUNT_STAGE:
            if src is not None and src not in locations:
                problems.append(f"{where(m)} {ident(topic, r)}: source {src[0]}/{src[1]}/{src[2]} is not a message "
                                f"the test produced")
            continue
        if not isinstance(r, dict) or not isinstance(r.get("instrument"), str) or src is None:
            continue  # reported by the schema and header tests
        if src not in locations:
            problems.append(f"{where(m)} {ident(topic, r)}: source {src[0]}/{src[1]}/{src[2]} is not a message the "
                            f"test produced")
        elif src[1] != pipeline.task_partition(r["instrument"]):
            problems.append(f"{where(m)} {ident(topic, r)}: source {src[0]}/{src[1]}/{src[2]} is not on the "
                            f"partition of {r['instrument']} ({pipeline.task_partition(r['instrument'])})")
    require(problems, f"{len(problems)} {topic} records name a source outside their task:")


# --- live vs backtest -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("topic", KEYED)
def test_backtest_ids_unique(pipeline: Pipeline, topic: str):
    ids = collections.Counter(ident(topic, r) for r in pipeline.backtest[topic])
    dup = [i for i, c in ids.items() if c > 1]
    assert not dup, f"the backtest wrote duplicate {topic} ids: {dup[:10]}"
    assert None not in ids, f"the backtest wrote {topic} records without an id"


def test_backtest_metrics_ids_and_intervals(pipeline: Pipeline):
    records = pipeline.backtest[METRICS]
    bad_ids = [r.get("id") for r in records if r.get("id") != f"{r.get('instrument')}:metrics:{r.get('ts')}"]
    assert not bad_ids, f"metrics id must be <instrument>:metrics:<ts>: {bad_ids[:10]}"
    widths = {r["ts"] - r["start"] for r in records}
    assert len(widths) == 1 and min(widths) > 0, f"intervals of different widths ts - start: {sorted(widths)[:10]}"
    w = widths.pop()
    misaligned = [r["id"] for r in records if r["start"] % w]
    assert not misaligned, f"interval starts not aligned to multiples of {w} µs: {misaligned[:10]}"


def test_backtest_trigger_ids(pipeline: Pipeline):
    bad_ids = [r.get("id") for r in pipeline.backtest[TRIGGERS]
               if r.get("id") != f"{r.get('instrument')}:{r.get('rule')}:{r.get('ts')}"]
    assert not bad_ids, f"trigger id must be <instrument>:<rule>:<ts> (SPEC §4): {bad_ids[:10]}"


WHAT_LIVE_LACKS = {
    METRICS: "each instrument's last record",
    TRIGGERS: "the rule events of each instrument's last close",
    MARKS: "nothing",
    FILLS: "nothing",
    CALLS: "nothing",
    SNAPSHOTS: "nothing",
}


@pytest.mark.parametrize("topic", KEYED)
def test_live_equals_backtest(pipeline: Pipeline, topic: str):
    live = [(m, r) for m, r in pipeline.values(topic) if isinstance(r, dict) and ident(topic, r) is not None]
    counts = collections.Counter(ident(topic, r) for _, r in live)
    dup = [i for i, c in counts.items() if c > 1]
    got = {ident(topic, r): r for _, r in live}
    expected = pipeline.expected_live[topic]
    missing = [i for i in expected if i not in got]
    extra = [i for i in got if i not in expected]
    final = set(pipeline.final_close[topic])
    differ = [i for i in expected if i in got and not json_equal(got[i], expected[i])]
    msg = []
    if not expected:
        msg.append(f"the backtest gives no {topic} record to expect live: the comparison would be empty")
    if not pipeline.complete:
        msg.append(f"only {len(got)} of {len(expected)} expected {topic} records arrived within {LIVE_TIMEOUT}s")
    if dup:
        msg.append(f"{len(dup)} duplicate ids in the live output (a run without failures writes each once), e.g. {dup[:10]}")
    if missing:
        msg.append(f"{len(missing)} backtest records missing from the live output, e.g. {missing[:10]}")
    if extra:
        from_close = [i for i in extra if i in final]
        msg.append(f"{len(extra)} live records not expected, e.g. {extra[:10]}"
                   + (f" ({len(from_close)} of them are end-of-input-close records, which only the backtest may "
                      f"write: {from_close[:5]})" if from_close else ""))
    for i in differ[:5]:
        msg.append(f"{i} differs (the engine is deterministic: values must be equal):\n"
                   f"{dict_diff(got[i], expected[i])}")
    if len(differ) > 5:
        msg.append(f"… {len(differ) - 5} more records differ: {differ[5:25]}")
    require(msg, f"live {topic} != backtest minus {WHAT_LIVE_LACKS[topic]}:")


def order_key(pipeline: Pipeline, topic: str, r: dict) -> tuple:
    """Records with the same order key are written by one task in a deterministic order: per instrument; fills per
    account and the task (input partition) of the trade's instrument, since one account's fills come from every task."""
    if topic == FILLS:
        return (r.get("account"), pipeline.task_partition(r["instrument"]) if isinstance(r.get("instrument"), str)
                else None)
    return (r.get(KEY_FIELD[topic]),)


@pytest.mark.parametrize("topic", KEYED)
def test_live_order_per_key_equals_backtest(pipeline: Pipeline, topic: str):
    """Per key, the live records come in the backtest file's relative order (restricted to the records both have)."""
    live: dict[tuple, list[str]] = collections.defaultdict(list)
    for _, r in pipeline.values(topic):
        if isinstance(r, dict) and ident(topic, r) in pipeline.expected_live[topic]:
            live[order_key(pipeline, topic, r)].append(ident(topic, r))
    backtest: dict[tuple, list[str]] = collections.defaultdict(list)
    for r in pipeline.backtest[topic]:
        backtest[order_key(pipeline, topic, r)].append(ident(topic, r))
    problems = []
    for k, ids in sorted(live.items(), key=lambda kv: repr(kv[0])):
        present = set(ids)
        reference = [i for i in backtest[k] if i in present]
        if ids != reference:
            n = next((j for j, (a, b) in enumerate(zip(ids, reference)) if a != b), min(len(ids), len(reference)))
            at = lambda xs: xs[n] if n < len(xs) else "<end>"  # noqa: E731
            problems.append(f"key {'/'.join(map(str, k))}: record #{n} live is {at(ids)}, the backtest has "
                            f"{at(reference)} there (live {ids[max(0, n - 2):n + 3]}, "
                            f"backtest {reference[max(0, n - 2):n + 3]})")
    require(problems, f"{len(problems)} {topic} keys whose live order differs from the backtest's:")


def test_live_metrics_in_time_order(pipeline: Pipeline):
    last: dict[str, int] = {}
    problems = []
    for m, r in pipeline.values(METRICS):
        if not isinstance(r, dict) or not isinstance(r.get("ts"), int):
            continue
        prev = last.get(r.get("instrument"))
        if prev is not None and r["ts"] <= prev:
            problems.append(f"{where(m)}: {r.get('id')} after ts {prev}")
        last[r.get("instrument")] = r["ts"]
    require(problems, "an instrument's metrics records must come in increasing ts:")


# --- sources --------------------------------------------------------------------------------------------------------

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
    for m, r in pipeline.values(METRICS):
        src = source_of(m)
        if not isinstance(r, dict) or src is None:
            continue  # reported by the schema and header tests
        name = f"{src[0]}/{src[1]}/{src[2]}"
        produced = by_location.get(src)
        if produced is None:
            problems.append(f"{r.get('id')}: source {name} is not a message the test produced")
            continue
        evs = events.get(r.get("instrument"), [])
        k = bisect.bisect_left(evs, (r["ts"], -1, -1, ""))
        first = evs[k][3] if k < len(evs) else None
        if (produced.record is None or produced.record.get("instrument") != r.get("instrument")
                or produced.record["ts"] < r["ts"]):
            problems.append(f"{r.get('id')}: source {name} is {produced.value[:160]!r}, not an event of "
                            f"{r.get('instrument')} at or after the interval's end (the closing event is {first})")
        elif name != first:
            problems.append(f"{r.get('id')}: source {name}, but the event that closed the interval is {first}")
    require(problems, f"{len(problems)} metrics records name the wrong source:")


def test_trigger_source_is_the_closing_event(pipeline: Pipeline):
    """A rule's trigger event is caused by a metrics close: its source is that metrics record's (same instrument,
    same ts). `stale-market` changes with the task's event time: its source is the input that moved it there (an
    input of the task with ts = the event's ts)."""
    metrics_source = {}
    for m, r in pipeline.values(METRICS):
        if isinstance(r, dict):
            metrics_source[(r.get("instrument"), r.get("ts"))] = source_of(m)
    by_location = {(m.topic, m.partition, m.offset): m for m in pipeline.produced}
    problems = []
    for m, r in pipeline.values(TRIGGERS):
        src = source_of(m)
        if not isinstance(r, dict) or src is None:
            continue
        name = f"{src[0]}/{src[1]}/{src[2]}"
        if r.get("rule") == STALE_RULE:
            produced = by_location.get(src)
            ts = produced.record.get("ts") if produced is not None and isinstance(produced.record, dict) else None
            if produced is not None and ts != r.get("ts"):
                problems.append(f"{r.get('id')}: source {name} has ts {ts}, the event's ts is {r.get('ts')}")
            continue
        key = (r.get("instrument"), r.get("ts"))
        if key not in metrics_source:
            problems.append(f"{r.get('id')}: no live liquidity-metrics record of {key[0]} at ts {key[1]} (the close "
                            f"that evaluated the rule)")
        elif metrics_source[key] != src:
            ms = metrics_source[key]
            problems.append(f"{r.get('id')}: source {name}, but the close's metrics record names "
                            f"{'/'.join(map(str, ms)) if ms else None}")
    require(problems, f"{len(problems)} trigger events name the wrong source:")


def test_mark_source_is_the_moving_event(pipeline: Pipeline):
    """A mark's ts is the event time of the input that moved it (a quote or trade of the instrument, or the input
    that moved the task's event time when `stale-market` changed its stress): its source has that ts."""
    by_location = {(m.topic, m.partition, m.offset): m for m in pipeline.produced}
    problems = []
    for m, r in pipeline.values(MARKS):
        src = source_of(m)
        produced = by_location.get(src) if src else None
        if not isinstance(r, dict) or produced is None or not isinstance(produced.record, dict):
            continue  # reported by the schema, header and source tests
        if produced.record.get("ts") != r.get("ts"):
            problems.append(f"{ident(MARKS, r)}: source {src[0]}/{src[1]}/{src[2]} has ts "
                            f"{produced.record.get('ts')}, the mark {r.get('ts')}")
    require(problems, f"{len(problems)} marks name the wrong source:")


def expected_fills(pipeline: Pipeline) -> dict[tuple[str, str, str], tuple[Produced, dict]]:
    """(account, trade id, side) -> (the trade, the fill it implies), for every produced trade naming accounts."""
    out = {}
    for m in pipeline.produced:
        t = m.record
        if m.topic != "trades" or not isinstance(t, dict):
            continue
        for side, party in [("buy", "buyer"), ("sell", "seller")]:
            if isinstance(t.get(party), str):
                out[(t[party], t["id"], side)] = (m, {
                    "account": t[party], "instrument": t["instrument"], "ts": t["ts"], "side": side,
                    "size": t["size"], "price": t["price"], "fee": t.get("fee", 0), "trade_id": t["id"]})
    return out


def fill_problems(r: dict, want: dict) -> list[str]:
    """Fields of fill `r` that differ from the trade's (numbers compared by value: 2751 and 2751.0 are equal)."""
    out = []
    for k, v in want.items():
        got = r.get(k)
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (got, v))
        same = got == v if numbers else json_equal(got, v)
        if not same:
            out.append(f"{k} = {got!r}, the trade says {v!r}")
    return out


def test_backtest_fills_are_the_trades_fills(pipeline: Pipeline):
    """One fill per account a trade names: the buyer's `buy` and the seller's `sell`, with the trade's values."""
    want = expected_fills(pipeline)
    got = {(r.get("account"), r.get("trade_id"), r.get("side")): r for r in pipeline.backtest[FILLS]}
    problems = []
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    if missing:
        problems.append(f"{len(missing)} fills missing from the backtest (account, trade, side), e.g. {missing[:5]}")
    if extra:
        problems.append(f"{len(extra)} backtest fills of no trade, e.g. {extra[:5]}")
    for k in want:
        if k in got:
            diff = fill_problems(got[k], want[k][1])
            if diff:
                problems.append(f"{ident(FILLS, got[k])}: {'; '.join(diff)}")
    require(problems, "backtest backstop-fills != the fills the trades imply:")


def test_fill_source_is_its_trade(pipeline: Pipeline):
    want = expected_fills(pipeline)
    problems = []
    for m, r in pipeline.values(FILLS):
        src = source_of(m)
        if not isinstance(r, dict) or src is None:
            continue
        k = (r.get("account"), r.get("trade_id"), r.get("side"))
        if k not in want:
            problems.append(f"{where(m)} {ident(FILLS, r)}: no produced trade {k[1]!r} names {k[0]!r} as "
                            f"{'buyer' if k[2] == 'buy' else 'seller'}")
            continue
        trade, fill = want[k]
        if src != ("trades", trade.partition, trade.offset):
            problems.append(f"{ident(FILLS, r)}: source {src[0]}/{src[1]}/{src[2]}, but trade {k[1]} is "
                            f"trades/{trade.partition}/{trade.offset}")
        diff = fill_problems(r, fill)
        if diff:
            problems.append(f"{ident(FILLS, r)}: {'; '.join(diff)}")
    require(problems, f"{len(problems)} live fills do not match their trade:")


# --- backstop-dlq -----------------------------------------------------------------------------------------------------

def test_live_dlq_holds_each_bad_line(pipeline: Pipeline):
    records = [(m, r) for m, r in pipeline.values(DLQ) if isinstance(r, dict)]
    by_location = collections.defaultdict(list)
    for m, r in records:
        by_location[(r.get("topic"), r.get("partition"), r.get("offset"))].append((m, r))
    problems = []
    matched = set()
    for b in pipeline.bad:
        loc = (b.topic, b.produced.partition, b.produced.offset)
        found = by_location.get(loc, [])
        matched.add(loc)
        if len(found) != 1:
            problems.append(f"{b.name}: {len(found)} DLQ records for {b.topic}/{loc[1]}/{loc[2]}, expected exactly 1")
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
        if m.header_values("source") != [f"{b.topic}/{loc[1]}/{loc[2]}".encode()]:
            problems.append(f"{b.name}: source header {m.header_values('source')!r}, expected {b.topic}/{loc[1]}/{loc[2]}")
    others = [(m, r) for m, r in records if (r.get("topic"), r.get("partition"), r.get("offset")) not in matched]
    for m, r in others[:10]:
        problems.append(f"unexpected DLQ record for a valid input of the generated feed: {json.dumps(r)[:300]}")
    if problems:
        problems[:0] = incomplete_note(pipeline)
    require(problems, "backstop-dlq must hold exactly one record per bad line:")


def test_backtest_dlq_holds_each_bad_line(pipeline: Pipeline):
    problems = []
    remaining = list(pipeline.backtest[DLQ])
    for b in pipeline.bad:
        value, is_b64 = dlq_value(b.raw)
        found = [r for r in remaining if r.get("value") == value and r.get("topic") == b.topic]
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
        problems.append(f"unexpected backtest DLQ record for a valid input of the generated feed: "
                        f"{json.dumps(r)[:300]}")
    live_reasons = collections.Counter(r.get("reason") for _, r in pipeline.values(DLQ) if isinstance(r, dict))
    backtest_reasons = collections.Counter(r.get("reason") for r in pipeline.backtest[DLQ])
    if pipeline.complete and live_reasons != backtest_reasons:
        problems.append(f"DLQ reasons differ: live {dict(live_reasons)}, backtest {dict(backtest_reasons)}")
    require(problems, "the backtest's backstop-dlq must hold exactly one record per bad line:")


def test_live_dlq_equals_backtest(pipeline: Pipeline):
    """The same rejection in both runs: equal records but for where the input was (a Kafka partition and offset live,
    a partition and line number in the backtest). A line that does not decode has no key in the backtest's files
    (live, it has the key it was produced with): there the key is not compared, nor `ts` (the task's event time)
    unless both runs put the line on the same partition."""
    backtest = {r.get("value"): r for r in pipeline.backtest[DLQ]}
    problems = []
    for m, r in pipeline.values(DLQ):
        if not isinstance(r, dict) or r.get("value") not in backtest:
            continue  # reported by the DLQ tests above
        b = backtest[r["value"]]
        ignore = {"partition", "offset"}
        if b.get("key") is None and r.get("reason") == "decode_error":
            ignore.add("key")
            if b.get("partition") != r.get("partition"):
                ignore.add("ts")
        live_rest = {k: v for k, v in r.items() if k not in ignore}
        backtest_rest = {k: v for k, v in b.items() if k not in ignore}
        if not json_equal(live_rest, backtest_rest):
            problems.append(f"DLQ record of {r['value'][:60]!r} differs:\n{dict_diff(live_rest, backtest_rest)}")
    require(problems, "live backstop-dlq records differ from the backtest's:")


def test_live_dlq_order_per_key_equals_backtest(pipeline: Pipeline):
    """Per produced key, the bad lines' DLQ records come in the backtest's order."""
    key_of = {dlq_value(b.raw)[0]: b.key for b in pipeline.bad}
    live: dict[str, list[str]] = collections.defaultdict(list)
    for m, r in pipeline.values(DLQ):
        if isinstance(r, dict) and r.get("value") in key_of:
            live[key_of[r["value"]]].append(r["value"])
    backtest: dict[str, list[str]] = collections.defaultdict(list)
    for r in pipeline.backtest[DLQ]:
        if r.get("value") in key_of:
            backtest[key_of[r["value"]]].append(r["value"])
    problems = []
    for k, vals in live.items():
        present = set(vals)
        reference = [v for v in backtest[k] if v in present]
        if vals != reference:
            problems.append(f"key {k}: live order {vals}, backtest order {reference}")
    require(problems, "per key, live DLQ records must come in the backtest's order:")


# --- the account stage through the crash ----------------------------------------------------------------------------

LEVELS = ["ok", "warning", "margin_call", "liquidation", "bankruptcy"]   # best to worst
ENTRY = {"warning": 1.5, "margin_call": 1.2, "liquidation": 1.0}         # config/backstop.yaml margin.levels
HYSTERESIS = 0.05


def test_margin_calls_follow_the_crash_with_hysteresis(pipeline: Pipeline):
    """The flash crash makes leveraged accounts (standard and portfolio mode, perpetuals and options) escalate while
    the triggers are active and recover afterwards; every event's coverage agrees with the level it announces:
    worse levels on crossing their threshold, better ones only past the threshold plus the hysteresis."""
    calls = pipeline.backtest[CALLS]
    assert calls, "the crash made no margin call"
    rank = {level: i for i, level in enumerate(LEVELS)}
    worse = [c for c in calls if rank[c["level"]] > rank[c["previous"]]]
    better = [c for c in calls if rank[c["level"]] < rank[c["previous"]]]
    problems = []
    if not worse or not better:
        problems.append(f"{len(worse)} escalations and {len(better)} recoveries: the crash must show both")
    if {c["mode"] for c in calls} != {"standard", "portfolio"}:
        problems.append(f"margin calls only in mode(s) {sorted({c['mode'] for c in calls})}")
    if not any(p["instrument"].count("-") == 3 for c in calls for p in c["positions"]):  # BTC-28NOV25-62000-P
        problems.append("no margin call concerns an account holding options")
    stress = [t for t in pipeline.backtest[TRIGGERS] if t.get("rule") != STALE_RULE]
    if stress:
        start = min(t["ts"] for t in stress if t["state"] == "activated")
        severe = [c for c in worse if c["ts"] >= start and rank[c["level"]] >= rank["margin_call"]]
        if not severe:
            problems.append("no account reached margin_call or worse once the backstop triggers fired")
    for c in calls:
        cov, level = c["coverage"], c["level"]
        if level == "bankruptcy":
            if c["equity"] > 0:
                problems.append(f"{c['id']}: bankruptcy with equity {c['equity']}")
            continue
        if cov is None:
            if level != "ok":
                problems.append(f"{c['id']}: {level} without maintenance margin")
            continue
        if c in worse and level in ENTRY and not cov < ENTRY[level]:
            problems.append(f"{c['id']}: escalated to {level} at coverage {cov} (threshold {ENTRY[level]})")
        if c in better:
            floor = {"ok": ENTRY["warning"], "warning": ENTRY["margin_call"], "margin_call": ENTRY["liquidation"]}
            if level in floor and cov < floor[level] + HYSTERESIS - 1e-12:
                problems.append(f"{c['id']}: recovered to {level} at coverage {cov}, below "
                                f"{floor[level]} + hysteresis {HYSTERESIS}")
    require(problems, "margin calls through the crash:")
