extension Trade {
    /// Reads the usual shape of a trade in one pass over the bytes, as ``Quote/decodeCompact(_:)`` does for quotes:
    /// known keys without escapes, each at most once; strings of printable ASCII without escapes; plain decimal
    /// numbers (`-?d{1,7}(.d{1,7})?`); no whitespace.
    ///
    /// - Returns: exactly the trade that ``decodeGeneral(_:)`` returns for the same bytes, or nil for anything else
    ///   (other shapes, and every invalid input), which the general reader then decides.
    static func decodeCompact(_ bytes: UnsafeRawBufferPointer) -> Trade? {
        var none = SymbolTable.disabled
        return decodeCompact(bytes, symbols: &none)
    }

    /// ``decodeCompact(_:)``, the instrument the one `symbols` keeps for its bytes.
    ///
    /// Read from a padded copy (``CompactScanner/withPaddedCopy(of:count:_:)``), as quotes are: first as written
    /// in the usual key order, then, for anything else, with keys in any order.
    static func decodeCompact(_ bytes: UnsafeRawBufferPointer, symbols: inout SymbolTable) -> Trade? {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return nil }
        return CompactScanner.withPaddedCopy(of: source, count: bytes.count) { p in
            if let trade = decodeInUsualOrder(padded: p, bytes, symbols: &symbols) { return trade }
            return decodeAnyOrder(padded: p, bytes, symbols: &symbols)
        }
    }

    /// The trade of `bytes` when they are written exactly as producers usually write one —
    /// `{"instrument":…,"ts":…,"id":…,"price":…,"size":…,"side":…}`, optionally `"buyer"`, `"seller"` and `"fee"`
    /// in that order before the brace, no whitespace — read in that order without looking keys up; nil for
    /// anything else (which ``decodeAnyOrder(padded:_:symbols:)`` then reads from the start: this takes nothing it
    /// would not take, with the same values).
    @inline(__always)
    private static func decodeInUsualOrder(
        padded p: UnsafePointer<UInt8>, _ bytes: UnsafeRawBufferPointer, symbols: inout SymbolTable
    ) -> Trade? {
        var s = CompactScanner(p: p, n: bytes.count, padding: CompactScanner.padding)
        guard s.takeText(CompactScanner.word(#"{"instru"#), CompactScanner.word(#"ment":"#), 14),
              let instrument = s.symbol(symbols: &symbols),
              s.takeText(CompactScanner.word(#","ts":"#), 0, 6), let ts = s.integer(),
              s.takeText(CompactScanner.word(#","id":"#), 0, 6), let id = s.asciiString(),
              s.takeText(CompactScanner.word(#","price""#), CompactScanner.word(":"), 9), let price = s.number(),
              s.takeText(CompactScanner.word(#","size":"#), 0, 8), let size = s.number(),
              s.takeText(CompactScanner.word(#","side":"#), 0, 8)
        else { return nil }
        let side: Side
        if s.takeBytes("\"buy\"") {
            side = .buy
        } else if s.takeBytes("\"sell\"") {
            side = .sell
        } else {
            return nil
        }
        var buyer: String?, seller: String?, fee: Double?
        if s.takeText(CompactScanner.word(#","buyer""#), CompactScanner.word(":"), 9), !s.takeNull() {
            guard let v = s.asciiString() else { return nil }
            buyer = v
        }
        if s.takeText(CompactScanner.word(#","seller"#), CompactScanner.word(#"":"#), 10), !s.takeNull() {
            guard let v = s.asciiString() else { return nil }
            seller = v
        }
        if s.takeText(CompactScanner.word(#","fee":"#), 0, 7), !s.takeNull() {
            guard let v = s.number() else { return nil }
            fee = v
        }
        // What ``Trade/validate()`` checks; numbers here are finite.
        guard s.take(UInt8(ascii: "}")), s.i == s.n, !instrument.string.isEmpty, ts >= 0, !id.isEmpty,
              !(buyer?.isEmpty ?? false), !(seller?.isEmpty ?? false), price > 0, size > 0
        else { return nil }
        if let buyer, let seller, buyer == seller { return nil }
        return Trade(instrument: instrument.string, instrumentNumber: instrument.number, ts: ts, id: id, price: price,
                     size: size, side: side, buyer: buyer, seller: seller, fee: fee, received: Array(bytes))
    }

    /// The trade of `bytes` with known keys in any order, read from their copy at `p` (followed by
    /// ``CompactScanner/padding`` zero bytes).
    @inline(__always)
    private static func decodeAnyOrder(
        padded p: UnsafePointer<UInt8>, _ bytes: UnsafeRawBufferPointer, symbols: inout SymbolTable
    ) -> Trade? {
        var s = CompactScanner(p: p, n: bytes.count, padding: CompactScanner.padding)
        var instrumentNumber: Int16 = -1
        var instrument: String?, id: String?, side: Side?, buyer: String?, seller: String?
        var ts: Int64 = 0
        var price = 0.0, size = 0.0
        var fee: Double?
        var seen: UInt16 = 0

        guard s.take(UInt8(ascii: "{")) else { return nil }
        while true {
            guard let field = s.tradeKey() else { return nil }
            let bit = UInt16(1) << field.rawValue
            guard seen & bit == 0 else { return nil }
            seen |= bit
            guard s.take(UInt8(ascii: ":")) else { return nil }
            switch field {
            case .instrument:
                guard let v = s.symbol(symbols: &symbols) else { return nil }
                (instrument, instrumentNumber) = (v.string, v.number)
            case .ts: guard let v = s.integer() else { return nil }; ts = v
            case .id: guard let v = s.asciiString() else { return nil }; id = v
            case .price: guard let v = s.number() else { return nil }; price = v
            case .size: guard let v = s.number() else { return nil }; size = v
            case .side:
                // `"buy"` and `"sell"` matched byte by byte (the side is often last, too near the end for a word);
                // any other text is read as a string.
                if s.takeBytes("\"buy\"") {
                    side = .buy
                } else if s.takeBytes("\"sell\"") {
                    side = .sell
                } else {
                    guard let v = s.asciiString(), let parsed = Side(rawValue: v) else { return nil }
                    side = parsed
                }
            case .buyer:
                if !s.takeNull() {
                    guard let v = s.asciiString() else { return nil }
                    buyer = v
                }
            case .seller:
                if !s.takeNull() {
                    guard let v = s.asciiString() else { return nil }
                    seller = v
                }
            case .fee:
                if !s.takeNull() {
                    guard let v = s.number() else { return nil }
                    fee = v
                }
            }
            if s.take(UInt8(ascii: ",")) { continue }
            guard s.take(UInt8(ascii: "}")) else { return nil }
            break
        }
        guard s.i == s.n, seen & CompactTradeField.required == CompactTradeField.required,
              let instrument, let id, let side else { return nil }
        let trade = Trade(instrument: instrument, instrumentNumber: instrumentNumber, ts: ts, id: id, price: price,
                          size: size, side: side, buyer: buyer, seller: seller, fee: fee, received: Array(bytes))
        guard (try? trade.validate()) != nil else { return nil }
        return trade
    }
}

/// The keys ``Trade/decodeCompact(_:)`` knows, as bit numbers of its seen-set.
enum CompactTradeField: UInt16 {
    case instrument, ts, id, price, size, side, buyer, seller, fee

    /// instrument, ts, id, price, size, side.
    static let required: UInt16 = 0b11_1111
}

extension CompactScanner {
    /// Whether the next bytes are `literal`; if so, moves past them.
    @inline(__always) mutating func takeBytes(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard i &+ count <= n, Self.equals(p + i, literal) else { return false }
        i &+= count
        return true
    }

    /// A known key of a trade without escapes, and its closing quote.
    @inline(__always) mutating func tradeKey() -> CompactTradeField? {
        guard let (k, length) = keyText() else { return nil }
        switch length {
        case 2:
            if k[0] == UInt8(ascii: "t"), k[1] == UInt8(ascii: "s") { return .ts }
            if k[0] == UInt8(ascii: "i"), k[1] == UInt8(ascii: "d") { return .id }
        case 3:
            if Self.equals(k, "fee") { return .fee }
        case 4:
            if Self.equals(k, "size") { return .size }
            if Self.equals(k, "side") { return .side }
        case 5:
            if Self.equals(k, "price") { return .price }
            if Self.equals(k, "buyer") { return .buyer }
        case 6:
            if Self.equals(k, "seller") { return .seller }
        case 10:
            if Self.equals(k, "instrument") { return .instrument }
        default: break
        }
        return nil
    }
}
