import Events
import Testing

@Suite("Quote.decode")
struct QuoteDecodeTests {
    static let expectedSpecQuote = Quote(
        instrument: "BTC-PERP",
        ts: 1_764_000_000_000_000,
        bid: 64000.5,
        bidSize: 2.1,
        ask: 64001.0,
        askSize: 1.7,
        bids: [BookLevel(price: 64000.5, size: 2.1), BookLevel(price: 64000.0, size: 5.0)],
        asks: [BookLevel(price: 64001.0, size: 1.7), BookLevel(price: 64002.0, size: 3.3)],
        iv: 0.55
    )

    @Test func decodesTheSpecExample() throws {
        let q = try decoding(specQuote.bytes, with: Quote.decode).get()
        #expect(q.instrument == "BTC-PERP")
        #expect(q.ts == 1_764_000_000_000_000)
        #expect(q.bid == 64000.5 && q.bidSize == 2.1 && q.ask == 64001.0 && q.askSize == 1.7)
        #expect(q.bids == [BookLevel(price: 64000.5, size: 2.1), BookLevel(price: 64000.0, size: 5.0)])
        #expect(q.asks == [BookLevel(price: 64001.0, size: 1.7), BookLevel(price: 64002.0, size: 3.3)])
        #expect(q.iv == 0.55)
        #expect(q == Self.expectedSpecQuote)
        #expect(q.mid == 64000.75)
    }

    @Test func absentLevelsAreTheSingleBestLevel() throws {
        let q = try decoding(minimalQuote.bytes, with: Quote.decode).get()
        #expect(q.bids == [BookLevel(price: 64000.5, size: 2.1)])
        #expect(q.asks == [BookLevel(price: 64001.0, size: 1.7)])
        #expect(q.iv == nil)
        // Only one side given: the other side is its best level.
        let onlyBids = try decoding(minimalQuote.setting("bids", "[[64000.5,2.1],[63990,4]]").bytes, with: Quote.decode)
            .get()
        #expect(onlyBids.bids.count == 2)
        #expect(onlyBids.asks == [BookLevel(price: 64001.0, size: 1.7)])
    }

    @Test func ivIsOptionalAndMayBeNull() throws {
        #expect(try decoding(specQuote.setting("iv", "null").bytes, with: Quote.decode).get().iv == nil)
        #expect(try decoding(specQuote.removing("iv").bytes, with: Quote.decode).get().iv == nil)
        #expect(try decoding(specQuote.setting("iv", "1.25").bytes, with: Quote.decode).get().iv == 1.25)
    }

    @Test(arguments: unknownFieldValues)
    func unknownFieldsAreIgnoredWherever(value: String) throws {
        let base = try decoding(specQuote.bytes, with: Quote.decode).get()
        // First, in the middle, last.
        var front = specQuote
        front.fields.insert((key: "venue_meta", raw: value), at: 0)
        var middle = specQuote
        middle.fields.insert((key: "x-extra", raw: value), at: 3)
        let back = specQuote.setting("future_field", value)
        for fields in [front, middle, back] {
            #expect(try decoding(fields.bytes, with: Quote.decode).get() == base, "\(fields)")
        }
    }

    @Test func fieldOrderAndWhitespaceDoNotMatter() throws {
        let pretty = """
            {
              "iv" : 0.55 ,
            \t"asks":[ [64001.0 , 1.7] , [64002.0,3.3] ],
              "bids":[[64000.5,2.1],[64000.0,5.0]],\r
              "ask_size":1.7, "ask":64001.0, "bid_size":2.1, "bid":64000.5,
              "ts":1764000000000000, "instrument":"BTC-PERP"
            }

            """
        #expect(try decoding(pretty, with: Quote.decode).get() == Self.expectedSpecQuote)
    }

    @Test func escapedKeysAndValuesDecode() throws {
        let json = specQuote.removing("instrument").setting("\\u0069nstrument", "\"BTC\\u002dPERP\"").json
        #expect(try decoding(json, with: Quote.decode).get() == Self.expectedSpecQuote)
    }

    @Test(arguments: ["instrument", "ts", "bid", "bid_size", "ask", "ask_size"])
    func missingRequiredFieldIsMissingField(field: String) {
        #expect(decoding(specQuote.removing(field).bytes, with: Quote.decode).reason == .missingField)
        #expect(decoding(minimalQuote.removing(field).bytes, with: Quote.decode).reason == .missingField)
    }

    @Test func emptyObjectIsMissingField() {
        #expect(decoding("{}", with: Quote.decode).reason == .missingField)
    }

    @Test(arguments: [
        ("instrument", "5"), ("instrument", "null"), ("instrument", "[\"BTC-PERP\"]"), ("instrument", "{}"),
        ("ts", "\"1764000000000000\""), ("ts", "1764000000000000.0"), ("ts", "1.764e15"), ("ts", "true"),
        ("ts", "null"), ("bid", "\"64000.5\""), ("bid", "true"), ("bid", "[64000.5]"), ("bid", "{}"),
        ("bid", "null"), ("bid_size", "\"2.1\""), ("ask", "false"), ("ask_size", "[1.7]"),
        ("bids", "{}"), ("bids", "\"[[64000.5,2.1]]\""), ("bids", "[64000.5,2.1]"), ("bids", "[[64000.5]]"),
        ("bids", "[[64000.5,2.1,7]]"), ("bids", "[[]]"), ("bids", "[[\"64000.5\",2.1]]"), ("bids", "[{\"p\":1}]"),
        ("asks", "[[64001.0,\"1.7\"]]"), ("asks", "[[64001.0,1.7],null]"), ("asks", "7"),
        ("iv", "\"0.55\""), ("iv", "[0.55]"), ("iv", "true"),
    ])
    func wrongTypesAreWrongType(field: String, raw: String) {
        let r = decoding(specQuote.setting(field, raw).bytes, with: Quote.decode)
        #expect(r.reason == .wrongType, "\(field)=\(raw): \(r)")
    }

    @Test(arguments: [
        ("bid", "0"), ("bid", "-0"), ("bid", "-64000.5"), ("bid", "0.0"), ("bid_size", "0"), ("bid_size", "-2.1"),
        ("ask", "0"), ("ask", "-64001"), ("ask_size", "0"), ("ask_size", "-1e-9"), ("iv", "0"), ("iv", "-0.55"),
        ("bids", "[[64000.5,2.1],[0,5.0]]"), ("bids", "[[64000.5,2.1],[-1,5.0]]"),
        ("bids", "[[64000.5,2.1],[64000,0]]"),
        ("asks", "[[64001.0,1.7],[64002.0,0]]"), ("asks", "[[64001.0,1.7],[64002.0,-3.3]]"),
        ("bids", "[[64000.5,0],[64000.0,5.0]]"),
    ])
    func nonPositiveValuesAreNonPositive(field: String, raw: String) {
        let r = decoding(specQuote.setting(field, raw).bytes, with: Quote.decode)
        #expect(r.reason == .nonPositive, "\(field)=\(raw): \(r)")
    }

    @Test(
        arguments: ["bid", "bid_size", "ask", "ask_size", "iv"],
        ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e400"]
    )
    func nonFiniteValuesAreNonFinite(field: String, raw: String) {
        let r = decoding(specQuote.setting(field, raw).bytes, with: Quote.decode)
        #expect(r.reason == .nonFinite, "\(field)=\(raw): \(r)")
    }

    @Test(arguments: ["NaN", "Infinity", "1e999"])
    func nonFiniteLevelsAreNonFinite(raw: String) {
        for (field, levels) in [
            ("bids", "[[64000.5,2.1],[\(raw),5.0]]"), ("bids", "[[64000.5,2.1],[64000,\(raw)]]"),
            ("asks", "[[64001.0,1.7],[\(raw),3.3]]"), ("asks", "[[64001.0,1.7],[64002,\(raw)]]"),
        ] {
            let r = decoding(specQuote.setting(field, levels).bytes, with: Quote.decode)
            #expect(r.reason == .nonFinite, "\(field)=\(levels): \(r)")
        }
    }

    @Test func crossedTopOfBookIsCrossedBook() {
        // bid 64001.5 > ask 64001.0, levels absent.
        let crossed = minimalQuote.setting("bid", "64001.5")
        #expect(decoding(crossed.bytes, with: Quote.decode).reason == .crossedBook)
        // Far through the book.
        let far = minimalQuote.setting("bid", "70000").setting("ask", "60000")
        #expect(decoding(far.bytes, with: Quote.decode).reason == .crossedBook)
    }

    @Test(arguments: [
        ("bids", "[[64000.5,2.1],[64000.6,5.0]]"),  // ascending bids
        ("bids", "[[64000.5,2.1],[64000.0,5.0],[64000.2,1.0]]"),  // out of order deeper in
        ("asks", "[[64001.0,1.7],[64000.9,3.3]]"),  // descending asks
        ("asks", "[[64001.0,1.7],[64002.0,3.3],[64001.5,1.0]]"),
    ])
    func levelsOutOfOrderAreRejected(field: String, raw: String) {
        let r = decoding(specQuote.setting(field, raw).bytes, with: Quote.decode)
        #expect(r.reason == .levelsOutOfOrder, "\(field)=\(raw): \(r)")
    }

    /// `schemas/quotes.json`: "levels strictly ordered": two levels at one price are out of order.
    @Test(arguments: [("bids", "[[64000.5,2.1],[64000.5,5.0]]"), ("asks", "[[64001.0,1.7],[64001.0,3.3]]")])
    func equalPriceLevelsAreOutOfOrder(field: String, raw: String) {
        let r = decoding(specQuote.setting(field, raw).bytes, with: Quote.decode)
        #expect(r.reason == .levelsOutOfOrder, "\(field)=\(raw): \(r)")
    }

    /// `schemas/quotes.json`: `bids[0]` = (`bid`, `bid_size`) (and likewise for asks).
    @Test(arguments: [
        ("bids", "[[64000.0,2.1],[63999.0,5.0]]"), ("bids", "[[64000.5,9.9]]"),
        ("asks", "[[64001.5,1.7]]"), ("asks", "[[64001.0,0.1]]"),
    ])
    func bestLevelMustMatchTopOfBook(field: String, raw: String) {
        let r = decoding(specQuote.setting(field, raw).bytes, with: Quote.decode)
        #expect(r.reason != nil, "\(field)=\(raw) was accepted")
    }

    @Test func emptyInstrumentIsRejected() {
        let r = decoding(specQuote.setting("instrument", "\"\"").bytes, with: Quote.decode)
        #expect(r.reason == .invalidValue || r.reason == .missingField)
    }

    @Test(arguments: [
        [UInt8](), Array("   \n".utf8), [0xFF, 0xFE, 0x00, 0x7B], [0x00], Array("garbage".utf8), Array("null".utf8),
        Array("true".utf8), Array("42".utf8), Array("\"quote\"".utf8), Array("[]".utf8),
        Array("[{\"instrument\":\"BTC-PERP\"}]".utf8), Array("{\"instrument\" \"BTC-PERP\"}".utf8),
        Array("{'instrument':'BTC-PERP'}".utf8), Array("{instrument:\"BTC-PERP\"}".utf8),
    ])
    func garbageIsDecodeError(bytes: [UInt8]) {
        #expect(decoding(bytes, with: Quote.decode).reason == .decodeError)
    }

    @Test(arguments: [" x", ",", "}", "{}", "]", " null", "\u{0}", "\n{\"a\":1}"])
    func trailingJunkIsDecodeError(junk: String) {
        #expect(decoding(specQuote.json + junk, with: Quote.decode).reason == .decodeError)
        // Whitespace alone is fine.
        #expect(decoding(specQuote.json + " \n\t\r", with: Quote.decode).reason == nil)
    }

    @Test func everyTruncationIsDecodeError() {
        expectTruncationsAreDecodeErrors(specQuote, with: Quote.decode)
        // Also with whitespace between tokens and without optional fields.
        expectTruncationsAreDecodeErrors(
            JSONFields([
                ("instrument", " \"ETH-PERP\" "), ("ts", " 1 "), ("bid", " 1.5 "), ("bid_size", "2"), ("ask", "1.75"),
                ("ask_size", "3"), ("bids", "[ [ 1.5 , 2 ] , [ 1.25 , 1 ] ]"), ("asks", " [[1.75,3]] "),
            ]),
            with: Quote.decode
        )
    }

    @Test(arguments: [
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"bids":[[1,1]],}"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"bids":[[1,1],]}"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1 "iv":1}"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"x":[1,2}"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1.,"bid_size":1,"ask":2,"ask_size":1}"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":.5,"bid_size":1,"ask":2,"ask_size":1}"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"x":"\q"}"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"x":"\uD800"}"#,
        "{\"instrument\":\"BTC\u{1}PERP\",\"ts\":1,\"bid\":1,\"bid_size\":1,\"ask\":2,\"ask_size\":1}",
    ])
    func malformedJSONIsDecodeError(json: String) {
        #expect(decoding(json, with: Quote.decode).reason == .decodeError)
    }

    /// A message cut inside a literal (`null`, `true`, `false`) is not JSON: decode_error, like any other truncation.
    @Test(arguments: [
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"iv":nu"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"iv":nul}"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"x":tru"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"x":fals}"#,
        #"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,"x":t}"#,
    ])
    func truncatedLiteralIsDecodeError(json: String) {
        #expect(decoding(json, with: Quote.decode).reason == .decodeError)
    }

    /// SPEC §2/§8: values are UTF-8; RejectReason.decodeError covers "not UTF-8".
    @Test(
        arguments: [
            ("instrument", [0x42, 0x54, 0x43, 0xFF]),  // 0xFF never occurs in UTF-8
            ("instrument", [0x42, 0xC3, 0x28]),  // bad continuation byte
            ("instrument", [0xC0, 0xAF]),  // overlong '/'
            ("instrument", [0xED, 0xA0, 0x80]),  // UTF-8-encoded surrogate
            ("instrument", [0x80]),  // lone continuation
            ("venue", [0xE2, 0x82]),  // truncated sequence in an unknown field
        ] as [(String, [UInt8])]
    )
    func invalidUTF8IsDecodeError(field: String, raw: [UInt8]) {
        var bytes = Array("{\"ts\":1764000000000000,\"bid\":1,\"bid_size\":1,\"ask\":2,\"ask_size\":1,".utf8)
        if field != "instrument" { bytes += Array("\"instrument\":\"BTC-PERP\",".utf8) }
        bytes += Array("\"\(field)\":\"".utf8) + raw + Array("\"}".utf8)
        #expect(decoding(bytes, with: Quote.decode).reason == .decodeError)
    }

    @Test(arguments: [[0xFF], [0x76, 0xC3], [0xED, 0xBF, 0xBF]] as [[UInt8]])
    func invalidUTF8InAnUnknownKeyIsDecodeError(key: [UInt8]) {
        var bytes = Array(#"{"instrument":"BTC-PERP","ts":1,"bid":1,"bid_size":1,"ask":2,"ask_size":1,""#.utf8)
        bytes += key + Array(#"":1}"#.utf8)
        #expect(decoding(bytes, with: Quote.decode).reason == .decodeError)
    }

    @Test func validMultiByteUTF8IsKept() throws {
        let q = try decoding(
            minimalQuote.setting("instrument", "\"BTC-€-😀\"").setting("vénue", "\"é\"").bytes,
            with: Quote.decode
        ).get()
        #expect(q.instrument == "BTC-€-😀")
    }

    @Test func levelCountsMayDifferPerSide() throws {
        // A book exactly one tick wide, different level counts per side.
        let json = specQuote.setting("bids", "[[64000.5,2.1]]").setting(
            "asks",
            "[[64001.0,1.7],[64002.0,3.3],[64010,9]]"
        )
        let q = try decoding(json.bytes, with: Quote.decode).get()
        #expect(q.bids.count == 1 && q.asks.count == 3)
    }

    @Test func numbersWithExponentsDecode() throws {
        let json = minimalQuote.setting("bid", "6.40005e4").setting("ask", "6400100e-2").setting("bid_size", "21E-1")
        let q = try decoding(json.bytes, with: Quote.decode).get()
        #expect(q.bid == 64000.5 && q.ask == 64001.0 && q.bidSize == 2.1)
    }
}
