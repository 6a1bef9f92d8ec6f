import Events
import Liquidity
import Testing

@Suite("Trade metrics")
struct TradeMetricsTests {
    /// Quote 99/101 (mid 100) at 0.1 s; buy 2 @ 101 at 0.2 s; sell 1 @ 99 at 0.3 s; quote 100/102 (mid 101) at 0.4 s;
    /// buy 3 @ 102 at 0.5 s.
    /// volume 6, buy 5, sell 1, trades 3; Σp·s = 202 + 99 + 306 = 607; vwap = 607/6 = 101.1666…; notional = 607·mult.
    /// effective: 2e4·|101−100|/100 = 200 (size 2), 2e4·|99−100|/100 = 200 (size 1),
    ///   2e4·|102−101|/101 = 198.0198 (size 3)
    /// → (2·200 + 1·200 + 3·20000/101)/6 = 100 + 10000/101 = 199.0099…
    static let events: [Event] = [
        .q(quote(at(ms: 100), bid: 99, ask: 101)),
        .t(trade(at(ms: 200), price: 101, size: 2, side: .buy)),
        .t(trade(at(ms: 300), price: 99, size: 1, side: .sell)),
        .q(quote(at(ms: 400), bid: 100, ask: 102)),
        .t(trade(at(ms: 500), price: 102, size: 3, side: .buy)),
    ]

    @Test(arguments: [(1.0, 607.0), (0.1, 60.7), (100.0, 60_700.0), (0.001, 0.607)])
    func tradeAggregates(multiplier: Double, notional: Double) throws {
        let r = try #require(run(Self.events, multiplier: multiplier).first)
        #expect(r.trades == 3 && r.quotes == 2)
        expectClose(r.volume, 6, "volume")
        expectClose(r.buyVolume, 5, "buy_volume")
        expectClose(r.sellVolume, 1, "sell_volume")
        expectClose(r.notional, notional, "notional")
        // vwap, volume and effective spread do not depend on the multiplier.
        expectClose(r.vwap, 607.0 / 6, "vwap")
        expectClose(r.effectiveSpreadBps, 100 + 10_000.0 / 101, "effective_spread_bps")
    }

    /// Buy 1 @ 100 at 0.1 s before any quote (skipped for the effective spread, still in vwap); quote 100/102 at 0.3 s;
    /// sell 1 @ 102 at 0.6 s: effective = 2e4·1/101 = 198.0198…; vwap = (100 + 102)/2 = 101.
    @Test func tradesBeforeAnyQuoteAreSkippedForEffectiveSpreadOnly() throws {
        let r = try #require(
            run([
                .t(trade(at(ms: 100), price: 100, size: 1, side: .buy)),
                .q(quote(at(ms: 300), bid: 100, ask: 102)),
                .t(trade(at(ms: 600), price: 102, size: 1, side: .sell)),
            ]).first
        )
        expectClose(r.effectiveSpreadBps, 2e4 / 101, "effective_spread_bps")
        expectClose(r.vwap, 101, "vwap")
        expectClose(r.volume, 2, "volume")
        #expect(r.buyVolume == 1 && r.sellVolume == 1 && r.trades == 2)
    }

    /// Only trades, no quote ever: buy 2 @ 50, sell 2 @ 52 → vwap 51, notional 204, effective spread null.
    @Test func tradesWithoutAnyQuote() throws {
        let r = try #require(
            run([
                .t(trade(at(ms: 100), price: 50, size: 2, side: .buy)),
                .t(trade(at(ms: 200), price: 52, size: 2, side: .sell)),
            ]).first
        )
        expectClose(r.vwap, 51, "vwap")
        expectClose(r.notional, 204, "notional")
        expectClose(r.volume, 4, "volume")
        #expect(r.effectiveSpreadBps == nil)
        #expect(r.mid == nil && r.ret == nil && r.volEwma == nil && r.var99 == nil && r.es975 == nil)
    }

    /// m is the mid of the last quote merged before the trade, even when that quote is from an earlier interval:
    /// quote 99/101 at 0.1 s; buy 1 @ 101.5 at 1.5 s → 2e4·1.5/100 = 300 bps.
    @Test func effectiveSpreadUsesAStandingQuoteFromAnEarlierInterval() throws {
        let records = run([
            .q(quote(at(ms: 100), bid: 99, ask: 101)),
            .t(trade(at(ms: 1_500), price: 101.5, size: 1, side: .buy)),
        ])
        try #require(records.count == 2)
        #expect(records[0].effectiveSpreadBps == nil && records[0].vwap == nil && records[0].trades == 0)
        expectClose(records[1].effectiveSpreadBps, 300, "effective_spread_bps")
        expectClose(records[1].vwap, 101.5, "vwap")
    }

    /// A quote and a trade at the same ts: merge order puts the quote first, so the trade measures against it.
    /// quote 99/101 at 0.1 s, quote 199/201 (mid 200) at 0.5 s, sell 2 @ 198 at 0.5 s → 2e4·2/200 = 200 bps.
    @Test func effectiveSpreadUsesTheQuoteMergedJustBefore() throws {
        let r = try #require(
            run([
                .q(quote(at(ms: 100), bid: 99, ask: 101)),
                .q(quote(at(ms: 500), bid: 199, ask: 201)),
                .t(trade(at(ms: 500), price: 198, size: 2, side: .sell)),
            ]).first
        )
        expectClose(r.effectiveSpreadBps, 200, "effective_spread_bps")
    }

    /// A trade at the mid has zero effective spread; vwap of one trade is its price.
    @Test func tradeAtMid() throws {
        let r = try #require(
            run([
                .q(quote(at(ms: 100), bid: 99.5, ask: 100.5)),
                .t(trade(at(ms: 200), price: 100, size: 7, side: .buy)),
            ]).first
        )
        #expect(r.effectiveSpreadBps == 0)
        #expect(r.vwap == 100)
        #expect(r.buyVolume == 7 && r.sellVolume == 0)
    }

    @Test func intervalWithoutTradesHasZeroSumsAndNullRatios() throws {
        let r = try #require(run([.q(quote(at(ms: 100), bid: 99, ask: 101))]).first)
        #expect(r.volume == 0 && r.notional == 0 && r.trades == 0 && r.buyVolume == 0 && r.sellVolume == 0)
        #expect(r.vwap == nil && r.effectiveSpreadBps == nil)
    }

    /// Reference computation over many trades, interval by interval.
    @Test func manyTradesMatchAReferenceSum() throws {
        var rng = SeededGenerator(seed: 99)
        var events: [Event] = []
        var expected: [Int64: (v: Double, ps: Double, buy: Double, eff: Double, effSize: Double, n: Int)] = [:]
        var mid: Double?
        var ts = T0
        for _ in 0..<600 {
            ts += Int64.random(in: 1...20_000, using: &rng)
            let start = ts - (ts - 0) % 1_000_000
            if Bool.random(using: &rng) {
                let m = Double(Int.random(in: 9_000...11_000, using: &rng))
                let half = Double(Int.random(in: 1...20, using: &rng)) / 4
                events.append(.q(quote(ts, bid: m - half, ask: m + half)))
                mid = m
            } else {
                let price = Double(Int.random(in: 8_900...11_100, using: &rng)) / 1
                let size = Double(Int.random(in: 1...1_000, using: &rng)) / 100
                let side: Side = Bool.random(using: &rng) ? .buy : .sell
                events.append(.t(trade(ts, price: price, size: size, side: side)))
                var e = expected[start] ?? (0, 0, 0, 0, 0, 0)
                e.v += size
                e.ps += price * size
                if side == .buy { e.buy += size }
                if let mid {
                    e.eff += size * 2e4 * abs(price - mid) / mid
                    e.effSize += size
                }
                e.n += 1
                expected[start] = e
            }
        }
        let records = run(events, multiplier: 0.25)
        for r in records {
            let e = expected[r.start] ?? (0, 0, 0, 0, 0, 0)
            #expect(r.trades == e.n)
            expectClose(r.volume, e.v, "volume")
            expectClose(r.buyVolume, e.buy, "buy")
            expectClose(r.sellVolume, e.v - e.buy, "sell")
            expectClose(r.notional, e.ps * 0.25, "notional")
            if e.v > 0 { expectClose(r.vwap, e.ps / e.v, "vwap") } else { #expect(r.vwap == nil) }
            if e.effSize > 0 {
                expectClose(r.effectiveSpreadBps, e.eff / e.effSize, "effective")
            } else {
                #expect(r.effectiveSpreadBps == nil)
            }
        }
        #expect(records.reduce(0) { $0 + $1.trades } == expected.values.reduce(0) { $0 + $1.n })
    }
}

/// SplitMix64, so randomized scenarios are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
