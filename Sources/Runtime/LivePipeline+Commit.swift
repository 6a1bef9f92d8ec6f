import Engine
import Kafka

/// A commit under way: what it covers, fixed when it began.
struct PendingCommit {
    /// The next offset of every input whose position moved since the last commit.
    var offsets: [TopicPartition]
    /// Where the local instrument tasks stood when the commit began.
    var sources: [Int32: SourceMoment]
    /// The producer's ``KafkaProducer/sentCount`` when the commit began: what it covers was sent before.
    var sentBefore: Int
}

/// At-least-once: where the local instrument tasks stood after a loop, recorded as a progress point once every
/// message sent up to then is acknowledged (marks and fills are readable at once, without a transaction).
struct ProgressCheckpoint {
    var sources: [Int32: SourceMoment]
    var sentBefore: Int
    /// The producer's failed deliveries when it was taken: a failure since means a mark or fill may be missing.
    var failedBefore: Int
}

/// Where a local instrument task stood when a commit began or a checkpoint was taken.
struct SourceMoment {
    var eventTime: Int64
    /// When the task had nothing left to do (nothing buffered, every input at its end and idle for `max_idle`):
    /// where its inputs ended (``LivePipeline/drainedEnds(_:now:)``).
    var drained: [Int64]?
    /// Inputs processed so far (see ``InstrumentStage/progress(partition:)``).
    var processed: Int64
}

/// The commit cycle of ``LivePipeline``: outputs and consumed offsets committed together, without stopping the
/// processing while the broker acknowledges.
///
/// Every `commit_interval` a commit *begins*: it fixes the offsets processed so far and the instrument tasks'
/// event times, and adds the account changelog and progress records to the open transaction. Processing goes on.
/// Once librdkafka reports every message sent before the commit delivered, the commit *finishes*.
/// - Exactly-once: the outputs made meanwhile are held back (a transaction cannot take messages while it
///   commits); at the finish the offsets go into the transaction, it commits, a new one begins and the held outputs
///   go out in it. Each transaction holds exactly the outputs of the offsets it commits, as when processing waits
///   for the acknowledgements, but the wait overlaps the work (on the benchmark feed the acknowledgements took a
///   third of the run when processing stood still).
/// - At-least-once: outputs go out at once; the finish commits the offsets once every message sent before the
///   commit began is acknowledged (sequence numbers in the delivery reports, so later messages need not be).
///   Progress points for the account side are recorded after every loop whose messages are acknowledged, not at
///   commits, so the account stage is not held back by `commit_interval`.
extension LivePipeline {
    /// Held outputs beyond which a commit is finished at once (waiting for the broker) rather than holding more.
    static let maxHeldOutputs = 50_000

    /// Commits everything processed so far and waits for it (on stop and before partitions are revoked).
    func commit() throws {
        try finishCommit(waiting: true)
        beginCommit()
        try finishCommit(waiting: true)
    }

    /// Finishes the commit under way when the broker has acknowledged all it covers (or too many outputs wait),
    /// else begins one when `commit_interval` has passed since the last began.
    func advanceCommit(now: Int64) throws {
        if let pending = pendingCommit {
            switch configuration.kafka.guarantee {
            case .exactlyOnce:
                if producer.outstanding == 0 || held.count >= Self.maxHeldOutputs { try finishCommit(waiting: true) }
            case .atLeastOnce:
                if producer.settledCount >= pending.sentBefore { try finishCommit(waiting: false) }
            }
        } else if now - commitBegan >= configuration.kafka.commitIntervalMicros {
            beginCommit()
        }
    }

    /// Sends `records` now, or holds them back while a commit is under way.
    func send(_ records: [OutputRecord]) throws {
        if pendingCommit != nil, configuration.kafka.guarantee == .exactlyOnce {
            held.append(contentsOf: records)
            return
        }
        for record in records { try output.send(record) }
        outputsSinceCommit += records.count
    }

    /// Fixes what the next commit covers and adds the changelog and progress records to the transaction.
    func beginCommit() {
        let now = monotonicMicros()
        commitBegan = now
        let names = configuration.topics
        let offsets = withoutReplayed(stage.processedOffsets()
            .map { TopicPartition(topic: names.name(of: $0.kind), partition: $0.partition, offset: $0.nextOffset) }
            + accounts.committableOffsets())
            .filter { lastCommitted[TopicPartition(topic: $0.topic, partition: $0.partition)] != $0.offset }
        let sources = sourceMoments(now: now)
        do {
            // The progress of the last commit goes out with this one (its offsets are known only once it committed).
            for (q, point) in unpublishedProgress.sorted(by: { $0.key < $1.key }) {
                // One partition for all: a transaction touching fewer partitions commits faster.
                try producer.send(topic: accounts.progressTopic, partition: 0, key: Array(String(q).utf8),
                                  value: AccountDriver.encodeProgress(task: q, point))
                publishedProgress[q] = point
                outputsSinceCommit += 1
            }
            unpublishedProgress.removeAll()
            for record in accounts.changelogRecords() {
                try producer.send(topic: accounts.changelog, partition: record.partition, key: Array(record.key.utf8),
                                  value: record.value)
                outputsSinceCommit += 1
            }
        } catch {
            // A send fails only when the producer is in a fatal state; the commit then fails and says so.
            logger.error("cannot add the changelog to the transaction", metadata: ["error": "\(error)"])
        }
        guard !offsets.isEmpty || outputsSinceCommit > 0 else {
            // Exactly-once: nothing was sent since the last commit, which saw everything before it delivered.
            if configuration.kafka.guarantee == .exactlyOnce { recordProgress(sources, now: now) }
            return
        }
        pendingCommit = PendingCommit(offsets: offsets, sources: sources, sentBefore: producer.sentCount)
    }

    /// At-least-once, after each loop: records the last checkpoint as a progress point once everything sent
    /// before it is acknowledged, and takes the next.
    func advanceProgress(now: Int64) {
        if let checkpoint = progressCheckpoint {
            guard producer.settledCount >= checkpoint.sentBefore else { return }
            // A failed delivery fails the next commit (and the run); until then no point may claim what it held.
            guard producer.failedCount == checkpoint.failedBefore else { return }
            recordProgress(checkpoint.sources, now: now)
        }
        progressCheckpoint = ProgressCheckpoint(sources: sourceMoments(now: now), sentBefore: producer.sentCount,
                                                failedBefore: producer.failedCount)
    }

    /// Where each local instrument task stands.
    private func sourceMoments(now: Int64) -> [Int32: SourceMoment] {
        var sources: [Int32: SourceMoment] = [:]
        for q in localSources {
            let progress = stage.progress(partition: q)
            sources[q] = SourceMoment(eventTime: progress?.eventTime ?? .min, drained: drainedEnds(q, now: now),
                                      processed: progress?.processed ?? 0)
        }
        return sources
    }

    /// Commits what the commit under way covers, then sends the held outputs.
    /// - Parameter waiting: at-least-once, first wait until every message sent is delivered (else the caller saw
    ///   to it that everything the commit covers is). Exactly-once, committing the transaction waits for its
    ///   messages itself, with retries.
    func finishCommit(waiting: Bool) throws {
        guard let pending = pendingCommit else { return }
        pendingCommit = nil
        let held = self.held
        self.held.removeAll()
        if waiting, configuration.kafka.guarantee == .atLeastOnce { try producer.flush(timeout: timeout) }
        if let error = producer.currentFatalError { throw error }
        switch configuration.kafka.guarantee {
        case .exactlyOnce:
            if let error = commitTransaction(offsets: pending.offsets) {
                guard error.isTransactionAbortable else { throw error }
                logger.warning("transaction aborted; rewinding to the committed offsets", metadata: ["error": "\(error)"])
                try producer.abortTransaction(timeout: timeout)
                metrics.add("backstop_transactions_total", ["outcome", "abort"])
                try rewind()
                try producer.beginTransaction()
                return
            }
            try producer.beginTransaction()
        case .atLeastOnce:
            if let error = producer.takeDeliveryError() { throw error }
            try consumer.commit(pending.offsets)
        }
        for tp in pending.offsets { lastCommitted[TopicPartition(topic: tp.topic, partition: tp.partition)] = tp.offset }
        switch configuration.kafka.guarantee {
        case .exactlyOnce:
            outputsSinceCommit = 0
            recordProgress(pending.sources, now: monotonicMicros())
        case .atLeastOnce:
            // Sent since the commit began, not covered by it. Progress points come from the checkpoints.
            outputsSinceCommit = producer.sentCount - pending.sentBefore
        }
        try send(held)
    }

    /// Drops a commit under way and the outputs held behind it (its transaction was aborted).
    func dropPendingCommit() {
        pendingCommit = nil
        held.removeAll()
        progressCheckpoint = nil
    }

    /// Where this process's instrument tasks stood when the commit that just finished began (or the checkpoint
    /// now acknowledged was taken), for the account side's frontier (see ``AccountDriver``): here at once, in other
    /// processes through the progress topic.
    ///
    /// A task that had nothing left to do then claims to have drained its inputs (no bound while they end where
    /// they did) only if it still has nothing and has processed nothing since: the outputs of what it processed
    /// meanwhile are not yet delivered (held back, or sent after the checkpoint), so it claims only its event time.
    private func recordProgress(_ moments: [Int32: SourceMoment], now: Int64) {
        var sources: [Int32: AccountDriver.SourcePoint] = [:]
        let marksEnd = delivered.ends[configuration.topics.marks] ?? [:]
        let fillsEnd = delivered.ends[configuration.topics.fills] ?? [:]
        // A task replaying its inputs claims nothing until it is done: its event time is behind what the points
        // before the replay (this process's before a restart, or the previous owner's) already vouch for.
        for (q, moment) in moments where localSources.contains(q) && !isReplaying(q) {
            let idle = moment.drained != nil && stage.progress(partition: q)?.processed ?? 0 == moment.processed
                && drainedEnds(q, now: now) == moment.drained
            sources[q] = AccountDriver.SourcePoint(marksEnd: marksEnd, fillsEnd: fillsEnd, eventTime: moment.eventTime,
                                                   drained: idle ? moment.drained : nil)
        }
        accounts.committed(sources, local: localSources)
        for (q, point) in sources where publishedProgress[q] != point {
            unpublishedProgress[q] = point
        }
    }

    /// Sends the offsets and commits the open transaction. - Returns: the error, if it failed.
    private func commitTransaction(offsets: [TopicPartition]) -> KafkaError? {
        do {
            try retrying { () throws(KafkaError) in
                try producer.sendOffsetsToTransaction(offsets, groupMetadata: groupMetadata!, timeout: timeout)
            }
            try retrying { () throws(KafkaError) in try producer.commitTransaction(timeout: timeout) }
            metrics.add("backstop_transactions_total", ["outcome", "commit"])
            metrics.setReady("broker", true)
            return nil
        } catch {
            return error
        }
    }

    private func retrying(_ body: () throws(KafkaError) -> Void) throws(KafkaError) {
        var attempt = 0
        while true {
            do {
                try body()
                return
            } catch where error.isRetriable && !error.isTransactionAbortable && attempt < 10 {
                attempt += 1
                logger.warning("retrying", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
            }
        }
    }

    /// After an abort: drop in-memory state and resume every assigned partition from its committed offset.
    private func rewind() throws {
        let assignment = try consumer.assignment()
        let committed = try consumer.committed(assignment, timeout: timeout)
        replayEnds.removeAll()
        let names = configuration.topics
        let replays = replayStarts(committed.filter { names.inputKind(of: $0.topic) != nil })
        try consumer.seek(committed.map { tp in
            if let start = replays.first(where: { $0.topic == tp.topic && $0.partition == tp.partition }) { return start }
            var tp = tp
            if tp.offset < 0 { tp.offset = KafkaOffset.beginning }
            return tp
        }, timeout: timeout)
        stage.remove(partitions: stage.partitions)
        for p in accounts.partitions {
            accounts.remove(p)
            try accounts.assign(p)  // from the changelog, as committed
        }
        nextOffset.removeAll()
        lastCommitted.removeAll()
        atEnd.removeAll()
        outputsSinceCommit = 0
        dropPendingCommit()
        // The aborted transaction held the progress records sent with it: write them again.
        for (q, point) in publishedProgress where localSources.contains(q) && unpublishedProgress[q] == nil {
            unpublishedProgress[q] = point
        }
        publishedProgress.removeAll()
    }

    /// After a commit that failed when partitions were being revoked (exactly-once): aborts the open transaction,
    /// so none of its outputs outlive offsets that were not committed (the partitions' next owner derives them
    /// again).
    func abortAfterFailedCommit() {
        dropPendingCommit()
        guard configuration.kafka.guarantee == .exactlyOnce else { return }
        do {
            try producer.abortTransaction(timeout: timeout)
            metrics.add("backstop_transactions_total", ["outcome", "abort"])
            try producer.beginTransaction()
            outputsSinceCommit = 0
        } catch {
            logger.error("abort after a failed commit failed", metadata: ["error": "\(error)"])
        }
    }
}
