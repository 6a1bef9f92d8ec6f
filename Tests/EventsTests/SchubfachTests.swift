@testable import Events
import Testing

/// The constants behind ``Schubfach``, recomputed with exact integer arithmetic.
@Suite("Schubfach")
struct SchubfachTests {
    /// Every `g` is `⌊10^e·2^(125−F)⌋ + 1` with `F = ⌊log2 10^e⌋`: for e ≥ 0, `(g−1)·2^(F−125) ≤ 10^e < g·2^(F−125)`
    /// (or `g−1 = 10^e·2^(125−F)` exactly); for e < 0, `(g−1)·10^−e ≤ 2^(125−F) < g·10^−e`.
    @Test func powersAreTheRoundedUpScaledPowersOfTen() {
        #expect(schubfachPowers.count == 2 * (324 - Schubfach.minPowerExponent + 1))
        var tens = [BigNumber(words: [1])]
        for _ in 1...324 { tens.append(tens.last!.times(BigNumber(words: [10]))) }
        var wrong: [Int] = []
        for e in Schubfach.minPowerExponent...324 {
            let index = 2 * (e - Schubfach.minPowerExponent)
            let g = BigNumber(words: [schubfachPowers[index + 1], schubfachPowers[index]])
            let gMinusOne = g.minusOne()
            let ten = tens[Int(e.magnitude)]
            // F = ⌊log2 10^e⌋: the bit length of 10^e less one, or minus the bit length of 10^−e.
            let f = e >= 0 ? ten.bitWidth - 1 : -ten.bitWidth
            let ok: Bool
            if e >= 0 {
                if f <= 125 {
                    ok = gMinusOne == ten.shiftedLeft(125 - f)
                } else {
                    ok = gMinusOne.shiftedLeft(f - 125) <= ten && ten < g.shiftedLeft(f - 125)
                }
            } else {
                let two = BigNumber(words: [1]).shiftedLeft(125 - f)
                ok = gMinusOne.times(ten) <= two && two < g.times(ten)
            }
            if !ok || f != Schubfach.floorLog2Pow10(e) || g.bitWidth != 126 { wrong.append(e) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// The fixed-point logarithms are exact over every binary exponent of a double (q·log10 2 is never within 10^-6
    /// of an integer there but at q = 0, so a double logarithm decides).
    @Test func logarithmsAreExact() {
        var wrong: [Int] = []
        for q in -1100...1100 {
            let log10Pow2 = Double(q) * 0.301_029_995_663_981_195
            let log10ThreeQuarters = log10Pow2 - 0.124_938_736_608_299_95
            for x in [log10Pow2, log10ThreeQuarters] where q != 0 {
                if abs(x - x.rounded()) < 1e-6 { wrong.append(q) }
            }
            if Schubfach.floorLog10Pow2(q) != Int(log10Pow2.rounded(.down))
                || Schubfach.floorLog10ThreeQuartersPow2(q) != Int(log10ThreeQuarters.rounded(.down))
            {
                wrong.append(q)
            }
        }
        for e in -330...330 {
            let x = Double(e) * 3.321_928_094_887_362_35
            if e != 0, abs(x - x.rounded()) < 1e-6 { wrong.append(e) }
            if Schubfach.floorLog2Pow10(e) != Int(x.rounded(.down)) { wrong.append(e) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// The lane divisions of the digit writer, over their whole ranges, and some 8-digit groups.
    @Test func eightDigitsAreTheDecimalDigits() {
        for y in UInt64(0)..<10_000 where (y * 10486) >> 20 != y / 100 { Issue.record("y = \(y)") }
        for z in UInt64(0)..<100 where (z * 103) >> 10 != z / 10 { Issue.record("z = \(z)") }
        var rng = SplitMix64(seed: 5)
        var values: [UInt64] = [0, 1, 9, 10, 99_999_999, 12_345_678, 10_000_000, 9_999]
        for _ in 0..<10_000 { values.append(rng.next() % 100_000_000) }
        for n in values {
            let word = NumberText.eightDigits(n)
            let text = String(decoding: withUnsafeBytes(of: word.littleEndian) { Array($0) }, as: UTF8.self)
            let want = String(repeating: "0", count: 8 - String(n).count) + String(n)
            if text != want { Issue.record("\(n): \(text)") }
        }
    }
}

/// A non-negative integer of any size, least significant word first: just what checking the powers needs.
struct BigNumber: Comparable {
    var words: [UInt64]

    init(words: [UInt64]) {
        self.words = words
        while self.words.count > 1, self.words.last == 0 { self.words.removeLast() }
    }

    var bitWidth: Int { 64 * (words.count - 1) + (64 - words.last!.leadingZeroBitCount) }

    func times(_ other: BigNumber) -> BigNumber {
        var result = [UInt64](repeating: 0, count: words.count + other.words.count + 1)
        for (i, a) in words.enumerated() {
            var carry: UInt64 = 0
            for (j, b) in other.words.enumerated() {
                let product = a.multipliedFullWidth(by: b)
                let (low, o1) = product.low.addingReportingOverflow(result[i + j])
                let (sum, o2) = low.addingReportingOverflow(carry)
                result[i + j] = sum
                carry = product.high + (o1 ? 1 : 0) + (o2 ? 1 : 0)
            }
            var k = i + other.words.count
            while carry != 0 {
                let (sum, o) = result[k].addingReportingOverflow(carry)
                result[k] = sum
                carry = o ? 1 : 0
                k += 1
            }
        }
        return BigNumber(words: result)
    }

    func shiftedLeft(_ n: Int) -> BigNumber {
        var result = [UInt64](repeating: 0, count: n / 64) + words + [0]
        let bits = n % 64
        if bits > 0 {
            for i in stride(from: result.count - 1, to: n / 64, by: -1) {
                result[i] = result[i] << bits | result[i - 1] >> (64 - bits)
            }
            result[n / 64] = words[0] << bits
        }
        return BigNumber(words: result)
    }

    func minusOne() -> BigNumber {
        var result = words
        var i = 0
        while result[i] == 0 { result[i] = .max; i += 1 }
        result[i] -= 1
        return BigNumber(words: result)
    }

    static func < (a: BigNumber, b: BigNumber) -> Bool {
        if a.words.count != b.words.count { return a.words.count < b.words.count }
        for i in stride(from: a.words.count - 1, through: 0, by: -1) where a.words[i] != b.words[i] {
            return a.words[i] < b.words[i]
        }
        return false
    }
}
