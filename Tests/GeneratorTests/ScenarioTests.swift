import Generator
import Testing

/// The scenarios' market behaviour, measured the way the liquidity stage would see it.
@Suite("Scenarios")
struct ScenarioTests {
    static let start: Int64 = 1_764_000_000_000_000

    @Test("calm stays calm: tight spreads and no crash", arguments: [UInt64(1), 2, 3])
    func calmStaysCalm(seed: UInt64) {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: .calm, seed: seed))
        for symbol in FeedTestKit.perpetuals {
            let quotes = FeedTestKit.quotes(records, instrument: symbol)
            let first = quotes[0].mid
            #expect(quotes.allSatisfy { $0.spreadBps < 10 }, "\(symbol) spread")
            #expect(quotes.allSatisfy { abs($0.mid / first - 1) < 0.03 }, "\(symbol) moved more than 3 %")
            #expect(quotes[0].spreadBps < 5)
        }
        let btc = FeedTestKit.quotes(records, instrument: "BTC-PERP")
        let mids = FeedTestKit.oneSecondMids(btc, start: Self.start, seconds: 600)
        let annualized = FeedTestKit.realizedVol(mids[...]) * (365.0 * 86_400).squareRoot()
        #expect(annualized > 0.25 && annualized < 0.9, "calm BTC vol \(annualized)")
    }

    @Test(
        "flash crash: a 10 %+ fall, 10×+ wider spreads, thin books, sellers, and a quote gap",
        arguments: [
            UInt64(1), 2, 3,
        ]
    )
    func flashCrash(seed: UInt64) {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: .flashCrash, seed: seed))
        var longestGapSeconds = 0.0
        for symbol in FeedTestKit.perpetuals {
            let quotes = FeedTestKit.quotes(records, instrument: symbol)
            let first = quotes[0]
            let lowest = quotes.map(\.mid).min() ?? first.mid
            let widest = quotes.map(\.spreadBps).max() ?? 0
            let drop = 1 - lowest / first.mid
            #expect(drop >= 0.10 && drop <= 0.22, "\(symbol) fell \(drop)")
            #expect(widest >= 10 * first.spreadBps && widest >= 50, "\(symbol) widest \(widest) bps")
            let thinnest = quotes.map(\.bidDepth).min() ?? 0
            #expect(first.bidDepth >= 10 * thinnest, "\(symbol) depth")
            // Partial recovery: the last mid is above the bottom but below the start.
            let last = quotes[quotes.count - 1].mid
            #expect(last > lowest * 1.02 && last < first.mid)
            for (previous, next) in zip(quotes, quotes.dropFirst()) {
                longestGapSeconds = max(longestGapSeconds, Double(next.ts - previous.ts) / 1e6)
            }
        }
        #expect(longestGapSeconds > 10)
        // The fall starts at 40 % (240 s) and lasts 45 s: sellers dominate.
        let fall = FeedTestKit.trades(records).filter {
            let ts = Int64(FeedTestKit.number($0["ts"]) ?? 0)
            return ts >= Self.start + 240_000_000 && ts < Self.start + 285_000_000
        }
        let sells = Double(fall.filter { $0["side"] as? String == "sell" }.count) / Double(max(fall.count, 1))
        #expect(sells > 0.65, "sell share \(sells)")
    }

    @Test(
        "liquidity drain: flat price, spreads beyond 80 bps, drained books, then recovery",
        arguments: [
            UInt64(1), 2, 3,
        ]
    )
    func liquidityDrain(seed: UInt64) {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: .liquidityDrain, seed: seed))
        for symbol in FeedTestKit.perpetuals {
            let quotes = FeedTestKit.quotes(records, instrument: symbol)
            let first = quotes[0]
            #expect(quotes.allSatisfy { abs($0.mid / first.mid - 1) < 0.03 }, "\(symbol) not flat")
            let widest = quotes.map(\.spreadBps).max() ?? 0
            #expect(widest > 80 && widest >= 10 * first.spreadBps, "\(symbol) widest \(widest) bps")
            // Steady widening: the median spread of each tenth of the ramp (60 s … 420 s) rises.
            let medians = stride(from: 60, to: 420, by: 60).map { second -> Double in
                let window = quotes.filter {
                    $0.ts >= Self.start + Int64(second) * 1_000_000
                        && $0.ts < Self.start + Int64(second + 60) * 1_000_000
                }.map(\.spreadBps).sorted()
                return window[window.count / 2]
            }
            #expect(zip(medians, medians.dropFirst()).allSatisfy { $0 < $1 }, "\(symbol) medians \(medians)")
            let thinnest = quotes.map(\.bidDepth).min() ?? 0
            #expect(first.bidDepth >= 10 * thinnest)
            let tail = quotes.filter { $0.ts >= Self.start + 580_000_000 }.map(\.spreadBps)
            #expect(tail.allSatisfy { $0 < 15 }, "\(symbol) did not recover")
        }
    }

    @Test("vol spike: realized vol of one-second mids rises 3×+ in the spike", arguments: [UInt64(1), 2, 3, 4, 5])
    func volSpike(seed: UInt64) {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: .volSpike, seed: seed))
        for symbol in FeedTestKit.perpetuals {
            let quotes = FeedTestKit.quotes(records, instrument: symbol)
            let mids = FeedTestKit.oneSecondMids(quotes, start: Self.start, seconds: 600)
            // The spike starts at 35 % (210 s) and holds 180 s.
            let before = FeedTestKit.realizedVol(mids[20..<205])
            let during = FeedTestKit.realizedVol(mids[216..<390])
            #expect(during >= 3 * before, "\(symbol): \(during) vs \(before)")
            let widest = quotes.map(\.spreadBps).max() ?? 0
            #expect(widest > 2 * quotes[0].spreadBps && widest < 50, "\(symbol) widest \(widest) bps")
        }
    }

    @Test("option implied vols rise in stress")
    func impliedVolRisesInStress() {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: .flashCrash, seed: 4))
        let quotes = FeedTestKit.quotes(records, instrument: "BTC-26DEC25-64000-P")
        let calm = quotes.filter { $0.ts < Self.start + 200_000_000 }.compactMap(\.impliedVol).max() ?? 0
        let stressed =
            quotes.filter { $0.ts >= Self.start + 250_000_000 && $0.ts < Self.start + 300_000_000 }
            .compactMap(\.impliedVol).max() ?? 0
        #expect(stressed > 1.3 * calm, "\(stressed) vs \(calm)")
    }
}
