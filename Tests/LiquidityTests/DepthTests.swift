import Events
import Liquidity
import Testing

@Suite("Depth")
struct DepthTests {
    /// Mid 10 000 (bid 9999, ask 10001). Boundaries mid·(1 ∓ k/1e4): k=10 → 9990 / 10010, k=50 → 9950 / 10050,
    /// k=100 → 9900 / 10100 (the bid-side ones and 10100 are exact doubles; checked below).
    /// bids: 9999×1, 9990×2 (on the 10 bps boundary), 9989.5×4, 9950×1 (on 50), 9900×0.5 (on 100), 9899×10 (outside)
    ///   10:  9999 + 19980                       = 29 979
    ///   50:  29 979 + 39 958 + 9950             = 79 887
    ///   100: 79 887 + 4950                      = 84 837
    /// asks: 10001×1, 10005×2, 10010.5×3, 10049×1, 10100×0.5 (on 100), 10101×10 (outside)
    ///   10:  10001 + 20010                      = 30 011
    ///   50:  30 011 + 30 031.5 + 10 049         = 70 091.5
    ///   100: 70 091.5 + 5050                    = 75 141.5
    static let book = quote(
        at(ms: 300),
        bid: 9999,
        ask: 10001,
        bids: [(9999, 1), (9990, 2), (9989.5, 4), (9950, 1), (9900, 0.5), (9899, 10)],
        asks: [(10001, 1), (10005, 2), (10010.5, 3), (10049, 1), (10100, 0.5), (10101, 10)]
    )

    @Test func boundariesAreExactDoubles() throws {
        let mid = 10_000.0
        #expect(mid * (1 - 10 / 1e4) == 9990)
        #expect(mid * (1 - 50 / 1e4) == 9950)
        #expect(mid * (1 - 100 / 1e4) == 9900)
        #expect(mid * (1 + 100 / 1e4) == 10100)
        #expect(mid * (1 - 25 / 1e4) == 9975)
        #expect(mid * (1 + 25 / 1e4) == 10025)
    }

    @Test(arguments: [1.0, 0.5, 100.0, 0.001])
    func depthWithinKBpsIncludingBoundaryLevels(multiplier: Double) throws {
        let r = try #require(run([.q(Self.book)], multiplier: multiplier).first)
        let depth = try #require(r.depth)
        #expect(depth.map(\.bps) == [10, 50, 100])
        let expected: [(Double, Double)] = [(29_979, 30_011), (79_887, 70_091.5), (84_837, 75_141.5)]
        for (level, (bid, ask)) in zip(depth, expected) {
            expectClose(level.bid, bid * multiplier, "depth.\(level.bps).bid")
            expectClose(level.ask, ask * multiplier, "depth.\(level.bps).ask")
        }
    }

    /// depth_bps [25, 100]; mid 10 000; boundaries 9975 / 10025 and 9900 / 10100, all exact.
    /// bids 9999×1, 9975×2 (on 25), 9974.5×1, 9900×1 (on 100), 9899.5×1: 25 → 9999 + 19950 = 29 949;
    ///   100 → 29 949 + 9974.5 + 9900 = 49 823.5.
    /// asks 10001×1, 10025×2 (on 25), 10025.5×1, 10100×1 (on 100), 10100.5×1: 25 → 10001 + 20050 = 30 051;
    ///   100 → 30 051 + 10 025.5 + 10 100 = 50 176.5.
    @Test func boundaryLevelsOnBothSidesAreIncluded() throws {
        let q = quote(
            at(ms: 300),
            bid: 9999,
            ask: 10001,
            bids: [(9999, 1), (9975, 2), (9974.5, 1), (9900, 1), (9899.5, 1)],
            asks: [(10001, 1), (10025, 2), (10025.5, 1), (10100, 1), (10100.5, 1)]
        )
        let r = try #require(run([.q(q)], configuration: .with(depthBps: [25, 100])).first)
        let depth = try #require(r.depth)
        #expect(depth.map(\.bps) == [25, 100])
        expectClose(depth[0].bid, 29_949, "25 bid")
        expectClose(depth[0].ask, 30_051, "25 ask")
        expectClose(depth[1].bid, 49_823.5, "100 bid")
        expectClose(depth[1].ask, 50_176.5, "100 ask")
    }

    /// No levels given: the book is the single best level. bid 9999×1.5, ask 10001×2.5, both within 10 bps.
    @Test func singleBestLevelBook() throws {
        let r = try #require(run([.q(quote(at(ms: 300), bid: 9999, ask: 10001, bidSize: 1.5, askSize: 2.5))]).first)
        let depth = try #require(r.depth)
        for level in depth {
            expectClose(level.bid, 9999 * 1.5, "\(level.bps) bid")
            expectClose(level.ask, 10001 * 2.5, "\(level.bps) ask")
        }
    }

    /// A wide book: nothing within 10 bps on either side → 0, not null.
    /// bid 9980, ask 10020 (mid 10 000): 10 bps → 0 / 0; 50 bps → 9980·1 / 10020·1.
    @Test func nothingWithinKIsZero() throws {
        let r = try #require(run([.q(quote(at(ms: 300), bid: 9980, ask: 10020))]).first)
        let depth = try #require(r.depth)
        #expect(depth[0].bid == 0 && depth[0].ask == 0)
        expectClose(depth[1].bid, 9980, "50 bid")
        expectClose(depth[1].ask, 10020, "50 ask")
    }

    /// Depth is the book of the last quote at the close, not of an earlier one.
    @Test func depthUsesTheLastQuote() throws {
        let r = try #require(
            run([
                .q(Self.book),
                .q(quote(at(ms: 800), bid: 9999, ask: 10001, bidSize: 3, askSize: 4)),
            ]).first
        )
        let depth = try #require(r.depth)
        expectClose(depth[2].bid, 9999 * 3, "100 bid")
        expectClose(depth[2].ask, 10001 * 4, "100 ask")
    }

    /// Reference computation over random books, mid·(1 ∓ k/1e4) per the SPEC formula.
    @Test func randomBooksMatchAReference() throws {
        var rng = SeededGenerator(seed: 5)
        for i in 0..<300 {
            let bestBid = Double(Int.random(in: 9_000...11_000, using: &rng))
            let bestAsk = bestBid + Double(Int.random(in: 1...40, using: &rng)) / 2
            var bids: [(Double, Double)] = []
            var asks: [(Double, Double)] = []
            var p = bestBid
            for _ in 0..<Int.random(in: 1...15, using: &rng) {
                bids.append((p, Double(Int.random(in: 1...500, using: &rng)) / 10))
                p -= Double(Int.random(in: 1...30, using: &rng)) / 2
            }
            p = bestAsk
            for _ in 0..<Int.random(in: 1...15, using: &rng) {
                asks.append((p, Double(Int.random(in: 1...500, using: &rng)) / 10))
                p += Double(Int.random(in: 1...30, using: &rng)) / 2
            }
            let q = quote(
                at(ms: 10),
                bid: bestBid,
                ask: bestAsk,
                bidSize: bids[0].1,
                askSize: asks[0].1,
                bids: bids,
                asks: asks
            )
            let multiplier = [1.0, 0.1, 10][i % 3]
            let r = try #require(run([.q(q)], multiplier: multiplier).first)
            let mid = (bestBid + bestAsk) / 2
            for level in try #require(r.depth) {
                let k = Double(level.bps)
                let bid = bids.filter { $0.0 >= mid * (1 - k / 1e4) }.reduce(0.0) { $0 + $1.0 * $1.1 * multiplier }
                let ask = asks.filter { $0.0 <= mid * (1 + k / 1e4) }.reduce(0.0) { $0 + $1.0 * $1.1 * multiplier }
                expectClose(level.bid, bid, "bid \(level.bps)")
                expectClose(level.ask, ask, "ask \(level.bps)")
            }
        }
    }

    /// The book above as a decoded quote, whose levels stay text and are read only as far as the widest band
    /// reaches: the same sums, bit for bit, as the same levels held as values.
    @Test func decodedLevelsGiveTheSameDepthAsLevelsInCode() throws {
        func levels(_ side: [(Double, Double)]) -> String {
            "[" + side.map { "[\($0.0),\($0.1)]" }.joined(separator: ",") + "]"
        }
        let bids: [(Double, Double)] = [(9999, 1), (9990, 2), (9989.5, 4), (9950, 1), (9900, 0.5), (9899, 10), (9000, 7)]
        let asks: [(Double, Double)] = [(10001, 1), (10005, 2), (10010.5, 3), (10049, 1), (10100, 0.5), (10101, 10), (11000, 7)]
        let text = #"{"instrument":"BTC-PERP","ts":1764000000300000,"bid":9999,"bid_size":1,"ask":10001,"ask_size":1,"#
            + #""bids":\#(levels(bids)),"asks":\#(levels(asks))}"#
        let decoded = try Array(text.utf8).withUnsafeBytes { buffer throws(DecodeError) in try Quote.decode(buffer) }
        #expect(decoded.keepsLevelsAsText)
        let built = quote(decoded.ts, bid: 9999, ask: 10001, bidSize: 1, askSize: 1, bids: bids, asks: asks)
        #expect(!built.keepsLevelsAsText)
        for configuration in [MetricsConfiguration.with(depthBps: [10, 50, 100]), .with(depthBps: [100, 10]), .with(depthBps: [])] {
            let a = try #require(run([.q(decoded)], configuration: configuration).first?.depth)
            let b = try #require(run([.q(built)], configuration: configuration).first?.depth)
            #expect(a.count == configuration.depthBps.count)
            #expect(a.map(\.bps) == b.map(\.bps))
            #expect(a.map(\.bid.bitPattern) == b.map(\.bid.bitPattern))
            #expect(a.map(\.ask.bitPattern) == b.map(\.ask.bitPattern))
        }
    }

    /// Levels built in code carry no promise of order: every one within a band counts, wherever it stands.
    @Test func levelsInCodeOutOfOrderStillCount() throws {
        let q = quote(at(ms: 300), bid: 9999, ask: 10001, bidSize: 1, askSize: 1,
                      bids: [(9999, 1), (9000, 5), (9995, 2)], asks: [(10001, 1), (11000, 5), (10005, 2)])
        let depth = try #require(run([.q(q)], configuration: .with(depthBps: [10])).first?.depth?.first)
        expectClose(depth.bid, 9999 + 2 * 9995, "bid")
        expectClose(depth.ask, 10001 + 2 * 10005, "ask")
    }
}
