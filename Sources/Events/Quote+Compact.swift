extension Quote {
    /// Reads the usual shape of a quote in one pass over the bytes, without the general reader's per-field
    /// closures and error plumbing: known keys without escapes, each at most once; an ASCII instrument without
    /// escapes; plain decimal numbers (`-?d{1,7}(.d{1,7})?`); spaces only inside the levels.
    ///
    /// - Returns: exactly the quote (levels' text included) that ``decodeGeneral(_:)`` returns for the same bytes,
    ///   or nil for anything else — other shapes, and every invalid input — which the general reader then decides,
    ///   so errors keep their reasons and messages.
    static func decodeCompact(_ bytes: UnsafeRawBufferPointer) -> Quote? {
        var none = SymbolTable.disabled
        return decodeCompact(bytes, symbols: &none)
    }

    /// ``decodeCompact(_:)``, the instrument the one `symbols` keeps for its bytes.
    ///
    /// Read from a padded copy (``CompactScanner/withPaddedCopy(of:count:_:)``): no slower path for a quote's last
    /// levels, near its end.
    static func decodeCompact(_ bytes: UnsafeRawBufferPointer, symbols: inout SymbolTable) -> Quote? {
        // Levels' text is kept as 32-bit offsets (``Quote/levelsText``).
        guard let source = bytes.baseAddress, bytes.count > 0, UInt32(exactly: bytes.count) != nil else { return nil }
        return CompactScanner.withPaddedCopy(of: source, count: bytes.count) { p in
            decodeCompact(padded: p, bytes, symbols: &symbols)
        }
    }

    /// The quote of `bytes`, read from their copy at `p` (followed by ``CompactScanner/padding`` zero bytes).
    @inline(__always)
    private static func decodeCompact(
        padded p: UnsafePointer<UInt8>, _ bytes: UnsafeRawBufferPointer, symbols: inout SymbolTable
    ) -> Quote? {
        if let quote = decodeInUsualOrder(padded: p, bytes, symbols: &symbols) { return quote }
        let count = bytes.count
        var s = CompactScanner(p: p, n: count, padding: CompactScanner.padding)
        var instrument: String?, instrumentNumber: Int16 = -1
        var ts: Int64 = 0
        var bid = 0.0, bidSize = 0.0, ask = 0.0, askSize = 0.0
        var iv: Double?
        // The best level of each side, the levels themselves being validated as they are read, not kept.
        var bestBid: BookLevel?, bestAsk: BookLevel?
        var bidsText = 0..<0, asksText = 0..<0
        var seen: UInt16 = 0

        s.skipWhitespace()
        guard s.take(UInt8(ascii: "{")) else { return nil }
        s.skipWhitespace()
        guard var field = s.key() else { return nil }
        s.skipWhitespace()
        guard s.take(UInt8(ascii: ":")) else { return nil }
        while true {
            let bit = UInt16(1) << field.rawValue
            guard seen & bit == 0 else { return nil }
            seen |= bit
            s.skipWhitespace()
            switch field {
            case .instrument:
                guard let v = s.symbol(symbols: &symbols) else { return nil }
                (instrument, instrumentNumber) = (v.string, v.number)
            case .ts: guard let v = s.integer() else { return nil }; ts = v
            case .bid: guard let v = s.number() else { return nil }; bid = v
            case .bidSize: guard let v = s.number() else { return nil }; bidSize = v
            case .ask: guard let v = s.number() else { return nil }; ask = v
            case .askSize: guard let v = s.number() else { return nil }; askSize = v
            case .iv:
                if s.takeNull() {
                    iv = nil
                } else {
                    guard let v = s.number() else { return nil }
                    iv = v
                }
            case .bids:
                let start = s.i
                guard let best = s.validLevels(descending: true) else { return nil }
                bestBid = best
                bidsText = start..<s.i
            case .asks:
                let start = s.i
                guard let best = s.validLevels(descending: false) else { return nil }
                bestAsk = best
                asksText = start..<s.i
            }
            // The key the usual order has next, written without spaces, is matched at once; anything else takes
            // the general steps, which read the same key the same way.
            if let next = s.takeUsualNext(after: field) {
                field = next
                continue
            }
            s.skipWhitespace()
            guard s.take(UInt8(ascii: ",")) else {
                guard s.take(UInt8(ascii: "}")) else { return nil }
                break
            }
            s.skipWhitespace()
            guard let next = s.key() else { return nil }
            s.skipWhitespace()
            guard s.take(UInt8(ascii: ":")) else { return nil }
            field = next
        }
        s.skipWhitespace()
        guard s.i == s.n, seen & CompactField.required == CompactField.required, let instrument else { return nil }
        guard let bestBid, let bestAsk else {
            // A side without levels: the single best level stands for it, as in the general reader.
            let received = Array(bytes)
            var quote = Quote(instrument: instrument, ts: ts, bid: bid, bidSize: bidSize, ask: ask, askSize: askSize,
                              bids: bestBid.map { _ in BookLevel.levels(in: received, bidsText) },
                              asks: bestAsk.map { _ in BookLevel.levels(in: received, asksText) }, iv: iv)
            guard (try? quote.validate()) != nil else { return nil }
            quote.received = received
            quote.instrumentNumber = instrumentNumber
            return quote
        }
        return validated(instrument: instrument, instrumentNumber: instrumentNumber, ts: ts, bid: bid,
                         bidSize: bidSize, ask: ask, askSize: askSize, iv: iv, bestBid: bestBid, bestAsk: bestAsk,
                         levelsText: (bidsText, asksText), bytes)
    }

    /// The quote of `bytes` when they are written exactly as producers usually write one — `{"instrument":…,"ts":…,
    /// "bid":…,"bid_size":…,"ask":…,"ask_size":…,"bids":[…],"asks":[…]}` with an optional `"iv"` last, no
    /// whitespace — read in that order without looking keys up; nil for anything else (which the reader of keys in
    /// any order then reads from the start: this takes nothing it would not take, with the same values).
    @inline(__always)
    private static func decodeInUsualOrder(
        padded p: UnsafePointer<UInt8>, _ bytes: UnsafeRawBufferPointer, symbols: inout SymbolTable
    ) -> Quote? {
        var s = CompactScanner(p: p, n: bytes.count, padding: CompactScanner.padding)
        guard s.takeText(CompactScanner.word(#"{"instru"#), CompactScanner.word(#"ment":"#), 14),
              let instrument = s.symbol(symbols: &symbols),
              s.takeText(CompactScanner.word(#","ts":"#), 0, 6), let ts = s.integer(),
              s.takeText(CompactScanner.word(#","bid":"#), 0, 7), let bid = s.number(),
              s.takeText(CompactScanner.word(#","bid_si"#), CompactScanner.word(#"ze":"#), 12),
              let bidSize = s.number(),
              s.takeText(CompactScanner.word(#","ask":"#), 0, 7), let ask = s.number(),
              s.takeText(CompactScanner.word(#","ask_si"#), CompactScanner.word(#"ze":"#), 12),
              let askSize = s.number(),
              s.takeText(CompactScanner.word(#","bids":"#), 0, 8)
        else { return nil }
        let bidsStart = s.i
        guard let bestBid = s.validBids() else { return nil }
        let bidsText = bidsStart..<s.i
        guard s.takeText(CompactScanner.word(#","asks":"#), 0, 8) else { return nil }
        let asksStart = s.i
        guard let bestAsk = s.validAsks() else { return nil }
        let asksText = asksStart..<s.i
        var iv: Double?
        if s.takeText(CompactScanner.word(#","iv":"#), 0, 6), !s.takeNull() {
            guard let v = s.number() else { return nil }
            iv = v
        }
        guard s.take(UInt8(ascii: "}")), s.i == s.n else { return nil }
        return validated(instrument: instrument.string, instrumentNumber: instrument.number, ts: ts, bid: bid,
                         bidSize: bidSize, ask: ask, askSize: askSize, iv: iv, bestBid: bestBid, bestAsk: bestAsk,
                         levelsText: (bidsText, asksText), bytes)
    }

    /// The quote of these fields (levels validated, their best given) when they pass what ``Quote/validate()``
    /// checks beyond the levels; numbers here are finite.
    @inline(__always)
    private static func validated(
        instrument: String, instrumentNumber: Int16, ts: Int64, bid: Double, bidSize: Double, ask: Double,
        askSize: Double, iv: Double?, bestBid: BookLevel, bestAsk: BookLevel,
        levelsText: (bids: Range<Int>, asks: Range<Int>), _ bytes: UnsafeRawBufferPointer
    ) -> Quote? {
        guard !instrument.isEmpty, ts >= 0, bid > 0, bidSize > 0, ask > 0, askSize > 0, bid <= ask,
              iv.map({ $0 > 0 }) ?? true,
              bestBid.price == bid, bestBid.size == bidSize, bestAsk.price == ask, bestAsk.size == askSize
        else { return nil }
        // The levels hold nothing but digits, '.', '-', ',', brackets and spaces: no control characters.
        return Quote(instrument: instrument, instrumentNumber: instrumentNumber, ts: ts, bid: bid, bidSize: bidSize,
                     ask: ask, askSize: askSize, iv: iv, received: Array(bytes), levelsText: levelsText)
    }
}

/// The keys ``Quote/decodeCompact(_:)`` knows, as bit numbers of its seen-set.
enum CompactField: UInt16 {
    case instrument, ts, bid, bidSize, ask, askSize, iv, bids, asks

    /// instrument, ts, bid, bid_size, ask, ask_size.
    static let required: UInt16 = 0b11_1111
}

extension CompactScanner {
    /// A known key of a quote without escapes, and its closing quote.
    @inline(__always) mutating func key() -> CompactField? {
        // The usual keys, each with its closing quote, compared a word at a time; any other text goes the long way
        // (with the same answer for these keys).
        if i &+ 12 <= readable, p[i] == UInt8(ascii: "\""), let (field, length) = Self.usualKey(p + (i &+ 1)) {
            i &+= 1 &+ length
            return field
        }
        guard let (k, length) = keyText() else { return nil }
        switch length {
        case 2:
            if k[0] == UInt8(ascii: "t"), k[1] == UInt8(ascii: "s") { return .ts }
            if k[0] == UInt8(ascii: "i"), k[1] == UInt8(ascii: "v") { return .iv }
        case 3:
            if Self.equals(k, "bid") { return .bid }
            if Self.equals(k, "ask") { return .ask }
        case 4:
            if Self.equals(k, "bids") { return .bids }
            if Self.equals(k, "asks") { return .asks }
        case 8:
            if Self.equals(k, "bid_size") { return .bidSize }
            if Self.equals(k, "ask_size") { return .askSize }
        case 10:
            if Self.equals(k, "instrument") { return .instrument }
        default: break
        }
        return nil
    }

    /// The key whose text and closing quote the (at least 11) bytes at `k` start with, if it is a usual one, and
    /// the length of both. Words are little-endian: a key's first byte is the word's lowest.
    @inline(__always) static func usualKey(_ k: UnsafePointer<UInt8>) -> (CompactField, Int)? {
        let w = load(k)
        let three = w & 0xFF_FFFF, four = w & 0xFFFF_FFFF, five = w & 0xFF_FFFF_FFFF
        switch w & 0xFF {
        case UInt64(UInt8(ascii: "b")):
            if four == 0x2264_6962 { return (.bid, 4) }                      // bid"
            if five == 0x22_7364_6962 { return (.bids, 5) }                   // bids"
            if w == 0x657A_6973_5F64_6962, k[8] == UInt8(ascii: "\"") { return (.bidSize, 9) }  // bid_size"
        case UInt64(UInt8(ascii: "a")):
            if four == 0x226B_7361 { return (.ask, 4) }                      // ask"
            if five == 0x22_736B_7361 { return (.asks, 5) }                   // asks"
            if w == 0x657A_6973_5F6B_7361, k[8] == UInt8(ascii: "\"") { return (.askSize, 9) }  // ask_size"
        case UInt64(UInt8(ascii: "t")):
            if three == 0x22_7374 { return (.ts, 3) }                         // ts"
        case UInt64(UInt8(ascii: "i")):
            if three == 0x22_7669 { return (.iv, 3) }                         // iv"
            if w == 0x656D_7572_7473_6E69, k[8] == UInt8(ascii: "n"), k[9] == UInt8(ascii: "t"),
               k[10] == UInt8(ascii: "\"") { return (.instrument, 11) }      // instrument"
        default: break
        }
        return nil
    }

    /// After the value of `field`, `,"<next key>":` for the key that follows it in the usual order (instrument, ts,
    /// bid, bid_size, ask, ask_size, bids, asks, iv), matched a word at a time; nil, having read nothing, when the
    /// bytes are anything else.
    @inline(__always) mutating func takeUsualNext(after field: CompactField) -> CompactField? {
        // The text as little-endian words: (first eight bytes, the rest, length, key).
        let (first, rest, length, next): (UInt64, UInt64, Int, CompactField)
        switch field {
        case .instrument: (first, rest, length, next) = (Self.word(#","ts":"#), 0, 6, .ts)
        case .ts: (first, rest, length, next) = (Self.word(#","bid":"#), 0, 7, .bid)
        case .bid: (first, rest, length, next) = (Self.word(#","bid_si"#), Self.word(#"ze":"#), 12, .bidSize)
        case .bidSize: (first, rest, length, next) = (Self.word(#","ask":"#), 0, 7, .ask)
        case .ask: (first, rest, length, next) = (Self.word(#","ask_si"#), Self.word(#"ze":"#), 12, .askSize)
        case .askSize: (first, rest, length, next) = (Self.word(#","bids":"#), 0, 8, .bids)
        case .bids: (first, rest, length, next) = (Self.word(#","asks":"#), 0, 8, .asks)
        case .asks: (first, rest, length, next) = (Self.word(#","iv":"#), 0, 6, .iv)
        case .iv: return nil
        }
        return takeText(first, rest, length) ? next : nil
    }
}
