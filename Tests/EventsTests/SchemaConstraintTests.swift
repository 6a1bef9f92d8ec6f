import Events
import Testing

/// Value constraints of the published input schemas (`schemas/*.json`, SPEC §2: "the published contract") that a
/// decoder must enforce; SPEC §8 sends an out-of-range value to the DLQ. The exact reason is not pinned.
@Suite("Schema value constraints")
struct SchemaConstraintTests {
    /// `ts` is `"minimum": 0` in every input schema.
    @Test(arguments: ["-1", "-1764000000000000"])
    func negativeTimestampsAreRejected(ts: String) {
        #expect(decoding(specQuote.setting("ts", ts).bytes, with: Quote.decode).reason != nil, "quote")
        #expect(decoding(specTrade.setting("ts", ts).bytes, with: Trade.decode).reason != nil, "trade")
        #expect(decoding(specDeposit.setting("ts", ts).bytes, with: AccountEvent.decode).reason != nil, "account")
    }

    static func emptyIdentifierReason(field: String, topic: String) -> RejectReason? {
        switch topic {
        case "trade": decoding(specTrade.setting(field, "\"\"").bytes, with: Trade.decode).reason
        case "quote": decoding(specQuote.setting(field, "\"\"").bytes, with: Quote.decode).reason
        case "account": decoding(specDeposit.setting(field, "\"\"").bytes, with: AccountEvent.decode).reason
        default: decoding(specOption.setting(field, "\"\"").bytes, with: Instrument.decode).reason
        }
    }

    /// `"minLength": 1` on identifiers.
    @Test(arguments: [
        ("instrument", "trade"), ("id", "trade"), ("buyer", "trade"), ("seller", "trade"),
        ("instrument", "quote"), ("account", "account"), ("id", "account"), ("asset", "account"),
        ("symbol", "instrument"), ("underlying", "instrument"), ("reference", "instrument"),
    ])
    func emptyIdentifiersAreRejected(field: String, topic: String) {
        let reason = Self.emptyIdentifierReason(field: field, topic: topic)
        #expect(
            reason == .invalidValue || reason == .missingField,
            "\(topic).\(field) = \"\": \(String(describing: reason))"
        )
    }

    /// instruments: `expiry` is `"minimum": 0`.
    @Test func negativeExpiryIsRejected() {
        #expect(decoding(specOption.setting("expiry", "-1").bytes, with: Instrument.decode).reason != nil)
    }

    /// The schemas' own examples (SPEC §2) all pass.
    @Test func specExamplesPass() {
        #expect(decoding(specQuote.bytes, with: Quote.decode).reason == nil)
        #expect(decoding(specTrade.bytes, with: Trade.decode).reason == nil)
        #expect(decoding(specDeposit.bytes, with: AccountEvent.decode).reason == nil)
        #expect(decoding(specPerpetual.bytes, with: Instrument.decode).reason == nil)
        #expect(decoding(specOption.bytes, with: Instrument.decode).reason == nil)
    }
}
