import Events
import Margin
import Testing

@Suite("Standard margin")
struct StandardMarginTests {
    /// cum_2 = 50 000·(0.005 − 0.004) = 50, cum_3 = 50 + 250 000·(0.01 − 0.005) = 1 300.
    static let threeTiers = Kit.exampleTiers + [MarginTier(cap: 1_000_000, imr: 0.02, mmr: 0.01)]

    @Test(arguments: [(40_000.0, 160.0, 320.0), (50_000, 200, 400), (50_001, 250.005 - 50, 500.01),
                      (183_000, 865, 1_830), (250_000, 1_200, 2_500), (500_000, 3_700, 10_000),
                      (2_000_000, 18_700, 40_000)])
    func tiers(notional: Double, maintenance: Double, initial: Double) {
        let m = TierTable(Self.threeTiers).margin(notional: notional)
        #expect(near(m.maintenance, maintenance, 1e-12))
        #expect(near(m.initial, initial, 1e-12))
    }

    /// An instrument without tiers uses the configured default (mmr 0.01, imr 0.02). Without a book the add-on is
    /// q·mid·50/1e4: 2·61 000·0.005 = 610.
    @Test func defaultTiersAndNoBook() {
        var market = MarketView()
        market.define(Kit.perp(tiers: nil))
        market.updateMark("BTC-PERP", mark: 61_000)
        var a = Account()
        a.apply(.position(instrument: "BTC-PERP", size: -2, entryPrice: 61_000))
        let m = market.margin(of: a, now: Kit.now)
        #expect(near(m.maintenance, 1_220 + 610, 1e-12))
        #expect(near(m.initial, 2_440 + 610, 1e-12))
        #expect(m.equity == 0)
    }

    /// Long 10 against bids (60 999.5 × 5, 60 990 × 2): 0.5·5 + 10·2 = 22.5; 3 beyond the book at
    /// |60 990 − 61 000| + 61 000·50/1e4 = 315 each: 945. With liquidity_multiplier 2: twice that.
    @Test func addonWalksAndGoesBeyond() {
        let bids = [BookLevel(price: 60_999.5, size: 5), BookLevel(price: 60_990, size: 2)]
        #expect(liquidityAddon(quantity: 10, mid: 61_000, levels: bids, beyondBps: 50) == 967.5)
        #expect(liquidityAddon(quantity: 4, mid: 61_000, levels: bids, beyondBps: 50) == 2)
        #expect(liquidityAddon(quantity: 10, mid: 61_000, levels: [], beyondBps: 50) == 3_050)
        var config = MarginConfiguration()
        config.liquidityMultiplier = 2
        var market = MarketView(configuration: config)
        market.define(Kit.perp())
        market.updateMark("BTC-PERP", mark: 61_000, bids: bids, asks: [BookLevel(price: 61_000.5, size: 1)])
        var a = Account()
        a.apply(.position(instrument: "BTC-PERP", size: 10, entryPrice: 61_000))
        let s = market.snapshot(of: a, now: Kit.now)
        #expect(s.positions[0].liquidityAddon == 1_935)
        // N = 610 000 is beyond the last cap: tier 2, MM = 3 050 − 50.
        #expect(near(s.maintenance, 3_000 + 1_935, 1e-12))
    }

    /// Short options per unit of underlying, F = 61 000: IM = u·max(0.15F − OTM, 0.10F), MM = u·0.075F.
    /// Call K 70 000: OTM 9 000 → max(150, 6 100); put K 50 000: OTM 11 000 → 6 100; call K 60 000: ITM → 9 150.
    /// Long options carry only their add-on; the short call's add-on walks the option's asks.
    @Test func shortAndLongOptions() {
        var market = MarketView()
        market.define(Kit.perp())
        market.updateMark("BTC-PERP", mark: 61_000, bids: [BookLevel(price: 61_000, size: 100)],
                          asks: [BookLevel(price: 61_000, size: 100)])
        let expiry = Kit.now + 30 * Kit.day
        let specs: [(String, Double, Instrument.OptionType, Double)] =
            [("C70", 70_000, .call, -2), ("P50", 50_000, .put, -2), ("C60", 60_000, .call, -2), ("L", 65_000, .call, 4)]
        var a = Account()
        for (symbol, strike, type, size) in specs {
            market.define(Kit.option(symbol, strike: strike, expiry: expiry, type: type))
            market.updateMark(symbol, mark: 1_500, bids: [BookLevel(price: 1_495, size: 10)],
                              asks: [BookLevel(price: 1_510, size: 1), BookLevel(price: 1_530, size: 5)])
            a.apply(.position(instrument: symbol, size: size, entryPrice: 1_400))
        }
        a.bind(to: market)
        let s = market.snapshot(of: a, now: Kit.now)
        // Short 2 against the asks: 10·1 + 30·1 = 40. Long 4 against the bids: 5·4 = 20.
        #expect(s.positions.map(\.liquidityAddon) == [40, 40, 40, 20])
        let maintenance: [Double?] = [9_190, 9_190, 9_190, 20]
        let initial: [Double?] = [12_240, 12_240, 18_340, 20]
        #expect(s.positions.map(\.maintenance) == maintenance)
        #expect(s.positions.map(\.initial) == initial)
        // Equity: the option values Σ size·mult·mark = (−2 − 2 − 2 + 4)·1 500.
        #expect(s.equity == -3_000)
    }

    /// Stressed (severity ≥ 2): MM = 1.5·865 + 2·1.5 = 1 300.5, IM = 1.5·1 830 + 3 = 2 748. Severity 1: unstressed.
    @Test func stressMultipliers() {
        let (stressed, account) = Kit.workedExample(stress: 2)
        let m = stressed.margin(of: account, now: Kit.now)
        #expect(near(m.maintenance, 1_300.5, 1e-12))
        #expect(near(m.initial, 2_748, 1e-12))
        #expect(stressed.snapshot(of: account, now: Kit.now).positions[0].liquidityAddon == 3)
        let (mild, _) = Kit.workedExample(stress: 1)
        #expect(near(mild.margin(of: account, now: Kit.now).maintenance, 866.5, 1e-12))
        var config = MarginConfiguration()
        config.stress.minSeverity = 1
        config.stress.marginMultiplier = 2
        config.stress.liquidityMultiplier = 3
        let (custom, _) = Kit.workedExample(configuration: config, stress: 1)
        #expect(near(custom.margin(of: account, now: Kit.now).maintenance, 2 * 865 + 3 * 1.5, 1e-12))
    }

    /// 1 BTC at haircut 0.05 priced at the BTC-PERP mark: 61 000·0.95; a negative balance takes no haircut; an
    /// asset that is not configured is worth nothing.
    @Test func collateralHaircuts() {
        var config = MarginConfiguration()
        config.collateral["BTC"] = .init(instrument: "BTC-PERP", haircut: 0.05)
        var market = MarketView(configuration: config)
        market.define(Kit.perp())
        var a = Account()
        a.apply(.deposit(asset: "USD", amount: 1_000))
        a.apply(.deposit(asset: "BTC", amount: 1))
        a.apply(.deposit(asset: "DOGE", amount: 1_000_000))
        #expect(market.margin(of: a, now: Kit.now).equity == 1_000)  // BTC not marked yet
        market.updateMark("BTC-PERP", mark: 61_000)
        #expect(market.margin(of: a, now: Kit.now).equity == 1_000 + 61_000 * 0.95)
        a.bind(to: market)
        a.apply(.withdrawal(asset: "BTC", amount: 1.5))
        #expect(market.margin(of: a, now: Kit.now).equity == 1_000 - 0.5 * 61_000)
        #expect(market.margin(of: a, now: Kit.now).hasExposure)
    }

    /// Binding only caches slots: results are identical with a stale or missing cache, and after redefinitions.
    @Test func bindingIsOnlyACache() {
        let (market, bound) = Kit.workedExample()
        var unbound = Account()
        unbound.apply(.deposit(asset: "USD", amount: 10_000))
        unbound.apply(.position(instrument: "BTC-PERP", size: 3, entryPrice: 64_000))
        #expect(market.margin(of: unbound, now: Kit.now) == market.margin(of: bound, now: Kit.now))
        var other = MarketView()
        other.slot(for: "ETH-PERP")
        other.define(Kit.perp())
        other.updateMark("BTC-PERP", mark: 61_000, bids: [BookLevel(price: 60_999.5, size: 5)])
        #expect(other.margin(of: bound, now: Kit.now) == market.margin(of: bound, now: Kit.now))
    }

    /// An instrument the market has never seen is margined as linear at its entry price with the default tiers.
    @Test func unknownInstrument() {
        let market = MarketView()
        var a = Account()
        a.apply(.deposit(asset: "USD", amount: 100))
        a.apply(.position(instrument: "XYZ", size: 1, entryPrice: 1_000))
        let m = market.margin(of: a, now: Kit.now)
        #expect(m.equity == 100)
        #expect(near(m.maintenance, 10 + 5, 1e-12))
        #expect(market.liquidationPrices(of: a, now: Kit.now).first?.underlying == "XYZ")
    }

    /// A delisted instrument loses its reference data but keeps margining open positions with its last terms;
    /// a position opened before its instrument is defined is margined properly once it is.
    @Test func delistAndLateDefinition() {
        var (market, account) = Kit.workedExample()
        let before = market.margin(of: account, now: Kit.now)
        market.delist("BTC-PERP")
        #expect(market.instrument("BTC-PERP") == nil)
        #expect(market.margin(of: account, now: Kit.now) == before)
        var late = MarketView()
        late.updateMark("BTC-PERP", mark: 61_000, bids: [BookLevel(price: 60_999.5, size: 5)])
        #expect(near(late.margin(of: account, now: Kit.now).maintenance, 1_830 + 1.5, 1e-12))  // default tiers
        late.define(Kit.perp())
        account.bind(to: late)
        #expect(late.margin(of: account, now: Kit.now) == before)
    }

    @Test func configurationValidation() {
        var c = MarginConfiguration()
        #expect(throws: Never.self) { try c.validate() }
        c.tiers = [MarginTier(cap: 10, imr: 0.1, mmr: 0.05), MarginTier(cap: 5, imr: 0.1, mmr: 0.05)]
        #expect(throws: MarginConfigurationError(path: "margin.tiers[1].cap", message: "caps must increase")) {
            try c.validate()
        }
        c = MarginConfiguration()
        c.collateral["BTC"] = .init(instrument: "BTC-PERP", haircut: 1.5)
        #expect(throws: MarginConfigurationError.self) { try c.validate() }
        c = MarginConfiguration()
        c.tiers = Kit.exampleTiers
        #expect(c.defaultTierTable.rows.map(\.cum) == [0, 50])
    }
}
