import CRdKafka

/// Owns one `rd_kafka_t` and destroys it exactly once, in `deinit`.
///
/// librdkafka handles are thread-safe; this class only guarantees the lifetime. Objects that borrow the handle
/// (queues, topic handles, the consumer) keep a strong reference to it so it outlives them.
final class KafkaHandle: @unchecked Sendable {
    let raw: OpaquePointer
    /// Kept alive until after `rd_kafka_destroy`, since librdkafka may call back into it until then.
    private let callbacks: ClientCallbacks

    enum Kind { case producer, consumer }

    /// Creates the handle. `conf` is consumed: librdkafka takes it on success; on failure this frees it.
    init(kind: Kind, conf: OpaquePointer, callbacks: ClientCallbacks) throws(KafkaError) {
        callbacks.install(on: conf)
        var errstr = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let raw = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)  // rd_kafka_new takes the conf only on success.
            throw KafkaError.configuration(string(fromErrorBuffer: errstr))
        }
        self.raw = raw
        self.callbacks = callbacks
    }

    deinit {
        rd_kafka_destroy(raw)
        withExtendedLifetime(callbacks) {}
    }

    /// The error that made this instance unusable, if any (`rd_kafka_fatal_error`).
    func currentFatalError() -> KafkaError? {
        var errstr = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(raw, &errstr, errstr.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(code: .init(rawValue: err.rawValue), message: string(fromErrorBuffer: errstr), isFatal: true)
    }

    /// Partition count of a topic, from broker metadata.
    func partitionCount(topic: String, timeout: Duration) throws(KafkaError) -> Int {
        guard let rkt = rd_kafka_topic_new(raw, topic, nil) else {
            throw KafkaError(rd_kafka_last_error(), context: "topic \(topic)")
        }
        defer { rd_kafka_topic_destroy(rkt) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        try check(rd_kafka_metadata(raw, 0, rkt, &metadata, Int32(timeout.milliseconds)), "metadata for \(topic)")
        defer { rd_kafka_metadata_destroy(metadata) }
        guard let md = metadata?.pointee, md.topic_cnt == 1, let t = md.topics?.pointee else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "no metadata for topic \(topic)")
        }
        try check(t.err, "metadata for \(topic)")
        return Int(t.partition_cnt)
    }

    /// Low and high watermark offsets of a partition, asked of the broker.
    func watermarks(topic: String, partition: Int32, timeout: Duration) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        try check(rd_kafka_query_watermark_offsets(raw, topic, partition, &low, &high, Int32(timeout.milliseconds)),
                  "watermarks of \(topic)/\(partition)")
        return (low, high)
    }
}

/// A topic partition and, where relevant, an offset.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64 = KafkaOffset.invalid) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var description: String { "\(topic)/\(partition)@\(offset)" }
}

/// librdkafka's logical offsets.
public enum KafkaOffset {
    public static let beginning = CRdKafka_OFFSET_BEGINNING
    public static let end = CRdKafka_OFFSET_END
    public static let stored = CRdKafka_OFFSET_STORED
    public static let invalid = CRdKafka_OFFSET_INVALID
}

/// Converts between Swift lists and `rd_kafka_topic_partition_list_t`.
enum PartitionList {
    /// Builds a list the caller must destroy with `rd_kafka_topic_partition_list_destroy`.
    static func make(_ partitions: [TopicPartition]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1)))!
        for tp in partitions {
            let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)!
            element.pointee.offset = tp.offset
        }
        return list
    }

    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartition] {
        guard let list, let elements = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { i in
            let e = elements[i]
            return TopicPartition(topic: String(cString: e.topic), partition: e.partition, offset: e.offset)
        }
    }

    /// The first per-partition error in a list, if any.
    static func firstError(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> KafkaError? {
        guard let elements = list.pointee.elems else { return nil }
        for i in 0..<Int(list.pointee.cnt) where elements[i].err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let e = elements[i]
            return KafkaError(e.err, context: "\(String(cString: e.topic))/\(e.partition)")
        }
        return nil
    }
}
