public import Events
public import Liquidity

/// Settings of the instrument stage.
public struct InstrumentStageConfiguration: Sendable, Equatable {
    public var metrics = MetricsConfiguration()
    public var topics = TopicNames()
    /// Backstop trigger rules (SPEC §4), evaluated at every metrics close.
    public var triggers: [TriggerRule] = []
    /// The built-in `stale-market` rule fires after this long without a quote, in the task's event time.
    /// Default: 10 s.
    public var staleAfterMicros: Int64 = 10_000_000
    /// `marks.interval`: at most one mark per instrument per this much event time; 0: every change. Default: 100 ms.
    public var markIntervalMicros: Int64 = 100_000
    /// `validation.allowed_lateness`: an input older than the task's event time by more is rejected (`late`).
    /// Default: 5 s.
    public var allowedLatenessMicros: Int64 = 5_000_000
    /// `validation.unknown_grace`: how long after its first input an instrument missing from the reference data is
    /// still processed; later inputs are rejected (`unknown_instrument`). Not applied while there is no reference
    /// data at all. Default: 10 s.
    public var unknownGraceMicros: Int64 = 10_000_000
    /// `validation.dedup_window`: a trade whose (instrument, id) was merged within this much event time is
    /// rejected (`duplicate`). Default: 60 s.
    public var dedupWindowMicros: Int64 = 60_000_000
    public init() {}
}

/// The instrument stage (SPEC §1): one task per partition of the co-partitioned `quotes`/`trades` topics,
/// each merging its inputs in event-time order and keeping the state of its instruments.
///
/// Pure: the same inputs in the same order give the same outputs, whether they come from Kafka (`run`,
/// `replay`) or from files (`backtest`). Sources enqueue, then ``drain(canSkip:emit:)`` merges and processes.
public struct InstrumentStage: Sendable {
    public let configuration: InstrumentStageConfiguration
    /// Reference data, a global table keyed by symbol.
    public private(set) var instruments: [String: Instrument] = [:]
    /// The tasks by partition (an array: partitions are small numbers from 0, and an input finds its task by
    /// index, not by hashing).
    private var slots: [InstrumentTask?] = []
    /// Per partition, the largest `ts` of each input enqueued (not rejected), nil without a task: beside the tasks,
    /// not in them, so the per-input ``fallbackTs(partition:kind:)`` reads two integers, not a task.
    private var lastTs: [InputTimes?] = []
    /// Rejected inputs by reason, since start.
    public private(set) var rejectedByReason: [RejectReason: Int] = [:]
    /// The instrument symbols of the inputs decoded for the stage (``PendingInput/decode(kind:origin:key:value:fallbackTs:symbols:)``),
    /// so that an instrument's inputs share one string.
    public var symbols = SymbolTable()

    public init(configuration: InstrumentStageConfiguration) { self.configuration = configuration }

    /// Applies an instrument update (nil: delisted).
    public mutating func apply(instrument: Instrument?, symbol: String) {
        instruments[symbol] = instrument
        let multiplier = instrument?.multiplier ?? 1
        for p in slots.indices where slots[p] != nil {
            slots[p]!.setReference(multiplier, known: instrument != nil, for: symbol)
        }
    }

    /// The partitions that have tasks, in increasing order.
    public var partitions: [Int32] { slots.indices.filter { slots[$0] != nil }.map { Int32($0) } }

    /// Drops the tasks (and state) of `partitions`, as on a revoke.
    public mutating func remove(partitions: [Int32]) {
        for p in partitions where p >= 0 && Int(p) < slots.count {
            slots[Int(p)] = nil
            lastTs[Int(p)] = nil
        }
    }

    /// The task of `partition`, if it has one.
    private func task(_ partition: Int32) -> InstrumentTask? {
        partition >= 0 && Int(partition) < slots.count ? slots[Int(partition)] : nil
    }

    /// The tasks, in partition order.
    private var tasks: some Sequence<InstrumentTask> { slots.lazy.compactMap { $0 } }

    /// The slot of `partition`, made if the array is short of it.
    private mutating func slot(_ partition: Int32) -> Int {
        precondition(partition >= 0, "partition \(partition) is negative")
        let p = Int(partition)
        if p >= slots.count {
            slots.append(contentsOf: repeatElement(nil, count: p + 1 - slots.count))
            lastTs.append(contentsOf: repeatElement(nil, count: p + 1 - lastTs.count))
        }
        return p
    }

    /// Takes the task of `partition` out of the stage, with its merge buffers and state: it processes nothing until
    /// put back with ``attach(_:)``. nil when the partition has no task.
    public mutating func detach(partition: Int32) -> DetachedTask? {
        guard let task = task(partition) else { return nil }
        let detached = DetachedTask(task: task, lastTs: lastTs[Int(partition)])
        slots[Int(partition)] = nil
        lastTs[Int(partition)] = nil
        return detached
    }

    /// Puts back a task taken out by ``detach(partition:)``, its instruments' reference data brought up to date.
    public mutating func attach(_ detached: DetachedTask) {
        var task = detached.task
        for symbol in task.symbols.symbols {
            let instrument = instruments[symbol]
            task.setReference(instrument?.multiplier ?? 1, known: instrument != nil, for: symbol)
        }
        let p = slot(task.partition)
        slots[p] = task
        lastTs[p] = detached.lastTs
    }

    /// The merge-time fallback for an input of `kind` on `partition` that has no usable `ts`.
    public func fallbackTs(partition: Int32, kind: InputKind) -> Int64 {
        partition >= 0 && Int(partition) < lastTs.count ? lastTs[Int(partition)]?[kind] ?? Int64.min : Int64.min
    }

    /// Buffers one decoded input for its task (moved in, not copied).
    public mutating func enqueue(_ input: consuming PendingInput, partition: Int32) {
        let p = task(for: partition)
        if let ts = input.acceptedTs { lastTs[p]!.merge(ts, of: input.kind) }
        slots[p]!.enqueue(input)
    }

    /// Decodes one `quotes` or `trades` value straight into the buffer of `partition`'s task, as
    /// ``PendingInput/decode(kind:origin:key:value:fallbackTs:symbols:)`` does (a failure is buffered as rejected,
    /// with its reason), its instrument read through ``symbols``; the input moves once, into its slot.
    /// - Parameter key: the message's key, kept for the DLQ should the value be rejected.
    public mutating func enqueue(
        _ kind: InputKind, partition: Int32, origin: Origin, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?
    ) {
        let p = task(for: partition)
        let fallbackTs = lastTs[p]![kind]
        if let ts = slots[p]!.enqueue(kind, building: { symbols in
            PendingInput.decode(kind: kind, origin: origin, key: key, value: value, fallbackTs: fallbackTs,
                                symbols: &symbols)
        }, symbols: &symbols) {
            lastTs[p]!.merge(ts, of: kind)
        }
    }

    /// The slot of `partition`'s task, the task made if it has none.
    private mutating func task(for partition: Int32) -> Int {
        let p = slot(partition)
        if slots[p] == nil {
            slots[p] = InstrumentTask(partition: partition)
            lastTs[p] = InputTimes()
        }
        return p
    }

    /// Instruments with state, across tasks.
    public var instrumentCount: Int { tasks.reduce(0) { $0 + $1.states.count } }

    /// Active triggers by rule and severity (the built-in `stale-market` included), across tasks.
    public func activeTriggers() -> [String: [Int: Int]] {
        var result: [String: [Int: Int]] = [:]
        for task in tasks {
            for state in task.states {
                if state.isStale { result[staleMarketRule, default: [:]][1, default: 0] += 1 }
                for (r, tracker) in state.triggers.enumerated() {
                    if let severity = tracker?.severity, severity > 0 {
                        result[configuration.triggers[r].name, default: [:]][severity, default: 0] += 1
                    }
                }
            }
        }
        return result
    }

    /// The task of `partition`: its event time (greatest `ts` processed; `Int64.min` before any), the inputs it
    /// holds unprocessed, and how many it has processed. nil when the partition has no task.
    public func progress(partition: Int32) -> (eventTime: Int64, buffered: Int, processed: Int64)? {
        task(partition).map { ($0.eventTime, $0.buffered, $0.processedCount) }
    }

    /// Inputs buffered but not yet processed.
    public var buffered: Int { tasks.reduce(0) { $0 + $1.buffered } }

    /// Processes every buffered input that the merge order allows, task by task in partition order.
    /// - Parameter canSkip: whether the task of `partition` may go on without waiting for input of `kind` when
    ///   that input's buffer is empty (its source is exhausted, or idle for `max_idle` in live mode).
    public mutating func drain(canSkip: (Int32, InputKind) -> Bool, emit: (OutputRecord) -> Void) {
        let context = TaskContext(configuration: configuration, instruments: instruments)
        for p in slots.indices where slots[p] != nil {
            slots[p]!.drain(context: context, canSkip: { canSkip(Int32(p), $0) }, emit: emit)
        }
        for p in slots.indices where slots[p] != nil { slots[p]!.takeRejected(into: &rejectedByReason) }
    }

    /// Closes every open interval (end of a backtest or a bounded replay), in partition then symbol order.
    public mutating func closeAll(emit: (OutputRecord) -> Void) {
        let context = TaskContext(configuration: configuration, instruments: instruments)
        for p in slots.indices where slots[p] != nil { slots[p]!.closeAll(context: context, emit: emit) }
    }

    /// Per input topic and partition, the next offset to read: everything before it has been processed.
    public func processedOffsets() -> [(kind: InputKind, partition: Int32, nextOffset: Int64)] {
        var result: [(InputKind, Int32, Int64)] = []
        for task in tasks {
            for kind in InputKind.allCases {
                if let offset = task.processedOffset[kind.rawValue] { result.append((kind, task.partition, offset + 1)) }
            }
        }
        return result
    }

}

/// A task taken out of its stage (``InstrumentStage/detach(partition:)``): state, merge buffers and positions.
public struct DetachedTask: Sendable {
    fileprivate var task: InstrumentTask
    fileprivate var lastTs: InputTimes?

    /// Per input (``InputKind`` order), the offset after the last input processed; nil before any.
    public var processedEnds: [Int64?] { task.processedOffset.map { $0.map { $0 + 1 } } }
}

/// The largest `ts` enqueued so far of each input of a partition.
struct InputTimes: Sendable {
    var quotes = Int64.min
    var trades = Int64.min

    subscript(kind: InputKind) -> Int64 {
        switch kind {
        case .quotes: quotes
        case .trades: trades
        }
    }

    mutating func merge(_ ts: Int64, of kind: InputKind) {
        switch kind {
        case .quotes: quotes = max(quotes, ts)
        case .trades: trades = max(trades, ts)
        }
    }
}

/// What a task reads from its stage while processing.
struct TaskContext {
    let configuration: InstrumentStageConfiguration
    let instruments: [String: Instrument]

    func metricsTemplate(for symbol: String) -> InstrumentMetrics {
        var m = InstrumentMetrics(symbol: symbol, configuration: configuration.metrics)
        m.multiplier = instruments[symbol]?.multiplier ?? 1
        return m
    }
}

/// One partition's merge buffers and instrument states.
struct InstrumentTask: Sendable {
    let partition: Int32
    var quotes = FIFO<PendingInput>()
    var trades = FIFO<PendingInput>()
    var processedOffset: [Int64?] = [nil, nil]
    /// Inputs processed since the task began.
    var processedCount: Int64 = 0
    /// The task's event time: the largest `ts` merged so far.
    var eventTime = Int64.min
    /// The instruments' states, by their numbers in ``symbols``.
    var states: [InstrumentState] = []
    /// The instruments with state, numbered as ``states`` holds them.
    var symbols = SymbolNumbers()
    /// The indices in ``states`` by the instruments' numbers in the stage's ``SymbolTable`` (-1: not known yet), so
    /// that a decoded input finds its state without hashing its symbol again.
    var stateByNumber: [Int32] = []
    /// The numbers of the states in symbol order (for the outputs that go through every instrument).
    var symbolOrder: [Int] = []
    /// The task's next event time at which to look for stale markets (every W of event time).
    var nextStaleCheck = Int64.min
    /// First input time of instruments missing from the reference data.
    var unknownSince: [String: Int64] = [:]
    /// Recently merged trades: (instrument, id) → ts, forgotten in merge order.
    var recentTrades = RecentTrades()
    var rejectedCounts: [RejectReason: Int] = [:]

    init(partition: Int32) { self.partition = partition }

    var buffered: Int { quotes.count + trades.count }

    mutating func enqueue(_ input: consuming PendingInput) {
        switch input.kind {
        case .quotes: quotes.append(input)
        case .trades: trades.append(input)
        }
    }

    /// Buffers the input `build` makes (of `kind`), built in its place. - Returns: its `ts` unless it is rejected.
    @inline(__always) mutating func enqueue(
        _ kind: InputKind, building build: (inout SymbolTable) -> PendingInput, symbols: inout SymbolTable
    ) -> Int64? {
        switch kind {
        case .quotes:
            quotes.append { build(&symbols) }
            return quotes.peekLast { $0.acceptedTs }!
        case .trades:
            trades.append { build(&symbols) }
            return trades.peekLast { $0.acceptedTs }!
        }
    }

    mutating func setReference(_ multiplier: Double, known: Bool, for symbol: String) {
        guard let index = symbols.number(of: symbol).map(Int.init) else { return }
        states[index].metrics.multiplier = multiplier
        states[index].isKnown = known
    }

    mutating func drain(context: TaskContext, canSkip: (InputKind) -> Bool, emit: (OutputRecord) -> Void) {
        while true {
            let q = quotes.firstMergeKey
            let t = trades.firstMergeKey
            let next: InputKind
            switch (q, t) {
            case let (q?, t?): next = q < t ? .quotes : .trades
            case (.some, nil): guard canSkip(.trades) else { return }; next = .quotes
            case (nil, .some): guard canSkip(.quotes) else { return }; next = .trades
            case (nil, nil): return
            }
            var input = next == .quotes ? quotes.removeFirst() : trades.removeFirst()
            process(&input, context: context, emit: emit)
            processedOffset[next.rawValue] = input.offset
            processedCount += 1
        }
    }

    /// Takes the input's payload: a quote moves into the instrument's state (as the latest quote) without a copy.
    private mutating func process(_ input: inout PendingInput, context: TaskContext, emit: (OutputRecord) -> Void) {
        let topic = context.configuration.topics.name(of: input.kind)
        let origin = Origin(topic: topic, partition: partition, offset: input.offset)
        switch input.takePayload() {
        case .taken:
            return
        case .rejected(let rejected):
            rejectedCounts[rejected.error.reason, default: 0] += 1
            emit(rejected.dlqRecord(eventTime: eventTime == Int64.min ? 0 : eventTime))
        case .quote(let quote):
            // One look-up of the symbol per input: the state's index serves the reference-data check too.
            let found = state(of: quote.instrument, number: quote.instrumentNumber)
            if let error = admit(ts: quote.ts, symbol: quote.instrument, state: found, context: context) {
                return reject(quote.received, symbol: quote.instrument, origin: origin, error: error, emit: emit)
            }
            eventTime = max(eventTime, quote.ts)
            let index = stateIndex(quote.instrument, number: quote.instrumentNumber, found: found, ts: quote.ts,
                                   origin: origin, context: context)
            // Through the array's modify accessor: the state is updated in place, never copied.
            states[index].apply(quote: quote, origin: origin, context: context, emit: emit)
        case .trade(let trade):
            let found = state(of: trade.instrument, number: trade.instrumentNumber)
            // An instrument without a state yet gets the next index (``stateIndex``), which numbers it for
            // de-duplication too.
            if let error = admit(ts: trade.ts, symbol: trade.instrument, state: found, context: context)
                ?? deduplicate(trade, instrument: found ?? states.count, context: context) {
                return reject(trade.received, symbol: trade.instrument, origin: origin, error: error, emit: emit)
            }
            eventTime = max(eventTime, trade.ts)
            let index = stateIndex(trade.instrument, number: trade.instrumentNumber, found: found, ts: trade.ts,
                                   origin: origin, context: context)
            states[index].apply(trade: trade, origin: origin, context: context, emit: emit)
        }
        checkStale(origin: origin, context: context, emit: emit)
    }

    /// Merge-time checks (SPEC §8): lateness against the task's event time, and instruments missing from the
    /// reference data past `unknown_grace`. `state`: the instrument's state, whose ``InstrumentState/isKnown``
    /// answers for the reference data without a lookup. - Returns: the rejection, if any.
    private mutating func admit(
        ts: Int64, symbol: String, state: Int?, context: TaskContext
    ) -> DecodeError? {
        let lateness = context.configuration.allowedLatenessMicros
        if eventTime != Int64.min, ts < eventTime - lateness {
            return DecodeError(.late, "ts \(ts) is \(eventTime - ts) µs behind the task's event time \(eventTime) "
                + "(allowed lateness \(lateness) µs)")
        }
        if !context.instruments.isEmpty,
           !(state.map { states[$0].isKnown } ?? (context.instruments[symbol] != nil)) {
            let since = unknownSince[symbol] ?? ts
            unknownSince[symbol] = since
            if ts - since > context.configuration.unknownGraceMicros {
                return DecodeError(.unknownInstrument, "instrument '\(symbol)' is not in the reference data "
                    + "\((ts - since) / 1000) ms after its first input")
            }
        }
        return nil
    }

    /// A trade whose (instrument, id) was merged within `dedup_window` is a duplicate. Remembers the trade.
    /// `instrument`: the index of the instrument's state.
    private mutating func deduplicate(_ trade: Trade, instrument: Int, context: TaskContext) -> DecodeError? {
        let window = context.configuration.dedupWindowMicros
        while let oldest = recentTrades.oldestTs, oldest < max(eventTime, trade.ts) - window {
            recentTrades.removeOldest()
        }
        if let seen = recentTrades.admit(instrument: instrument, id: trade.id, ts: trade.ts, window: window) {
            return DecodeError(.duplicate, "trade '\(trade.id)' of \(trade.instrument) was already merged at ts \(seen)")
        }
        return nil
    }

    private mutating func reject(
        _ raw: [UInt8], symbol: String, origin: Origin, error: DecodeError, emit: (OutputRecord) -> Void
    ) {
        rejectedCounts[error.reason, default: 0] += 1
        let rejected = RejectedInput(origin: origin, key: Array(symbol.utf8), value: raw, error: error)
        emit(rejected.dlqRecord(eventTime: eventTime == Int64.min ? 0 : eventTime))
    }

    /// Every W of the task's event time, activates `stale-market` for instruments without a quote for
    /// `stale_after`, in symbol order.
    private mutating func checkStale(origin: Origin, context: TaskContext, emit: (OutputRecord) -> Void) {
        guard eventTime != Int64.min, eventTime >= nextStaleCheck else { return }
        let w = context.configuration.metrics.intervalMicros
        nextStaleCheck = floorDiv(eventTime, w) * w + w
        for index in symbolOrder {
            states[index].checkStale(at: eventTime, origin: origin, context: context, emit: emit)
        }
    }

    /// The index of `symbol`'s state, nil if it has none: found by `number` (its number in the stage's symbol
    /// table, -1 if none) when that leads to this very symbol's state, else by its hash (and then remembered under
    /// `number`). The check keeps a number from any other table harmless.
    @inline(__always) private mutating func state(of symbol: String, number: Int16) -> Int? {
        let n = Int(number)
        if n >= 0, n < stateByNumber.count, case let index = Int(stateByNumber[n]), index >= 0,
           symbols.symbols[index] == symbol {
            return index
        }
        guard let found = symbols.number(of: symbol).map(Int.init) else { return nil }
        remember(found, number: number)
        return found
    }

    /// Files state `index` under `number` in ``stateByNumber`` (nothing for -1).
    private mutating func remember(_ index: Int, number: Int16) {
        guard number >= 0 else { return }
        let n = Int(number)
        if n >= stateByNumber.count {
            stateByNumber.append(contentsOf: repeatElement(-1, count: n + 1 - stateByNumber.count))
        }
        stateByNumber[n] = Int32(index)
    }

    /// The index of the instrument's state (`found`, when it has one), created on first sight (and filed under
    /// `number`); records the input as its latest.
    private mutating func stateIndex(
        _ symbol: String, number: Int16, found: Int?, ts: Int64, origin: Origin, context: TaskContext
    ) -> Int {
        if let found {
            states[found].lastOrigin = origin
            return found
        }
        let index = Int(symbols.insert(symbol))
        assert(index == states.count, "a state for every numbered symbol")
        remember(index, number: number)
        states.append(InstrumentState(metrics: context.metricsTemplate(for: symbol), lastOrigin: origin,
                                      rules: context.configuration.triggers, firstTs: ts,
                                      isKnown: context.instruments[symbol] != nil))
        symbolOrder = symbols.symbols.indices.sorted { symbols.symbols[$0] < symbols.symbols[$1] }
        return index
    }

    mutating func closeAll(context: TaskContext, emit: (OutputRecord) -> Void) {
        for index in symbolOrder { states[index].close(context: context, emit: emit) }
    }

    mutating func takeRejected(into totals: inout [RejectReason: Int]) {
        for (reason, n) in rejectedCounts { totals[reason, default: 0] += n }
        rejectedCounts.removeAll(keepingCapacity: true)
    }
}
