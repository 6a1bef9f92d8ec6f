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

    /// The number form before the quick rejection of full-precision values: the smallest k ≤ 8 with
    /// `m/10^k` reading back exactly, else Swift's `description`.
    static func referenceNumber(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        let magnitude = abs(value)
        if magnitude < 1e15, magnitude >= 1e-8 || value == 0 {
            let powers: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8]
            for k in 0...8 {
                let scaled = (magnitude * powers[k]).rounded()
                guard scaled < 9_007_199_254_740_992 else { break }
                guard scaled / powers[k] == magnitude else { continue }
                let sign = value < 0 || (value == 0 && value.sign == .minus) ? "-" : ""
                var digits = String(UInt64(scaled))
                if k == 0 { return sign + digits + ".0" }
                if digits.count <= k { digits = String(repeating: "0", count: k - digits.count + 1) + digits }
                return sign + digits.dropLast(k) + "." + digits.suffix(k)
            }
        }
        return value.description
    }

    /// Numbers are written as before the quick rejection: decimals on a grid, full-precision values, all magnitudes.
    @Test func numbersMatchTheReferenceForm() {
        var rng = SplitMix64(seed: 0x5EED)
        var mismatches: [String] = []
        for i in 0..<1_000_000 {
            let value: Double
            switch i % 5 {
            case 0: value = Double(bitPattern: rng.next())  // any exponent
            case 1: value = Double(Int64.random(in: -(1 << 50)...(1 << 50), using: &rng)) / [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9][i % 10]
            case 2: value = Double.random(in: -1e6...1e6, using: &rng)  // full precision
            case 3: value = Double.random(in: 0..<1, using: &rng) * [1e-9, 1e-6, 1e-3, 1, 1e3, 1e9, 1e14, 1e16][i % 8]
            default: value = Double(Int64.random(in: 0...9_999_999, using: &rng)) * 1e-7 + Double(Int64.random(in: 0...1 << 20, using: &rng))
            }
            var w = JSONWriter()
            w.number(value)
            let got = String(decoding: w.bytes, as: UTF8.self)
            let want = Self.referenceNumber(value)
            if got != want, mismatches.count < 5 { mismatches.append("\(value.bitPattern): \(got) != \(want)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
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
