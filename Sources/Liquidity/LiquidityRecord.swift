import Events

/// One `liquidity-metrics` record: an instrument's metrics over one closed interval `[start, ts)` (SPEC §3).
///
/// A nil metric is `null` in JSON: undefined for this interval (no data, a zero denominator, too few samples).
public struct LiquidityRecord: Sendable, Equatable {
    public var instrument: String
    public var start: Int64
    /// The interval's end.
    public var ts: Int64
    public var bid: Double?
    public var ask: Double?
    public var mid: Double?
    public var spreadBps: Double?
    public var spreadBpsAvg: Double?
    public var microprice: Double?
    public var imbalance: Double?
    /// Per configured k (bps): Σ price·size·multiplier of the levels within k bps of mid, per side. (Spelled
    /// `Optional`, and set in the initializer: a `var` of the short form is set to nil before it runs, which left a
    /// dead copy of each new record.)
    public var depth: Optional<[(bps: Int, bid: Double, ask: Double)]>
    public var volume: Double
    public var notional: Double
    public var trades: Int
    public var vwap: Double?
    public var buyVolume: Double
    public var sellVolume: Double
    public var effectiveSpreadBps: Double?
    public var ret: Double?
    public var volEwma: Double?
    public var volParkinson: Double?
    public var amihud: Double?
    public var rollSpreadBps: Double?
    public var kyleLambda: Double?
    public var vpin: Double?
    public var var99: Double?
    public var es975: Double?
    public var var99Fhs: Double?
    public var lvar99: Double?
    public var quotes: Int
    public var staleSeconds: Double?

    /// A record with no data: counts and sums zero, every metric null.
    public init(instrument: String, start: Int64, ts: Int64, volume: Double = 0, notional: Double = 0, trades: Int = 0,
                buyVolume: Double = 0, sellVolume: Double = 0, quotes: Int = 0) {
        self.instrument = instrument
        self.start = start
        self.ts = ts
        self.volume = volume
        self.notional = notional
        self.trades = trades
        self.buyVolume = buyVolume
        self.sellVolume = sellVolume
        self.quotes = quotes
        depth = nil
    }

    /// `<instrument>:metrics:<end>`: a pure function of the input, so replays reproduce it.
    public var id: String { "\(instrument):metrics:\(ts)" }

    public static func == (a: LiquidityRecord, b: LiquidityRecord) -> Bool { a.encoded() == b.encoded() }

    /// The record as compact JSON, fields in a fixed order.
    public func encoded() -> [UInt8] {
        // Room for every literal (≈ 480 bytes), the instrument twice, 30 numbers and 5 integers, and the depth.
        let room = 640 + 2 * JSONCursor.stringRoom(instrument) + 30 * JSONCursor.numberRoom
            + 5 * JSONCursor.integerRoom + (depth?.count ?? 0) * (24 + JSONCursor.integerRoom + 2 * JSONCursor.numberRoom)
        return JSONWriter.record(room: room) { c in
            c.literal(#"{"id":"#)
            c.string(instrument, ":metrics:", ts)
            c.literal(#","instrument":"#)
            c.string(instrument)
            c.literal(#","start":"#); c.integer(start)
            c.literal(#","ts":"#); c.integer(ts)
            c.literal(#","bid":"#); c.number(bid)
            c.literal(#","ask":"#); c.number(ask)
            c.literal(#","mid":"#); c.number(mid)
            c.literal(#","spread_bps":"#); c.number(spreadBps)
            c.literal(#","spread_bps_avg":"#); c.number(spreadBpsAvg)
            c.literal(#","microprice":"#); c.number(microprice)
            c.literal(#","imbalance":"#); c.number(imbalance)
            c.literal(#","depth":"#)
            if let depth {
                c.literal("{")
                for (k, level) in depth.enumerated() {
                    c.literal(k == 0 ? "\"" : ",\"")
                    c.integer(level.bps)
                    c.literal(#"":{"bid":"#); c.number(level.bid)
                    c.literal(#","ask":"#); c.number(level.ask)
                    c.literal("}")
                }
                c.literal("}")
            } else {
                c.literal("null")
            }
            c.literal(#","volume":"#); c.number(volume)
            c.literal(#","notional":"#); c.number(notional)
            c.literal(#","trades":"#); c.integer(trades)
            c.literal(#","vwap":"#); c.number(vwap)
            c.literal(#","buy_volume":"#); c.number(buyVolume)
            c.literal(#","sell_volume":"#); c.number(sellVolume)
            c.literal(#","effective_spread_bps":"#); c.number(effectiveSpreadBps)
            c.literal(#","ret":"#); c.number(ret)
            c.literal(#","vol_ewma":"#); c.number(volEwma)
            c.literal(#","vol_parkinson":"#); c.number(volParkinson)
            c.literal(#","amihud":"#); c.number(amihud)
            c.literal(#","roll_spread_bps":"#); c.number(rollSpreadBps)
            c.literal(#","kyle_lambda":"#); c.number(kyleLambda)
            c.literal(#","vpin":"#); c.number(vpin)
            c.literal(#","var_99":"#); c.number(var99)
            c.literal(#","es_975":"#); c.number(es975)
            c.literal(#","var_99_fhs":"#); c.number(var99Fhs)
            c.literal(#","lvar_99":"#); c.number(lvar99)
            c.literal(#","quotes":"#); c.integer(quotes)
            c.literal(#","stale_s":"#); c.number(staleSeconds)
            c.literal("}")
        }
    }
}
