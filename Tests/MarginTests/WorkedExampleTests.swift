import Events
import Margin
import Testing

/// SPEC §6 worked example: USD 10 000, long 3 BTC-PERP from 64 000, mark 61 000, best bid 60 999.5 for 5, tiers
/// [{50 000, .008, .004}, {250 000, .01, .005}]: N = 183 000 (tier 2), cum = 50 000·(0.005 − 0.004) = 50,
/// MM = 915 − 50 = 865, IM = 1 830, add-on = 3·0.5 = 1.5, E = 10 000 − 9 000 = 1 000, coverage 1 000/866.5.
@Suite("Worked example")
struct WorkedExampleTests {
    @Test func totalsToTheCent() {
        let (market, account) = Kit.workedExample()
        let m = market.margin(of: account, now: Kit.now)
        #expect(m.equity == 1_000)
        #expect(near(m.maintenance, 866.5, 1e-12))
        #expect(near(m.initial, 1_831.5, 1e-12))
        #expect(near(m.coverage!, 1_000 / 866.5, 1e-12))
        #expect(near(m.shortfall, 831.5, 1e-12))
        #expect((m.coverage! * 1e6).rounded() / 1e6 == 1.154068)
    }

    @Test func breakdown() throws {
        let (market, account) = Kit.workedExample()
        let s = market.snapshot(of: account, now: Kit.now)
        #expect(s.mode == .standard)
        #expect(s.positions.count == 1)
        let p = try #require(s.positions.first)
        #expect(p.instrument == "BTC-PERP")
        #expect(p.size == 3)
        #expect(p.entry == 64_000)
        #expect(p.mark == 61_000)
        #expect(p.notional == 183_000)
        #expect(near(try #require(p.maintenance), 866.5, 1e-12))
        #expect(near(try #require(p.initial), 1_831.5, 1e-12))
        #expect(near(p.liquidityAddon, 1.5, 1e-12))
        #expect(p.upnl == -9_000)
        #expect(s.maintenance == market.margin(of: account, now: Kit.now).maintenance)
        #expect(s.underlyings.isEmpty)
    }

    @Test func levelIsMarginCall() {
        let (market, account) = Kit.workedExample()
        var a = account
        let t = a.updateLevel(with: market.margin(of: a, now: Kit.now), configuration: market.configuration)
        #expect(t == LevelTransition(level: .marginCall, changed: true))
        #expect(a.level == .marginCall)
        let again = a.updateLevel(with: market.margin(of: a, now: Kit.now), configuration: market.configuration)
        #expect(again == LevelTransition(level: .marginCall, changed: false))
    }

    /// F* solves 10 000 + 3·(F* − 64 000) = (3·F*·0.005 − 50) + 1.5 (tier 2, add-on fixed):
    /// F* = (192 000 − 10 000 − 48.5) / 2.985 = 60 955.276…
    @Test func liquidationPrice() throws {
        let (market, account) = Kit.workedExample()
        let prices = market.liquidationPrices(of: account, now: Kit.now)
        #expect(prices.count == 1)
        let lp = try #require(prices.first)
        #expect(lp.underlying == "BTC")
        #expect(lp.reference == "BTC-PERP")
        let price = try #require(lp.price)
        #expect(near(price, 181_951.5 / 2.985, 1e-9))
        #expect((price * 100).rounded() / 100 == 60_955.28)
        // Coverage re-evaluated by hand at F*.
        let equity = 10_000 + 3 * (price - 64_000)
        let maintenance = 3 * price * 0.005 - 50 + 1.5
        #expect(abs(equity / maintenance - 1) < 1e-9)
        #expect(market.snapshot(of: account, now: Kit.now).liquidationPrices == prices)
    }
}
