extension JSONReader {
    /// Reads a number as a correctly rounded `Double`. `NaN`/`Infinity` tokens and overflow yield non-finite
    /// values, which validation then rejects.
    public mutating func readDouble() throws(DecodeError) -> Double {
        skipWhitespace()
        if let value = readPlainDecimal() { return value }
        return try readAnyDouble()
    }

    /// The common case in one pass over local registers: `-?digits(.digits)?` with at most 18 digits, not followed
    /// by an exponent, and within Clinger's fast path (at most 15 significant digits, a power of ten ≤ 10^22). It
    /// computes exactly what ``readAnyDouble()`` computes for such text, so the value is the same double.
    /// - Returns: nil, with the position unchanged, for anything else (the general reader takes it from there).
    @inline(__always)
    private mutating func readPlainDecimal() -> Double? {
        let count = bytes.count
        guard position < count, let base = bytes.baseAddress else { return nil }
        let p = base.assumingMemoryBound(to: UInt8.self)
        var i = position
        let negative = p[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0  // significant digits, as the general reader counts them
        var total = 0  // every digit read
        while i < count, case let d = p[i] &- UInt8(ascii: "0"), d < 10 {
            mantissa = mantissa &* 10 &+ UInt64(d)
            if mantissa != 0 { digits += 1 }
            total += 1
            i += 1
        }
        guard total > 0 else { return nil }
        var fractionDigits = 0
        if i < count, p[i] == UInt8(ascii: ".") {
            i += 1
            while i < count, case let d = p[i] &- UInt8(ascii: "0"), d < 10 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa != 0 { digits += 1 }
                fractionDigits += 1
                total += 1
                i += 1
            }
            guard fractionDigits > 0 else { return nil }
        }
        guard total <= 18, digits <= 15, mantissa < (1 << 53), fractionDigits <= 22 else { return nil }
        if i < count, p[i] | 0x20 == UInt8(ascii: "e") { return nil }
        position = i
        var value = Double(mantissa)
        if fractionDigits > 0 {
            value /= powersOfTen[fractionDigits]
        } else {
            value *= powersOfTen[0]
        }
        return negative ? -value : value
    }

    /// Reads any number (see ``readDouble()``): exponents, long mantissas, `NaN` and `Infinity` tokens.
    private mutating func readAnyDouble() throws(DecodeError) -> Double {
        skipWhitespace()
        guard !atEnd else { throw error("unexpected end of input") }
        let start = position
        var negative = false
        if bytes[position] == UInt8(ascii: "-") { negative = true; position += 1 }
        if position < bytes.count, bytes[position] == UInt8(ascii: "I") || bytes[position] == UInt8(ascii: "N") {
            if matchLiteral("Infinity") { return negative ? -.infinity : .infinity }
            if !negative, matchLiteral("NaN") { return .nan }
        }
        var mantissa: UInt64 = 0
        var digits = 0  // significant digits accumulated in `mantissa`
        var dropped = 0  // integer digits beyond what `mantissa` holds
        var fractionDigits = 0
        var sawDigit = false
        while position < bytes.count, case let d = bytes[position] &- UInt8(ascii: "0"), d < 10 {
            sawDigit = true
            if digits < 19 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa != 0 { digits += 1 }
            } else {
                dropped += 1
            }
            position += 1
        }
        guard sawDigit else {
            position = start
            throw mismatch("a number")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            var fractionSeen = false
            while position < bytes.count, case let d = bytes[position] &- UInt8(ascii: "0"), d < 10 {
                fractionSeen = true
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    if mantissa != 0 { digits += 1 }
                    fractionDigits += 1
                }
                position += 1
            }
            guard fractionSeen else { throw error("invalid number") }
        }
        var exponent = 0
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            var expNegative = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
                expNegative = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            var expSeen = false
            while position < bytes.count, case let d = bytes[position] &- UInt8(ascii: "0"), d < 10 {
                expSeen = true
                if exponent < 100_000 { exponent = exponent * 10 + Int(d) }
                position += 1
            }
            guard expSeen else { throw error("invalid number") }
            if expNegative { exponent = -exponent }
        }
        let decimalExponent = exponent + dropped - fractionDigits
        // Clinger's fast path: both the mantissa and the power of ten are exact doubles, so one rounding.
        if digits <= 15, mantissa < (1 << 53), decimalExponent >= -22, decimalExponent <= 22 {
            var value = Double(mantissa)
            if decimalExponent < 0 {
                value /= powersOfTen[-decimalExponent]
            } else {
                value *= powersOfTen[decimalExponent]
            }
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text) else { throw error("invalid number") }
        return value
    }

    /// Reads an integer that fits in `Int64` (no fraction or exponent).
    public mutating func readInt64() throws(DecodeError) -> Int64 {
        skipWhitespace()
        guard !atEnd else { throw error("unexpected end of input") }
        let start = position
        var negative = false
        if bytes[position] == UInt8(ascii: "-") { negative = true; position += 1 }
        var value: Int64 = 0
        var sawDigit = false
        while position < bytes.count, case let d = bytes[position] &- UInt8(ascii: "0"), d < 10 {
            sawDigit = true
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(d))
            guard !o1, !o2 else { throw DecodeError(.invalidValue, "integer out of range") }
            value = s
            position += 1
        }
        if !sawDigit {
            position = start
            throw mismatch("an integer")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") || bytes[position] | 0x20 == UInt8(ascii: "e") {
            position = start
            let isNumber = (try? readDouble()) != nil
            throw isNumber ? DecodeError(.wrongType, "expected an integer") : error("invalid number")
        }
        return negative ? -value : value
    }
}

private let powersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
    1e20, 1e21, 1e22,
]
