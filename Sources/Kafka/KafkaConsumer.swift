import CRdKafka

/// A Kafka consumer over librdkafka's high-level consumer, polled in batches.
///
/// Every blocking call (``poll(into:timeout:)``, commits, ``close()``) must run on a thread the caller dedicates to
/// this consumer, never on the Swift cooperative pool. The rebalance handler and delivery of rebalance events run
/// on that thread, inside ``poll(into:timeout:)``. Offsets are never committed automatically.
public final class KafkaConsumer: @unchecked Sendable {
    let handle: KafkaHandle
    private let queue: OpaquePointer
    private var isClosed = false
    /// The batch last polled into: its messages are destroyed before closing, since librdkafka's close waits for
    /// every message of the consumer to be destroyed.
    private weak var lastBatch: KafkaMessageBatch?

    /// - Parameters:
    ///   - configuration: consumer settings; `groupID` nil for manual assignment only.
    ///   - onRebalance: called on the polling thread before an assignment change is applied.
    ///   - startOffsets: called after `onRebalance` for an assignment, with the partitions assigned: where to
    ///     start reading those it returns (the others start from their committed offsets).
    ///   - onError: called for client-level errors (for example all brokers down); may be any thread.
    ///   - onLog: librdkafka's log lines; any thread. When nil, librdkafka logs to standard error.
    public init(
        configuration: KafkaConsumerConfiguration,
        onRebalance: ((RebalanceEvent) -> Void)? = nil,
        startOffsets: (([TopicPartition]) -> [TopicPartition])? = nil,
        onError: (@Sendable (KafkaError) -> Void)? = nil,
        onLog: (@Sendable (KafkaLogRecord) -> Void)? = nil
    ) throws(KafkaError) {
        let callbacks = ClientCallbacks()
        callbacks.isConsumer = true
        callbacks.onRebalance = onRebalance
        callbacks.startOffsets = startOffsets
        callbacks.onError = onError
        callbacks.onLog = onLog
        let conf = try makeConf(configuration.entries())
        handle = try KafkaHandle(kind: .consumer, conf: conf, callbacks: callbacks)
        // Route the main queue (callbacks, errors) to the consumer queue, so one poll serves everything.
        try check(rd_kafka_poll_set_consumer(handle.raw), "poll_set_consumer")
        queue = rd_kafka_queue_get_consumer(handle.raw)
    }

    deinit {
        lastBatch?.clear()
        if !isClosed { _ = rd_kafka_consumer_close(handle.raw) }
        rd_kafka_queue_destroy(queue)
    }

    /// Joins the group and subscribes to `topics`.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = PartitionList.make(topics.map { TopicPartition(topic: $0, partition: CRdKafka_PARTITION_UA) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_subscribe(handle.raw, list), "subscribe")
    }

    /// Replaces the assignment (no group); each partition starts at its `offset` (a real or logical offset).
    public func assign(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = PartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_assign(handle.raw, list), "assign")
    }

    /// Polls up to the batch's capacity of messages, waiting at most `timeout` for the first.
    /// Serves rebalance and error callbacks. Previously held messages are destroyed first.
    /// - Returns: the number of messages (some may carry an ``KafkaMessage/error``).
    @discardableResult
    public func poll(into batch: KafkaMessageBatch, timeout: Duration) throws(KafkaError) -> Int {
        batch.clear()
        lastBatch = batch
        let n = rd_kafka_consume_batch_queue(queue, Int32(timeout.milliseconds), batch.slots, batch.capacity)
        guard n >= 0 else { throw KafkaError(rd_kafka_last_error(), context: "consume batch") }
        batch.didFill(n)
        return n
    }

    /// Commits `offsets` (each the next offset to read) synchronously.
    public func commit(_ offsets: [TopicPartition]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = PartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_commit(handle.raw, list, 0), "commit")
        if let error = PartitionList.firstError(list) { throw error }
    }

    /// The group's committed offsets for `partitions` (``KafkaOffset/invalid`` where none).
    public func committed(_ partitions: [TopicPartition], timeout: Duration) throws(KafkaError) -> [TopicPartition] {
        let list = PartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_committed(handle.raw, list, Int32(timeout.milliseconds)), "committed")
        // A partition whose committed offset could not be read (for example one still being committed in a
        // transaction) would otherwise look as if it had none.
        if let error = PartitionList.firstError(list) { throw error }
        return PartitionList.read(list)
    }

    /// The current assignment.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        try check(rd_kafka_assignment(handle.raw, &list), "assignment")
        defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
        return PartitionList.read(list)
    }

    /// Moves the fetch positions of assigned partitions.
    public func seek(_ partitions: [TopicPartition], timeout: Duration) throws(KafkaError) {
        let list = PartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_seek_partitions(handle.raw, list, Int32(timeout.milliseconds)), "seek")
        if let error = PartitionList.firstError(list) { throw error }
    }

    /// Low and high watermarks of a partition, asked of the broker.
    public func watermarks(topic: String, partition: Int32, timeout: Duration) throws(KafkaError) -> (low: Int64, high: Int64) {
        try handle.watermarks(topic: topic, partition: partition, timeout: timeout)
    }

    /// The earliest offsets whose message timestamps are ≥ the given ones (each partition's `offset` holds a
    /// timestamp in milliseconds); ``KafkaOffset/end`` where none is.
    public func offsetsForTimes(_ partitions: [TopicPartition], timeout: Duration) throws(KafkaError) -> [TopicPartition] {
        let list = PartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_offsets_for_times(handle.raw, list, Int32(timeout.milliseconds)), "offsets_for_times")
        if let error = PartitionList.firstError(list) { throw error }
        return PartitionList.read(list)
    }

    /// The watermarks librdkafka last saw in fetch responses for a partition: local, never a broker call.
    /// - Returns: nil while unknown (nothing fetched yet).
    public func cachedWatermarks(topic: String, partition: Int32) -> (low: Int64, high: Int64)? {
        var low: Int64 = 0
        var high: Int64 = 0
        guard rd_kafka_get_watermark_offsets(handle.raw, topic, partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
              high >= 0 else { return nil }
        return (low, high)
    }

    /// The partition count of `topic`.
    public func partitionCount(topic: String, timeout: Duration) throws(KafkaError) -> Int {
        try handle.partitionCount(topic: topic, timeout: timeout)
    }

    /// The group metadata to pass to ``KafkaProducer/sendOffsetsToTransaction(_:groupMetadata:timeout:)``.
    public func groupMetadata() throws(KafkaError) -> KafkaGroupMetadata {
        guard let raw = rd_kafka_consumer_group_metadata(handle.raw) else {
            throw KafkaError(code: .state, message: "consumer has no group metadata (no group.id?)")
        }
        return KafkaGroupMetadata(raw: raw)
    }

    /// The fatal error that made this consumer unusable, if any.
    public var currentFatalError: KafkaError? { handle.currentFatalError() }

    /// Leaves the group (serving the final revoke) and stops fetching. Destroys the messages of the batch last
    /// polled into first (librdkafka's close waits for them). Idempotent.
    public func close() throws(KafkaError) {
        guard !isClosed else { return }
        isClosed = true
        lastBatch?.clear()
        try check(rd_kafka_consumer_close(handle.raw), "close")
    }
}

/// A consumer's group metadata (`rd_kafka_consumer_group_metadata_t`), destroyed once in `deinit`.
public final class KafkaGroupMetadata: @unchecked Sendable {
    let raw: OpaquePointer
    init(raw: OpaquePointer) { self.raw = raw }
    deinit { rd_kafka_consumer_group_metadata_destroy(raw) }
}
