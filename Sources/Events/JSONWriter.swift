private let decimalPowers: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8]

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

    public init(capacity: Int = 256) { storage = Array(repeating: 0, count: max(capacity, 16)) }

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

    @usableFromInline mutating func grow(_ n: Int) {
        storage.append(contentsOf: repeatElement(0, count: max(length + n, 2 * storage.count) - storage.count))
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
        let comma = needsComma
        write(upTo: n + 4) { b in
            var i = 0
            if comma { b[0] = UInt8(ascii: ","); i = 1 }
            b[i] = UInt8(ascii: "\"")
            (b + i + 1).update(from: name.utf8Start, count: n)
            i += 1 + n
            b[i] = UInt8(ascii: "\"")
            b[i + 1] = UInt8(ascii: ":")
            return i + 2
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

    public mutating func string(_ value: String) { separator(); appendEscaped(value); needsComma = true }

    /// Writes the string `"\(prefix)\(infix)\(number)"` (a record id such as `BTC-PERP:mark:1764000000000000`)
    /// without building it first. `infix` must hold nothing that JSON escapes.
    public mutating func string(_ prefix: String, _ infix: StaticString, _ number: Int64) {
        separator()
        appendEscaped(prefix, closing: false)
        appendLiteral(infix)
        appendInteger(number)
        put(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func number(_ value: Double) {
        separator()
        if !value.isFinite {
            appendLiteral("null")
        } else if !appendShortDecimal(value) {
            // Swift's shortest round-tripping form (valid JSON for finite values), written straight into the
            // buffer: `write(to:)` hands ASCII bytes to the stream without building a String.
            var sink = ByteSink(storage: storage, length: length)
            storage = []
            value.write(to: &sink)
            storage = sink.storage
            length = sink.length
        }
        needsComma = true
    }

    /// Writes `value` as `m/10^k` for the smallest k ≤ 8 that represents it exactly on reading (prices and sizes
    /// on a tick grid), without allocating. A decimal `m/10^k` reads back as the double nearest to it, which is
    /// `Double(m) / 10^k` (both operands exact, one rounding): when that equals `value`, the text round-trips.
    /// - Returns: false when no such short form exists (the caller writes the general form).
    private mutating func appendShortDecimal(_ value: Double) -> Bool {
        let magnitude = abs(value)
        guard magnitude < 1e15, magnitude >= 1e-8 || value == 0 else { return false }
        // Full-precision values (most metrics) fail every k: reject them with one product instead of nine. If some k
        // succeeds, value = fl(A/10^k) for an integer A, so value·10^8 lies within 2·10^8·ulp(value) ≤ 2 ulp(s) of
        // the integer A·10^(8−k), and s = fl(value·10^8) within 2.5 ulp(s) of it: below 2^40, within 2^-11. A
        // fractional part past 2^-8 therefore means no k succeeds.
        let s = magnitude * 1e8
        if s < 0x1p40, abs(s - roundHalfAway(s)) > 0x1p-8 { return false }
        for k in 0...8 {
            let x = magnitude * decimalPowers[k]
            // round(x) < 2^53 exactly when x < 2^53 (doubles from 2^52 on are integers).
            guard x < 9_007_199_254_740_992 else { return false }
            let scaled = roundHalfAway(x)
            guard scaled / decimalPowers[k] == magnitude else { continue }
            if value < 0 || (value == 0 && value.sign == .minus) { put(UInt8(ascii: "-")) }
            appendDigits(UInt64(scaled), decimals: k)
            return true
        }
        return false
    }

    /// `m / 10^decimals` with at least one integer digit (`decimals` ≤ 8, m < 2^53), `.0` when `decimals` is 0:
    /// written right to left into a scratch buffer, then appended at once.
    private mutating func appendDigits(_ m: UInt64, decimals: Int) {
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: ≤ 16 digits, '.', ".0"
        withUnsafeMutableBytes(of: &scratch) { b in
            let b = b
            var i = b.count
            if decimals == 0 {
                i -= 2
                b[i] = UInt8(ascii: ".")
                b[i + 1] = UInt8(ascii: "0")
            }
            var rest = m
            var count = 0
            repeat {
                if count == decimals, decimals > 0 {
                    i -= 1
                    b[i] = UInt8(ascii: ".")
                }
                i -= 1
                b[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
                count += 1
            } while rest > 0 || count <= decimals
            put(UnsafeRawBufferPointer(rebasing: b[i...]))
        }
    }

    public mutating func number(_ value: Double?) {
        if let value { number(value) } else { null() }
    }

    public mutating func integer(_ value: Int64) {
        separator()
        appendInteger(value)
        needsComma = true
    }

    /// The decimal digits of `value`, as `String(value)` has them, without building the string.
    private mutating func appendInteger(_ value: Int64) {
        if value < 0 { put(UInt8(ascii: "-")) }
        var rest = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for UInt64's 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            put(UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
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

/// Receives a number's text as bytes (`_writeASCII`), avoiding the `String` that `description` would allocate:
/// written into a writer's storage, moved in and out.
private struct ByteSink: TextOutputStream {
    var storage: [UInt8]
    var length: Int

    mutating func write(_ string: String) {
        var text = string
        text.withUTF8 { _writeASCII($0) }
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        if storage.count - length < buffer.count {
            storage.append(contentsOf: repeatElement(0, count: max(length + buffer.count, 2 * storage.count) - storage.count))
        }
        let start = length
        _ = storage.withUnsafeMutableBufferPointer { UnsafeMutableBufferPointer(rebasing: $0[start...]).update(fromContentsOf: buffer) }
        length += buffer.count
    }
}
