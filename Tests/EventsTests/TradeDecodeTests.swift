import Events
import Testing

@Suite("Trade.decode")
struct TradeDecodeTests {
    @Test func decodesTheSpecExample() throws {
        let t = try decoding(specTrade.bytes, with: Trade.decode).get()
        #expect(
            t
                == Trade(
                    instrument: "BTC-PERP",
                    ts: 1_764_000_000_100_000,
                    id: "T-991",
                    price: 64001.0,
                    size: 0.5,
                    side: .buy,
                    buyer: "acct-17",
                    seller: "acct-4",
                    fee: 0.0002
                )
        )
    }

    @Test func optionalFieldsMayBeAbsentOrNull() throws {
        let t = try decoding(minimalTrade.bytes, with: Trade.decode).get()
        #expect(t.side == .sell)
        #expect(t.buyer == nil && t.seller == nil && t.fee == nil)
        let nulls = minimalTrade.setting("buyer", "null").setting("seller", "null").setting("fee", "null")
        let n = try decoding(nulls.bytes, with: Trade.decode).get()
        #expect(n.buyer == nil && n.seller == nil && n.fee == nil)
        // One named side only.
        let buyerOnly = try decoding(minimalTrade.setting("buyer", "\"acct-1\"").bytes, with: Trade.decode).get()
        #expect(buyerOnly.buyer == "acct-1" && buyerOnly.seller == nil)
    }

    @Test func negativeFeeIsARebate() throws {
        #expect(try decoding(specTrade.setting("fee", "-0.0001").bytes, with: Trade.decode).get().fee == -0.0001)
        #expect(try decoding(specTrade.setting("fee", "0").bytes, with: Trade.decode).get().fee == 0)
    }

    @Test(arguments: unknownFieldValues)
    func unknownFieldsAreIgnored(value: String) throws {
        let base = try decoding(specTrade.bytes, with: Trade.decode).get()
        var front = specTrade
        front.fields.insert((key: "match_id", raw: value), at: 0)
        for fields in [front, specTrade.setting("liquidity", value)] {
            #expect(try decoding(fields.bytes, with: Trade.decode).get() == base, "\(fields)")
        }
    }

    @Test(arguments: ["instrument", "ts", "id", "price", "size", "side"])
    func missingRequiredFieldIsMissingField(field: String) {
        #expect(decoding(specTrade.removing(field).bytes, with: Trade.decode).reason == .missingField)
    }

    @Test(arguments: ["\"hold\"", "\"BUY\"", "\"Sell\"", "\"\"", "\"b\"", "\"bid\"", "\"ask\""])
    func unknownSideIsInvalidValue(raw: String) {
        #expect(decoding(specTrade.setting("side", raw).bytes, with: Trade.decode).reason == .invalidValue)
    }

    @Test(arguments: [
        ("side", "1"), ("side", "true"), ("side", "null"), ("id", "991"), ("instrument", "[]"), ("ts", "\"now\""),
        ("ts", "1764000000100000.5"), ("price", "\"64001\""), ("size", "[0.5]"), ("buyer", "17"), ("seller", "{}"),
        ("fee", "\"0.0002\""), ("price", "null"),
    ])
    func wrongTypesAreWrongType(field: String, raw: String) {
        let r = decoding(specTrade.setting(field, raw).bytes, with: Trade.decode)
        #expect(r.reason == .wrongType, "\(field)=\(raw): \(r)")
    }

    @Test(arguments: ["price", "size"], ["0", "-0", "-64001", "-1e-12"])
    func nonPositivePriceOrSizeIsNonPositive(field: String, raw: String) {
        #expect(decoding(specTrade.setting(field, raw).bytes, with: Trade.decode).reason == .nonPositive)
    }

    @Test(arguments: ["price", "size", "fee"], ["NaN", "Infinity", "-Infinity", "1e999"])
    func nonFiniteIsNonFinite(field: String, raw: String) {
        #expect(decoding(specTrade.setting(field, raw).bytes, with: Trade.decode).reason == .nonFinite)
    }

    @Test(arguments: ["", "[]", "\"T-1\"", "{\"id\":\"T-1\"", "{\"id\":\"T-1\"} {}", "\u{FF}"])
    func malformedIsDecodeError(json: String) {
        #expect(decoding(json, with: Trade.decode).reason == .decodeError)
    }

    @Test func everyTruncationIsDecodeError() {
        expectTruncationsAreDecodeErrors(specTrade, with: Trade.decode)
    }
}
