@testable import Events
import Foundation
import Testing

/// The symbol table is a cache: whatever it keeps, a symbol read through it is the string of its bytes.
@Suite("Symbol table")
struct SymbolTableTests {
    /// Random symbols of every length up to 40 (the table hashes eight bytes at a time), many of them repeated and
    /// many sharing their first and last bytes: each lookup returns its bytes' string, kept or not.
    @Test func returnsTheStringOfTheBytes() {
        var r = QuoteCompactDecodeTests.Random(state: 5)
        var table = SymbolTable()
        let alphabet = Array("ABC-0123456789PERPCK".utf8)
        var pool: [[UInt8]] = []
        var numbers: [[UInt8]: Int16] = [:]
        for _ in 0..<20_000 {
            let bytes: [UInt8]
            if !pool.isEmpty, r.below(3) != 0 {
                bytes = pool[r.below(pool.count)]
            } else {
                // Same prefix and suffix, a different middle: words that differ only inside.
                let middle = (0..<r.below(25)).map { _ in alphabet[r.below(alphabet.count)] }
                bytes = Array("BTC-26".utf8) + middle + Array("-C".utf8)
                pool.append(Array(bytes.prefix(r.below(3) == 0 ? r.below(bytes.count + 1) : bytes.count)))
            }
            let (symbol, number) = bytes.withUnsafeBufferPointer { table.symbol($0) }
            #expect(symbol == String(decoding: bytes, as: UTF8.self))
            // Numbered in order of first sight, the same every time after; none past the capacity.
            let expected = numbers[bytes] ?? (numbers.count < SymbolTable.capacity ? Int16(numbers.count) : -1)
            #expect(number == expected)
            if number >= 0 { numbers[bytes] = number }
        }
        #expect(table.count <= SymbolTable.capacity && table.count == numbers.count)
    }

    /// Past its capacity the table keeps no more symbols, and still returns each one's string.
    @Test func staysBoundedPastItsCapacity() {
        var table = SymbolTable()
        for k in 0..<(SymbolTable.capacity + 500) {
            let bytes = Array("SYM-\(k)".utf8)
            let (symbol, number) = bytes.withUnsafeBufferPointer { table.symbol($0) }
            #expect(symbol == "SYM-\(k)")
            #expect(number == (k < SymbolTable.capacity ? Int16(k) : -1), "an unkept symbol has no number")
        }
        #expect(table.count == SymbolTable.capacity && SymbolTable.capacity <= Int(Int16.max))
        let again = Array("SYM-7".utf8).withUnsafeBufferPointer { table.symbol($0) }
        #expect(again == ("SYM-7", 7))
        let past = Array("SYM-\(SymbolTable.capacity + 3)".utf8).withUnsafeBufferPointer { table.symbol($0) }
        #expect(past.number == -1)
    }

    /// Decoding through a table gives what decoding without one gives, for quotes and trades alike.
    @Test func decodingThroughATableChangesNothing() {
        var table = SymbolTable()
        var r = QuoteCompactDecodeTests.Random(state: 99)
        let symbols = ["BTC-PERP", "SOL-PERP", "X", "BTC-26DEC25-68000-C", "BTC-26DEC26-68000-C", "ETH-28NOV25-3000-P"]
        for _ in 0..<5_000 {
            // The generated quotes' instrument, replaced by one of several symbols of several lengths.
            let symbol = symbols[r.below(symbols.count)]
            let quote = Array(String(decoding: QuoteCompactDecodeTests.quote(&r), as: UTF8.self)
                .replacingOccurrences(of: "\"BTC-PERP\"", with: "\"\(symbol)\"").utf8)
            Self.agree(quote, same: QuoteCompactDecodeTests.same, plain: { bytes throws(DecodeError) in try Quote.decode(bytes) },
                       shared: { bytes throws(DecodeError) in try Quote.decode(bytes, symbols: &table) })
            let trade = TradeCompactDecodeTests.trade(&r)
            Self.agree(trade, same: TradeCompactDecodeTests.same, plain: { bytes throws(DecodeError) in try Trade.decode(bytes) },
                       shared: { bytes throws(DecodeError) in try Trade.decode(bytes, symbols: &table) })
        }
    }

    /// Checks that `plain` and `shared` decode `input` alike: the same value, or the same error.
    static func agree<T>(_ input: [UInt8], same: (T, T) -> Bool,
                         plain: (UnsafeRawBufferPointer) throws(DecodeError) -> T,
                         shared: (UnsafeRawBufferPointer) throws(DecodeError) -> T) {
        input.withUnsafeBytes { bytes in
            switch (Result { () throws(DecodeError) -> T in try plain(bytes) }, Result { () throws(DecodeError) -> T in try shared(bytes) }) {
            case (.success(let a), .success(let b)): #expect(same(a, b))
            case (.failure(let a), .failure(let b)): #expect(a.reason == b.reason && a.message == b.message)
            default: Issue.record("decoding through a table disagrees: \(String(decoding: input, as: UTF8.self))")
            }
        }
    }
}
