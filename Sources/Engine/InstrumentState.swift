import Events
import Liquidity

/// An instrument's state in a task: metrics, trigger trackers, staleness and the last mark published.
/// Its methods run in place on the task's array element (no copies of the state per event).
struct InstrumentState: Sendable {
    var metrics: InstrumentMetrics
    /// The last input merged for the instrument: the cause of a record closed at the end of input.
    var lastOrigin: Origin
    /// Per configured rule, its tracker (nil where the rule does not watch this instrument).
    var triggers: [TriggerTracker?]
    /// The last quote's time, or the first event's while there has been no quote.
    var lastQuoteTs: Int64
    var isStale = false
    /// The last mark published, once ``hasPublishedMark`` (not an optional, whose replacement goes through the
    /// runtime's generic value witness).
    var publishedMark = MarkRecord(instrument: "", ts: 0, mark: 0, iv: nil, bids: [], asks: [], stress: 0)
    var hasPublishedMark = false
    /// Whether the reference data lists the instrument (kept current by ``InstrumentStage/apply(instrument:symbol:)``).
    var isKnown: Bool

    init(metrics: InstrumentMetrics, lastOrigin: Origin, rules: [TriggerRule], firstTs: Int64, isKnown: Bool) {
        self.metrics = metrics
        self.isKnown = isKnown
        self.lastOrigin = lastOrigin
        triggers = rules.map { $0.applies(to: metrics.symbol) ? TriggerTracker(levels: $0.levels.count) : nil }
        lastQuoteTs = firstTs
        key = Array(metrics.symbol.utf8)
        markFragments = MarkRecord.Fragments(instrument: metrics.symbol)
    }

    var symbol: String { metrics.symbol }
    /// The output key (the symbol's bytes), built once and shared by every record.
    let key: [UInt8]
    /// The constant text of the instrument's marks.
    let markFragments: MarkRecord.Fragments

    /// The highest severity among the active triggers (rules and `stale-market`).
    var stress: Int {
        var s = isStale ? 1 : 0
        for tracker in triggers { s = max(s, tracker?.severity ?? 0) }
        return s
    }

    mutating func apply(quote: consuming Quote, origin: Origin, context: TaskContext, emit: (OutputRecord) -> Void) {
        // The trackers move out of the state while the handler, called amid the metrics' update, updates them.
        var trackers = triggers
        triggers = []
        let key = key
        let ts = quote.ts
        metrics.apply(quote: consume quote) {
            Self.emitClose($0, key: key, triggers: &trackers, origin: origin, context: context, emit: emit)
        }
        triggers = trackers
        let previous = lastQuoteTs
        lastQuoteTs = ts
        if isStale {
            // A quote ends staleness: the `stale-market` trigger clears.
            isStale = false
            let event = TriggerEvent(instrument: symbol, rule: staleMarketRule, ts: ts, state: .cleared,
                                     severity: 0, previousSeverity: 1, since: ts,
                                     evidence: [("stale_s", Double(ts - previous) / 1e6)])
            emit(OutputRecord(topic: .triggers, key: key, value: event.encoded(), origin: origin))
        }
        publishMark(at: ts, origin: origin, context: context, emit: emit)
    }

    mutating func apply(trade: Trade, origin: Origin, context: TaskContext, emit: (OutputRecord) -> Void) {
        var trackers = triggers
        triggers = []
        let key = key
        metrics.apply(trade: trade) {
            Self.emitClose($0, key: key, triggers: &trackers, origin: origin, context: context, emit: emit)
        }
        triggers = trackers
        for fill in FillRecord.fills(of: trade) {
            var record = OutputRecord(topic: .fills, key: Array(fill.account.utf8), value: fill.encoded(), origin: origin)
            record.fill = fill
            emit(record)
        }
        publishMark(at: trade.ts, origin: origin, context: context, emit: emit)
    }

    /// Closes the open interval at the end of the input.
    mutating func close(context: TaskContext, emit: (OutputRecord) -> Void) {
        if let record = metrics.close() {
            Self.emitClose(record, key: key, triggers: &triggers, origin: lastOrigin, context: context, emit: emit)
        }
    }

    /// Activates `stale-market` when there has been no quote for `stale_after` of the task's event time.
    mutating func checkStale(at eventTime: Int64, origin: Origin, context: TaskContext, emit: (OutputRecord) -> Void) {
        guard !isStale, eventTime - lastQuoteTs >= context.configuration.staleAfterMicros else { return }
        isStale = true
        let event = TriggerEvent(instrument: symbol, rule: staleMarketRule, ts: eventTime, state: .activated,
                                 severity: 1, previousSeverity: 0, since: lastQuoteTs,
                                 evidence: [("stale_s", Double(eventTime - lastQuoteTs) / 1e6)])
        emit(OutputRecord(topic: .triggers, key: key, value: event.encoded(), origin: origin))
        publishMark(at: eventTime, origin: origin, context: context, emit: emit)
    }

    /// A metrics record, then the trigger events it causes, in rule order.
    private static func emitClose(
        _ record: borrowing LiquidityRecord, key: [UInt8], triggers: inout [TriggerTracker?], origin: Origin,
        context: TaskContext, emit: (OutputRecord) -> Void
    ) {
        emit(OutputRecord(topic: .liquidityMetrics, key: key, value: record.encoded(), origin: origin))
        let rules = context.configuration.triggers
        for r in rules.indices where triggers[r] != nil {
            if let event = triggers[r]!.evaluate(rules[r], record: record) {
                emit(OutputRecord(topic: .triggers, key: key, value: event.encoded(), origin: origin))
            }
        }
    }

    /// Publishes the mark if its mark, book or stress differs from the last one published and `marks.interval`
    /// of event time has passed since; a change inside the window waits for a later event.
    private mutating func publishMark(at ts: Int64, origin: Origin, context: TaskContext, emit: (OutputRecord) -> Void) {
        if hasPublishedMark, ts - publishedMark.ts < context.configuration.markIntervalMicros { return }
        guard metrics.hasQuote else { return }
        let quote = metrics.latestQuote
        let mark: MarkRecord
        if let text = quote.levelsText {
            // The levels' text, shared with the quote's bytes: read again only if a consumer asks for the values.
            mark = MarkRecord(instrument: symbol, ts: ts, mark: quote.mid, iv: quote.iv, levelsIn: quote.received,
                              bids: text.bids, asks: text.asks, stress: stress)
        } else {
            mark = MarkRecord(instrument: symbol, ts: ts, mark: quote.mid, iv: quote.iv, bids: quote.bids,
                              asks: quote.asks, stress: stress)
        }
        if hasPublishedMark, !mark.differs(from: publishedMark) { return }
        publishedMark = mark
        hasPublishedMark = true
        var record = OutputRecord(topic: .marks, key: key, value: mark.encoded(markFragments), origin: origin)
        record.mark = mark
        emit(record)
    }
}
