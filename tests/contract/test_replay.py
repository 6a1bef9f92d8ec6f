"""`backstop replay` against a real broker: fresh state from fixed positions, byte-identical outputs run after
run, equal to the backtest of the same records on every output topic (the account stage's included), bounded
ranges, prefixed output topics, and the live group's offsets untouched."""
import json
import os
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

BACKSTOP = os.environ.get("BACKSTOP", str(Path(__file__).resolve().parents[2] / ".build/debug/backstop"))
CONFIG = os.environ.get("BACKSTOP_CONFIG")
OUTPUTS = ["liquidity-metrics", "backstop-triggers", "backstop-marks", "backstop-fills", "margin-calls",
           "account-margin", "backstop-dlq"]


def cli(*args, capture=True):
    config = ["--config", CONFIG] if CONFIG else []
    return subprocess.run([BACKSTOP, *args, *config], check=True, capture_output=capture, timeout=300)


@pytest.fixture(scope="module")
def replayed(broker, tmp_path_factory):
    work = tmp_path_factory.mktemp("replay")
    feed = work / "feed"
    cli("topics", "create", "--brokers", broker, "--partitions", "3")
    cli("generate", "--scenario", "flash-crash", "--seed", "9", "--duration", "2m", "--accounts", "10",
        "--output", str(feed))
    producer = Producer({"bootstrap.servers": broker, "partitioner": "murmur2_random"})
    for topic, key_field in (("instruments", "symbol"), ("quotes", "instrument"), ("trades", "instrument"),
                             ("accounts", "account")):
        for line in (feed / f"{topic}.ndjson").read_bytes().splitlines():
            producer.produce(topic, key=json.loads(line)[key_field].encode(), value=line)
    assert producer.flush(30) == 0
    cli("backtest", "--partitions", "3", "--input", str(feed), "--output", str(work / "backtest"))
    first = cli("replay", "--brokers", broker, "--stdout").stdout
    second = cli("replay", "--brokers", broker, "--stdout").stdout
    return {"broker": broker, "work": work, "first": first, "second": second}


def by_topic(ndjson: bytes) -> dict:
    out: dict = {}
    for line in ndjson.splitlines():
        record = json.loads(line)
        out.setdefault(record["topic"], []).append(record)
    return out


def test_replay_is_byte_identical_run_after_run(replayed):
    assert replayed["first"], "the replay wrote nothing"
    assert replayed["first"] == replayed["second"]


def test_replay_equals_the_backtest_on_every_topic(replayed):
    replay = by_topic(replayed["first"])
    for topic in OUTPUTS:
        expected = [json.loads(l) for l in (replayed["work"] / "backtest" / f"{topic}.ndjson").read_bytes().splitlines()]
        got = [r["value"] for r in replay.get(topic, [])]
        key = lambda r: json.dumps(r, sort_keys=True)
        assert sorted(map(key, got)) == sorted(map(key, expected)), f"{topic}: replay differs from the backtest"
        for r in replay.get(topic, []):
            assert r["key"] in (r["value"].get("instrument"), r["value"].get("account")), r
    assert replay["backstop-triggers"] and replay["backstop-fills"], "the feed must exercise triggers and fills"
    assert replay.get("margin-calls") and replay.get("account-margin"), "the feed must exercise the account stage"


def test_bounded_replay_stops_at_the_offsets(replayed):
    bound = "offsets:" + ",".join(f"{t}:{p}:50" for t in ("quotes", "trades") for p in range(3))
    out = by_topic(cli("replay", "--brokers", replayed["broker"], "--until", bound, "--stdout").stdout)
    sources = out.get("liquidity-metrics", [])
    assert sources, "a bounded replay closes its intervals at the end"
    full = by_topic(replayed["first"])
    assert len(sources) < len(full["liquidity-metrics"])


def test_replay_to_prefixed_topics_leaves_the_group_alone(replayed):
    broker = replayed["broker"]
    cli("replay", "--brokers", broker, "--output-prefix", "again.")
    consumer = Consumer({"bootstrap.servers": broker, "group.id": "backstop", "enable.auto.commit": False,
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
    committed = consumer.committed([TopicPartition("quotes", p) for p in range(3)], timeout=10)
    assert all(tp.offset < 0 for tp in committed), "the live group's offsets were touched"
    consumer.assign([TopicPartition("again.liquidity-metrics", p, 0) for p in range(3)])
    count, idle = 0, 0
    while idle < 6:
        batch = consumer.consume(1000, 0.5)
        idle = idle + 1 if not batch else 0
        count += sum(1 for m in batch if not m.error())
    consumer.close()
    assert count == len(by_topic(replayed["first"])["liquidity-metrics"])
