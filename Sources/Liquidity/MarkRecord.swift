public import Events

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `backstop-marks` record (SPEC §5): the instrument's mark (mid of its last valid quote), book and stress.
public struct MarkRecord: Sendable, Equatable {
    public static func == (a: MarkRecord, b: MarkRecord) -> Bool { a.ts == b.ts && !a.differs(from: b) && a.instrument == b.instrument }

    public var instrument: String
    public var ts: Int64
    public var mark: Double
    public var iv: Double?
    public var bids: [BookLevel] {
        get { bidCount < 0 ? text.map { BookLevel.levels(in: source, $0.bids) } ?? [] : Array(levels[..<bidCount]) }
        set { setLevels(bids: newValue, asks: asks) }
    }
    public var asks: [BookLevel] {
        get { bidCount < 0 ? text.map { BookLevel.levels(in: source, $0.asks) } ?? [] : Array(levels[bidCount...]) }
        set { setLevels(bids: bids, asks: newValue) }
    }
    /// The highest severity among the instrument's active triggers; 0 when none is active.
    public var stress: Int
    /// The levels as received (JSON arrays), written instead of formatting `bids`/`asks` again.
    public var levelsText: (bids: ArraySlice<UInt8>, asks: ArraySlice<UInt8>)? {
        get { text.map { (source[$0.bids], source[$0.asks]) } }
        set {
            if bidCount < 0 { setLevels(bids: bids, asks: asks) }
            if let newValue {
                source = Array(newValue.bids) + Array(newValue.asks)
                text = (0..<newValue.bids.count, newValue.bids.count..<source.count)
            } else {
                source = []
                text = nil
            }
        }
    }
    /// The bid levels then the ask levels, when kept as values (few fields that need releasing keep a mark cheap
    /// to copy and destroy).
    private var levels: [BookLevel]
    /// How many of `levels` are bids; -1 when the levels are read from their text on demand.
    private var bidCount: Int
    /// The bytes that hold the levels' text, and where in them it is.
    private var source: [UInt8]
    private var text: (bids: Range<Int>, asks: Range<Int>)?

    public init(instrument: String, ts: Int64, mark: Double, iv: Double?, bids: [BookLevel], asks: [BookLevel], stress: Int) {
        self.instrument = instrument
        self.ts = ts
        self.mark = mark
        self.iv = iv
        self.stress = stress
        levels = bids + asks
        bidCount = bids.count
        source = []
        text = nil
    }

    /// A mark whose levels are the JSON arrays at `bids` and `asks` of `received` (as received in a valid quote,
    /// shared, not copied), read only when asked for.
    public init(instrument: String, ts: Int64, mark: Double, iv: Double?, levelsIn received: [UInt8],
                bids: Range<Int>, asks: Range<Int>, stress: Int) {
        self.instrument = instrument
        self.ts = ts
        self.mark = mark
        self.iv = iv
        self.stress = stress
        // Every stored property set once, here (a default value as well would cost the value a copy).
        levels = []
        bidCount = -1
        source = received
        text = (bids, asks)
    }

    private mutating func setLevels(bids: [BookLevel], asks: [BookLevel]) {
        levels = bids + asks
        bidCount = bids.count
    }

    /// `<instrument>:mark:<ts>`.
    public var id: String { "\(instrument):mark:\(ts)" }

    /// Whether `other` differs in what a mark carries (everything but the time).
    public func differs(from other: MarkRecord) -> Bool {
        mark != other.mark || iv != other.iv || stress != other.stress || !sameLevels(as: other)
    }

    /// Whether the levels are equal; the same text (without reading it) means the same values.
    private func sameLevels(as other: MarkRecord) -> Bool {
        if bidCount < 0, other.bidCount < 0, let a = text, let b = other.text,
           Self.same(source, a.bids, other.source, b.bids), Self.same(source, a.asks, other.source, b.asks) {
            return true
        }
        return bids == other.bids && asks == other.asks
    }

    private static func same(_ x: [UInt8], _ i: Range<Int>, _ y: [UInt8], _ j: Range<Int>) -> Bool {
        i.count == j.count && (i.isEmpty || x.withUnsafeBytes { a in
            y.withUnsafeBytes { b in memcmp(a.baseAddress! + i.lowerBound, b.baseAddress! + j.lowerBound, i.count) == 0 }
        })
    }

    public func encoded() -> [UInt8] { encoded(Fragments(instrument: instrument)) }

    /// The text of an instrument's marks that does not change from mark to mark, built once per instrument.
    public struct Fragments: Sendable {
        /// `{"id":"<instrument>:mark:` (the instrument escaped as a JSON string is).
        let head: [UInt8]
        /// `","instrument":"<instrument>","ts":`.
        let middle: [UInt8]

        public init(instrument: String) {
            let quoted = JSONWriter.quoted(instrument)
            head = Array(#"{"id":"#.utf8) + quoted.dropLast() + Array(":mark:".utf8)
            middle = Array(#"","instrument":"#.utf8) + quoted + Array(#","ts":"#.utf8)
        }
    }

    /// The record's JSON, the instrument's constant text written from `fragments` (built for this instrument).
    public func encoded(_ fragments: Fragments) -> [UInt8] {
        // The levels' text, or room for every level's two numbers and punctuation; the literals (41 bytes), three
        // integers and two numbers.
        let levelsRoom = text.map { $0.bids.count + $0.asks.count }
            ?? 2 * (self.levels.count + 1) * (2 * JSONCursor.numberRoom + 3)
        let room = fragments.head.count + fragments.middle.count + levelsRoom + 64 + 3 * JSONCursor.integerRoom
            + 2 * JSONCursor.numberRoom
        return JSONWriter.record(room: room) { c in
            c.bytes(fragments.head)
            c.integer(ts)
            c.bytes(fragments.middle)
            c.integer(ts)
            c.literal(#","mark":"#)
            c.number(mark)
            c.literal(#","iv":"#)
            c.number(iv)
            if let text {
                c.literal(#","bids":"#)
                c.bytes(source[text.bids])
                c.literal(#","asks":"#)
                c.bytes(source[text.asks])
            } else {
                c.literal(#","bids":"#)
                Self.write(bids, to: &c)
                c.literal(#","asks":"#)
                Self.write(asks, to: &c)
            }
            c.literal(#","stress":"#)
            c.integer(stress)
            c.literal("}")
        }
    }

    /// `[[price,size],…]`.
    private static func write(_ levels: [BookLevel], to c: inout JSONCursor) {
        c.literal("[")
        for (k, level) in levels.enumerated() {
            c.literal(k == 0 ? "[" : ",[")
            c.number(level.price)
            c.literal(",")
            c.number(level.size)
            c.literal("]")
        }
        c.literal("]")
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
