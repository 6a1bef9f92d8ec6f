/// Why an input event was rejected. The raw values are the `reason` field of `backstop-dlq` records.
public enum RejectReason: String, Sendable, CaseIterable, Hashable {
    /// Not JSON, not an object, or not UTF-8.
    case decodeError = "decode_error"
    case missingField = "missing_field"
    case wrongType = "wrong_type"
    /// A price, size or other strictly positive quantity that is zero or negative.
    case nonPositive = "non_positive"
    case nonFinite = "non_finite"
    case crossedBook = "crossed_book"
    case levelsOutOfOrder = "levels_out_of_order"
    case unknownInstrument = "unknown_instrument"
    case late
    case duplicate
    /// A value outside its allowed set (an unknown `side`, `kind`, …).
    case invalidValue = "invalid_value"
    case unknownType = "unknown_type"
}

/// A rejected input: the reason (for metrics and the DLQ) and a message naming the field.
public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: RejectReason
    public var message: String

    public init(_ reason: RejectReason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
