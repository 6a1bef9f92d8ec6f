import Events
import Liquidity
import Testing

/// 2025-11-24T16:00:00Z in µs: a multiple of 1 s and of 10 s, so `T0 + k·W` are interval boundaries.
let T0: Int64 = 1_764_000_000_000_000

/// Milliseconds after `T0`, as a µs timestamp.
func at(ms: Int64) -> Int64 { T0 + ms * 1_000 }

let symbol = "BTC-PERP"

func quote(
    _ ts: Int64,
    bid: Double,
    ask: Double,
    bidSize: Double = 1,
    askSize: Double = 1,
    bids: [(Double, Double)]? = nil,
    asks: [(Double, Double)]? = nil
) -> Quote {
    Quote(
        instrument: symbol,
        ts: ts,
        bid: bid,
        bidSize: bidSize,
        ask: ask,
        askSize: askSize,
        bids: bids?.map { BookLevel(price: $0.0, size: $0.1) },
        asks: asks?.map { BookLevel(price: $0.0, size: $0.1) }
    )
}

/// A quote around mid 10 000 whose spread is exactly `bps` basis points: bid = 10 000 − bps/2, ask = 10 000 + bps/2
/// (1e4·bps/10 000 = bps).
func quote(_ ts: Int64, spreadBps bps: Double, mid: Double = 10_000) -> Quote {
    let half = bps * mid / 2e4
    return quote(ts, bid: mid - half, ask: mid + half)
}

func trade(_ ts: Int64, price: Double, size: Double, side: Side, id: String = "T") -> Trade {
    Trade(instrument: symbol, ts: ts, id: id, price: price, size: size, side: side)
}

/// An input event in merge order.
enum Event {
    case q(Quote)
    case t(Trade)
}

/// Feeds events in order, collecting every record returned (including the final `close()`).
func run(
    _ events: [Event],
    configuration: MetricsConfiguration = MetricsConfiguration(),
    multiplier: Double = 1,
    closeAtEnd: Bool = true
) -> [LiquidityRecord] {
    var metrics = InstrumentMetrics(symbol: symbol, configuration: configuration)
    metrics.multiplier = multiplier
    var records: [LiquidityRecord] = []
    for event in events {
        let closed: LiquidityRecord?
        switch event {
        case .q(let q): closed = metrics.apply(quote: q)
        case .t(let t): closed = metrics.apply(trade: t)
        }
        if let closed { records.append(closed) }
    }
    if closeAtEnd, let last = metrics.close() { records.append(last) }
    return records
}

/// Relative tolerance 1e-9 (SPEC §3); an expected 0 must be within 1e-12 absolutely.
func isClose(_ actual: Double?, _ expected: Double, relative: Double = 1e-9) -> Bool {
    guard let actual, actual.isFinite else { return false }
    if expected == 0 { return abs(actual) <= 1e-12 }
    return abs(actual - expected) <= relative * abs(expected)
}

func expectClose(
    _ actual: Double?,
    _ expected: Double,
    _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        isClose(actual, expected),
        "\(what): got \(String(describing: actual)), want \(expected)",
        sourceLocation: sourceLocation
    )
}

extension MetricsConfiguration {
    static func with(
        intervalMicros: Int64 = 1_000_000,
        horizonMicros: Int64 = 60_000_000,
        ewmaLambda: Double = 0.94,
        depthBps: [Int] = [10, 50, 100]
    ) -> MetricsConfiguration {
        var c = MetricsConfiguration()
        c.intervalMicros = intervalMicros
        c.horizonMicros = horizonMicros
        c.ewmaLambda = ewmaLambda
        c.depthBps = depthBps
        return c
    }
}

/// The arithmetic mean (of a non-empty list).
func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }

/// Kyle's lambda written out for the tests (SPEC §3): the two-pass OLS slope of the per-bar mid changes `y` on the
/// signed notionals `x`, in bps of `mid` per million of notional, and sqrt(Syy/Sxx) in the same units (the slope's
/// natural size, for an absolute tolerance floor). nil with fewer than two points or no variation in `x`.
func referenceKyle(x: [Double], y: [Double], mid: Double) -> (lambda: Double, scale: Double)? {
    guard x.count >= 2 else { return nil }
    let mx = mean(x), my = mean(y)
    let sxx = x.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
    let syy = y.map { ($0 - my) * ($0 - my) }.reduce(0, +)
    let sxy = zip(x, y).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
    guard sxx > 0 else { return nil }
    return (sxy / sxx * 1e6 / mid * 1e4, (syy / sxx).squareRoot() * 1e6 / mid * 1e4)
}
