import Events
import Margin
import Testing

/// Liquidation prices, checked by re-evaluating coverage at F* on a fresh market priced off F* independently:
/// linear marks and the reference scale by F*/F, options move by the reference Black-76 difference, collateral
/// priced by the reference scales too. Add-ons are kept out of these fixtures (no books, beyond_bps 0), because
/// a fresh market would recompute them from the moved mark while F* holds them fixed.
@Suite("Liquidation prices")
struct LiquidationPriceTests {
    struct Leg {
        var instrument: Instrument
        var size: Double
        var entry: Double
        var mark: Double
        var iv: Double?
    }

    static func market(_ legs: [Leg], forward: Double, scale s: Double,
                       configuration: MarginConfiguration) -> MarketView {
        var market = MarketView(configuration: configuration)
        market.define(Kit.perp())
        market.updateMark("BTC-PERP", mark: forward * s)
        for leg in legs where leg.instrument.symbol != "BTC-PERP" {
            market.define(leg.instrument)
            var mark = leg.mark * s
            if leg.instrument.kind == .option {
                let t = Double(leg.instrument.expiry! - Kit.now) / (365 * 86_400e6)
                let iv = leg.iv ?? configuration.portfolio.defaultIV
                let isCall = leg.instrument.optionType == .call
                let k = leg.instrument.strike!
                mark = leg.mark + referenceBlack76(forward: forward * s, strike: k, years: t, vol: iv, isCall: isCall)
                    - referenceBlack76(forward: forward, strike: k, years: t, vol: iv, isCall: isCall)
            }
            market.updateMark(leg.instrument.symbol, mark: mark, iv: leg.iv)
        }
        return market
    }

    static func account(_ legs: [Leg], usd: Double, btc: Double = 0, mode: MarginMode = .standard) -> Account {
        var a = Account(mode: mode)
        a.apply(.deposit(asset: "USD", amount: usd))
        if btc != 0 { a.apply(.deposit(asset: "BTC", amount: btc)) }
        for leg in legs { a.apply(.position(instrument: leg.instrument.symbol, size: leg.size, entryPrice: leg.entry)) }
        return a
    }

    static var configuration: MarginConfiguration {
        var c = MarginConfiguration()
        c.beyondBps = 0
        c.collateral["BTC"] = .init(instrument: "BTC-PERP", haircut: 0.05)
        return c
    }

    /// Coverage at F* on an independently priced market.
    static func coverage(at price: Double, _ legs: [Leg], _ account: Account, forward: Double) -> Double {
        let m = market(legs, forward: forward, scale: price / forward, configuration: configuration)
        return m.margin(of: account, now: Kit.now).coverage!
    }

    static let expiry = Kit.now + 20 * Kit.day
    static let perpLeg = Leg(instrument: Kit.perp(), size: 3, entry: 64_000, mark: 61_000)

    @Test func longWithCollateralFallsToRoot() throws {
        let legs = [Self.perpLeg]
        let account = Self.account(legs, usd: 6_000, btc: 0.1)
        let market = Self.market(legs, forward: 61_000, scale: 1, configuration: Self.configuration)
        let price = try #require(market.liquidationPrices(of: account, now: Kit.now).first?.price)
        #expect(price < 61_000)
        #expect(abs(Self.coverage(at: price, legs, account, forward: 61_000) - 1) < 1e-9)
    }

    @Test func shortRisesToRoot() throws {
        let legs = [Leg(instrument: Kit.perp(), size: -3, entry: 58_000, mark: 61_000)]
        let account = Self.account(legs, usd: 12_000)
        let market = Self.market(legs, forward: 61_000, scale: 1, configuration: Self.configuration)
        let price = try #require(market.liquidationPrices(of: account, now: Kit.now).first?.price)
        #expect(price > 61_000)
        #expect(abs(Self.coverage(at: price, legs, account, forward: 61_000) - 1) < 1e-9)
    }

    @Test func alreadyBelowIsF() {
        let legs = [Self.perpLeg]
        let account = Self.account(legs, usd: 9_500)
        let market = Self.market(legs, forward: 61_000, scale: 1, configuration: Self.configuration)
        #expect(market.margin(of: account, now: Kit.now).coverage! < 1)
        #expect(market.liquidationPrices(of: account, now: Kit.now).first?.price == 61_000)
    }

    @Test func noRootInRangeIsNil() {
        let legs = [Leg(instrument: Kit.perp(), size: 1, entry: 61_000, mark: 61_000)]
        let account = Self.account(legs, usd: 1_000_000)
        let market = Self.market(legs, forward: 61_000, scale: 1, configuration: Self.configuration)
        #expect(market.liquidationPrices(of: account, now: Kit.now) == [
            LiquidationPrice(underlying: "BTC", reference: "BTC-PERP", price: nil)])
        #expect(market.liquidationPrices(of: Account(), now: Kit.now).isEmpty)
    }

    /// A short strangle has a root on each side; the nearer one in |ln(F*/F)| wins. Both modes.
    @Test(arguments: [MarginMode.standard, .portfolio])
    func shortStrangleTakesNearerRoot(mode: MarginMode) throws {
        let call = Kit.option("C", strike: 66_000, expiry: Self.expiry, type: .call)
        let put = Kit.option("P", strike: 58_000, expiry: Self.expiry, type: .put)
        let legs = [Leg(instrument: call, size: -4, entry: 1_800, mark: 1_650, iv: 0.6),
                    Leg(instrument: put, size: -6, entry: 1_500, mark: 1_400)]  // no iv: default 0.8
        let account = Self.account(legs, usd: 80_000, mode: mode)
        let market = Self.market(legs, forward: 61_000, scale: 1, configuration: Self.configuration)
        #expect(try #require(market.margin(of: account, now: Kit.now).coverage) > 1.2)
        let lp = try #require(market.liquidationPrices(of: account, now: Kit.now).first)
        #expect(lp.underlying == "BTC" && lp.reference == "BTC-PERP")
        let price = try #require(lp.price)
        #expect(abs(Self.coverage(at: price, legs, account, forward: 61_000) - 1) < 1e-6)
        // Independently: scan the re-priced coverage on a fine grid each way; both sides cross, the nearer is F*.
        func crossing(_ direction: Double) -> Double? {
            for i in 1...4_000 {
                let x = direction * Double(i) * 0.0005
                if Self.coverage(at: 61_000 * TestMath.exp(x), legs, account, forward: 61_000) < 1 { return x }
            }
            return nil
        }
        let up = try #require(crossing(1)), down = try #require(crossing(-1))
        let nearest = abs(up) < abs(down) ? up : down
        #expect(abs(TestMath.log(price / 61_000) - nearest) <= 0.0005)
    }
}

#if canImport(Glibc)
import Glibc
/// Namespaced libm access, so `exp`/`log` in tests read unambiguously.
enum TestMath {
    static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    static func log(_ x: Double) -> Double { Glibc.log(x) }
}
#elseif canImport(Darwin)
import Darwin
enum TestMath {
    static func exp(_ x: Double) -> Double { Darwin.exp(x) }
    static func log(_ x: Double) -> Double { Darwin.log(x) }
}
#endif
