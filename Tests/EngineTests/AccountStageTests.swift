import Engine
import Events
import Foundation
import Liquidity
import Margin
import Testing

@Suite("Account stage")
struct AccountStageTests {
    let origin = Origin(topic: "backstop-marks", partition: 0, offset: 0)

    func stage() -> AccountStage {
        var s = AccountStage(configuration: MarginConfiguration())
        s.define(Instrument(symbol: "BTC-PERP", kind: .perpetual, underlying: "BTC",
                            tiers: [MarginTier(cap: 50_000, imr: 0.008, mmr: 0.004),
                                    MarginTier(cap: 250_000, imr: 0.01, mmr: 0.005)]))
        return s
    }

    func mark(_ price: Double, bid: Double, ts: Int64) -> MarkRecord {
        MarkRecord(instrument: "BTC-PERP", ts: ts, mark: price, iv: nil, bids: [BookLevel(price: bid, size: 5)],
                   asks: [BookLevel(price: price + (price - bid), size: 5)], stress: 0)
    }

    func object(_ r: OutputRecord) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.value)) as? [String: Any])
    }

    @Test("SPEC §6 worked example: the mark to 61 000 makes a margin call, to the cent; never twice for a level")
    func workedExample() throws {
        var s = stage()
        var out: [OutputRecord] = []
        s.apply(AccountEvent(account: "acct-17", ts: 1, id: "D-1", change: .deposit(asset: "USD", amount: 10_000)),
                origin: origin, emit: { out.append($0) })
        s.apply(AccountEvent(account: "acct-17", ts: 2, id: "P-1",
                             change: .position(instrument: "BTC-PERP", size: 3, entryPrice: 64_000)),
                origin: origin, emit: { out.append($0) })
        s.apply(mark(64_000, bid: 63_999.5, ts: 3), origin: origin, emit: { out.append($0) })
        #expect(!out.contains { $0.topic == .marginCalls }, "healthy: no margin call")
        out.removeAll()
        s.apply(mark(61_000, bid: 60_999.5, ts: 1_764_000_000_100_000), origin: origin, emit: { out.append($0) })
        let calls = out.filter { $0.topic == .marginCalls }
        try #require(calls.count == 1)
        let call = try object(calls[0])
        #expect(call["id"] as? String == "acct-17:margin_call:1764000000100000")
        #expect(call["level"] as? String == "margin_call")
        #expect(call["equity"] as? Double == 1_000)
        #expect(abs((call["maintenance"] as? Double ?? 0) - 866.5) < 1e-9)
        #expect(abs((call["initial"] as? Double ?? 0) - 1_831.5) < 1e-9)
        #expect(abs((call["coverage"] as? Double ?? 0) - 1_000 / 866.5) < 1e-12)
        #expect(abs((call["shortfall"] as? Double ?? 0) - 831.5) < 1e-9)
        #expect((call["cause"] as? [String: String]) == ["type": "mark", "instrument": "BTC-PERP"])
        let position = try #require((call["positions"] as? [[String: Any]])?.first)
        #expect(abs((position["liquidity_addon"] as? Double ?? 0) - 1.5) < 1e-9)
        #expect(abs((position["upnl"] as? Double ?? 0) - -9_000) < 1e-9)
        let liquidation = try #require((call["liquidation_prices"] as? [String: Double])?["BTC"])
        #expect(abs(liquidation - 60_955.28) < 0.01)
        #expect(out.contains { $0.topic == .accountMargin }, "a level change also writes a snapshot")

        out.removeAll()
        s.apply(mark(61_000, bid: 60_999.5, ts: 1_764_000_000_200_000), origin: origin, emit: { out.append($0) })
        #expect(!out.contains { $0.topic == .marginCalls }, "never twice for the same level")
        #expect(s.marginCalls[.marginCall] == 1)
    }

    @Test("a position in an unknown instrument goes to the DLQ")
    func unknownInstrument() throws {
        var s = stage()
        var out: [OutputRecord] = []
        s.apply(AccountEvent(account: "a", ts: 1, id: "P", change: .position(instrument: "NOPE", size: 1, entryPrice: 1)),
                origin: origin, emit: { out.append($0) })
        #expect(out.map(\.topic) == [.dlq])
        #expect(try object(out[0])["reason"] as? String == "unknown_instrument")
    }
}
