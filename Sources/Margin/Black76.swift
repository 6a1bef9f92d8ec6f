#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Black-76 option values with r = 0 (SPEC §6):
/// `call = F·Φ(d1) − K·Φ(d2)`, `put = K·Φ(−d2) − F·Φ(−d1)`, `d1 = (ln(F/K) + σ²T/2)/(σ√T)`, `d2 = d1 − σ√T`,
/// with Φ from `erfc` (accurate in both tails). Put-call parity `call − put = F − K` holds to rounding.
public enum Black76 {
    /// µs in the year used for time to expiry: 365 days.
    public static let yearMicros: Double = 365 * 86_400 * 1_000_000

    /// Φ, the standard normal cumulative distribution: `0.5·erfc(−x/√2)`.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * Libm.erfc(-x * 0.707_106_781_186_547_524_4) }

    /// The value of a call (`isCall`) or put.
    ///
    /// Expired options (`years ≤ 0`), zero vol and a non-positive forward are worth their intrinsic value.
    /// - Parameters:
    ///   - forward: F, the underlying (reference) price.
    ///   - strike: K > 0.
    ///   - years: T, time to expiry in years of 365 days.
    ///   - vol: σ, annualized implied vol.
    /// - Complexity: O(1), no allocation.
    public static func price(forward: Double, strike: Double, years: Double, vol: Double, isCall: Bool) -> Double {
        guard years > 0, vol > 0, forward > 0 else {
            return intrinsic(forward: forward, strike: strike, isCall: isCall)
        }
        let deviation = vol * years.squareRoot()
        let d1 = (Libm.log(forward / strike) + vol * vol * years / 2) / deviation
        return value(forward: forward, strike: strike, d1: d1, deviation: deviation, isCall: isCall)
    }

    /// A call's value; see ``price(forward:strike:years:vol:isCall:)``.
    public static func call(forward: Double, strike: Double, years: Double, vol: Double) -> Double {
        price(forward: forward, strike: strike, years: years, vol: vol, isCall: true)
    }

    /// A put's value; see ``price(forward:strike:years:vol:isCall:)``.
    public static func put(forward: Double, strike: Double, years: Double, vol: Double) -> Double {
        price(forward: forward, strike: strike, years: years, vol: vol, isCall: false)
    }

    /// `max(0, F − K)` for a call, `max(0, K − F)` for a put.
    public static func intrinsic(forward: Double, strike: Double, isCall: Bool) -> Double {
        isCall ? max(0, forward - strike) : max(0, strike - forward)
    }

    /// The value from precomputed parts, for scenario grids: `logMoneyness = ln(F/K)`, `deviation = σ√T > 0`,
    /// `halfVariance = σ²T/2`.
    @inline(__always)
    static func price(forward: Double, strike: Double, logMoneyness: Double, deviation: Double, halfVariance: Double,
                      isCall: Bool) -> Double {
        let d1 = (logMoneyness + halfVariance) / deviation
        return value(forward: forward, strike: strike, d1: d1, deviation: deviation, isCall: isCall)
    }

    @inline(__always)
    static func value(forward: Double, strike: Double, d1: Double, deviation: Double, isCall: Bool) -> Double {
        let d2 = d1 - deviation
        // Φ(x) = 0.5·erfc(−x/√2); Φ(−x) = 0.5·erfc(x/√2).
        let r = 0.707_106_781_186_547_524_4
        if isCall {
            return forward * (0.5 * Libm.erfc(-d1 * r)) - strike * (0.5 * Libm.erfc(-d2 * r))
        }
        return strike * (0.5 * Libm.erfc(d2 * r)) - forward * (0.5 * Libm.erfc(d1 * r))
    }
}

/// The libm functions the margin math uses, so only this file imports the C library. The members have their own
/// namespace because an unqualified `log(x)` inside a member named `log` would recurse.
enum Libm {
    @inline(__always) static func log(_ x: Double) -> Double { cLog(x) }
    @inline(__always) static func log1p(_ x: Double) -> Double { cLog1p(x) }
    @inline(__always) static func erfc(_ x: Double) -> Double { cErfc(x) }
    @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double { cPow(x, y) }
}

@inline(__always) private func cLog(_ x: Double) -> Double { log(x) }
@inline(__always) private func cLog1p(_ x: Double) -> Double { log1p(x) }
@inline(__always) private func cErfc(_ x: Double) -> Double { erfc(x) }
@inline(__always) private func cPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
