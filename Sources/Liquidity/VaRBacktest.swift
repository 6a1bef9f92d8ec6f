#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The VaR backtest of one instrument (SPEC §7): exceptions of next-interval returns against the 99 % VaR,
/// Kupiec's proportion-of-failures test, Christoffersen's independence test, and the Basel traffic light.
public struct VaRBacktest: Sendable, Equatable {
    /// The exception probability of a 99 % VaR.
    public static let p = 0.01

    /// 1 where the observation was an exception, in record order.
    public private(set) var hits: [Bool] = []
    /// The previous record's per-interval EWMA σ (nil when undefined).
    private var previousSigma: Double?

    public init() {}

    /// Adds a record in order: its return (nil when undefined) and its per-interval EWMA σ (nil when undefined).
    /// An observation is a pair of consecutive records with σ_t and r_{t+1} both defined; an exception is
    /// `r_{t+1} < −2.326348·σ_t`.
    public mutating func add(ret: Double?, sigma: Double?) {
        if let s = previousSigma, let r = ret { hits.append(r < -z99 * s) }
        previousSigma = sigma
    }

    public var observations: Int { hits.count }
    public var exceptions: Int { hits.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Kupiec's POF likelihood ratio; nil without observations.
    public var kupiecLR: Double? {
        let n = Double(observations), x = Double(exceptions)
        guard n > 0 else { return nil }
        let observed = x / n
        return -2 * (xlogy(n - x, 1 - Self.p) + xlogy(x, Self.p)) + 2 * (xlogy(n - x, 1 - observed) + xlogy(x, observed))
    }

    /// Christoffersen's independence likelihood ratio over the two-state Markov chain of hits; nil with fewer
    /// than two observations.
    public var christoffersenLR: Double? {
        guard hits.count >= 2 else { return nil }
        var n00 = 0.0, n01 = 0.0, n10 = 0.0, n11 = 0.0
        for i in 1..<hits.count {
            switch (hits[i - 1], hits[i]) {
            case (false, false): n00 += 1
            case (false, true): n01 += 1
            case (true, false): n10 += 1
            case (true, true): n11 += 1
            }
        }
        let pi0 = n00 + n01 > 0 ? n01 / (n00 + n01) : 0
        let pi1 = n10 + n11 > 0 ? n11 / (n10 + n11) : 0
        let pi = (n01 + n11) / (n00 + n01 + n10 + n11)
        let restricted = xlogy(n00 + n10, 1 - pi) + xlogy(n01 + n11, pi)
        let unrestricted = xlogy(n00, 1 - pi0) + xlogy(n01, pi0) + xlogy(n10, 1 - pi1) + xlogy(n11, pi1)
        return -2 * restricted + 2 * unrestricted
    }

    /// Conditional coverage: Kupiec + Christoffersen.
    public var conditionalCoverageLR: Double? {
        guard let k = kupiecLR, let c = christoffersenLR else { return nil }
        return k + c
    }

    public enum TrafficLight: String, Sendable { case green, yellow, red }

    /// Green while the binomial P(X ≤ exceptions) on this run's observations is < 0.95, yellow while < 0.9999,
    /// else red.
    public var trafficLight: TrafficLight {
        let cdf = binomialCDF(exceptions, n: observations, p: Self.p)
        return cdf < 0.95 ? .green : cdf < 0.9999 ? .yellow : .red
    }
}

/// `x·ln(y)` with `0·ln(0) = 0`.
func xlogy(_ x: Double, _ y: Double) -> Double { x == 0 ? 0 : x * log(y) }

/// P(X ≤ k) for X ~ Binomial(n, p), summed in log space.
public func binomialCDF(_ k: Int, n: Int, p: Double) -> Double {
    guard k < n else { return 1 }
    var sum = 0.0
    let lnP = log(p), lnQ = log(1 - p), lnN = logGamma(Double(n) + 1)
    for i in 0...k {
        sum += exp(lnN - logGamma(Double(i) + 1) - logGamma(Double(n - i) + 1) + Double(i) * lnP + Double(n - i) * lnQ)
    }
    return min(sum, 1)
}

/// ln Γ(x) (the C library's `lgamma`, without the sign-returning overload).
func logGamma(_ x: Double) -> Double {
    let value: Double = lgamma(x)
    return value
}
