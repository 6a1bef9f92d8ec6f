/// The random part of the price dynamics: correlated log-price walks with clustered volatility and jumps.
///
/// Time advances on a fixed grid of `stepMicros`. Each step draws a market factor and one idiosyncratic shock per
/// asset (correlation 0.8), scaled by the asset's calm vol, the scenario's vol multiplier and a clustering factor
/// `exp(v)`. `v` is a mean-reverting log-vol (half-life about a minute) fed by the size of the market shock, so
/// quiet and busy stretches alternate (GARCH-like). Market-wide jumps arrive as a Poisson process, each raising
/// `v`. The scripted crash path is added on top by `fairPrice`, and trades push prices through `applyImpact`.
struct MarketProcess {
    /// The stochastic log-price of each asset.
    private(set) var logPrice: [Double]
    /// A slow moving average of each log-price, which prices revert to during a volatility spike (so the spike
    /// oscillates instead of drifting away).
    private var anchor: [Double]
    /// The log of the volatility-clustering factor.
    private var logVolState: Double
    /// `exp(logVolState)`, clamped to `0.7...1.5`.
    private(set) var clusterFactor: Double
    private var nextStepMicros: Int64
    let stepMicros: Int64
    private let annualVols: [Double]
    private let betas: [Double]

    private static let secondsPerYear = 365.0 * 86_400
    private static let correlation = 0.8
    private static let logVolDeviation = 0.25
    private static let logVolHalfLifeSeconds = 60.0

    /// Starts every asset at its start price, on a grid of `stepMicros` from `startMicros`.
    init(assets: [AssetSpec], startMicros: Int64, stepMicros: Int64, random: inout FeedRandom) {
        logPrice = assets.map { Libm.ln($0.startPrice) }
        anchor = logPrice
        annualVols = assets.map(\.annualVol)
        betas = assets.map(\.beta)
        logVolState = min(max(Self.logVolDeviation * random.normal(), -0.3), 0.3)
        clusterFactor = Libm.exponential(logVolState)
        self.stepMicros = max(1, stepMicros)
        nextStepMicros = startMicros + self.stepMicros
    }

    /// Runs every grid step at or before `t`.
    @inline(__always)
    mutating func advance(to t: Int64, profile: StressProfile, random: inout FeedRandom) {
        while nextStepMicros <= t {
            step(at: nextStepMicros, profile: profile, random: &random)
            nextStepMicros += stepMicros
        }
    }

    /// The fair price of `asset` at `t`: the walk plus the scenario's scripted offset.
    @inline(__always)
    func fairPrice(asset: Int, at t: Int64, profile: StressProfile) -> Double {
        let value = Libm.exponential(logPrice[asset] + profile.priceOffset(asset: asset, at: t))
        return value.isFinite ? min(max(value, 1e-6), 1e12) : 1e-6
    }

    /// Moves `asset` by the permanent impact of an aggressive trade of `signedNotional` USD (positive for buys);
    /// thinner books (`depthMultiplier` < 1) move more, by the square root of the thinning.
    mutating func applyImpact(asset: Int, signedNotional: Double, impactPerMillion: Double, depthMultiplier: Double) {
        logPrice[asset] += impactPerMillion * signedNotional / 1_000_000 / max(depthMultiplier, 1e-4).squareRoot()
    }

    private mutating func step(at t: Int64, profile: StressProfile, random: inout FeedRandom) {
        let seconds = Double(stepMicros) / 1_000_000
        let stress = profile.stress(at: t)
        let multiplier = profile.volMultiplier(at: t, stress: stress)
        let scale = multiplier * clusterFactor * (seconds / Self.secondsPerYear).squareRoot()
        let idiosyncratic = (1 - Self.correlation * Self.correlation).squareRoot()
        let market = random.normal()
        let reversion = profile.scenario == .volSpike ? min(1, seconds / 30 * stress) : 0
        let anchorWeight = min(1, seconds / 300)
        for asset in logPrice.indices {
            let shock = Self.correlation * market + idiosyncratic * random.normal()
            var x = logPrice[asset] + annualVols[asset] * scale * shock
            x -= (x - anchor[asset]) * reversion
            logPrice[asset] = x
            anchor[asset] += (x - anchor[asset]) * anchorWeight
        }

        let persistence = Libm.exponential(-seconds * 0.693_147 / Self.logVolHalfLifeSeconds)
        let innovation = Self.logVolDeviation * (1 - persistence * persistence).squareRoot() * random.normal()
        let feedback = 0.03 * (abs(market) - 0.797_885)  // E|z| for a standard normal
        logVolState = logVolState * persistence + innovation + feedback

        if random.uniform() < profile.jumpRate(stress: stress) * seconds {
            let calmJump = 8 * 0.45 / Self.secondsPerYear.squareRoot()  // 8 calm BTC one-second moves
            let jump = profile.jumpMean(at: t, stress: stress) + calmJump * multiplier * random.normal()
            for asset in logPrice.indices { logPrice[asset] += betas[asset] * jump }
            logVolState += 0.15
        }
        logVolState = min(max(logVolState, -1), 1)
        clusterFactor = min(max(Libm.exponential(logVolState), 0.7), 1.5)
    }
}
