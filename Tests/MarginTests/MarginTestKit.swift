import Events
import Margin

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shared fixtures: the SPEC §6 worked example and small helpers.
enum Kit {
    /// 2025-11-24T16:00:00Z in µs, the SPEC examples' era.
    static let now: Int64 = 1_764_000_000_000_000
    static let day: Int64 = 86_400_000_000

    /// The SPEC §2 example tiers.
    static let exampleTiers = [MarginTier(cap: 50_000, imr: 0.008, mmr: 0.004),
                               MarginTier(cap: 250_000, imr: 0.01, mmr: 0.005)]

    static func perp(_ symbol: String = "BTC-PERP", underlying: String = "BTC", tiers: [MarginTier]? = exampleTiers,
                     multiplier: Double = 1) -> Instrument {
        Instrument(symbol: symbol, kind: .perpetual, underlying: underlying, multiplier: multiplier, tiers: tiers)
    }

    static func option(_ symbol: String, strike: Double, expiry: Int64, type: Instrument.OptionType,
                       reference: String = "BTC-PERP", underlying: String = "BTC",
                       multiplier: Double = 1) -> Instrument {
        Instrument(symbol: symbol, kind: .option, underlying: underlying, reference: reference, multiplier: multiplier,
                   expiry: expiry, strike: strike, optionType: type)
    }

    /// USD 10 000, long 3 BTC-PERP from 64 000, mark 61 000, best bid 60 999.5 for 5.
    static func workedExample(configuration: MarginConfiguration = MarginConfiguration(), stress: Int = 0)
        -> (MarketView, Account)
    {
        var market = MarketView(configuration: configuration)
        market.define(perp())
        market.updateMark("BTC-PERP", mark: 61_000, bids: [BookLevel(price: 60_999.5, size: 5)],
                          asks: [BookLevel(price: 61_000.5, size: 5)], stress: stress)
        var account = Account()
        account.apply(.deposit(asset: "USD", amount: 10_000))
        account.apply(.position(instrument: "BTC-PERP", size: 3, entryPrice: 64_000))
        account.bind(to: market)
        return (market, account)
    }

    static func trade(_ instrument: String = "BTC-PERP", price: Double, size: Double, fee: Double? = nil) -> Trade {
        Trade(instrument: instrument, ts: now, id: "T", price: price, size: size, side: .buy, buyer: "a", seller: "b",
              fee: fee)
    }
}

/// Relative closeness: `|a − b| ≤ tolerance·max(1, |a|, |b|)`.
func near(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
    abs(a - b) <= tolerance * max(1, abs(a), abs(b))
}

/// An independent Φ (Marsaglia 2004: `Φ(x) = ½ + φ(x)·(x + x³/3 + x⁵/15 + …)`), absolute error ~1e-15 on
/// |x| ≤ 8; clamped beyond. Deliberately not erfc-based.
func referencePhi(_ x: Double) -> Double {
    if x < -8 { return 0 }
    if x > 8 { return 1 }
    var sum = x, term = x
    var i = 3.0
    while abs(term) > 1e-18 * max(1, abs(sum)) {
        term = term * x * x / i
        sum += term
        i += 2
    }
    return 0.5 + sum * exp(-0.5 * x * x - 0.918_938_533_204_672_741_78)
}

/// An independent Black-76 (r = 0) on ``referencePhi``, literally as SPEC §6 writes it.
func referenceBlack76(forward f: Double, strike k: Double, years t: Double, vol: Double, isCall: Bool) -> Double {
    if t <= 0 { return isCall ? max(0, f - k) : max(0, k - f) }
    let d1 = (log(f / k) + vol * vol * t / 2) / (vol * t.squareRoot())
    let d2 = d1 - vol * t.squareRoot()
    return isCall ? f * referencePhi(d1) - k * referencePhi(d2) : k * referencePhi(-d2) - f * referencePhi(-d1)
}
