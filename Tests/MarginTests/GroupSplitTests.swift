import Events
@testable import Margin
import Testing

/// The liquidation-price search evaluates the rest of the account once and re-evaluates only the shifted
/// underlying: the two parts must add up to the whole account's numbers under any shift, in both modes.
@Suite("Margin by underlying")
struct GroupSplitTests {
    static func market() -> MarketView {
        var c = MarginConfiguration()
        c.collateral["BTC"] = .init(instrument: "BTC-PERP", haircut: 0.05)
        c.collateral["ETH"] = .init(instrument: "ETH-PERP", haircut: 0.1)
        var market = MarketView(configuration: c)
        let expiry = Kit.now + 20 * Kit.day
        market.define(Kit.perp())
        market.define(Kit.perp("ETH-PERP", underlying: "ETH", tiers: nil))
        market.define(Kit.option("BTC-C-70000", strike: 70_000, expiry: expiry, type: .call))
        market.define(Kit.option("BTC-P-55000", strike: 55_000, expiry: expiry, type: .put))
        market.define(Kit.option("ETH-C-3500", strike: 3_500, expiry: expiry, type: .call, reference: "ETH-PERP",
                                 underlying: "ETH"))
        market.updateMark("BTC-PERP", mark: 61_000, bids: [BookLevel(price: 60_990, size: 2)],
                          asks: [BookLevel(price: 61_010, size: 2)])
        market.updateMark("ETH-PERP", mark: 3_400, bids: [BookLevel(price: 3_399, size: 40)],
                          asks: [BookLevel(price: 3_401, size: 40)], stress: 2)
        market.updateMark("BTC-C-70000", mark: 900, iv: 0.6)
        market.updateMark("BTC-P-55000", mark: 1_100, iv: 0.7)
        market.updateMark("ETH-C-3500", mark: 120, iv: 0.8)
        return market
    }

    static func account(_ mode: MarginMode, market: MarketView) -> Account {
        var a = Account(mode: mode)
        a.apply(.deposit(asset: "USD", amount: 40_000))
        a.apply(.deposit(asset: "BTC", amount: 0.4))
        a.apply(.deposit(asset: "ETH", amount: -2))
        a.apply(.position(instrument: "BTC-PERP", size: 2, entryPrice: 64_000))
        a.apply(.position(instrument: "ETH-PERP", size: -15, entryPrice: 3_300))
        a.apply(.position(instrument: "BTC-C-70000", size: -3, entryPrice: 1_000))
        a.apply(.position(instrument: "BTC-P-55000", size: 1.5, entryPrice: 900))
        a.apply(.position(instrument: "ETH-C-3500", size: -20, entryPrice: 100))
        a.apply(.position(instrument: "SOL-UNLISTED", size: 10, entryPrice: 150))
        a.bind(to: market)
        return a
    }

    @Test("The shifted underlying's terms plus the others' equal the whole account", arguments: [MarginMode.standard, .portfolio])
    func partsAddUp(mode: MarginMode) {
        let market = Self.market()
        let account = Self.account(mode, market: market)
        let groups = account.positions.indices.map { market.resolved(account.positions[$0], at: $0).group }
        for g in Set(groups) {
            let rest = market.evaluate(account, now: Kit.now, shift: .none, groups: .except(g))
            for factor in [0.5, 0.93, 1, 1.07, 3] {
                let shift = PriceShift(group: g, factor: factor)
                let whole = market.evaluate(account, now: Kit.now, shift: shift)
                let part = market.evaluate(account, now: Kit.now, shift: shift, groups: .only(g))
                #expect(near(rest.equity + part.equity, whole.equity, 1e-12), "group \(g) × \(factor)")
                #expect(near(rest.maintenance + part.maintenance, whole.maintenance, 1e-12), "group \(g) × \(factor)")
                #expect(part.maintenance > 0, "group \(g) holds positions: its margin is not empty")
            }
        }
        #expect(Set(groups).count == 3, "BTC, ETH and the unlisted instrument's own group")
    }
}
