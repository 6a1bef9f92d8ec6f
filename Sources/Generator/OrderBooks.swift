/// The latest book of every instrument, in integer ticks and lots, and the quote snapshots written from it.
///
/// Storage is one flat array allocated once (`4 × maximumLevels` values per instrument), so rebuilding a book
/// allocates nothing. Invariants of every built book: 1 to `maximumLevels` levels a side (5 or more unless prices
/// would reach zero), bids strictly descending, asks strictly ascending, best bid ≥ 1 tick and < best ask, every
/// size ≥ 1 lot.
struct OrderBooks {
    /// The most levels a side can have.
    static let maximumLevels = 10

    /// Per instrument, `4 × maximumLevels` values: bid ticks, bid lots, ask ticks, ask lots, best first.
    private var levels: [Int64]
    private var bidCounts: [Int]
    private var askCounts: [Int]

    private static let stride = 4 * maximumLevels
    private static let bidTicks = 0
    private static let bidLots = maximumLevels
    private static let askTicks = 2 * maximumLevels
    private static let askLots = 3 * maximumLevels

    /// Empty books for `instrumentCount` instruments.
    init(instrumentCount: Int) {
        levels = Array(repeating: 0, count: instrumentCount * Self.stride)
        bidCounts = Array(repeating: 0, count: instrumentCount)
        askCounts = Array(repeating: 0, count: instrumentCount)
    }

    /// The best bid and ask of `instrument`, in ticks.
    func touch(_ instrument: Int) -> (bid: Int64, ask: Int64) {
        let base = instrument * Self.stride
        return (levels[base + Self.bidTicks], levels[base + Self.askTicks])
    }

    /// Replaces the book of `instrument`.
    ///
    /// - Parameters:
    ///   - center: the fair price in ticks; the touch straddles it.
    ///   - spreadTicks: the distance from best bid to best ask (at least 1).
    ///   - gapTicks: the nominal distance between levels (each gap is 0.5–2× it, at least one tick).
    ///   - topLots: the nominal size of the best level; deeper levels are larger.
    mutating func rebuild(
        _ instrument: Int,
        center: Double,
        spreadTicks: Int64,
        gapTicks: Double,
        topLots: Double,
        random: inout FeedRandom
    ) {
        let spread = max(1, spreadTicks)
        let bestBid = max(1, Int64(min(center - Double(spread) / 2, 1e15).rounded(.down)))
        let bestAsk = max(bestBid + 1, Int64(min(center + Double(spread) / 2, 1e15).rounded(.up)))
        let bidWanted = 5 + random.below(Self.maximumLevels - 4)
        let askWanted = 5 + random.below(Self.maximumLevels - 4)
        // Near zero (cheap options) the bid ladder is compressed so that it still fits above zero.
        let bidGap = min(gapTicks, max(1, Double(bestBid - 1) / Double(bidWanted - 1) / 2))
        var bidCount = 0
        var askCount = 0
        levels.withUnsafeMutableBufferPointer { storage in
            guard let first = storage.baseAddress else { return }
            let book = first + instrument * Self.stride
            var price = bestBid
            while bidCount < bidWanted, price >= 1 {
                book[Self.bidTicks + bidCount] = price
                book[Self.bidLots + bidCount] = Self.levelLots(topLots, level: bidCount, random: &random)
                bidCount += 1
                price -= Self.gap(bidGap, random: &random)
            }
            price = bestAsk
            while askCount < askWanted {
                book[Self.askTicks + askCount] = price
                book[Self.askLots + askCount] = Self.levelLots(topLots, level: askCount, random: &random)
                askCount += 1
                price += Self.gap(gapTicks, random: &random)
            }
        }
        bidCounts[instrument] = bidCount
        askCounts[instrument] = askCount
    }

    /// The outcome of an aggressive order walking one side of a book from the touch.
    struct Sweep {
        /// The price of the last level touched, in ticks (the touch itself for small orders).
        var priceTicks: Int64
        /// The filled size, capped at the visible book.
        var lots: Int64
    }

    /// Walks the asks (a buy) or the bids (a sell) of `instrument` for `lots`.
    func sweep(_ instrument: Int, isBuy: Bool, lots: Int64) -> Sweep {
        let base = instrument * Self.stride
        let prices = base + (isBuy ? Self.askTicks : Self.bidTicks)
        let sizes = base + (isBuy ? Self.askLots : Self.bidLots)
        let count = isBuy ? askCounts[instrument] : bidCounts[instrument]
        var remaining = max(1, lots)
        var filled: Int64 = 0
        var price = levels[prices]
        for level in 0..<count where remaining > 0 {
            price = levels[prices + level]
            let take = min(levels[sizes + level], remaining)
            filled += take
            remaining -= take
        }
        return Sweep(priceTicks: price, lots: max(filled, 1))
    }

    /// Writes the `quotes` value of `instrument` (SPEC section 2): touch fields, then both ladders best first,
    /// then `iv` when given.
    func writeQuote(
        _ instrument: Int,
        symbol: String,
        ts: Int64,
        tick: DecimalGrid,
        lot: DecimalGrid,
        impliedVol: Double?,
        into writer: inout RecordWriter
    ) {
        let bidCount = bidCounts[instrument]
        let askCount = askCounts[instrument]
        levels.withUnsafeBufferPointer { storage in
            guard let first = storage.baseAddress else { return }
            let book = first + instrument * Self.stride
            writer.raw(#"{"instrument":""#)
            writer.text(symbol)
            writer.raw(#"","ts":"#)
            writer.integer(ts)
            writer.raw(#","bid":"#)
            writer.fixed(book[Self.bidTicks] &* tick.unitsPerStep, decimals: tick.decimals)
            writer.raw(#","bid_size":"#)
            writer.fixed(book[Self.bidLots] &* lot.unitsPerStep, decimals: lot.decimals)
            writer.raw(#","ask":"#)
            writer.fixed(book[Self.askTicks] &* tick.unitsPerStep, decimals: tick.decimals)
            writer.raw(#","ask_size":"#)
            writer.fixed(book[Self.askLots] &* lot.unitsPerStep, decimals: lot.decimals)
            writer.raw(#","bids":["#)
            Self.writeLadder(book + Self.bidTicks, book + Self.bidLots, count: bidCount, tick, lot, &writer)
            writer.raw(#"],"asks":["#)
            Self.writeLadder(book + Self.askTicks, book + Self.askLots, count: askCount, tick, lot, &writer)
            writer.byte(UInt8(ascii: "]"))
        }
        if let impliedVol {
            writer.raw(#","iv":"#)
            writer.decimal(impliedVol, decimals: 4)
        }
        writer.byte(UInt8(ascii: "}"))
    }

    @inline(__always)
    private static func writeLadder(
        _ ticks: UnsafePointer<Int64>,
        _ lots: UnsafePointer<Int64>,
        count: Int,
        _ tick: DecimalGrid,
        _ lot: DecimalGrid,
        _ writer: inout RecordWriter
    ) {
        for level in 0..<count {
            writer.raw(level == 0 ? "[" : ",[")
            writer.fixed(ticks[level] &* tick.unitsPerStep, decimals: tick.decimals)
            writer.byte(UInt8(ascii: ","))
            writer.fixed(lots[level] &* lot.unitsPerStep, decimals: lot.decimals)
            writer.byte(UInt8(ascii: "]"))
        }
    }

    /// The distance to the next level: 0.5–2× the mean gap, at least one tick.
    @inline(__always)
    private static func gap(_ mean: Double, random: inout FeedRandom) -> Int64 {
        max(1, Int64(min(mean * (0.5 + 1.5 * random.uniform()), 1e12) + 0.5))
    }

    /// A level's size: 0.3–1.7× the top size, growing 35 % a level deeper; at least one lot.
    @inline(__always)
    private static func levelLots(_ topLots: Double, level: Int, random: inout FeedRandom) -> Int64 {
        let lots = topLots * (0.3 + 1.4 * random.uniform()) * (1 + 0.35 * Double(level))
        return max(1, Int64(min(lots, 1e12) + 0.5))
    }
}
