#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Instrument symbols read before, found again by their bytes: a decoder that keeps one hands every input of an
/// instrument the same `String` (its storage shared, retained) instead of building it again — for a symbol past
/// 15 bytes, an allocation and a free per input — and equal symbols then compare by their storage first.
///
/// Bounded: past ``capacity`` symbols, new ones are built as strings every time (the table is a cache; what a
/// decoder returns never depends on it).
///
/// - Complexity: O(symbol length) expected per lookup (open addressing, linear probing, at most half full).
public struct SymbolTable: Sendable {
    /// The most symbols kept (their numbers fit in `Int16`).
    public static let capacity = 4096

    /// Symbols by slot (a power of two of them, or none yet), with the hash and the number of each beside it.
    private var symbols: [String?] = []
    private var hashes: [UInt64] = []
    private var numbers: [Int16] = []
    public private(set) var count = 0
    /// Whether symbols are kept; a disabled table builds every string (``disabled``).
    private let isEnabled: Bool
    /// Mixed into every hash: chosen per table, so that no input can be crafted to collide in it.
    private let seed: UInt64

    /// An empty table.
    public init() {
        isEnabled = true
        seed = .random(in: .min ... .max)
    }

    private init(isEnabled: Bool) {
        self.isEnabled = isEnabled
        seed = 0
    }

    /// A table that keeps nothing: for a single decode without a table of its own.
    public static var disabled: SymbolTable { SymbolTable(isEnabled: false) }

    /// The symbol whose UTF-8 bytes are `bytes` (valid UTF-8, as the compact readers have checked): the string
    /// kept for them, or a new one (then kept, while there is room); and its number: 0, 1, 2, … in the order the
    /// table kept its symbols (the same for the same bytes, for as long as the table lives), -1 for one not kept.
    public mutating func symbol(_ bytes: UnsafeBufferPointer<UInt8>) -> (string: String, number: Int16) {
        guard isEnabled else { return (String(decoding: bytes, as: UTF8.self), -1) }
        let hash = Self.hash(bytes, seed: seed)
        if !symbols.isEmpty {
            let mask = symbols.count - 1
            var slot = Int(truncatingIfNeeded: hash) & mask
            while let kept = symbols[slot] {
                if hashes[slot] == hash, Self.equal(kept, bytes) { return (kept, numbers[slot]) }
                slot = (slot + 1) & mask
            }
        }
        let symbol = String(decoding: bytes, as: UTF8.self)
        guard count < Self.capacity else { return (symbol, -1) }
        if 2 * (count + 1) > symbols.count { grow() }
        let mask = symbols.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while symbols[slot] != nil { slot = (slot + 1) & mask }
        let number = Int16(count)
        symbols[slot] = symbol
        hashes[slot] = hash
        numbers[slot] = number
        count += 1
        return (symbol, number)
    }

    /// Whether `symbol`'s UTF-8 bytes are `bytes`.
    @inline(__always) private static func equal(_ symbol: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let utf8 = symbol.utf8
        guard utf8.count == bytes.count else { return false }
        return utf8.withContiguousStorageIfAvailable { kept in
            bytes.isEmpty || memcmp(kept.baseAddress!, bytes.baseAddress!, bytes.count) == 0
        } ?? utf8.elementsEqual(bytes)
    }

    /// The bytes eight at a time (the last eight overlapping the word before), each word folded in by a multiply
    /// (from the seed), then MurmurHash3's finalizer, so that every bit depends on every byte.
    @inline(__always) public static func hash(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
        var h = seed ^ UInt64(truncatingIfNeeded: bytes.count) &* 0x9E37_79B9_7F4A_7C15
        let n = bytes.count
        if let base = bytes.baseAddress, n >= 8 {
            let raw = UnsafeRawPointer(base)
            var i = 0
            while i &+ 8 < n {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01B3
                h ^= h >> 29
                i &+= 8
            }
            h = (h ^ raw.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)) &* 0x0000_0100_0000_01B3
        } else {
            for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 33)
    }

    /// Doubles the slots (64 at first) and places every kept symbol again.
    private mutating func grow() {
        let size = max(64, symbols.count * 2)
        var newSymbols = [String?](repeating: nil, count: size)
        var newHashes = [UInt64](repeating: 0, count: size)
        var newNumbers = [Int16](repeating: -1, count: size)
        for (old, symbol) in symbols.enumerated() {
            guard let symbol else { continue }
            var slot = Int(truncatingIfNeeded: hashes[old]) & (size - 1)
            while newSymbols[slot] != nil { slot = (slot + 1) & (size - 1) }
            newSymbols[slot] = symbol
            newHashes[slot] = hashes[old]
            newNumbers[slot] = numbers[old]
        }
        symbols = newSymbols
        hashes = newHashes
        numbers = newNumbers
    }
}

/// Symbols numbered 0, 1, 2, … in order of first sight: a map from symbol to a small number, for state kept in
/// arrays. Open addressing (linear probing, at most half full) with ``SymbolTable``'s hash — one pass over a
/// symbol's bytes, where `Dictionary` runs SipHash over them — and a symbol the table handed out compares equal to
/// the kept one by its storage first.
///
/// - Complexity: O(symbol length) expected per lookup and insertion.
public struct SymbolNumbers: Sendable {
    /// The symbols by number.
    public private(set) var symbols: [String] = []
    /// Numbers by slot (-1 where empty; a power of two of them, or none yet), with each symbol's hash beside it.
    private var slots: [Int32] = []
    private var hashes: [UInt64] = []
    /// Mixed into every hash: chosen per map, so that no input can be crafted to collide in it.
    private let seed: UInt64

    public init() { seed = .random(in: .min ... .max) }

    public var count: Int { symbols.count }

    /// The number of `symbol`, nil if it has none.
    @inline(__always) public func number(of symbol: String) -> Int32? {
        guard !slots.isEmpty else { return nil }
        let hash = Self.hash(symbol, seed: seed)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while case let number = slots[slot], number >= 0 {
            if hashes[slot] == hash, symbols[Int(number)] == symbol { return number }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// The number of `symbol`, given the next one if it has none.
    public mutating func insert(_ symbol: String) -> Int32 {
        if let number = number(of: symbol) { return number }
        precondition(symbols.count < Int(Int32.max), "too many symbols")
        if 2 * (symbols.count + 1) > slots.count { grow() }
        let number = Int32(symbols.count)
        symbols.append(symbol)
        place(number, hash: Self.hash(symbol, seed: seed))
        return number
    }

    private mutating func place(_ number: Int32, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = number
        hashes[slot] = hash
    }

    /// Doubles the slots (16 at first) and places every symbol again.
    private mutating func grow() {
        let size = max(16, slots.count * 2)
        slots = Array(repeating: -1, count: size)
        hashes = Array(repeating: 0, count: size)
        for (number, symbol) in symbols.enumerated() { place(Int32(number), hash: Self.hash(symbol, seed: seed)) }
    }

    @inline(__always) private static func hash(_ symbol: String, seed: UInt64) -> UInt64 {
        if let hash = symbol.utf8.withContiguousStorageIfAvailable({ SymbolTable.hash($0, seed: seed) }) { return hash }
        var copy = symbol
        return copy.withUTF8 { SymbolTable.hash($0, seed: seed) }
    }
}
