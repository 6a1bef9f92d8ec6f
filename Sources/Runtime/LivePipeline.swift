import Engine
import Events
import Kafka
import Margin
public import Logging

/// `backstop run`: the instrument and account stages on live Kafka input, with exactly-once (or at-least-once)
/// output.
///
/// Everything runs on the thread that calls ``run(until:)`` — a thread the caller dedicates to it, never the Swift
/// cooperative pool: poll a batch, decode in place, merge and process, produce, and every `commit_interval`
/// commit the outputs and the consumed offsets together in one Kafka transaction (KIP-447 style, with the
/// consumer's group metadata). Rebalance callbacks run inside the poll, on the same thread.
public final class LivePipeline {
    let configuration: BackstopConfiguration
    let logger: Logger
    var stage: InstrumentStage
    let consumer: KafkaConsumer
    /// Asks the broker for other processes' sources' high watermarks, records of open transactions included
    /// (read_uncommitted: the group consumer's read_committed query would answer the last stable offset).
    let watermarkProbe: KafkaConsumer
    let instruments: GlobalTable
    var output: OutputProducer
    let producer: KafkaProducer
    let groupMetadata: KafkaGroupMetadata?
    let batch = KafkaMessageBatch(capacity: 4096)

    let accounts: AccountDriver
    /// Where this process's marks and fills stand, per topic and partition (the offset after the last delivered).
    let delivered: DeliveredEnds
    /// The `quotes` partitions assigned here: the instrument tasks whose progress the account side knows exactly.
    var localSources: Set<Int32> = []
    private var sourceCount = 0

    private enum Route { case instrument(InputKind), account(AccountSource) }
    private var routes: [OpaquePointer: Route?] = [:]
    /// Per input topic, the partitions whose end librdkafka reported after their last message, with the position
    /// it reported (past any transaction markers): everything the broker had there has been read. (Not the
    /// cached high watermark alone: some brokers report the first offset of the last batch + 1, which a consumer
    /// passes while that batch is still on its way; see ``endPosition(_:_:now:)``.)
    var atEnd: [String: [Int32: (position: Int64, since: Int64)]] = [:]
    /// Per instrument task and input (2 × partition + kind), the last answer of
    /// ``canSkip(partition:kind:now:maxIdle:)`` and the loop (its `now`) it holds for.
    struct SkipMemo { var now: Int64 = .min; var skip = false }
    var skipMemo: [SkipMemo] = []
    /// Inputs already reported as going on past records the broker held but could not yet serve.
    var reportedPending: Set<String> = []
    /// Source points recorded at the last commit and not yet written to the progress topic, and the last written.
    var unpublishedProgress: [Int32: AccountDriver.SourcePoint] = [:]
    var publishedProgress: [Int32: AccountDriver.SourcePoint] = [:]
    /// A failure inside a rebalance callback (a task's restore), raised by the run loop.
    var rebalanceError: (any Error)?
    var lastArrival: [Int32: [Int64]] = [:]
    /// Per partition and input, the next offset to be enqueued (last enqueued + 1).
    var nextOffset: [Int32: [Int64]] = [:]
    var lastCommitted: [TopicPartition: Int64] = [:]
    /// Per instrument input topic and partition being replayed to rebuild its task's state
    /// (`kafka.instrument_restore: replay`): the committed offset, below which outputs were written already.
    var replayEnds: [String: [Int32: Int64]] = [:]
    /// Instrument tasks of partitions revoked after a successful commit, kept in case the next assignment gives them
    /// back (an eager rebalance revokes everything): state, merge buffers and read positions.
    struct ParkedTask { var task: DetachedTask; var next: [Int64] }
    var parked: [Int32: ParkedTask] = [:]
    /// Where the partitions being assigned start (set by the rebalance handler, taken right after it).
    var assignmentStarts: [TopicPartition] = []
    /// Per source of another process, the last answer to "does the broker have more than its drained claim?":
    /// nil when the broker could not be asked.
    struct RemoteCheck { var ends: [Int64]; var at: Int64; var drained: Bool? }
    var remoteChecks: [Int32: RemoteCheck] = [:]
    var outputsSinceCommit = 0
    /// The commit under way, if any, and the outputs held back until it finishes (see `LivePipeline+Commit`).
    var pendingCommit: PendingCommit?
    var held: [OutputRecord] = []
    var progressCheckpoint: ProgressCheckpoint?
    /// When the last commit began (monotonic µs).
    var commitBegan: Int64 = 0
    private var consumed = 0
    private let router: RebalanceRouter
    /// Stops once no input arrived for this long after the first (benchmarks and bounded runs). Default: nil.
    public var stopWhenIdleMicros: Int64?

    /// What a run did.
    public struct Statistics: Sendable {
        /// Input messages consumed: quotes, trades and account events (not the fills the run reads back).
        public var consumed = 0
        /// From the first input message polled to the end of processing of the last one.
        public var activeMicros: Int64 = 0
        /// Inputs sent to the DLQ.
        public var rejected = 0
    }
    let timeout: Duration = .seconds(30)

    /// Process metrics and readiness, served over HTTP.
    let metrics: MetricsRegistry

    /// Connects to the brokers, joins the group, and (exactly-once) initializes transactions.
    /// - Throws: ``KafkaError`` or ``ConfigError`` when the set-up fails.
    public init(configuration: BackstopConfiguration, logger: Logger, metrics: MetricsRegistry = MetricsRegistry()) throws {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        stage = InstrumentStage(configuration: configuration.instrumentStage)
        let common = KafkaConfiguration(bootstrapServers: configuration.kafka.brokers, clientID: "backstop",
                                        properties: configuration.kafka.producerLibrdkafka)
        var consumerCommon = common
        consumerCommon.properties = configuration.kafka.consumerLibrdkafka
        var log = KafkaLogBridge(logger: logger)
        log.onClientError = { error in
            if error.code == .allBrokersDown || error.isFatal { metrics.setReady("broker", false) }
        }

        var producerConfiguration = KafkaProducerConfiguration(common: common)
        if configuration.kafka.guarantee == .exactlyOnce {
            producerConfiguration.transactionalID = configuration.kafka.transactionalID
                ?? "\(configuration.kafka.group)-\(hostName())-\(processID())"
        }
        let delivered = DeliveredEnds(topics: [configuration.topics.marks, configuration.topics.fills])
        self.delivered = delivered
        producer = try KafkaProducer(configuration: producerConfiguration, onDelivery: { delivered.record($0) },
                                     onError: log.error, onLog: log.log)
        output = OutputProducer(producer: producer, topics: configuration.topics)

        var consumerConfiguration = KafkaConsumerConfiguration(common: consumerCommon, groupID: configuration.kafka.group)
        // The range assignor gives partition p of every subscribed topic to the same member, which the
        // co-partitioned tasks need (quotes/p and trades/p merge in one task); cooperative-sticky does not.
        consumerConfiguration.assignmentStrategy = "range"
        consumerConfiguration.isolationLevel = .readCommitted
        consumerConfiguration.isPartitionEOFEnabled = true
        let router = RebalanceRouter()
        self.router = router
        consumer = try KafkaConsumer(configuration: consumerConfiguration,
                                     onRebalance: { router.target?.handleRebalance($0) },
                                     startOffsets: { _ in router.target?.takeAssignmentStarts() ?? [] },
                                     onError: log.error, onLog: log.log)
        var probeConfiguration = KafkaConsumerConfiguration(common: consumerCommon, groupID: nil)
        probeConfiguration.isolationLevel = .readUncommitted
        watermarkProbe = try KafkaConsumer(configuration: probeConfiguration, onLog: log.log)
        instruments = try GlobalTable(topic: configuration.topics.instruments, common: consumerCommon, logger: logger)
        accounts = try AccountDriver(configuration: configuration, common: consumerCommon, logger: logger)
        if configuration.kafka.guarantee == .exactlyOnce {
            try producer.initTransactions(timeout: timeout)
            groupMetadata = try consumer.groupMetadata()
            try producer.beginTransaction()
        } else {
            groupMetadata = nil
        }
        router.target = self
    }

    /// Runs until `stop` is raised; then commits what was processed, leaves the group and returns.
    /// - Throws: a fatal ``KafkaError`` (for example a fenced producer): the process should exit non-zero.
    @discardableResult
    public func run(until stop: StopSignal) throws -> Statistics {
        let names = configuration.topics
        for topic in [names.quotes, names.trades, names.instruments, names.accounts, names.fills, names.marks] {
            _ = try consumer.partitionCount(topic: topic, timeout: timeout)  // fails clearly if topics are missing
        }
        sourceCount = try consumer.partitionCount(topic: names.quotes, timeout: timeout)
        try ensureInternalTopics(partitions: try consumer.partitionCount(topic: names.accounts, timeout: timeout))
        try instruments.restore(applyInstrument)
        try accounts.restoreMarks()
        metrics.setReady("restored", true)
        metrics.setReady("broker", true)
        try consumer.subscribe([names.quotes, names.trades, names.accounts, names.fills])
        logger.info("backstop running", metadata: [
            "brokers": "\(configuration.kafka.brokers)", "group": "\(configuration.kafka.group)",
            "guarantee": "\(configuration.kafka.guarantee.rawValue)",
        ])
        commitBegan = monotonicMicros()
        var lastReport = commitBegan
        var lastMetrics = commitBegan
        var outputs: [OutputRecord] = []
        let maxIdle = configuration.kafka.maxIdleMicros
        var firstInput: Int64?
        var lastInput: Int64 = 0
        var lastWork: Int64 = 0
        while !stop.isRaised {
            if let error = rebalanceError { throw error }
            let busy = stage.buffered > 0 || accounts.buffered > 0
            let wait: Duration = pendingCommit != nil ? .milliseconds(1) : busy ? .milliseconds(5) : .milliseconds(100)
            let n = try consumer.poll(into: batch, timeout: wait)
            let now = monotonicMicros()
            var counts: [String: Int] = [:]
            for i in 0..<n {
                if let topic = enqueue(batch[i], now: now, emit: { outputs.append($0) }) { counts[topic, default: 0] += 1 }
            }
            let inputs = counts.values.reduce(0, +)  // messages, not end-of-partition events
            consumed += inputs - (counts[names.fills] ?? 0)
            if inputs > 0 {
                if firstInput == nil { firstInput = now }
                lastInput = now
            } else if let idle = stopWhenIdleMicros, firstInput != nil, now - lastInput >= idle, !busy {
                break
            }
            for (topic, count) in counts { metrics.add("backstop_events_in_total", ["topic", topic], Double(count)) }
            try instruments.poll(applyInstrument)
            stage.drain(canSkip: { p, kind in self.canSkip(partition: p, kind: kind, now: now, maxIdle: maxIdle) },
                        emit: { if self.replayEnds.isEmpty || !self.isReplayed($0.origin) { outputs.append($0) } })
            try accounts.pollMarks(now: now, emit: { outputs.append($0) })
            try accounts.pollProgress()
            accounts.release(sourceCount: sourceCount,
                             canSkipAccounts: { self.canSkipAccounts(partition: $0, now: now, maxIdle: maxIdle) },
                             stillDrained: { self.stillDrained($0, at: $1, now: now) },
                             emit: { outputs.append($0) })
            try send(outputs)
            outputs.removeAll(keepingCapacity: true)
            producer.poll()
            if inputs > 0 {
                lastWork = monotonicMicros()
                metrics.observeLatency(seconds: Double(lastWork - now) / 1e6)
            }
            try advanceCommit(now: now)
            if configuration.kafka.guarantee == .atLeastOnce { advanceProgress(now: now) }
            if now - lastMetrics >= 1_000_000 {
                publishMetrics()
                lastMetrics = now
            }
            if now - lastReport >= 10_000_000 {
                report()
                lastReport = now
            }
        }
        logger.info("stopping: committing and leaving the group")
        try commit()
        try consumer.close()
        try producer.flush(timeout: timeout)
        report()
        return Statistics(consumed: consumed, activeMicros: firstInput.map { lastWork - $0 } ?? 0,
                          rejected: output.produced[.dlq] ?? 0)
    }

    /// Creates the internal topics when they do not exist: the account changelog (compacted, one partition per
    /// account task) and the instrument tasks' progress (compacted, key = task).
    private func ensureInternalTopics(partitions: Int) throws {
        let admin = try Topics.admin(configuration, logger: logger)
        let topic = Topics.newTopic(accounts.changelog, compacted: true, partitions: partitions)
        let progress = Topics.newTopic(accounts.progressTopic, compacted: true, partitions: partitions)
        for (name, error) in try admin.createTopics([topic, progress], timeout: timeout) where error.code != .topicAlreadyExists {
            throw ConfigError("kafka.group", "cannot create \(name): \(error.message)")
        }
        let existing = try admin.partitionCount(topic: topic.name, timeout: timeout)
        guard existing == partitions else {
            throw ConfigError("kafka.group", "changelog \(topic.name) has \(existing) partitions, \(configuration.topics.accounts) has \(partitions): they must match")
        }
    }

    private func applyInstrument(_ update: GlobalTable.Update) {
        stage.apply(update, logger: logger)
        if let instrument = stage.instruments[update.key] { accounts.define(instrument) }
    }

    /// Decodes and buffers one message. - Returns: its topic, nil for an error or a foreign topic.
    private func enqueue(_ message: KafkaMessage, now: Int64, emit: (OutputRecord) -> Void) -> String? {
        if let error = message.error {
            if error.code == .partitionEOF {
                atEnd[message.topic, default: [:]][message.partition] = (message.offset, now)
            } else {
                logger.warning("consumer error", metadata: ["error": "\(error)"])
            }
            return nil
        }
        guard let handle = message.topicHandle, let route = route(of: handle, message) else { return nil }
        atEnd[message.topic]?[message.partition] = nil
        let kind: InputKind
        switch route {
        case .account(let source):
            accounts.enqueue(message, source: source, now: now, emit: emit)
            return source == .accounts ? configuration.topics.accounts : configuration.topics.fills
        case .instrument(let k):
            kind = k
        }
        let partition = message.partition
        let origin = Origin(topic: configuration.topics.name(of: kind), partition: partition, offset: message.offset)
        stage.enqueue(kind, partition: partition, origin: origin, key: message.key, value: message.value)
        lastArrival[partition, default: [now, now]][kind.rawValue] = now
        nextOffset[partition, default: [-1, -1]][kind.rawValue] = message.offset + 1
        return configuration.topics.name(of: kind)
    }

    /// Gauges and totals for `/metrics`: outputs and rejections, lag per assigned partition, state, triggers.
    private func publishMetrics() {
        let names = configuration.topics
        for (topic, n) in output.produced {
            metrics.setTotal("backstop_events_out_total", ["topic", names.name(of: topic)], Double(n))
        }
        for (reason, n) in stage.rejectedByReason { metrics.setTotal("backstop_dlq_total", ["reason", reason.rawValue, "stage", "instrument"], Double(n)) }
        var lag: [([String], Double)] = []
        for (partition, offsets) in nextOffset.sorted(by: { $0.key < $1.key }) {
            for kind in InputKind.allCases where offsets[kind.rawValue] >= 0 {
                let topic = names.name(of: kind)
                if let w = consumer.cachedWatermarks(topic: topic, partition: partition) {
                    lag.append((["topic", topic, "partition", String(partition)], Double(max(0, w.high - offsets[kind.rawValue]))))
                }
            }
        }
        metrics.replace("backstop_consumer_lag", lag)
        metrics.set("backstop_state_entries", ["stage", "instrument"], Double(stage.instrumentCount))
        metrics.set("backstop_state_entries", ["stage", "account"], Double(accounts.accountCount))
        let levels = accounts.levelCounts()
        for level in MarginLevel.allCases { metrics.set("backstop_accounts", ["level", level.rawValue], Double(levels[level] ?? 0)) }
        for (reason, n) in accounts.rejected {
            metrics.setTotal("backstop_dlq_total", ["reason", reason.rawValue, "stage", "account"], Double(n))
        }
        var active: [([String], Double)] = []
        for (rule, bySeverity) in stage.activeTriggers().sorted(by: { $0.key < $1.key }) {
            for (severity, n) in bySeverity.sorted(by: { $0.key < $1.key }) {
                active.append((["rule", rule, "severity", String(severity)], Double(n)))
            }
        }
        metrics.replace("backstop_active_triggers", active)
        metrics.set("backstop_buffered_inputs", ["stage", "instrument"], Double(stage.buffered))
        metrics.set("backstop_buffered_inputs", ["stage", "account"], Double(accounts.buffered))
    }

    private func route(of handle: OpaquePointer, _ message: KafkaMessage) -> Route? {
        if let cached = routes[handle] { return cached }
        let topic = message.topic, names = configuration.topics
        let route: Route? = topic == names.quotes ? .instrument(.quotes)
            : topic == names.trades ? .instrument(.trades)
            : topic == names.accounts ? .account(.accounts)
            : topic == names.fills ? .account(.fills) : nil
        routes[handle] = route
        return route
    }

    private func report() {
        var rejected: Logger.Metadata = [:]
        for (reason, n) in stage.rejectedByReason { rejected[reason.rawValue] = "\(n)" }
        logger.info("progress", metadata: [
            "consumed": "\(consumed)", "metrics_out": "\(output.produced[.liquidityMetrics] ?? 0)",
            "dlq_out": "\(output.produced[.dlq] ?? 0)", "dlq_by_reason": .dictionary(rejected),
            "buffered": "\(stage.buffered)", "delivered": "\(producer.deliveredCount)",
        ])
    }
}

/// Per topic and partition, the offset after the last message delivered (delivery reports, on the polling thread).
final class DeliveredEnds: @unchecked Sendable {
    private let topics: Set<String>
    private(set) var ends: [String: [Int32: Int64]] = [:]

    init(topics: [String]) { self.topics = Set(topics) }

    func record(_ report: DeliveryReport) {
        guard report.error == nil, report.offset >= 0, topics.contains(report.topic) else { return }
        ends[report.topic, default: [:]][report.partition] = max(ends[report.topic]?[report.partition] ?? 0, report.offset + 1)
    }
}

/// Lets the consumer's rebalance callback reach the pipeline without a reference cycle.
final class RebalanceRouter: @unchecked Sendable {
    weak var target: LivePipeline?
}
