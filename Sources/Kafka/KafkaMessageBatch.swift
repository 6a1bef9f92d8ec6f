import CRdKafka

/// A reusable buffer of consumed messages, filled by ``KafkaConsumer/poll(into:timeout:)``.
///
/// Messages are read in place: keys, values and headers are views into librdkafka's buffers, valid until the batch
/// is polled into again, cleared or deinitialized (each of which destroys the messages exactly once).
/// Not thread-safe; one batch belongs to one polling thread.
public final class KafkaMessageBatch: @unchecked Sendable {
    let capacity: Int
    let slots: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    public private(set) var count = 0

    /// - Parameter capacity: the most messages one poll returns.
    public init(capacity: Int = 4096) {
        precondition(capacity > 0, "batch capacity must be positive")
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
    }

    deinit {
        clear()
        slots.deallocate()
    }

    /// Destroys the messages held. Views taken from them are invalid afterwards.
    public func clear() {
        for i in 0..<count {
            if let m = slots[i] { rd_kafka_message_destroy(m) }
            slots[i] = nil
        }
        count = 0
    }

    func didFill(_ n: Int) { count = n }

    public var isEmpty: Bool { count == 0 }

    public subscript(index: Int) -> KafkaMessage {
        precondition(index >= 0 && index < count, "message index out of range")
        return KafkaMessage(raw: slots[index]!)
    }
}

/// A view of one consumed message, valid while its batch holds it.
public struct KafkaMessage {
    let raw: UnsafeMutablePointer<rd_kafka_message_t>

    /// The consumer error this message carries instead of data (for example a partition EOF), if any.
    public var error: KafkaError? {
        let err = raw.pointee.err
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let text = rd_kafka_message_errstr(raw).map { String(cString: $0) }
        return KafkaError(err, context: text)
    }

    /// An identity for the topic, stable for the life of the consumer: cheaper than comparing names.
    public var topicHandle: OpaquePointer? { raw.pointee.rkt }
    public var topic: String { raw.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "" }
    public var partition: Int32 { raw.pointee.partition }
    public var offset: Int64 { raw.pointee.offset }

    /// The key bytes, nil when the message has no key.
    public var key: UnsafeRawBufferPointer? {
        guard let p = raw.pointee.key else { return nil }
        return UnsafeRawBufferPointer(start: p, count: raw.pointee.key_len)
    }

    /// The value bytes, nil for a tombstone.
    public var value: UnsafeRawBufferPointer? {
        guard let p = raw.pointee.payload else { return nil }
        return UnsafeRawBufferPointer(start: p, count: raw.pointee.len)
    }

    /// The message timestamp in milliseconds since the epoch, if the broker or producer set one.
    public var timestampMs: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(raw, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts
    }

    /// The value of the last header named `name`, if present.
    public func header(_ name: String) -> UnsafeRawBufferPointer? {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(raw, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return nil }
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return UnsafeRawBufferPointer(start: value, count: size)
    }

    /// Every header as (name, bytes), in order.
    public var headers: [(name: String, value: [UInt8])] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(raw, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return [] }
        var result: [(String, [UInt8])] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            result.append((name.map { String(cString: $0) } ?? "", bytes))
            index += 1
        }
        return result
    }
}
