/// Builds one compact JSON object into bytes, fields in call order (so output is byte-for-byte deterministic).
///
/// Doubles are written in the shortest form that reads back to the same value; non-finite values become `null`.
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public var bytes: [UInt8] { storage.count == length ? storage : Array(storage[..<length]) }
    /// Written bytes, then zeros up to the storage's count: bytes are written through a pointer into room made
    /// beforehand, where appending to an array takes a capacity and uniqueness check and a copy loop every time.
    @usableFromInline var storage: [UInt8]
    @usableFromInline var length = 0
    /// Open objects and arrays; when the outermost closes, the storage is cut to the bytes written, so that
    /// ``bytes`` hands it over without a copy.
    @usableFromInline var depth = 0
    @usableFromInline var needsComma = false

    public init(capacity: Int = 256) { storage = Self.zeroed(max(capacity, 16)) }

    /// `count` zero bytes, copied from a page of zeros: the copying initializer is specialized for bytes and
    /// allocates directly, where `Array(repeating:count:)` (and `Array(unsafeUninitializedCapacity:)`) call the
    /// standard library's generic allocator, whose run-time type lookup costs more than the allocation.
    @usableFromInline static func zeroed(_ count: Int) -> [UInt8] {
        guard count <= zeroPage.count else { return Array(repeating: 0, count: count) }
        return zeroPage.withUnsafeBytes { Array(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    // The small writers are inlinable, so that the records' encoders in other modules build their keys in place.
    @inlinable public mutating func beginObject() { separator(); put(UInt8(ascii: "{")); needsComma = false; depth += 1 }
    @inlinable public mutating func endObject() { put(UInt8(ascii: "}")); needsComma = true; closed() }
    @inlinable public mutating func beginArray() { separator(); put(UInt8(ascii: "[")); needsComma = false; depth += 1 }
    @inlinable public mutating func endArray() { put(UInt8(ascii: "]")); needsComma = true; closed() }

    @usableFromInline mutating func closed() {
        depth -= 1
        if depth == 0 { storage.removeLast(storage.count - length) }
    }

    /// Makes room for `n` more bytes and hands `body` where they go; `body` returns how many it wrote (≤ n).
    @inlinable @inline(__always) mutating func write(upTo n: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        if storage.count - length < n { grow(n) }
        let start = length
        length += storage.withUnsafeMutableBufferPointer { body($0.baseAddress! + start) }
    }

    /// ``write(upTo:_:)`` after the comma the next value needs, if any (`n`: room for `body` alone): one check for
    /// room for both.
    @inlinable @inline(__always) mutating func writeSeparated(
        upTo n: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int
    ) {
        let comma = needsComma
        write(upTo: n + 1) { b in
            guard comma else { return body(b) }
            b[0] = UInt8(ascii: ",")
            return 1 + body(b + 1)
        }
    }

    @usableFromInline mutating func grow(_ n: Int) {
        var larger = Self.zeroed(max(length + n, 2 * storage.count))
        let written = length
        larger.withUnsafeMutableBytes { to in
            storage.withUnsafeBytes { to.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: written) }
        }
        storage = larger
    }

    @inlinable @inline(__always) mutating func put(_ byte: UInt8) {
        write(upTo: 1) { $0.pointee = byte; return 1 }
    }

    @inlinable @inline(__always) mutating func put(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        write(upTo: bytes.count) { UnsafeMutableRawPointer($0).copyMemory(from: base, byteCount: bytes.count); return bytes.count }
    }

    /// Writes `"name":`; the next value call writes the value.
    @inlinable public mutating func key(_ name: StaticString) {
        let n = name.utf8CodeUnitCount
        // `,"name":` written at once: one check for room, not five.
        writeSeparated(upTo: n + 3) { b in
            b[0] = UInt8(ascii: "\"")
            (b + 1).update(from: name.utf8Start, count: n)
            b[n + 1] = UInt8(ascii: "\"")
            b[n + 2] = UInt8(ascii: ":")
            return n + 3
        }
        needsComma = false
    }

    /// Writes `"name":` for a dynamic name (escaped). Disfavored, so that a literal name takes the static version
    /// above (a string literal otherwise prefers `String`, and every key would be scanned for escapes).
    @_disfavoredOverload
    public mutating func key(_ name: String) {
        separator()
        appendEscaped(name)
        put(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes `"name":` for an integer name (an object keyed by numbers), as ``key(_:)-(String)`` writes
    /// `String(name)`.
    public mutating func key(_ name: Int) {
        writeSeparated(upTo: NumberText.integerRoom + 3) { b in
            b[0] = UInt8(ascii: "\"")
            let i = 1 + NumberText.write(Int64(name), to: b + 1)
            b[i] = UInt8(ascii: "\"")
            b[i + 1] = UInt8(ascii: ":")
            return i + 2
        }
        needsComma = false
    }

    public mutating func string(_ value: String) {
        if !appendPlain(value, "", nil) {
            separator()
            appendEscaped(value)
        }
        needsComma = true
    }

    /// Writes the string `"\(prefix)\(infix)\(number)"` (a record id such as `BTC-PERP:mark:1764000000000000`)
    /// without building it first. `infix` must hold nothing that JSON escapes.
    public mutating func string(_ prefix: String, _ infix: StaticString, _ number: Int64) {
        if !appendPlain(prefix, infix, number) {
            separator()
            appendEscaped(prefix, closing: false)
            appendLiteral(infix)
            appendInteger(number)
            put(UInt8(ascii: "\""))
        }
        needsComma = true
    }

    /// Writes the separator and `"\(text)\(infix)\(number ?? "")"` in one write when `text` holds nothing to escape
    /// (instrument symbols, ids); returns false, having written nothing, when it does.
    private mutating func appendPlain(_ text: String, _ infix: StaticString, _ number: Int64?) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            guard !Self.needsEscaping(utf8) else { return false }
            let infixCount = infix.utf8CodeUnitCount
            writeSeparated(upTo: utf8.count + infixCount + NumberText.integerRoom + 2) { b in
                b[0] = UInt8(ascii: "\"")
                var i = 1
                if let base = utf8.baseAddress { (b + i).update(from: base, count: utf8.count) }
                i += utf8.count
                (b + i).update(from: infix.utf8Start, count: infixCount)
                i += infixCount
                if let number { i += NumberText.write(number, to: b + i) }
                b[i] = UInt8(ascii: "\"")
                return i + 1
            }
            return true
        }
    }

    /// Whether `utf8` holds a byte JSON escapes (a control character, `"` or `\`), 8 bytes at a time: a word has a
    /// zero byte exactly when `(w − 0x01…01) & ~w & 0x80…80` is not zero, and a byte below 0x20 exactly when
    /// `(w − 0x20…20) & ~w & 0x80…80` is not (borrows only cross bytes above one that matches).
    static func needsEscaping(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return false }
        let ones: UInt64 = 0x0101_0101_0101_0101
        var i = 0
        while i &+ 8 <= utf8.count {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            let quote = w ^ (0x22 &* ones)
            let backslash = w ^ (0x5C &* ones)
            let found = (quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (w &- 0x20 &* ones) & ~w
            if found & (0x80 &* ones) != 0 { return true }
            i &+= 8
        }
        while i < utf8.count {
            let byte = base[i]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return true }
            i &+= 1
        }
        return false
    }

    /// Writes `value` in the records' number form (``NumberText``); non-finite values become `null`.
    public mutating func number(_ value: Double) {
        guard value.isFinite else { null(); return }
        // The comma and the number written at once: one check for room.
        writeSeparated(upTo: NumberText.room) { NumberText.write(value, to: $0) }
        needsComma = true
    }

    public mutating func number(_ value: Double?) {
        if let value { number(value) } else { null() }
    }

    public mutating func integer(_ value: Int64) {
        writeSeparated(upTo: NumberText.integerRoom) { NumberText.write(value, to: $0) }
        needsComma = true
    }

    /// The decimal digits of `value`, as `String(value)` has them, without building the string.
    private mutating func appendInteger(_ value: Int64) {
        write(upTo: NumberText.integerRoom) { NumberText.write(value, to: $0) }
    }

    public mutating func integer(_ value: Int) { integer(Int64(value)) }

    /// Writes an already encoded JSON value as is (the caller guarantees it is valid JSON on one line).
    public mutating func raw(_ json: some Collection<UInt8>) {
        separator()
        if json.withContiguousStorageIfAvailable({ put(UnsafeRawBufferPointer($0)) }) == nil {
            for byte in json { put(byte) }
        }
        needsComma = true
    }

    /// ``raw(_:)`` for a slice of received bytes (a mark's levels): one copy, not the generic element loop, which
    /// is all a caller in another module gets from the generic version.
    public mutating func raw(_ json: ArraySlice<UInt8>) {
        separator()
        json.withUnsafeBytes { put($0) }
        needsComma = true
    }

    /// `value` as a JSON string (quotes included, escaped as ``string(_:)`` writes it), for fragments built once.
    public static func quoted(_ value: String) -> [UInt8] {
        var w = JSONWriter(capacity: value.utf8.count + 2)
        w.beginArray()
        w.string(value)
        w.endArray()
        return Array(w.bytes.dropFirst().dropLast())
    }

    public mutating func bool(_ value: Bool) { separator(); appendLiteral(value ? "true" : "false"); needsComma = true }

    public mutating func null() { separator(); appendLiteral("null"); needsComma = true }

    private mutating func appendLiteral(_ s: StaticString) {
        put(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inlinable @inline(__always) mutating func separator() {
        if needsComma { put(UInt8(ascii: ",")) }
    }

    /// Writes `s` as a JSON string; with `closing` false, leaves it open for more text.
    private mutating func appendEscaped(_ s: String, closing: Bool = true) {
        put(UInt8(ascii: "\""))
        var text = s
        let plain = text.withUTF8 { utf8 -> Bool in
            // Fast path: nothing to escape (instrument symbols, ids): one copy.
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            put(UnsafeRawBufferPointer(utf8))
            return true
        }
        if plain {
            if closing { put(UInt8(ascii: "\"")) }
            return
        }
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): put(UInt8(ascii: "\\")); put(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): put(UInt8(ascii: "\\")); put(UInt8(ascii: "\\"))
            case 0x0A: put(UInt8(ascii: "\\")); put(UInt8(ascii: "n"))
            case 0x0D: put(UInt8(ascii: "\\")); put(UInt8(ascii: "r"))
            case 0x09: put(UInt8(ascii: "\\")); put(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                for byte in [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(c >> 4)], hex[Int(c & 0xF)]] {
                    put(byte)
                }
            default: put(c)
            }
        }
        if closing { put(UInt8(ascii: "\"")) }
    }
}

/// `x.rounded()` (half away from zero) for 0 ≤ x < 2^53, without the library call: the truncation is exact, and
/// so is the fraction `x − t`.
@inline(__always)
func roundHalfAway(_ x: Double) -> Double {
    let t = Double(Int64(x))
    return x - t >= 0.5 ? t + 1 : t
}

/// Zeros that new storage is copied from (``JSONWriter/zeroed(_:)``); larger storage is zero-filled in place.
private let zeroPage = [UInt8](repeating: 0, count: 4096)
