/// A forward-only, allocation-light JSON reader over bytes, for the hot input path.
///
/// It reads one value at a time in place; object keys are byte views compared without building strings.
/// Accepts RFC 8259 JSON, plus the tokens `NaN`, `Infinity` and `-Infinity` (which some encoders emit) so that
/// such values are rejected as non-finite rather than as undecodable.
public struct JSONReader {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The kinds of JSON value.
    public enum Kind: Equatable, Sendable { case object, array, string, number, bool, null }

    @inline(__always) var atEnd: Bool { position >= bytes.count }
    @inline(__always) func byte(at i: Int) -> UInt8 { bytes[i] }

    @inline(__always) mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    func error(_ message: String) -> DecodeError { DecodeError(.decodeError, "\(message) at byte \(position)") }

    /// The kind of the next value, after whitespace.
    public mutating func peekKind() throws(DecodeError) -> Kind {
        skipWhitespace()
        guard !atEnd else { throw error("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "N"), UInt8(ascii: "I"): return .number
        default: throw error("unexpected character")
        }
    }

    /// The error for a value that is not what a field expects: `wrong_type` when the input holds a well-formed
    /// value of another type there, `decode_error` when it holds no value at all (truncated or malformed JSON).
    func mismatch(_ expected: String) -> DecodeError {
        var probe = self
        probe.skipWhitespace()
        guard !probe.atEnd else { return error("unexpected end of input") }
        let isValue: Bool
        switch probe.bytes[probe.position] {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""):
            isValue = (try? probe.skipValue()) != nil
        case UInt8(ascii: "t"): isValue = probe.matchLiteral("true")
        case UInt8(ascii: "f"): isValue = probe.matchLiteral("false")
        case UInt8(ascii: "n"): isValue = probe.matchLiteral("null")
        case UInt8(ascii: "0")...UInt8(ascii: "9"): isValue = (try? probe.readDouble()) != nil
        case UInt8(ascii: "-"):
            // Only a digit may follow a minus sign here (this also keeps readDouble from recursing back).
            let next = probe.position + 1
            isValue = next < probe.bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(probe.bytes[next])
                && (try? probe.readDouble()) != nil
        default: isValue = false
        }
        return isValue ? DecodeError(.wrongType, "expected \(expected)") : error("invalid JSON")
    }

    /// Checks that nothing but whitespace follows the value read.
    public mutating func expectEnd() throws(DecodeError) {
        skipWhitespace()
        guard atEnd else { throw error("trailing characters") }
    }

    @inline(__always) mutating func expect(_ c: UInt8, _ what: String) throws(DecodeError) {
        skipWhitespace()
        guard !atEnd, bytes[position] == c else { throw error("expected \(what)") }
        position += 1
    }

    /// Consumes `null` if it is next.
    public mutating func readNullIfPresent() -> Bool {
        skipWhitespace()
        guard matchLiteral("null") else { return false }
        return true
    }

    /// Whether the next bytes are `literal` (no whitespace skipped); if so, moves past them.
    public mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard position + n <= bytes.count, let base = bytes.baseAddress else { return false }
        // Within the bytes (checked above): read without a bounds check per byte.
        let p = literal.utf8Start, q = base + position
        for i in 0..<n where q.load(fromByteOffset: i, as: UInt8.self) != p[i] { return false }
        position += n
        return true
    }

    /// Reads an object, calling `field` with each key; `field` must consume the value (or call ``skipValue()``).
    public mutating func readObject(
        _ field: (inout JSONReader, JSONKey) throws(DecodeError) -> Void
    ) throws(DecodeError) {
        try expect(UInt8(ascii: "{"), "'{'")
        skipWhitespace()
        if !atEnd, bytes[position] == UInt8(ascii: "}") { position += 1; return }
        while true {
            let key = try readKey()
            try expect(UInt8(ascii: ":"), "':'")
            try field(&self, key)
            skipWhitespace()
            guard !atEnd else { throw error("unterminated object") }
            let c = bytes[position]
            position += 1
            if c == UInt8(ascii: "}") { return }
            guard c == UInt8(ascii: ",") else { position -= 1; throw error("expected ',' or '}'") }
        }
    }

    /// Reads an array, calling `element` for each element; `element` must consume it.
    public mutating func readArray(_ element: (inout JSONReader) throws(DecodeError) -> Void) throws(DecodeError) {
        try expect(UInt8(ascii: "["), "'['")
        skipWhitespace()
        if !atEnd, bytes[position] == UInt8(ascii: "]") { position += 1; return }
        while true {
            try element(&self)
            skipWhitespace()
            guard !atEnd else { throw error("unterminated array") }
            let c = bytes[position]
            position += 1
            if c == UInt8(ascii: "]") { return }
            guard c == UInt8(ascii: ",") else { position -= 1; throw error("expected ',' or ']'") }
        }
    }

    mutating func readKey() throws(DecodeError) -> JSONKey {
        skipWhitespace()
        guard !atEnd, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a key") }
        let start = position + 1
        var i = start
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let key = UnsafeRawBufferPointer(rebasing: bytes[start..<i])
                // Keys are compared as bytes; an unknown one must still be valid UTF-8.
                if !key.allSatisfy({ $0 < 0x80 }), String(validating: key, as: UTF8.self) == nil {
                    throw error("invalid UTF-8 in key")
                }
                position = i + 1
                return JSONKey(bytes: key)
            }
            if c == UInt8(ascii: "\\") {
                // Escaped keys are rare: decode, and let the key own the decoded bytes.
                let s = try readString()
                return JSONKey(decoded: s)
            }
            i += 1
        }
        throw error("unterminated key")
    }

    /// Reads a string, decoding escapes.
    public mutating func readString() throws(DecodeError) -> String {
        skipWhitespace()
        guard !atEnd, bytes[position] == UInt8(ascii: "\"") else { throw mismatch("a string") }
        position += 1
        let start = position
        var isASCII = true
        while position < bytes.count {
            let c = bytes[position]
            if c == UInt8(ascii: "\"") {
                let text = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
                // ASCII (symbols, ids) is valid UTF-8 as it is: decoding it cannot repair anything, and skips the
                // validating initializer's slower path.
                if isASCII {
                    position += 1
                    return String(decoding: text, as: UTF8.self)
                }
                guard let s = String(validating: text, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                position += 1
                return s
            }
            if c >= 0x80 { isASCII = false }
            if c == UInt8(ascii: "\\") { return try readEscapedString(from: start) }
            if c < 0x20 { throw error("control character in string") }
            position += 1
        }
        throw error("unterminated string")
    }

    private mutating func readEscapedString(from start: Int) throws(DecodeError) -> String {
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let c = bytes[position]
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return s
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw error("unterminated escape") }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard matchLiteral("\\u") else { throw error("unpaired surrogate") }
                        let low = try readHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("invalid unicode escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw error("invalid escape")
                }
            default:
                if c < 0x20 { throw error("control character in string") }
                out.append(c)
            }
        }
        throw error("unterminated string")
    }

    private mutating func readHex4() throws(DecodeError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("short unicode escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            position += 1
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid unicode escape")
            }
            v = v << 4 | d
        }
        return v
    }

    /// Reads `true` or `false`.
    public mutating func readBool() throws(DecodeError) -> Bool {
        skipWhitespace()
        if matchLiteral("true") { return true }
        if matchLiteral("false") { return false }
        throw mismatch("a boolean")
    }

    /// Skips any value.
    public mutating func skipValue() throws(DecodeError) {
        switch try peekKind() {
        case .object: try readObject { (r: inout JSONReader, _: JSONKey) throws(DecodeError) in try r.skipValue() }
        case .array: try readArray { (r: inout JSONReader) throws(DecodeError) in try r.skipValue() }
        case .string: _ = try readString()
        case .number: _ = try readDouble()
        case .null: guard readNullIfPresent() else { throw error("invalid literal") }
        case .bool where !matchLiteral("true") && !matchLiteral("false"): throw error("invalid literal")
        case .bool: break
        }
    }
}

extension JSONReader {
    /// The first string field `name` of a JSON object, read even when the rest of the object is invalid (to key
    /// or partition a line that may be rejected); nil when there is none.
    public static func stringField(_ name: StaticString, in bytes: UnsafeRawBufferPointer) -> String? {
        var reader = JSONReader(bytes)
        var found: String?
        do throws(DecodeError) {
            try reader.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
                if key == name, found == nil, let s = try? r.readString() { found = s } else { try r.skipValue() }
            }
        } catch {}
        return found
    }
}

/// An object key, compared against literals without building a `String`.
public struct JSONKey {
    let bytes: UnsafeRawBufferPointer
    let decoded: String?

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes; self.decoded = nil }
    init(decoded: String) { self.bytes = UnsafeRawBufferPointer(start: nil, count: 0); self.decoded = decoded }

    /// The key as a string (allocates; for messages and unknown keys).
    public var string: String { decoded ?? String(decoding: bytes, as: UTF8.self) }

    @inline(__always)
    public static func == (key: JSONKey, literal: StaticString) -> Bool {
        if let decoded = key.decoded { return decoded == literal.description }
        let n = literal.utf8CodeUnitCount
        guard key.bytes.count == n else { return false }
        let p = literal.utf8Start
        for i in 0..<n where key.bytes[i] != p[i] { return false }
        return true
    }
}
