/// Writes one record's JSON through a pointer into room reserved for all of it beforehand (``JSONWriter/record(room:_:)``):
/// for records of a fixed shape (marks, metrics records), where ``JSONWriter``'s per-value bookkeeping — separators,
/// a check for room and for a uniquely held buffer at every value — costs more than writing the values.
///
/// The caller's literals carry the punctuation (`,"mark":`); values are written in ``JSONWriter``'s forms, so a
/// record reads the same whichever writes it. Every write checks that the reserved room holds it: a room computed
/// too small stops the process instead of writing past it.
public struct JSONCursor {
    @usableFromInline var p: UnsafeMutablePointer<UInt8>
    @usableFromInline let end: UnsafeMutablePointer<UInt8>

    @usableFromInline init(_ start: UnsafeMutablePointer<UInt8>, count: Int) {
        p = start
        end = start + count
    }

    /// Room to reserve for a ``number(_:)-(Double)``: its text (at most 24 bytes) and the words stored past it.
    @inlinable public static var numberRoom: Int { 40 }
    /// Room to reserve for an ``integer(_:)``.
    @inlinable public static var integerRoom: Int { 25 }

    @inlinable @inline(__always) mutating func reserve(_ n: Int) {
        precondition(end - p >= n, "JSONCursor: the room reserved for the record is too small")
    }

    /// Text that is JSON already (punctuation, keys), as is.
    @inlinable @inline(__always) public mutating func literal(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        reserve(n)
        UnsafeMutableRawPointer(p).copyMemory(from: text.utf8Start, byteCount: n)
        p += n
    }

    /// Bytes that are JSON already (fragments built once, levels as received), as is.
    public mutating func bytes(_ json: [UInt8]) {
        json.withUnsafeBytes { put($0) }
    }

    /// ``bytes(_:)-([UInt8])`` for a slice.
    public mutating func bytes(_ json: ArraySlice<UInt8>) {
        json.withUnsafeBytes { put($0) }
    }

    @inline(__always) mutating func put(_ json: UnsafeRawBufferPointer) {
        guard let base = json.baseAddress else { return }
        reserve(json.count)
        UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: json.count)
        p += json.count
    }

    /// `value` as ``JSONWriter/number(_:)-(Double)`` writes it; `null` when not finite.
    public mutating func number(_ value: Double) {
        guard value.isFinite else { literal("null"); return }
        reserve(NumberText.room)
        p += NumberText.write(value, to: p)
    }

    /// `value`, or `null` when nil.
    public mutating func number(_ value: Double?) {
        if let value { number(value) } else { literal("null") }
    }

    public mutating func integer(_ value: Int64) {
        reserve(NumberText.integerRoom)
        p += NumberText.write(value, to: p)
    }

    public mutating func integer(_ value: Int) { integer(Int64(value)) }

    /// `value` as a JSON string, escaped as ``JSONWriter/string(_:)`` escapes it; needs room for
    /// ``stringRoom(_:)``.
    public mutating func string(_ value: String) {
        guard openPlain(value) else {
            bytes(JSONWriter.quoted(value))
            return
        }
        literal("\"")
    }

    /// `"\(prefix)\(infix)\(number)"` (a record id) as ``JSONWriter/string(_:_:_:)`` writes it; needs room for
    /// ``stringRoom(_:)`` of the prefix, the infix and an ``integerRoom``. `infix` must hold nothing JSON escapes.
    public mutating func string(_ prefix: String, _ infix: StaticString, _ number: Int64) {
        guard openPlain(prefix) else {
            bytes(JSONWriter.quoted("\(prefix)\(infix)\(number)"))
            return
        }
        literal(infix)
        integer(number)
        literal("\"")
    }

    /// The opening quote and `text`, when `text` holds nothing JSON escapes (the string is left open for more);
    /// false, having written nothing, when it does.
    private mutating func openPlain(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 -> Bool in
            guard !JSONWriter.needsEscaping(utf8) else { return false }
            reserve(utf8.count + 1)
            p[0] = UInt8(ascii: "\"")
            if let base = utf8.baseAddress { (p + 1).update(from: base, count: utf8.count) }
            p += utf8.count + 1
            return true
        }
    }

    /// Room a ``string(_:)`` of `value` may take: every byte escaped as `\u00XX`, and the quotes.
    public static func stringRoom(_ value: String) -> Int { 6 * value.utf8.count + 2 }
}

extension JSONWriter {
    /// The JSON `body` writes through a cursor into `room` bytes, an upper bound of what it writes: written into
    /// scratch space, then copied into an array of its exact length (the room is often twice the record: kept, it
    /// would go through the allocator's path for large chunks and be held while the record waits to be sent).
    public static func record(room: Int, _ body: (inout JSONCursor) -> Void) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: room) { scratch in
            let base = scratch.baseAddress!
            var cursor = JSONCursor(base, count: room)
            body(&cursor)
            return Array(UnsafeBufferPointer(start: base, count: cursor.p - base))
        }
    }
}
