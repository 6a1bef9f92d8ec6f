import Events
import Foundation
import Liquidity
import Testing

/// One step of the reference EWMA, straight from SPEC §3.
struct ReferenceRisk {
    var variance: Double?
    let lambda: Double

    /// Adds a record's return, returns σ²_t.
    mutating func add(_ r: Double) -> Double {
        let v = variance.map { lambda * $0 + (1 - lambda) * r * r } ?? r * r
        variance = v
        return v
    }
}

struct RiskCase: Sendable, CustomTestStringConvertible {
    var intervalMicros: Int64
    var horizonMicros: Int64
    var lambda: Double
    var testDescription: String { "W=\(intervalMicros)µs h=\(horizonMicros)µs λ=\(lambda)" }
}

@Suite("Returns and EWMA risk")
struct VolatilityTests {
    static let year = 365.0 * 86_400

    /// Hand-worked first step: mids 100 → 110, W = 1 s, h = 60 s.
    /// r = ln 1.1 = 0.0953101798043249; σ² = r²; vol = r·√31 536 000 = 535.2326427685045;
    /// var_99 = 2.326348·r·√60 = 1.71747172410039; es_975 = 2.337803·r·√60 = 1.725928600973313.
    @Test func firstReturnSeedsTheVariance() throws {
        let records = run([
            .q(quote(at(ms: 500), bid: 99.5, ask: 100.5)),
            .q(quote(at(ms: 1_500), bid: 109.5, ask: 110.5)),
        ])
        try #require(records.count == 2)
        #expect(
            records[0].ret == nil && records[0].volEwma == nil && records[0].var99 == nil && records[0].es975 == nil
        )
        expectClose(records[1].ret, 0.09531017980432493, "ret")
        expectClose(records[1].volEwma, 535.2326427685045, "vol_ewma")
        expectClose(records[1].var99, 1.71747172410039, "var_99")
        expectClose(records[1].es975, 1.725928600973313, "es_975")
    }

    static let cases = [
        RiskCase(intervalMicros: 1_000_000, horizonMicros: 60_000_000, lambda: 0.94),
        RiskCase(intervalMicros: 500_000, horizonMicros: 30_000_000, lambda: 0.9),
        RiskCase(intervalMicros: 5_000_000, horizonMicros: 120_000_000, lambda: 0.97),
        RiskCase(intervalMicros: 60_000_000, horizonMicros: 60_000_000, lambda: 0.5),
    ]

    /// Mids per interval (nil: an interval with a trade but no quote, so its mid is the standing quote's).
    /// Interval 6 and 7 are empty: no record, and the next return is against interval 5's record.
    static let mids: [(interval: Int64, mid: Double?)] = [
        (0, 100), (1, 101), (2, 99.5), (3, 102), (4, nil), (5, 101.25), (8, 98), (9, nil), (10, 98.5), (11, 103),
    ]

    @Test(arguments: cases)
    func ewmaOverRecordsMatchesAReferenceLoop(c: RiskCase) throws {
        let w = c.intervalMicros
        var events: [Event] = []
        for (k, mid) in Self.mids {
            let ts = T0 + k * w + w / 4
            if let mid {
                events.append(.q(quote(ts, bid: mid - 0.25, ask: mid + 0.25)))
            } else {
                events.append(.t(trade(ts, price: 100, size: 1, side: .buy)))
            }
        }
        let records = run(
            events,
            configuration: .with(intervalMicros: w, horizonMicros: c.horizonMicros, ewmaLambda: c.lambda)
        )
        try #require(records.count == Self.mids.count)

        // Reference: each record's mid is the last quoted mid at its close.
        var standing: Double?
        var previous: Double?
        var reference = ReferenceRisk(variance: nil, lambda: c.lambda)
        for (record, (k, mid)) in zip(records, Self.mids) {
            #expect(record.start == T0 + k * w)
            if let mid { standing = mid }
            #expect(record.mid == standing)
            guard let prev = previous, let current = standing else {
                #expect(record.ret == nil && record.volEwma == nil && record.var99 == nil && record.es975 == nil)
                previous = standing
                continue
            }
            let r = Foundation.log(current / prev)
            let variance = reference.add(r)
            let sigmaH = (variance * Double(c.horizonMicros) / Double(w)).squareRoot()
            expectClose(record.ret, r, "ret at \(k)")
            expectClose(record.volEwma, (variance * Self.year / (Double(w) / 1e6)).squareRoot(), "vol_ewma at \(k)")
            expectClose(record.var99, 2.326348 * sigmaH, "var_99 at \(k)")
            expectClose(record.es975, 2.337803 * sigmaH, "es_975 at \(k)")
            previous = current
        }
    }

    /// Three records by hand, λ = 0.94: mids 100, 102, 102 (no new quote: r = 0), 99.
    /// σ²₁ = r₁²; σ²₂ = 0.94·σ²₁; σ²₃ = 0.94·σ²₂ + 0.06·r₃².
    @Test func threeStepsByHand() throws {
        let records = run([
            .q(quote(at(ms: 100), bid: 99, ask: 101)),
            .q(quote(at(ms: 1_100), bid: 101, ask: 103)),
            .t(trade(at(ms: 2_100), price: 102, size: 1, side: .sell)),
            .q(quote(at(ms: 3_100), bid: 98, ask: 100)),
        ])
        try #require(records.count == 4)
        let r1 = Foundation.log(102.0 / 100), r3 = Foundation.log(99.0 / 102)
        let s1 = r1 * r1, s2 = 0.94 * s1, s3 = 0.94 * s2 + 0.06 * r3 * r3
        expectClose(records[1].ret, r1, "r1")
        #expect(records[2].ret == 0)
        expectClose(records[3].ret, r3, "r3")
        for (record, s) in zip(records[1...], [s1, s2, s3]) {
            expectClose(record.volEwma, (s * Self.year).squareRoot(), "vol_ewma")
            expectClose(record.var99, 2.326348 * (s * 60).squareRoot(), "var_99")
            expectClose(record.es975, 2.337803 * (s * 60).squareRoot(), "es_975")
        }
    }

    /// `ret` uses the previous *record*, across empty intervals: [0,1) mid 100, then nothing until [5,6) mid 110:
    /// ret = ln(110/100) over one record step, vol = |ln 1.1|·√(Y/W).
    @Test func returnAcrossAGapUsesThePreviousRecord() throws {
        let records = run([
            .q(quote(at(ms: 500), bid: 99.5, ask: 100.5)),
            .q(quote(at(ms: 5_200), bid: 109.5, ask: 110.5)),
        ])
        try #require(records.count == 2)
        #expect(records[1].start == T0 + 5_000_000)
        expectClose(records[1].ret, 0.09531017980432493, "ret")
        expectClose(records[1].volEwma, 535.2326427685045, "vol_ewma")
    }

    /// A first record without a mid (trades only) leaves the next record without a return: the return needs the
    /// previous record's mid. The third record has one and seeds σ².
    @Test func recordWithoutMidBreaksTheReturnChain() throws {
        let records = run([
            .t(trade(at(ms: 100), price: 100, size: 1, side: .buy)),
            .q(quote(at(ms: 1_100), bid: 99, ask: 101)),
            .q(quote(at(ms: 2_100), bid: 103, ask: 105)),
        ])
        try #require(records.count == 3)
        #expect(records[0].mid == nil && records[0].ret == nil)
        #expect(records[1].ret == nil && records[1].volEwma == nil)
        let r = Foundation.log(104.0 / 100)
        expectClose(records[2].ret, r, "ret")
        expectClose(records[2].volEwma, abs(r) * Self.year.squareRoot(), "vol_ewma")
        expectClose(records[2].var99, 2.326348 * abs(r) * 60.0.squareRoot(), "var_99")
    }

    /// An unchanged mid gives ret = 0 and σ² = 0 on the first step: vol, VaR and ES are 0, not null.
    @Test func flatMidGivesZeroRisk() throws {
        let records = run([
            .q(quote(at(ms: 100), bid: 99, ask: 101)),
            .q(quote(at(ms: 1_100), bid: 98, ask: 102)),
        ])
        try #require(records.count == 2)
        #expect(records[1].ret == 0 && records[1].volEwma == 0 && records[1].var99 == 0 && records[1].es975 == 0)
    }

    /// The state carries on after close(): a later input continues the return chain from the last record.
    @Test func stateContinuesAfterClose() throws {
        var m = InstrumentMetrics(symbol: symbol, configuration: MetricsConfiguration())
        _ = m.apply(quote: quote(at(ms: 100), bid: 99, ask: 101))
        let firstValue = m.close()
        let first = try #require(firstValue)
        #expect(first.ret == nil)
        _ = m.apply(quote: quote(at(ms: 2_100), bid: 109, ask: 111))
        let secondValue = m.close()
        let second = try #require(secondValue)
        expectClose(second.ret, 0.09531017980432493, "ret")
    }
}
