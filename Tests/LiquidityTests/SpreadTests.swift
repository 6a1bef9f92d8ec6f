import Events
import Foundation
import Liquidity
import Testing

@Suite("Spread and top-of-book metrics")
struct SpreadTests {
    /// W = 1 s. [0,1): 2 bps quoted at 0.2 s, 4 bps at 0.7 s. Time before 0.2 s precedes the first quote ever
    /// and is not counted: avg = (0.5·2 + 0.3·4)/0.8 = 2.2/0.8 = 2.75 bps.
    /// [1,2): 6 bps quoted exactly at 1.0 s (it closes [0,1) and opens [1,2)), 1 bps at 1.5 s:
    /// avg = (0.5·6 + 0.5·1)/1.0 = 3.5 bps.
    @Test func timeWeightedSpreadWorkedExample() throws {
        let records = run([
            .q(quote(at(ms: 200), spreadBps: 2)),  // 9999 / 10001
            .q(quote(at(ms: 700), spreadBps: 4)),  // 9998 / 10002
            .q(quote(at(ms: 1_000), spreadBps: 6)),  // 9997 / 10003
            .q(quote(at(ms: 1_500), spreadBps: 1)),  // 9999.5 / 10000.5
        ])
        try #require(records.count == 2)
        let (a, b) = (records[0], records[1])
        expectClose(a.spreadBpsAvg, 2.75, "spread_bps_avg [0,1)")
        expectClose(a.spreadBps, 4, "spread_bps = last quote's")
        #expect(a.bid == 9998 && a.ask == 10002 && a.mid == 10_000)
        #expect(a.quotes == 2)
        expectClose(a.staleSeconds, 0.3, "stale_s = (1.0 − 0.7)")
        expectClose(b.spreadBpsAvg, 3.5, "spread_bps_avg [1,2)")
        expectClose(b.spreadBps, 1, "spread_bps")
        #expect(b.bid == 9999.5 && b.ask == 10000.5)
        expectClose(b.staleSeconds, 0.5, "stale_s = (2.0 − 1.5)")
    }

    /// The quote standing at `start` counts from `start`, also in intervals opened by a trade and in intervals with no
    /// quote at all.
    /// [1,2): 4 bps stands 1.0→1.6, 8 bps 1.6→2.0: (0.6·4 + 0.4·8)/1 = 2.4 + 3.2 = 5.6.
    /// [2,3): only a trade; 8 bps stands all interval: 8. Snapshot fields come from the standing quote.
    @Test func standingQuoteCountsFromStart() throws {
        let records = run([
            .q(quote(at(ms: 200), spreadBps: 2)),
            .q(quote(at(ms: 700), spreadBps: 4)),
            .t(trade(at(ms: 1_250), price: 10_000, size: 1, side: .buy)),
            .q(quote(at(ms: 1_600), spreadBps: 8)),  // 9996 / 10004
            .t(trade(at(ms: 2_300), price: 10_000, size: 1, side: .sell)),
        ])
        try #require(records.count == 3)
        expectClose(records[0].spreadBpsAvg, 2.75, "[0,1)")
        expectClose(records[1].spreadBpsAvg, 5.6, "[1,2)")
        #expect(records[1].quotes == 1)
        let c = records[2]
        expectClose(c.spreadBpsAvg, 8, "[2,3) without a quote")
        expectClose(c.spreadBps, 8, "spread_bps of the standing quote")
        #expect(c.quotes == 0 && c.bid == 9996 && c.ask == 10004 && c.mid == 10_000)
        expectClose(c.staleSeconds, 1.4, "stale_s = (3.0 − 1.6)")
    }

    /// Time before the first quote ever is not counted, even when a trade opened the interval:
    /// 3 bps 0.4→0.9, 5 bps 0.9→1.0: (0.5·3 + 0.1·5)/0.6 = 2.0/0.6 = 3.3333…
    @Test func timeBeforeTheFirstQuoteIsNotCounted() throws {
        let records = run([
            .t(trade(at(ms: 100), price: 10_000, size: 1, side: .buy)),
            .q(quote(at(ms: 400), spreadBps: 3)),  // 9998.5 / 10001.5
            .q(quote(at(ms: 900), spreadBps: 5)),  // 9997.5 / 10002.5
        ])
        try #require(records.count == 1)
        expectClose(records[0].spreadBpsAvg, 2.0 / 0.6, "spread_bps_avg")
        #expect(records[0].quotes == 2 && records[0].trades == 1)
    }

    /// Across a gap: 2 bps at 0.5 s; next event 6 bps at 3.2 s. [0,1): 2. [3,4): 2 bps stands 3.0→3.2, 6 bps 3.2→4.0:
    /// (0.2·2 + 0.8·6)/1 = 0.4 + 4.8 = 5.2. No time from the empty intervals [1,3) leaks in.
    @Test func standingQuoteAcrossEmptyIntervals() throws {
        let records = run([.q(quote(at(ms: 500), spreadBps: 2)), .q(quote(at(ms: 3_200), spreadBps: 6))])
        try #require(records.count == 2)
        expectClose(records[0].spreadBpsAvg, 2, "[0,1)")
        #expect(records[1].start == T0 + 3_000_000)
        expectClose(records[1].spreadBpsAvg, 5.2, "[3,4)")
        expectClose(records[1].staleSeconds, 0.8, "stale_s")
    }

    /// A quote replaced at the same ts weighs nothing; a quote exactly at `start` weighs the whole interval.
    @Test func zeroLengthAndFullLengthWeights() throws {
        let records = run([
            .q(quote(T0, spreadBps: 2)),
            .q(quote(at(ms: 1_000), spreadBps: 4)),
            .q(quote(at(ms: 1_500), spreadBps: 10)),
            .q(quote(at(ms: 1_500), spreadBps: 6)),
        ])
        try #require(records.count == 2)
        expectClose(records[0].spreadBpsAvg, 2, "quote at start, alone")
        expectClose(records[0].staleSeconds, 1, "stale_s = 1 s")
        // 4 bps 1.0→1.5, 10 bps 1.5→1.5 (nothing), 6 bps 1.5→2.0: (0.5·4 + 0.5·6)/1 = 5.
        expectClose(records[1].spreadBpsAvg, 5, "same-ts replacement")
        expectClose(records[1].spreadBps, 6, "last quote")
        #expect(records[1].quotes == 3)
    }

    /// W = 250 ms: 2 bps at 0 ms, 4 bps at 100 ms, 6 bps at 600 ms.
    /// [0,250): (0.1·2 + 0.15·4)/0.25 = 0.8/0.25 = 3.2.
    /// [500,750): 4 stands 500→600, 6 600→750: (0.1·4 + 0.15·6)/0.25 = 5.2.
    @Test func otherIntervalWidths() throws {
        let records = run(
            [
                .q(quote(T0, spreadBps: 2)), .q(quote(at(ms: 100), spreadBps: 4)), .q(quote(at(ms: 600), spreadBps: 6)),
            ],
            configuration: .with(intervalMicros: 250_000)
        )
        try #require(records.count == 2)
        expectClose(records[0].spreadBpsAvg, 3.2, "[0,250)")
        #expect(records[1].start == T0 + 500_000 && records[1].ts == T0 + 750_000)
        expectClose(records[1].spreadBpsAvg, 5.2, "[500,750)")
        expectClose(records[1].staleSeconds, 0.15, "stale_s")
    }

    /// bid 100, ask 102, bid_size 3, ask_size 1: mid 101; spread = 1e4·2/101 = 198.0198…;
    /// microprice = (100·1 + 102·3)/4 = 101.5; imbalance = (3 − 1)/4 = 0.5.
    /// Then bid 101, ask 103, sizes 1 / 4: mid 102; spread 1e4·2/102 = 196.0784…; microprice (101·4 + 103·1)/5 = 101.4;
    /// imbalance (1 − 4)/5 = −0.6.
    @Test func snapshotFieldsComeFromTheLastQuote() throws {
        let first = try #require(run([.q(quote(at(ms: 250), bid: 100, ask: 102, bidSize: 3, askSize: 1))]).first)
        #expect(first.bid == 100 && first.ask == 102 && first.mid == 101)
        expectClose(first.spreadBps, 198.01980198019803, "spread_bps")
        expectClose(first.microprice, 101.5, "microprice")
        expectClose(first.imbalance, 0.5, "imbalance")
        expectClose(first.staleSeconds, 0.75, "stale_s")

        let second = try #require(
            run([
                .q(quote(at(ms: 250), bid: 100, ask: 102, bidSize: 3, askSize: 1)),
                .q(quote(at(ms: 600), bid: 101, ask: 103, bidSize: 1, askSize: 4)),
            ]).first
        )
        #expect(second.bid == 101 && second.ask == 103 && second.mid == 102)
        expectClose(second.spreadBps, 196.07843137254903, "spread_bps")
        expectClose(second.microprice, 101.4, "microprice")
        expectClose(second.imbalance, -0.6, "imbalance")
        expectClose(second.staleSeconds, 0.4, "stale_s")
        // Time-weighted: 198.0198 for 0.35 s, 196.0784 for 0.4 s.
        expectClose(second.spreadBpsAvg, (0.35 * 1e4 * 2 / 101 + 0.4 * 1e4 * 2 / 102) / 0.75, "spread_bps_avg")
    }

    @Test func recordsBeforeAnyQuoteHaveNullQuoteMetrics() throws {
        let r = try #require(run([.t(trade(at(ms: 100), price: 50, size: 1, side: .buy))]).first)
        #expect(r.bid == nil && r.ask == nil && r.mid == nil && r.spreadBps == nil && r.spreadBpsAvg == nil)
        #expect(r.microprice == nil && r.imbalance == nil && r.depth == nil && r.staleSeconds == nil)
        #expect(r.quotes == 0)
    }
}

/// Random feeds against a direct transcription of SPEC §3 (records, spread_bps_avg, snapshot fields, stale_s, returns).
@Suite("Metrics against a reference")
struct ReferenceFeedTests {
    @Test(arguments: [(UInt64(1), Int64(1_000_000)), (2, 1_000_000), (3, 250_000), (4, 3_000_000), (5, 7_000_000)])
    func randomFeedMatchesTheDefinition(seed: UInt64, w: Int64) throws {
        var rng = SeededGenerator(seed: seed)
        var events: [Event] = []
        var quotes: [Quote] = []
        var eventTimes: [Int64] = []
        var ts = T0 + Int64.random(in: 0..<w, using: &rng)
        for _ in 0..<400 {
            // Mostly small steps, sometimes a jump over several intervals, sometimes the same ts or exactly a boundary.
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: ts += Int64.random(in: 2...6, using: &rng) * w
            case 1: break
            case 2: ts = (ts / w + 1) * w
            default: ts += Int64.random(in: 1...(w / 5), using: &rng)
            }
            eventTimes.append(ts)
            if Int.random(in: 0..<3, using: &rng) > 0 {
                let mid = Double(Int.random(in: 19_000...21_000, using: &rng))
                let half = Double(Int.random(in: 1...40, using: &rng)) / 4
                let q = quote(
                    ts,
                    bid: mid - half,
                    ask: mid + half,
                    bidSize: Double(Int.random(in: 1...9, using: &rng)),
                    askSize: Double(Int.random(in: 1...9, using: &rng))
                )
                quotes.append(q)
                events.append(.q(q))
            } else {
                events.append(.t(trade(ts, price: 20_000, size: 1, side: .buy)))
            }
        }
        let records = run(events, configuration: .with(intervalMicros: w))

        // Records: exactly the W-aligned intervals holding at least one event, in order.
        let starts = Array(Set(eventTimes.map { $0 / w * w })).sorted()
        #expect(records.map(\.start) == starts)
        #expect(records.map(\.ts) == starts.map { $0 + w })

        func spread(_ q: Quote) -> Double { 1e4 * (q.ask - q.bid) / ((q.bid + q.ask) / 2) }
        var previousMid: Double?
        var variance: Double?
        for record in records {
            let (start, end) = (record.start, record.ts)
            // Each quote weighs from max(its ts, start) to min(next quote's ts, end).
            var weighted = 0.0, weight = 0.0
            for (i, q) in quotes.enumerated() {
                let next = i + 1 < quotes.count ? quotes[i + 1].ts : Int64.max
                let from = max(q.ts, start), to = min(next, end)
                if to > from {
                    weighted += spread(q) * Double(to - from)
                    weight += Double(to - from)
                }
            }
            if weight > 0 {
                expectClose(record.spreadBpsAvg, weighted / weight, "spread_bps_avg [\(start),\(end))")
            } else {
                #expect(record.spreadBpsAvg == nil)
            }
            let inInterval = quotes.filter { $0.ts >= start && $0.ts < end }
            #expect(record.quotes == inInterval.count)
            let last = quotes.last { $0.ts < end }
            #expect(record.bid == last?.bid && record.ask == last?.ask)
            if let last {
                expectClose(record.spreadBps, spread(last), "spread_bps")
                expectClose(record.staleSeconds, Double(end - last.ts) / 1e6, "stale_s")
                let mid = (last.bid + last.ask) / 2
                expectClose(
                    record.microprice,
                    (last.bid * last.askSize + last.ask * last.bidSize) / (last.bidSize + last.askSize),
                    "microprice"
                )
                if let previousMid {
                    let r = Foundation.log(mid / previousMid)
                    expectClose(record.ret, r, "ret")
                    let v = variance.map { 0.94 * $0 + 0.06 * r * r } ?? r * r
                    variance = v
                    expectClose(record.volEwma, (v * 365 * 86_400 / (Double(w) / 1e6)).squareRoot(), "vol_ewma")
                    expectClose(record.var99, 2.326348 * (v * 60e6 / Double(w)).squareRoot(), "var_99")
                } else {
                    #expect(record.ret == nil)
                }
                previousMid = mid
            } else {
                #expect(record.staleSeconds == nil && record.spreadBps == nil)
            }
        }
    }
}
