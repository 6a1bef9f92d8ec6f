import Events
import Margin
import Testing

/// Fills and account events (SPEC §6 "Account state"), checked against hand computations.
@Suite("Account")
struct AccountTests {
    static let perp = Kit.perp()
    static let call = Kit.option("BTC-C-70000", strike: 70_000, expiry: Kit.now + 30 * Kit.day, type: .call)

    /// long 2 @ 60 000; sell 0.5 @ 62 000 realizes (62 000 − 60 000)·0.5 = +1 000 and keeps the entry.
    @Test func partialClose() {
        var a = Account()
        a.apply(fill: Kit.trade(price: 60_000, size: 2), side: .buy, instrument: Self.perp)
        a.apply(fill: Kit.trade(price: 62_000, size: 0.5), side: .sell, instrument: Self.perp)
        #expect(a.balance(of: "USD") == 1_000)
        #expect(a.position(in: "BTC-PERP") == Account.Position(instrument: "BTC-PERP", size: 1.5, entryPrice: 60_000))
    }

    /// 1.5 @ 60 000 + 1 @ 63 000 → entry (1.5·60 000 + 63 000)/2.5 = 61 200; selling 4 @ 61 000 closes 2.5
    /// (realizing (61 000 − 61 200)·2.5 = −500) and opens −1.5 @ 61 000; buying 0.5 @ 60 000 then realizes
    /// (60 000 − 61 000)·0.5·(−1) = +500.
    @Test func increaseFlipAndShortReduce() {
        var a = Account()
        a.apply(.position(instrument: "BTC-PERP", size: 1.5, entryPrice: 60_000))
        a.apply(fill: Kit.trade(price: 63_000, size: 1), side: .buy, instrument: Self.perp)
        #expect(a.position(in: "BTC-PERP")?.size == 2.5)
        #expect(a.position(in: "BTC-PERP")?.entryPrice == 61_200)
        a.apply(fill: Kit.trade(price: 61_000, size: 4), side: .sell, instrument: Self.perp)
        #expect(a.balance(of: "USD") == -500)
        #expect(a.position(in: "BTC-PERP") == Account.Position(instrument: "BTC-PERP", size: -1.5, entryPrice: 61_000))
        a.apply(fill: Kit.trade(price: 60_000, size: 0.5), side: .buy, instrument: Self.perp)
        #expect(a.balance(of: "USD") == 0)
        #expect(a.position(in: "BTC-PERP") == Account.Position(instrument: "BTC-PERP", size: -1, entryPrice: 61_000))
    }

    /// Multiplier 0.01: the realized P&L and fees scale by it. Closing exactly removes the position.
    @Test func multiplierAndFullClose() {
        let inverse = Kit.perp("ETH-PERP", underlying: "ETH", multiplier: 0.01)
        var a = Account()
        a.apply(fill: Kit.trade("ETH-PERP", price: 3_000, size: 100), side: .sell, instrument: inverse)
        a.apply(fill: Kit.trade("ETH-PERP", price: 2_900, size: 100), side: .buy, instrument: inverse)
        // (2 900 − 3 000)·100·0.01·(−1) = +100
        #expect(a.balance(of: "USD") == 100)
        #expect(a.positions.isEmpty)
    }

    /// Fee 0.0002 on 2 @ 60 000: 0.0002·60 000·2 = 24 from both sides.
    @Test func feeFromBothSides() {
        var buyer = Account(), seller = Account()
        let t = Kit.trade(price: 60_000, size: 2, fee: 0.0002)
        buyer.apply(fill: t, side: .buy, instrument: Self.perp)
        seller.apply(fill: t, side: .sell, instrument: Self.perp)
        #expect(near(buyer.balance(of: "USD"), -24, 1e-12))
        #expect(near(seller.balance(of: "USD"), -24, 1e-12))
        #expect(buyer.position(in: "BTC-PERP")?.size == 2)
        #expect(seller.position(in: "BTC-PERP")?.size == -2)
    }

    /// Buy 2 calls @ 1 500 (pay 3 000), sell 3 @ 1 700 with fee 0.001 (receive 5 100, pay 5.1): −1 @ 1 700.
    @Test func optionPremiumAndFlip() {
        var a = Account()
        a.apply(fill: Kit.trade("BTC-C-70000", price: 1_500, size: 2), side: .buy, instrument: Self.call)
        #expect(a.balance(of: "USD") == -3_000)
        #expect(a.position(in: "BTC-C-70000")?.entryPrice == 1_500)
        a.apply(fill: Kit.trade("BTC-C-70000", price: 1_700, size: 3, fee: 0.001), side: .sell, instrument: Self.call)
        #expect(near(a.balance(of: "USD"), -3_000 + 5_100 - 5.1, 1e-12))
        let want = Account.Position(instrument: "BTC-C-70000", size: -1, entryPrice: 1_700)
        #expect(a.position(in: "BTC-C-70000") == want)
    }

    /// Sizes that sum with rounding dust still close the position.
    @Test func dustCloses() {
        var a = Account()
        a.apply(fill: Kit.trade(price: 100, size: 0.1), side: .buy, instrument: Self.perp)
        a.apply(fill: Kit.trade(price: 100, size: 0.2), side: .buy, instrument: Self.perp)
        a.apply(fill: Kit.trade(price: 110, size: 0.3), side: .sell, instrument: Self.perp)
        #expect(a.positions.isEmpty)
        #expect(near(a.balance(of: "USD"), 3, 1e-12))
    }

    @Test func accountEvents() {
        var a = Account()
        a.apply(.deposit(asset: "USD", amount: 25_000))
        a.apply(.withdrawal(asset: "USD", amount: 5_000))
        a.apply(.adjustment(asset: "USD", amount: -1_000))
        a.apply(.deposit(asset: "BTC", amount: 0.5))
        #expect(a.balance(of: "USD") == 19_000)
        #expect(a.balance(of: "BTC") == 0.5)
        #expect(!a.hasExposure)
        a.apply(.mode(.portfolio))
        #expect(a.mode == .portfolio)
        // A position event sets, replaces and removes a position, without cash.
        a.apply(.position(instrument: "BTC-PERP", size: 2, entryPrice: 60_000))
        a.apply(.position(instrument: "BTC-PERP", size: -1, entryPrice: 62_000))
        #expect(a.position(in: "BTC-PERP") == Account.Position(instrument: "BTC-PERP", size: -1, entryPrice: 62_000))
        #expect(a.hasExposure)
        a.apply(.position(instrument: "BTC-PERP", size: 0, entryPrice: 0))
        #expect(a.positions.isEmpty)
        #expect(a.balance(of: "USD") == 19_000)
        a.apply(.withdrawal(asset: "BTC", amount: 1))
        #expect(a.hasExposure)
    }
}
