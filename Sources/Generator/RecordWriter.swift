/// A fixed block of bytes, allocated once per generator, that each record is written into before it becomes a
/// `String`.
///
/// Copies of a generator share it; that is harmless because every record is written and turned into a `String`
/// within one synchronous call, and generators are not `Sendable`.
final class ByteScratch {
    /// The first byte; owned by this object and freed in `deinit`.
    let base: UnsafeMutablePointer<UInt8>
    /// The number of bytes at `base`.
    let capacity: Int

    /// Allocates `capacity` bytes.
    init(capacity: Int) {
        self.capacity = capacity
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    deinit { base.deallocate() }
}

/// Writes compact JSON tokens into a `ByteScratch`, without Foundation and without intermediate allocations.
///
/// Numbers are written exactly: prices and sizes are integer counts of ticks or lots printed as fixed-point
/// decimals with trailing zeros removed (`64000.5`, `0.125`, `64000`), so no binary rounding ever shows.
/// Each call checks capacity once; every record the generator writes is far below the scratch size.
struct RecordWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// The number of bytes written so far.
    private(set) var count = 0

    /// Starts writing at the beginning of `scratch`.
    init(_ scratch: ByteScratch) {
        base = scratch.base
        capacity = scratch.capacity
    }

    /// The bytes written so far, as a `String`.
    func makeString() -> String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    /// Appends one ASCII byte.
    @inline(__always)
    mutating func byte(_ value: UInt8) {
        reserve(1)
        base[count] = value
        count += 1
    }

    /// Appends literal JSON text such as `{"instrument":"`.
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        reserve(length)
        (base + count).update(from: text.utf8Start, count: length)
        count += length
    }

    /// Appends `text` verbatim; callers pass only symbols and ids built by the generator, which need no escaping.
    @inline(__always)
    mutating func text(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            reserve(bytes.count)
            if let source = bytes.baseAddress { (base + count).update(from: source, count: bytes.count) }
            count += bytes.count
        }
    }

    /// Appends `"text"`.
    @inline(__always)
    mutating func quoted(_ value: String) {
        byte(UInt8(ascii: "\""))
        text(value)
        byte(UInt8(ascii: "\""))
    }

    /// Appends a decimal integer.
    @inline(__always)
    mutating func integer(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        unsigned(value.magnitude)
    }

    /// Appends `units / 10^decimals` as the shortest exact decimal (`fixed(640005, decimals: 1)` is `64000.5`).
    mutating func fixed(_ units: Int64, decimals: Int) {
        if units < 0 { byte(UInt8(ascii: "-")) }
        var magnitude = units.magnitude
        var places = decimals
        while places > 0, magnitude % 10 == 0 {
            magnitude /= 10
            places -= 1
        }
        guard places > 0 else {
            unsigned(magnitude)
            return
        }
        let scale = Self.powerOfTen(places)
        unsigned(magnitude / scale)
        byte(UInt8(ascii: "."))
        padded(magnitude % scale, width: places)
    }

    /// Appends `value` rounded to `decimals` places (non-finite values and magnitudes beyond 1e12 are clamped, so
    /// the output is always a valid JSON number).
    mutating func decimal(_ value: Double, decimals: Int) {
        let clamped = value.isFinite ? min(max(value, -1e12), 1e12) : 0
        let scaled = (clamped * Double(Self.powerOfTen(decimals))).rounded()
        fixed(Int64(scaled), decimals: decimals)
    }

    /// Appends an unsigned decimal integer, written back to front after counting its digits.
    @inline(__always)
    private mutating func unsigned(_ value: UInt64) {
        var digits = 1
        var threshold: UInt64 = 10
        while digits < 20, value >= threshold {
            digits += 1
            threshold &*= 10
        }
        reserve(digits)
        var remaining = value
        var index = count + digits - 1
        while remaining >= 10 {
            base[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ 48
            remaining /= 10
            index -= 1
        }
        base[index] = UInt8(truncatingIfNeeded: remaining) &+ 48
        count += digits
    }

    /// Appends `value` with leading zeros to exactly `width` digits (`value < 10^width`).
    @inline(__always)
    private mutating func padded(_ value: UInt64, width: Int) {
        reserve(width)
        var remaining = value
        var index = count + width - 1
        while index >= count {
            base[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ 48
            remaining /= 10
            index -= 1
        }
        count += width
    }

    @inline(__always)
    private func reserve(_ bytes: Int) {
        precondition(count + bytes <= capacity, "generated record exceeds the scratch buffer")
    }

    /// 10^`exponent` for 0 ≤ `exponent` ≤ 18.
    @inline(__always)
    static func powerOfTen(_ exponent: Int) -> UInt64 {
        var result: UInt64 = 1
        for _ in 0..<exponent { result &*= 10 }
        return result
    }
}
