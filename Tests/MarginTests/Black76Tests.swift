import Margin
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Black-76")
struct Black76Tests {
    /// Φ against textbook table values (4 decimals, e.g. Hull's Table for N(x)) and the independent reference.
    @Test(arguments: [(0.0, 0.5), (1.0, 0.8413), (-1.0, 0.1587), (1.96, 0.9750), (2.326, 0.9900), (-0.5, 0.3085)])
    func normalCDF(x: Double, table: Double) {
        #expect(abs(Black76.normalCDF(x) - table) < 5e-5)
        #expect(abs(Black76.normalCDF(x) - referencePhi(x)) < 1e-14)
    }

    /// Hull, Options, Futures and Other Derivatives, Black's model example: a 4-month European put futures option,
    /// F = K = 20, r = 9 %, σ = 25 % → p = e^{−rT}·(20·N(−d2) − 20·N(−d1)) = 1.12. With r = 0 the value is the
    /// undiscounted bracket; discounting it reproduces Hull's 1.12.
    @Test func hullPutFuturesOption() {
        let p = Black76.put(forward: 20, strike: 20, years: 4.0 / 12, vol: 0.25)
        #expect(abs(exp(-0.09 * 4 / 12) * p - 1.12) < 0.005)
        // At the money: p = c = F·(2Φ(σ√T/2) − 1).
        let atm = 20 * (2 * referencePhi(0.25 * (4.0 / 12).squareRoot() / 2) - 1)
        #expect(near(p, atm, 1e-13))
        #expect(near(Black76.call(forward: 20, strike: 20, years: 4.0 / 12, vol: 0.25), atm, 1e-13))
    }

    /// Against the independent implementation on a grid of moneyness, maturities and vols.
    @Test(arguments: [0.5, 0.8, 0.95, 1.0, 1.07, 1.3, 2.5])
    func matchesReference(moneyness: Double) {
        let k = 70_000.0
        for years in [1.0 / 365, 0.1, 0.5, 2.0] {
            for vol in [0.05, 0.4, 0.8, 1.5] {
                let f = k * moneyness
                for isCall in [true, false] {
                    let got = Black76.price(forward: f, strike: k, years: years, vol: vol, isCall: isCall)
                    let want = referenceBlack76(forward: f, strike: k, years: years, vol: vol, isCall: isCall)
                    #expect(abs(got - want) <= 1e-9 * f, "F \(f) T \(years) σ \(vol) call \(isCall)")
                }
            }
        }
    }

    /// c − p = F − K with r = 0.
    @Test(arguments: [(64_000.0, 70_000.0, 0.25, 0.55), (61_000, 50_000, 0.01, 1.2), (100, 100, 3, 0.2),
                      (20, 35, 0.5, 2.0)])
    func putCallParity(f: Double, k: Double, years: Double, vol: Double) {
        let c = Black76.call(forward: f, strike: k, years: years, vol: vol)
        let p = Black76.put(forward: f, strike: k, years: years, vol: vol)
        #expect(abs((c - p) - (f - k)) <= 1e-10 * max(f, k))
        #expect(c >= max(0, f - k) - 1e-9 && p >= max(0, k - f) - 1e-9)
    }

    @Test func expiredAndDegenerateAreIntrinsic() {
        #expect(Black76.call(forward: 110, strike: 100, years: 0, vol: 0.5) == 10)
        #expect(Black76.put(forward: 110, strike: 100, years: -1, vol: 0.5) == 0)
        #expect(Black76.put(forward: 90, strike: 100, years: 1, vol: 0) == 10)
        #expect(Black76.call(forward: 0, strike: 100, years: 1, vol: 0.5) == 0)
    }
}
