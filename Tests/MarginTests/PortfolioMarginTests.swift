import Events
import Margin
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Portfolio mode against a brute-force evaluation of SPEC §6 written independently here: its own move grid,
/// vol shocks and Black-76 (``referenceBlack76``), add-ons from hand-walked books.
@Suite("Portfolio margin")
struct PortfolioMarginTests {
    struct Leg {
        var symbol: String
        var size: Double
        var multiplier = 1.0
        var mark: Double
        /// Options only.
        var strike = 0.0, expiry: Int64 = 0, iv: Double? = nil, isCall = true
        var isOption: Bool { strike > 0 }
        /// The add-on by hand.
        var addon: Double
    }

    /// BTC: long 2 BTC-PERP (bids 60 990 × 10: addon 2·10), long 1 BTC-27MAR26 (no book: 61 500·0.005),
    /// short 50 calls ×0.1 K 70 000 in 30 d at iv 0.55 (asks 810 × 10: 5·10), long 3 puts K 55 000 in 7 d
    /// without iv (bids 295 × 10: 3·5), short 1 put K 62 000 expired yesterday (asks 1 002 × 5: 2).
    /// ETH: short 10 ETH-PERP (asks 3 001 × 4, then 6 beyond at 1 + 15: 4 + 96), range 0.2.
    static let btc: [Leg] = [
        Leg(symbol: "BTC-PERP", size: 2, mark: 61_000, addon: 20),
        Leg(symbol: "BTC-27MAR26", size: 1, mark: 61_500, addon: 307.5),
        Leg(symbol: "BTC-C-70000", size: -50, multiplier: 0.1, mark: 800, strike: 70_000,
            expiry: Kit.now + 30 * Kit.day, iv: 0.55, isCall: true, addon: 50),
        Leg(symbol: "BTC-P-55000", size: 3, mark: 300, strike: 55_000, expiry: Kit.now + 7 * Kit.day, isCall: false,
            addon: 15),
        Leg(symbol: "BTC-P-62000", size: -1, mark: 1_000, strike: 62_000, expiry: Kit.now - Kit.day, iv: 0.5,
            isCall: false, addon: 2),
    ]
    static let eth: [Leg] = [Leg(symbol: "ETH-PERP", size: -10, mark: 3_000, addon: 100)]

    static func fixture(stress: Int = 0) -> (MarketView, Account) {
        var config = MarginConfiguration()
        config.portfolio.rangeByUnderlying["ETH"] = 0.2
        var market = MarketView(configuration: config)
        market.define(Kit.perp())
        market.define(Instrument(symbol: "BTC-27MAR26", kind: .future, underlying: "BTC",
                                 expiry: Kit.now + 120 * Kit.day))
        market.define(Kit.perp("ETH-PERP", underlying: "ETH", tiers: nil))
        market.updateMark("BTC-PERP", mark: 61_000, bids: [BookLevel(price: 60_990, size: 10)],
                          asks: [BookLevel(price: 61_010, size: 10)], stress: stress)
        market.updateMark("BTC-27MAR26", mark: 61_500)
        market.updateMark("ETH-PERP", mark: 3_000, bids: [BookLevel(price: 2_999, size: 4)],
                          asks: [BookLevel(price: 3_001, size: 4)])
        var account = Account(mode: .portfolio)
        account.apply(.deposit(asset: "USD", amount: 50_000))
        for leg in btc + eth {
            if leg.isOption {
                market.define(Kit.option(leg.symbol, strike: leg.strike, expiry: leg.expiry,
                                         type: leg.isCall ? .call : .put, multiplier: leg.multiplier))
                let book = [BookLevel(price: leg.mark + (leg.size > 0 ? -5 : 10), size: 10)]
                market.updateMark(leg.symbol, mark: leg.mark, iv: leg.iv,
                                  bids: leg.symbol == "BTC-P-55000" ? book : [],
                                  asks: leg.symbol == "BTC-C-70000" ? book : [BookLevel(price: 1_002, size: 5)])
            }
            account.apply(.position(instrument: leg.symbol, size: leg.size, entryPrice: leg.mark))
        }
        account.bind(to: market)
        return (market, account)
    }

    /// SPEC §6 portfolio MM of one underlying, literally.
    static func bruteForce(_ legs: [Leg], forward f: Double, range r: Double, addonFactor: [String: Double] = [:])
        -> (mm: Double, loss: Double, contingency: Double)
    {
        func pnl(_ m: Double, _ shock: Int) -> Double {
            var total = 0.0
            for leg in legs {
                if !leg.isOption { total += leg.size * leg.multiplier * leg.mark * m; continue }
                let t = Double(leg.expiry - Kit.now) / (365 * 86_400e6)
                let iv = leg.iv ?? 0.8
                let d = max(1, Double(leg.expiry - Kit.now) / 86_400e6)
                let shocked = [iv * (1 + 0.45 * pow(30 / d, 0.3)), iv, max(0.05, iv * (1 - 0.30 * pow(30 / d, 0.3)))]
                let now = referenceBlack76(forward: f, strike: leg.strike, years: t, vol: iv, isCall: leg.isCall)
                let then = referenceBlack76(forward: f * (1 + m), strike: leg.strike, years: t, vol: shocked[shock],
                                            isCall: leg.isCall)
                total += leg.size * leg.multiplier * (then - now)
            }
            return total
        }
        var worst = Double.infinity
        for k in 0...8 {
            for shock in 0..<3 { worst = min(worst, pnl(-r + Double(k) * (r / 4), shock)) }
        }
        let extreme = min(pnl(-0.33, 1), pnl(0.5, 1))
        let loss = max(0, -worst, -0.35 * extreme)
        let units = legs.filter(\.isOption).reduce(0) { $0 + abs($1.size) * $1.multiplier }
        let contingency = 0.005 * f * units
        let addons = legs.reduce(0) { $0 + $1.addon * (addonFactor[$1.symbol] ?? 1) }
        return (loss + contingency + addons, loss, contingency)
    }

    @Test func matchesBruteForce() {
        let (market, account) = Self.fixture()
        let m = market.margin(of: account, now: Kit.now)
        let btc = Self.bruteForce(Self.btc, forward: 61_000, range: 0.16)
        let eth = Self.bruteForce(Self.eth, forward: 3_000, range: 0.2)
        #expect(near(m.maintenance, btc.mm + eth.mm, 1e-9))
        #expect(near(m.initial, (btc.mm + eth.mm) / 0.8, 1e-9))
        let s = market.snapshot(of: account, now: Kit.now)
        #expect(s.underlyings.map(\.underlying) == ["BTC", "ETH"])
        #expect(near(s.underlyings[0].loss, btc.loss, 1e-9))
        #expect(near(s.underlyings[0].contingency, btc.contingency, 1e-12))
        #expect(near(s.underlyings[1].loss, 10 * 3_000 * 0.2, 1e-12))  // short: worst at +R
        #expect(s.positions.allSatisfy { $0.maintenance == nil && $0.initial == nil })
        #expect(s.positions.map(\.liquidityAddon) == (Self.btc + Self.eth).map(\.addon))
        // Equity is mode-independent: 50 000 + linear uPnL 0 (entries at mark) + Σ option size·mult·mark.
        let optionValues: Double = -50 * 0.1 * 800 + 3 * 300 - 1_000
        #expect(near(m.equity, 50_000 + optionValues, 1e-12))
    }

    /// A stressed reference widens R by 1.5 for the whole underlying; the stressed instrument's add-on doubles.
    @Test func stressWidensRangeAndAddons() {
        let (market, account) = Self.fixture(stress: 2)
        let m = market.margin(of: account, now: Kit.now)
        let btc = Self.bruteForce(Self.btc, forward: 61_000, range: 0.24, addonFactor: ["BTC-PERP": 2])
        let eth = Self.bruteForce(Self.eth, forward: 3_000, range: 0.2)
        #expect(near(m.maintenance, btc.mm + eth.mm, 1e-9))
        #expect(market.snapshot(of: account, now: Kit.now).underlyings[0].range == 0.16 * 1.5)
    }

    /// Long 2 perps at 61 000 alone: loss = max(2·61 000·0.16, 0.35·2·61 000·0.33) = 19 520; plus the add-on.
    @Test func linearOnlyByHand() {
        var (market, account) = Kit.workedExample()
        account.apply(.mode(.portfolio))
        _ = market
        let m = market.margin(of: account, now: Kit.now)
        #expect(near(m.maintenance, 3 * 61_000 * 0.16 + 1.5, 1e-12))
        #expect(near(m.initial, (3 * 61_000 * 0.16 + 1.5) / 0.8, 1e-12))
    }

    /// Far out-of-the-money short options lose most in the extreme move: 0.35 weights it.
    @Test func extremeMoveCanDominate() {
        var market = MarketView()
        market.define(Kit.perp())
        market.updateMark("BTC-PERP", mark: 60_000)
        let leg = Leg(symbol: "C-80000", size: -10, mark: 1, strike: 80_000, expiry: Kit.now + 3 * Kit.day, iv: 0.3,
                      addon: 10 * 1 * 0.005)
        market.define(Kit.option(leg.symbol, strike: leg.strike, expiry: leg.expiry, type: .call))
        market.updateMark(leg.symbol, mark: 1, iv: 0.3)
        var account = Account(mode: .portfolio)
        account.apply(.position(instrument: leg.symbol, size: -10, entryPrice: 1))
        let want = Self.bruteForce([leg], forward: 60_000, range: 0.16)
        // The +50 % move puts F = 90 000 10 000 in the money: 0.35·10·10 000; the grid's +16 % stays far out.
        let weighted: Double = 0.35 * 10 * 9_900
        #expect(want.loss > weighted)
        #expect(near(market.margin(of: account, now: Kit.now).maintenance, want.mm, 1e-9))
    }
}
