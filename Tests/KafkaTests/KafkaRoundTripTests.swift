import BackstopTestKit
import Foundation
import Kafka
import Testing

/// Kafka layer against a real broker process.
@Suite("Kafka layer on a real broker", .serialized)
struct KafkaRoundTripTests {
    let broker: TansuBroker

    init() throws { broker = try TansuBroker.start() }

    var common: KafkaConfiguration { KafkaConfiguration(bootstrapServers: broker.bootstrap, clientID: "kafka-tests") }

    func createTopic(_ name: String, partitions: Int, configs: [String: String] = [:]) throws {
        let admin = try KafkaAdmin(configuration: common)
        let outcome = try admin.createTopics([NewTopic(name: name, partitions: partitions, configs: configs)],
                                             timeout: .seconds(20))
        #expect(outcome[name] == nil, "topic \(name) should be created: \(String(describing: outcome[name]))")
    }

    /// A group-less consumer reading every partition of `topic` from the beginning.
    func assignedConsumer(_ topic: String, partitions: Int, isolation: KafkaConsumerConfiguration.IsolationLevel = .readCommitted)
        throws -> KafkaConsumer
    {
        var c = KafkaConsumerConfiguration(common: common, groupID: nil)
        c.isolationLevel = isolation
        let consumer = try KafkaConsumer(configuration: c)
        try consumer.assign((0..<partitions).map { TopicPartition(topic: topic, partition: Int32($0), offset: KafkaOffset.beginning) })
        return consumer
    }

    struct Received: Equatable {
        var key: String?
        var value: String?
        var partition: Int32
        var offset: Int64
        var headers: [String: String]
    }

    /// Polls until `count` messages arrived or `timeout` passed; records the size of every non-empty poll.
    func receive(_ consumer: KafkaConsumer, count: Int, timeout: TimeInterval = 20, batchSizes: inout [Int]) throws -> [Received] {
        let batch = KafkaMessageBatch(capacity: 2048)
        var received: [Received] = []
        let deadline = Date().addingTimeInterval(timeout)
        while received.count < count, Date() < deadline {
            let n = try consumer.poll(into: batch, timeout: .milliseconds(100))
            if n > 0 { batchSizes.append(n) }
            for i in 0..<n {
                let m = batch[i]
                if m.error != nil { continue }
                var headers: [String: String] = [:]
                for h in m.headers { headers[h.name] = String(decoding: h.value, as: UTF8.self) }
                received.append(Received(
                    key: m.key.map { String(decoding: $0, as: UTF8.self) },
                    value: m.value.map { String(decoding: $0, as: UTF8.self) },
                    partition: m.partition, offset: m.offset, headers: headers))
            }
        }
        return received
    }

    @Test("produced messages come back in batches, with keys, headers and tombstones intact")
    func roundTrip() throws {
        let topic = uniqueName("roundtrip")
        try createTopic(topic, partitions: 3)
        var sequences: [Int] = []
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: common),
                                         onDelivery: { sequences.append($0.sequence) })
        let total = 5_000
        for i in 0..<total {
            let value: [UInt8]? = i % 1000 == 999 ? nil : Array("{\"n\":\(i)}".utf8)
            try producer.send(topic: topic, key: Array("key-\(i % 17)".utf8), value: value,
                              headers: [KafkaHeader(name: "schema", value: "test/1"), KafkaHeader(name: "n", value: "\(i)")])
            if i == 2_499 { #expect(producer.settledCount <= 2_500) }
        }
        #expect(producer.sentCount == total)
        try producer.flush(timeout: .seconds(20))
        #expect(producer.deliveredCount == total)
        #expect(producer.failedCount == 0)
        #expect(sequences.sorted() == Array(0..<total), "every message reports its place in the send order, once")
        #expect(producer.settledCount == total)

        let consumer = try assignedConsumer(topic, partitions: 3)
        var sizes: [Int] = []
        let received = try receive(consumer, count: total, batchSizes: &sizes)
        #expect(received.count == total)
        #expect(sizes.max() ?? 0 > 1, "a poll must return many messages at once, got batch sizes \(sizes.prefix(10))")
        let byN = Dictionary(uniqueKeysWithValues: received.map { (Int($0.headers["n"]!)!, $0) })
        #expect(byN.count == total)
        for i in [0, 1, 16, 999, 1234, 4999] {
            let r = try #require(byN[i])
            #expect(r.key == "key-\(i % 17)")
            #expect(r.headers["schema"] == "test/1")
            #expect(r.value == (i % 1000 == 999 ? nil : "{\"n\":\(i)}"), "message \(i)")
        }
        // Same key, same partition; and per partition, offsets strictly increase.
        let partitionsByKey = Dictionary(grouping: received, by: { $0.key! }).mapValues { Set($0.map(\.partition)) }
        #expect(partitionsByKey.values.allSatisfy { $0.count == 1 })
        for p in 0..<3 {
            let offsets = received.filter { $0.partition == p }.map(\.offset)
            #expect(offsets == offsets.sorted() && Set(offsets).count == offsets.count)
        }
    }

    @Test("closing a consumer whose last batch still holds messages does not hang")
    func closeWithHeldMessages() throws {
        let topic = uniqueName("close")
        try createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: common))
        for i in 0..<10 { try producer.send(topic: topic, key: nil, value: Array("\(i)".utf8)) }
        try producer.flush(timeout: .seconds(10))
        var c = KafkaConsumerConfiguration(common: common, groupID: nil)
        c.isPartitionEOFEnabled = true
        let consumer = try KafkaConsumer(configuration: c)
        try consumer.assign([TopicPartition(topic: topic, partition: 0, offset: KafkaOffset.beginning)])
        let batch = KafkaMessageBatch(capacity: 100)
        let deadline = Date().addingTimeInterval(10)
        while batch.isEmpty, Date() < deadline { try consumer.poll(into: batch, timeout: .milliseconds(100)) }
        #expect(!batch.isEmpty)
        let started = Date()
        try consumer.close()
        #expect(Date().timeIntervalSince(started) < 5, "close returned")
        #expect(batch.isEmpty, "the held messages were destroyed first")
    }

    @Test("a full producer queue is waited out, never dropped")
    func backPressure() throws {
        let topic = uniqueName("backpressure")
        try createTopic(topic, partitions: 1)
        var c = KafkaProducerConfiguration(common: common)
        c.common.properties["queue.buffering.max.messages"] = "50"
        let producer = try KafkaProducer(configuration: c)
        let total = 3_000
        for i in 0..<total { try producer.send(topic: topic, key: nil, value: Array("\(i)".utf8)) }
        try producer.flush(timeout: .seconds(30))
        #expect(producer.deliveredCount == total)
        let consumer = try assignedConsumer(topic, partitions: 1)
        var sizes: [Int] = []
        let values = try receive(consumer, count: total, batchSizes: &sizes).map { Int($0.value!)! }
        #expect(values == Array(0..<total), "every message, in order")
    }

    @Test("admin creates topics with configs and reports ones that exist")
    func admin() throws {
        let name = uniqueName("compacted")
        try createTopic(name, partitions: 4, configs: ["cleanup.policy": "compact"])
        let admin = try KafkaAdmin(configuration: common)
        #expect(try admin.partitionCount(topic: name, timeout: .seconds(10)) == 4)
        #expect(try admin.topicNames(timeout: .seconds(10)).contains(name))
        let again = try admin.createTopics([NewTopic(name: name, partitions: 4)], timeout: .seconds(10))
        let error = try #require(again[name])
        #expect(error.code == .topicAlreadyExists)
    }

    @Test("offsets sent in a committed transaction are committed; those of an aborted one are not")
    func transactionalOffsets() throws {
        let input = uniqueName("tx-in")
        let output = uniqueName("tx-out")
        let group = uniqueName("tx-group")
        try createTopic(input, partitions: 1)
        try createTopic(output, partitions: 1)

        var pc = KafkaProducerConfiguration(common: common, transactionalID: uniqueName("tx"))
        pc.transactionTimeout = .seconds(30)
        let producer = try KafkaProducer(configuration: pc)
        try producer.initTransactions(timeout: .seconds(30))
        var cc = KafkaConsumerConfiguration(common: common, groupID: group)
        cc.sessionTimeout = .seconds(6)
        let consumer = try KafkaConsumer(configuration: cc)
        let metadata = try consumer.groupMetadata()

        try producer.beginTransaction()
        for i in 0..<10 { try producer.send(topic: output, key: nil, value: Array("committed-\(i)".utf8)) }
        try producer.sendOffsetsToTransaction([TopicPartition(topic: input, partition: 0, offset: 10)],
                                              groupMetadata: metadata, timeout: .seconds(30))
        try producer.commitTransaction(timeout: .seconds(30))

        try producer.beginTransaction()
        for i in 0..<5 { try producer.send(topic: output, key: nil, value: Array("aborted-\(i)".utf8)) }
        try producer.sendOffsetsToTransaction([TopicPartition(topic: input, partition: 0, offset: 15)],
                                              groupMetadata: metadata, timeout: .seconds(30))
        try producer.abortTransaction(timeout: .seconds(30))

        let committed = try consumer.committed([TopicPartition(topic: input, partition: 0)], timeout: .seconds(10))
        #expect(committed.first?.offset == 10, "the aborted transaction's offsets must be discarded")

        let reader = try assignedConsumer(output, partitions: 1)
        var sizes: [Int] = []
        let values = try receive(reader, count: 10, timeout: 10, batchSizes: &sizes).compactMap(\.value)
        #expect(Array(values.prefix(10)) == (0..<10).map { "committed-\($0)" })
    }

    @Test("a consumer group commits offsets, and rebalance events reach the handler")
    func groupCommitAndRebalance() throws {
        let topic = uniqueName("group")
        let group = uniqueName("group")
        try createTopic(topic, partitions: 2)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: common))
        for i in 0..<20 { try producer.send(topic: topic, key: Array("k\(i)".utf8), value: Array("\(i)".utf8)) }
        try producer.flush(timeout: .seconds(10))

        final class Events: @unchecked Sendable { var list: [RebalanceEvent] = [] }
        let events = Events()
        var cc = KafkaConsumerConfiguration(common: common, groupID: group)
        cc.sessionTimeout = .seconds(6)
        let consumer = try KafkaConsumer(configuration: cc, onRebalance: { events.list.append($0) })
        try consumer.subscribe([topic])
        var sizes: [Int] = []
        let received = try receive(consumer, count: 20, batchSizes: &sizes)
        #expect(received.count == 20)
        let assigned = events.list.filter { $0.kind == .assigned }.flatMap(\.partitions).map(\.partition).sorted()
        #expect(assigned == [0, 1])

        let next = Dictionary(grouping: received, by: \.partition).map {
            TopicPartition(topic: topic, partition: $0.key, offset: $0.value.map(\.offset).max()! + 1)
        }
        try consumer.commit(next)
        let committed = try consumer.committed(next.map { TopicPartition(topic: topic, partition: $0.partition) },
                                               timeout: .seconds(10))
        #expect(Set(committed) == Set(next))
        try consumer.close()
        #expect(events.list.contains { $0.kind == .revoked }, "closing leaves the group through a revoke")
    }
}
