import Events
import Foundation
import Testing

/// Parses `bytes` with Foundation; nil when Foundation rejects them as JSON.
func foundationParse(_ bytes: [UInt8]) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
}

@Suite("JSONWriter")
struct JSONWriterTests {
    @Test func writesAnObjectFoundationParses() throws {
        var w = JSONWriter()
        w.beginObject()
        w.key("s"); w.string("plain")
        w.key("n"); w.number(64000.5)
        w.key("i"); w.integer(Int64(1_764_000_000_000_000))
        w.key("small"); w.integer(-3)
        w.key("t"); w.bool(true)
        w.key("f"); w.bool(false)
        w.key("z"); w.null()
        w.key("arr")
        w.beginArray(); w.number(1.5); w.string("x"); w.beginObject(); w.endObject(); w.beginArray(); w.endArray()
        w.endArray()
        w.key("obj"); w.beginObject(); w.key("k"); w.number(Double?.none); w.endObject()
        w.endObject()

        let object = try #require(foundationParse(w.bytes) as? [String: Any])
        #expect(object["s"] as? String == "plain")
        #expect((object["n"] as? NSNumber)?.doubleValue == 64000.5)
        #expect((object["i"] as? NSNumber)?.int64Value == 1_764_000_000_000_000)
        #expect((object["small"] as? NSNumber)?.intValue == -3)
        #expect(object["t"] as? Bool == true)
        #expect(object["f"] as? Bool == false)
        #expect(object["z"] is NSNull)
        let arr = try #require(object["arr"] as? [Any])
        #expect(arr.count == 4)
        #expect((arr[0] as? NSNumber)?.doubleValue == 1.5)
        #expect(arr[1] as? String == "x")
        #expect((arr[2] as? [String: Any])?.isEmpty == true)
        #expect((arr[3] as? [Any])?.isEmpty == true)
        #expect((object["obj"] as? [String: Any])?["k"] is NSNull)
        // Compact and in call order.
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(
            text.hasPrefix(#"{"s":"plain","n":64000.5,"i":1764000000000000,"small":-3,"t":true,"f":false,"z":null,"#)
        )
        #expect(text.hasSuffix(#""arr":[1.5,"x",{},[]],"obj":{"k":null}}"#))
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity, -Double.nan, Double.signalingNaN])
    func nonFiniteNumbersBecomeNull(value: Double) throws {
        var w = JSONWriter()
        w.beginObject(); w.key("v"); w.number(value); w.key("o"); w.number(Optional(value)); w.endObject()
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"v":null,"o":null}"#)
        let object = try #require(foundationParse(w.bytes) as? [String: Any])
        #expect(object["v"] is NSNull && object["o"] is NSNull)
    }

    @Test(arguments: [
        "quote \" inside", "back\\slash", "slash / ok", "new\nline", "cr\rlf", "tab\tstop", "\u{0}nul", "\u{1}\u{1F}",
        "\u{08}\u{0C}", "del \u{7F}", "é€😀𝄞", "\u{2028}\u{2029}", "\"\\\"", "", "mixed \"\u{1}\\\n€",
    ])
    func escapesStringsAndKeys(value: String) throws {
        var w = JSONWriter()
        w.beginObject(); w.key(value); w.string(value); w.endObject()
        // No raw control character may reach the output.
        #expect(!w.bytes.contains { $0 < 0x20 })
        let object = try #require(
            foundationParse(w.bytes) as? [String: String],
            "\(String(decoding: w.bytes, as: UTF8.self))"
        )
        #expect(object == [value: value])
        // And our own reader agrees.
        let doc = try readDocument(w.bytes).get()
        #expect(doc == .object([(value, .string(value))]))
    }

    @Test func writtenNumbersReadBackBitExactly() throws {
        var rng = SplitMix64(seed: 7)
        var values: [Double] = [
            0, -0.0, 1, -1, 0.1, 1e-5, 1e16, 1e21, 1e22, 1e300, -1e-300, .leastNonzeroMagnitude,
            .greatestFiniteMagnitude, .leastNormalMagnitude, 64000.5, 1.0 / 3,
        ]
        while values.count < 2_000 {
            let v = Double(bitPattern: rng.next())
            if v.isFinite { values.append(v) }
        }
        var w = JSONWriter()
        w.beginArray()
        for v in values { w.number(v) }
        w.endArray()
        guard case .array(let back) = try readDocument(w.bytes).get() else {
            Issue.record("not an array"); return
        }
        #expect(back == values.map { JSONValue.number($0) })
        let foundation = try #require(foundationParse(w.bytes) as? [NSNumber])
        #expect(foundation.count == values.count)
        // swift-corelibs-foundation's number parsing is not correctly rounded for every input, so Foundation is
        // checked only approximately; bit-exactness is checked with JSONReader above.
        let mismatches = zip(values, foundation).filter { (v: Double, n: NSNumber) -> Bool in
            abs(n.doubleValue - v) > 1e-12 * abs(v)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
    }

    @Test func separatorsBetweenNestedContainers() throws {
        var w = JSONWriter()
        w.beginArray()
        w.beginObject(); w.key("a"); w.integer(1); w.endObject()
        w.beginObject(); w.key("b"); w.beginArray(); w.integer(2); w.integer(3); w.endArray(); w.endObject()
        w.null()
        w.endArray()
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"[{"a":1},{"b":[2,3]},null]"#)
        #expect(foundationParse(w.bytes) != nil)
    }

    /// Integers are written exactly as `String(_:)` writes them.
    @Test func integersMatchStringInit() {
        var rng = SplitMix64(seed: 7)
        var values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, Int64.max, Int64.min, Int64.min + 1, 1_764_000_000_000_000]
        for _ in 0..<20_000 {
            let bits = Int.random(in: 0...63, using: &rng)
            values.append(Int64(truncatingIfNeeded: rng.next()) >> bits)
        }
        for value in values {
            var w = JSONWriter()
            w.integer(value)
            #expect(String(decoding: w.bytes, as: UTF8.self) == String(value), "\(value)")
        }
    }

    /// A composed string is the same bytes as the string built first, escapes included.
    @Test(arguments: ["BTC-PERP", "BTC-28NOV25-60000-C", "", "quo\"te", "back\\slash", "tab\there", "é€😀", "\u{01}"])
    func composedStringsMatchBuiltStrings(prefix: String) {
        for ts in [Int64(0), 1_764_000_000_000_000, -5, Int64.min] {
            var composed = JSONWriter()
            composed.beginArray(); composed.integer(1); composed.string(prefix, ":mark:", ts); composed.endArray()
            var built = JSONWriter()
            built.beginArray(); built.integer(1); built.string("\(prefix):mark:\(ts)"); built.endArray()
            #expect(composed.bytes == built.bytes, "\(prefix) \(ts)")
        }
    }

    /// The records' number form, from Swift's own text: a decimal on a tick grid (the smallest k ≤ 8 with `m/10^k`
    /// reading back exactly, 10^-8 ≤ |v| < 10^15) as that decimal, any other value as `"\(value)"`.
    static func referenceNumber(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        let magnitude = abs(value)
        if magnitude < 1e15, magnitude >= 1e-8 || value == 0 {
            var power = 1.0
            for k in 0...8 {
                let scaled = (magnitude * power).rounded()
                guard scaled < 9_007_199_254_740_992 else { break }
                if scaled / power == magnitude {
                    let sign = value.sign == .minus ? "-" : ""
                    var digits = String(UInt64(scaled))
                    if k == 0 { return sign + digits + ".0" }
                    if digits.count <= k { digits = String(repeating: "0", count: k - digits.count + 1) + digits }
                    return sign + digits.dropLast(k) + "." + digits.suffix(k)
                }
                power *= 10
            }
        }
        return "\(value)"
    }

    /// Writes `values` as one array and compares it with the reference forms joined the same way (one comparison
    /// for many values); on a difference, names the first values that differ.
    static func referenceMismatches(_ values: [Double]) -> [String] {
        var w = JSONWriter(capacity: 26 * values.count + 2)
        w.beginArray()
        for value in values { w.number(value) }
        w.endArray()
        var want = "["
        for value in values {
            if want.utf8.count > 1 { want += "," }
            want += referenceNumber(value)
        }
        want += "]"
        if String(decoding: w.bytes, as: UTF8.self) == want { return [] }
        var found: [String] = []
        for value in values where found.count < 5 {
            var one = JSONWriter()
            one.number(value)
            let got = String(decoding: one.bytes, as: UTF8.self)
            let expected = referenceNumber(value)
            if got != expected { found.append("\(value.bitPattern): \(got) != \(expected)") }
        }
        return found
    }

    /// Every double is written as the reference writes it, over several million values from each source of
    /// trouble: random bit patterns (every exponent), decimals of 1 to 17 significant digits, tick-grid values and
    /// their neighbours, powers of ten and of two and their neighbours, subnormals, integers below and above 2^53,
    /// and ties between two shortest decimals (2^50 ≤ v < 2^51, v·4 odd).
    @Test func numbersMatchTheReferenceForm() {
        var rng = SplitMix64(seed: 0x5EED)
        let powersOfTen: [Double] = (0...22).map { (0..<$0).reduce(1.0) { p, _ in p * 10 } }
        var mismatches: [String] = []
        var values: [Double] = []
        values.reserveCapacity(1 << 16)
        func add(_ value: Double) {
            values.append(rng.next() & 1 == 0 ? value : -value)
            if values.count == 1 << 16 { flush() }
        }
        func flush() {
            if mismatches.count < 5 { mismatches += Self.referenceMismatches(values) }
            values.removeAll(keepingCapacity: true)
        }
        // Powers of ten (as read from their decimal text) and of two, with their neighbours.
        for e in -323...308 {
            let power = Double("1e\(e)")!
            var (up, down) = (power, power)
            for _ in 0..<8 {
                add(up); add(down)
                up = up.nextUp; down = down.nextDown
            }
        }
        for biased in UInt64(0)..<2047 {
            for offset: Int64 in -2...2 where Int64(biased << 52) + offset > 0 {
                add(Double(bitPattern: UInt64(Int64(biased << 52) + offset)))
            }
        }
        // The smallest subnormals, exhaustively, and the largest.
        for c in UInt64(1)...20_000 { add(Double(bitPattern: c)); add(Double(bitPattern: (1 << 52) - c)) }
        for i in 0..<1_600_000 {
            switch i % 8 {
            case 0:  // any bit pattern: every exponent, subnormals included
                let value = Double(bitPattern: rng.next())
                if value.isFinite { add(value) }
            case 1:  // 1 to 17 significant digits, exact where m < 2^53 and 10^e ≤ 10^22 (one rounding)
                let digits = Int(rng.next() % 17) + 1
                var m = rng.next() % UInt64(powersOfTen[digits])
                if m == 0 { m = 1 }
                let e = Int(rng.next() % 45) - 22
                add(e >= 0 ? Double(m) * powersOfTen[e] : Double(m) / powersOfTen[-e])
            case 2:  // the same at any exponent, read from text
                if i % 64 == 2 {
                    let m = rng.next() % 100_000_000_000_000_000
                    add(Double("\(m)e\(Int(rng.next() % 660) - 340)")!)
                } else {
                    add(Double(bitPattern: rng.next() % 0x0010_0000_0000_0000))  // subnormal
                }
            case 3:  // tick grid: m/10^k, k ≤ 9, and the neighbours
                let value = Double(rng.next() >> (11 + rng.next() % 53)) / powersOfTen[Int(rng.next() % 10)]
                add(value); add(value.nextUp); add(value.nextDown)
            case 4:  // integers, below and above 2^53
                add(Double(rng.next() >> (rng.next() % 64)))
            case 5:  // 15 to 17 digits with up to 8 decimals: where the grid search is closest to its limits
                let m = rng.next() % UInt64(powersOfTen[15 + Int(rng.next() % 3)])
                let value = Double(m) / powersOfTen[Int(rng.next() % 9)]
                add(value); add(value.nextUp); add(value.nextDown)
            case 6:  // ties: 2^50 + j/4 with j odd lies halfway between two 17-digit decimals
                add(0x1p50 + Double(rng.next() % (1 << 52) | 1) * 0.25)
            default:  // full precision at every scale
                add(Double(rng.next() >> 11) * 0x1p-53 * powersOfTen[Int(rng.next() % 23)] / 1e9)
            }
        }
        flush()
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// Hand-picked values, with the text the records have always had.
    @Test(arguments: [
        (0, "0.0"), (9_223_372_036_854_775_808, "-0.0"), (1, "5e-324"), (2, "1e-323"), (3, "1.5e-323"),
        (9_218_868_437_227_405_311, "1.7976931348623157e+308"), (18_442_240_474_082_181_119, "-1.7976931348623157e+308"),
        (4_503_599_627_370_496, "2.2250738585072014e-308"), (4_503_599_627_370_495, "2.225073858507201e-308"),
        (4_591_870_180_066_957_722, "0.1"), (4_599_075_939_470_750_515, "0.3"),
        (4_599_075_939_470_750_516, "0.30000000000000004"), (4_604_180_019_048_437_077, "0.6666666666666666"),
        (4_636_737_291_354_636_288, "100.0"), (4_607_976_860_025_974_975, "1.1764013881539055"),
        (4_472_406_533_629_990_549, "1e-09"), (4_474_824_385_269_219_807, "1.5e-09"),
        (4_487_126_258_331_716_666, "0.00000001"), (4_487_126_258_331_716_665, "9.999999999999999e-09"),
        (4_533_404_827_286_226_701, "1.2345e-05"), (4_548_686_525_128_629_352, "0.00012345"),
        (4_526_749_599_430_098_723, "0.00000435"), (13_725_520_251_343_122_248, "-0.0000001"),
        (4_532_020_583_610_935_537, "0.00001"), (4_533_401_875_807_174_908, "0.00001234"),
        (4_547_007_122_018_943_787, "9.999999999999998e-05"), (4_547_007_122_018_943_788, "9.999999999999999e-05"),
        (4_547_007_122_018_943_789, "0.0001"), (4_548_686_775_598_520_385, "0.000123456789"),
        (4_950_912_855_330_343_670, "1e+23"), (4_936_209_963_552_724_370, "1e+22"), (4_921_056_587_992_461_136, "1e+21"),
        (4_845_873_199_050_653_696, "9007199254740992.0"), (4_845_873_199_050_653_697, "9.007199254740994e+15"),
        (4_845_873_199_050_653_695, "9007199254740991.0"), (4_850_376_798_678_024_192, "1.8014398509481984e+16"),
        (4_846_369_599_423_283_200, "1e+16"), (4_895_412_794_951_729_152, "1.8446744073709552e+19"),
        (4_831_355_200_913_801_216, "1000000000000000.0"), (4_831_355_200_913_801_215, "999999999999999.9"),
        (4_831_355_200_913_801_217, "1000000000000000.1"), (4_817_745_636_528_479_851, "123456789012345.67"),
        (4_832_362_400_168_542_209, "1125899906842624.2"), (4_832_362_400_168_542_211, "1125899906842624.8"),
        (4_679_028_975_324_889_088, "64000.5"), (4_711_630_319_775_855_411, "10000000.1"),
        (4_712_889_646_075_567_015, "12345678.12345679"),
    ] as [(UInt64, String)])
    func writesHandPickedNumbers(bits: UInt64, want: String) {
        let value = Double(bitPattern: bits)
        var w = JSONWriter()
        w.number(value)
        #expect(String(decoding: w.bytes, as: UTF8.self) == want)
        #expect(Self.referenceNumber(value) == want)
    }

    /// Tick-grid values (`m / 10^k`, k ≤ 8) take the short decimal path: the exact decimal text, `.0` for integers,
    /// a leading `0.` and zeros for small values, and the sign of negative numbers and of negative zero.
    @Test func shortDecimalsAreWrittenExactly() {
        let fixed: [(Double, String)] = [
            (0, "0.0"), (-0.0, "-0.0"), (5, "5.0"), (-5, "-5.0"), (64000.25, "64000.25"), (0.005, "0.005"),
            (0.00000001, "0.00000001"), (1.5, "1.5"), (2.5, "2.5"), (0.5, "0.5"), (123456789012.5, "123456789012.5"),
            (1e14, "100000000000000.0"),
        ]
        var mismatches: [String] = []
        for (value, want) in fixed {
            var w = JSONWriter()
            w.number(value)
            let got = String(decoding: w.bytes, as: UTF8.self)
            if got != want { mismatches.append("\(value): \(got) != \(want)") }
        }
        var rng = SplitMix64(seed: 11)
        for _ in 0..<200_000 {
            // At most 12 significant digits: distinct decimals are distinct doubles, so the shortest k is this one.
            let k = Int(rng.next() % 9)
            var m = rng.next() % 1_000_000_000_000
            if k > 0, m % 10 == 0 { m += 1 }
            var text = String(m)
            if k > 0 {
                if text.count <= k { text = String(repeating: "0", count: k - text.count + 1) + text }
                text.insert(".", at: text.index(text.endIndex, offsetBy: -k))
            } else {
                text += ".0"
            }
            let negative = rng.next() & 1 == 1
            let value = (negative ? -1.0 : 1.0) * (Double(m) / [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8][k])
            let want = (negative ? "-" : "") + text
            var w = JSONWriter()
            w.number(value)
            let got = String(decoding: w.bytes, as: UTF8.self)
            if got != want, mismatches.count < 5 { mismatches.append("\(m)/10^\(k): \(got) != \(want)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}
