import Engine
import Events
import Kafka
import Liquidity
import Logging
import Margin

/// The live account stage (SPEC §1, §6): one ``AccountTask`` per assigned partition of the co-partitioned
/// `accounts`/`backstop-fills` topics, every task fed the whole `backstop-marks` table, and the event-time
/// frontier below which a task's buffered inputs are complete and may be applied in merge order.
///
/// ## The frontier
/// Marks and fills are written by instrument tasks — one per `quotes`/`trades` partition *q*, in this process or
/// another — each in its merge order, so a task's records come in non-decreasing `ts`. A task `p` may apply its
/// buffered inputs with `ts` below `min(accounts frontier of p, frontier of every source q)`:
/// - **A source** is known by its ``SourcePoint``s: at each commit a process records, for each of its instrument
///   tasks, the offsets up to which its marks and fills now stand in each partition and the task's event time.
///   Once task `p` has read its marks and `backstop-fills`/p up to a point's offsets, every later record of that
///   source has `ts` ≥ the point's event time. This process's points are known at once; other processes' arrive
///   through the compacted `<group>-instrument-progress` topic (written with the next commit, once the offsets are
///   known). No wall clock is involved, so the order is the backtest's whatever the processes' relative speed.
/// - **A drained source** — its point says it had nothing more to do, its inputs ending at given positions — sets
///   no bound while that still holds, asked when it matters: a local task must still have nothing and its inputs
///   end where they did; for another process's task the broker must have nothing beyond those positions (asked
///   after the inputs it would release were read). A point read minutes ago cannot vouch for a source that has
///   become busy since, whose fills are still on their way.
/// - **`accounts`/p**: the greatest `ts` read, or unbounded when the partition is at its end and idle for `max_idle`.
///
/// A record that still arrives below the frontier (an input accepted late upstream) is applied at once.
final class AccountDriver {
    private let configuration: BackstopConfiguration
    private let logger: Logger
    private let topics: TopicNames
    private(set) var tasks: [Int32: AccountTask] = [:]
    private var instruments: [String: Instrument] = [:]
    /// The latest mark of every instrument (the global table), with the input that caused it.
    private var marks: [String: (record: MarkRecord, origin: Origin)] = [:]
    private let marksConsumer: KafkaConsumer
    private let marksBatch = KafkaMessageBatch(capacity: 2048)
    private var marksPartitions = 0
    /// Per marks partition, the next offset to read and whether it reported its end since the last record.
    private var marksNext: [Int32: Int64] = [:]
    private var marksAtEnd: Set<Int32> = []
    /// Per account task, the next offsets read from `accounts`/p and `backstop-fills`/p, and the last arrival.
    private var next: [Int32: [Int64]] = [:]
    /// Per account task, the greatest `ts` of the account events read since it was assigned (its frontier).
    private var accountsMaxTs: [Int32: Int64] = [:]
    private var lastArrival: [Int32: [Int64]] = [:]
    /// Per source instrument task, its points in commit order: this process's from its own commits, other
    /// processes' from the progress topic.
    private var points: [Int32: [SourcePoint]] = [:]
    /// The instrument tasks of this process (their points come from its commits, not from the topic).
    private var localSources: Set<Int32> = []
    private let progressConsumer: KafkaConsumer
    private let progressBatch = KafkaMessageBatch(capacity: 1024)
    /// `<group>-instrument-progress`: each process's source points, one record per task and commit.
    let progressTopic: String
    /// The compacted changelog of the account tasks' state (SPEC §7): one partition per task, key = account, plus
    /// one progress record per task under ``progressKey``.
    let changelog: String
    static let progressKey = "\u{0}task"
    private let changelogConsumer: KafkaConsumer
    private let changelogBatch = KafkaMessageBatch(capacity: 4096)
    /// Marks of the last ``markRetentionMicros`` of event time, in arrival order with their keys: a task restored
    /// from the changelog is fed those after its last applied key, so a restart recomputes what it had not yet.
    private var recentMarks: [(key: AccountMergeKey, record: MarkRecord, origin: Origin)] = []
    private var recentHead = 0
    /// The progress record last written per task (unchanged progress is not written again).
    private var writtenProgress: [Int32: [UInt8]] = [:]
    private var newestMarkTs = Int64.min
    let markRetentionMicros: Int64
    private var decodeRejected: [RejectReason: Int] = [:]
    /// Account-stage inputs sent to the DLQ, by reason, since start.
    var rejected: [RejectReason: Int] {
        var all = decodeRejected
        let late = tasks.values.reduce(0) { $0 + $1.lateRejected }
        if late > 0 { all[.late, default: 0] += late }
        return all
    }

    init(configuration: BackstopConfiguration, common: KafkaConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        topics = configuration.topics
        var consumerConfiguration = KafkaConsumerConfiguration(common: common, groupID: nil)
        consumerConfiguration.isPartitionEOFEnabled = true
        consumerConfiguration.isolationLevel = .readCommitted
        // Small, latency-critical topics (a mark gates the account stage): an idle fetch is not left to wait out
        // librdkafka's 500 ms on a broker that holds it to the end (`kafka.consumer.fetch.wait.max.ms` overrides).
        consumerConfiguration.fetchWaitMax = .milliseconds(10)
        marksConsumer = try KafkaConsumer(configuration: consumerConfiguration, onLog: KafkaLogBridge(logger: logger).log)
        changelogConsumer = try KafkaConsumer(configuration: consumerConfiguration, onLog: KafkaLogBridge(logger: logger).log)
        changelog = Self.changelogTopic(configuration)
        progressConsumer = try KafkaConsumer(configuration: consumerConfiguration, onLog: KafkaLogBridge(logger: logger).log)
        progressTopic = Self.progressTopic(configuration)
        markRetentionMicros = max(60_000_000, configuration.instrumentStage.allowedLatenessMicros)
    }

    /// Reads `backstop-marks` to its end into the table (a restart's view of the market), then keeps reading.
    func restoreMarks() throws {
        marksPartitions = try marksConsumer.partitionCount(topic: topics.marks, timeout: .seconds(30))
        try marksConsumer.assign((0..<marksPartitions).map {
            TopicPartition(topic: topics.marks, partition: Int32($0), offset: KafkaOffset.beginning)
        })
        let all = Set(0..<Int32(marksPartitions))
        let restored = try marksConsumer.readToEnd(
            all, batch: marksBatch, deadline: monotonicMicros() + 60_000_000,
            timedOut: { ConfigError("topics.marks", "timed out restoring \(topics.marks)") },
            each: { take(mark: $0, emit: { _ in }) })
        marksAtEnd = all
        logger.info("marks table restored", metadata: ["records": "\(restored)", "instruments": "\(marks.count)"])
        let progressPartitions = try progressConsumer.partitionCount(topic: progressTopic, timeout: .seconds(30))
        try progressConsumer.assign((0..<progressPartitions).map {
            TopicPartition(topic: progressTopic, partition: Int32($0), offset: KafkaOffset.beginning)
        })
    }

    func define(_ instrument: Instrument) {
        instruments[instrument.symbol] = instrument
        for p in Array(tasks.keys) { tasks[p]!.stage.define(instrument) }
    }

    /// `<group>-instrument-progress`.
    static func progressTopic(_ configuration: BackstopConfiguration) -> String {
        "\(configuration.kafka.group)-instrument-progress"
    }

    /// `<group>-account-changelog`.
    static func changelogTopic(_ configuration: BackstopConfiguration) -> String {
        "\(configuration.kafka.group)-account-changelog"
    }

    /// Creates the task of a newly assigned partition: the instruments and the marks table as they stand, then its
    /// accounts and progress from its changelog partition, then the retained marks it has not applied yet.
    func assign(_ partition: Int32) throws {
        guard tasks[partition] == nil else { return }
        var task = AccountTask(configuration: configuration.margin,
                               allowedLateness: configuration.instrumentStage.allowedLatenessMicros)
        for instrument in instruments.values.sorted(by: { $0.symbol < $1.symbol }) { task.stage.define(instrument) }
        for (_, mark) in marks.sorted(by: { $0.key < $1.key }) { task.stage.observe(mark.record) }
        let started = monotonicMicros()
        let restored = try restore(&task, partition: partition)
        if restored > 0 {
            logger.info("account task restored", metadata: [
                "partition": "\(partition)", "records": "\(restored)", "accounts": "\(task.stage.accountCount)",
                "seconds": "\(Double(monotonicMicros() - started) / 1e6)",
            ])
        }
        if let last = task.lastApplied {
            var replayed = 0
            for i in recentHead..<recentMarks.count where recentMarks[i].key > last {
                task.enqueue(.mark(recentMarks[i].record), origin: recentMarks[i].origin, position: nil, emit: { _ in })
                replayed += 1
            }
            if replayed > 0 { logger.info("retained marks fed to a restored task", metadata: ["marks": "\(replayed)"]) }
        }
        tasks[partition] = task
        let now = monotonicMicros()
        next[partition] = [-1, -1]
        lastArrival[partition] = [now, now]
    }

    /// Reads changelog partition `partition` to its end into `task`. - Returns: the records read.
    private func restore(_ task: inout AccountTask, partition: Int32) throws -> Int {
        try changelogConsumer.assign([TopicPartition(topic: changelog, partition: partition, offset: KafkaOffset.beginning)])
        defer { try? changelogConsumer.assign([]) }
        return try changelogConsumer.readToEnd(
            [partition], batch: changelogBatch, deadline: monotonicMicros() + 120_000_000,
            timedOut: { KafkaError(code: .timedOut, message: "timed out restoring \(changelog)/\(partition)") }
        ) { m in
            guard let key = m.key.map({ String(decoding: $0, as: UTF8.self) }) else { return }
            do throws(DecodeError) {
                if key == Self.progressKey {
                    if let value = m.value { try task.restoreProgress(from: value) }
                } else {
                    try task.stage.restoreState(of: key, from: m.value)
                }
            } catch {
                logger.error("unreadable changelog record skipped", metadata: [
                    "partition": "\(partition)", "offset": "\(m.offset)", "key": "\(key)", "error": "\(error)",
                ])
            }
        }
    }

    /// The changelog records of what changed since the last call: every changed account of every task, then each
    /// task's progress (produced in the transaction that commits the offsets they stand for).
    func changelogRecords() -> [(partition: Int32, key: String, value: [UInt8]?)] {
        var records: [(Int32, String, [UInt8]?)] = []
        for p in tasks.keys.sorted() {
            let changed = tasks[p]!.stage.takeChanged()
            for id in changed { records.append((p, id, tasks[p]!.stage.encodedState(of: id))) }
            let progress = tasks[p]!.encodedProgress()
            if !changed.isEmpty || progress != writtenProgress[p] {
                records.append((p, Self.progressKey, progress))
                writtenProgress[p] = progress
            }
        }
        return records
    }

    func remove(_ partition: Int32) {
        tasks[partition] = nil
        writtenProgress[partition] = nil
        next[partition] = nil
        lastArrival[partition] = nil
        accountsMaxTs[partition] = nil
    }

    var partitions: [Int32] { tasks.keys.sorted() }
    var buffered: Int { tasks.values.reduce(0) { $0 + $1.buffered } }
    var accountCount: Int { tasks.values.reduce(0) { $0 + $1.stage.accountCount } }

    /// Accounts by level, across tasks.
    func levelCounts() -> [MarginLevel: Int] {
        var counts: [MarginLevel: Int] = [:]
        for task in tasks.values { counts.merge(task.stage.levelCounts(), uniquingKeysWith: +) }
        return counts
    }

    /// Decodes and buffers one `accounts` or `backstop-fills` message; a bad one goes to the DLQ at once.
    func enqueue(_ message: KafkaMessage, source: AccountSource, now: Int64, emit: (OutputRecord) -> Void) {
        let p = message.partition
        guard tasks[p] != nil else { return }
        next[p]![source.rawValue] = message.offset + 1
        lastArrival[p]![source.rawValue] = now
        let own = Origin(topic: source == .accounts ? topics.accounts : topics.fills, partition: p, offset: message.offset)
        let decoded: Result<(AccountInput, Origin), DecodeError>
        do throws(DecodeError) {
            guard let value = message.value, value.count > 0 else { throw DecodeError(.decodeError, "empty value (tombstone)") }
            switch source {
            case .accounts:
                decoded = .success((.account(try AccountEvent.decode(value)), own))
            case .fills:
                let fill = try FillRecord.decode(value)
                decoded = .success((.fill(fill), sourceOrigin(of: message) ?? own))
            }
        } catch {
            decoded = .failure(error)
        }
        switch decoded {
        case .success(let (input, origin)):
            if case .account(let e) = input { accountsMaxTs[p] = max(accountsMaxTs[p] ?? .min, e.ts) }
            tasks[p]!.enqueue(input, origin: origin, position: (source, message.offset),
                              value: message.value.map { Array($0) }, emit: emit)
        case .failure(let error):
            // Past it for the committed offsets; not again when its DLQ record was committed before a restart.
            guard tasks[p]!.noteUndecodable(source, offset: message.offset) else { return }
            decodeRejected[error.reason, default: 0] += 1
            let at = tasks[p]!.sourceMaxTs[source.rawValue]
            emit(RejectedInput(origin: own, key: message.key.map { Array($0) }, value: message.value.map { Array($0) },
                               error: error).dlqRecord(eventTime: RejectedInput.undecodedTs(after: at)))
        }
    }

    /// Reads what `backstop-marks` has; every mark goes to the table and to every task.
    /// - Returns: the number of marks read.
    @discardableResult
    func pollMarks(now: Int64, timeout: Duration = .zero, emit: (OutputRecord) -> Void = { _ in }) throws -> Int {
        var read = 0
        while true {
            let n = try marksConsumer.poll(into: marksBatch, timeout: read == 0 ? timeout : .zero)
            guard n > 0 else { return read }
            for i in 0..<n {
                let m = marksBatch[i]
                if let error = m.error {
                    if error.code == .partitionEOF { marksAtEnd.insert(m.partition) } else {
                        logger.warning("marks consumer error", metadata: ["error": "\(error)"])
                    }
                    continue
                }
                marksAtEnd.remove(m.partition)
                if take(mark: m, emit: emit) { read += 1 }
            }
        }
    }

    /// One `backstop-marks` message: into the table and to every task. - Returns: whether it held a mark.
    @discardableResult
    private func take(mark m: KafkaMessage, emit: (OutputRecord) -> Void) -> Bool {
        marksNext[m.partition] = m.offset + 1
        guard let value = m.value, value.count > 0 else { return false }
        let record: MarkRecord
        do throws(DecodeError) { record = try MarkRecord.decode(value) } catch {
            // Every instance reads the whole table: each would send its own copy to the DLQ.
            logger.warning("invalid mark ignored", metadata: [
                "partition": "\(m.partition)", "offset": "\(m.offset)", "error": "\(error)",
            ])
            return false
        }
        let origin = sourceOrigin(of: m) ?? Origin(topic: topics.marks, partition: m.partition, offset: m.offset)
        marks[record.instrument] = (record, origin)
        retain(record, origin: origin)
        // Over a copy of the keys: iterating `tasks.keys` while mutating a task would copy its buffer each time.
        for p in Array(tasks.keys) { tasks[p]!.enqueue(.mark(record), origin: origin, position: nil, emit: emit) }
        return true
    }

    /// Applies, in every task, what the frontier allows: inputs with `ts` below the accounts frontier and below
    /// the event time of every source instrument task at its latest commit whose marks and fills this task has
    /// read — unless that point says the source had drained its inputs and `stillDrained(q, ends)` confirms it.
    func release(sourceCount: Int, canSkipAccounts: (Int32) -> Bool, stillDrained: (Int32, [Int64]) -> Bool,
                 emit: (OutputRecord) -> Void) {
        for p in tasks.keys.sorted() where tasks[p]!.buffered > 0 {
            var frontier = canSkipAccounts(p) ? Int64.max : accountsMaxTs[p] ?? .min
            var claims: [(q: Int32, ends: [Int64], eventTime: Int64)] = []
            for q in 0..<Int32(sourceCount) where frontier > .min {
                guard let point = consumedPoint(of: q, by: p) else { frontier = .min; break }
                if let ends = point.drained, point.eventTime < frontier {
                    claims.append((q, ends, point.eventTime))
                } else {
                    frontier = min(frontier, point.eventTime)
                }
            }
            // Asked last, and only where the claim would move the frontier (another process's costs a broker call).
            for claim in claims where claim.eventTime < frontier && !stillDrained(claim.q, claim.ends) {
                frontier = claim.eventTime
            }
            tasks[p]!.release(before: frontier, emit: emit)
        }
        // A source's points older than the newest one every task has read are no longer needed.
        for q in Array(points.keys) {
            if let keep = tasks.keys.map({ consumedPointIndex(of: q, by: $0) ?? 0 }).min(), keep > 0 {
                points[q]!.removeFirst(keep)
            }
        }
    }

    /// Records where this process's instrument tasks stood at a commit.
    func committed(_ sources: [Int32: SourcePoint], local: Set<Int32>) {
        localSources = local
        for (q, point) in sources where points[q]?.last != point {
            points[q, default: []].append(point)
            if points[q]!.count > 256 { points[q]!.removeFirst(points[q]!.count - 256) }
        }
    }

    /// Reads other processes' source points from the progress topic.
    func pollProgress() throws {
        while true {
            let n = try progressConsumer.poll(into: progressBatch, timeout: .zero)
            guard n > 0 else { return }
            for i in 0..<n {
                let m = progressBatch[i]
                guard m.error == nil, let value = m.value else { continue }
                guard let (q, point) = Self.decodeProgress(value) else {
                    logger.warning("unreadable progress record skipped", metadata: ["offset": "\(m.offset)"])
                    continue
                }
                guard !localSources.contains(q), points[q]?.last != point else { continue }
                points[q, default: []].append(point)
                if points[q]!.count > 256 { points[q]!.removeFirst(points[q]!.count - 256) }
            }
        }
    }

    /// Per task, the offsets to commit for `accounts`/p and `backstop-fills`/p.
    func committableOffsets() -> [TopicPartition] {
        var result: [TopicPartition] = []
        for p in tasks.keys.sorted() {
            for source in AccountSource.allCases {
                if let offset = tasks[p]!.committableOffset(source) {
                    result.append(TopicPartition(topic: source == .accounts ? topics.accounts : topics.fills,
                                                 partition: p, offset: offset))
                }
            }
        }
        return result
    }

    /// The next offset read from `accounts`/p or `backstop-fills`/p (−1 before any) and the last arrival.
    func position(_ p: Int32, _ source: AccountSource) -> (next: Int64, lastArrival: Int64)? {
        guard let n = next[p], let a = lastArrival[p] else { return nil }
        return (n[source.rawValue], a[source.rawValue])
    }

    private func consumedPoint(of q: Int32, by p: Int32) -> SourcePoint? {
        consumedPointIndex(of: q, by: p).map { points[q]![$0] }
    }

    /// The newest point of source `q` whose marks and fills task `p` has read.
    private func consumedPointIndex(of q: Int32, by p: Int32) -> Int? {
        let fillsNext = next[p]?[AccountSource.fills.rawValue] ?? -1
        return points[q]?.indices.last { i in
            let point = points[q]![i]
            if let end = point.fillsEnd[p], fillsNext < end { return false }
            return point.marksEnd.allSatisfy { (marksNext[$0.key] ?? -1) >= $0.value }
        }
    }

    private func retain(_ record: MarkRecord, origin: Origin) {
        recentMarks.append((AccountInput.mark(record).key(origin: origin), record, origin))
        newestMarkTs = max(newestMarkTs, record.ts)
        while recentHead < recentMarks.count, recentMarks[recentHead].record.ts < newestMarkTs - markRetentionMicros {
            recentHead += 1
        }
        if recentHead > 4096, recentHead * 2 > recentMarks.count {
            recentMarks.removeFirst(recentHead)
            recentHead = 0
        }
    }

    /// The `source` header (`<topic>/<partition>/<offset>`) as an origin.
    private func sourceOrigin(of message: KafkaMessage) -> Origin? {
        guard let header = message.header("source") else { return nil }
        return Origin(header: header)
    }
}
