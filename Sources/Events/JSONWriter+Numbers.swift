/// The text of a finite double in a JSON record, without allocating.
///
/// The form is fixed by the records already published, which must not change: a value on a decimal tick grid
/// (`m/10^k`, k ≤ 8, 10^-8 ≤ |v| < 10^15) as that decimal (`0.00001`, `64000.5`, `5.0`), any other value as
/// Swift's `description` prints it: the shortest decimal that reads back (``Schubfach``), in positional form
/// (`0.1`, `100.0`, `1.1764013881539055`) when 10^-4 ≤ |v| ≤ 2^53, else in exponent form (`1e-05`, `5e-324`,
/// `1.7976931348623157e+308`, `1.8014398509481984e+16`).
enum NumberText {
    /// Room ``write(_:to:)`` needs past the pointer: the text (at most 24 bytes) and the whole words it stores
    /// beyond it.
    static var room: Int { JSONCursor.numberRoom }

    /// Writes the text of `value` (finite) at `out`, which has ``room`` bytes; returns how many make the text.
    @inline(__always)
    static func write(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var p = UnsafeMutableRawPointer(out)
        var sign = 0
        if value.sign == .minus {
            p.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self)
            p += 1
            sign = 1
        }
        let magnitude = abs(value)
        if magnitude == 0 {
            p.storeBytes(of: 0x302E_30, as: UInt32.self)  // "0.0"
            return sign + 3
        }
        let (significand, exponent) = Schubfach.shortest(magnitude.bitPattern)
        let digits = Digits(significand)
        // All within ±400: the wrapping operators are exact.
        let count = digits.last &- digits.first &+ 1
        let point = 17 &- digits.first &+ exponent  // digits before the decimal point (value = 0.digits × 10^point)
        if magnitude < 1e15, magnitude >= 1e-8, count &- point <= 8 {
            // A tick-grid decimal. With at most 15 digits it is the shortest decimal (the grid search finds no
            // fewer decimals, and rounds v·10^decimals to these digits: both within 2^-3 of them); with more, the
            // search itself decides, as it always has.
            if count >= 16, let (m, k) = tickDecimal(magnitude) { return sign &+ writeTick(m, decimals: k, to: p) }
            return sign &+ positional(digits, count: count, point: point, to: p)
        }
        if point >= -3, magnitude <= 0x1p53 {
            return sign &+ positional(digits, count: count, point: point, to: p)
        }
        return sign &+ exponential(digits, count: count, point: point, to: p)
    }

    /// The 17 decimal digits of a significand below 10^17 (leading zeros included), held as ASCII in registers:
    /// digit i, of 10^(16−i), is `top` for i = 0, else byte i − 1 of `middle` or byte i − 9 of `lower` (bytes
    /// counted from the least significant).
    struct Digits {
        let top: UInt64
        let middle: UInt64
        let lower: UInt64
        /// The first digit that is not a leading zero.
        let first: Int
        /// The last digit that is not a trailing zero.
        let last: Int

        @inline(__always)
        init(_ significand: UInt64) {
            let upper = significand / 100_000_000
            let low = significand &- upper &* 100_000_000
            top = upper / 100_000_000
            middle = eightDigits(upper &- top &* 100_000_000)
            // Short decimals end in eight zeros: skip their conversion.
            lower = low == 0 ? zeros : eightDigits(low)
            // Leading zeros are low bytes equal to '0', trailing zeros high ones.
            if top != 0 {
                first = 0
            } else if middle != zeros {
                first = 1 &+ (middle ^ zeros).trailingZeroBitCount &>> 3
            } else {
                first = 9 &+ (lower ^ zeros).trailingZeroBitCount &>> 3
            }
            if lower != zeros {
                last = 16 &- (lower ^ zeros).leadingZeroBitCount &>> 3
            } else if middle != zeros {
                last = 8 &- (middle ^ zeros).leadingZeroBitCount &>> 3
            } else {
                last = 0
            }
        }

        /// Stores the digits from ``first`` on at `p`, then eight '0's (up to 25 bytes).
        @inline(__always)
        func store(to p: UnsafeMutableRawPointer) {
            if first == 0 {
                p.storeBytes(of: UInt8(truncatingIfNeeded: top) | 0x30, as: UInt8.self)
                p.storeBytes(of: middle, toByteOffset: 1, as: UInt64.self)
                p.storeBytes(of: lower, toByteOffset: 9, as: UInt64.self)
            } else if first <= 8 {
                // The middle word without its leading zeros; the lower word overwrites what it leaves.
                p.storeBytes(of: middle &>> (8 &* (first &- 1)), as: UInt64.self)
                p.storeBytes(of: lower, toByteOffset: 9 &- first, as: UInt64.self)
            } else {
                p.storeBytes(of: lower &>> (8 &* (first &- 9)), as: UInt64.self)
            }
            p.storeBytes(of: zeros, toByteOffset: 17 &- first, as: UInt64.self)
        }
    }

    /// `ddd.ddd`, `ddd.0` or `0.000ddd` for `count` digits with `point` of them before the decimal point
    /// (−7 ≤ point ≤ 17); returns the text's length.
    @inline(__always)
    static func positional(_ digits: Digits, count: Int, point: Int, to p: UnsafeMutableRawPointer) -> Int {
        if point > 0 {
            // The digits, then the fraction (the digits after the point, or the '0' that follows the integer's
            // digits) moved one place right for the point: loaded before it is stored over.
            digits.store(to: p)
            let fraction = p.loadUnaligned(fromByteOffset: point, as: UInt64.self)
            let rest = p.loadUnaligned(fromByteOffset: point &+ 8, as: UInt64.self)
            p.storeBytes(of: fraction, toByteOffset: point &+ 1, as: UInt64.self)
            p.storeBytes(of: rest, toByteOffset: point &+ 9, as: UInt64.self)
            p.storeBytes(of: UInt8(ascii: "."), toByteOffset: point, as: UInt8.self)
            return point &+ 1 &+ max(count &- point, 1)
        }
        p.storeBytes(of: 0x3030_3030_3030_2E30, as: UInt64.self)  // "0.000000"
        p.storeBytes(of: zeros, toByteOffset: 8, as: UInt64.self)
        digits.store(to: p + (2 &- point))
        return 2 &- point &+ count
    }

    /// `d.ddde±XX` (at least two exponent digits) or `de±XX` for one digit.
    @inline(__always)
    static func exponential(_ digits: Digits, count: Int, point: Int, to p: UnsafeMutableRawPointer) -> Int {
        digits.store(to: p + 1)
        p.storeBytes(of: p.load(fromByteOffset: 1, as: UInt8.self), as: UInt8.self)
        var i = 1
        if count > 1 {
            p.storeBytes(of: UInt8(ascii: "."), toByteOffset: 1, as: UInt8.self)
            i = count &+ 1
        }
        let e = point &- 1
        p.storeBytes(of: UInt8(ascii: "e"), toByteOffset: i, as: UInt8.self)
        p.storeBytes(of: e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"), toByteOffset: i &+ 1, as: UInt8.self)
        var magnitude = e.magnitude  // ≤ 324
        i &+= 2
        if magnitude >= 100 {
            p.storeBytes(of: 0x30 | UInt8(truncatingIfNeeded: magnitude / 100), toByteOffset: i, as: UInt8.self)
            magnitude %= 100
            i &+= 1
        }
        p.storeBytes(of: 0x30 | UInt8(truncatingIfNeeded: magnitude / 10), toByteOffset: i, as: UInt8.self)
        p.storeBytes(of: 0x30 | UInt8(truncatingIfNeeded: magnitude % 10), toByteOffset: i &+ 1, as: UInt8.self)
        return i &+ 2
    }

    /// Room ``write(_:to:)-(Int64,_)`` needs past the pointer: 20 digits and a sign, stored as whole words.
    static var integerRoom: Int { JSONCursor.integerRoom }

    /// Writes the decimal digits of `value` as `String(value)` has them (at most 20 and a sign) at `out`, which has
    /// ``integerRoom`` bytes; returns how many make the text.
    @inline(__always)
    static func write(_ value: Int64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let p = UnsafeMutableRawPointer(out)
        var sign = 0
        if value < 0 {
            p.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self)
            sign = 1
        }
        let magnitude = value.magnitude
        if magnitude < 100_000_000 { return sign &+ writeLeading(magnitude, to: p + sign) }
        let upper = magnitude / 100_000_000
        let lower = eightDigits(magnitude &- upper &* 100_000_000)
        var i: Int
        if upper < 100_000_000 {
            i = sign &+ writeLeading(upper, to: p + sign)
        } else {
            let top = upper / 100_000_000  // < 10^4
            i = sign &+ writeLeading(top, to: p + sign)
            p.storeBytes(of: eightDigits(upper &- top &* 100_000_000), toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        p.storeBytes(of: lower, toByteOffset: i, as: UInt64.self)
        return i &+ 8
    }

    /// Stores the digits of `n` < 10^8 without leading zeros (`0` for 0) as one word; returns their count.
    @inline(__always)
    static func writeLeading(_ n: UInt64, to p: UnsafeMutableRawPointer) -> Int {
        let digits = eightDigits(n)
        // Leading zeros are the low bytes that are '0'; 0 keeps its last digit.
        let leading = min((digits ^ zeros).trailingZeroBitCount &>> 3, 7)
        p.storeBytes(of: digits &>> (leading &* 8), as: UInt64.self)
        return 8 &- leading
    }

    /// Eight ASCII '0's.
    static let zeros: UInt64 = 0x3030_3030_3030_3030

    /// The 8 decimal digits of `n` < 10^8 as ASCII, the most significant in the lowest byte: split into two
    /// 4-digit lanes, each into two 2-digit lanes, each into two digits, with multiply-shift divisions exact on the
    /// lanes' ranges (⌊y·10486/2^20⌋ = ⌊y/100⌋ for y < 10^4; ⌊z·103/2^10⌋ = ⌊z/10⌋ for z < 100).
    @inline(__always)
    static func eightDigits(_ n: UInt64) -> UInt64 {
        let high = n / 10_000
        var x = high | (n &- high &* 10_000) &<< 32
        let hundreds = (x &* 10486) >> 20 & 0x0000_007F_0000_007F
        x = hundreds | (x &- hundreds &* 100) << 16
        let tens = (x &* 103) >> 10 & 0x000F_000F_000F_000F
        x = tens | (x &- tens &* 10) << 8
        return x | zeros
    }

    /// The smallest k ≤ 8 with `m/10^k` reading back as `magnitude` (> 0), found as it always was: a decimal `m/10^k`
    /// reads back as the double nearest to it, which is `Double(m) / 10^k` (both operands exact, one rounding), so
    /// the candidate `m = round(magnitude·10^k)` is checked by that division.
    /// - Returns: nil when no k ≤ 8 gives one (or `magnitude·10^k` reaches 2^53 first).
    static func tickDecimal(_ magnitude: Double) -> (m: UInt64, decimals: Int)? {
        // Full-precision values fail every k: reject them with one product instead of nine. If some k succeeds,
        // magnitude = fl(A/10^k) for an integer A, so magnitude·10^8 lies within 2·10^8·ulp(magnitude) ≤ 2 ulp(s) of
        // the integer A·10^(8−k), and s = fl(magnitude·10^8) within 2.5 ulp(s) of it: below 2^40, within 2^-11. A
        // fractional part past 2^-8 therefore means no k succeeds.
        let s = magnitude * 1e8
        if s < 0x1p40, abs(s - roundHalfAway(s)) > 0x1p-8 { return nil }
        var power = 1.0
        for k in 0...8 {
            let x = magnitude * power
            // round(x) < 2^53 exactly when x < 2^53 (doubles from 2^52 on are integers).
            guard x < 9_007_199_254_740_992 else { return nil }
            let scaled = roundHalfAway(x)
            if scaled / power == magnitude { return (UInt64(scaled), k) }
            power *= 10  // exact: 10^k ≤ 10^8
        }
        return nil
    }

    /// `m / 10^decimals` (`decimals` ≤ 8, m < 2^53) with at least one integer digit, `.0` when `decimals` is 0,
    /// written right to left into a scratch buffer, then copied to `p`.
    @inline(never)
    static func writeTick(_ m: UInt64, decimals: Int, to p: UnsafeMutableRawPointer) -> Int {
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: ≤ 16 digits, '.', ".0"
        return withUnsafeMutableBytes(of: &scratch) { b in
            var i = b.count
            if decimals == 0 {
                i -= 2
                b[i] = UInt8(ascii: ".")
                b[i + 1] = UInt8(ascii: "0")
            }
            var rest = m
            var count = 0
            repeat {
                if count == decimals, decimals > 0 {
                    i -= 1
                    b[i] = UInt8(ascii: ".")
                }
                i -= 1
                b[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
                count += 1
            } while rest > 0 || count <= decimals
            p.copyMemory(from: b.baseAddress! + i, byteCount: b.count - i)
            return b.count - i
        }
    }
}
