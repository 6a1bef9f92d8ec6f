/// A fixed block of bytes, allocated once per generator, that each record is written into before it becomes a
/// `String`.
///
/// Safety (`@unchecked Sendable`): it is copy-on-write by convention. A generator writes into it only after
/// `isKnownUniquelyReferenced` confirmed it holds the sole reference (`FeedGenerator.makeWriter()`), and a record
/// is written and turned into a `String` within one synchronous call; copies that share it never write to it.
final class ByteScratch: @unchecked Sendable {
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
    ///
    /// Written back to front through a local pointer with divisions by constants only: this is the generator's
    /// hottest function.
    mutating func fixed(_ units: Int64, decimals: Int) {
        reserve(42)
        var start = base + count
        if units < 0 {
            start.pointee = UInt8(ascii: "-")
            start += 1
        }
        var magnitude = units.magnitude
        var places = decimals
        while places > 0, magnitude % 10 == 0 {
            magnitude /= 10
            places &-= 1
        }
        let integerDigits = Swift.max(Self.digitCount(magnitude) &- places, 1)
        let length = places > 0 ? integerDigits &+ 1 &+ places : integerDigits
        var end = start + length
        if places > 0 {
            for _ in 0..<places {
                end -= 1
                end.pointee = UInt8(truncatingIfNeeded: magnitude % 10) &+ 48
                magnitude /= 10
            }
            end -= 1
            end.pointee = UInt8(ascii: ".")
        }
        Self.writeDigits(magnitude, endingAt: end)
        count = start - base + length
    }

    /// Appends `value` rounded to `decimals` places (non-finite values and magnitudes beyond 1e12 are clamped, so
    /// the output is always a valid JSON number).
    mutating func decimal(_ value: Double, decimals: Int) {
        let clamped = value.isFinite ? min(max(value, -1e12), 1e12) : 0
        let scaled = (clamped * Double(Self.powerOfTen(decimals))).rounded()
        fixed(Int64(scaled), decimals: decimals)
    }

    /// Appends an unsigned decimal integer.
    @inline(__always)
    private mutating func unsigned(_ value: UInt64) {
        let digits = Self.digitCount(value)
        reserve(digits)
        Self.writeDigits(value, endingAt: base + count + digits)
        count &+= digits
    }

    /// Writes the digits of `value` back to front, two at a time, so that the last one lands just before `end`.
    @inline(__always)
    private static func writeDigits(_ value: UInt64, endingAt end: UnsafeMutablePointer<UInt8>) {
        let pairs = digitPairs.utf8Start
        var remaining = value
        var cursor = end
        while remaining >= 100 {
            let pair = Int(truncatingIfNeeded: remaining % 100) &* 2
            remaining /= 100
            cursor -= 2
            cursor[0] = pairs[pair]
            cursor[1] = pairs[pair &+ 1]
        }
        if remaining >= 10 {
            let pair = Int(truncatingIfNeeded: remaining) &* 2
            cursor[-2] = pairs[pair]
            cursor[-1] = pairs[pair &+ 1]
        } else {
            cursor[-1] = UInt8(truncatingIfNeeded: remaining) &+ 48
        }
    }

    /// "00", "01", … "99", concatenated.
    private static let digitPairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    /// The number of decimal digits of `value` (1 for 0).
    @inline(__always)
    static func digitCount(_ value: UInt64) -> Int {
        var digits = 1
        var remaining = value
        while remaining >= 100 {
            remaining /= 100
            digits &+= 2
        }
        return remaining >= 10 ? digits &+ 1 : digits
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
