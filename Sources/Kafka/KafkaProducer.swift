import CRdKafka

/// A header of a produced message.
public struct KafkaHeader: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]
    public init(name: String, value: [UInt8]) { self.name = name; self.value = value }
    public init(name: String, value: String) { self.init(name: name, value: Array(value.utf8)) }
}

/// A Kafka producer with delivery reports, back-pressure and the transactional API.
///
/// Meant to be driven from one dedicated thread: ``send(topic:partition:key:value:headers:)``, ``poll(timeout:)``,
/// ``flush(timeout:)`` and the transaction calls block, and delivery reports are delivered on the thread that
/// calls them. A full local queue never drops a message: `send` serves delivery reports and retries.
public final class KafkaProducer: @unchecked Sendable {
    let handle: KafkaHandle
    private let deliveries: DeliveryTracker
    public let isTransactional: Bool

    /// - Parameters:
    ///   - onDelivery: called for each delivery report, on the thread that polls; optional.
    ///   - onError: client-level errors; any thread.
    ///   - onLog: librdkafka log lines; any thread. When nil, librdkafka logs to standard error.
    public init(
        configuration: KafkaProducerConfiguration,
        onDelivery: ((DeliveryReport) -> Void)? = nil,
        onError: (@Sendable (KafkaError) -> Void)? = nil,
        onLog: (@Sendable (KafkaLogRecord) -> Void)? = nil
    ) throws(KafkaError) {
        let tracker = DeliveryTracker(forward: onDelivery)
        let callbacks = ClientCallbacks()
        callbacks.onDelivery = { tracker.record($0) }
        callbacks.onError = onError
        callbacks.onLog = onLog
        deliveries = tracker
        isTransactional = configuration.transactionalID != nil
        handle = try KafkaHandle(kind: .producer, conf: try makeConf(configuration.entries()), callbacks: callbacks)
    }

    /// Messages acknowledged by the broker since creation.
    public var deliveredCount: Int { deliveries.delivered }
    /// Messages that failed for good since creation.
    public var failedCount: Int { deliveries.failed }
    /// Takes the first delivery failure seen since the last call, if any.
    public func takeDeliveryError() -> KafkaError? { deliveries.takeError() }
    /// Messages enqueued by ``send(topic:partition:key:value:headers:)`` since creation; the next one's sequence.
    public private(set) var sentCount = 0
    /// Every message with a sequence below this has had its delivery report (delivered or failed), whatever
    /// happened to the messages sent after it: a checkpoint of what was sent, settled without a flush.
    public var settledCount: Int { deliveries.settledBelow }
    /// Messages and requests still in librdkafka's queues.
    public var outstanding: Int { Int(rd_kafka_outq_len(handle.raw)) }

    /// Enqueues one message. Key, value and headers are copied before this returns.
    /// - Parameters:
    ///   - partition: nil lets the configured partitioner (murmur2_random by default) choose from the key.
    ///   - value: nil produces a tombstone.
    /// - Throws: ``KafkaError`` for anything but a full queue, which is waited out (never dropped).
    public func send(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = []
    ) throws(KafkaError) {
        guard headers.count <= Int(CRdKafka_MAX_HEADERS) else {
            throw KafkaError(code: .invalidConfiguration, message: "at most \(CRdKafka_MAX_HEADERS) headers")
        }
        while true {
            let error = produceOnce(topic: topic, partition: partition ?? CRdKafka_PARTITION_UA,
                                    key: key, value: value, headers: headers)
            guard let error else {
                sentCount += 1
                return
            }
            if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_error_destroy(error)
                rd_kafka_poll(handle.raw, 100)  // back-pressure: serve delivery reports, then retry
                continue
            }
            throw KafkaError(consuming: error, context: "produce to \(topic)")
        }
    }

    private func produceOnce(topic: String, partition: Int32, key: [UInt8]?, value: [UInt8]?,
                             headers: [KafkaHeader]) -> OpaquePointer? {
        // Header names and values are copied by librdkafka; they only need to live for this call, so they go into
        // one scratch buffer on the stack (names NUL-terminated), not one allocation each.
        let count = headers.count
        var byteCount = 0
        for header in headers { byteCount += header.name.utf8.count + 1 + header.value.count }
        return withUnsafeTemporaryAllocation(byteCount: max(byteCount, 1), alignment: 1) { bytes in
            withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: max(count, 1)) { names in
                withUnsafeTemporaryAllocation(of: UnsafeRawPointer?.self, capacity: max(count, 1)) { values in
                    withUnsafeTemporaryAllocation(of: Int.self, capacity: max(count, 1)) { sizes in
                        var at = 0
                        for (i, header) in headers.enumerated() {
                            names[i] = UnsafePointer(bytes.baseAddress!.advanced(by: at).assumingMemoryBound(to: CChar.self))
                            for byte in header.name.utf8 {
                                bytes[at] = byte
                                at += 1
                            }
                            bytes[at] = 0
                            at += 1
                            values[i] = UnsafeRawPointer(bytes.baseAddress!.advanced(by: at))
                            sizes[i] = header.value.count
                            header.value.withUnsafeBytes { v in
                                if v.count > 0 { (bytes.baseAddress! + at).copyMemory(from: v.baseAddress!, byteCount: v.count) }
                            }
                            at += header.value.count
                        }
                        return withOptionalBytes(key) { k in
                            withOptionalBytes(value) { v in
                                CRdKafka_produce(handle.raw, topic, partition, k?.baseAddress, k?.count ?? 0,
                                                 v?.baseAddress, v?.count ?? 0, names.baseAddress, values.baseAddress,
                                                 sizes.baseAddress, count,
                                                 UnsafeMutableRawPointer(bitPattern: sentCount + 1))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Serves delivery reports; waits at most `timeout` for the first. Returns the number of events served.
    @discardableResult
    public func poll(timeout: Duration = .zero) -> Int {
        Int(rd_kafka_poll(handle.raw, Int32(timeout.milliseconds)))
    }

    /// Waits until every enqueued message is delivered or failed (serving delivery reports), at most `timeout`.
    public func flush(timeout: Duration) throws(KafkaError) {
        try check(rd_kafka_flush(handle.raw, Int32(timeout.milliseconds)), "flush")
    }

    /// The partition count of `topic`, from broker metadata.
    public func partitionCount(topic: String, timeout: Duration) throws(KafkaError) -> Int {
        try handle.partitionCount(topic: topic, timeout: timeout)
    }

    /// The fatal error that made this producer unusable, if any.
    public var currentFatalError: KafkaError? { handle.currentFatalError() }

    // MARK: Transactions

    /// Registers the transactional id with the coordinator, fencing older instances. Call once.
    public func initTransactions(timeout: Duration) throws(KafkaError) {
        try check(rd_kafka_init_transactions(handle.raw, Int32(timeout.milliseconds)), "init_transactions")
    }

    public func beginTransaction() throws(KafkaError) {
        try check(rd_kafka_begin_transaction(handle.raw), "begin_transaction")
    }

    /// Adds the consumer's `offsets` (each the next offset to read) to the open transaction.
    public func sendOffsetsToTransaction(
        _ offsets: [TopicPartition], groupMetadata: KafkaGroupMetadata, timeout: Duration
    ) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = PartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_send_offsets_to_transaction(handle.raw, list, groupMetadata.raw, Int32(timeout.milliseconds)),
                  "send_offsets_to_transaction")
    }

    /// Flushes and commits the open transaction.
    public func commitTransaction(timeout: Duration) throws(KafkaError) {
        try check(rd_kafka_commit_transaction(handle.raw, Int32(timeout.milliseconds)), "commit_transaction")
    }

    /// Aborts the open transaction; its messages are discarded for read_committed consumers.
    public func abortTransaction(timeout: Duration) throws(KafkaError) {
        try check(rd_kafka_abort_transaction(handle.raw, Int32(timeout.milliseconds)), "abort_transaction")
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

/// Counts delivery reports; touched only on the thread that polls the producer.
final class DeliveryTracker: @unchecked Sendable {
    private(set) var delivered = 0
    private(set) var failed = 0
    /// Every sequence below this has been reported; `reportedAbove` holds those reported beyond it (reports of
    /// different partitions come in any order).
    private(set) var settledBelow = 0
    private var reportedAbove: Set<Int> = []
    private var firstError: KafkaError?
    private let forward: ((DeliveryReport) -> Void)?

    init(forward: ((DeliveryReport) -> Void)?) { self.forward = forward }

    func record(_ report: DeliveryReport) {
        if let error = report.error {
            failed += 1
            if firstError == nil { firstError = error }
        } else {
            delivered += 1
        }
        if report.sequence == settledBelow {
            settledBelow += 1
            while reportedAbove.remove(settledBelow) != nil { settledBelow += 1 }
        } else if report.sequence > settledBelow {
            reportedAbove.insert(report.sequence)
        }
        forward?(report)
    }

    func takeError() -> KafkaError? {
        defer { firstError = nil }
        return firstError
    }
}
