import Engine
import Foundation
import Kafka

/// Assignment changes: tasks created, kept, replayed or dropped, so that an instrument task's state after a
/// restart, rebalance or abort is the one an uninterrupted run has (`kafka.instrument_restore`).
extension LivePipeline {
    func handleRebalance(_ event: RebalanceEvent) {
        let names = configuration.topics
        let inputs = event.partitions.filter { names.inputKind(of: $0.topic) != nil }
        let partitions = Set(inputs.map(\.partition))
        let accountPartitions = Set(event.partitions.filter { $0.topic == names.accounts || $0.topic == names.fills }.map(\.partition))
        switch event.kind {
        case .assigned:
            logger.info("partitions assigned", metadata: ["partitions": "\(event.partitions.map(\.description))"])
            metrics.setReady("assigned", true)
            localSources.formUnion(event.partitions.filter { $0.topic == names.quotes }.map(\.partition))
            if !inputs.isEmpty && (configuration.kafka.instrumentRestore == .replay || !parked.isEmpty) {
                do {
                    let (kept, rest) = reattach(try committedRetrying(inputs))
                    assignmentStarts = kept + replayStarts(rest)
                } catch {
                    logger.error("cannot read the committed offsets of the instrument inputs", metadata: ["error": "\(error)"])
                    rebalanceError = error
                }
            }
            parked.removeAll()
            do {
                for p in accountPartitions.sorted() { try accounts.assign(p) }
            } catch {
                logger.error("account task restore failed", metadata: ["error": "\(error)"])
                rebalanceError = error
            }
        case .revoked:
            logger.info("partitions revoked", metadata: ["partitions": "\(event.partitions.map(\.description))"])
            metrics.setReady("assigned", false)
            do {
                try commit()
                for p in partitions.sorted() {
                    if let task = stage.detach(partition: p), let next = nextOffset[p] { parked[p] = ParkedTask(task: task, next: next) }
                }
            } catch {
                logger.error("commit on revoke failed", metadata: ["error": "\(error)"])
                abortAfterFailedCommit()
            }
            dropTasks(instrument: partitions, account: accountPartitions)
        case .lost:
            logger.warning("partitions lost", metadata: ["partitions": "\(event.partitions.map(\.description))"])
            metrics.setReady("assigned", false)
            // The outputs held behind a commit under way derive from inputs whose offsets the group no longer
            // takes from here: the next owner derives them again.
            dropPendingCommit()
            if configuration.kafka.guarantee == .exactlyOnce {
                do {
                    try producer.abortTransaction(timeout: timeout)
                    try producer.beginTransaction()
                    outputsSinceCommit = 0
                } catch { logger.error("abort after loss failed", metadata: ["error": "\(error)"]) }
            }
            parked.removeAll()
            dropTasks(instrument: partitions, account: accountPartitions)
        }
        for tp in event.partitions {
            lastCommitted[TopicPartition(topic: tp.topic, partition: tp.partition)] = nil
            atEnd[tp.topic]?[tp.partition] = nil
        }
    }

    /// Puts back the parked tasks whose partitions are assigned again with the offsets they committed when revoked
    /// (nobody processed them meanwhile): they go on reading where they had read. - Returns: where their inputs
    /// start, and the committed offsets of the other partitions.
    private func reattach(_ committed: [TopicPartition]) -> (starts: [TopicPartition], rest: [TopicPartition]) {
        let names = configuration.topics
        var starts: [TopicPartition] = []
        var rest = committed
        for (p, parkedTask) in parked.sorted(by: { $0.key < $1.key }) {
            let ends = parkedTask.task.processedEnds
            let mine = committed.filter { $0.partition == p }
            guard mine.count == InputKind.allCases.count, mine.allSatisfy({ tp in
                names.inputKind(of: tp.topic).map { ends[$0.rawValue] == tp.offset } ?? false
            }) else { continue }
            stage.attach(parkedTask.task)
            nextOffset[p] = parkedTask.next
            let now = monotonicMicros()
            lastArrival[p] = [now, now]
            for tp in mine {
                let kind = names.inputKind(of: tp.topic)!  // checked above
                starts.append(TopicPartition(topic: tp.topic, partition: p, offset: parkedTask.next[kind.rawValue]))
            }
            rest.removeAll { $0.partition == p }
            logger.info("instrument task kept across the rebalance", metadata: [
                "partition": "\(p)", "next": "\(parkedTask.next)",
            ])
        }
        return (starts, rest)
    }

    /// `kafka.instrument_restore: replay`: for the instrument inputs with a committed offset, records it as the
    /// end of their replay and returns them starting from the beginning of their partitions. Their task rebuilds
    /// its state from every input retained, writing nothing for inputs below the committed offsets (their outputs
    /// are committed already) and committing no offset below them.
    func replayStarts(_ committed: [TopicPartition]) -> [TopicPartition] {
        guard configuration.kafka.instrumentRestore == .replay else { return [] }
        var starts: [TopicPartition] = []
        for tp in committed where tp.offset > 0 {
            replayEnds[tp.topic, default: [:]][tp.partition] = tp.offset
            starts.append(TopicPartition(topic: tp.topic, partition: tp.partition, offset: KafkaOffset.beginning))
        }
        if !starts.isEmpty {
            logger.info("instrument tasks replay their inputs to rebuild their state", metadata: [
                "until": "\(starts.map { "\($0.topic)/\($0.partition)@\(replayEnds[$0.topic]![$0.partition]!)" })",
            ])
        }
        return starts
    }

    /// The committed offsets of `partitions`, asked again a few times while the broker cannot give them (one
    /// may be part of a transaction still being committed).
    private func committedRetrying(_ partitions: [TopicPartition]) throws -> [TopicPartition] {
        for _ in 0..<10 {
            let result = Result { () throws(KafkaError) in try consumer.committed(partitions, timeout: timeout) }
            guard case .failure(let error) = result else { return try result.get() }
            logger.warning("committed offsets not readable yet; asking again", metadata: ["error": "\(error)"])
            Thread.sleep(forTimeInterval: 0.5)
        }
        return try consumer.committed(partitions, timeout: timeout)
    }

    func takeAssignmentStarts() -> [TopicPartition] {
        defer { assignmentStarts = [] }
        return assignmentStarts
    }

    /// Whether instrument task `q` is replaying its inputs.
    func isReplaying(_ q: Int32) -> Bool {
        replayEnds[configuration.topics.quotes]?[q] != nil || replayEnds[configuration.topics.trades]?[q] != nil
    }

    /// Whether an output derives from an input being replayed below its committed offset.
    func isReplayed(_ origin: Origin) -> Bool {
        guard let end = replayEnds[origin.topic]?[origin.partition] else { return false }
        return origin.offset < end
    }

    /// The offsets to commit, without those of inputs still being replayed (their committed offsets stand); a
    /// replay that reached its end is over.
    func withoutReplayed(_ offsets: [TopicPartition]) -> [TopicPartition] {
        guard !replayEnds.isEmpty else { return offsets }
        return offsets.filter { tp in
            guard let end = replayEnds[tp.topic]?[tp.partition] else { return true }
            // Also over when everything read is processed and the partition ends at or past it: the offsets left
            // below it hold no records (transaction markers).
            guard tp.offset >= end || (atEnd[tp.topic]?[tp.partition]?.position ?? .min) >= end
                    && enqueuedEnd(tp.topic, tp.partition) == tp.offset else { return false }
            replayEnds[tp.topic]![tp.partition] = nil
            if replayEnds[tp.topic]!.isEmpty { replayEnds[tp.topic] = nil }
            logger.info("instrument input replayed; its task's state is rebuilt", metadata: [
                "input": "\(tp.topic)/\(tp.partition)", "offset": "\(end)",
            ])
            return true
        }
    }

    /// The offset after the last message enqueued from instrument input `topic`/`partition` (−1 before any).
    private func enqueuedEnd(_ topic: String, _ partition: Int32) -> Int64 {
        guard let kind = configuration.topics.inputKind(of: topic) else { return -1 }
        return nextOffset[partition]?[kind.rawValue] ?? -1
    }

    /// Drops the tasks (and state) of partitions this member no longer owns.
    private func dropTasks(instrument partitions: Set<Int32>, account accountPartitions: Set<Int32>) {
        for p in partitions {
            replayEnds[configuration.topics.quotes]?[p] = nil
            replayEnds[configuration.topics.trades]?[p] = nil
        }
        replayEnds = replayEnds.filter { !$0.value.isEmpty }
        stage.remove(partitions: Array(partitions))
        for p in partitions { nextOffset[p] = nil; lastArrival[p] = nil }
        localSources.subtract(partitions)
        for p in accountPartitions { accounts.remove(p) }
    }
}
