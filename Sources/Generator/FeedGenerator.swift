/// A deterministic, streaming synthetic market feed for one `FeedConfiguration`.
///
/// `next()` yields, in non-decreasing `ts` order: every `instruments` record (BTC, ETH and SOL perpetuals, then a
/// 20-option BTC chain over two expiries) at the start time; then, when `accounts > 0`, the `accounts` records that
/// on-board each account at the start time; then quotes and trades interleaved by event time until
/// `startMicros + durationMicros` (at equal times quotes come before trades). Every instrument is quoted at exactly
/// the start time; afterwards quotes arrive as Poisson processes (perpetuals every `quoteIntervalMicros` on
/// average, options five times less often) and trades too (perpetuals every 2–4 quote intervals, more often under
/// stress; options every 60).
///
/// The same configuration yields a byte-identical sequence: all randomness comes from a seeded xoshiro256**; no
/// clock or system randomness is read. Memory is constant in the duration and the number of records: the
/// generator keeps one book per instrument and one pending event per source. It is a value: a copy continues
/// independently from where it was copied.
///
/// ```swift
/// for record in FeedGenerator(FeedConfiguration(scenario: .flashCrash, accounts: 50)) {
///     producer.send(topic: record.topic.rawValue, key: record.key, value: record.value)
/// }
/// ```
///
/// - Complexity: O(log instruments) per record.
public struct FeedGenerator: Sequence, IteratorProtocol, Sendable {
    private enum Phase {
        case instruments
        case accounts
        case market
        case finished
    }

    /// The configuration, with out-of-range values clamped.
    public let configuration: FeedConfiguration

    let catalog: InstrumentCatalog
    let profile: StressProfile
    var market: MarketProcess
    var books: OrderBooks
    var random: FeedRandom
    /// Where records are written before they become strings; see `makeWriter()`.
    private(set) var scratch: ByteScratch
    /// Number of trades written, the numeric part of the next trade id.
    var tradeCount: Int64 = 0
    /// Mean time between quotes of each instrument, µs.
    let quoteMeans: [Double]
    /// Mean time between trades of each instrument in a calm market, µs.
    let tradeMeans: [Double]
    /// When each instrument neither quotes nor trades (the flash crash's gap), if ever.
    let pauses: [Range<Int64>?]

    private var phase = Phase.instruments
    private var queue: EventQueue
    private let onboarding: AccountOnboarding
    private let endMicros: Int64
    /// The next instrument index or account number of the current phase.
    private var cursor = 0
    private var pendingAccountRecords: [FeedRecord] = []
    private var pendingIndex = 0

    /// Prepares the feed for `configuration`; nothing is generated until `next()`.
    public init(_ configuration: FeedConfiguration) {
        let clamped = configuration.clamped()
        self.configuration = clamped
        let start = clamped.startMicros
        endMicros = clamped.durationMicros > Int64.max - start ? Int64.max : start + clamped.durationMicros

        catalog = InstrumentCatalog(startMicros: start)
        var setup = FeedRandom(seed: clamped.seed, stream: 1)
        profile = StressProfile(
            scenario: clamped.scenario,
            startMicros: start,
            durationMicros: clamped.durationMicros,
            assets: catalog.assets,
            random: &setup
        )
        random = FeedRandom(seed: clamped.seed, stream: 2)
        let interval = Double(clamped.quoteIntervalMicros)
        market = MarketProcess(
            assets: catalog.assets,
            startMicros: start,
            stepMicros: Swift.min(Swift.max(clamped.quoteIntervalMicros / 2, 1_000), 50_000),
            random: &random
        )
        books = OrderBooks(instrumentCount: catalog.instruments.count)
        scratch = ByteScratch(capacity: 16_384)
        onboarding = AccountOnboarding(catalog: catalog, seed: clamped.seed, startMicros: start)

        let catalog = self.catalog
        let profile = self.profile
        quoteMeans = catalog.instruments.map { $0.option == nil ? interval : 5 * interval }
        tradeMeans = catalog.instruments.map { instrument in
            instrument.option == nil ? catalog.assets[instrument.asset].tradeIntervalFactor * interval : 60 * interval
        }
        pauses = catalog.instruments.map { $0.option == nil ? profile.quotePause(asset: $0.asset) : nil }

        queue = EventQueue(capacity: 2 * catalog.instruments.count)
        let count = catalog.instruments.count
        for index in 0..<count {
            queue.insert(ScheduledEvent(ts: start, source: index))
            if let first = nextTradeTime(index, after: start) {
                queue.insert(ScheduledEvent(ts: first, source: count + index))
            }
        }
    }

    /// The next record, or `nil` once the feed's duration is exhausted.
    public mutating func next() -> FeedRecord? {
        while true {
            switch phase {
            case .instruments:
                if cursor < catalog.instruments.count {
                    let instrument = catalog.instruments[cursor]
                    cursor += 1
                    return FeedRecord(
                        topic: .instruments,
                        key: instrument.symbol,
                        value: instrument.json,
                        ts: configuration.startMicros
                    )
                }
                phase = .accounts
                cursor = 1
            case .accounts:
                if pendingIndex < pendingAccountRecords.count {
                    pendingIndex += 1
                    return pendingAccountRecords[pendingIndex - 1]
                }
                guard cursor <= configuration.accounts else {
                    pendingAccountRecords = []
                    phase = .market
                    continue
                }
                makeUniqueScratch()
                pendingAccountRecords = onboarding.records(forAccount: cursor, scratch: scratch)
                pendingIndex = 0
                cursor += 1
            case .market:
                guard let event = queue.first, event.ts < endMicros else {
                    phase = .finished
                    return nil
                }
                market.advance(to: event.ts, profile: profile, random: &random)
                let count = catalog.instruments.count
                if event.source < count {
                    let record = quote(event.source, at: event.ts)
                    let next = nextQuoteTime(event.source, after: event.ts)
                    queue.replaceFirst(with: next.map { ScheduledEvent(ts: $0, source: event.source) })
                    return record
                }
                let instrument = event.source - count
                let record = trade(instrument, at: event.ts)
                let next = nextTradeTime(instrument, after: event.ts)
                queue.replaceFirst(with: next.map { ScheduledEvent(ts: $0, source: event.source) })
                return record
            case .finished:
                return nil
            }
        }
    }

    /// A writer into the scratch buffer, which is first copied if another generator value shares it.
    mutating func makeWriter() -> RecordWriter {
        makeUniqueScratch()
        return RecordWriter(scratch)
    }

    private mutating func makeUniqueScratch() {
        if !isKnownUniquelyReferenced(&scratch) { scratch = ByteScratch(capacity: scratch.capacity) }
    }
}
