/// One price level of a book: price and size.
public struct BookLevel: Sendable, Hashable {
    public var price: Double
    public var size: Double
    public init(price: Double, size: Double) { self.price = price; self.size = size }
}

/// A full top-of-book snapshot (`quotes` topic, SPEC §2). Levels are best first.
public struct Quote: Sendable, Equatable {
    public static func == (a: Quote, b: Quote) -> Bool {
        a.instrument == b.instrument && a.ts == b.ts && a.bid == b.bid && a.bidSize == b.bidSize && a.ask == b.ask
            && a.askSize == b.askSize && a.bids == b.bids && a.asks == b.asks && a.iv == b.iv
    }

    // Stored properties in an order that packs them into 105 bytes: a decoded input (a quote in its pending
    // envelope) then stays within the 128 bytes that compiled code moves with a few register copies instead of a
    // call to `memcpy`, and it moves several times between its decode and its state.
    public var instrument: String
    /// Event time, µs since the epoch.
    public var ts: Int64
    public var bid: Double
    public var bidSize: Double
    public var ask: Double
    public var askSize: Double
    /// The value as received, for a decoded quote (empty for one built in code): ``levelsText`` indexes it.
    public internal(set) var received: [UInt8]
    /// The bid levels then the ask levels, when kept as values (few fields that need releasing keep a quote cheap
    /// to copy and destroy).
    private var levels: [BookLevel]
    /// ``levelsText`` as bids' start and end, asks' start and end; all zero for none (levels' text is never empty).
    private var textBounds: (UInt32, UInt32, UInt32, UInt32)
    /// How many of `levels` are bids; -1 when the levels are kept only as their text in `received` (a quote in
    /// the usual shape, validated while decoding), at ``levelsText``, and read when asked for.
    private var bidCount: Int32
    /// The number of ``instrument`` in the ``SymbolTable`` it was decoded through (``SymbolTable/symbol(_:)``), -1
    /// when it has none there (decoded without a table, by the general reader, or built in code): lets state kept
    /// by symbol be found by index. Not part of the value (`==` ignores it).
    public internal(set) var instrumentNumber: Int16
    /// The option's mark implied volatility (annualized, decimal), if given.
    public var iv: Double?

    /// Bid levels, best (highest) first; when the input has none, the single best level.
    public var bids: [BookLevel] {
        get { bidCount < 0 ? BookLevel.levels(in: received, levelsText!.bids) : Array(levels[..<Int(bidCount)]) }
        set { setLevels(bids: newValue, asks: asks) }
    }
    /// Ask levels, best (lowest) first; when the input has none, the single best level.
    public var asks: [BookLevel] {
        get { bidCount < 0 ? BookLevel.levels(in: received, levelsText!.asks) : Array(levels[Int(bidCount)...]) }
        set { setLevels(bids: bids, asks: newValue) }
    }
    /// Where the `bids` and `asks` arrays were in the decoded bytes (when present and free of control
    /// characters), so an output can carry the levels as received instead of formatting every number again.
    public internal(set) var levelsText: (bids: Range<Int>, asks: Range<Int>)? {
        get {
            textBounds.1 == 0 ? nil
                : (Int(textBounds.0)..<Int(textBounds.1), Int(textBounds.2)..<Int(textBounds.3))
        }
        set {
            // Ranges past 4 GiB (no such value reaches a decoder) are not kept.
            guard let newValue, let bidsStart = UInt32(exactly: newValue.bids.lowerBound),
                  let bidsEnd = UInt32(exactly: newValue.bids.upperBound),
                  let asksStart = UInt32(exactly: newValue.asks.lowerBound),
                  let asksEnd = UInt32(exactly: newValue.asks.upperBound) else {
                textBounds = (0, 0, 0, 0)
                return
            }
            textBounds = (bidsStart, bidsEnd, asksStart, asksEnd)
        }
    }

    public init(instrument: String, ts: Int64, bid: Double, bidSize: Double, ask: Double, askSize: Double,
                bids: [BookLevel]? = nil, asks: [BookLevel]? = nil, iv: Double? = nil) {
        self.instrument = instrument
        self.ts = ts
        self.bid = bid
        self.bidSize = bidSize
        self.ask = ask
        self.askSize = askSize
        self.iv = iv
        received = []
        levels = []
        textBounds = (0, 0, 0, 0)
        bidCount = -1
        instrumentNumber = -1
        setLevels(bids: bids ?? [BookLevel(price: bid, size: bidSize)], asks: asks ?? [BookLevel(price: ask, size: askSize)])
    }

    /// A decoded quote whose levels stay in `received` (their ranges `levelsText`), already validated.
    init(instrument: String, instrumentNumber: Int16, ts: Int64, bid: Double, bidSize: Double, ask: Double,
         askSize: Double, iv: Double?, received: [UInt8], levelsText: (bids: Range<Int>, asks: Range<Int>)) {
        self.instrument = instrument
        self.instrumentNumber = instrumentNumber
        self.levels = []
        self.bidCount = -1
        self.ts = ts
        self.bid = bid
        self.bidSize = bidSize
        self.ask = ask
        self.askSize = askSize
        self.iv = iv
        self.received = received
        // Stored as they are (not through the setter, which a call and four narrow stores made slow to read back):
        // the decoders take no value of 4 GiB or more, and levels' text is never empty.
        precondition(levelsText.bids.upperBound > 0
                        && max(levelsText.bids.upperBound, levelsText.asks.upperBound) <= Int(UInt32.max),
                     "levels kept as text need their text's bounds")
        textBounds = (UInt32(truncatingIfNeeded: levelsText.bids.lowerBound),
                      UInt32(truncatingIfNeeded: levelsText.bids.upperBound),
                      UInt32(truncatingIfNeeded: levelsText.asks.lowerBound),
                      UInt32(truncatingIfNeeded: levelsText.asks.upperBound))
    }

    private mutating func setLevels(bids: [BookLevel], asks: [BookLevel]) {
        levels = bids + asks
        bidCount = Int32(bids.count)
    }

    public var mid: Double { (bid + ask) / 2 }

    /// Whether the levels are kept as the text they were decoded from, which decoding validated: prices strictly
    /// falling on the bid side and rising on the ask side (levels built in code carry no such promise).
    public var keepsLevelsAsText: Bool { bidCount < 0 }

    /// Calls `body` with each level of one side, best first, until it returns false — read from the levels' text
    /// where the quote keeps them so (``keepsLevelsAsText``), without building an array.
    public func forEachLevel(bids side: Bool, _ body: (BookLevel) -> Bool) {
        guard bidCount < 0 else {
            for level in side ? levels[..<Int(bidCount)] : levels[Int(bidCount)...] where !body(level) { break }
            return
        }
        let text = levelsText!
        let range = side ? text.bids : text.asks
        let read = received.withUnsafeBytes { buffer -> Bool in
            guard let base = buffer.baseAddress, !range.isEmpty else { return false }
            var s = CompactScanner(p: base.assumingMemoryBound(to: UInt8.self) + range.lowerBound, n: range.count)
            return s.visitLevels(body)
        }
        if !read {
            // Text in a form the compact reader does not take (the same values): read it whole.
            for level in side ? bids : asks where !body(level) { break }
        }
    }
}

extension Quote {
    /// Decodes and validates one `quotes` value.
    /// - Throws: ``DecodeError`` naming the field: malformed JSON, a missing or mistyped field, a non-positive or
    ///   non-finite price or size, a crossed book (bid > ask) or levels out of order.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Quote {
        if let quote = decodeCompact(bytes) { return quote }
        return try decodeGeneral(bytes)
    }

    /// ``decode(_:)``, the instrument in the usual shape the string `symbols` keeps for its bytes (the same value).
    public static func decode(_ bytes: UnsafeRawBufferPointer, symbols: inout SymbolTable) throws(DecodeError) -> Quote {
        if let quote = decodeCompact(bytes, symbols: &symbols) { return quote }
        return try decodeGeneral(bytes)
    }

    /// The general reader behind ``decode(_:)``: any valid JSON, every error with its reason. ``decodeCompact(_:)``
    /// returns exactly what this returns, for the inputs it takes.
    static func decodeGeneral(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Quote {
        var r = JSONReader(bytes)
        var instrument: String?
        var ts: Int64?
        var bid = Double.nan, bidSize = Double.nan, ask = Double.nan, askSize = Double.nan
        var seen: UInt8 = 0
        var bids: [BookLevel]?
        var asks: [BookLevel]?
        var iv: Double?
        var bidsText: Range<Int>?, asksText: Range<Int>?
        guard try r.peekKind() == .object else { throw DecodeError(.decodeError, "value is not a JSON object") }
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            if key == "instrument" { instrument = try field("instrument") { () throws(DecodeError) in try r.readString() } }
            else if key == "ts" { ts = try field("ts") { () throws(DecodeError) in try r.readInt64() } }
            else if key == "bid" { bid = try field("bid") { () throws(DecodeError) in try r.readDouble() }; seen |= 1 }
            else if key == "bid_size" { bidSize = try field("bid_size") { () throws(DecodeError) in try r.readDouble() }; seen |= 2 }
            else if key == "ask" { ask = try field("ask") { () throws(DecodeError) in try r.readDouble() }; seen |= 4 }
            else if key == "ask_size" { askSize = try field("ask_size") { () throws(DecodeError) in try r.readDouble() }; seen |= 8 }
            else if key == "bids" {
                r.skipWhitespace()
                let start = r.position
                bids = try field("bids") { () throws(DecodeError) in try readLevels(&r) }
                bidsText = start..<r.position
            } else if key == "asks" {
                r.skipWhitespace()
                let start = r.position
                asks = try field("asks") { () throws(DecodeError) in try readLevels(&r) }
                asksText = start..<r.position
            }
            else if key == "iv" {
                iv = try field("iv") { () throws(DecodeError) in r.readNullIfPresent() ? nil : try r.readDouble() }
            } else { try r.skipValue() }
        }
        try r.expectEnd()
        guard let instrument else { throw DecodeError(.missingField, "missing field 'instrument'") }
        guard let ts else { throw DecodeError(.missingField, "missing field 'ts'") }
        if seen & 1 == 0 { throw DecodeError(.missingField, "missing field 'bid'") }
        if seen & 2 == 0 { throw DecodeError(.missingField, "missing field 'bid_size'") }
        if seen & 4 == 0 { throw DecodeError(.missingField, "missing field 'ask'") }
        if seen & 8 == 0 { throw DecodeError(.missingField, "missing field 'ask_size'") }
        var quote = Quote(instrument: instrument, ts: ts, bid: bid, bidSize: bidSize, ask: ask, askSize: askSize,
                          bids: bids, asks: asks, iv: iv)
        try quote.validate()
        quote.received = Array(bytes)
        if let b = bidsText, let a = asksText,
           !UnsafeRawBufferPointer(rebasing: bytes[b]).contains(where: { $0 < 0x20 }),
           !UnsafeRawBufferPointer(rebasing: bytes[a]).contains(where: { $0 < 0x20 }) {
            quote.levelsText = (b, a)
        }
        return quote
    }

    /// Checks SPEC §3/§8 value rules: positive finite prices and sizes, bid ≤ ask, levels strictly ordered best
    /// first (a repeated price is out of order), and the first level equal to the top of book.
    public func validate() throws(DecodeError) {
        guard !instrument.isEmpty else { throw DecodeError(.invalidValue, "'instrument' is empty") }
        try eventTime(ts)
        try positive(bid, "bid")
        try positive(bidSize, "bid_size")
        try positive(ask, "ask")
        try positive(askSize, "ask_size")
        if let iv {
            guard iv.isFinite else { throw DecodeError(.nonFinite, "'iv' is not finite") }
            guard iv > 0 else { throw DecodeError(.nonPositive, "'iv' must be positive") }
        }
        guard bid <= ask else { throw DecodeError(.crossedBook, "crossed book: bid \(bid) > ask \(ask)") }
        guard !bids.isEmpty, !asks.isEmpty else { throw DecodeError(.missingField, "'bids' and 'asks' must not be empty") }
        for (i, level) in bids.enumerated() {
            try positive(level.price, "bids[\(i)] price")
            try positive(level.size, "bids[\(i)] size")
            if i > 0, level.price >= bids[i - 1].price {
                throw DecodeError(.levelsOutOfOrder, "bids out of order at level \(i)")
            }
        }
        for (i, level) in asks.enumerated() {
            try positive(level.price, "asks[\(i)] price")
            try positive(level.size, "asks[\(i)] size")
            if i > 0, level.price <= asks[i - 1].price {
                throw DecodeError(.levelsOutOfOrder, "asks out of order at level \(i)")
            }
        }
        guard bids[0].price == bid, bids[0].size == bidSize else {
            throw DecodeError(.invalidValue, "'bids[0]' must equal 'bid' and 'bid_size'")
        }
        guard asks[0].price == ask, asks[0].size == askSize else {
            throw DecodeError(.invalidValue, "'asks[0]' must equal 'ask' and 'ask_size'")
        }
    }
}

/// Reads `[[price, size], …]` in one tight loop (the hot path of quote decoding).
func readLevels(_ r: inout JSONReader) throws(DecodeError) -> [BookLevel] {
    r.skipWhitespace()
    guard !r.atEnd, r.byte(at: r.position) == UInt8(ascii: "[") else { throw r.mismatch("an array of [price, size]") }
    r.position += 1
    var levels: [BookLevel] = []
    levels.reserveCapacity(10)
    r.skipWhitespace()
    if !r.atEnd, r.byte(at: r.position) == UInt8(ascii: "]") { r.position += 1; return levels }
    while true {
        r.skipWhitespace()
        let levelStart = r.position
        guard !r.atEnd, r.byte(at: r.position) == UInt8(ascii: "[") else { throw r.mismatch("a [price, size] pair") }
        r.position += 1
        let price = try levelNumber(&r, from: levelStart)
        r.skipWhitespace()
        guard !r.atEnd, r.byte(at: r.position) == UInt8(ascii: ",") else { throw levelShape(&r, from: levelStart) }
        r.position += 1
        let size = try levelNumber(&r, from: levelStart)
        r.skipWhitespace()
        guard !r.atEnd, r.byte(at: r.position) == UInt8(ascii: "]") else { throw levelShape(&r, from: levelStart) }
        r.position += 1
        levels.append(BookLevel(price: price, size: size))
        r.skipWhitespace()
        guard !r.atEnd else { throw r.error("unterminated array") }
        let c = r.byte(at: r.position)
        r.position += 1
        if c == UInt8(ascii: "]") { return levels }
        guard c == UInt8(ascii: ",") else { r.position -= 1; throw r.error("expected ',' or ']'") }
    }
}

/// A number inside a level; where there is none, the error says whether the level is a wrong-shaped array.
@inline(__always)
private func levelNumber(_ r: inout JSONReader, from start: Int) throws(DecodeError) -> Double {
    do {
        return try r.readDouble()
    } catch where error.reason == .decodeError {
        throw levelShape(&r, from: start)
    }
}

/// A level that is not `[price, size]`: `wrong_type` when it is a well-formed array of another shape.
private func levelShape(_ r: inout JSONReader, from start: Int) -> DecodeError {
    r.position = start
    return (try? r.skipValue()) != nil ? DecodeError(.wrongType, "a level must be [price, size]") : r.error("invalid JSON")
}

/// Runs a field reader, prefixing its errors with the field name.
@inline(__always)
func field<T>(_ name: StaticString, _ read: () throws(DecodeError) -> T) throws(DecodeError) -> T {
    do {
        return try read()
    } catch {
        throw DecodeError(error.reason, "field '\(name)': \(error.message)")
    }
}

@inline(__always)
func positive(_ value: Double, _ name: @autoclosure () -> String) throws(DecodeError) {
    guard value.isFinite else { throw DecodeError(.nonFinite, "'\(name())' is not finite") }
    guard value > 0 else { throw DecodeError(.nonPositive, "'\(name())' must be positive, got \(value)") }
}

/// Event times are µs since the epoch: never negative.
@inline(__always)
func eventTime(_ ts: Int64) throws(DecodeError) {
    guard ts >= 0 else { throw DecodeError(.invalidValue, "'ts' must not be negative, got \(ts)") }
}

/// Identifiers, when present, are non-empty.
@inline(__always)
func nonEmpty(_ value: String?, _ name: StaticString) throws(DecodeError) {
    if let value, value.isEmpty { throw DecodeError(.invalidValue, "'\(name)' is empty") }
}

@inline(__always)
func finite(_ value: Double, _ name: @autoclosure () -> String) throws(DecodeError) {
    guard value.isFinite else { throw DecodeError(.nonFinite, "'\(name())' is not finite") }
}

extension JSONReader {
    /// Reads book levels `[[price, size], …]` as written in quotes and marks (values unchecked).
    public mutating func readBookLevels() throws(DecodeError) -> [BookLevel] { try readLevels(&self) }
}
