"""Smoke test of the test harness itself: the Tansu broker fixture, the Java-compatible partitioner, transactions.

If this fails, test_pipeline.py cannot pass whatever backstop does."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from helpers import OutputReader, partition_for, topic_partitions


def test_broker_smoke(broker):
    admin = AdminClient({"bootstrap.servers": broker})
    for topic, f in admin.create_topics([NewTopic("smoke", 3, 1), NewTopic("smoke-tx", 3, 1)]).items():
        f.result(10)
    assert topic_partitions(admin, "smoke") == 3

    # Plain produce with murmur2_random: every key lands where the Java client (and helpers.partition_for) puts it.
    producer = Producer({"bootstrap.servers": broker, "partitioner": "murmur2_random", "enable.idempotence": True})
    delivered = []
    keys = [f"INST-{i}".encode() for i in range(30)] + [b"BTC-PERP", b"ETH-PERP", b"BTC-27DEC26-70000-C"]
    for k in keys:
        producer.produce("smoke", key=k, value=b'{"k":"' + k + b'"}', headers=[("schema", b"smoke/1")],
                         on_delivery=lambda err, msg: delivered.append((err, msg.key(), msg.partition())))
    assert producer.flush(10) == 0
    assert all(err is None for err, _, _ in delivered), delivered
    wrong = [(k, p, partition_for(k, 3)) for _, k, p in delivered if p != partition_for(k, 3)]
    assert not wrong, f"murmur2_random placed keys differently from helpers.partition_for: {wrong}"

    # Transactions + read_committed (backstop's exactly-once output): aborted records stay invisible.
    tx = Producer({"bootstrap.servers": broker, "transactional.id": f"smoke-{uuid.uuid4()}",
                   "partitioner": "murmur2_random"})
    tx.init_transactions(10)
    for value, commit in [(b"committed-1", True), (b"aborted", False), (b"committed-2", True)]:
        tx.begin_transaction()
        tx.produce("smoke-tx", key=b"BTC-PERP", value=value)
        tx.commit_transaction(10) if commit else tx.abort_transaction(10)

    reader = OutputReader(broker, ["smoke", "smoke-tx"], group=f"smoke-{uuid.uuid4()}")
    try:
        reader.poll_until(lambda: len(reader.of("smoke")) >= len(keys) and len(reader.of("smoke-tx")) >= 2, 20)
        reader.drain(quiet=1.0, timeout=5)
    finally:
        reader.close()
    assert not reader.errors, reader.errors
    assert sorted(m.key for m in reader.of("smoke")) == sorted(keys)
    assert all(m.header_values("schema") == [b"smoke/1"] for m in reader.of("smoke"))
    assert [m.value for m in reader.of("smoke-tx")] == [b"committed-1", b"committed-2"], \
        "read_committed must hide the aborted transaction's record"

    # Group membership (backstop's run joins a group). Tansu holds a JoinGroup for about half the session timeout
    # (~23 s with librdkafka's default 45 s), hence the short session timeout here.
    consumer = Consumer({"bootstrap.servers": broker, "group.id": f"smoke-sub-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                         "session.timeout.ms": 6000})
    try:
        consumer.subscribe(["smoke-tx"])
        seen = []
        for _ in range(60):
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                seen.append(msg.value())
            if len(seen) >= 2:
                break
        assert seen == [b"committed-1", b"committed-2"]
        consumer.commit(asynchronous=False)
        committed = consumer.committed([TopicPartition("smoke-tx", partition_for(b"BTC-PERP", 3))], timeout=10)
        assert committed[0].offset >= 2, committed
    finally:
        consumer.close()
