"""Fixtures for the contract tests: a real Tansu broker on a free local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import REPO, free_port, stop_process, tail  # noqa: E402

BROKER_START_TIMEOUT = 30.0


class BrokerAddress(str):
    """The broker's bootstrap address ("127.0.0.1:PORT"); `.log` is the broker's log file."""
    log: Path


def tansu_path() -> Path | None:
    env = os.environ.get("TANSU")
    if env:
        return Path(env)
    default = REPO / ".deps" / "bin" / "tansu"
    return default if default.exists() else None


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _start_tansu(tansu: Path, log: Path) -> tuple[subprocess.Popen, int]:
    """Starts Tansu on a free port and waits until a metadata request succeeds; retries on a lost port race."""
    from confluent_kafka.admin import AdminClient

    last_error = ""
    for _attempt in range(3):
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [str(tansu), "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + BROKER_START_TIMEOUT
            while not _port_open(port):
                if proc.poll() is not None:
                    raise RuntimeError(f"tansu exited with {proc.returncode} before listening")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"tansu did not listen on {port} within {BROKER_START_TIMEOUT}s")
                time.sleep(0.05)
            admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"})
            while True:
                try:
                    admin.list_topics(timeout=2)
                    return proc, port
                except Exception as e:  # KafkaException: not ready yet
                    if proc.poll() is not None:
                        raise RuntimeError(f"tansu exited with {proc.returncode}: {e}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"tansu answered no metadata request within {BROKER_START_TIMEOUT}s: {e}")
                    time.sleep(0.1)
        except RuntimeError as e:
            last_error = str(e)
            stop_process(proc, term_timeout=5)
    raise RuntimeError(f"could not start tansu ({last_error}); log {log}:\n{tail(log)}")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A fresh in-memory Tansu broker for the test module: yields "127.0.0.1:PORT", stops it at teardown."""
    yield from running_broker(tmp_path_factory)


def running_broker(tmp_path_factory):
    """Starts a fresh in-memory Tansu broker, yields its address, stops it when resumed (a fixture's body)."""
    tansu = tansu_path()
    if tansu is None:
        pytest.skip("TANSU is not set and .deps/bin/tansu does not exist (run scripts/setup.sh)")
    assert tansu.exists() and os.access(tansu, os.X_OK), f"TANSU={tansu} is not an executable file"
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    proc, port = _start_tansu(tansu, log)
    address = BrokerAddress(f"127.0.0.1:{port}")
    address.log = log
    try:
        yield address
    finally:
        # Tansu ignores SIGTERM while clients are still connected: SIGTERM, then SIGKILL after a grace period.
        stop_process(proc, term_timeout=5)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item (item.rep_setup / rep_call / rep_teardown) for log-on-failure fixtures."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
