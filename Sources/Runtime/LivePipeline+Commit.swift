import Engine
import Kafka

/// A commit under way: what it covers, fixed when it began.
struct PendingCommit {
    /// The next offset of every input whose position moved since the last commit.
    var offsets: [TopicPartition]
    /// Per local instrument task, its event time when the commit began (`Int64.max`: it had nothing left to do).
    var eventTimes: [Int32: Int64]
}

/// The commit cycle of ``LivePipeline``: outputs and consumed offsets committed together, without stopping the
/// processing while the broker acknowledges.
///
/// Every `commit_interval` a commit *begins*: it fixes the offsets processed so far and the instrument tasks'
/// event times, and adds the account changelog and progress records to the open transaction. Processing goes on;
/// the outputs it makes are held back. Once librdkafka reports every message sent before the commit delivered,
/// the commit *finishes*: the offsets go into the transaction, the transaction commits (exactly-once; at-least-once
/// commits the offsets), a new one begins, and the held outputs go out in it. The transaction holds exactly the
/// outputs of the offsets it commits, as when processing waits for the acknowledgements, but the wait overlaps the
/// work: measured on the benchmark feed, the acknowledgements took a third of the run when processing stood still.
extension LivePipeline {
    /// Held outputs beyond which a commit is finished at once (waiting for the broker) rather than holding more.
    static let maxHeldOutputs = 50_000

    /// Commits everything processed so far and waits for it (on stop and before partitions are revoked).
    func commit() throws {
        try finishCommit()
        beginCommit()
        try finishCommit()
    }

    /// Finishes the commit under way when the broker has acknowledged all it covers (or too many outputs wait),
    /// else begins one when `commit_interval` has passed since the last began.
    func advanceCommit(now: Int64) throws {
        if pendingCommit != nil {
            if producer.outstanding == 0 || held.count >= Self.maxHeldOutputs { try finishCommit() }
        } else if now - commitBegan >= configuration.kafka.commitIntervalMicros {
            beginCommit()
        }
    }

    /// Sends `records` now, or holds them back while a commit is under way.
    func send(_ records: [OutputRecord]) throws {
        if pendingCommit != nil {
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
        let offsets = (stage.processedOffsets()
            .map { TopicPartition(topic: names.name(of: $0.kind), partition: $0.partition, offset: $0.nextOffset) }
            + accounts.committableOffsets())
            .filter { lastCommitted[TopicPartition(topic: $0.topic, partition: $0.partition)] != $0.offset }
        var eventTimes: [Int32: Int64] = [:]
        for q in localSources {
            eventTimes[q] = sourceDrained(q, now: now) ? Int64.max : stage.progress(partition: q)?.eventTime ?? .min
        }
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
            recordProgress(eventTimes)
            return
        }
        pendingCommit = PendingCommit(offsets: offsets, eventTimes: eventTimes)
    }

    /// Waits until everything sent before the commit began is delivered, commits, then sends the held outputs.
    func finishCommit() throws {
        guard let pending = pendingCommit else { return }
        pendingCommit = nil
        let held = self.held
        self.held.removeAll()
        try producer.flush(timeout: timeout)
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
        outputsSinceCommit = 0
        recordProgress(pending.eventTimes)
        try send(held)
    }

    /// Drops a commit under way and the outputs held behind it (its transaction was aborted).
    func dropPendingCommit() {
        pendingCommit = nil
        held.removeAll()
    }

    /// Where this process's instrument tasks stood when the commit that just finished began, for the account
    /// side's frontier (see ``AccountDriver``): here at once, in other processes through the progress topic.
    private func recordProgress(_ eventTimes: [Int32: Int64]) {
        var sources: [Int32: AccountDriver.SourcePoint] = [:]
        let marksEnd = delivered.ends[configuration.topics.marks] ?? [:]
        let fillsEnd = delivered.ends[configuration.topics.fills] ?? [:]
        for (q, eventTime) in eventTimes where localSources.contains(q) {
            sources[q] = AccountDriver.SourcePoint(marksEnd: marksEnd, fillsEnd: fillsEnd, eventTime: eventTime)
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
        try consumer.seek(committed.map {
            var tp = $0
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
    }
}
