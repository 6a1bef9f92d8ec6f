import Engine
import Events
import Kafka
import Logging

/// A compacted topic read in full by every instance (like a Kafka Streams global table): all partitions,
/// manual assignment, no group, from the beginning.
final class GlobalTable {
    struct Update {
        var key: String
        /// nil for a tombstone.
        var value: [UInt8]?
    }

    let topic: String
    private let consumer: KafkaConsumer
    private let batch = KafkaMessageBatch(capacity: 1024)
    private let logger: Logger

    init(topic: String, common: KafkaConfiguration, logger: Logger) throws {
        self.topic = topic
        self.logger = logger
        var configuration = KafkaConsumerConfiguration(common: common, groupID: nil)
        configuration.isPartitionEOFEnabled = true
        consumer = try KafkaConsumer(configuration: configuration, onLog: KafkaLogBridge(logger: logger).log)
    }

    /// Reads every partition to its end before returning.
    func restore(_ apply: (Update) -> Void) throws {
        let count = try consumer.partitionCount(topic: topic, timeout: .seconds(30))
        try consumer.assign((0..<count).map { TopicPartition(topic: topic, partition: Int32($0), offset: KafkaOffset.beginning) })
        let applied = try consumer.readToEnd(Set((0..<Int32(count))), batch: batch, deadline: monotonicMicros() + 60_000_000,
                                             timedOut: { ConfigError("topics.instruments", "timed out restoring topic \(topic)") },
                                             each: { apply(update($0)) })
        logger.info("global table restored", metadata: ["topic": "\(topic)", "records": "\(applied)"])
    }

    /// Applies whatever arrived since the last call, without waiting.
    func poll(_ apply: (Update) -> Void) throws {
        let n = try consumer.poll(into: batch, timeout: .zero)
        for i in 0..<n {
            let m = batch[i]
            if let error = m.error {
                if error.code != .partitionEOF { logger.warning("global table error", metadata: ["error": "\(error)"]) }
                continue
            }
            apply(update(m))
        }
    }

    private func update(_ m: KafkaMessage) -> Update {
        let key = m.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return Update(key: key, value: m.value.map { Array($0) })
    }
}

extension InstrumentStage {
    /// Applies one record of the `instruments` table: a tombstone delists; an invalid value is logged and skipped
    /// (every instance reads the whole table, so each would send its own copy to the DLQ).
    mutating func apply(_ update: GlobalTable.Update, logger: Logger) {
        guard let bytes = update.value else { return apply(instrument: nil, symbol: update.key) }
        let decoded = bytes.withUnsafeBytes { raw -> Result<Instrument, DecodeError> in
            do throws(DecodeError) { return .success(try Instrument.decode(raw)) } catch { return .failure(error) }
        }
        switch decoded {
        case .success(let instrument): apply(instrument: instrument, symbol: instrument.symbol)
        case .failure(let error):
            logger.warning("invalid instrument ignored", metadata: ["key": "\(update.key)", "error": "\(error)"])
        }
    }
}
