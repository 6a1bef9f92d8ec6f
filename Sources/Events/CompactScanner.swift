/// A cursor over bytes for ``Quote/decodeCompact(_:)``: every reader returns nil, not an error, on anything
/// outside the compact form (the position is then meaningless).
struct CompactScanner {
    let p: UnsafePointer<UInt8>
    /// The bytes' count: nothing at or past it is read as part of the text.
    let n: Int
    /// How far the memory at `p` may be read: `n`, or past it when the bytes are followed by zeros
    /// (``CompactScanner/padding``). Readers that load words or vectors ahead do so up to here; a zero is none of
    /// the bytes any reader accepts, so the answer is the same as with `n` alone.
    let readable: Int
    var i = 0

    init(p: UnsafePointer<UInt8>, n: Int) {
        self.p = p
        self.n = n
        self.readable = n
    }

    /// Bytes followed by `padding` zero bytes that may be read too.
    init(p: UnsafePointer<UInt8>, n: Int, padding: Int) {
        self.p = p
        self.n = n
        self.readable = n &+ padding
    }

    /// The zero bytes after the stack copy of an input that ``withPaddedCopy(of:_:)`` makes: room for the longest
    /// look-ahead of any reader (a book level's 40 bytes).
    static let padding = 48

    /// `body`'s result for a copy of the `count` bytes at `source` on the stack, followed by ``padding`` zero
    /// bytes: readers of the copy (a scanner made with `padding`) load words and vectors up to its end, with no
    /// slower path within a few dozen bytes of the input's end.
    @inline(__always)
    static func withPaddedCopy<R>(
        of source: UnsafeRawPointer, count: Int, _ body: (UnsafePointer<UInt8>) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count &+ padding) { buffer in
            let base = buffer.baseAddress!
            UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: count)
            (base + count).initialize(repeating: 0, count: padding)
            return body(UnsafePointer(base))
        }
    }

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

    /// Whether the next `length` (at most 16) bytes are the text whose little-endian words are `first` and `rest`
    /// (zero above the text); if so, moves past them. False too within 16 bytes of `readable` (never, for a copy
    /// with ``padding`` after it).
    @inline(__always) mutating func takeText(_ first: UInt64, _ rest: UInt64, _ length: Int) -> Bool {
        guard i &+ 16 <= readable else { return false }
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
        asciiText().map { String(decoding: $0, as: UTF8.self) }
    }

    /// A string of printable ASCII without escapes as an instrument symbol: the string `symbols` keeps for its
    /// bytes, and the symbol's number there (``SymbolTable/symbol(_:)``).
    @inline(__always) mutating func symbol(symbols: inout SymbolTable) -> (string: String, number: Int16)? {
        asciiText().map { symbols.symbol($0) }
    }

    /// The bytes of a string of printable ASCII without escapes (between its quotes, which are read).
    @inline(__always) mutating func asciiText() -> UnsafeBufferPointer<UInt8>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = i
        // Eight bytes at a time to the first that is not printable ASCII other than `"` and `\`: the closing
        // quote, or a byte that sends the string the long way.
        while i &+ 8 <= readable {
            let w = Self.load(p + i)
            let stop = Self.stringStops(w)
            guard stop == 0 else {
                i &+= stop.trailingZeroBitCount &>> 3
                guard p[i] == UInt8(ascii: "\"") else { return nil }
                i &+= 1
                return UnsafeBufferPointer(start: p + start, count: i &- 1 &- start)
            }
            i &+= 8
        }
        while i < n {
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return UnsafeBufferPointer(start: p + start, count: i - 1 - start)
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
        if start &+ 25 <= readable {
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
        guard start &+ 17 <= readable else { return decimalNearEnd() }
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

struct PowerTable<T> {
    let table: [T]
    @inline(__always) subscript(k: Int) -> T { table.withUnsafeBufferPointer { $0[k] } }
}

var integerPowers: PowerTable<UInt64> { PowerTable(table: integerPowerTable) }
var doublePowers: PowerTable<Double> { PowerTable(table: doublePowerTable) }
