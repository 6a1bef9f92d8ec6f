import CRdKafka

/// A topic to create.
public struct NewTopic: Sendable, Equatable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic configs such as `cleanup.policy=compact`.
    public var configs: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// Topic administration over librdkafka's Admin API. Calls block: use a dedicated thread.
public final class KafkaAdmin: @unchecked Sendable {
    private let handle: KafkaHandle

    public init(configuration: KafkaConfiguration, onLog: (@Sendable (KafkaLogRecord) -> Void)? = nil) throws(KafkaError) {
        let callbacks = ClientCallbacks()
        callbacks.onLog = onLog
        handle = try KafkaHandle(kind: .producer, conf: try makeConf(configuration.entries(adding: [])), callbacks: callbacks)
    }

    /// Creates `topics`. - Returns: the error of each topic that was not created (absent: created), such as
    ///   ``KafkaError/Code/topicAlreadyExists``.
    public func createTopics(_ topics: [NewTopic], timeout: Duration) throws(KafkaError) -> [String: KafkaError] {
        guard !topics.isEmpty else { return [:] }
        var errstr = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for t in newTopics { rd_kafka_NewTopic_destroy(t) } }
        for topic in topics {
            guard let nt = rd_kafka_NewTopic_new(topic.name, Int32(topic.partitions), Int32(topic.replicationFactor),
                                                 &errstr, errstr.count) else {
                throw KafkaError.configuration("topic \(topic.name): \(string(fromErrorBuffer: errstr))")
            }
            newTopics.append(nt)
            for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                try check(rd_kafka_NewTopic_set_config(nt, key, value), "topic \(topic.name) config \(key)")
            }
        }
        let options = rd_kafka_AdminOptions_new(handle.raw, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        try check(rd_kafka_AdminOptions_set_operation_timeout(options, Int32(timeout.milliseconds), &errstr, errstr.count),
                  "admin options")
        let queue = rd_kafka_queue_new(handle.raw)
        defer { rd_kafka_queue_destroy(queue) }
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(handle.raw, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, Int32(timeout.milliseconds + 1000)) else {
            throw KafkaError(code: .timedOut, message: "CreateTopics timed out", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        try check(rd_kafka_event_error(event), "CreateTopics")
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(code: .state, message: "unexpected admin event")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [:] }
        var failures: [String: KafkaError] = [:]
        var reported = Set<String>()
        for i in 0..<count {
            let r = results[i]
            let name = String(cString: rd_kafka_topic_result_name(r))
            let err = rd_kafka_topic_result_error(r)
            reported.insert(name)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let message = rd_kafka_topic_result_error_string(r).map { String(cString: $0) }
                failures[name] = KafkaError(err, context: message.map { "\(name): \($0)" } ?? name)
            }
        }
        for topic in topics where !reported.contains(topic.name) {
            failures[topic.name] = KafkaError(code: .state, message: "\(topic.name): no result from the broker")
        }
        return failures
    }

    /// The partition count of `topic`, from broker metadata.
    public func partitionCount(topic: String, timeout: Duration) throws(KafkaError) -> Int {
        try handle.partitionCount(topic: topic, timeout: timeout)
    }

    /// Names of the topics the cluster reports.
    public func topicNames(timeout: Duration) throws(KafkaError) -> [String] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        try check(rd_kafka_metadata(handle.raw, 1, nil, &metadata, Int32(timeout.milliseconds)), "metadata")
        defer { rd_kafka_metadata_destroy(metadata) }
        guard let md = metadata?.pointee, let topics = md.topics else { return [] }
        return (0..<Int(md.topic_cnt)).map { String(cString: topics[$0].topic) }
    }
}
