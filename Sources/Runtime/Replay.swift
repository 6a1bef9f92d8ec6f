import Engine
import Events
import Foundation
public import Kafka
public import Logging

/// `backstop replay`: rebuilds state from fixed input positions with a fresh engine and re-derives the outputs,
/// without a consumer group (the live group's offsets are never touched).
///
/// Each task merges its inputs strictly by `(ts, source, offset)`: it waits for an input until that input's
/// partition is exhausted, never on a timer, so the same input range yields byte-identical outputs run after run,
/// equal to a backtest of the same records. At the end of the range every open interval closes (a bounded replay).
/// "end" is where each partition ends as the replay reads it (its end-of-partition event), which does not depend
/// on a broker's high-watermark bookkeeping. The account stage runs after the instrument tasks, on their marks and
/// fills and the `accounts` range, in the merge order of a backtest.
public struct Replay: Sendable {
    /// Where each partition starts.
    public enum Start: Sendable, Equatable {
        case beginning
        /// Kafka message timestamp, milliseconds since the epoch.
        case timestamp(Int64)
        /// Explicit offsets; partitions not named start at the beginning.
        case offsets([TopicPartition])
    }

    /// Where each partition stops (exclusive bound for offsets; a partition `offsets` does not name stops at its end).
    public enum Stop: Sendable, Equatable {
        case end
        case offsets([TopicPartition])
    }

    public var configuration: BackstopConfiguration
    public var from: Start = .beginning
    public var until: Stop = .end
    /// Outputs go to `<prefix><topic>` topics, unless written as NDJSON lines to `write`.
    public var outputPrefix = "replay."

    public init(configuration: BackstopConfiguration) { self.configuration = configuration }

    /// Parses `beginning`, `timestamp:TS` (ms) or `offsets:topic:partition:offset,…`.
    public static func parseStart(_ text: String) -> Start? {
        if text == "beginning" { return .beginning }
        if text.hasPrefix("timestamp:"), let ts = Int64(text.dropFirst("timestamp:".count)) { return .timestamp(ts) }
        return parseOffsets(text).map(Start.offsets)
    }

    /// Parses `end` or `offsets:topic:partition:offset,…`.
    public static func parseStop(_ text: String) -> Stop? {
        if text == "end" { return .end }
        return parseOffsets(text).map(Stop.offsets)
    }

    static func parseOffsets(_ text: String) -> [TopicPartition]? {
        guard text.hasPrefix("offsets:") else { return nil }
        var result: [TopicPartition] = []
        for item in text.dropFirst("offsets:".count).split(separator: ",") {
            let parts = item.split(separator: ":")
            guard parts.count == 3, let p = Int32(parts[1]), let o = Int64(parts[2]), p >= 0, o >= 0 else { return nil }
            result.append(TopicPartition(topic: String(parts[0]), partition: p, offset: o))
        }
        return result.isEmpty ? nil : result
    }

    /// Runs the replay. - Parameter write: receives each output as a line `{"topic":…,"key":…,"value":{…}}`;
    ///   nil produces to the prefixed topics instead.
    /// - Returns: the number of outputs.
    public func run(logger: Logger, write: ((String) -> Void)?) throws -> Int {
        let names = configuration.topics
        let common = KafkaConfiguration(bootstrapServers: configuration.kafka.brokers, clientID: "backstop-replay",
                                        properties: configuration.kafka.consumerLibrdkafka)
        var stage = InstrumentStage(configuration: configuration.instrumentStage)
        let table = try GlobalTable(topic: names.instruments, common: common, logger: logger)
        try table.restore { stage.apply($0, logger: logger) }

        var c = KafkaConsumerConfiguration(common: common, groupID: nil)
        c.isPartitionEOFEnabled = true
        c.isolationLevel = .readCommitted
        let consumer = try KafkaConsumer(configuration: c, onLog: KafkaLogBridge(logger: logger).log)
        var assignment: [TopicPartition] = []
        for topic in InputKind.allCases.map({ names.name(of: $0) }) + [names.accounts] {
            let count = try consumer.partitionCount(topic: topic, timeout: .seconds(30))
            for p in 0..<Int32(count) { assignment.append(TopicPartition(topic: topic, partition: p, offset: KafkaOffset.beginning)) }
        }
        switch from {
        case .beginning: break
        case .offsets(let given):
            for g in given {
                guard let i = assignment.firstIndex(where: { $0.topic == g.topic && $0.partition == g.partition }) else {
                    throw ConfigError("--from", "\(g.topic)/\(g.partition) is not an input partition")
                }
                assignment[i].offset = g.offset
            }
        case .timestamp(let ms):
            assignment = try consumer.offsetsForTimes(assignment.map {
                TopicPartition(topic: $0.topic, partition: $0.partition, offset: ms)
            }, timeout: .seconds(30))
        }
        let accountsAssignment = assignment.filter { $0.topic == names.accounts }
        assignment.removeAll { $0.topic == names.accounts }
        var stops: [TopicPartition: Int64] = [:]
        if case .offsets(let bounds) = until {
            for b in bounds { stops[TopicPartition(topic: b.topic, partition: b.partition)] = b.offset }
        }
        var producer = try write == nil ? makeProducer() : nil
        var produced = 0
        let emit: (OutputRecord) -> Void = { record in
            if let write {
                var w = JSONWriter(capacity: record.value.count + 64)
                w.beginObject()
                w.key("topic"); w.string(names.name(of: record.topic))
                w.key("key"); if let key = record.key { w.string(String(decoding: key, as: UTF8.self)) } else { w.null() }
                w.key("value"); w.raw(record.value)
                w.endObject()
                write(String(decoding: w.bytes, as: UTF8.self))
            }
            produced += 1
        }
        // The account stage sees every task's marks and fills (kept in its merge buffer), then the accounts range,
        // and runs once all are in: the backtest's order, so a replay's account outputs equal the backtest's.
        var accountTask = AccountTask(configuration: configuration.margin,
                                      allowedLateness: configuration.instrumentStage.allowedLatenessMicros)
        for symbol in stage.instruments.keys.sorted() { accountTask.stage.define(stage.instruments[symbol]!) }
        var kinds: [String: InputKind] = [:]
        for kind in InputKind.allCases { kinds[names.name(of: kind)] = kind }
        let batch = KafkaMessageBatch(capacity: 4096)
        // One task (partition number) at a time: tasks are independent, and their outputs then come out in one
        // order whatever the fetch timing, so the output is byte-identical run after run, also as one stream.
        for partition in Set(assignment.map(\.partition)).sorted() {
            let task = assignment.filter { $0.partition == partition }
            var pending: [OutputRecord] = []
            try readRange(task, stops: stops, consumer: consumer, batch: batch, each: { m in
                guard let kind = kinds[m.topic] else { return }
                let origin = Origin(topic: m.topic, partition: m.partition, offset: m.offset)
                stage.enqueue(kind, partition: m.partition, origin: origin, key: m.key, value: m.value)
            }, afterPoll: { finished in
                stage.drain(canSkip: { p, kind in finished.contains(TopicPartition(topic: names.name(of: kind), partition: p)) },
                            emit: { pending.append($0) })
                keepForAccounts(pending, in: &accountTask)
                try flush(&pending, producer: &producer, emit: emit)
            })
            stage.drain(canSkip: { _, _ in true }, emit: { pending.append($0) })
            stage.closeAll(emit: { pending.append($0) })
            keepForAccounts(pending, in: &accountTask)
            try flush(&pending, producer: &producer, emit: emit)
            stage.remove(partitions: [partition])
        }
        var pending: [OutputRecord] = []
        try readAccounts(accountsAssignment, stops: stops, consumer: consumer, batch: batch, into: &accountTask,
                         emit: { pending.append($0) })
        accountTask.release(before: .max, emit: { pending.append($0) })
        try flush(&pending, producer: &producer, emit: emit)
        try consumer.close()
        if let producer {
            try producer.producer.flush(timeout: .seconds(60))
            if let error = producer.producer.takeDeliveryError() { throw error }
        }
        return produced
    }

    private func keepForAccounts(_ records: [OutputRecord], in task: inout AccountTask) {
        for record in records {
            if let mark = record.mark { task.enqueue(.mark(mark), origin: record.origin, position: nil, emit: { _ in }) }
            if let fill = record.fill { task.enqueue(.fill(fill), origin: record.origin, position: nil, emit: { _ in }) }
        }
    }

    /// Reads the `accounts` range into the account task; an event that does not decode goes to the DLQ.
    private func readAccounts(_ assignment: [TopicPartition], stops: [TopicPartition: Int64], consumer: KafkaConsumer,
                              batch: KafkaMessageBatch, into task: inout AccountTask,
                              emit: (OutputRecord) -> Void) throws {
        var maxTs: [Int32: Int64] = [:]
        try readRange(assignment, stops: stops, consumer: consumer, batch: batch, each: { m in
            let origin = Origin(topic: m.topic, partition: m.partition, offset: m.offset)
            do throws(DecodeError) {
                guard let value = m.value, value.count > 0 else { throw DecodeError(.decodeError, "empty value (tombstone)") }
                let event = try AccountEvent.decode(value)
                maxTs[m.partition] = max(maxTs[m.partition] ?? .min, event.ts)
                task.enqueue(.account(event), origin: origin, position: nil, emit: emit)
            } catch {
                emit(RejectedInput(origin: origin, key: m.key.map { Array($0) }, value: m.value.map { Array($0) },
                                   error: error).dlqRecord(eventTime: RejectedInput.undecodedTs(after: maxTs[m.partition] ?? 0)))
            }
        }, afterPoll: { _ in })
    }

    /// Reads `assignment` from its start offsets to its ends: a partition named in `stops` up to that offset
    /// (exclusive; done at once when it starts there), any other to its end-of-partition event. `each` gets every
    /// message in range, `afterPoll` the partitions done so far after each poll.
    private func readRange(_ assignment: [TopicPartition], stops: [TopicPartition: Int64], consumer: KafkaConsumer,
                           batch: KafkaMessageBatch, each: (KafkaMessage) -> Void,
                           afterPoll: (Set<TopicPartition>) throws -> Void) throws {
        guard !assignment.isEmpty else { return }
        try consumer.assign(assignment)
        var done = Set<TopicPartition>()
        for tp in assignment where (stops[TopicPartition(topic: tp.topic, partition: tp.partition)] ?? .max) <= tp.offset {
            done.insert(TopicPartition(topic: tp.topic, partition: tp.partition))
        }
        let deadline = Date().addingTimeInterval(3600)
        while done.count < assignment.count {
            guard Date() < deadline else { throw ConfigError("--until", "the replay did not reach its end within an hour") }
            let n = try consumer.poll(into: batch, timeout: .milliseconds(200))
            for i in 0..<n {
                let m = batch[i]
                let tp = TopicPartition(topic: m.topic, partition: m.partition)
                if let error = m.error {
                    if error.code == .partitionEOF, stops[tp] == nil { done.insert(tp) }
                    else if error.code != .partitionEOF { throw error }
                    continue
                }
                if done.contains(tp) { continue }
                if let stop = stops[tp], m.offset >= stop { done.insert(tp); continue }
                each(m)
                if let stop = stops[tp], m.offset + 1 >= stop { done.insert(tp) }
            }
            try afterPoll(done)
        }
    }

    /// A producer of outputs to the prefixed topics (created when missing), with the usual headers.
    private func makeProducer() throws -> OutputProducer {
        let common = KafkaConfiguration(bootstrapServers: configuration.kafka.brokers, clientID: "backstop-replay",
                                        properties: configuration.kafka.producerLibrdkafka)
        var prefixed = configuration.topics
        for topic in OutputTopic.allCases {
            let path = TopicNames.path(of: topic)
            prefixed[keyPath: path] = outputPrefix + configuration.topics[keyPath: path]
        }
        let admin = try KafkaAdmin(configuration: common)
        let topics = OutputTopic.allCases.map { NewTopic(name: prefixed.name(of: $0), partitions: configuration.partitions) }
        for (name, error) in try admin.createTopics(topics, timeout: .seconds(30)) where error.code != .topicAlreadyExists {
            throw ConfigError("--output-prefix", "cannot create \(name): \(error.message)")
        }
        return OutputProducer(producer: try KafkaProducer(configuration: KafkaProducerConfiguration(common: common)),
                              topics: prefixed)
    }

    private func flush(_ pending: inout [OutputRecord], producer: inout OutputProducer?, emit: (OutputRecord) -> Void) throws {
        if producer != nil {
            for record in pending { try producer!.send(record) }
            producer!.producer.poll()
        }
        for record in pending { emit(record) }
        pending.removeAll(keepingCapacity: true)
    }
}
