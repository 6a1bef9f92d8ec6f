import Events
import Foundation
@testable import Liquidity
import Testing

/// The lookback fields of every record (`vol_parkinson`, `amihud`, `kyle_lambda`, `roll_spread_bps`, `lvar_99`)
/// against a recomputation from the raw events for that record alone, on random streams with late events (up to
/// 5 s behind the newest), gaps of several bars and of more than the lookback, bars without quotes and bars
/// without trades. The state carried from record to record (bar summaries, merged moments, cached terms) must give
/// what a fresh computation gives, to relative 1e-9.
@Suite("Lookback incremental state")
struct LookbackIncrementalTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        var w: Int64, b: Int64, lb: Int64
        var seed: UInt64
        var testDescription: String { "W=\(w)µs B=\(b)µs Lb=\(lb)µs seed=\(seed)" }
    }

    static let shapes: [Shape] = [
        (1_000_000, 2_000_000, 6_000_000), (1_000_000, 3_000_000, 7_000_000), (500_000, 2_000_000, 5_000_000),
        (2_000_000, 3_000_000, 8_000_000), (1_000_000, 10_000_000, 30_000_000), (1_000_000, 10_000_000, 300_000_000),
    ].flatMap { s in [UInt64(3), 77, 1_234].map { Shape(w: s.0, b: s.1, lb: s.2, seed: $0) } }

    static let lateness: Int64 = 5_000_000
    static let multiplier = 0.5

    /// A merged input: `seq` is its place in merge order.
    struct Input {
        var seq: Int
        var event: Event
        var ts: Int64 {
            switch event {
            case .q(let q): q.ts
            case .t(let t): t.ts
            }
        }
    }

    /// Random merge-ordered events: phases of quotes only, trades only or both; steps of 1–400 ms; now and then a
    /// gap of 2–4 bars or of more than the lookback; one event in eight late by up to `lateness`.
    static func stream(_ shape: Shape, count: Int) -> [Event] {
        var rng = SeededGenerator(seed: shape.seed)
        var events: [Event] = []
        var now = T0 + Int64.random(in: 0..<1_000_000, using: &rng)
        var mid = 1_000.0
        var phase = 2
        for n in 0..<count {
            if n % 40 == 0 { phase = Int.random(in: 0..<4, using: &rng) }  // 0: trades only, 1: quotes only
            let late = n > 0 && Int.random(in: 0..<8, using: &rng) == 0
            let ts = late ? now - Int64.random(in: 0...lateness, using: &rng) : now
            let isQuote = phase == 1 || (phase != 0 && Bool.random(using: &rng))
            if isQuote {
                mid += [-1, -0.5, 0, 0, 0.5, 1][Int.random(in: 0..<6, using: &rng)]
                let half = 0.25 * Double(Int.random(in: 1...6, using: &rng))
                events.append(.q(quote(ts, bid: mid - half, ask: mid + half,
                                       bidSize: Double.random(in: 0.1..<10, using: &rng),
                                       askSize: Double.random(in: 0.1..<10, using: &rng))))
            } else {
                let price = mid + 0.5 * Double(Int.random(in: -2...2, using: &rng))
                let side: Side = Bool.random(using: &rng) ? .buy : .sell
                events.append(.t(trade(ts, price: price, size: Double.random(in: 0.01..<5, using: &rng), side: side,
                                       id: "T\(n)")))
            }
            if late { continue }
            switch Int.random(in: 0..<100, using: &rng) {
            case 0: now += shape.lb + Int64.random(in: 0...shape.b, using: &rng)
            case 1...3: now += Int64.random(in: 2 * shape.b...4 * shape.b, using: &rng)
            default: now += Int64.random(in: 1_000...400_000, using: &rng)
            }
        }
        return events
    }

    @Test(arguments: shapes)
    func everyRecordMatchesARecomputation(shape: Shape) throws {
        var configuration = MetricsConfiguration()
        configuration.intervalMicros = shape.w
        configuration.barMicros = shape.b
        configuration.lookbackMicros = shape.lb
        configuration.horizonMicros = 3_000_000
        configuration.ewmaLambda = 0.9
        configuration.depthBps = [10]
        var metrics = InstrumentMetrics(symbol: symbol, configuration: configuration)
        metrics.multiplier = Self.multiplier
        var reference = Recomputation(shape: shape, multiplier: Self.multiplier)

        var checked = 0
        var defined = [String: Int]()
        func check(_ record: LiquidityRecord) {
            let e = reference.expected(end: record.ts, mid: record.mid, var99: record.var99)
            let at = "end=T0+\(record.ts - T0)µs"
            Self.expect(record.volParkinson, e.parkinson, "vol_parkinson \(at)")
            Self.expect(record.amihud, e.amihud, "amihud \(at)")
            Self.expect(record.kyleLambda, e.kyle, floor: 1e-9 * e.kyleScale, "kyle_lambda \(at)")
            Self.expect(record.lvar99, e.lvar, "lvar_99 \(at)")
            // Roll: c within rounding of 0 (relative to the scale of the Δp products) may come out either sign.
            if let c = e.rollCovariance, let mid = record.mid, abs(c) <= 1e-12 * e.rollScale {
                let bound = 2 * (2e-12 * e.rollScale).squareRoot() / mid * 1e4
                #expect(record.rollSpreadBps.map { $0 >= 0 && $0 <= bound } == true, "roll_spread_bps \(at): c ≈ 0")
            } else {
                Self.expect(record.rollSpreadBps, e.roll, "roll_spread_bps \(at)")
            }
            for (name, value) in [("parkinson", e.parkinson), ("amihud", e.amihud), ("kyle", e.kyle),
                                  ("roll", e.roll), ("lvar", e.lvar)] where value != nil {
                defined[name, default: 0] += 1
            }
            if (e.roll ?? 0) > 0 { defined["roll>0", default: 0] += 1 }
            if e.hasClippedBar { defined["clipped", default: 0] += 1 }
            if e.hasQuotelessBar { defined["quoteless", default: 0] += 1 }
            if e.hasLateInput { defined["late", default: 0] += 1 }
            checked += 1
        }

        let events = Self.stream(shape, count: shape.lb >= 100_000_000 ? 6_000 : 1_500)
        for (seq, event) in events.enumerated() {
            let closed: LiquidityRecord?
            switch event {
            case .q(let q): closed = metrics.apply(quote: q)
            case .t(let t): closed = metrics.apply(trade: t)
            }
            if let closed { check(closed) }
            reference.merge(Input(seq: seq, event: event))
        }
        if let last = metrics.close() { check(last) }

        #expect(checked >= 100)
        for name in ["parkinson", "amihud", "kyle", "roll", "roll>0", "lvar", "clipped", "quoteless", "late"] {
            #expect(defined[name, default: 0] >= 5, "coverage: \(name) in \(defined)")
        }
    }

    /// Relative 1e-9 (plus an absolute `floor`), or both nil.
    static func expect(_ actual: Double?, _ expected: Double?, floor: Double = 0, _ what: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        switch (actual, expected) {
        case (nil, nil): return
        case let (actual?, expected?):
            #expect(abs(actual - expected) <= 1e-9 * abs(expected) + floor, "\(what): got \(actual), want \(expected)",
                    sourceLocation: sourceLocation)
        default:
            Issue.record("\(what): got \(String(describing: actual)), want \(String(describing: expected))",
                         sourceLocation: sourceLocation)
        }
    }
}

/// The lookback fields recomputed for one record from the merged inputs alone: no buckets, no running moments,
/// two-pass statistics.
///
/// What counts is what the lookback admits: an input older than the start of a lookback already closed can never
/// count again (`evictedBefore`), and a Roll pair belongs to the time of its earliest trade in merge order. A bar's
/// last mid is the last quote merged into the latest bucket (width g = gcd(W, B, Lb)) of the bar holding a quote:
/// a late quote never replaces the mid of a quote in a later bucket.
struct Recomputation {
    let shape: LookbackIncrementalTests.Shape
    let multiplier: Double
    let g: Int64

    struct Admitted {
        var seq: Int
        var ts: Int64
        var event: Event
        var isLate: Bool
    }

    /// Admitted inputs in merge order, and Roll pairs with the time of their earliest trade.
    var inputs: [Admitted] = []
    var pairs: [(ts: Int64, x: Double, y: Double)] = []
    var evictedBefore = Int64.min
    var newest = Int64.min
    var trades: [(ts: Int64, price: Double)] = []

    init(shape: LookbackIncrementalTests.Shape, multiplier: Double) {
        self.shape = shape
        self.multiplier = multiplier
        var (a, b) = (shape.w, shape.b)
        while b != 0 { (a, b) = (b, a % b) }
        var (c, d) = (a, shape.lb)
        while d != 0 { (c, d) = (d, c % d) }
        g = c
    }

    mutating func merge(_ input: LookbackIncrementalTests.Input) {
        if input.ts >= evictedBefore {
            inputs.append(Admitted(seq: input.seq, ts: input.ts, event: input.event, isLate: input.ts < newest))
        }
        newest = max(newest, input.ts)
        if case .t(let t) = input.event {
            if trades.count >= 2 {
                let (ts2, p2) = trades[trades.count - 2], (_, p1) = trades[trades.count - 1]
                if ts2 >= evictedBefore { pairs.append((ts2, t.price - p1, p1 - p2)) }
            }
            trades.append((t.ts, t.price))
        }
    }

    struct Expected {
        var parkinson: Double?
        var amihud: Double?
        var kyle: Double?
        var kyleScale = 0.0
        var roll: Double?
        var rollCovariance: Double?
        var rollScale = 0.0
        var lvar: Double?
        var hasClippedBar = false
        var hasQuotelessBar = false
        var hasLateInput = false
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// The record ending at `end`, given its `mid` and `var99` (not lookback fields); records in order.
    mutating func expected(end: Int64, mid: Double?, var99: Double?) -> Expected {
        let start = end - shape.lb
        defer { evictedBefore = max(evictedBefore, start) }
        var e = Expected()
        let window = inputs.filter { $0.ts >= start && $0.ts < end }
        e.hasLateInput = window.contains { $0.isLate }

        struct RawBar {
            var quotes: [(bucket: Int64, seq: Int, mid: Double)] = []
            var notional = 0.0
            var signed = 0.0
        }
        var raw: [Int64: RawBar] = [:]
        var spreads: [Double] = []
        for input in window {
            let bar = Self.floorDiv(input.ts, shape.b)
            switch input.event {
            case .q(let q):
                let m = (q.bid + q.ask) / 2
                raw[bar, default: RawBar()].quotes.append((Self.floorDiv(input.ts, g), input.seq, m))
                spreads.append((q.ask - q.bid) / m)
            case .t(let t):
                let n = t.price * t.size * multiplier
                raw[bar, default: RawBar()].notional += n
                raw[bar, default: RawBar()].signed += t.side == .buy ? n : -n
            }
        }
        e.hasClippedBar = raw.keys.contains { $0 * shape.b < start }
        e.hasQuotelessBar = raw.values.contains { $0.quotes.isEmpty }
        let bars = raw.keys.sorted().compactMap { raw[$0] }.filter { !$0.quotes.isEmpty }
        let lastMids = bars.map { bar in bar.quotes.max { ($0.bucket, $0.seq) < ($1.bucket, $1.seq) }!.mid }

        let ranges = bars.compactMap { bar -> Double? in
            let mids = bar.quotes.map(\.mid)
            let hi = mids.max()!, lo = mids.min()!
            guard hi > lo else { return nil }
            let r = Foundation.log(hi / lo)
            return r * r / (4 * Foundation.log(2.0))
        }
        if !ranges.isEmpty {
            e.parkinson = (mean(ranges) * 365 * 86_400 / (Double(shape.b) / 1e6)).squareRoot()
        }

        var amihud: [Double] = [], x: [Double] = [], y: [Double] = []
        for i in bars.indices.dropFirst() {
            if bars[i].notional > 0 {
                amihud.append(abs(Foundation.log(lastMids[i] / lastMids[i - 1])) / bars[i].notional * 1e6)
            }
            x.append(bars[i].signed)
            y.append(lastMids[i] - lastMids[i - 1])
        }
        if !amihud.isEmpty { e.amihud = mean(amihud) }
        if let mid, let (lambda, scale) = referenceKyle(x: x, y: y, mid: mid) {
            e.kyle = lambda
            e.kyleScale = scale
        }

        let inWindow = pairs.filter { $0.ts >= start && $0.ts < end }
        if inWindow.count >= 2 {
            let mx = mean(inWindow.map(\.x)), my = mean(inWindow.map(\.y))
            let c = inWindow.map { ($0.x - mx) * ($0.y - my) }.reduce(0, +) / Double(inWindow.count - 1)
            e.rollCovariance = c
            e.rollScale = mean(inWindow.map { abs($0.x * $0.y) }) + mean(inWindow.map { $0.x * $0.x })
            if let mid { e.roll = c < 0 ? 2 * (-c).squareRoot() / mid * 1e4 : 0 }
        }

        if spreads.count >= 2, let var99 {
            let mu = mean(spreads)
            let sd = (spreads.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(spreads.count - 1)).squareRoot()
            e.lvar = var99 + 0.5 * (mu + 2.326348 * sd)
        }
        return e
    }
}
