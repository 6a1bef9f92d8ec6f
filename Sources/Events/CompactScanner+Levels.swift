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
        descending ? validBids() : validAsks()
    }

    /// ``validLevels(descending:)`` of bids and of asks, each its own copy of the loop with its order fixed.
    @inline(never) mutating func validBids() -> BookLevel? { validSide(descending: true) }
    @inline(never) mutating func validAsks() -> BookLevel? { validSide(descending: false) }

    @inline(__always) private mutating func validSide(descending: Bool) -> BookLevel? {
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

    /// Where a level's numbers are, as ``maskedLevel(checkingPrice:checkingSize:)`` found them: each number's start
    /// and its digits before and after the point, and the price's ``orderKey(_:whole:fraction:)``.
    struct LevelDigits {
        var key: UInt128
        var priceStart: Int, priceWhole: Int, priceFraction: Int
        var sizeStart: Int, sizeWhole: Int, sizeFraction: Int
    }

    /// The level `[price,size]` at the position, with 40 bytes readable ahead (`[` 15 `,` 15 `]` and the words
    /// read past them): each number's runs of digits found in a 16-byte mask of its digits, not a scan of each
    /// word. Checks that the price is positive when `checkingPrice`, and the size when `checkingSize`; moves past
    /// the level.
    @inline(__always) private mutating func maskedLevel(checkingPrice: Bool, checkingSize: Bool) -> LevelDigits? {
        guard p[i] == UInt8(ascii: "[") else { return nil }
        let priceStart = i &+ 1
        let priceMasks = backstop_digit_masks16(p + priceStart)
        guard let (priceWhole, priceFraction) = Self.runs(priceMasks, at: p + priceStart) else { return nil }
        let priceEnd = priceStart &+ priceWhole &+ (priceFraction > 0 ? 1 &+ priceFraction : 0)
        guard p[priceEnd] == UInt8(ascii: ",") else { return nil }
        let key = Self.orderKey(p + priceStart, whole: priceWhole, fraction: priceFraction)
        let sizeStart = priceEnd &+ 1
        let sizeMasks = backstop_digit_masks16(p + sizeStart)
        guard let (sizeWhole, sizeFraction) = Self.runs(sizeMasks, at: p + sizeStart) else { return nil }
        let sizeEnd = sizeStart &+ sizeWhole &+ (sizeFraction > 0 ? 1 &+ sizeFraction : 0)
        guard p[sizeEnd] == UInt8(ascii: "]") else { return nil }
        // A price is positive when one of its digits is not '0': its key is not that of zero. (A price above one
        // already read, as asks' later ones are, is.)
        if checkingPrice, key == Self.zeroKey { return nil }
        if checkingSize {
            // A size likewise, from the mask of its digits that are not '0' (its point is none of them).
            guard (sizeMasks &>> 16) & ((UInt32(1) &<< UInt32(sizeEnd &- sizeStart)) &- 1) != 0 else { return nil }
        }
        i = sizeEnd &+ 1
        return LevelDigits(key: key, priceStart: priceStart, priceWhole: priceWhole, priceFraction: priceFraction,
                           sizeStart: sizeStart, sizeWhole: sizeWhole, sizeFraction: sizeFraction)
    }

    /// The value of a number whose digits ``maskedLevel(checkingPrice:checkingSize:)`` found.
    @inline(__always) private func maskedValue(_ start: Int, whole: Int, fraction: Int) -> Decimal {
        let mantissa = Self.value(Self.load(p + start), digits: whole) &* integerPowers[fraction]
            &+ Self.value(Self.load(p + (start &+ whole &+ 1)), digits: fraction)
        return Decimal(mantissa: mantissa, fractionDigits: fraction, negative: false)
    }

    /// - Parameter spaced: whether spaces may stand between tokens; without, a space fails the read.
    @inline(__always) private mutating func readValidLevels(descending: Bool, spaced: Bool) -> BookLevel? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var best: BookLevel?
        // Prices compared as their digits (``Decimal/scaled``), without a division for each.
        var previous: UInt64 = 0
        if !spaced, i &+ 40 <= readable {
            // Levels with room ahead, read from digit masks (the first for its values, the others only checked),
            // their prices compared as text (``orderKey(_:whole:fraction:)``).
            guard let first = maskedLevel(checkingPrice: true, checkingSize: false) else { return nil }
            let size = maskedValue(first.sizeStart, whole: first.sizeWhole, fraction: first.sizeFraction)
            guard size.mantissa > 0 else { return nil }
            best = BookLevel(
                price: maskedValue(first.priceStart, whole: first.priceWhole, fraction: first.priceFraction).value,
                size: size.value)
            var previousKey = first.key
            while true {
                if p[i] == UInt8(ascii: "]") {
                    i &+= 1
                    return best
                }
                guard p[i] == UInt8(ascii: ",") else { return nil }
                i &+= 1
                guard i &+ 40 <= readable else {
                    // The rest by the loop below (a reader without padding after its bytes, near their end).
                    previous = Self.scaled(key: previousKey)
                    break
                }
                guard let level = maskedLevel(checkingPrice: descending, checkingSize: true) else { return nil }
                if descending ? level.key >= previousKey : level.key <= previousKey { return nil }
                previousKey = level.key
            }
        }
        // A level at a time, each number read by ``decimal()``.
        while true {
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
