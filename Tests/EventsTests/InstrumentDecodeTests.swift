import Events
import Testing

@Suite("Instrument.decode")
struct InstrumentDecodeTests {
    @Test func decodesTheSpecPerpetual() throws {
        let i = try decoding(specPerpetual.bytes, with: Instrument.decode).get()
        #expect(i.symbol == "BTC-PERP" && i.kind == .perpetual && i.underlying == "BTC" && i.reference == "BTC-PERP")
        #expect(i.multiplier == 1 && i.tickSize == 0.5)
        #expect(
            i.tiers == [MarginTier(cap: 50000, imr: 0.008, mmr: 0.004), MarginTier(cap: 250000, imr: 0.01, mmr: 0.005)]
        )
        #expect(i.expiry == nil && i.strike == nil && i.optionType == nil)
    }

    @Test func decodesTheSpecOption() throws {
        let i = try decoding(specOption.bytes, with: Instrument.decode).get()
        #expect(i.symbol == "BTC-27DEC26-70000-C" && i.kind == .option && i.reference == "BTC-PERP")
        #expect(i.expiry == 1_798_358_400_000_000 && i.strike == 70000 && i.optionType == .call)
        #expect(i.tiers == nil)
        let put = try decoding(specOption.setting("option_type", "\"put\"").bytes, with: Instrument.decode).get()
        #expect(put.optionType == .put)
    }

    @Test func futureAndDefaults() throws {
        let json = JSONFields([
            ("symbol", "\"ETH-27DEC26\""), ("kind", "\"future\""), ("underlying", "\"ETH\""),
            ("expiry", "1798358400000000"),
        ])
        let i = try decoding(json.bytes, with: Instrument.decode).get()
        #expect(i.kind == .future && i.expiry == 1_798_358_400_000_000)
        // schemas/instruments.json: multiplier defaults to 1; absent tiers use the configured default.
        #expect(i.multiplier == 1 && i.tiers == nil)
        let scaled = try decoding(json.setting("multiplier", "0.01").bytes, with: Instrument.decode).get()
        #expect(scaled.multiplier == 0.01)
    }

    @Test(arguments: unknownFieldValues)
    func unknownFieldsAreIgnored(value: String) throws {
        let base = try decoding(specPerpetual.bytes, with: Instrument.decode).get()
        #expect(try decoding(specPerpetual.setting("listing", value).bytes, with: Instrument.decode).get() == base)
        // Unknown keys inside a tier too.
        let tiers =
            "[{\"cap\":50000,\"imr\":0.008,\"mmr\":0.004,\"note\":\(value)},"
            + "{\"cap\":250000,\"imr\":0.01,\"mmr\":0.005}]"
        #expect(try decoding(specPerpetual.setting("tiers", tiers).bytes, with: Instrument.decode).get() == base)
    }

    @Test(arguments: ["symbol", "kind"])
    func missingRequiredFieldIsMissingField(field: String) {
        #expect(decoding(specPerpetual.removing(field).bytes, with: Instrument.decode).reason == .missingField)
    }

    @Test(arguments: ["strike", "expiry", "option_type"])
    func optionMissingItsTermsIsMissingField(field: String) {
        #expect(decoding(specOption.removing(field).bytes, with: Instrument.decode).reason == .missingField)
    }

    /// schemas/instruments.json: an option requires `underlying` and `reference` (its F); a non-option requires
    /// only `symbol` and `kind`.
    @Test func optionMissingUnderlyingOrReferenceIsMissingField() {
        #expect(decoding(specOption.removing("underlying").bytes, with: Instrument.decode).reason == .missingField)
        #expect(decoding(specOption.removing("reference").bytes, with: Instrument.decode).reason == .missingField)
    }

    @Test func perpetualWithoutUnderlyingDecodes() {
        let r = decoding(specPerpetual.removing("underlying").bytes, with: Instrument.decode)
        #expect(r.reason == nil, "\(r)")
    }

    @Test(arguments: [
        ("kind", "\"swap\""), ("kind", "\"Perpetual\""), ("kind", "\"\""), ("option_type", "\"straddle\""),
    ])
    func unknownEnumValuesAreInvalidValue(field: String, raw: String) {
        let base = field == "option_type" ? specOption : specPerpetual
        #expect(decoding(base.setting(field, raw).bytes, with: Instrument.decode).reason == .invalidValue)
    }

    @Test(arguments: [
        ("multiplier", "0"), ("multiplier", "-1"), ("tick_size", "0"), ("tick_size", "-0.5"),
        ("tiers", "[{\"cap\":50000,\"imr\":0,\"mmr\":0.004}]"), ("tiers", "[{\"cap\":0,\"imr\":0.01,\"mmr\":0.004}]"),
        ("tiers", "[{\"cap\":50000,\"imr\":0.01,\"mmr\":-0.004}]"),
    ])
    func nonPositiveIsNonPositive(field: String, raw: String) {
        #expect(decoding(specPerpetual.setting(field, raw).bytes, with: Instrument.decode).reason == .nonPositive)
    }

    @Test(arguments: ["0", "-70000"])
    func nonPositiveStrikeIsNonPositive(raw: String) {
        #expect(decoding(specOption.setting("strike", raw).bytes, with: Instrument.decode).reason == .nonPositive)
    }

    @Test(arguments: [
        ("multiplier", "NaN"), ("tick_size", "Infinity"), ("tiers", "[{\"cap\":1e999,\"imr\":0.01,\"mmr\":0.005}]"),
    ])
    func nonFiniteIsNonFinite(field: String, raw: String) {
        #expect(decoding(specPerpetual.setting(field, raw).bytes, with: Instrument.decode).reason == .nonFinite)
    }

    @Test func tiersOutOfCapOrderAreRejected() {
        let unordered = "[{\"cap\":250000,\"imr\":0.01,\"mmr\":0.005},{\"cap\":50000,\"imr\":0.008,\"mmr\":0.004}]"
        let r = decoding(specPerpetual.setting("tiers", unordered).bytes, with: Instrument.decode)
        #expect(r.reason == .levelsOutOfOrder || r.reason == .invalidValue, "\(r)")
    }

    @Test(arguments: ["[]", "[{\"cap\":50000,\"imr\":0.008}]", "[{\"imr\":0.008,\"mmr\":0.004}]"])
    func incompleteTiersAreRejected(raw: String) {
        let r = decoding(specPerpetual.setting("tiers", raw).bytes, with: Instrument.decode)
        #expect(r.reason == .missingField || r.reason == .invalidValue, "\(raw): \(r)")
    }

    @Test(arguments: [
        ("symbol", "1"), ("kind", "2"), ("multiplier", "\"1\""), ("tiers", "{}"), ("tiers", "[1]"),
        ("tiers", "[{\"cap\":\"50000\",\"imr\":0.008,\"mmr\":0.004}]"), ("tick_size", "true"),
    ])
    func wrongTypesAreWrongType(field: String, raw: String) {
        let r = decoding(specPerpetual.setting(field, raw).bytes, with: Instrument.decode)
        #expect(r.reason == .wrongType, "\(field)=\(raw): \(r)")
    }

    @Test(arguments: [("expiry", "\"2026-12-27\""), ("expiry", "1.7983584e15"), ("strike", "\"70000\"")])
    func optionWrongTypesAreWrongType(field: String, raw: String) {
        #expect(decoding(specOption.setting(field, raw).bytes, with: Instrument.decode).reason == .wrongType)
    }

    @Test func everyTruncationIsDecodeError() {
        expectTruncationsAreDecodeErrors(specPerpetual, with: Instrument.decode)
        expectTruncationsAreDecodeErrors(specOption, with: Instrument.decode)
    }

    @Test(arguments: [
        "", "null", "[]", "{\"symbol\":\"BTC-PERP\"", "{\"symbol\":\"BTC-PERP\",\"kind\":\"perpetual\"}x",
    ])
    func malformedIsDecodeError(json: String) {
        #expect(decoding(json, with: Instrument.decode).reason == .decodeError)
    }
}
