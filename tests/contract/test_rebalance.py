"""Rebalance test (SPEC §7): a second `backstop run` joins the group mid-feed; the range assignor's eager rebalance
revokes every partition from the first process and gives one of them to the newcomer.

The first process keeps the instrument tasks it gets back (it committed them when revoked and nobody processed them
since: state, merge buffers and read positions go on unchanged); the newcomer rebuilds the state of the one it takes
over by replaying that task's inputs from the start of the partitions, writing nothing below the committed offsets.
Every output after the rebalance must then be the backtest's over the whole feed, record for record, with nothing
written twice: a task that started from empty state would write other volatilities, VaR and spreads, and a task
whose replayed outputs were written again would repeat records.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import running_broker
from helpers import (PATIENT_RUN_ENV, REPO, OutputReader, compare_with_backtest, env_path, feed_and_backtest,
                     feed_part, free_port, parse_line, produce_all, produce_atomically, read_ndjson, stop_process,
                     tail, wait_until_shared, without_last_close)

BACKSTOP = env_path("BACKSTOP")
TIMEOUT = 90.0
TOPICS = ["liquidity-metrics", "backstop-triggers", "backstop-marks", "backstop-fills", "margin-calls"]

pytestmark = pytest.mark.skipif(BACKSTOP is None, reason="BACKSTOP is not set (the Makefile points it at the binary)")


@pytest.fixture
def broker(tmp_path_factory):
    """A fresh broker per test: it produces its own feed into the input topics."""
    yield from running_broker(tmp_path_factory)


def test_joining_process_takes_over_a_task_with_its_state(broker, tmp_path):
    exe = str(BACKSTOP.resolve())
    config = tmp_path / "rebalance.yaml"
    text = (REPO / "config" / "backstop.yaml").read_text()
    config.write_text(re.sub(r"(?m)^http:.*$", f"http: {{host: 127.0.0.1, port: {free_port()}}}", text))
    files, backtest = feed_and_backtest(exe, broker, ["--config", str(config)], tmp_path, tmp_path / "cli.log", [
        "--scenario", "flash-crash", "--seed", "13", "--duration", "4m", "--accounts", "10"])
    expected = {t: {r["id"]: r for r in read_ndjson(backtest / f"{t}.ndjson")} for t in TOPICS}
    without_last_close(expected)
    stamps = [r["ts"] for _, r in files["quotes"]]
    split = (min(stamps) + max(stamps)) // 2
    settled = {i for i, r in expected["liquidity-metrics"].items() if r["ts"] < split - 2_000_000}
    assert settled and any(r["ts"] >= split for r in expected["backstop-triggers"].values()), \
        "the feed must have metrics before the split and triggers after it, or the test proves nothing"

    group = f"rebalance-{uuid.uuid4().hex[:10]}"
    logs = [tmp_path / "run-a.log", tmp_path / "run-b.log"]
    command = [exe, "run", "--brokers", broker, "--config", str(config), "--group", group, "--http-port", "0"]
    reader = OutputReader(broker, TOPICS, group=f"rebalance-reader-{uuid.uuid4().hex[:10]}")
    procs: list[subprocess.Popen] = []

    def ids(topic: str) -> set:
        return {parse_line(m.value).get("id") for m in reader.of(topic) if m.value}

    def start(log: Path) -> None:
        with open(log, "ab") as out:
            procs.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          env=PATIENT_RUN_ENV))
    try:
        produce_all(broker, feed_part(files, lambda topic, r: topic == "instruments" or r["ts"] < split))
        start(logs[0])
        assert reader.poll_until(lambda: procs[0].poll() is not None or settled <= ids("liquidity-metrics"), TIMEOUT), \
            f"the first process did not write the early metrics within {TIMEOUT}s:\n{tail(logs[0])}"
        reader.drain(quiet=2.0, timeout=10.0)

        start(logs[1])
        wait_until_shared(logs, procs)

        # In one transaction: a piecemeal feed (all quotes, then all trades) would leave a task's trades at their
        # end for longer than max_idle, and the task would rightly go on without them.
        produce_atomically(broker, feed_part(files, lambda topic, r: topic != "instruments" and r["ts"] >= split))
        done = reader.poll_until(lambda: any(p.poll() is not None for p in procs)
                                 or all(set(expected[t]) <= ids(t) for t in TOPICS), TIMEOUT)
        reader.drain(quiet=3.0, timeout=20.0)
        assert all(p.poll() is None for p in procs), "a run exited:\n" + "\n".join(tail(log) for log in logs)
    finally:
        for p in procs:
            stop_process(p, term_timeout=15)
        reader.close()

    first, second = (log.read_text(errors="replace") for log in logs)
    problems = [] if done else [f"not every expected record arrived within {TIMEOUT}s"]
    if "instrument task kept across the rebalance" not in first:
        problems.append("the first process did not keep the tasks it got back")
    if "replay their inputs to rebuild" not in second:
        problems.append("the joining process did not replay the inputs of the task it took over")
    problems += compare_with_backtest(reader, expected)
    assert not problems, "after the rebalance:\n" + "\n".join(problems) + "\n" + "\n".join(
        f"--- {log.name}\n{tail(log, 4000)}" for log in logs)
