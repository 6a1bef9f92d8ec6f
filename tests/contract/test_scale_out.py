"""Scale-out test: two `backstop run` processes in one consumer group share the work and together write exactly
what one process (and the backtest) writes.

Both processes join first (the range assignor gives one of them two partitions of every input topic and the other
one), then the flash-crash feed with leveraged accounts is produced, in one transaction. Each instrument task runs in one process, and
the account tasks of each process read marks and fills written by the other process's instrument tasks: the
frontier over sources in another process (latest `ts` read from them; see the README) must keep the account stage
in the backtest's merge order. Every output topic must equal the backtest's, record for record, with nothing
written twice; the instrument stage's last interval per instrument is never closed live (no later event), as in
the pipeline test.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest

from helpers import (PATIENT_RUN_ENV, OutputReader, compare_with_backtest, env_path, feed_and_backtest, feed_part,
                     parse_line, produce_atomically, read_ndjson, stop_process, tail, wait_until_shared,
                     without_last_close)

BACKSTOP = env_path("BACKSTOP")
CONFIG = env_path("BACKSTOP_CONFIG")
TIMEOUT = float(os.environ.get("BACKSTOP_CONTRACT_TIMEOUT", "90"))
METRICS, TRIGGERS = "liquidity-metrics", "backstop-triggers"
COMPARED = [METRICS, TRIGGERS, "backstop-marks", "backstop-fills", "margin-calls", "account-margin"]

pytestmark = pytest.mark.skipif(BACKSTOP is None or CONFIG is None,
                                reason="BACKSTOP and BACKSTOP_CONFIG must be set (the Makefile sets both)")


def test_two_processes_write_what_one_writes(broker, tmp_path):
    exe = str(BACKSTOP.resolve())
    log = tmp_path / "cli.log"
    config = ["--config", str(CONFIG.resolve())]
    files, backtest = feed_and_backtest(exe, broker, config, tmp_path, log, [
        "--scenario", "flash-crash", "--seed", "5", "--duration", "4m", "--accounts", "20"])
    expected = {t: {r["id"]: r for r in read_ndjson(backtest / f"{t}.ndjson")} for t in COMPARED}
    without_last_close(expected)
    assert expected["margin-calls"], "the feed must make margin calls"

    group = f"scale-{uuid.uuid4().hex[:10]}"
    logs = [tmp_path / "run-a.log", tmp_path / "run-b.log"]
    procs = []
    reader = None
    try:
        for run_log in logs:
            with open(run_log, "wb") as out:
                procs.append(subprocess.Popen([exe, "run", "--brokers", broker, *config, "--group", group,
                                               "--http-port", "0"],
                                              stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                              env=PATIENT_RUN_ENV))
            time.sleep(1.0)
        wait_until_shared(logs, procs)

        produce_atomically(broker, feed_part(files, lambda topic, r: True))

        reader = OutputReader(broker, COMPARED, group=f"scale-reader-{uuid.uuid4().hex[:10]}")

        def ids(topic: str) -> set:
            return {parse_line(m.value).get("id") for m in reader.of(topic) if m.value}
        complete = reader.poll_until(lambda: all(set(expected[t]) <= ids(t) for t in COMPARED)
                                     or any(p.poll() is not None for p in procs), TIMEOUT)
        reader.drain(quiet=3.0, timeout=20.0)
        assert all(p.poll() is None for p in procs), "a run exited:\n" + "\n".join(tail(l) for l in logs)
    finally:
        for p in procs:
            stop_process(p, term_timeout=15)
        if reader is not None:
            reader.close()

    problems = [] if complete else [f"not every expected record arrived within {TIMEOUT}s"]
    problems += compare_with_backtest(reader, expected)
    assert not problems, "two processes != backtest:\n" + "\n".join(problems) + "\n" + "\n".join(
        f"--- {l.name}\n{tail(l, 4000)}" for l in logs)
