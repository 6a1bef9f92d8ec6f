import Events
import Testing

@Suite("AccountEvent.decode")
struct AccountEventDecodeTests {
    static func account(_ fields: [(String, String)]) -> JSONFields {
        JSONFields([("account", "\"acct-17\""), ("ts", "1764000000000000"), ("id", "\"E-1\"")] + fields)
    }

    @Test func decodesTheSpecDeposit() throws {
        let e = try decoding(specDeposit.bytes, with: AccountEvent.decode).get()
        #expect(
            e
                == AccountEvent(
                    account: "acct-17",
                    ts: 1_764_000_000_000_000,
                    id: "D-1",
                    change: .deposit(asset: "USD", amount: 25000)
                )
        )
    }

    @Test func decodesEveryType() throws {
        let cases: [(JSONFields, AccountEvent.Change)] = [
            (
                Self.account([("type", "\"withdrawal\""), ("asset", "\"BTC\""), ("amount", "0.25")]),
                .withdrawal(asset: "BTC", amount: 0.25)
            ),
            (
                Self.account([("type", "\"adjustment\""), ("asset", "\"USD\""), ("amount", "-125.5")]),
                .adjustment(asset: "USD", amount: -125.5)
            ),
            (
                Self.account([("type", "\"adjustment\""), ("asset", "\"USD\""), ("amount", "0")]),
                .adjustment(asset: "USD", amount: 0)
            ),
            (Self.account([("type", "\"mode\""), ("mode", "\"portfolio\"")]), .mode(.portfolio)),
            (Self.account([("type", "\"mode\""), ("mode", "\"standard\"")]), .mode(.standard)),
            (specPosition.setting("id", "\"E-1\""), .position(instrument: "BTC-PERP", size: -3, entryPrice: 64000)),
            (
                Self.account([
                    ("type", "\"position\""), ("instrument", "\"BTC-PERP\""), ("size", "0"), ("entry_price", "0"),
                ]),
                .position(instrument: "BTC-PERP", size: 0, entryPrice: 0)
            ),
        ]
        for (fields, change) in cases {
            let e = try decoding(fields.bytes, with: AccountEvent.decode).get()
            #expect(e.account == "acct-17" && e.ts == 1_764_000_000_000_000 && e.id == "E-1")
            #expect(e.change == change, "\(fields)")
        }
    }

    @Test(arguments: unknownFieldValues)
    func unknownFieldsAreIgnored(value: String) throws {
        let base = try decoding(specDeposit.bytes, with: AccountEvent.decode).get()
        var front = specDeposit
        front.fields.insert((key: "memo", raw: value), at: 0)
        // Fields of other types are unknown for a deposit too.
        for fields in [
            front, specDeposit.setting("origin", value), specDeposit.setting("size", "5").setting("entry_price", "1"),
        ] {
            #expect(try decoding(fields.bytes, with: AccountEvent.decode).get() == base, "\(fields)")
        }
    }

    @Test(arguments: ["account", "ts", "type"])
    func missingRequiredFieldIsMissingField(field: String) {
        #expect(decoding(specDeposit.removing(field).bytes, with: AccountEvent.decode).reason == .missingField)
    }

    /// schemas/accounts.json requires only account, ts and type: an event without `id` is valid input.
    @Test func eventWithoutIdDecodes() {
        let r = decoding(specDeposit.removing("id").bytes, with: AccountEvent.decode)
        #expect(r.reason == nil, "\(r)")
    }

    @Test(arguments: [
        ("deposit", "asset"), ("deposit", "amount"), ("withdrawal", "asset"), ("withdrawal", "amount"),
        ("adjustment", "asset"), ("adjustment", "amount"),
    ])
    func balanceEventMissingFieldIsMissingField(type: String, field: String) {
        let fields = Self.account([("type", "\"\(type)\""), ("asset", "\"USD\""), ("amount", "10")]).removing(field)
        #expect(decoding(fields.bytes, with: AccountEvent.decode).reason == .missingField)
    }

    @Test func modeWithoutModeIsMissingField() {
        #expect(decoding(Self.account([("type", "\"mode\"")]).bytes, with: AccountEvent.decode).reason == .missingField)
    }

    @Test(arguments: ["instrument", "size"])
    func positionMissingFieldIsMissingField(field: String) {
        #expect(decoding(specPosition.removing(field).bytes, with: AccountEvent.decode).reason == .missingField)
    }

    /// schemas/accounts.json: a `position` event requires `entry_price`.
    @Test func positionWithoutEntryPriceIsMissingField() {
        #expect(decoding(specPosition.removing("entry_price").bytes, with: AccountEvent.decode).reason == .missingField)
    }

    @Test(arguments: ["\"transfer\"", "\"Deposit\"", "\"\"", "\"liquidation\""])
    func unknownTypeIsUnknownType(raw: String) {
        #expect(decoding(specDeposit.setting("type", raw).bytes, with: AccountEvent.decode).reason == .unknownType)
    }

    @Test(arguments: ["\"cross\"", "\"Portfolio\"", "\"\""])
    func unknownModeIsInvalidValue(raw: String) {
        let fields = Self.account([("type", "\"mode\""), ("mode", raw)])
        #expect(decoding(fields.bytes, with: AccountEvent.decode).reason == .invalidValue)
    }

    @Test(arguments: ["deposit", "withdrawal"], ["0", "-0", "-25000", "-1e-9"])
    func nonPositiveDepositOrWithdrawalIsNonPositive(type: String, amount: String) {
        let fields = specDeposit.setting("type", "\"\(type)\"").setting("amount", amount)
        #expect(decoding(fields.bytes, with: AccountEvent.decode).reason == .nonPositive)
    }

    @Test(arguments: ["deposit", "withdrawal", "adjustment"], ["NaN", "Infinity", "-Infinity", "1e999"])
    func nonFiniteAmountIsNonFinite(type: String, amount: String) {
        let fields = specDeposit.setting("type", "\"\(type)\"").setting("amount", amount)
        #expect(decoding(fields.bytes, with: AccountEvent.decode).reason == .nonFinite)
    }

    @Test(arguments: [("size", "NaN"), ("size", "-Infinity"), ("entry_price", "Infinity"), ("entry_price", "NaN")])
    func nonFinitePositionIsNonFinite(field: String, raw: String) {
        #expect(decoding(specPosition.setting(field, raw).bytes, with: AccountEvent.decode).reason == .nonFinite)
    }

    @Test func negativeEntryPriceIsNonPositive() {
        #expect(
            decoding(specPosition.setting("entry_price", "-64000").bytes, with: AccountEvent.decode).reason
                == .nonPositive
        )
    }

    @Test(arguments: [
        ("account", "17"), ("ts", "\"1764000000000000\""), ("ts", "1.5"), ("type", "1"), ("type", "null"),
        ("amount", "\"25000\""), ("asset", "[\"USD\"]"), ("id", "1"),
    ])
    func wrongTypesAreWrongType(field: String, raw: String) {
        let r = decoding(specDeposit.setting(field, raw).bytes, with: AccountEvent.decode)
        #expect(r.reason == .wrongType, "\(field)=\(raw): \(r)")
    }

    @Test(arguments: ["", "null", "[]", "{\"account\":\"acct-17\"", "{}{}", "\u{FF}{}"])
    func malformedIsDecodeError(json: String) {
        #expect(decoding(json, with: AccountEvent.decode).reason == .decodeError)
    }

    @Test func everyTruncationIsDecodeError() {
        expectTruncationsAreDecodeErrors(specDeposit, with: AccountEvent.decode)
        expectTruncationsAreDecodeErrors(specPosition, with: AccountEvent.decode)
    }
}
