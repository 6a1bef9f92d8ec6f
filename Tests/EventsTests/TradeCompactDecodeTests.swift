@testable import Events
import Testing

/// `Trade.decode` reads the usual shape with a one-pass reader and everything else with the general one: the two
/// must agree on every input, bit for bit, errors included.
@Suite("Trade.decode compact path")
struct TradeCompactDecodeTests {
    typealias Random = QuoteCompactDecodeTests.Random

    /// Random trades, mostly well formed, some not: every key a trade has, some unknown, repeated or missing.
    static func trade(_ r: inout Random) -> [UInt8] {
        func account() -> String {
            ["\"acct-\(r.below(9))\"", "null", "\"\"", "\"acct\\u002d1\"", "7"][r.below(10) < 7 ? 0 : r.below(5)]
        }
        var fields: [(String, String)] = [
            ("instrument", r.below(4) != 0 ? "\"ETH-PERP\"" : ["\"\"", "\"ETH\\u002dPERP\"", "7", "\"Ünï\""][r.below(4)]),
            ("ts", r.below(4) != 0 ? "1764000000157421" : ["-5", "12.5", "1e3", "99999999999999999999", "\"1\"", "0"][r.below(6)]),
            ("id", r.below(6) != 0 ? "\"T-\(r.below(1000))\"" : ["\"\"", "1", "\"T\\n1\"", "null"][r.below(4)]),
            ("price", QuoteCompactDecodeTests.number(&r)),
            ("size", QuoteCompactDecodeTests.number(&r)),
            ("side", r.below(6) != 0 ? ["\"buy\"", "\"sell\""][r.below(2)] : ["\"hold\"", "null", "1", "\"Buy\"", "\"buyer\"", "\"sel\"", "\"sellx\"", "\"bu\\u0079\""][r.below(8)]),
        ]
        if r.below(2) == 0 { fields.append(("buyer", account())) }
        if r.below(2) == 0 { fields.append(("seller", account())) }
        if r.below(2) == 0 { fields.append(("fee", ["null", "0.0002", QuoteCompactDecodeTests.number(&r)][r.below(3)])) }
        return QuoteCompactDecodeTests.object(fields, &r)
    }

    @Test func agreesWithTheGeneralReaderOnRandomInputs() {
        let compactHits = QuoteCompactDecodeTests.agreement(
            seed: 20_251_129, count: 200_000, generate: Self.trade, decode: Trade.decode, general: Trade.decodeGeneral,
            compact: Trade.decodeCompact, same: Self.same)
        // The generator must exercise the compact path, not only the fallback.
        #expect(compactHits > 10_000)
    }

    @Test func takesTheGeneratedShape() throws {
        let line = #"{"instrument":"ETH-PERP","ts":1764000000157421,"id":"T-1","price":3399.75,"size":0.72,"#
            + #""side":"sell","buyer":"acct-5","seller":"acct-2","fee":0.0002}"#
        let bytes = Array(line.utf8)
        let compact = try #require(bytes.withUnsafeBytes { Trade.decodeCompact($0) })
        let general = try bytes.withUnsafeBytes { buffer throws(DecodeError) in try Trade.decodeGeneral(buffer) }
        #expect(Self.same(compact, general))
    }

    /// Equal, doubles compared by bits (so -0 and 0 differ).
    static func same(_ a: Trade, _ b: Trade) -> Bool {
        a.instrument == b.instrument && a.ts == b.ts && a.id == b.id && a.price.bitPattern == b.price.bitPattern
            && a.size.bitPattern == b.size.bitPattern && a.side == b.side && a.buyer == b.buyer && a.seller == b.seller
            && a.fee?.bitPattern == b.fee?.bitPattern
    }
}
