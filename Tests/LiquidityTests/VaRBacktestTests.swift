import Foundation
import Liquidity
import Testing

@Suite("VaR backtest")
struct VaRBacktestTests {
    func backtest(hits: [Bool]) -> VaRBacktest {
        // σ = 1 every interval; a return of −3 is an exception (< −2.326348), −1 is not.
        var b = VaRBacktest()
        b.add(ret: nil, sigma: 1)
        for hit in hits { b.add(ret: hit ? -3 : -1, sigma: 1) }
        return b
    }

    @Test("observations need σ_t and r_{t+1}; exceptions are r_{t+1} < −2.326348·σ_t")
    func observations() {
        var b = VaRBacktest()
        b.add(ret: nil, sigma: nil)       // first record: nothing before it
        b.add(ret: 0.01, sigma: 0.01)     // σ_{t} undefined before: no observation
        b.add(ret: -0.0233, sigma: 0.01)  // −0.0233 < −0.02326348: exception
        b.add(ret: -0.0232, sigma: nil)   // not below: no exception
        b.add(ret: -1, sigma: 0.01)       // previous σ undefined: no observation
        #expect(b.observations == 2)
        #expect(b.exceptions == 1)
        #expect(b.hits == [true, false])
    }

    @Test("Kupiec's LR equals its closed form 2[x ln(x/np) + (n−x) ln((n−x)/(n(1−p)))]", arguments: [(250, 4), (250, 10), (500, 1), (1000, 23)])
    func kupiec(n: Int, x: Int) throws {
        let b = backtest(hits: (0..<n).map { $0 < x })
        let nd = Double(n), xd = Double(x), p = 0.01
        let expected = 2 * (xd * Foundation.log(xd / (nd * p)) + (nd - xd) * Foundation.log((nd - xd) / (nd * (1 - p))))
        let lr = try #require(b.kupiecLR)
        #expect(abs(lr - expected) <= 1e-9 * max(1, abs(expected)))
    }

    @Test("Kupiec with no exception: −2·n·ln(0.99) (0·ln 0 = 0)")
    func kupiecZero() throws {
        let lr = try #require(backtest(hits: Array(repeating: false, count: 250)).kupiecLR)
        #expect(abs(lr - (-2 * 250 * Foundation.log(0.99))) < 1e-9)
    }

    @Test("Christoffersen's LR from transition counts worked by hand")
    func christoffersen() throws {
        // Hits: 0 0 1 1 0 0 0 1 0 0 → transitions: 00:4 01:2 10:2 11:1 (9 in all).
        let hits = [false, false, true, true, false, false, false, true, false, false]
        let b = backtest(hits: hits)
        let (n00, n01, n10, n11) = (4.0, 2.0, 2.0, 1.0)
        let pi0 = n01 / (n00 + n01), pi1 = n11 / (n10 + n11), pi = (n01 + n11) / 9
        func l(_ x: Double, _ y: Double) -> Double { x * Foundation.log(y) }
        let expected = -2 * (l(n00 + n10, 1 - pi) + l(n01 + n11, pi))
            + 2 * (l(n00, 1 - pi0) + l(n01, pi0) + l(n10, 1 - pi1) + l(n11, pi1))
        let lr = try #require(b.christoffersenLR)
        #expect(abs(lr - expected) < 1e-12)
        #expect(abs(try #require(b.conditionalCoverageLR) - (lr + (try #require(b.kupiecLR)))) < 1e-12)
    }

    @Test("no exceptions at all: independence LR is 0")
    func christoffersenNoHits() throws {
        #expect(try #require(backtest(hits: Array(repeating: false, count: 100)).christoffersenLR) == 0)
    }

    /// The Basel Committee's table for 250 observations: cumulative probabilities 89.22 % (4), 95.88 % (5),
    /// 99.97 % (9), 99.99 % (10) — green up to 4, yellow 5…9, red from 10.
    @Test("Basel traffic light on 250 observations", arguments: [(0, "green"), (4, "green"), (5, "yellow"), (9, "yellow"), (10, "red"), (15, "red")])
    func trafficLight(exceptions: Int, light: String) {
        #expect(backtest(hits: (0..<250).map { $0 < exceptions }).trafficLight.rawValue == light)
    }

    @Test("binomial CDF against the Basel table", arguments: [(4, 0.8922), (5, 0.9588), (9, 0.9997), (10, 0.9999)])
    func cdf(x: Int, expected: Double) {
        #expect(abs(binomialCDF(x, n: 250, p: 0.01) - expected) < 5e-5)
    }
}
