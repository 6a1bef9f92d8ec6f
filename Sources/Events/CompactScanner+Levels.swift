import CByteScan

/// Book levels `[[price, size], …]` in the compact form: read, or validated as they are scanned.
extension CompactScanner {
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
        // In the fast path below, prices compared as text (``orderKey(_:whole:fraction:)``); `keyed` while the
        // last price read is there, not in `previous`. The fast path, once left, is not taken again (it needs 40
        // bytes ahead, and the position only grows).
        var previousKey: UInt128 = 0
        var keyed = false
        while true {
            if !spaced, i &+ 40 <= readable {
                // A level with room for its longest form ahead (`[` 15 `,` 15 `]` and the words read past them):
                // each number's runs of digits found in a 16-byte mask of its digits, not a scan of each word.
                guard p[i] == UInt8(ascii: "[") else { return nil }
                let priceStart = i &+ 1
                let priceMasks = backstop_digit_masks16(p + priceStart)
                guard let (wholeDigits, fractionDigits) = Self.runs(priceMasks, at: p + priceStart) else { return nil }
                let priceEnd = priceStart &+ wholeDigits &+ (fractionDigits > 0 ? 1 &+ fractionDigits : 0)
                guard p[priceEnd] == UInt8(ascii: ",") else { return nil }
                let key = Self.orderKey(p + priceStart, whole: wholeDigits, fraction: fractionDigits)
                let sizeStart = priceEnd &+ 1
                let sizeMasks = backstop_digit_masks16(p + sizeStart)
                guard let (sizeWhole, sizeFraction) = Self.runs(sizeMasks, at: p + sizeStart) else { return nil }
                let sizeEnd = sizeStart &+ sizeWhole &+ (sizeFraction > 0 ? 1 &+ sizeFraction : 0)
                // A price is positive when one of its digits is not '0': its key is not that of zero.
                guard p[sizeEnd] == UInt8(ascii: "]"), key != Self.zeroKey else { return nil }
                if best == nil {
                    let priceMantissa = Self.value(Self.load(p + priceStart), digits: wholeDigits)
                        &* integerPowers[fractionDigits]
                        &+ Self.value(Self.load(p + (priceStart &+ wholeDigits &+ 1)), digits: fractionDigits)
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
                    if descending ? key >= previousKey : key <= previousKey { return nil }
                }
                previousKey = key
                keyed = true
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
            if keyed {
                previous = Self.scaled(key: previousKey)
                keyed = false
            }
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

    /// A key that orders plain decimals (`d{1,7}(.d{1,7})?`, without a sign) as their values: the `whole` digits at
    /// `p` right-aligned in the high word, the `fraction` digits after the point left-aligned in the low word, both
    /// padded with '0' (so `07.50` and `7.5` have one key). Digit strings of one width compare as their numbers.
    /// Reads the eight bytes at `p` and the eight after the whole digits and the point (whatever is there when
    /// there is no fraction: none of it is kept).
    @inline(__always) static func orderKey(_ p: UnsafePointer<UInt8>, whole: Int, fraction: Int) -> UInt128 {
        let zeros: UInt64 = 0x3030_3030_3030_3030
        // Big-endian: the first digit in the top byte. `whole` is 1…7, so both shifts are below 64.
        let wholeWord = load(p).byteSwapped &>> UInt64(64 &- 8 &* whole) | zeros &<< UInt64(8 &* whole)
        // The top `fraction` (0…7) bytes kept; `~0 >> 0` keeps none.
        let kept = ~(~UInt64(0) &>> UInt64(8 &* fraction))
        let fractionWord = load(p + (whole &+ 1)).byteSwapped & kept | zeros & ~kept
        return UInt128(wholeWord) &<< 64 | UInt128(fractionWord)
    }

    /// The number an ``orderKey(_:whole:fraction:)`` stands for, in units of 10^-7 (``Decimal/scaled``).
    static func scaled(key: UInt128) -> UInt64 {
        // Each word's digits first-in-the-low-byte, as ``value(_:digits:)`` reads them: the whole word's eight
        // (leading '0's add nothing), the fraction word's top seven.
        let whole = value(UInt64(truncatingIfNeeded: key &>> 64).byteSwapped, digits: 8)
        let fraction = value(UInt64(truncatingIfNeeded: key).byteSwapped, digits: 7)
        return whole &* 10_000_000 &+ fraction
    }

    /// ``orderKey(_:whole:fraction:)`` of zero.
    @inline(__always) static var zeroKey: UInt128 { 0x3030_3030_3030_3030_3030_3030_3030_3030 }

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
}
