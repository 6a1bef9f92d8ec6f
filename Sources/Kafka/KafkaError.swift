import CRdKafka

/// An error reported by librdkafka or by this wrapper, carrying librdkafka's own message.
///
/// librdkafka classifies errors three ways, and so does this type:
/// - ``isRetriable``: the operation may succeed if repeated (a broker was unreachable, a request timed out);
/// - ``isFatal``: the client instance is unusable (for example a fenced transactional producer) and must be
///   destroyed; a process typically exits and lets its orchestrator restart it;
/// - ``isTransactionAbortable``: the current transaction must be aborted, after which the producer is usable again.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// A librdkafka response code (`rd_kafka_resp_err_t`), extensible as a set of static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let noError = Code(rawValue: RD_KAFKA_RESP_ERR_NO_ERROR.rawValue)
        public static let invalidConfiguration = Code(rawValue: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue)
        public static let queueFull = Code(rawValue: RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue)
        public static let timedOut = Code(rawValue: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue)
        public static let transport = Code(rawValue: RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
        public static let allBrokersDown = Code(rawValue: RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue)
        public static let partitionEOF = Code(rawValue: RD_KAFKA_RESP_ERR__PARTITION_EOF.rawValue)
        public static let messageTimedOut = Code(rawValue: RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue)
        public static let fatal = Code(rawValue: RD_KAFKA_RESP_ERR__FATAL.rawValue)
        public static let unknownTopicOrPartition = Code(rawValue: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue)
        public static let topicAlreadyExists = Code(rawValue: RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.rawValue)
        public static let state = Code(rawValue: RD_KAFKA_RESP_ERR__STATE.rawValue)
        public static let fenced = Code(rawValue: RD_KAFKA_RESP_ERR__FENCED.rawValue)
        public static let producerFenced = Code(rawValue: RD_KAFKA_RESP_ERR_PRODUCER_FENCED.rawValue)

        /// librdkafka's symbolic name, such as `_QUEUE_FULL`.
        public var name: String { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue))) }
        public var description: String { name }
    }

    public var code: Code
    /// librdkafka's message (or this wrapper's); never contains configuration values.
    public var message: String
    public var isRetriable: Bool
    public var isFatal: Bool
    public var isTransactionAbortable: Bool
    public var file: String
    public var line: UInt

    public init(
        code: Code, message: String, isRetriable: Bool = false, isFatal: Bool = false,
        isTransactionAbortable: Bool = false, file: String = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.isTransactionAbortable = isTransactionAbortable
        self.file = file
        self.line = line
    }

    public var description: String {
        var flags: [String] = []
        if isFatal { flags.append("fatal") }
        if isRetriable { flags.append("retriable") }
        if isTransactionAbortable { flags.append("abortable") }
        let suffix = flags.isEmpty ? "" : " [\(flags.joined(separator: ","))]"
        return "Kafka error \(code.name): \(message)\(suffix)"
    }

    /// Wraps a plain response code, classifying it as librdkafka documents.
    init(_ err: rd_kafka_resp_err_t, context: String? = nil, file: String = #fileID, line: UInt = #line) {
        let text = String(cString: rd_kafka_err2str(err))
        self.init(
            code: Code(rawValue: err.rawValue),
            message: context.map { "\($0): \(text)" } ?? text,
            isRetriable: Self.retriableCodes.contains(err.rawValue),
            isFatal: err == RD_KAFKA_RESP_ERR__FATAL,
            file: file, line: line)
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, context: String? = nil, file: String = #fileID, line: UInt = #line) {
        defer { rd_kafka_error_destroy(error) }
        let text = rd_kafka_error_string(error).map { String(cString: $0) } ?? "unknown error"
        self.init(
            code: Code(rawValue: rd_kafka_error_code(error).rawValue),
            message: context.map { "\($0): \(text)" } ?? text,
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isTransactionAbortable: rd_kafka_error_txn_requires_abort(error) != 0,
            file: file, line: line)
    }

    static func configuration(_ message: String, file: String = #fileID, line: UInt = #line) -> KafkaError {
        KafkaError(code: .invalidConfiguration, message: message, file: file, line: line)
    }

    private static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    ].reduce(into: Set<Int32>()) { $0.insert($1.rawValue) }
}

/// The one choke point that turns a librdkafka response code into a thrown ``KafkaError``.
@inline(__always)
func check(_ err: rd_kafka_resp_err_t, _ context: @autoclosure () -> String? = nil,
           file: String = #fileID, line: UInt = #line) throws(KafkaError) {
    guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
    throw KafkaError(err, context: context(), file: file, line: line)
}

/// Throws (and destroys) an `rd_kafka_error_t` if one was returned.
@inline(__always)
func check(_ error: OpaquePointer?, _ context: @autoclosure () -> String? = nil,
           file: String = #fileID, line: UInt = #line) throws(KafkaError) {
    guard let error else { return }
    throw KafkaError(consuming: error, context: context(), file: file, line: line)
}

/// Reads a NUL-terminated C error buffer filled by librdkafka.
func string(fromErrorBuffer buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
