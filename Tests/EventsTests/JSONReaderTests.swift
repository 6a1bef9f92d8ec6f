import Events
import Foundation
import Testing

/// A whole JSON document read through `JSONReader`, for structural assertions.
indirect enum JSONValue: Equatable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let x), .array(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.number(let x), .number(let y)): return x.bitPattern == y.bitPattern
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }
}

func readValue(_ r: inout JSONReader) throws(DecodeError) -> JSONValue {
    switch try r.peekKind() {
    case .object:
        var members: [(String, JSONValue)] = []
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            members.append((key.string, try readValue(&r)))
        }
        return .object(members)
    case .array:
        var elements: [JSONValue] = []
        try r.readArray { (r: inout JSONReader) throws(DecodeError) in elements.append(try readValue(&r)) }
        return .array(elements)
    case .string: return .string(try r.readString())
    case .number: return .number(try r.readDouble())
    case .bool: return .bool(try r.readBool())
    case .null:
        guard r.readNullIfPresent() else { throw DecodeError(.decodeError, "bad literal") }
        return .null
    }
}

/// Reads one complete document (value, then only whitespace).
func readDocument(_ bytes: [UInt8]) -> Result<JSONValue, DecodeError> {
    decoding(bytes) { (buffer: UnsafeRawBufferPointer) throws(DecodeError) -> JSONValue in
        var r = JSONReader(buffer)
        let v = try readValue(&r)
        try r.expectEnd()
        return v
    }
}

func readDocument(_ json: String) -> Result<JSONValue, DecodeError> { readDocument(Array(json.utf8)) }

/// Reads a single JSON string value.
func readJSONString(_ bytes: [UInt8]) -> Result<String, DecodeError> {
    decoding(bytes) { (buffer: UnsafeRawBufferPointer) throws(DecodeError) -> String in
        var r = JSONReader(buffer)
        let s = try r.readString()
        try r.expectEnd()
        return s
    }
}

func readJSONString(_ json: String) -> Result<String, DecodeError> { readJSONString(Array(json.utf8)) }

/// Reads a single number as `Double` and checks nothing follows it.
func readNumber(_ text: String) -> Result<Double, DecodeError> {
    decoding(text) { (buffer: UnsafeRawBufferPointer) throws(DecodeError) -> Double in
        var r = JSONReader(buffer)
        let v = try r.readDouble()
        try r.expectEnd()
        return v
    }
}

func readInteger(_ text: String) -> Result<Int64, DecodeError> {
    decoding(text) { (buffer: UnsafeRawBufferPointer) throws(DecodeError) -> Int64 in
        var r = JSONReader(buffer)
        let v = try r.readInt64()
        try r.expectEnd()
        return v
    }
}

@Suite("JSONReader structure")
struct JSONReaderStructureTests {
    @Test func readsNestedObjectsAndArraysInOrder() throws {
        let doc = try readDocument(#" { "a" : [1, -2.5, "x", true, false, null, {}, []] , "b":{"c":{"d":[[]]}} } "#)
            .get()
        let expected = JSONValue.object([
            (
                "a",
                .array([
                    .number(1), .number(-2.5), .string("x"), .bool(true), .bool(false), .null, .object([]),
                    .array([]),
                ])
            ),
            ("b", .object([("c", .object([("d", .array([.array([])]))]))])),
        ])
        #expect(doc == expected)
    }

    @Test func acceptsAllFourWhitespaceCharacters() throws {
        let doc = try readDocument("\t\r\n {\n\t\"k\"\r:\n[ 1 ,\t2 ]\r\n}\n\t ").get()
        #expect(doc == .object([("k", .array([.number(1), .number(2)]))]))
    }

    @Test(arguments: [
        (#"{"k":1}"#, JSONReader.Kind.object), ("[1]", .array), (#""s""#, .string), ("-1", .number), ("7", .number),
        ("NaN", .number), ("Infinity", .number), ("true", .bool), ("false", .bool), ("null", .null),
    ])
    func peekKindClassifiesTheNextValue(json: String, kind: JSONReader.Kind) throws {
        let got = try decoding(json) { (b: UnsafeRawBufferPointer) throws(DecodeError) -> JSONReader.Kind in
            var r = JSONReader(b)
            return try r.peekKind()
        }.get()
        #expect(got == kind)
    }

    @Test func keysCompareAgainstLiteralsIncludingEscapedKeys() throws {
        // "\u0062id" is "bid" spelled with an escape; it must still match the literal.
        var matched: [String] = []
        _ = try decoding(#"{"bid":1,"\u0062id":2,"bid_size":3,"bi":4}"#) {
            (b: UnsafeRawBufferPointer) throws(DecodeError) in
            var r = JSONReader(b)
            try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
                if key == "bid" { matched.append("bid=\(try r.readDouble())") } else { try r.skipValue() }
            }
        }.get()
        #expect(matched == ["bid=1.0", "bid=2.0"])
    }

    @Test func skipValueSkipsDeeplyNestedValues() throws {
        let depth = 200
        let nested = String(repeating: "[{\"a\":", count: depth) + "1" + String(repeating: "}]", count: depth)
        let json = "{\"skip\":\(nested),\"keep\":\"yes\"}"
        let kept = try decoding(json) { (b: UnsafeRawBufferPointer) throws(DecodeError) -> String? in
            var r = JSONReader(b)
            var keep: String?
            try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
                if key == "keep" { keep = try r.readString() } else { try r.skipValue() }
            }
            try r.expectEnd()
            return keep
        }.get()
        #expect(kept == "yes")
    }

    @Test(arguments: [
        "", " ", "{", "[", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}",
        "{a:1}", "{'a':1}", "{\"a\":1}}", "{\"a\":1} x", "[1]]", "{\"a\":1}{\"b\":2}", "nul", "@", "\u{FEFF}{}",
        "{\"a\":[1,2}", "{\"a\":{\"b\":1]}",
    ])
    func malformedDocumentsAreDecodeErrors(json: String) {
        #expect(readDocument(json).reason == .decodeError)
    }

    @Test func readBoolAndNull() throws {
        let doc = try readDocument("[true,false,null]").get()
        #expect(doc == .array([.bool(true), .bool(false), .null]))
        #expect(readDocument("[tru]").reason != nil)
        #expect(readDocument("[nul]").reason != nil)
        #expect(readDocument("[True]").reason == .decodeError)
    }
}

@Suite("JSONReader strings")
struct JSONReaderStringTests {
    @Test(arguments: [
        (#""plain""#, "plain"),
        (#""""#, ""),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
        (#""\u0041\u00e9\u00E9\u20ac""#, "Aéé€"),
        (#""\u0000""#, "\u{0}"),
        (#""a\u001fb""#, "a\u{1F}b"),
        (#""\uD83D\uDE00""#, "😀"),
        (#""\ud83d\ude00 and \uD834\uDD1E""#, "😀 and 𝄞"),
        (#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
        ("\"raw é € 😀 \u{7F}\"", "raw é € 😀 \u{7F}"),
        (#""mixed é\n\u00e9""#, "mixed é\né"),
        (#""BTC\u002DPERP""#, "BTC-PERP"),
    ])
    func decodesEscapes(json: String, expected: String) throws {
        #expect(try readJSONString(json).get() == expected)
    }

    @Test(arguments: [
        #""\uD83D""#,  // lone high surrogate at end
        #""\uD83Dx""#,  // high surrogate not followed by an escape
        #""\uD83D\u0041""#,  // high surrogate followed by a non-low escape
        #""\uD83D\uD83D""#,  // two highs
        #""\uDE00""#,  // lone low surrogate
        #""\u12G4""#, #""\u12""#, #""\u""#, #""\x41""#, #""\a""#, #""\'""#,
        "\"unterminated", "\"ends in escape\\", "\"a\u{01}b\"", "\"line\nbreak\"", "\"tab\there\"",
        "\"esc \\n then raw \u{1F}\"",
    ])
    func rejectsBadStrings(json: String) {
        #expect(readJSONString(json).reason == .decodeError)
    }

    @Test(arguments: ["1", "null", "true", "[]", "{}"])
    func readStringOnANonStringIsWrongType(json: String) {
        #expect(readJSONString(json).reason == .wrongType)
    }
}

@Suite("JSONReader numbers")
struct JSONReaderNumberTests {
    /// Hard and boundary cases; the reference is Swift's correctly rounded `Double(String)`.
    static let decimalCases = [
        "0", "-0", "1", "-1", "0.1", "0.2", "0.3", "0.30000000000000004", "64000.5", "64001.0", "2.1", "1e10",
        "1E+10", "1e-10", "1.5E-3", "123456789012345678901234567890", "0.000000000000000000000000000001",
        "1.00000000000000000000000000001", "100000000000000000000000", "1e22", "1e23", "1e-22", "1e-23",
        "123456789012345e22", "123456789012345e-22", "1234567890123456e-5", "9007199254740991", "9007199254740992",
        "9007199254740993", "9007199254740995", "18014398509481985", "2.2250738585072011e-308",
        "2.2250738585072014e-308", "2.2250738585072012e-308", "4.9e-324", "5e-324", "2.4703282292062327e-324",
        "2.4703282292062328e-324", "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
        "8.98846567431158e307", "7.2057594037927933e16", "3.0517578125e-05", "1e-400", "0e99999", "0.0e-99999",
        "1e00000000000000000000001", "1e-00000000000000000000001", "12345678901234567890.123456789e-10",
        "0.1000000000000000055511151231257827", "0.1000000000000000055511151231257828", "1764000000000000",
        "17640000000000001", "-64000.49999999999", "4503599627370496.5", "4503599627370497.5",
    ]

    @Test(arguments: decimalCases)
    func matchesCorrectRounding(text: String) throws {
        let reference = try #require(Double(text))
        let got = try readNumber(text).get()
        #expect(got.bitPattern == reference.bitPattern, "\(text): got \(got), want \(reference)")
    }

    @Test func overflowIsInfiniteAndTokensAreNonFinite() throws {
        #expect(try readNumber("1e999").get() == .infinity)
        #expect(try readNumber("-1e999").get() == -.infinity)
        #expect(try readNumber("Infinity").get() == .infinity)
        #expect(try readNumber("-Infinity").get() == -.infinity)
        #expect(try readNumber("NaN").get().isNaN)
    }

    @Test(arguments: [
        "-", "1.", "1.e5", ".5", "1e", "1e+", "1E-", "--1", "+1", "-NaN", "0x10", "1..2", "1e5.5",
        "Inf", "-Inf", "NAN", "infinity", "1-2", "- 1",
    ])
    func rejectsMalformedNumbers(text: String) {
        #expect(readNumber(text).reason == .decodeError)
    }

    @Test(arguments: [
        (#""1""#, RejectReason.wrongType), ("true", .wrongType), ("null", .wrongType),
        ("[1]", .wrongType), ("{}", .wrongType),
    ])
    func readDoubleOnANonNumberIsWrongType(json: String, reason: RejectReason) {
        #expect(readNumber(json).reason == reason)
    }

    @Test(arguments: [
        ("0", Int64(0)), ("-0", 0), ("42", 42), ("-42", -42), ("1764000000000000", 1_764_000_000_000_000),
        ("9223372036854775807", Int64.max), ("-9223372036854775807", -Int64.max),
    ])
    func readsIntegers(text: String, expected: Int64) throws {
        #expect(try readInteger(text).get() == expected)
    }

    @Test(arguments: [
        ("9223372036854775808", RejectReason.invalidValue), ("99999999999999999999", .invalidValue),
        ("1.0", .wrongType), ("1e3", .wrongType), ("1E3", .wrongType), ("1764000000000000.5", .wrongType),
        (#""5""#, .wrongType), ("true", .wrongType), ("null", .wrongType), ("-", .decodeError),
    ])
    func rejectsNonIntegers(text: String, reason: RejectReason) {
        #expect(readInteger(text).reason == reason)
    }

    /// Property: any finite double, printed by Swift's `description` or by `%.17g`, reads back bit-exactly.
    @Test func randomDoublesRoundTripBitExactly() throws {
        var rng = SplitMix64(seed: 0xBAC5_7012)
        var failures: [String] = []
        var checked = 0
        while checked < 20_000 {
            let value: Double
            switch checked % 4 {
            case 0: value = Double(bitPattern: rng.next())  // any exponent, subnormals included
            case 1: value = Double.random(in: 0.0001..<1_000_000, using: &rng)  // price-like
            case 2: value = (Double.random(in: 1..<100_000, using: &rng) * 100).rounded() / 100  // 2-decimal prices
            default: value = Double(Int64.random(in: -(1 << 60)...(1 << 60), using: &rng)) * 1e-8
            }
            guard value.isFinite else { continue }
            checked += 1
            for text in [value.description, cFormat17g(value)] {
                switch readNumber(text) {
                case .success(let got) where got.bitPattern == value.bitPattern: break
                case .success(let got): failures.append("\(text) -> \(got)")
                case .failure(let e): failures.append("\(text) -> \(e)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) mismatches, first: \(failures.prefix(5))")
    }

    /// Property: random decimal texts (around the fast-path limits: 15-19+ digits, exponents near ±22) read exactly
    /// as `Double(String)` reads them.
    @Test func randomDecimalTextsMatchDoubleInit() throws {
        var rng = SplitMix64(seed: 42)
        var failures: [String] = []
        for _ in 0..<20_000 {
            var text = Bool.random(using: &rng) ? "-" : ""
            let intDigits = Int.random(in: 1...22, using: &rng)
            text += String(Int.random(in: 1...9, using: &rng))
            for _ in 1..<intDigits { text += String(Int.random(in: 0...9, using: &rng)) }
            if intDigits == 1, Bool.random(using: &rng) { text = text.hasPrefix("-") ? "-0" : "0" }
            if Bool.random(using: &rng) {
                text += "."
                let leadingZeros = Int.random(in: 0...8, using: &rng)
                text += String(repeating: "0", count: leadingZeros)
                for _ in 0..<Int.random(in: 1...24, using: &rng) { text += String(Int.random(in: 0...9, using: &rng)) }
            }
            if Bool.random(using: &rng) {
                text += ["e", "E", "e+", "e-", "E-"].randomElement(using: &rng)!
                text += String(Int.random(in: 0...40, using: &rng))
            }
            let reference = try #require(Double(text))
            switch readNumber(text) {
            case .success(let got) where got.bitPattern == reference.bitPattern: break
            case .success(let got): failures.append("\(text) -> \(got) want \(reference)")
            case .failure(let e): failures.append("\(text) -> \(e)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) mismatches, first: \(failures.prefix(5))")
    }
}

/// `String(format: "%.17g")`: 17 significant digits, always enough to round-trip.
func cFormat17g(_ value: Double) -> String { String(format: "%.17g", value) }
