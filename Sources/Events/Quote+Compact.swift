import CByteScan

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
    static func decodeCompact(_ bytes: UnsafeRawBufferPointer, symbols: inout SymbolTable) -> Quote? {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return nil }
        var s = CompactScanner(p: base.assumingMemoryBound(to: UInt8.self), n: bytes.count)
        var instrument: String?
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
            case .instrument: guard let v = s.asciiString(symbols: &symbols) else { return nil }; instrument = v
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
        let received = Array(bytes)
        guard let bestBid, let bestAsk else {
            // A side without levels: the single best level stands for it, as in the general reader.
            var quote = Quote(instrument: instrument, ts: ts, bid: bid, bidSize: bidSize, ask: ask, askSize: askSize,
                              bids: bestBid.map { _ in BookLevel.levels(in: received, bidsText) },
                              asks: bestAsk.map { _ in BookLevel.levels(in: received, asksText) }, iv: iv)
            guard (try? quote.validate()) != nil else { return nil }
            quote.received = received
            return quote
        }
        // What ``Quote/validate()`` checks beyond the levels, which are valid already; numbers here are finite.
        guard !instrument.isEmpty, ts >= 0, bid > 0, bidSize > 0, ask > 0, askSize > 0, bid <= ask,
              iv.map({ $0 > 0 }) ?? true,
              bestBid.price == bid, bestBid.size == bidSize, bestAsk.price == ask, bestAsk.size == askSize
        else { return nil }
        // The levels hold nothing but digits, '.', '-', ',', brackets and spaces: no control characters.
        return Quote(instrument: instrument, ts: ts, bid: bid, bidSize: bidSize, ask: ask, askSize: askSize, iv: iv,
                     received: received, levelsText: (bidsText, asksText))
    }
}

/// The keys ``Quote/decodeCompact(_:)`` knows, as bit numbers of its seen-set.
enum CompactField: UInt16 {
    case instrument, ts, bid, bidSize, ask, askSize, iv, bids, asks

    /// instrument, ts, bid, bid_size, ask, ask_size.
    static let required: UInt16 = 0b11_1111
}

/// A cursor over bytes for ``Quote/decodeCompact(_:)``: every reader returns nil, not an error, on anything
/// outside the compact form (the position is then meaningless).
struct CompactScanner {
    let p: UnsafePointer<UInt8>
    let n: Int
    var i = 0

    @inline(__always) mutating func skipWhitespace() {
        while i < n {
            switch p[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    @inline(__always) mutating func skipSpaces() {
        while i < n, p[i] == 0x20 { i += 1 }
    }

    @inline(__always) mutating func take(_ c: UInt8) -> Bool {
        guard i < n, p[i] == c else { return false }
        i += 1
        return true
    }

    mutating func takeNull() -> Bool {
        guard i + 4 <= n, p[i] == UInt8(ascii: "n"), p[i + 1] == UInt8(ascii: "u"), p[i + 2] == UInt8(ascii: "l"),
              p[i + 3] == UInt8(ascii: "l") else { return false }
        i += 4
        return true
    }

    /// A key without escapes, and its closing quote: where its text starts, and its length.
    @inline(__always) mutating func keyText() -> (UnsafePointer<UInt8>, Int)? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = i
        while i < n, p[i] != UInt8(ascii: "\"") {
            if p[i] == UInt8(ascii: "\\") { return nil }
            i += 1
        }
        guard i < n else { return nil }
        let length = i - start
        i += 1
        return (p + start, length)
    }

    /// A known key of a quote without escapes, and its closing quote.
    @inline(__always) mutating func key() -> CompactField? {
        // The usual keys, each with its closing quote, compared a word at a time; any other text goes the long way
        // (with the same answer for these keys).
        if i &+ 12 <= n, p[i] == UInt8(ascii: "\""), let (field, length) = Self.usualKey(p + (i &+ 1)) {
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

    /// Whether the next `length` (at most 16) bytes are the text whose little-endian words are `first` and `rest`
    /// (zero above the text); if so, moves past them. False too within 16 bytes of the end.
    @inline(__always) mutating func takeText(_ first: UInt64, _ rest: UInt64, _ length: Int) -> Bool {
        guard i &+ 16 <= n else { return false }
        let head = Self.load(p + i), tail = Self.load(p + (i &+ 8))
        guard head & Self.lowBytes(length) == first, tail & Self.lowBytes(length &- 8) == rest else { return false }
        i &+= length
        return true
    }

    /// The bytes of `text` (at most eight) as a little-endian word, zero above them.
    @inline(__always) static func word(_ text: StaticString) -> UInt64 {
        var w: UInt64 = 0
        for j in 0..<text.utf8CodeUnitCount { w |= UInt64(text.utf8Start[j]) &<< UInt64(8 &* j) }
        return w
    }

    /// A mask of the low `count` bytes of a word: none for a count ≤ 0, all for one ≥ 8.
    @inline(__always) static func lowBytes(_ count: Int) -> UInt64 {
        count >= 8 ? ~0 : count <= 0 ? 0 : (UInt64(1) &<< UInt64(8 &* count)) &- 1
    }

    /// Whether the bytes at `k` start with `literal`.
    @inline(__always) static func equals(_ k: UnsafePointer<UInt8>, _ literal: StaticString) -> Bool {
        let l = literal.utf8Start
        for j in 0..<literal.utf8CodeUnitCount where k[j] != l[j] { return false }
        return true
    }

    /// A string of printable ASCII without escapes.
    mutating func asciiString() -> String? {
        var none = SymbolTable.disabled
        return asciiString(symbols: &none)
    }

    /// A string of printable ASCII without escapes, the one `symbols` keeps for its bytes if any.
    @inline(__always) mutating func asciiString(symbols: inout SymbolTable) -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = i
        // Eight bytes at a time to the first that is not printable ASCII other than `"` and `\`: the closing
        // quote, or a byte that sends the string the long way.
        while i &+ 8 <= n {
            let w = Self.load(p + i)
            let stop = Self.stringStops(w)
            guard stop == 0 else {
                i &+= stop.trailingZeroBitCount &>> 3
                guard p[i] == UInt8(ascii: "\"") else { return nil }
                let s = symbols.symbol(UnsafeBufferPointer(start: p + start, count: i - start))
                i &+= 1
                return s
            }
            i &+= 8
        }
        while i < n {
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                let s = symbols.symbol(UnsafeBufferPointer(start: p + start, count: i - start))
                i += 1
                return s
            }
            if c < 0x20 || c >= 0x80 || c == UInt8(ascii: "\\") { return nil }
            i += 1
        }
        return nil
    }

    /// The high bit of each byte of `w` that is `"`, `\\`, below 0x20 or above 0x7F, and possibly of bytes after
    /// the first such (a borrow moves only up): the lowest bit set marks the first exactly.
    @inline(__always) static func stringStops(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (0x22 &* ones)
        let backslash = w ^ (0x5C &* ones)
        return ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (w &- 0x20 &* ones) & ~w | w)
            & (0x80 &* ones)
    }

    /// `-?d{1,18}` not followed by a fraction or an exponent (what `JSONReader.readInt64` reads as this value).
    mutating func integer() -> Int64? {
        guard i < n else { return nil }
        let negative = p[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        let start = i
        // Up to 24 digits' room: eight at a time (event times have 16), to the first byte that is not a digit.
        if start &+ 25 <= n {
            let w0 = Self.load(p + start)
            let d0 = Self.leadingDigits(w0)
            var value = Self.value(w0, digits: d0)
            var count = d0
            if d0 == 8 {
                let w1 = Self.load(p + (start &+ 8))
                let d1 = Self.leadingDigits(w1)
                value = value &* integerPowers[d1] &+ Self.value(w1, digits: d1)
                count &+= d1
                if d1 == 8 {
                    let w2 = Self.load(p + (start &+ 16))
                    let d2 = Self.leadingDigits(w2)
                    guard d2 <= 2 else { return nil }
                    value = value &* integerPowers[d2] &+ Self.value(w2, digits: d2)
                    count &+= d2
                }
            }
            guard count > 0 else { return nil }
            i = start &+ count
            if p[i] == UInt8(ascii: ".") || p[i] | 0x20 == UInt8(ascii: "e") { return nil }
            let signed = Int64(bitPattern: value)
            return negative ? -signed : signed
        }
        var value: Int64 = 0
        while i < n, case let d = p[i] &- UInt8(ascii: "0"), d < 10 {
            value = value &* 10 &+ Int64(d)
            i += 1
        }
        guard i > start, i - start <= 18 else { return nil }
        if i < n, p[i] == UInt8(ascii: ".") || p[i] | 0x20 == UInt8(ascii: "e") { return nil }
        return negative ? -value : value
    }

    /// `-?d{1,7}(.d{1,7})?` not followed by an exponent, as the double `JSONReader.readDouble` reads: at most 14
    /// digits, so `Double(mantissa) / 10^k` with both operands exact, one rounding (its plain-decimal path).
    @inline(__always) mutating func number() -> Double? { decimal()?.value }

    /// The digits of a number of ``number()``'s form: `mantissa / 10^fractionDigits`, negated when `negative`.
    struct Decimal {
        var mantissa: UInt64
        var fractionDigits: Int
        var negative: Bool

        /// The double nearest to the number.
        @inline(__always) var value: Double {
            // mantissa < 10^14: the signed conversion is exact and one instruction (the unsigned one is several).
            let magnitude = Double(Int64(bitPattern: mantissa)) / doublePowers[fractionDigits]
            // magnitude ≥ 0, so setting the sign bit is negation.
            return Double(bitPattern: magnitude.bitPattern | (negative ? 1 << 63 : 0))
        }

        /// The magnitude in units of 10^-7: as exact as the digits, and ordered as the numbers' doubles are
        /// (distinct decimals of at most 14 digits round to distinct doubles, in the same order).
        @inline(__always) var scaled: UInt64 { mantissa &* integerPowers[7 &- fractionDigits] }
    }

    /// A number of ``number()``'s form, as its digits.
    ///
    /// Without branches on the digits (lengths vary from number to number, so branches on them mispredict): the
    /// fraction is read whether or not there is one, and counts zero digits when there is none (x / 10^0 = x).
    @inline(__always) mutating func decimal() -> Decimal? {
        guard i < n else { return nil }
        let negative = p[i] == UInt8(ascii: "-")
        let start = i &+ (negative ? 1 : 0)
        // Eight bytes at the integer part and eight after the byte that ends it, within the first 17 of the number.
        guard start + 17 <= n else { return decimalNearEnd() }
        let whole = Self.load(p + start)
        let wholeDigits = Self.leadingDigits(whole)
        let hasFraction = p[start &+ wholeDigits] == UInt8(ascii: ".")
        let fraction = Self.load(p + (start &+ wholeDigits &+ 1))
        let fractionDigits = hasFraction ? Self.leadingDigits(fraction) : 0
        guard wholeDigits > 0, wholeDigits < 8, fractionDigits < 8, fractionDigits > 0 || !hasFraction else { return nil }
        let end = start &+ wholeDigits &+ (hasFraction ? 1 &+ fractionDigits : 0)
        guard p[end] | 0x20 != UInt8(ascii: "e") else { return nil }
        i = end
        let mantissa = Self.value(whole, digits: wholeDigits) &* integerPowers[fractionDigits]
            &+ Self.value(fraction, digits: fractionDigits)
        return Decimal(mantissa: mantissa, fractionDigits: fractionDigits, negative: negative)
    }

    /// ``decimal()`` within 17 bytes of the end, a byte at a time.
    private mutating func decimalNearEnd() -> Decimal? {
        let negative = p[i] == UInt8(ascii: "-")
        var j = negative ? i + 1 : i
        var mantissa: UInt64 = 0
        let wholeStart = j
        while j < n, case let d = p[j] &- UInt8(ascii: "0"), d < 10 {
            mantissa = mantissa &* 10 &+ UInt64(d)
            j += 1
        }
        guard j > wholeStart, j - wholeStart < 8 else { return nil }
        var fractionDigits = 0
        if j < n, p[j] == UInt8(ascii: ".") {
            j += 1
            let fractionStart = j
            while j < n, case let d = p[j] &- UInt8(ascii: "0"), d < 10 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                j += 1
            }
            fractionDigits = j - fractionStart
            guard fractionDigits > 0, fractionDigits < 8 else { return nil }
        }
        if j < n, p[j] | 0x20 == UInt8(ascii: "e") { return nil }
        i = j
        return Decimal(mantissa: mantissa, fractionDigits: fractionDigits, negative: negative)
    }

    /// The levels of `[[price, size], …]` (spaces allowed between tokens) handed to `body` in order until it
    /// returns false. - Returns: false when the text is not of that form (`body` may have seen some levels).
    mutating func visitLevels(_ body: (BookLevel) -> Bool) -> Bool { visitLevels(spaced: true, body) }

    /// - Parameter spaced: whether spaces may stand between tokens; without, a space fails the read.
    @inline(__always) private mutating func visitLevels(spaced: Bool, _ body: (BookLevel) -> Bool) -> Bool {
        guard take(UInt8(ascii: "[")) else { return false }
        while true {
            if spaced { skipSpaces() }
            guard take(UInt8(ascii: "[")) else { return false }
            if spaced { skipSpaces() }
            guard let price = number() else { return false }
            if spaced { skipSpaces() }
            guard take(UInt8(ascii: ",")) else { return false }
            if spaced { skipSpaces() }
            guard let size = number() else { return false }
            if spaced { skipSpaces() }
            guard take(UInt8(ascii: "]")) else { return false }
            if !body(BookLevel(price: price, size: size)) { return true }
            if spaced { skipSpaces() }
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "]"))
        }
    }

    /// `[[price, size], …]` with at least one level and nothing but spaces between tokens.
    mutating func levels() -> [BookLevel]? {
        // As written without spaces (the usual form) first, then again from the start with spaces skipped.
        var levels: [BookLevel] = []
        levels.reserveCapacity(12)
        var local = self
        if local.visitLevels(spaced: false, { levels.append($0); return true }) {
            i = local.i
            return levels
        }
        levels.removeAll(keepingCapacity: true)
        local = self
        let read = local.visitLevels(spaced: true) { levels.append($0); return true }
        i = local.i
        return read ? levels : nil
    }

    /// `[[price, size], …]` as ``levels()`` reads it, validated instead of kept: positive prices and sizes, prices
    /// strictly falling (`descending`, bids) or rising (asks). - Returns: the first (best) level.
    mutating func validLevels(descending: Bool) -> BookLevel? {
        // Through a local copy of the cursor, which the loop keeps in registers; its position is written back once.
        // First as written without spaces (the usual form), with no look for spaces between tokens; anything else —
        // spaces, or levels that are not valid — is read again from the start by the reader that skips spaces, so
        // the answer is always that reader's.
        var local = self
        if let best = local.readValidLevels(descending: descending, spaced: false) {
            i = local.i
            return best
        }
        local = self
        let best = local.readValidLevels(descending: descending, spaced: true)
        i = local.i
        return best
    }

    /// - Parameter spaced: whether spaces may stand between tokens; without, a space fails the read.
    @inline(__always) private mutating func readValidLevels(descending: Bool, spaced: Bool) -> BookLevel? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var best: BookLevel?
        // Prices compared as their digits (``Decimal/scaled``), without a division for each.
        var previous: UInt64 = 0
        while true {
            if !spaced, i &+ 40 <= n {
                // A level with room for its longest form ahead (`[` 15 `,` 15 `]` and the words read past them):
                // each number's runs of digits found in a 16-byte mask of its digits, not a scan of each word.
                guard p[i] == UInt8(ascii: "[") else { return nil }
                let priceStart = i &+ 1
                let priceMasks = backstop_digit_masks16(p + priceStart)
                guard let (wholeDigits, fractionDigits) = Self.runs(priceMasks, at: p + priceStart) else { return nil }
                let priceEnd = priceStart &+ wholeDigits &+ (fractionDigits > 0 ? 1 &+ fractionDigits : 0)
                guard p[priceEnd] == UInt8(ascii: ",") else { return nil }
                let priceMantissa = Self.value(Self.load(p + priceStart), digits: wholeDigits)
                    &* integerPowers[fractionDigits]
                    &+ Self.value(Self.load(p + (priceStart &+ wholeDigits &+ 1)), digits: fractionDigits)
                let scaled = priceMantissa &* integerPowers[7 &- fractionDigits]
                let sizeStart = priceEnd &+ 1
                let sizeMasks = backstop_digit_masks16(p + sizeStart)
                guard let (sizeWhole, sizeFraction) = Self.runs(sizeMasks, at: p + sizeStart) else { return nil }
                let sizeEnd = sizeStart &+ sizeWhole &+ (sizeFraction > 0 ? 1 &+ sizeFraction : 0)
                guard p[sizeEnd] == UInt8(ascii: "]"), scaled > 0 else { return nil }
                if best == nil {
                    let sizeMantissa = Self.value(Self.load(p + sizeStart), digits: sizeWhole)
                        &* integerPowers[sizeFraction]
                        &+ Self.value(Self.load(p + (sizeStart &+ sizeWhole &+ 1)), digits: sizeFraction)
                    guard sizeMantissa > 0 else { return nil }
                    best = BookLevel(
                        price: Decimal(mantissa: priceMantissa, fractionDigits: fractionDigits, negative: false).value,
                        size: Decimal(mantissa: sizeMantissa, fractionDigits: sizeFraction, negative: false).value)
                } else {
                    // A size is positive when one of its digits is not '0'.
                    let positions = (UInt32(1) &<< UInt32(sizeWhole)) &- 1
                        | ((UInt32(1) &<< UInt32(sizeFraction)) &- 1) &<< UInt32(sizeWhole &+ 1)
                    guard (sizeMasks &>> 16) & positions != 0 else { return nil }
                    if descending ? scaled >= previous : scaled <= previous { return nil }
                }
                previous = scaled
                i = sizeEnd &+ 1
                if p[i] == UInt8(ascii: ",") {
                    i &+= 1
                    continue
                }
                guard p[i] == UInt8(ascii: "]") else { return nil }
                i &+= 1
                return best
            }
            if spaced { skipSpaces() }
            guard take(UInt8(ascii: "[")) else { return nil }
            if spaced { skipSpaces() }
            guard let price = decimal() else { return nil }
            if spaced { skipSpaces() }
            guard take(UInt8(ascii: ",")) else { return nil }
            if spaced { skipSpaces() }
            let scaled = price.scaled
            guard let size = decimal(), !size.negative, size.mantissa > 0 else { return nil }
            if best == nil {
                best = BookLevel(price: price.value, size: size.value)
            } else if descending ? scaled >= previous : scaled <= previous {
                return nil
            }
            guard !price.negative, scaled > 0 else { return nil }
            if spaced { skipSpaces() }
            guard take(UInt8(ascii: "]")) else { return nil }
            previous = scaled
            if spaced { skipSpaces() }
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "]")) else { return nil }
            return best
        }
    }

    /// The digits before and after the point of a number of ``number()``'s form (without a sign) at `p`, from
    /// ``backstop_digit_masks16(_:)`` of its 16 bytes: nil when it is not of that form (no digit first, more than
    /// seven either side, a point without digits after it). The byte after the number is the caller's to check.
    @inline(__always) static func runs(_ masks: UInt32, at p: UnsafePointer<UInt8>) -> (Int, Int)? {
        let digits = masks & 0xFFFF
        let whole = (~digits).trailingZeroBitCount
        guard whole > 0, whole < 8 else { return nil }
        guard p[whole] == UInt8(ascii: ".") else { return (whole, 0) }
        let fraction = (~(digits &>> UInt32(whole &+ 1))).trailingZeroBitCount
        guard fraction > 0, fraction < 8 else { return nil }
        return (whole, fraction)
    }

    @inline(__always) static func load(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    }

    /// How many of the eight bytes (first byte least significant) are ASCII digits before the first that is not.
    /// A carry or borrow can only start at a non-digit byte and only moves to later bytes, so the first non-digit
    /// is found exactly.
    @inline(__always) static func leadingDigits(_ v: UInt64) -> Int {
        let high = v & 0xF0F0_F0F0_F0F0_F0F0
        let shifted = (v &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0
        let nonDigits = (high ^ 0x3030_3030_3030_3030) | (shifted ^ 0x3030_3030_3030_3030)
        return nonDigits.trailingZeroBitCount >> 3
    }

    /// The value of the first `digits` (0…8) ASCII digits of `v`: shifted to the top so that the low bytes become
    /// leading zeros, then combined pairwise (two, four, eight digits at a time).
    @inline(__always) static func value(_ v: UInt64, digits: Int) -> UInt64 {
        var x = digits == 0 ? 0 : v &<< UInt64(truncatingIfNeeded: 64 &- 8 &* digits)
        x = ((x & 0x0F0F_0F0F_0F0F_0F0F) &* 2561) &>> 8
        x = ((x & 0x00FF_00FF_00FF_00FF) &* 6_553_601) &>> 16
        return ((x & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) &>> 32
    }
}

/// 10^k for k in 0…8, read without bounds checks (k comes from ``CompactScanner/leadingDigits(_:)`` ≤ 8).
private let integerPowerTable: [UInt64] = [1, 10, 100, 1000, 10000, 100_000, 1_000_000, 10_000_000, 100_000_000]
private let doublePowerTable: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7]

private struct PowerTable<T> {
    let table: [T]
    @inline(__always) subscript(k: Int) -> T { table.withUnsafeBufferPointer { $0[k] } }
}

private var integerPowers: PowerTable<UInt64> { PowerTable(table: integerPowerTable) }
private var doublePowers: PowerTable<Double> { PowerTable(table: doublePowerTable) }
