@testable import Events
import Testing

/// `Quote.decode` reads the usual shape with a one-pass reader and everything else with the general one: the two
/// must agree on every input, bit for bit, levels' text included, errors included.
@Suite("Quote.decode compact path")
struct QuoteCompactDecodeTests {
    /// A deterministic generator (SplitMix64), so a failure reproduces.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func digits(_ count: Int) -> String { String((0..<count).map { _ in Character(String(below(10))) }) }
    }

    /// A number as some encoder might write it: plain, long, with leading zeros, an exponent, a sign.
    static func number(_ r: inout Random) -> String {
        switch r.below(12) {
        case 0: return r.digits(1 + r.below(9))
        case 1: return r.digits(1 + r.below(9)) + "." + r.digits(1 + r.below(9))
        case 2: return "-" + r.digits(1 + r.below(4)) + "." + r.digits(1 + r.below(4))
        case 3: return r.digits(1 + r.below(3)) + "e" + (r.below(2) == 0 ? "-" : "") + r.digits(1)
        case 4: return "0" + r.digits(r.below(3)) + "." + r.digits(r.below(3))
        case 5: return ["NaN", "Infinity", "-Infinity", "1.", ".5", "-", "1E2", "0.0", "-0"][r.below(9)]
        default: return String(r.below(100_000)) + (r.below(2) == 0 ? "" : "." + r.digits(1 + r.below(7)))
        }
    }

    static func levels(_ r: inout Random, spaces: Bool) -> String {
        let sp = spaces ? [" ", "", "\t", "\n"][r.below(4)] : ""
        let count = r.below(6)
        return "[" + sp + (0..<count).map { _ in "[\(number(&r)),\(sp)\(number(&r))]" }.joined(separator: "," + sp) + "]"
    }

    /// Random quotes, mostly well formed, some not: every key the quote has, some unknown, repeated or missing.
    static func quote(_ r: inout Random) -> [UInt8] {
        let bid = Double(1 + r.below(100_000)) / [1, 10, 100, 1000][r.below(4)]
        let ask = bid + Double(r.below(100)) / 10
        let sizes = (Double(1 + r.below(9999)) / 100, Double(1 + r.below(9999)) / 100)
        func format(_ x: Double) -> String { r.below(10) == 0 ? "\(x)" : (x == x.rounded() ? String(Int(x)) : "\(x)") }
        var fields: [(String, String)] = [
            ("instrument", r.below(4) != 0 ? "\"BTC-PERP\"" : ["\"\"", "\"ETH\\u002dPERP\"", "7", "\"Ünï\""][r.below(4)]),
            ("ts", r.below(4) != 0 ? "1764000000000000" : ["-5", "12.5", "1e3", "99999999999999999999", "\"1\"", "0"][r.below(6)]),
            ("bid", format(bid)), ("bid_size", format(sizes.0)), ("ask", format(ask)), ("ask_size", format(sizes.1)),
        ]
        // Levels that agree with the top of book most of the time, so validation passes.
        func side(_ top: Double, _ size: Double, _ step: Double) -> String {
            let n = 1 + r.below(9)
            let levels = (0..<n).map { k in "[\(String(top + step * Double(k))),\(String(size + Double(k)))]" }
            return "[" + levels.joined(separator: ",") + "]"
        }
        if r.below(6) != 0 { fields.append(("bids", r.below(8) == 0 ? levels(&r, spaces: true) : side(bid, sizes.0, -0.5))) }
        if r.below(6) != 0 { fields.append(("asks", r.below(8) == 0 ? levels(&r, spaces: true) : side(ask, sizes.1, 0.5))) }
        if r.below(3) == 0 { fields.append(("iv", ["null", "0.55", number(&r)][r.below(3)])) }
        return object(fields, &r)
    }

    /// `fields` as a JSON object, sometimes spoilt: an unknown key, a key twice, a key missing, keys reordered,
    /// whitespace between tokens, junk after the object, the object cut short.
    static func object(_ fields: [(String, String)], _ r: inout Random) -> [UInt8] {
        var fields = fields
        if r.below(10) == 0 { fields.append(("venue", "{\"a\":[1,2]}")) }
        if r.below(10) == 0 { fields.append(fields[r.below(fields.count)]) }
        if r.below(10) == 0 { fields.remove(at: r.below(fields.count)) }
        for k in fields.indices.reversed() where r.below(fields.count) == 0 { fields.swapAt(k, r.below(fields.count)) }
        let sep = r.below(8) == 0 ? [" ", "\n", "\t "][r.below(3)] : ""
        var text = "{" + fields.map { "\"\($0.0)\"\(sep):\(sep)\($0.1)" }.joined(separator: "," + sep) + "}"
        if r.below(20) == 0 { text += [" ", "\n", "x", "}"][r.below(4)] }
        var bytes = Array(text.utf8)
        if r.below(20) == 0 { bytes.removeLast(r.below(bytes.count)) }
        return bytes
    }

    /// Decodes `count` generated inputs three ways — `decode`, the general reader, the compact reader — and checks
    /// that they agree: the compact reader accepts only what the general one accepts and returns the same value;
    /// `decode` returns what the general reader returns, or fails with the same reason and message.
    /// - Returns: how many inputs the compact reader took.
    static func agreement<T>(seed: UInt64, count: Int, generate: (inout Random) -> [UInt8],
                             decode: (UnsafeRawBufferPointer) throws(DecodeError) -> T,
                             general: (UnsafeRawBufferPointer) throws(DecodeError) -> T,
                             compact: (UnsafeRawBufferPointer) -> T?, same: (T, T) -> Bool) -> Int {
        var r = Random(state: seed)
        var compactHits = 0
        for _ in 0..<count {
            let bytes = generate(&r)
            bytes.withUnsafeBytes { buffer in
                let expected = Result { () throws(DecodeError) -> T in try general(buffer) }
                let decoded = Result { () throws(DecodeError) -> T in try decode(buffer) }
                if let value = compact(buffer) {
                    compactHits += 1
                    guard case .success(let reference) = expected else {
                        Issue.record("compact accepted what the general reader rejects: \(String(decoding: bytes, as: UTF8.self))")
                        return
                    }
                    #expect(same(value, reference), "\(String(decoding: bytes, as: UTF8.self))")
                }
                switch (expected, decoded) {
                case (.success(let a), .success(let b)):
                    #expect(same(a, b), "\(String(decoding: bytes, as: UTF8.self))")
                case (.failure(let a), .failure(let b)):
                    #expect(a.reason == b.reason && a.message == b.message)
                default:
                    Issue.record("decode and the general reader disagree: \(String(decoding: bytes, as: UTF8.self))")
                }
            }
        }
        return compactHits
    }

    @Test func agreesWithTheGeneralReaderOnRandomInputs() {
        let compactHits = Self.agreement(seed: 20_251_128, count: 200_000, generate: Self.quote,
                                         decode: Quote.decode, general: Quote.decodeGeneral,
                                         compact: Quote.decodeCompact, same: Self.same)
        // The generator must exercise the compact path, not only the fallback.
        #expect(compactHits > 40_000)
    }

    /// A quote in the usual shape with one more field `"key": 1` after `instrument`.
    static func usualQuote(extraKey key: String? = nil, bids: String = "[[99.5,2],[99,3.25]]") -> [UInt8] {
        let extra = key.map { "\"\($0)\":1," } ?? ""
        return Array(("{\"instrument\":\"BTC-PERP\",\(extra)\"ts\":1764000000000000,\"bid\":99.5,\"bid_size\":2,"
            + "\"ask\":100,\"ask_size\":1.5,\"bids\":\(bids),\"asks\":[[100,1.5],[100.5,4]],\"iv\":null}").utf8)
    }

    @Test func keysThatStartLikeTheUsualOnesAreOtherKeys() throws {
        #expect(Self.usualQuote().withUnsafeBytes { Quote.decodeCompact($0) } != nil)
        // Sharing a prefix, a first word or all but the closing quote with a usual key: not that key. The compact
        // reader leaves them to the general one, which skips them.
        for key in ["bid_sizes", "bid_size_", "bidsx", "bid_", "bi", "b", "asks_", "ask_sizeX", "ask_siz", "askss",
                    "instrumentx", "instrumen", "instrumenT", "tss", "t", "ivv", "i", "iv_", ""] {
            let bytes = Self.usualQuote(extraKey: key)
            try bytes.withUnsafeBytes { buffer in
                #expect(Quote.decodeCompact(buffer) == nil, "\(key)")
                let expected = try Quote.decodeGeneral(buffer)
                #expect(Self.same(try Quote.decode(buffer), expected), "\(key)")
            }
        }
    }

    @Test func aSizePastTheBestLevelMustBePositive() {
        for (bids, accepted) in [("[[99.5,2],[99,0.001]]", true), ("[[99.5,2],[99,0]]", false),
                                 ("[[99.5,2],[99,0.000]]", false), ("[[99.5,2],[99,-1.5]]", false),
                                 ("[[99.5,2],[99,00.0]]", false), ("[[99.5,2],[99,10]]", true)] {
            Self.usualQuote(bids: bids).withUnsafeBytes { buffer in
                #expect((Quote.decodeCompact(buffer) != nil) == accepted, "\(bids)")
                let general = Result { () throws(DecodeError) in try Quote.decodeGeneral(buffer) }
                let decoded = Result { () throws(DecodeError) in try Quote.decode(buffer) }
                switch (general, decoded) {
                case (.success(let a), .success(let b)): #expect(accepted && Self.same(a, b), "\(bids)")
                case (.failure(let a), .failure(let b)):
                    #expect(!accepted && a.reason == b.reason && a.message == b.message, "\(bids)")
                default: Issue.record("decode and the general reader disagree on \(bids)")
                }
            }
        }
    }

    @Test func numbersReadAsTheGeneralReaderReadsThem() {
        // Every plain decimal shape the compact reader takes, at every distance from the end of the buffer.
        var r = Random(state: 7)
        for _ in 0..<300_000 {
            let whole = r.digits(1 + r.below(8))
            let fraction = r.below(3) == 0 ? "" : "." + r.digits(1 + r.below(8))
            let text = (r.below(4) == 0 ? "-" : "") + whole + fraction
            let tail = [",", "]", "", " ", "e5", "]]}"][r.below(6)] + String(repeating: " ", count: r.below(20))
            let bytes = Array((text + tail).utf8)
            bytes.withUnsafeBytes { buffer in
                var general = JSONReader(buffer)
                let expected = try? general.readDouble()
                var scanner = CompactScanner(p: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), n: buffer.count)
                guard let value = scanner.number() else { return }
                #expect(value.bitPattern == expected?.bitPattern, "\(text + tail)")
                #expect(scanner.i == general.position, "\(text + tail)")
            }
        }
    }

    @Test func levelsOfEveryShapeReadAsTheGeneralReaderReadsThem() throws {
        // Bids of random shapes — number forms, orders, zero and negative values, digits past seven, spaces,
        // brackets missing — far from the end of the quote (levels with room ahead are read from digit masks)
        // and at its end: the compact reader takes exactly the valid ones, with the general reader's values.
        var r = Random(state: 19)
        var taken = 0
        for round in 0..<60_000 {
            let count = 1 + r.below(6)
            var price = Double(1 + r.below(9_999_999)) / [1, 10, 100, 1e3, 1e4, 1e7][r.below(6)]
            var levels: [String] = []
            for _ in 0..<count {
                let p = r.below(8) == 0 ? Self.number(&r) : String(price)
                let size = r.below(8) == 0 ? Self.number(&r) : String(Double(r.below(10_000_000)) / [1, 100, 1e7][r.below(3)])
                levels.append(r.below(40) == 0 ? "[\(p), \(size)]" : "[\(p),\(size)]")
                price -= Double(r.below(3)) / [1, 10, 1e7][r.below(3)]
            }
            var bids = "[" + levels.joined(separator: r.below(40) == 0 ? ", " : ",") + "]"
            if r.below(60) == 0 { bids.removeLast() }
            let best = levels[0].dropFirst().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let bidSize = best.count > 1 ? String(best[1].dropLast()) : "1"
            let bidsLast = round % 2 == 0
            let asks = #""asks":[[9999999,1],[9999999.5,2],[9999999.75,3]]"#
            let head = #"{"instrument":"BTC-PERP","ts":1764000000000000,"bid":\#(best[0]),"bid_size":\#(bidSize),"#
                + #""ask":9999999,"ask_size":1,"#
            let text = bidsLast ? head + asks + #","bids":\#(bids)}"# : head + #""bids":\#(bids),"# + asks + "}"
            let bytes = Array(text.utf8)
            try bytes.withUnsafeBytes { buffer in
                let general = Result { () throws(DecodeError) in try Quote.decodeGeneral(buffer) }
                guard let compact = Quote.decodeCompact(buffer) else { return }
                taken += 1
                let reference = try general.get()
                #expect(Self.same(compact, reference), "\(text)")
            }
            // What the compact reader leaves, `decode` still decides as the general reader does.
            bytes.withUnsafeBytes { buffer in
                let general = Result { () throws(DecodeError) in try Quote.decodeGeneral(buffer) }
                let decoded = Result { () throws(DecodeError) in try Quote.decode(buffer) }
                switch (general, decoded) {
                case (.success(let a), .success(let b)): #expect(Self.same(a, b), "\(text)")
                case (.failure(let a), .failure(let b)): #expect(a.reason == b.reason && a.message == b.message)
                default: Issue.record("decode and the general reader disagree: \(text)")
                }
            }
        }
        #expect(taken > 10_000)
    }

    @Test func orderKeysOrderPricesAsTheirValues() {
        // Two plain decimals of up to seven digits each side, leading and trailing zeros included: their keys
        // compare as their exact values (digits as integers in units of 10^-7, computed here from the text), and a
        // key gives back that value.
        var r = Random(state: 23)
        func scaled(_ whole: String, _ fraction: String) -> UInt64 {
            UInt64(whole)! * 10_000_000 + UInt64(fraction.padding(toLength: 7, withPad: "0", startingAt: 0))!
        }
        func key(_ whole: String, _ fraction: String) -> UInt128 {
            // Eight bytes read past the number: what follows it in a level.
            let bytes = Array((whole + (fraction.isEmpty ? "" : "." + fraction) + ",12345678]").utf8)
            return bytes.withUnsafeBufferPointer {
                CompactScanner.orderKey($0.baseAddress!, whole: whole.count, fraction: fraction.count)
            }
        }
        for _ in 0..<100_000 {
            let a = (r.digits(1 + r.below(7)), r.below(3) == 0 ? "" : r.digits(1 + r.below(7)))
            // Half the time the same value written another way (a zero more before or after), else another.
            var b = (r.digits(1 + r.below(7)), r.below(3) == 0 ? "" : r.digits(1 + r.below(7)))
            if r.below(2) == 0 {
                b = ((a.0.count < 7 && r.below(2) == 0 ? "0" : "") + a.0, a.1 + (a.1.count < 7 && r.below(2) == 0 ? "0" : ""))
            }
            let (ka, kb) = (key(a.0, a.1), key(b.0, b.1))
            let (va, vb) = (scaled(a.0, a.1), scaled(b.0, b.1))
            #expect((ka < kb) == (va < vb) && (ka == kb) == (va == vb), "\(a) \(b)")
            #expect(CompactScanner.scaled(key: ka) == va, "\(a)")
        }
        #expect(key("0", "000") == CompactScanner.zeroKey && key("000", "") == CompactScanner.zeroKey)
        #expect(key("0", "0000001") != CompactScanner.zeroKey && key("1", "") != CompactScanner.zeroKey)
    }

    @Test func levelsReadTheSameWithAndWithoutPaddingAfterThem() {
        // Levels alone, as their last bytes: without padding the last ones (within 40 bytes of the end) are read a
        // number at a time after the first ones were read from digit masks; with padding all from masks. Both give
        // what the levels' values say (computed here from the numbers as Swift parses them), and stop at the end.
        var r = Random(state: 29)
        var valid = 0
        for _ in 0..<40_000 {
            let descending = r.below(2) == 0
            // Prices in ticks of 10^-3 (at most seven digits before the point), so their text stays short.
            var ticks = 1_000 + r.below(9_000_000_000)
            var texts: [(String, String)] = []
            for _ in 0..<(1 + r.below(8)) {
                let size = r.below(30) == 0 ? ["0", "0.0", "00.000"][r.below(3)] : String(Double(1 + r.below(99_999)) / 100)
                texts.append((r.below(30) == 0 ? "0" : String(Double(ticks) / 1_000), size))
                let step = r.below(4) * [1, 10, 100, 1_000][r.below(4)]
                ticks += descending ? -step : step
            }
            let text = "[" + texts.map { "[\($0.0),\($0.1)]" }.joined(separator: ",") + "]"
            let values = texts.map { (Double($0.0)!, Double($0.1)!) }
            let ordered = zip(values, values.dropFirst()).allSatisfy { descending ? $0.0 > $1.0 : $0.0 < $1.0 }
            let expected = ordered && values.allSatisfy { $0.0 > 0 && $0.1 > 0 }
            if expected { valid += 1 }
            let bytes = Array(text.utf8)
            let plain = bytes.withUnsafeBufferPointer { buffer -> (BookLevel?, Int) in
                var s = CompactScanner(p: buffer.baseAddress!, n: buffer.count)
                return (s.validLevels(descending: descending), s.i)
            }
            let padded = (bytes + Array(repeating: 0, count: CompactScanner.padding)).withUnsafeBufferPointer {
                buffer -> (BookLevel?, Int) in
                var s = CompactScanner(p: buffer.baseAddress!, n: bytes.count, padding: CompactScanner.padding)
                return (s.validLevels(descending: descending), s.i)
            }
            #expect((plain.0 != nil) == expected && (padded.0 != nil) == expected, "\(text)")
            if expected {
                let best = BookLevel(price: values[0].0, size: values[0].1)
                #expect(plain.0 == best && padded.0 == best && plain.1 == bytes.count && padded.1 == bytes.count,
                        "\(text)")
            }
        }
        #expect(valid > 10_000)
    }

    @Test func pricesEqualInValueAreNotInOrderWhateverTheirText() {
        // The same price twice, written differently (trailing or leading zeros), is not strictly ordered; the
        // compact reader agrees with the general one with the levels far from the end and at the end.
        let pairs = [("99.5", "99.50"), ("99.5", "099.5"), ("100", "100.0"), ("100", "0100"), ("7.25", "7.2500000"),
                     ("99.5", "99.49"), ("99.5", "99.4999999"), ("100", "99.9999999"), ("100", "0099")]
        for (first, second) in pairs {
            for bidsLast in [false, true] {
                let bids = "[[\(first),1],[\(second),2]]"
                let asks = #""asks":[[1000,1],[1000.5,2]]"#
                let head = #"{"instrument":"BTC-PERP","ts":1764000000000000,"bid":\#(first),"bid_size":1,"#
                    + #""ask":1000,"ask_size":1,"#
                let text = bidsLast ? head + asks + #","bids":\#(bids)}"# : head + #""bids":\#(bids),"# + asks + "}"
                Array(text.utf8).withUnsafeBytes { buffer in
                    let general = Result { () throws(DecodeError) in try Quote.decodeGeneral(buffer) }
                    let compact = Quote.decodeCompact(buffer)
                    switch general {
                    case .success(let reference):
                        #expect(compact.map { Self.same($0, reference) } == true, "\(text)")
                    case .failure(let error):
                        #expect(compact == nil && error.reason == .levelsOutOfOrder, "\(text)")
                    }
                }
            }
        }
    }

    @Test func integersReadAsTheGeneralReaderReadsThem() {
        // Every length up to past the 18 digits the compact reader takes, at every distance from the end.
        var r = Random(state: 11)
        for _ in 0..<200_000 {
            let count = 1 + r.below(21)
            let text = (r.below(4) == 0 ? "-" : "") + r.digits(count)
            let tail = [",", "}", "", " ", ".5", "e3", "E3", "x"][r.below(8)] + String(repeating: " ", count: r.below(30))
            let bytes = Array((text + tail).utf8)
            bytes.withUnsafeBytes { buffer in
                var general = JSONReader(buffer)
                let expected = try? general.readInt64()
                var scanner = CompactScanner(p: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), n: buffer.count)
                let value = scanner.integer()
                if let value {
                    #expect(value == expected, "\(text + tail)")
                    #expect(scanner.i == general.position, "\(text + tail)")
                }
                // The compact form: up to 18 digits followed by neither a fraction nor an exponent.
                let plain = count <= 18 && !tail.hasPrefix(".") && !tail.lowercased().hasPrefix("e")
                #expect((value != nil) == plain, "\(text + tail)")
            }
        }
    }

    @Test func stringsReadAsTheGeneralReaderReadsThem() {
        // Printable ASCII is taken a word at a time up to the closing quote; a backslash, a control character or
        // a byte past ASCII anywhere sends the string to the general reader.
        var r = Random(state: 13)
        let plain = Array("ABCXYZ-_:09az ~!#".utf8)
        let others: [[UInt8]] = [Array(#"\""#.utf8), Array(#"\u002d"#.utf8), [0x01], [0x1F], Array("Ü".utf8), [0x7F]]
        for _ in 0..<100_000 {
            var body: [UInt8] = []
            var special = false
            for _ in 0..<r.below(40) {
                if r.below(12) == 0 {
                    body += others[r.below(others.count)]
                    special = true
                } else {
                    body.append(plain[r.below(plain.count)])
                }
            }
            // DEL (0x7F) is printable for JSON: taken as is.
            special = special && body.contains { $0 < 0x20 || $0 >= 0x80 || $0 == UInt8(ascii: "\\") }
            let bytes = [UInt8(ascii: "\"")] + body + [UInt8(ascii: "\"")] + Array(String(repeating: ",", count: r.below(12)).utf8)
            bytes.withUnsafeBytes { buffer in
                var general = JSONReader(buffer)
                let expected = try? general.readString()
                var scanner = CompactScanner(p: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), n: buffer.count)
                let value = scanner.asciiString()
                #expect((value != nil) == !special, "\(body)")
                if let value {
                    #expect(value == expected)
                    #expect(scanner.i == general.position)
                }
            }
        }
    }

    @Test func keysInAnyOrderOrSpacedReadAsInTheUsualOrder() throws {
        // The usual order is matched a key at a time; other orders and spaces take the general steps, same value.
        let fields = [(#""instrument""#, #""BTC-PERP""#), (#""ts""#, "1764000000000000"), (#""bid""#, "99.5"),
                      (#""bid_size""#, "2"), (#""ask""#, "100"), (#""ask_size""#, "1.5"),
                      (#""bids""#, "[[99.5,2],[99,3.25]]"), (#""asks""#, "[[100,1.5],[100.5,4]]"), (#""iv""#, "0.5")]
        let usual = "{" + fields.map { "\($0.0):\($0.1)" }.joined(separator: ",") + "}"
        let reference = try #require(Array(usual.utf8).withUnsafeBytes { Quote.decodeCompact($0) })
        var r = Random(state: 17)
        for _ in 0..<2_000 {
            var shuffled = fields
            for k in shuffled.indices.reversed() { shuffled.swapAt(k, r.below(k + 1)) }
            let sep = [" ", "", "\n"][r.below(3)]
            let text = "{" + shuffled.map { "\($0.0)\(sep):\(sep)\($0.1)" }.joined(separator: sep + "," + sep) + "}"
            let quote = try #require(Array(text.utf8).withUnsafeBytes { Quote.decodeCompact($0) }, "\(text)")
            #expect(quote.instrument == reference.instrument && quote.ts == reference.ts && quote.bid == reference.bid
                    && quote.bidSize == reference.bidSize && quote.ask == reference.ask
                    && quote.askSize == reference.askSize && quote.iv == reference.iv && quote.bids == reference.bids
                    && quote.asks == reference.asks, "\(text)")
        }
        // A key twice is not the compact form, in the usual order too.
        let twice = usual.replacingOccurrences(of: #","bid":99.5"#, with: #","bid":99.5,"bid":99.5"#)
        #expect(Array(twice.utf8).withUnsafeBytes { Quote.decodeCompact($0) } == nil)
    }

    @Test func takesTheGeneratedShape() throws {
        let line = #"{"instrument":"BTC-PERP","ts":1764000000000000,"bid":63998,"bid_size":2.413,"ask":64002.5,"#
            + #""ask_size":0.643,"bids":[[63998,2.413],[63996,2.427]],"asks":[[64002.5,0.643],[64005,2.311]],"iv":0.4807}"#
        let bytes = Array(line.utf8)
        let compact = try #require(bytes.withUnsafeBytes { Quote.decodeCompact($0) })
        let general = try bytes.withUnsafeBytes { buffer throws(DecodeError) in try Quote.decodeGeneral(buffer) }
        #expect(Self.same(compact, general))
        #expect(compact.levelsText != nil)
    }

    /// Equal, doubles compared by bits (so -0 and 0 differ) and the levels' text too.
    static func same(_ a: Quote, _ b: Quote) -> Bool {
        let levels = { (x: [BookLevel], y: [BookLevel]) in
            x.count == y.count && zip(x, y).allSatisfy { $0.price.bitPattern == $1.price.bitPattern && $0.size.bitPattern == $1.size.bitPattern }
        }
        return a.instrument == b.instrument && a.ts == b.ts && a.bid.bitPattern == b.bid.bitPattern
            && a.bidSize.bitPattern == b.bidSize.bitPattern && a.ask.bitPattern == b.ask.bitPattern
            && a.askSize.bitPattern == b.askSize.bitPattern && a.iv?.bitPattern == b.iv?.bitPattern
            && levels(a.bids, b.bids) && levels(a.asks, b.asks)
            && a.levelsText?.bids == b.levelsText?.bids && a.levelsText?.asks == b.levelsText?.asks
    }
}
