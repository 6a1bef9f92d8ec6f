/// The shortest decimal that reads back as a given double, found with Schubfach (Giulietti, "The Schubfach way to
/// render doubles", 2020).
///
/// A positive finite double `v = c·2^q` reads back from every decimal inside its rounding interval `R`: the reals
/// nearer to `v` than to its neighbours, the bounds included when `c` is even (ties round to even). The result is
/// the decimal in `R` with the fewest significant digits and, among those, the one nearest `v` (the even one on a
/// tie): exactly what Swift's `description` prints.
///
/// How: take `k = ⌊log10 2^q⌋` (`⌊log10 ¾·2^q⌋` when the lower neighbour is nearer, at a power of two), so that
/// `R` scaled by `10^-k` is between 1 and 10 wide and `v·10^-k` has 16 or 17 digits. The scaled bounds and value are
/// computed, times 4, as `vbl`, `vbr` and `vb`: the integer part and a sticky bit (set when a fraction is left)
/// ("round to odd"), which is all the comparisons with the integers below need. At most one multiple of 10 fits
/// in an interval narrower than 10: if exactly one of the two around `v·10^-k` lies in `R` it is the shortest
/// decimal; otherwise the answer is one of the two integers around `v·10^-k` (at least one lies in `R`, which is
/// at least 1 wide), the one in `R`, else the nearer.
///
/// Why the arithmetic is exact: `10^-k` is taken as `g = ⌊10^-k·2^(125−F)⌋ + 1` (`F = ⌊log2 10^-k⌋`, so
/// `2^125 < g < 2^126`), and `g·(4c·2^h)/2^128` with `h = q + F + 3` equals `4c·2^q·10^-k` up to less than one unit of
/// its 2^-64 digit. The paper proves (by a continued-fraction search over all significands) that for doubles the
/// product's fraction is then either below that error, when the exact value is an integer, or well above it:
/// so the integer part of the product is the exact integer part, and its fraction's high word is zero exactly when
/// the exact value is an integer.
@usableFromInline
enum Schubfach {
    /// The shortest decimal `significand·10^exponent` in the rounding interval of the positive finite double with
    /// bit pattern `bits` (sign bit clear, not zero). `significand` is below 10^17 and may end in zeros.
    @inline(__always)
    static func shortest(_ bits: UInt64) -> (significand: UInt64, exponent: Int) {
        let fraction = bits & 0x000F_FFFF_FFFF_FFFF
        let biased = Int(truncatingIfNeeded: bits >> 52)
        let c: UInt64
        let q: Int
        if biased == 0 {
            c = fraction
            q = -1074
        } else {
            c = fraction | 1 << 52
            q = biased &- 1075
        }
        // Odd significands exclude the bounds (a decimal on a bound reads back as the even neighbour).
        // Ranges make the wrapping operators below exact: c < 2^53, so 4c + 2 < 2^55.
        let out: UInt64 = c & 1
        let cb = c &<< 2
        let cbr = cb &+ 2
        let cbl: UInt64
        let k: Int
        if fraction == 0, biased > 1 {
            // A power of two above the smallest normal: the lower neighbour is half as far as the upper one.
            cbl = cb &- 1
            k = floorLog10ThreeQuartersPow2(q)
        } else {
            cbl = cb &- 2
            k = floorLog10Pow2(q)
        }
        let h = q &+ floorLog2Pow10(0 &- k) &+ 3  // in 3...9: cb << h stays below 2^64
        let index = 2 &* (0 &- k &- minPowerExponent)
        let gHigh = schubfachPowers[index]
        let gLow = schubfachPowers[index &+ 1]
        let vb = roundToOdd(gHigh, gLow, cb &<< h)
        let vbl = roundToOdd(gHigh, gLow, cbl &<< h)
        let vbr = roundToOdd(gHigh, gLow, cbr &<< h)

        let s = vb &>> 2
        if s >= 10 {
            // The multiples of 10 around v·10^-k: one digit shorter than s.
            let sp10 = s / 10 &* 10
            let tp10 = sp10 &+ 10
            let upIn = vbl &+ out <= sp10 &<< 2
            let wpIn = (tp10 &<< 2) &+ out <= vbr
            if upIn != wpIn { return (upIn ? sp10 : tp10, k) }
        }
        let t = s &+ 1
        let uIn = vbl &+ out <= s &<< 2
        let wIn = (t &<< 2) &+ out <= vbr
        if uIn != wIn { return (uIn ? s : t, k) }
        // Both in: the nearer to v (vb against the midpoint 4s + 2), the even one on a tie.
        let midpoint = (s &+ t) &<< 1
        return (vb < midpoint || (vb == midpoint && s & 1 == 0) ? s : t, k)
    }

    /// The least `e = −k` of ``schubfachPowers`` (k = ⌊log10 2^971⌋ = 292 for the greatest binary exponent); the
    /// greatest is 324 (k = ⌊log10 2^−1074⌋ = −324).
    static var minPowerExponent: Int { -292 }

    /// `⌊log10 2^q⌋` for |q| ≤ 1100 (a fixed-point log10 2 accurate to 2^-41 is enough there; checked exhaustively).
    @inline(__always)
    static func floorLog10Pow2(_ q: Int) -> Int { (q &* 661_971_961_083) >> 41 }

    /// `⌊log10 ¾·2^q⌋` for |q| ≤ 1100.
    @inline(__always)
    static func floorLog10ThreeQuartersPow2(_ q: Int) -> Int { (q &* 661_971_961_083 &- 274_743_187_321) >> 41 }

    /// `⌊log2 10^e⌋` for |e| ≤ 330.
    @inline(__always)
    static func floorLog2Pow10(_ e: Int) -> Int { (e &* 913_124_641_741) >> 38 }

    /// `⌊g·cp / 2^128⌋`, with its lowest bit set when the fraction's high word is not zero (the value was not an
    /// integer): `g = gHigh·2^64 + gLow`.
    @inline(__always)
    static func roundToOdd(_ gHigh: UInt64, _ gLow: UInt64, _ cp: UInt64) -> UInt64 {
        let low = gLow.multipliedFullWidth(by: cp).high
        let high = gHigh.multipliedFullWidth(by: cp)
        let (middle, carry) = high.low.addingReportingOverflow(low)
        let integer = high.high &+ (carry ? 1 : 0)
        return integer | (middle == 0 ? 0 : 1)
    }
}
