import Events
import Foundation
import Testing

@Suite("JSONCursor")
struct JSONCursorTests {
    /// `[v1,v2,…]` written by the cursor and by the writer: the same bytes.
    static func bothWays(_ cursor: (inout JSONCursor) -> Void, _ writer: (inout JSONWriter) -> Void, room: Int) -> ([UInt8], [UInt8]) {
        let a = JSONWriter.record(room: room) { c in
            c.literal("[")
            cursor(&c)
            c.literal("]")
        }
        var w = JSONWriter()
        w.beginArray()
        writer(&w)
        w.endArray()
        return (a, w.bytes)
    }

    @Test func numbersAsTheWriterWritesThem() {
        var values: [Double?] = [0, -0.0, 1, 0.1, 64000.5, 1e-7, 1e21, -3.25e-300, .nan, .infinity, -.infinity, nil,
                                 Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude, 5e-324, 2.0e15]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Double(bitPattern: seed))
            values.append(Double(seed >> 20) / [1, 10, 100, 1e4, 1e8][Int(seed % 5)])
        }
        for chunk in stride(from: 0, to: values.count, by: 50) {
            let part = values[chunk..<min(chunk + 50, values.count)]
            let (a, b) = Self.bothWays({ c in
                for (k, v) in part.enumerated() { if k > 0 { c.literal(",") }; c.number(v) }
            }, { w in
                for v in part { w.number(v) }
            }, room: part.count * (JSONCursor.numberRoom + 1))
            #expect(a == b, "\(Array(part))")
        }
    }

    @Test func integersAndStringsAsTheWriterWritesThem() {
        let integers: [Int64] = [0, 1, -1, 9, 10, 99_999_999, 100_000_000, 1_764_000_000_000_000, .max, .min]
        let strings = ["BTC-PERP", "", "quo\"te", "back\\slash", "tab\there", "é€😀", "\u{01}", String(repeating: "x", count: 100)]
        let (a, b) = Self.bothWays({ c in
            for (k, v) in integers.enumerated() { if k > 0 { c.literal(",") }; c.integer(v) }
            for s in strings {
                c.literal(",")
                c.string(s)
                c.literal(",")
                c.string(s, ":mark:", 1_764_000_000_000_000)
            }
        }, { w in
            for v in integers { w.integer(v) }
            for s in strings {
                w.string(s)
                w.string(s, ":mark:", 1_764_000_000_000_000)
            }
        }, room: integers.count * (JSONCursor.integerRoom + 1)
            + strings.reduce(0) { $0 + 2 * JSONCursor.stringRoom($1) + JSONCursor.integerRoom + 16 })
        #expect(a == b)
        #expect(foundationParse(a) != nil)
    }

    @Test func theRecordIsCutToWhatWasWritten() {
        let bytes = JSONWriter.record(room: 4096) { c in
            c.literal(#"{"a":"#)
            c.number(1.5)
            c.literal("}")
        }
        #expect(bytes == Array(#"{"a":1.5}"#.utf8))
    }
}
