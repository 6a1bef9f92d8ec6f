import CRdKafka

/// librdkafka configuration: a few typed settings backstop relies on, plus any librdkafka key passed through.
///
/// Typed settings are written first; ``properties`` is applied after them, so an explicit librdkafka key always
/// wins. Values are never logged or put into error messages (they may hold credentials); errors name the key only.
public struct KafkaConfiguration: Sendable, Equatable {
    /// `bootstrap.servers`. Default: `127.0.0.1:9092`.
    public var bootstrapServers: String
    /// `client.id`. Default: `backstop`.
    public var clientID: String
    /// Any librdkafka property (`security.protocol`, `sasl.*`, `ssl.*`, tuning), applied last.
    public var properties: [String: String]

    public init(bootstrapServers: String = "127.0.0.1:9092", clientID: String = "backstop",
                properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    /// The effective key/value list, typed settings first.
    func entries(adding typed: [(String, String)]) -> [(String, String)] {
        var result: [(String, String)] = [("bootstrap.servers", bootstrapServers), ("client.id", clientID)]
        result.append(contentsOf: typed)
        result.append(contentsOf: properties.sorted { $0.key < $1.key })
        return result
    }
}

/// Consumer settings. Offsets are committed by the application (or in a transaction), never automatically.
public struct KafkaConsumerConfiguration: Sendable, Equatable {
    public var common: KafkaConfiguration
    /// `group.id`; nil for a consumer that only uses manual assignment.
    public var groupID: String?
    /// `session.timeout.ms`. Default: 45 s.
    public var sessionTimeout: Duration = .seconds(45)
    /// `isolation.level`. Default: `read_committed`.
    public var isolationLevel: IsolationLevel = .readCommitted
    /// `auto.offset.reset`. Default: `earliest`.
    public var autoOffsetReset: OffsetReset = .earliest
    /// `partition.assignment.strategy`. Default: `cooperative-sticky`.
    public var assignmentStrategy: String = "cooperative-sticky"
    /// `fetch.queue.backoff.ms`: how long the fetcher backs off once the local queue is full. librdkafka's default
    /// (1 s) stalls a consumer that is slower than the fetcher; Default here: 10 ms.
    public var fetchQueueBackoff: Duration = .milliseconds(10)
    /// `enable.partition.eof`. Default: false.
    public var isPartitionEOFEnabled = false
    /// `fetch.wait.max.ms`: how long the broker may hold a fetch that found no data. Default: nil (librdkafka's
    /// 500 ms). Kafka answers as soon as data arrives; some brokers hold the fetch to the end of this timer.
    public var fetchWaitMax: Duration?

    public enum IsolationLevel: String, Sendable { case readCommitted = "read_committed", readUncommitted = "read_uncommitted" }
    public enum OffsetReset: String, Sendable { case earliest, latest, error }

    public init(common: KafkaConfiguration, groupID: String?) {
        self.common = common
        self.groupID = groupID
    }

    func entries() -> [(String, String)] {
        var typed: [(String, String)] = [
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("session.timeout.ms", String(sessionTimeout.milliseconds)),
            ("isolation.level", isolationLevel.rawValue),
            ("auto.offset.reset", autoOffsetReset.rawValue),
            ("fetch.queue.backoff.ms", String(fetchQueueBackoff.milliseconds)),
            ("enable.partition.eof", isPartitionEOFEnabled ? "true" : "false"),
        ]
        if let fetchWaitMax { typed.append(("fetch.wait.max.ms", String(fetchWaitMax.milliseconds))) }
        if let groupID {
            typed.append(("group.id", groupID))
            typed.append(("partition.assignment.strategy", assignmentStrategy))
        } else {
            // A group-less consumer still needs an id for librdkafka; it never joins a group.
            typed.append(("group.id", "\(common.clientID)-unassigned"))
        }
        return common.entries(adding: typed)
    }
}

/// Producer settings.
public struct KafkaProducerConfiguration: Sendable, Equatable {
    public var common: KafkaConfiguration
    /// `transactional.id`; set for exactly-once processing. Default: nil.
    public var transactionalID: String?
    /// `enable.idempotence`. Default: true.
    public var isIdempotenceEnabled = true
    /// `linger.ms`. Default: 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// `partitioner`. Default: `murmur2_random`, the Java client's partitioner, so keys land where Java puts them.
    public var partitioner = "murmur2_random"
    /// `message.timeout.ms`: delivery gives up after this long. Default: 5 minutes.
    public var messageTimeout: Duration = .seconds(300)
    /// `transaction.timeout.ms`. Default: 60 s.
    public var transactionTimeout: Duration = .seconds(60)

    public init(common: KafkaConfiguration, transactionalID: String? = nil) {
        self.common = common
        self.transactionalID = transactionalID
    }

    func entries() -> [(String, String)] {
        var typed: [(String, String)] = [
            ("enable.idempotence", isIdempotenceEnabled || transactionalID != nil ? "true" : "false"),
            ("linger.ms", String(linger.milliseconds)),
            ("partitioner", partitioner),
        ]
        // librdkafka requires message.timeout.ms ≤ transaction.timeout.ms for a transactional producer.
        let timeout = transactionalID == nil ? messageTimeout : min(messageTimeout, transactionTimeout)
        typed.append(("message.timeout.ms", String(timeout.milliseconds)))
        if let transactionalID {
            typed.append(("transactional.id", transactionalID))
            typed.append(("transaction.timeout.ms", String(transactionTimeout.milliseconds)))
        }
        return common.entries(adding: typed)
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Builds an `rd_kafka_conf_t`; the caller owns it until `rd_kafka_new` succeeds.
func makeConf(_ entries: [(String, String)]) throws(KafkaError) -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else { throw KafkaError.configuration("rd_kafka_conf_new failed") }
    var errstr = [CChar](repeating: 0, count: 512)
    for (key, value) in entries {
        let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
        guard result == RD_KAFKA_CONF_OK else {
            rd_kafka_conf_destroy(conf)
            if result == RD_KAFKA_CONF_UNKNOWN {
                throw KafkaError.configuration("unknown librdkafka property 'kafka.\(key)'")
            }
            // librdkafka's reason may quote the value: it never reaches the message (values may be secrets).
            let reason = isSensitive(key) ? "rejected" : redacting(value, in: string(fromErrorBuffer: errstr))
            throw KafkaError.configuration("invalid value for 'kafka.\(key)': \(reason)")
        }
    }
    return conf
}

/// `text` with every occurrence of `value` replaced by `<redacted>`.
func redacting(_ value: String, in text: String) -> String {
    guard !value.isEmpty else { return text }
    return text.split(separator: value, omittingEmptySubsequences: false).joined(separator: "<redacted>")
}

/// Whether a librdkafka property may hold a credential.
func isSensitive(_ key: String) -> Bool {
    ["password", "secret", "token", "jaas", ".key", "credentials"].contains { key.contains($0) }
}
