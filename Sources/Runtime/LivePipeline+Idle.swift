import Engine
import Kafka

/// When a task may go on without an input, and whether an instrument task's claim to have nothing left to do
/// still holds (for the account side's frontier, see ``AccountDriver``): the live counterpart of Kafka Streams'
/// `max.task.idle.ms`, with the broker's high watermarks telling a slow input from an idle one.
extension LivePipeline {
    /// Whether a task may merge past its empty input `kind` (as Kafka Streams' `max.task.idle.ms`): only when that
    /// input has been idle for `max_idle` and its partition is at its end (librdkafka reported it after the last
    /// message). A partition that still has data on the broker is waited for, so a fast input never runs ahead of
    /// a slow one and makes its events late.
    func canSkip(partition: Int32, kind: InputKind, now: Int64, maxIdle: Int64) -> Bool {
        let slot = Int(partition) * 2 + kind.rawValue
        if slot < skipMemo.count, skipMemo[slot].now == now { return skipMemo[slot].skip }
        let skip = isIdleAtEnd(configuration.topics.name(of: kind), partition,
                               lastArrival: lastArrival[partition]?[kind.rawValue], now: now, maxIdle: maxIdle)
        if slot >= skipMemo.count { skipMemo.append(contentsOf: repeatElement(SkipMemo(), count: slot + 1 - skipMemo.count)) }
        skipMemo[slot] = SkipMemo(now: now, skip: skip)
        return skip
    }

    /// Whether input `topic`/`partition` has been idle for `max_idle` (never, without an arrival) and is at its end.
    func isIdleAtEnd(_ topic: String, _ partition: Int32, lastArrival: Int64?, now: Int64, maxIdle: Int64) -> Bool {
        guard now - (lastArrival ?? now) >= maxIdle else { return false }
        return endPosition(topic, partition, now: now) != nil
    }

    /// How long an input at its end waits for records the broker holds but cannot serve yet (a transaction not
    /// yet committed): 20 × `max_idle`, at least 1 s. A transaction left open longer (a producer that hangs) no
    /// longer holds the task back.
    var pendingWaitMicros: Int64 { max(1_000_000, 20 * configuration.kafka.maxIdleMicros) }

    /// The position at which input `topic`/`partition` is at its end, or nil when it is not known to be: librdkafka
    /// reported the end after the last message read, and the high watermark of the latest fetch response for that
    /// partition does not lie beyond it. The second condition sees records the broker holds but does not serve
    /// yet — those of a transaction whose markers are still being written, other partitions of which may already
    /// have been read — so the end reported before them is not taken for the end. (A fetch from the partition's
    /// broker carries the high watermark of every partition it leads that is being fetched; one led by another
    /// broker, or not fetched meanwhile, may show an older one.) Records held for longer than
    /// ``pendingWaitMicros`` since the end was reported no longer count: that transaction is left open.
    func endPosition(_ topic: String, _ partition: Int32, now: Int64) -> Int64? {
        guard let end = atEnd[topic]?[partition] else { return nil }
        if let high = consumer.cachedWatermarks(topic: topic, partition: partition)?.high, high > end.position {
            guard now - end.since >= pendingWaitMicros else { return nil }
            if reportedPending.insert("\(topic)/\(partition)@\(end.position)").inserted {
                logger.warning("input at its end while the broker holds records it does not serve yet: going on", metadata: [
                    "input": "\(topic)/\(partition)", "position": "\(end.position)", "high_watermark": "\(high)",
                ])
            }
        }
        return end.position
    }

    /// Whether account task `partition` may go on without waiting for `accounts`: at its end and idle for
    /// `max_idle` (as ``canSkip(partition:kind:now:maxIdle:)``).
    func canSkipAccounts(partition: Int32, now: Int64, maxIdle: Int64) -> Bool {
        guard let position = accounts.position(partition, .accounts) else { return false }
        return isIdleAtEnd(configuration.topics.accounts, partition, lastArrival: position.lastArrival, now: now, maxIdle: maxIdle)
    }

    /// Where the inputs of local instrument task `q` end (in ``InputKind`` order) when it has nothing more to
    /// process — nothing buffered, and each input at its end (``endPosition(_:_:now:)``) and idle for `max_idle` (an
    /// input never read: at its end) — else nil.
    func drainedEnds(_ q: Int32, now: Int64) -> [Int64]? {
        if let progress = stage.progress(partition: q), progress.buffered > 0 { return nil }
        let maxIdle = configuration.kafka.maxIdleMicros
        var ends: [Int64] = []
        for kind in InputKind.allCases {
            // An input read must also have been idle for max_idle (what canSkip asks besides the end).
            if nextOffset[q]?[kind.rawValue] ?? -1 >= 0, now - (lastArrival[q]?[kind.rawValue] ?? now) < maxIdle {
                return nil
            }
            guard let end = endPosition(configuration.topics.name(of: kind), q, now: now) else { return nil }
            ends.append(end)
        }
        return ends
    }

    /// Whether source `q`'s claim to have drained its inputs at `ends` still holds (see ``AccountDriver``): for a
    /// local task, it has nothing more to process and its inputs end where they did; for another process's, the
    /// broker's high watermarks of both inputs (records of open transactions included) lie no further than `ends`.
    /// The broker is asked at most every ``remoteCheckInterval`` per source (a synchronous call on this thread),
    /// and a yes is trusted for that long; after a failed call the claim counts as broken for a second.
    func stillDrained(_ q: Int32, at ends: [Int64], now: Int64) -> Bool {
        if localSources.contains(q) { return drainedEnds(q, now: now) == ends }
        guard ends.count == InputKind.allCases.count else { return false }
        if let check = remoteChecks[q], check.ends == ends {
            switch check.drained {
            case false?: return false  // the broker had more: it never has less again
            case true?: if now - check.at < remoteCheckInterval { return true }
            case nil: if now - check.at < 1_000_000 { return false }
            }
        }
        var drained: Bool? = true
        for (kind, end) in zip(InputKind.allCases, ends) {
            do {
                let high = try watermarkProbe.watermarks(topic: configuration.topics.name(of: kind), partition: q,
                                                         timeout: .seconds(1)).high
                if high > end { drained = false; break }
            } catch {
                logger.warning("cannot ask for a source's end", metadata: ["source": "\(q)", "error": "\(error)"])
                drained = nil
                break
            }
        }
        remoteChecks[q] = RemoteCheck(ends: ends, at: now, drained: drained)
        return drained ?? false
    }

    /// How long an answer about another process's drained source stands: `max_idle` (at least 1 ms).
    var remoteCheckInterval: Int64 { max(1_000, configuration.kafka.maxIdleMicros) }
}
