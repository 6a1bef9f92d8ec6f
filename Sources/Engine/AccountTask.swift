public import Events
public import Liquidity
public import Margin

/// Where an input sorts in the account stage (SPEC §6): `(ts, accounts < marks < fills, source, side)`.
///
/// Instruments come first at equal `ts` too, but they are a table applied on arrival, not merged. For marks and
/// fills, `source` is the instrument-stage input that caused them (the `source` header live, the input's origin in
/// a backtest): the same records get the same keys in both, so equal-time records keep one order. Account events
/// sort by their own origin.
public struct AccountMergeKey: Comparable, Hashable, Sendable {
    public enum Rank: Int8, Sendable { case account = 1, mark = 2, fill = 3 }

    public var ts: Int64
    public var rank: Rank
    public var source: Origin
    /// A trade's buyer fill (0) before its seller's (1).
    public var side: Int8

    public init(ts: Int64, rank: Rank, source: Origin, side: Int8 = 0) {
        self.ts = ts
        self.rank = rank
        self.source = source
        self.side = side
    }

    public static func < (a: AccountMergeKey, b: AccountMergeKey) -> Bool {
        if a.ts != b.ts { return a.ts < b.ts }
        if a.rank != b.rank { return a.rank.rawValue < b.rank.rawValue }
        if a.source.topic != b.source.topic { return a.source.topic < b.source.topic }
        if a.source.partition != b.source.partition { return a.source.partition < b.source.partition }
        if a.source.offset != b.source.offset { return a.source.offset < b.source.offset }
        return a.side < b.side
    }
}

/// One input of the account stage.
public enum AccountInput: Sendable {
    case account(AccountEvent)
    case mark(MarkRecord)
    case fill(FillRecord)

    /// Its place in the merge; `origin` is where an account event was read.
    public func key(origin: Origin) -> AccountMergeKey {
        switch self {
        case .account(let e): AccountMergeKey(ts: e.ts, rank: .account, source: origin)
        case .mark(let m): AccountMergeKey(ts: m.ts, rank: .mark, source: origin)
        case .fill(let f): AccountMergeKey(ts: f.trade.ts, rank: .fill, source: origin, side: f.side == .buy ? 0 : 1)
        }
    }
}

/// The partitioned inputs of an account task, whose consumed offsets it commits.
public enum AccountSource: Int, Sendable, CaseIterable {
    case accounts = 0
    case fills = 1
}

/// One account task (SPEC §1): the accounts of one partition of `accounts`/`backstop-fills`, with its own view of
/// the marks table, fed in merge-key order.
///
/// Inputs are buffered and applied in key order up to a frontier the driver computes (``release(before:emit:)``):
/// everything below it has arrived. An input that arrives below what was already applied is late: a mark only
/// updates the table (the next recomputation sees it); an account event or a fill is applied at once if within
/// `allowedLateness` of the task's event time, else it goes to the DLQ (reason `late`). Offsets to commit are, per
/// source, the lowest offset still buffered (or the next to consume), so a restart re-reads what was buffered.
public struct AccountTask: Sendable {
    public var stage: AccountStage
    public let allowedLateness: Int64
    /// Buffered inputs: a binary min-heap of small plain keys (no reference counting when they move), each naming
    /// its input's slot in `slots`; O(log n) per input however far apart their times arrive.
    private var heap: [HeapEntry] = []
    private var slots: [Pending?] = []
    private var freeSlots: [Int32] = []
    /// The key of the last input applied in merge order.
    public private(set) var lastApplied: AccountMergeKey?
    /// The greatest `ts` applied.
    public private(set) var eventTime: Int64 = .min
    /// Inputs sent to the DLQ as `late`, since start.
    public private(set) var lateRejected = 0
    /// Per source, the next offset to consume (greatest enqueued + 1; −1 before any).
    public private(set) var consumedEnd: [Int64] = [-1, -1]
    /// Per source, the greatest `ts` of the inputs read from it (kept in the changelog progress, so that it covers
    /// the whole partition after a restart too); −1 before any (event times are never negative).
    public private(set) var sourceMaxTs: [Int64] = [-1, -1]
    /// After a restore: per source, the offset the committed state had read up to. An input below it whose key is
    /// not after ``lastApplied`` is already in the restored state and is skipped when read again.
    private var restoredEnd: [Int64] = [-1, -1]

    struct Pending: Sendable {
        var key: AccountMergeKey
        var input: AccountInput
        var origin: Origin
        var position: (source: AccountSource, offset: Int64)?
    }

    public init(configuration: MarginConfiguration, allowedLateness: Int64) {
        stage = AccountStage(configuration: configuration)
        self.allowedLateness = allowedLateness
    }

    public var buffered: Int { heap.count }

    /// A heap entry: the merge key with the source topic reduced to its first eight bytes (big-endian, so integer
    /// order is byte order); equal prefixes of topics longer than that fall back to the full key.
    struct HeapEntry {
        var ts: Int64
        var rank: Int8
        var side: Int8
        /// Whether the whole topic is in `topicPrefix` (topic names hold no NUL, so equal prefixes are equal topics).
        var topicFits: Bool
        var topicPrefix: UInt64
        var partition: Int32
        var offset: Int64
        var slot: Int32

        init(_ key: AccountMergeKey, slot: Int32) {
            ts = key.ts
            rank = key.rank.rawValue
            side = key.side
            var prefix: UInt64 = 0
            var n = 0
            for byte in key.source.topic.utf8.prefix(8) { prefix = prefix << 8 | UInt64(byte); n += 1 }
            topicPrefix = prefix << (8 * UInt64(8 - n))
            topicFits = key.source.topic.utf8.count <= 8
            partition = key.source.partition
            offset = key.source.offset
            self.slot = slot
        }

        /// Whether `a` sorts before `b` in ``AccountMergeKey`` order; nil when the entries cannot tell (their
        /// topics are longer than eight bytes and start alike) and the full keys must.
        static func precedes(_ a: HeapEntry, _ b: HeapEntry) -> Bool? {
            if a.ts != b.ts { return a.ts < b.ts }
            if a.rank != b.rank { return a.rank < b.rank }
            if a.topicPrefix != b.topicPrefix { return a.topicPrefix < b.topicPrefix }
            guard a.topicFits, b.topicFits else { return nil }
            if a.partition != b.partition { return a.partition < b.partition }
            if a.offset != b.offset { return a.offset < b.offset }
            return a.side < b.side
        }
    }

    /// Whether entry `a` sorts before entry `b` (``AccountMergeKey`` order).
    private func precedes(_ a: HeapEntry, _ b: HeapEntry) -> Bool {
        HeapEntry.precedes(a, b) ?? (slots[Int(a.slot)]!.key < slots[Int(b.slot)]!.key)
    }

    /// Buffers one input. - Parameters:
    ///   - origin: for marks and fills, the instrument-stage input that caused them (their sort source and the
    ///     `source` of what they cause); for account events, where they were read.
    ///   - position: the source partition offset of an account event or fill (nil for marks).
    ///   - value: the value as received, for the DLQ should it be late.
    public mutating func enqueue(_ input: AccountInput, origin: Origin, position: (source: AccountSource, offset: Int64)?,
                                 value: [UInt8]? = nil, emit: (OutputRecord) -> Void) {
        let key = input.key(origin: origin)
        if let position {
            consumedEnd[position.source.rawValue] = max(consumedEnd[position.source.rawValue], position.offset + 1)
            sourceMaxTs[position.source.rawValue] = max(sourceMaxTs[position.source.rawValue], key.ts)
        }
        if let position, position.offset < restoredEnd[position.source.rawValue], let last = lastApplied, key <= last {
            return  // applied before the restart: its effect is in the restored state
        }
        if let last = lastApplied, key <= last {
            applyLate(input, key: key, origin: origin, value: value, emit: emit)
            return
        }
        let item = Pending(key: key, input: input, origin: origin, position: position)
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(slot)] = item
        } else {
            slot = Int32(slots.count)
            slots.append(item)
        }
        heap.append(HeapEntry(key, slot: slot))
        siftUp(heap.count - 1)
    }

    /// Records an input of `source` at `offset` that does not decode (it goes to the DLQ, never into the merge), so
    /// the committed offset moves past it. - Returns: false when the input was read before the restored state's
    /// commit, which already holds its DLQ record.
    public mutating func noteUndecodable(_ source: AccountSource, offset: Int64) -> Bool {
        consumedEnd[source.rawValue] = max(consumedEnd[source.rawValue], offset + 1)
        return offset >= restoredEnd[source.rawValue]
    }

    /// Applies, in key order, every buffered input with `ts < frontier`.
    public mutating func release(before frontier: Int64, emit: (OutputRecord) -> Void) {
        while let first = heap.first, first.ts < frontier {
            let p = popFirst()
            apply(p.input, origin: p.origin, emit: emit)
            lastApplied = p.key
            eventTime = max(eventTime, p.key.ts)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard precedes(heap[i], heap[parent]) else { return }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popFirst() -> Pending {
        heap.swapAt(0, heap.count - 1)
        let slot = heap.removeLast().slot
        let first = slots[Int(slot)].take()!
        freeSlots.append(slot)
        if heap.isEmpty {
            slots.removeAll(keepingCapacity: true)
            freeSlots.removeAll(keepingCapacity: true)
        }
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count, precedes(heap[l], heap[smallest]) { smallest = l }
            if r < heap.count, precedes(heap[r], heap[smallest]) { smallest = r }
            if smallest == i { return first }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }

    /// The task's progress for its changelog: the last key applied, the event time and the offsets read.
    public func encodedProgress() -> [UInt8] {
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        if let last = lastApplied {
            w.key("last")
            w.beginArray()
            w.integer(last.ts); w.integer(Int64(last.rank.rawValue)); w.string(last.source.topic)
            w.integer(Int64(last.source.partition)); w.integer(last.source.offset); w.integer(Int64(last.side))
            w.endArray()
        }
        if eventTime != .min { w.key("event_time"); w.integer(eventTime) }
        w.key("consumed"); w.beginArray(); w.integer(consumedEnd[0]); w.integer(consumedEnd[1]); w.endArray()
        w.key("max_ts"); w.beginArray(); w.integer(sourceMaxTs[0]); w.integer(sourceMaxTs[1]); w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Restores the progress written by ``encodedProgress()`` (the accounts come through ``AccountStage``).
    public mutating func restoreProgress(from bytes: UnsafeRawBufferPointer) throws(DecodeError) {
        var r = JSONReader(bytes)
        var last: AccountMergeKey?, time = Int64.min, consumed: [Int64] = [], maxTs: [Int64] = []
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            if key == "last" {
                var fields: [Int64] = [], topic = ""
                try r.readArray { (r: inout JSONReader) throws(DecodeError) in
                    if fields.count == 2, topic.isEmpty { topic = try r.readString(); fields.append(0) } else { fields.append(try r.readInt64()) }
                }
                guard fields.count == 6, let rank = AccountMergeKey.Rank(rawValue: Int8(truncatingIfNeeded: fields[1])) else {
                    throw DecodeError(.invalidValue, "task progress: 'last' needs [ts, rank, topic, partition, offset, side]")
                }
                last = AccountMergeKey(ts: fields[0], rank: rank,
                                       source: Origin(topic: topic, partition: Int32(truncatingIfNeeded: fields[3]), offset: fields[4]),
                                       side: Int8(truncatingIfNeeded: fields[5]))
            } else if key == "event_time" {
                time = try r.readInt64()
            } else if key == "consumed" {
                try r.readArray { (r: inout JSONReader) throws(DecodeError) in consumed.append(try r.readInt64()) }
            } else if key == "max_ts" {
                try r.readArray { (r: inout JSONReader) throws(DecodeError) in maxTs.append(try r.readInt64()) }
            } else {
                try r.skipValue()
            }
        }
        guard consumed.count == 2 else { throw DecodeError(.invalidValue, "task progress: 'consumed' needs 2 offsets") }
        lastApplied = last
        eventTime = time
        restoredEnd = consumed
        consumedEnd = consumed
        sourceMaxTs = maxTs.count == 2 ? maxTs : [-1, -1]
    }

    /// Per source, the offset from which a restart must re-read: the lowest still buffered, else the next to
    /// consume (nil when nothing was consumed from it).
    public func committableOffset(_ source: AccountSource) -> Int64? {
        var lowest: Int64?
        for case let p? in slots {
            if let position = p.position, position.source == source { lowest = min(lowest ?? position.offset, position.offset) }
        }
        if let lowest { return lowest }
        let end = consumedEnd[source.rawValue]
        return end >= 0 ? end : nil
    }

    private mutating func apply(_ input: AccountInput, origin: Origin, emit: (OutputRecord) -> Void) {
        switch input {
        case .account(let e): stage.apply(e, origin: origin, emit: emit)
        case .mark(let m): stage.apply(m, origin: origin, emit: emit)
        case .fill(let f): stage.apply(f, origin: origin, emit: emit)
        }
    }

    private mutating func applyLate(_ input: AccountInput, key: AccountMergeKey, origin: Origin, value: [UInt8]?,
                                    emit: (OutputRecord) -> Void) {
        switch input {
        case .mark(let m):
            stage.observe(m)
        case .account, .fill:
            guard key.ts >= eventTime - allowedLateness else {
                let account = if case .account(let e) = input { e.account } else if case .fill(let f) = input { f.account } else { "" }
                lateRejected += 1
                let error = DecodeError(.late, "ts \(key.ts) is more than allowed_lateness behind the task's event time \(eventTime)")
                return emit(RejectedInput(origin: origin, key: Array(account.utf8), value: value, error: error)
                    .dlqRecord(eventTime: eventTime))
            }
            apply(input, origin: origin, emit: emit)
        }
    }
}
