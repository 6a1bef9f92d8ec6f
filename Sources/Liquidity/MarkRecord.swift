public import Events

/// One `backstop-marks` record (SPEC §5): the instrument's mark (mid of its last valid quote), book and stress.
public struct MarkRecord: Sendable, Equatable {
    public static func == (a: MarkRecord, b: MarkRecord) -> Bool { a.ts == b.ts && !a.differs(from: b) && a.instrument == b.instrument }

    public var instrument: String
    public var ts: Int64
    public var mark: Double
    public var iv: Double?
    public var bids: [BookLevel]
    public var asks: [BookLevel]
    /// The highest severity among the instrument's active triggers; 0 when none is active.
    public var stress: Int
    /// The levels as received (JSON arrays), written instead of formatting `bids`/`asks` again.
    public var levelsText: (bids: ArraySlice<UInt8>, asks: ArraySlice<UInt8>)?

    public init(instrument: String, ts: Int64, mark: Double, iv: Double?, bids: [BookLevel], asks: [BookLevel], stress: Int) {
        self.instrument = instrument
        self.ts = ts
        self.mark = mark
        self.iv = iv
        self.bids = bids
        self.asks = asks
        self.stress = stress
    }

    /// `<instrument>:mark:<ts>`.
    public var id: String { "\(instrument):mark:\(ts)" }

    /// Whether `other` differs in what a mark carries (everything but the time).
    public func differs(from other: MarkRecord) -> Bool {
        mark != other.mark || iv != other.iv || stress != other.stress || bids != other.bids || asks != other.asks
    }

    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 128 + 40 * (bids.count + asks.count))
        w.beginObject()
        w.key("id"); w.string(instrument, ":mark:", ts)
        w.key("instrument"); w.string(instrument)
        w.key("ts"); w.integer(ts)
        w.key("mark"); w.number(mark)
        w.key("iv"); w.number(iv)
        if let text = levelsText {
            w.key("bids"); w.raw(text.bids)
            w.key("asks"); w.raw(text.asks)
        } else {
            for (name, levels) in [("bids", bids), ("asks", asks)] {
                w.key(name)
                w.beginArray()
                for level in levels {
                    w.beginArray(); w.number(level.price); w.number(level.size); w.endArray()
                }
                w.endArray()
            }
        }
        w.key("stress"); w.integer(stress)
        w.endObject()
        return w.bytes
    }
}

/// One `backstop-fills` record: a trade that names accounts, seen from one of them (key = account).
public struct FillRecord: Sendable, Equatable {
    public var account: String
    public var trade: Trade
    /// The account's side: `buy` for the buyer, `sell` for the seller.
    public var side: Side

    public init(account: String, trade: Trade, side: Side) {
        self.account = account
        self.trade = trade
        self.side = side
    }

    /// `<account>:fill:<trade id>:<side>`.
    public var id: String { "\(account):fill:\(trade.id):\(side.rawValue)" }

    /// The fills of a trade: the buyer's, then the seller's.
    public static func fills(of trade: Trade) -> [FillRecord] {
        var result: [FillRecord] = []
        if let buyer = trade.buyer { result.append(FillRecord(account: buyer, trade: trade, side: .buy)) }
        if let seller = trade.seller { result.append(FillRecord(account: seller, trade: trade, side: .sell)) }
        return result
    }

    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 200)
        w.beginObject()
        w.key("id"); w.string(id)
        w.key("account"); w.string(account)
        w.key("instrument"); w.string(trade.instrument)
        w.key("ts"); w.integer(trade.ts)
        w.key("side"); w.string(side.rawValue)
        w.key("size"); w.number(trade.size)
        w.key("price"); w.number(trade.price)
        w.key("fee"); w.number(trade.fee ?? 0)
        w.key("trade_id"); w.string(trade.id)
        w.endObject()
        return w.bytes
    }
}
