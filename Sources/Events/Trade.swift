/// The aggressor side of a trade, or an account's side of a fill.
public enum Side: String, Sendable, Hashable {
    case buy, sell
}

/// A trade (`trades` topic, SPEC §2). With `buyer`/`seller` it is also a fill for each named account.
public struct Trade: Sendable, Equatable {
    public static func == (a: Trade, b: Trade) -> Bool {
        a.instrument == b.instrument && a.ts == b.ts && a.id == b.id && a.price == b.price && a.size == b.size
            && a.side == b.side && a.buyer == b.buyer && a.seller == b.seller && a.fee == b.fee
    }

    // Stored properties in an order that packs them into 108 bytes, within what a decoded input (a trade in its
    // pending envelope) may take to move by register copies rather than `memcpy` (see ``Quote``).
    public var instrument: String
    public var id: String
    // `Optional<String>`, not `String?`: a `var` of the short form is set to nil before the initializer runs, and
    // a decoded trade then took a dead copy (a retain and release of each field) on its way out of the decoder.
    public var buyer: Optional<String>
    public var seller: Optional<String>
    /// The value as received, for a decoded trade (empty for one built in code).
    public internal(set) var received: [UInt8]
    public var ts: Int64
    public var price: Double
    public var size: Double
    /// Fraction of notional charged to both sides.
    public var fee: Double?
    /// The aggressor side.
    public var side: Side
    /// The number of ``instrument`` in the ``SymbolTable`` it was decoded through (``SymbolTable/symbol(_:)``), -1
    /// when it has none there (decoded without a table, by the general reader, or built in code): lets state kept
    /// by symbol be found by index. Not part of the value (`==` ignores it).
    public internal(set) var instrumentNumber: Int16

    public init(instrument: String, ts: Int64, id: String, price: Double, size: Double, side: Side,
                buyer: String? = nil, seller: String? = nil, fee: Double? = nil) {
        self.instrument = instrument
        self.ts = ts
        self.id = id
        self.price = price
        self.size = size
        self.side = side
        self.buyer = buyer
        self.seller = seller
        self.fee = fee
        received = []
        instrumentNumber = -1
    }

    /// A decoded trade: its fields, the bytes it was read from, and its instrument's number in the decoder's table.
    init(instrument: String, instrumentNumber: Int16, ts: Int64, id: String, price: Double, size: Double,
         side: Side, buyer: String?, seller: String?, fee: Double?, received: [UInt8]) {
        self.instrument = instrument
        self.instrumentNumber = instrumentNumber
        self.ts = ts
        self.id = id
        self.price = price
        self.size = size
        self.side = side
        self.buyer = buyer
        self.seller = seller
        self.fee = fee
        self.received = received
    }

    /// Decodes and validates one `trades` value.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Trade {
        if let trade = decodeCompact(bytes) { return trade }
        return try decodeGeneral(bytes)
    }

    /// ``decode(_:)``, the instrument in the usual shape the string `symbols` keeps for its bytes (the same value).
    public static func decode(_ bytes: UnsafeRawBufferPointer, symbols: inout SymbolTable) throws(DecodeError) -> Trade {
        if let trade = decodeCompact(bytes, symbols: &symbols) { return trade }
        return try decodeGeneral(bytes)
    }

    /// The general reader behind ``decode(_:)``: any valid JSON, every error with its reason. ``decodeCompact(_:)``
    /// returns exactly what this returns, for the inputs it takes.
    static func decodeGeneral(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Trade {
        var r = JSONReader(bytes)
        var instrument: String?, id: String?, side: Side?, buyer: String?, seller: String?
        var ts: Int64?
        var price: Double?, size: Double?, fee: Double?
        guard try r.peekKind() == .object else { throw DecodeError(.decodeError, "value is not a JSON object") }
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            if key == "instrument" { instrument = try field("instrument") { () throws(DecodeError) in try r.readString() } }
            else if key == "ts" { ts = try field("ts") { () throws(DecodeError) in try r.readInt64() } }
            else if key == "id" { id = try field("id") { () throws(DecodeError) in try r.readString() } }
            else if key == "price" { price = try field("price") { () throws(DecodeError) in try r.readDouble() } }
            else if key == "size" { size = try field("size") { () throws(DecodeError) in try r.readDouble() } }
            else if key == "side" {
                let s = try field("side") { () throws(DecodeError) in try r.readString() }
                guard let parsed = Side(rawValue: s) else { throw DecodeError(.invalidValue, "field 'side': '\(s)' is not buy or sell") }
                side = parsed
            } else if key == "buyer" {
                buyer = try field("buyer") { () throws(DecodeError) in r.readNullIfPresent() ? nil : try r.readString() }
            } else if key == "seller" {
                seller = try field("seller") { () throws(DecodeError) in r.readNullIfPresent() ? nil : try r.readString() }
            } else if key == "fee" {
                fee = try field("fee") { () throws(DecodeError) in r.readNullIfPresent() ? nil : try r.readDouble() }
            } else { try r.skipValue() }
        }
        try r.expectEnd()
        guard let instrument else { throw DecodeError(.missingField, "missing field 'instrument'") }
        guard let ts else { throw DecodeError(.missingField, "missing field 'ts'") }
        guard let id else { throw DecodeError(.missingField, "missing field 'id'") }
        guard let price else { throw DecodeError(.missingField, "missing field 'price'") }
        guard let size else { throw DecodeError(.missingField, "missing field 'size'") }
        guard let side else { throw DecodeError(.missingField, "missing field 'side'") }
        var trade = Trade(instrument: instrument, ts: ts, id: id, price: price, size: size, side: side,
                          buyer: buyer, seller: seller, fee: fee)
        try trade.validate()
        trade.received = Array(bytes)
        return trade
    }

    public func validate() throws(DecodeError) {
        guard !instrument.isEmpty else { throw DecodeError(.invalidValue, "'instrument' is empty") }
        try eventTime(ts)
        try nonEmpty(id, "id")
        try nonEmpty(buyer, "buyer")
        try nonEmpty(seller, "seller")
        try positive(price, "price")
        try positive(size, "size")
        if let fee { try finite(fee, "fee") }
        if let buyer, let seller, buyer == seller {
            throw DecodeError(.invalidValue, "'buyer' and 'seller' are the same account")
        }
    }
}
