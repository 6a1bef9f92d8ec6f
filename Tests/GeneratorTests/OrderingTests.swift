import Generator
import Testing

@Suite("Ordering")
struct OrderingTests {
    static let configuration = FeedConfiguration(scenario: .flashCrash, seed: 7, accounts: 12)

    @Test("timestamps never decrease and stay inside the configured span")
    func timestampsNonDecreasing() {
        let records = FeedTestKit.collect(Self.configuration)
        let start = Self.configuration.startMicros
        let end = start + Self.configuration.durationMicros
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.ts <= $1.ts })
        #expect(records.allSatisfy { $0.ts >= start && $0.ts < end })
    }

    @Test("instruments come first, then accounts, then quotes and trades")
    func phases() {
        let records = FeedTestKit.collect(Self.configuration)
        let rank: [FeedTopic: Int] = [.instruments: 0, .accounts: 1, .quotes: 2, .trades: 2]
        let ranks = records.compactMap { rank[$0.topic] }
        #expect(ranks.count == records.count)
        #expect(zip(ranks, ranks.dropFirst()).allSatisfy { $0 <= $1 })
        let instruments = records.prefix { $0.topic == .instruments }
        #expect(instruments.count == 23)
        #expect(instruments.allSatisfy { $0.ts == Self.configuration.startMicros })
    }

    @Test("every instrument is quoted at the start, before any trade")
    func everyInstrumentQuotedAtStart() {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: .calm, durationMicros: 10_000_000))
        let symbols = Set(records.filter { $0.topic == .instruments }.map(\.key))
        let market = records.drop { $0.topic == .instruments }
        let opening = market.prefix { $0.topic == .quotes && $0.ts == 1_764_000_000_000_000 }
        #expect(Set(opening.map(\.key)) == symbols)
        #expect(opening.count == symbols.count)
    }

    @Test("quotes come before trades at equal times")
    func quotesBeforeTradesAtEqualTimes() {
        let records = FeedTestKit.collect(Self.configuration)
        for (previous, next) in zip(records, records.dropFirst()) where previous.ts == next.ts {
            #expect(!(previous.topic == .trades && next.topic == .quotes))
        }
    }

    @Test("records carry their key in the value")
    func keysMatchValues() {
        for record in FeedTestKit.collect(Self.configuration) where record.topic != .instruments {
            let json = FeedTestKit.object(record.value)
            let field = record.topic == .accounts ? "account" : "instrument"
            #expect(json?[field] as? String == record.key)
            #expect(FeedTestKit.number(json?["ts"]).map { Int64($0) } == record.ts)
        }
    }
}
