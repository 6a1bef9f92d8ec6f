"""Restart tests (SPEC §7): across a kill -9 the account stage keeps its state through its changelog, and the
instrument stage rebuilds its own by replaying its inputs (second test).

Account test flow: a flash-crash feed with leveraged accounts is split at the middle of its event time. Phase 1
produces every input before the split; `backstop run` processes it until every margin call and snapshot the
backtest has before the split is on its topic, and is then killed with SIGKILL. Phase 2 produces the rest and
starts `backstop run` again in the same group: its account tasks must restore balances, positions, levels and
progress from `<group>-account-changelog` and go on as if nothing had happened.

What must hold: the margin calls of both runs together equal the backtest's over the whole feed, record for record
and value for value, with none twice; so do the snapshots before the split; each account ends with the backtest's
positions (size, entry) and level. (Snapshot times after the restart may shift: a repeated first mark can start a
snapshot interval earlier.)
A restarted account task that had lost its state (balances gone, positions gone) would call margin on healthy
accounts or miss calls.

This test isolates the account stage: its configuration has no trigger rules (stress never reaches the margin
multipliers) and marks on every change (`marks.interval: 0s`). The instrument stage's own restart (it rebuilds its
state by replaying its inputs) is the second test.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest

from conftest import running_broker
from helpers import (REPO, OutputReader, compare_with_backtest, dict_diff, env_path, feed_and_backtest, feed_part,
                     free_port, json_equal, parse_line, produce_all, read_ndjson, stop_process, tail,
                     without_last_close)

BACKSTOP = env_path("BACKSTOP")
CALLS, SNAPSHOTS = "margin-calls", "account-margin"
TIMEOUT = float(os.environ.get("BACKSTOP_CONTRACT_TIMEOUT", "90"))

pytestmark = pytest.mark.skipif(BACKSTOP is None, reason="BACKSTOP is not set (the Makefile points it at the binary)")


@pytest.fixture
def broker(tmp_path_factory):
    """A fresh broker per test: each produces its own feed into the input topics."""
    yield from running_broker(tmp_path_factory)


def restart_config(tmp: Path) -> Path:
    """The example configuration without trigger rules, with a mark on every change and its own HTTP port."""
    text = (REPO / "config" / "backstop.yaml").read_text()
    text = re.sub(r"(?ms)^triggers:.*?(?=^\S)", "", text)
    text = re.sub(r"(?m)^marks:.*$", "marks: {interval: 0s}", text)
    text = re.sub(r"(?m)^http:.*$", f"http: {{host: 127.0.0.1, port: {free_port()}}}", text)
    assert "triggers:" not in text and "interval: 0s" in text
    path = tmp / "restart.yaml"
    path.write_text(text)
    return path


def run_then_kill(command: list[str], run_log: Path, reader: OutputReader, written: Callable[[], bool],
                  what: str) -> None:
    """Starts `backstop run`, waits until `written()` (the outputs before the split are on their topics), lets the
    outputs go quiet and kills the process with SIGKILL."""
    with open(run_log, "ab") as out:
        first = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        done = reader.poll_until(lambda: first.poll() is not None or written(), TIMEOUT)
        assert first.poll() is None, f"the first run exited early ({first.returncode}):\n{tail(run_log)}"
        assert done, f"the first run did not write {what} within {TIMEOUT}s"
        reader.drain(quiet=2.0, timeout=10.0)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)


def restart(command: list[str], run_log: Path) -> subprocess.Popen:
    """Starts `backstop run` again after the kill, logging to the same file."""
    with open(run_log, "ab") as out:
        out.write(b"\n----- restart after kill -9 -----\n")
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def test_account_state_survives_kill_9(broker, tmp_path):
    exe = str(BACKSTOP.resolve())
    log, run_log = tmp_path / "cli.log", tmp_path / "run.log"
    config = restart_config(tmp_path)
    files, backtest = feed_and_backtest(exe, broker, ["--config", str(config)], tmp_path, log, [
        "--scenario", "flash-crash", "--seed", "5", "--duration", "4m", "--accounts", "20"])
    expected = {t: read_ndjson(backtest / f"{t}.ndjson") for t in [CALLS, SNAPSHOTS]}

    stamps = [r["ts"] for _, r in files["quotes"]]
    split = (min(stamps) + max(stamps)) // 2
    before = {t: {r["id"]: r for r in expected[t] if r["ts"] < split} for t in expected}
    assert before[CALLS] and len(before[CALLS]) < len(expected[CALLS]), \
        "the feed must have margin calls on both sides of the split, or the test proves nothing"

    group = f"restart-{uuid.uuid4().hex[:10]}"
    command = [exe, "run", "--brokers", broker, "--config", str(config), "--group", group,
               "--guarantee", "exactly-once"]
    reader = OutputReader(broker, [CALLS, SNAPSHOTS], group=f"restart-reader-{uuid.uuid4().hex[:10]}")
    second = None

    def have(ids: dict[str, dict], topic: str) -> bool:
        seen = {m.value and parse_line(m.value).get("id") for m in reader.of(topic)}
        return all(i in seen for i in ids)
    try:
        produce_all(broker, feed_part(files, lambda topic, r: topic == "instruments" or r["ts"] < split))
        run_then_kill(command, run_log, reader,
                      lambda: have(before[CALLS], CALLS) and have(before[SNAPSHOTS], SNAPSHOTS),
                      "the backtest's pre-split account records")
        produce_all(broker, feed_part(files, lambda topic, r: topic != "instruments" and r["ts"] >= split))
        second = restart(command, run_log)
        all_calls = {r["id"]: r for r in expected[CALLS]}
        done = reader.poll_until(lambda: second.poll() is not None or have(all_calls, CALLS), TIMEOUT)
        reader.drain(quiet=3.0, timeout=20.0)
        assert second.poll() is None, f"the restarted run exited ({second.returncode}):\n{tail(run_log)}"
    finally:
        if second is not None:
            stop_process(second, term_timeout=10)
        reader.close()

    live = {t: [parse_line(m.value) for m in reader.of(t)] for t in [CALLS, SNAPSHOTS]}
    problems = []
    counts = collections.Counter(r["id"] for r in live[CALLS])
    problems += [f"margin call {i} written {n} times" for i, n in counts.items() if n > 1]
    got = {r["id"]: r for r in live[CALLS]}
    missing = [i for i in all_calls if i not in got]
    extra = [i for i in got if i not in all_calls]
    if missing:
        problems.append(f"{len(missing)} margin calls of the backtest missing, e.g. {missing[:8]}")
    if extra:
        problems.append(f"{len(extra)} margin calls the backtest does not have, e.g. {extra[:8]}")
    problems += [f"{i} differs:\n{dict_diff(got[i], all_calls[i])}" for i in all_calls
                 if i in got and not json_equal(got[i], all_calls[i])][:5]
    snaps = {r["id"]: r for r in live[SNAPSHOTS]}
    problems += [f"pre-split snapshot {i} missing or different" for i, r in before[SNAPSHOTS].items()
                 if i not in snaps or not json_equal(snaps[i], r)][:5]
    last_live, last_backtest = {}, {}
    for r in live[SNAPSHOTS]:
        if r["ts"] >= last_live.get(r["account"], {"ts": -1})["ts"]:
            last_live[r["account"]] = r
    for r in expected[SNAPSHOTS]:
        last_backtest[r["account"]] = r
    for account, r in sorted(last_backtest.items()):
        mine = last_live.get(account)
        held = lambda snapshot: [(p["instrument"], p["size"], p["entry"]) for p in snapshot["positions"]]  # noqa: E731
        if mine is None or held(mine) != held(r) or mine["level"] != r["level"]:
            problems.append(f"{account}: last snapshot differs from the backtest's:\n"
                            f"{dict_diff(mine or {}, r)}")
    assert not problems, "after kill -9 and restart:\n" + "\n".join(problems[:20]) + f"\n\nrun log:\n{tail(run_log)}"


INSTRUMENT_TOPICS = ["liquidity-metrics", "backstop-triggers", "backstop-marks", "backstop-fills"]


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_instrument_state_is_rebuilt_after_kill_9(broker, tmp_path, guarantee):
    """The instrument stage keeps its state across a kill -9 by replaying its inputs (`kafka.instrument_restore:
    replay`, the default): with the example configuration (trigger rules, throttled marks), the first run processes
    the feed before the middle of its event time and is killed; the restarted run must write every later metrics
    record, trigger event, mark and fill exactly as the backtest over the whole feed does — lookback windows,
    EWMAs, VPIN buckets, trigger levels and the mark throttle carried across — and nothing twice. A task restarted
    with empty state writes other volatilities, VaR and spreads after the restart, and misses or adds triggers.
    For both guarantees: the kill comes once the first run's outputs have gone quiet, so at-least-once too has
    committed everything it wrote and must write nothing twice."""
    exe = str(BACKSTOP.resolve())
    log, run_log = tmp_path / "cli.log", tmp_path / "run.log"
    config = tmp_path / "instrument-restart.yaml"
    text = (REPO / "config" / "backstop.yaml").read_text()
    config.write_text(re.sub(r"(?m)^http:.*$", f"http: {{host: 127.0.0.1, port: {free_port()}}}", text))
    files, backtest = feed_and_backtest(exe, broker, ["--config", str(config)], tmp_path, log, [
        "--scenario", "flash-crash", "--seed", "11", "--duration", "4m", "--accounts", "5"])
    expected = {t: {r["id"]: r for r in read_ndjson(backtest / f"{t}.ndjson")} for t in INSTRUMENT_TOPICS}
    metrics, triggers = "liquidity-metrics", "backstop-triggers"
    without_last_close(expected)

    stamps = [r["ts"] for _, r in files["quotes"]]
    split = (min(stamps) + max(stamps)) // 2
    # Written by the first run for certain: intervals closed well before the split.
    settled = {i for i, r in expected[metrics].items() if r["ts"] < split - 2_000_000}
    after = {t: {i for i, r in expected[t].items() if r["ts"] >= split} for t in INSTRUMENT_TOPICS}
    assert settled and after[metrics] and after[triggers], \
        "the feed must have metrics on both sides of the split and triggers after it, or the test proves nothing"

    group = f"irestart-{uuid.uuid4().hex[:10]}"
    command = [exe, "run", "--brokers", broker, "--config", str(config), "--group", group, "--guarantee", guarantee]
    reader = OutputReader(broker, INSTRUMENT_TOPICS, group=f"irestart-reader-{uuid.uuid4().hex[:10]}")
    second = None

    def ids(topic: str) -> set:
        return {parse_line(m.value).get("id") for m in reader.of(topic) if m.value}
    try:
        first_half = feed_part(files, lambda topic, r: topic == "instruments" or r["ts"] < split)
        produce_all(broker, first_half)
        ends: dict[tuple[str, int], int] = {}
        for m in first_half:
            if m.topic in ("quotes", "trades"):
                ends[(m.topic, m.partition)] = max(ends.get((m.topic, m.partition), 0), m.offset + 1)
        watch = CommittedWatch(broker, group, sorted(ends))
        # Killed once its outputs are written and its inputs committed (at-least-once commits them only after the
        # outputs are acknowledged, which the reader sees first).
        run_then_kill(command, run_log, reader,
                      lambda: settled <= ids(metrics) and all(watch.read().get(k, -1) >= v for k, v in ends.items()),
                      "the backtest's early metrics and commit its inputs")
        produce_all(broker, feed_part(files, lambda topic, r: topic != "instruments" and r["ts"] >= split))
        baseline = watch.read()
        assert all(offset > 0 for offset in baseline.values()), f"the first run committed no inputs: {baseline}"
        watch.start()
        second = restart(command, run_log)
        done = reader.poll_until(lambda: second.poll() is not None
                                 or all(set(expected[t]) <= ids(t) for t in INSTRUMENT_TOPICS), TIMEOUT)
        reader.drain(quiet=3.0, timeout=20.0)
        watch.finish()
        assert second.poll() is None, f"the restarted run exited ({second.returncode}):\n{tail(run_log)}"
    finally:
        if second is not None:
            stop_process(second, term_timeout=10)
        reader.close()

    problems = [] if done else [f"not every expected record arrived within {TIMEOUT}s"]
    # While it replays, the restarted run must not commit offsets below those of the first run (a second crash
    # would then write those outputs again).
    problems += [f"{t}/{p}: committed {watch.lowest[(t, p)]} during the restart, below the first run's {offset}"
                 for (t, p), offset in sorted(baseline.items()) if watch.lowest.get((t, p), offset) < offset]
    assert watch.polls > 10, "the committed offsets were hardly watched"
    problems += compare_with_backtest(reader, expected)
    if problems:
        problems.append("read (committed) / high watermark per partition: " + watermarks(broker, reader))
    assert "replay their inputs to rebuild" in run_log.read_text(errors="replace"), \
        "the restarted run did not replay its instrument inputs:\n" + tail(run_log)
    assert not problems, "after kill -9 and restart:\n" + "\n".join(problems[:20]) + f"\n\nrun log:\n{tail(run_log)}"


def watermarks(broker: str, reader: OutputReader) -> str:
    """Per output partition, the last offset the reader got + 1 against the broker's high watermark: a gap with
    nothing missing upstream means records the broker holds that read_committed does not show yet."""
    from confluent_kafka import Consumer, TopicPartition

    got: dict[tuple[str, int], int] = {}
    for m in reader.messages:
        got[(m.topic, m.partition)] = max(got.get((m.topic, m.partition), 0), m.offset + 1)
    probe = Consumer({"bootstrap.servers": broker, "group.id": f"probe-{uuid.uuid4().hex[:8]}"})
    try:
        out = []
        for (topic, partition) in sorted({(m.topic, m.partition) for m in reader.messages} | set(got)):
            _, high = probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            out.append(f"{topic}/{partition}: {got.get((topic, partition), 0)}/{high}")
        return ", ".join(out)
    finally:
        probe.close()


class CommittedWatch(threading.Thread):
    """Reads a group's committed offsets of some partitions every 20 ms, keeping the lowest seen of each."""

    def __init__(self, broker: str, group: str, partitions: list[tuple[str, int]]):
        super().__init__(daemon=True)
        from confluent_kafka import Consumer, TopicPartition

        # Never subscribes, so it does not join the group; it only asks for the group's committed offsets.
        self.consumer = Consumer({"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False})
        self.partitions = [TopicPartition(t, p) for t, p in partitions]
        self.lowest: dict[tuple[str, int], int] = {}
        self.polls = 0
        self.stopping = threading.Event()

    def read(self) -> dict[tuple[str, int], int]:
        return {(tp.topic, tp.partition): tp.offset for tp in self.consumer.committed(self.partitions, timeout=10)}

    def run(self) -> None:
        while not self.stopping.is_set():
            for key, offset in self.read().items():
                if offset >= 0:
                    self.lowest[key] = min(self.lowest.get(key, offset), offset)
            self.polls += 1
            time.sleep(0.02)

    def finish(self) -> None:
        self.stopping.set()
        self.join(timeout=15)
        self.consumer.close()
