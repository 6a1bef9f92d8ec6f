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
    /// Per configured k (bps): Σ price·size·multiplier of the levels within k bps of mid, per side.
    public var depth: [(bps: Int, bid: Double, ask: Double)]?
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
    }

    /// `<instrument>:metrics:<end>`: a pure function of the input, so replays reproduce it.
    public var id: String { "\(instrument):metrics:\(ts)" }

    public static func == (a: LiquidityRecord, b: LiquidityRecord) -> Bool { a.encoded() == b.encoded() }

    /// The record as compact JSON, fields in a fixed order.
    public func encoded() -> [UInt8] {
        // Room for the whole record (≈ 700–1 050 bytes, the instrument twice), so that it is never moved to grow.
        var w = JSONWriter(capacity: 1152 + 2 * instrument.utf8.count)
        w.beginObject()
        w.key("id"); w.string(instrument, ":metrics:", ts)
        w.key("instrument"); w.string(instrument)
        w.key("start"); w.integer(start)
        w.key("ts"); w.integer(ts)
        w.key("bid"); w.number(bid)
        w.key("ask"); w.number(ask)
        w.key("mid"); w.number(mid)
        w.key("spread_bps"); w.number(spreadBps)
        w.key("spread_bps_avg"); w.number(spreadBpsAvg)
        w.key("microprice"); w.number(microprice)
        w.key("imbalance"); w.number(imbalance)
        w.key("depth")
        if let depth {
            w.beginObject()
            for level in depth {
                w.key(level.bps)
                w.beginObject()
                w.key("bid"); w.number(level.bid)
                w.key("ask"); w.number(level.ask)
                w.endObject()
            }
            w.endObject()
        } else {
            w.null()
        }
        w.key("volume"); w.number(volume)
        w.key("notional"); w.number(notional)
        w.key("trades"); w.integer(trades)
        w.key("vwap"); w.number(vwap)
        w.key("buy_volume"); w.number(buyVolume)
        w.key("sell_volume"); w.number(sellVolume)
        w.key("effective_spread_bps"); w.number(effectiveSpreadBps)
        w.key("ret"); w.number(ret)
        w.key("vol_ewma"); w.number(volEwma)
        w.key("vol_parkinson"); w.number(volParkinson)
        w.key("amihud"); w.number(amihud)
        w.key("roll_spread_bps"); w.number(rollSpreadBps)
        w.key("kyle_lambda"); w.number(kyleLambda)
        w.key("vpin"); w.number(vpin)
        w.key("var_99"); w.number(var99)
        w.key("es_975"); w.number(es975)
        w.key("var_99_fhs"); w.number(var99Fhs)
        w.key("lvar_99"); w.number(lvar99)
        w.key("quotes"); w.integer(quotes)
        w.key("stale_s"); w.number(staleSeconds)
        w.endObject()
        return w.bytes
    }
}
