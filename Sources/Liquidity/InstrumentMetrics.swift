public import Events

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The liquidity state of one instrument, updated event by event in merge order (SPEC §3).
///
/// Intervals are `[start, end)`, aligned to multiples of W since the epoch. An interval closes when the first
/// event with `ts ≥ end` arrives (``apply(quote:onClose:)``/``apply(trade:onClose:)`` hand the closed record to
/// their handler, ``apply(quote:)``/``apply(trade:)`` return it) or
/// when the input ends (``close()``). Work per event is O(book levels); nothing is recomputed over the lookback.
public struct InstrumentMetrics: Sendable {
    public let symbol: String
    let configuration: MetricsConfiguration

    // The current interval, nil before the first event.
    var intervalStart: Int64?
    var intervalEnd: Int64 = 0
    var interval = IntervalAccumulator()

    /// The last quote ever merged (the book and mark it stands for).
    public var lastQuote: Quote? { hasQuote ? latestQuote : nil }
    /// Whether a quote has been merged.
    public private(set) var hasQuote = false
    /// The last quote merged, once ``hasQuote``; a placeholder before. Not an optional: replacing a quote then
    /// releases its fields directly, where an optional quote goes through the runtime's generic value witness.
    public private(set) var latestQuote = Quote(instrument: "", ts: 0, bid: 0, bidSize: 0, ask: 0, askSize: 0)
    /// Multiplier applied to notionals and depth, from reference data (1 when unknown).
    public var multiplier: Double = 1

    // Across records.
    var previousMid: Double?
    var ewmaVariance: Double?

    // Over the lookback.
    var lookback: Lookback
    /// The last two trades (ts, price), newest first: the earlier terms of the next Roll pair.
    var previousTrades: (Int64, Double)?, earlierTrades: (Int64, Double)?
    var vpinState: VPIN
    var standardized = StandardizedReturns()

    public init(symbol: String, configuration: MetricsConfiguration) {
        self.symbol = symbol
        self.configuration = configuration
        lookback = Lookback(intervalMicros: configuration.intervalMicros, barMicros: configuration.barMicros,
                            lookbackMicros: configuration.lookbackMicros)
        vpinState = VPIN(bucketVolume: configuration.vpinBucketVolume(for: symbol), buckets: configuration.vpinBuckets)
        standardized.expectedCount = Int(min(configuration.lookbackMicros / configuration.intervalMicros, 1 << 20)) + 1
    }

    /// Merges a quote. - Returns: the record of the interval this event closed, if any.
    public mutating func apply(quote: Quote) -> LiquidityRecord? {
        var closed: LiquidityRecord?
        apply(quote: quote) { closed = $0 }
        return closed
    }

    /// Merges a quote, handing `onClose` the record of the interval it closes, if any: the record (large) goes to
    /// the handler where it is built, and an event that closes nothing — most — moves no record at all.
    /// Consumes the quote, which becomes the latest (moved in, not copied).
    public mutating func apply(quote: consuming Quote, onClose: (borrowing LiquidityRecord) -> Void) {
        let ts = quote.ts
        advance(to: ts, onClose: onClose)
        if hasQuote {
            interval.addSpreadTime(spread: spreadBps(latestQuote), from: max(latestQuote.ts, intervalStart!), to: ts)
        }
        let mid = quote.mid
        let relativeSpread = (quote.ask - quote.bid) / mid
        latestQuote = consume quote
        hasQuote = true
        interval.quotes += 1
        lookback.withBucket(at: ts) { bucket in
            bucket.quotes += 1
            bucket.lastMid = mid
            bucket.highMid = max(bucket.highMid, mid)
            bucket.lowMid = min(bucket.lowMid, mid)
            bucket.spreads.add(relativeSpread)
        }
    }

    /// Merges a trade. - Returns: the record of the interval this event closed, if any.
    public mutating func apply(trade: Trade) -> LiquidityRecord? {
        var closed: LiquidityRecord?
        apply(trade: trade) { closed = $0 }
        return closed
    }

    /// Merges a trade, handing `onClose` the record of the interval it closes, if any.
    public mutating func apply(trade: Trade, onClose: (borrowing LiquidityRecord) -> Void) {
        advance(to: trade.ts, onClose: onClose)
        interval.addTrade(trade, multiplier: multiplier, mid: hasQuote ? latestQuote.mid : nil)
        let notional = trade.price * trade.size * multiplier
        lookback.withBucket(at: trade.ts) { bucket in
            bucket.notional += notional
            bucket.signedNotional += trade.side == .buy ? notional : -notional
        }
        // Roll: the pair (Δp_t, Δp_{t−1}) belongs to the bucket of trade t − 2, its earliest trade.
        if let (_, p1) = previousTrades, let (ts2, p2) = earlierTrades {
            let x = trade.price - p1
            let y = p1 - p2
            lookback.withBucket(at: ts2) { $0.rollPairs.add(x: x, y: y) }
        }
        earlierTrades = previousTrades
        previousTrades = (trade.ts, trade.price)
        vpinState.add(size: trade.size, side: trade.side)
    }

    /// Closes the open interval at the end of the input. - Returns: its record, if it held any event.
    public mutating func close() -> LiquidityRecord? {
        guard intervalStart != nil else { return nil }
        let record = closeInterval()
        intervalStart = nil
        return record
    }

    /// Closes the current interval if `ts` is past it (its record to `onClose`), and opens the interval holding `ts`.
    @inline(__always)
    private mutating func advance(to ts: Int64, onClose: (borrowing LiquidityRecord) -> Void) {
        if intervalStart != nil, ts >= intervalEnd {
            onClose(closeInterval())
            intervalStart = nil
        }
        if intervalStart == nil {
            let w = configuration.intervalMicros
            let start = floorDiv(ts, w) * w
            intervalStart = start
            intervalEnd = start + w
            interval = IntervalAccumulator()
        }
    }

    private mutating func closeInterval() -> LiquidityRecord {
        let start = intervalStart!
        let end = intervalEnd
        if hasQuote {
            interval.addSpreadTime(spread: spreadBps(latestQuote), from: max(latestQuote.ts, start), to: end)
        }
        var record = LiquidityRecord(
            instrument: symbol, start: start, ts: end,
            volume: interval.volume, notional: interval.notional, trades: interval.trades,
            buyVolume: interval.buyVolume, sellVolume: interval.sellVolume, quotes: interval.quotes)
        if hasQuote {
            let q = latestQuote
            let mid = q.mid
            record.bid = q.bid
            record.ask = q.ask
            record.mid = mid
            record.spreadBps = spreadBps(q)
            record.microprice = (q.bid * q.askSize + q.ask * q.bidSize) / (q.bidSize + q.askSize)
            record.imbalance = (q.bidSize - q.askSize) / (q.bidSize + q.askSize)
            record.depth = depth(q, mid: mid)
            record.staleSeconds = Double(end - q.ts) / 1e6
        }
        record.spreadBpsAvg = interval.spreadWeight > 0 ? interval.spreadTimeSum / interval.spreadWeight : nil
        record.vwap = interval.volume > 0 ? interval.priceSizeSum / interval.volume : nil
        record.effectiveSpreadBps = interval.effectiveSize > 0 ? interval.effectiveSum / interval.effectiveSize : nil

        // Returns and EWMA volatility over records; standardized returns for filtered historical simulation.
        if let mid = record.mid, let previous = previousMid {
            let r = log(mid / previous)
            record.ret = r
            if let v = ewmaVariance, v > 0 { standardized.append(ts: end, z: r / v.squareRoot()) }
            if let v = ewmaVariance {
                ewmaVariance = configuration.ewmaLambda * v + (1 - configuration.ewmaLambda) * r * r
            } else {
                ewmaVariance = r * r
            }
        }
        if let variance = ewmaVariance {
            let w = Double(configuration.intervalMicros) / 1e6
            record.volEwma = (variance * secondsPerYear / w).squareRoot()
            let sigmaH = (variance * Double(configuration.horizonMicros) / Double(configuration.intervalMicros)).squareRoot()
            record.var99 = z99 * sigmaH
            record.es975 = es975Factor * sigmaH
            standardized.evict(atOrBefore: end - configuration.lookbackMicros)
            if let q = standardized.quantile(0.01) { record.var99Fhs = -q * sigmaH }
        }
        if let mid = record.mid { previousMid = mid }
        lookbackMetrics(into: &record, end: end)
        record.vpin = vpinState.value
        return record
    }

    /// The metrics over the lookback `[end − Lb, end)`: bars, Roll, Bangia, from the lookback's bar summaries.
    /// Parkinson, Amihud and Kyle read the same bar values in the same order as a scan of every bucket would;
    /// Roll and Bangia read the lookback's merged moments (see ``Lookback``), equal to merging every bucket in order
    /// up to the order of the floating-point merges.
    /// - Complexity: O(bars in the lookback + buckets in the bars rebuilt).
    private mutating func lookbackMetrics(into record: inout LiquidityRecord, end: Int64) {
        lookback.slide(to: end - configuration.lookbackMicros)
        let barSeconds = Double(configuration.barMicros) / 1e6
        let sums = lookback.barSums
        if sums.parkinsonCount > 0 {
            record.volParkinson = (sums.parkinson / Double(sums.parkinsonCount) * secondsPerYear / barSeconds).squareRoot()
        }
        if sums.amihudCount > 0 { record.amihud = sums.amihud / Double(sums.amihudCount) }
        if let mid = record.mid, let beta = olsSlope(lookback.kylePoints[..<lookback.kylePointCount]) {
            record.kyleLambda = beta * 1e6 / mid * 1e4
        }
        let pairs = lookback.moments.rollPairs, spreads = lookback.moments.spreads
        if let mid = record.mid, let c = pairs.sampleCovariance {
            record.rollSpreadBps = c < 0 ? 2 * (-c).squareRoot() / mid * 1e4 : 0
        }
        if let var99 = record.var99, let variance = spreads.sampleVariance {
            record.lvar99 = var99 + 0.5 * (spreads.mean + z99 * variance.squareRoot())
        }
    }

    @inline(__always) func spreadBps(_ q: Quote) -> Double { 1e4 * (q.ask - q.bid) / q.mid }

    /// For each configured k, Σ price·size·multiplier of the levels within k bps of mid on each side: one pass over
    /// each side's levels (text read in place), every k's sum taking its levels in book order; a side whose levels
    /// were validated as ordered is read only as far as the widest band reaches.
    func depth(_ q: Quote, mid: Double) -> [(bps: Int, bid: Double, ask: Double)] {
        let ks = configuration.depthBps
        let n = ks.count
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 4 * n) { t in
            // low_k, high_k, then the bid and ask sums.
            var widestLow = Double.infinity, widestHigh = -Double.infinity
            for j in 0..<n {
                let bps = Double(ks[j])
                t[j] = mid * (1 - bps / 1e4)
                t[n + j] = mid * (1 + bps / 1e4)
                t[2 * n + j] = 0
                t[3 * n + j] = 0
                widestLow = min(widestLow, t[j])
                widestHigh = max(widestHigh, t[n + j])
            }
            let ordered = q.keepsLevelsAsText
            q.forEachLevel(bids: true) { level in
                if ordered, level.price < widestLow { return false }
                for j in 0..<n where level.price >= t[j] { t[2 * n + j] += level.price * level.size }
                return true
            }
            q.forEachLevel(bids: false) { level in
                if ordered, level.price > widestHigh { return false }
                for j in 0..<n where level.price <= t[n + j] { t[3 * n + j] += level.price * level.size }
                return true
            }
            return (0..<n).map { j in (ks[j], t[2 * n + j] * multiplier, t[3 * n + j] * multiplier) }
        }
    }
}

/// The OLS slope (two-pass) of Δmid on signed notional over `points`, nil with fewer than two points or no
/// variation in the notional.
func olsSlope(_ points: ArraySlice<KylePoint>) -> Double? {
    guard points.count >= 2 else { return nil }
    return points.withUnsafeBufferPointer { p in
        let n = Double(p.count)
        var meanX = 0.0, meanY = 0.0
        for point in p {
            meanX += point.signedNotional
            meanY += point.midChange
        }
        meanX /= n
        meanY /= n
        var sxx = 0.0, sxy = 0.0
        for point in p {
            let dx = point.signedNotional - meanX
            sxx += dx * dx
            sxy += dx * (point.midChange - meanY)
        }
        return sxx > 0 ? sxy / sxx : nil
    }
}

/// Sums over the current interval.
struct IntervalAccumulator: Sendable {
    var quotes = 0
    var trades = 0
    var volume = 0.0
    var notional = 0.0
    var priceSizeSum = 0.0
    var buyVolume = 0.0
    var sellVolume = 0.0
    var effectiveSum = 0.0
    var effectiveSize = 0.0
    var spreadTimeSum = 0.0
    var spreadWeight = 0.0

    mutating func addTrade(_ t: Trade, multiplier: Double, mid: Double?) {
        trades += 1
        volume += t.size
        priceSizeSum += t.price * t.size
        notional += t.price * t.size * multiplier
        switch t.side {
        case .buy: buyVolume += t.size
        case .sell: sellVolume += t.size
        }
        if let m = mid {
            effectiveSum += t.size * 2e4 * abs(t.price - m) / m
            effectiveSize += t.size
        }
    }

    mutating func addSpreadTime(spread: Double, from: Int64, to: Int64) {
        guard to > from else { return }
        let dt = Double(to - from)
        spreadTimeSum += spread * dt
        spreadWeight += dt
    }
}

/// Floor division for event times (negative times round down too).
@inline(__always)
public func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
