import Events
import Liquidity
import Testing

@Suite("VPIN buckets")
struct VPINTests {
    func metrics(buckets: Int, volume: Double) -> InstrumentMetrics {
        var c = MetricsConfiguration()
        c.vpinBuckets = buckets
        c.vpinBucketVolume = volume
        return InstrumentMetrics(symbol: "X", configuration: c)
    }

    func trade(_ i: Int, size: Double, side: Side, ms: Int64 = 100) -> Trade {
        Trade(instrument: "X", ts: ms * 1000, id: "T-\(i)", price: 100, size: size, side: side)
    }

    @Test("a bucket filled exactly by decimal sizes is full (ten 0.1 make V = 1)")
    func exactFill() throws {
        var m = metrics(buckets: 1, volume: 1)
        for i in 0..<10 { _ = m.apply(trade: trade(i, size: 0.1, side: .buy)) }
        let closed = m.close()
        let record = try #require(closed)
        #expect(record.vpin == 1.0)
    }

    @Test("a trade overflowing a bucket is split; vpin averages the last n full buckets")
    func split() throws {
        // V = 10, n = 2: buy 15 → bucket 1 = 10 buy; bucket 2 = 5 buy + (sell 5 of 8); then 3 sell in bucket 3.
        var m = metrics(buckets: 2, volume: 10)
        _ = m.apply(trade: trade(0, size: 15, side: .buy))
        _ = m.apply(trade: trade(1, size: 8, side: .sell))
        let closed = m.close()
        let record = try #require(closed)
        // Full buckets: |10 − 0| = 10, |5 − 5| = 0 → (10 + 0) / (2 · 10) = 0.5.
        #expect(record.vpin == 0.5)
        var partial = metrics(buckets: 3, volume: 10)
        _ = partial.apply(trade: trade(0, size: 15, side: .buy))
        let partialRecord = partial.close()
        #expect(try #require(partialRecord).vpin == nil, "fewer than n full buckets")
    }
}
