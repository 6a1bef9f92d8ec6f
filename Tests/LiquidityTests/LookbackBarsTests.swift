@testable import Liquidity
import Testing

/// `Lookback.bars` against a direct reading of its definition: buckets grouped by bar number, in order, bars with
/// no quote left out.
@Suite("Lookback.bars")
struct LookbackBarsTests {
    @Test func matchesTheDefinitionOnRandomLookbacks() {
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for _ in 0..<2000 {
            var lookback = Lookback(intervalMicros: 1_000_000, barMicros: 10_000_000, lookbackMicros: 300_000_000)
            var ts = Int64(next() % 50_000_000) - 25_000_000  // negative times too
            for _ in 0..<Int(next() % 400) {
                ts += Int64(next() % 3_000_000)
                let quote = next() % 3 != 0
                let value = Double(next() % 1000) / 7
                lookback.withBucket(at: ts) { b in
                    if quote {
                        b.quotes += 1
                        b.lastMid = value
                        b.highMid = max(b.highMid, value)
                        b.lowMid = min(b.lowMid, value)
                    } else {
                        b.notional += value
                        b.signedNotional -= value / 3
                    }
                }
            }
            lookback.evict(before: ts - Int64(next() % 300_000_000))
            let bars = lookback.bars(barMicros: 10_000_000)
            let expected = Self.reference(lookback, barMicros: 10_000_000)
            #expect(bars.count == expected.count)
            for (a, b) in zip(bars, expected) {
                #expect(a.lastMid.bitPattern == b.lastMid.bitPattern && a.highMid == b.highMid && a.lowMid == b.lowMid
                        && a.notional.bitPattern == b.notional.bitPattern
                        && a.signedNotional.bitPattern == b.signedNotional.bitPattern)
            }
        }
    }

    static func reference(_ lookback: Lookback, barMicros: Int64) -> [Bar] {
        var groups: [(number: Int64, buckets: [LookbackBucket])] = []
        for bucket in lookback.live {
            let number = floorDiv(bucket.index * lookback.granularity, barMicros)
            if groups.last?.number == number { groups[groups.count - 1].buckets.append(bucket) } else { groups.append((number, [bucket])) }
        }
        return groups.compactMap { group in
            guard group.buckets.contains(where: { $0.quotes > 0 }) else { return nil }
            var bar = Bar(lastMid: 0, highMid: -.infinity, lowMid: .infinity, notional: 0, signedNotional: 0)
            for b in group.buckets {
                bar.notional += b.notional
                bar.signedNotional += b.signedNotional
                if b.quotes > 0 {
                    bar.lastMid = b.lastMid
                    bar.highMid = max(bar.highMid, b.highMid)
                    bar.lowMid = min(bar.lowMid, b.lowMid)
                }
            }
            return bar
        }
    }
}
