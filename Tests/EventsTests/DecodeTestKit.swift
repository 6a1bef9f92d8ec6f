import Events
import Testing

/// Runs `decode` over `bytes`, capturing the typed error so tests can look at its reason.
func decoding<T>(
    _ bytes: [UInt8],
    with decode: (UnsafeRawBufferPointer) throws(DecodeError) -> T
) -> Result<T, DecodeError> {
    bytes.withUnsafeBytes { buffer in
        Result(catching: { () throws(DecodeError) -> T in try decode(buffer) })
    }
}

func decoding<T>(
    _ json: String,
    with decode: (UnsafeRawBufferPointer) throws(DecodeError) -> T
) -> Result<T, DecodeError> {
    decoding(Array(json.utf8), with: decode)
}

extension Result where Failure == DecodeError {
    /// The reject reason, nil when decoding succeeded.
    var reason: RejectReason? {
        if case .failure(let error) = self { return error.reason }
        return nil
    }

    var value: Success? { try? get() }
}

/// A JSON object kept as ordered `(key, raw JSON value)` pairs, so a test can drop or replace one field.
struct JSONFields: Sendable, CustomStringConvertible {
    var fields: [(key: String, raw: String)]

    init(_ fields: [(String, String)]) { self.fields = fields.map { (key: $0.0, raw: $0.1) } }

    func removing(_ key: String) -> JSONFields {
        var copy = self
        copy.fields.removeAll { $0.key == key }
        return copy
    }

    /// Replaces the value of `key`, or appends the field when absent.
    func setting(_ key: String, _ raw: String) -> JSONFields {
        var copy = self
        if let i = copy.fields.firstIndex(where: { $0.key == key }) {
            copy.fields[i].raw = raw
        } else {
            copy.fields.append((key: key, raw: raw))
        }
        return copy
    }

    var json: String { "{" + fields.map { "\"\($0.key)\":\($0.raw)" }.joined(separator: ",") + "}" }
    var bytes: [UInt8] { Array(json.utf8) }
    var description: String { json }
}

/// SPEC §2 quote example, field by field.
let specQuote = JSONFields([
    ("instrument", "\"BTC-PERP\""), ("ts", "1764000000000000"), ("bid", "64000.5"), ("bid_size", "2.1"),
    ("ask", "64001.0"), ("ask_size", "1.7"), ("bids", "[[64000.5,2.1],[64000.0,5.0]]"),
    ("asks", "[[64001.0,1.7],[64002.0,3.3]]"), ("iv", "0.55"),
])

/// The SPEC quote without optional fields.
let minimalQuote = JSONFields([
    ("instrument", "\"BTC-PERP\""), ("ts", "1764000000000000"), ("bid", "64000.5"), ("bid_size", "2.1"),
    ("ask", "64001.0"), ("ask_size", "1.7"),
])

/// SPEC §2 trade example.
let specTrade = JSONFields([
    ("instrument", "\"BTC-PERP\""), ("ts", "1764000000100000"), ("id", "\"T-991\""), ("price", "64001.0"),
    ("size", "0.5"), ("side", "\"buy\""), ("buyer", "\"acct-17\""), ("seller", "\"acct-4\""), ("fee", "0.0002"),
])

let minimalTrade = JSONFields([
    ("instrument", "\"BTC-PERP\""), ("ts", "1764000000100000"), ("id", "\"T-991\""), ("price", "64001.0"),
    ("size", "0.5"), ("side", "\"sell\""),
])

/// SPEC §2 instrument examples.
let specPerpetual = JSONFields([
    ("symbol", "\"BTC-PERP\""), ("kind", "\"perpetual\""), ("underlying", "\"BTC\""), ("reference", "\"BTC-PERP\""),
    ("multiplier", "1"), ("tick_size", "0.5"),
    ("tiers", "[{\"cap\":50000,\"imr\":0.008,\"mmr\":0.004},{\"cap\":250000,\"imr\":0.01,\"mmr\":0.005}]"),
])

let specOption = JSONFields([
    ("symbol", "\"BTC-27DEC26-70000-C\""), ("kind", "\"option\""), ("underlying", "\"BTC\""),
    ("reference", "\"BTC-PERP\""), ("multiplier", "1"), ("expiry", "1798358400000000"), ("strike", "70000"),
    ("option_type", "\"call\""),
])

/// SPEC §2 account example.
let specDeposit = JSONFields([
    ("account", "\"acct-17\""), ("ts", "1764000000000000"), ("id", "\"D-1\""), ("type", "\"deposit\""),
    ("asset", "\"USD\""), ("amount", "25000"),
])

let specPosition = JSONFields([
    ("account", "\"acct-17\""), ("ts", "1764000000000000"), ("id", "\"P-1\""), ("type", "\"position\""),
    ("instrument", "\"BTC-PERP\""), ("size", "-3"), ("entry_price", "64000"),
])

/// Unknown fields of every JSON shape, for forward-compatibility tests.
let unknownFieldValues: [String] = [
    "\"v2\"", "42", "-1.5e-3", "true", "false", "null", "[]", "{}", "[[1,2],[3,{\"a\":null}],\"x\"]",
    "{\"nested\":{\"deeper\":[{\"k\":\"\\u00e9\\\"\"}],\"n\":1e300},\"flag\":false}",
    "\"bids\"", "{\"bid\":-1,\"ts\":\"no\"}",
]

/// Tiny deterministic generator (SplitMix64) so property tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// SPEC §8 / `RejectReason.decodeError` ("not JSON"): every proper prefix of a message (a message cut short) is
/// decode_error, never wrong_type or anything else.
func expectTruncationsAreDecodeErrors<T>(
    _ fields: JSONFields,
    with decode: (UnsafeRawBufferPointer) throws(DecodeError) -> T,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let bytes = fields.bytes
    var wrong: [String] = []
    for n in 0..<bytes.count {
        let outcome = decoding(Array(bytes.prefix(n)), with: decode)
        if outcome.reason != .decodeError {
            wrong.append("\(String(decoding: bytes.prefix(n), as: UTF8.self)) -> \(outcome)")
        }
    }
    #expect(
        wrong.isEmpty,
        "\(wrong.count) truncations not rejected as decode_error: \(wrong.prefix(6))",
        sourceLocation: sourceLocation
    )
}
