import Events
import Liquidity
import Testing

@Suite("Metrics intervals")
struct IntervalTests {
    @Test func noInputNoRecord() {
        var m = InstrumentMetrics(symbol: symbol, configuration: MetricsConfiguration())
        #expect(m.close() == nil)
        #expect(run([]).isEmpty)
    }

    @Test func closeReturnsTheOpenIntervalOnce() {
        var m = InstrumentMetrics(symbol: symbol, configuration: MetricsConfiguration())
        #expect(m.apply(quote: quote(at(ms: 250), spreadBps: 2)) == nil)
        let record = m.close()
        #expect(record?.start == T0 && record?.ts == T0 + 1_000_000)
        #expect(m.close() == nil)
    }

    /// The interval closes on the first event with ts ≥ end; that event (here exactly at end) opens the next one.
    @Test func intervalClosesOnTheFirstEventAtOrPastItsEnd() throws {
        var m = InstrumentMetrics(symbol: symbol, configuration: MetricsConfiguration())
        #expect(m.apply(quote: quote(T0, spreadBps: 2)) == nil)  // exactly at start
        #expect(m.apply(trade: trade(at(ms: 500), price: 10_000, size: 1, side: .buy)) == nil)
        #expect(m.apply(quote: quote(T0 + 999_999, spreadBps: 2)) == nil)  // last µs of [T0, T0+1s)
        let firstValue = m.apply(trade: trade(T0 + 1_000_000, price: 10_000, size: 2, side: .sell))
        let first = try #require(firstValue)
        #expect(first.start == T0)
        #expect(first.ts == T0 + 1_000_000)
        #expect(first.id == "BTC-PERP:metrics:1764000001000000")
        #expect(first.quotes == 2 && first.trades == 1 && first.volume == 1)
        // The boundary trade went to [T0+1s, T0+2s).
        #expect(m.apply(quote: quote(at(ms: 1_999), spreadBps: 2)) == nil)
        let secondValue = m.close()
        let second = try #require(secondValue)
        #expect(second.start == T0 + 1_000_000 && second.ts == T0 + 2_000_000)
        #expect(second.trades == 1 && second.volume == 2 && second.sellVolume == 2 && second.quotes == 1)
        #expect(second.id == "BTC-PERP:metrics:1764000002000000")
    }

    /// Intervals are aligned to multiples of W since the epoch: start = ⌊ts/W⌋·W.
    @Test(
        arguments: [
            // (ts, W, start): hand-computed.
            (0, 1_000_000, 0),
            (999_999, 1_000_000, 0),
            (1_000_000, 1_000_000, 1_000_000),
            (1_000_001, 1_000_000, 1_000_000),
            (T0, 1_000_000, T0),
            (T0 - 1, 1_000_000, T0 - 1_000_000),
            (T0 + 123_456, 250_000, T0),
            (T0 + 250_000, 250_000, T0 + 250_000),
            (T0 + 499_999, 250_000, T0 + 250_000),
            // 1 764 000 000 s = 11 · 160 363 636 s + 4 s, so the 11 s interval holding T0 starts 4 s earlier.
            (T0, 11_000_000, 1_763_999_996_000_000),
            (T0 + 6_999_999, 11_000_000, 1_763_999_996_000_000),
            (T0 + 7_000_000, 11_000_000, 1_764_000_007_000_000),
            (T0 + 5_000_000, 60_000_000, T0 - 0),  // 1 764 000 000 = 60 · 29 400 000
            (T0 + 59_999_999, 60_000_000, T0),
        ] as [(Int64, Int64, Int64)]
    )
    func intervalsAreAlignedToMultiplesOfW(ts: Int64, w: Int64, start: Int64) throws {
        let records = run([.q(quote(ts, spreadBps: 2))], configuration: .with(intervalMicros: w))
        let record = try #require(records.first)
        #expect(records.count == 1)
        #expect(record.start == start)
        #expect(record.ts == start + w)
        #expect(record.id == "BTC-PERP:metrics:\(start + w)")
    }

    @Test func emptyIntervalsProduceNoRecord() {
        // Events at 0.5 s, 3.2 s and 3.9 s, then 10 s: [1,3) and [4,10) are empty.
        let records = run([
            .q(quote(at(ms: 500), spreadBps: 2)),
            .t(trade(at(ms: 3_200), price: 10_000, size: 1, side: .buy)),
            .q(quote(at(ms: 3_900), spreadBps: 2)),
            .t(trade(at(ms: 10_000), price: 10_000, size: 1, side: .buy)),
        ])
        #expect(records.map(\.start) == [T0, T0 + 3_000_000, T0 + 10_000_000])
        #expect(records.map(\.ts) == [T0 + 1_000_000, T0 + 4_000_000, T0 + 11_000_000])
        #expect(records.map(\.quotes) == [1, 1, 0])
        #expect(records.map(\.trades) == [0, 1, 1])
    }

    @Test func countsAreNotCarriedAcrossIntervals() {
        let records = run([
            .q(quote(at(ms: 100), spreadBps: 2)), .q(quote(at(ms: 200), spreadBps: 2)),
            .q(quote(at(ms: 300), spreadBps: 2)),
            .t(trade(at(ms: 400), price: 10_000, size: 1, side: .buy)),
            .t(trade(at(ms: 1_400), price: 10_000, size: 0.5, side: .buy)),
        ])
        #expect(records.count == 2)
        #expect(records[0].quotes == 3 && records[0].trades == 1 && records[0].volume == 1)
        #expect(records[1].quotes == 0 && records[1].trades == 1 && records[1].volume == 0.5)
        #expect(records[1].buyVolume == 0.5 && records[1].sellVolume == 0)
    }

    @Test func instrumentsAreIndependentStates() {
        var a = InstrumentMetrics(symbol: "BTC-PERP", configuration: MetricsConfiguration())
        var b = InstrumentMetrics(symbol: "ETH-PERP", configuration: MetricsConfiguration())
        _ = a.apply(quote: quote(at(ms: 100), spreadBps: 2))
        _ = b.apply(
            quote: Quote(instrument: "ETH-PERP", ts: at(ms: 2_100), bid: 3000, bidSize: 1, ask: 3001, askSize: 1)
        )
        #expect(a.close()?.id == "BTC-PERP:metrics:1764000001000000")
        #expect(b.close()?.id == "ETH-PERP:metrics:1764000003000000")
    }
}
