import Generator
import Testing

@Suite("Quote validity")
struct QuoteValidityTests {
    /// Tick sizes by symbol, read from the `instruments` records.
    static func ticks(_ records: [FeedRecord]) -> [String: Double] {
        var ticks: [String: Double] = [:]
        for record in records where record.topic == .instruments {
            ticks[record.key] = FeedTestKit.number(FeedTestKit.object(record.value)?["tick_size"])
        }
        return ticks
    }

    static func isOnGrid(_ price: Double, tick: Double) -> Bool {
        let steps = price / tick
        return abs(steps - steps.rounded()) < 1e-6
    }

    @Test("every quote is a well-formed, uncrossed, ordered book on the tick grid", arguments: Scenario.allCases)
    func quotesAreValid(scenario: Scenario) throws {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: scenario, seed: 3))
        let ticks = Self.ticks(records)
        var checked = 0
        for record in records where record.topic == .quotes {
            let quote = try #require(FeedTestKit.quote(record), "unparseable quote \(record.value)")
            let tick = try #require(ticks[quote.instrument])
            let isOption = quote.impliedVol != nil
            #expect(record.key == quote.instrument)
            #expect(quote.bid < quote.ask, "crossed: \(record.value)")
            #expect(quote.bid > 0 && quote.bidSize > 0 && quote.askSize > 0)
            #expect(quote.bid == quote.bids.first?.price && quote.bidSize == quote.bids.first?.size)
            #expect(quote.ask == quote.asks.first?.price && quote.askSize == quote.asks.first?.size)
            #expect(zip(quote.bids, quote.bids.dropFirst()).allSatisfy { $0.price > $1.price }, "\(record.value)")
            #expect(zip(quote.asks, quote.asks.dropFirst()).allSatisfy { $0.price < $1.price }, "\(record.value)")
            #expect((quote.bids + quote.asks).allSatisfy { $0.price > 0 && $0.size > 0 })
            #expect((quote.bids + quote.asks).allSatisfy { Self.isOnGrid($0.price, tick: tick) })
            #expect(quote.asks.count >= 5 && quote.asks.count <= 10)
            #expect(quote.bids.count <= 10 && quote.bids.count >= (isOption ? 1 : 5))
            if let iv = quote.impliedVol { #expect(iv > 0.05 && iv < 3) }
            checked += 1
        }
        #expect(checked > 10_000)
    }

    @Test("options quote an implied vol; perpetuals do not")
    func impliedVolOnlyOnOptions() {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: .calm, durationMicros: 10_000_000))
        for record in records where record.topic == .quotes {
            let hasVol = FeedTestKit.quote(record)?.impliedVol != nil
            #expect(hasVol == !record.key.hasSuffix("-PERP"))
        }
    }

    @Test("numbers are plain, short decimals: no exponents, no NaN, no binary noise", arguments: Scenario.allCases)
    func numbersAreShort(scenario: Scenario) {
        let records = FeedTestKit.collect(
            FeedConfiguration(scenario: scenario, durationMicros: 30_000_000, accounts: 5)
        )
        for record in records.prefix(5_000) {
            let tokens = record.value.split(whereSeparator: { ",:[]{}".contains($0) })
            for token in tokens where !token.hasPrefix("\"") {
                #expect(Self.isPlainNumber(token), "\(token) in \(record.value)")
                // Ticks and lots have at most 3 decimals, iv and fee 4: more would be rounding noise.
                guard record.topic != .instruments else { continue }
                let decimals = token.contains(".") ? token.split(separator: ".").last?.count ?? 0 : 0
                #expect(decimals <= 4, "\(token) in \(record.value)")
            }
        }
    }

    /// `-?digits(.digits)?` with no leading zeros and no trailing zeros after the point.
    static func isPlainNumber(_ token: Substring) -> Bool {
        let body = token.hasPrefix("-") ? token.dropFirst() : token
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let integer = parts.first, !integer.isEmpty,
            integer.allSatisfy(\.isASCII), integer.allSatisfy(\.isNumber)
        else { return false }
        if integer.count > 1 && integer.hasPrefix("0") { return false }
        guard parts.count == 2 else { return true }
        let fraction = parts[1]
        return !fraction.isEmpty && fraction.allSatisfy { $0.isASCII && $0.isNumber } && !fraction.hasSuffix("0")
    }
}
