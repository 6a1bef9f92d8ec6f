/// The scripted part of a scenario: how stressed the market is at each moment and what that does to prices,
/// volatility, books and order flow.
///
/// Stress `s` runs from 0 (calm) to 1 (the scenario's worst moment). Random parts (the price walk, book sizes,
/// trade arrivals) live elsewhere; this type is a pure function of time once its parameters are drawn.
struct StressProfile: Sendable {
    let scenario: Scenario
    let startMicros: Int64
    let durationMicros: Int64

    /// Top-of-book spread at full stress, bps, per asset.
    let peakSpreadBps: [Double]
    /// How many times thinner the book is at full stress.
    let depthDivisor: Double
    /// How many times farther apart book levels are at full stress.
    let gapWidening: Double
    /// Relative rise of option implied vol at full stress.
    let ivRise: Double

    // flash-crash
    let crashStart: Int64
    let fallMicros: Int64
    /// Log-price fall at the bottom, per asset.
    let fallLog: [Double]
    /// Share of the fall regained in the recovery.
    let recoveryFraction: Double
    let recoverySeconds: Double
    let normalizeSeconds: Double
    /// The asset whose perpetual stops quoting during the fall, and when.
    let pausedAsset: Int
    let pause: Range<Int64>

    // vol-spike
    let spikeStart: Int64
    let spikeRampMicros: Int64
    let spikeEnd: Int64
    let spikeMultiplier: Double
    let spikeDecaySeconds: Double

    /// Draws the scenario's parameters (crash depth, peak spreads, spike size…) from `random`.
    init(scenario: Scenario, startMicros: Int64, durationMicros: Int64, assets: [AssetSpec], random: inout FeedRandom) {
        self.scenario = scenario
        self.startMicros = startMicros
        self.durationMicros = durationMicros
        let duration = Double(durationMicros)
        let second = 1_000_000.0

        let fall = random.uniform(0.12, 0.15)
        fallLog = assets.map { fall * $0.beta }
        crashStart = startMicros + Int64(0.4 * duration)
        fallMicros = Int64(min(45 * second, max(5 * second, 0.075 * duration)))
        recoveryFraction = random.uniform(0.3, 0.5)
        recoverySeconds = min(60, max(1, 0.1 * duration / second))
        normalizeSeconds = min(120, max(1, 0.2 * duration / second))
        pausedAsset = 1 + random.below(2)
        let pauseStart = crashStart + fallMicros / 4
        let pauseLength = Int64(min(random.uniform(12, 18) * second, max(second, 0.05 * duration)))
        pause = pauseStart..<(pauseStart + pauseLength)

        spikeStart = startMicros + Int64(0.35 * duration)
        spikeRampMicros = Int64(max(1, min(5 * second, 0.01 * duration)))
        spikeEnd = spikeStart + Int64(min(180 * second, 0.3 * duration))
        spikeMultiplier = random.uniform(5, 8)
        spikeDecaySeconds = min(60, max(1, 0.1 * duration / second))

        switch scenario {
        case .calm:
            peakSpreadBps = assets.map(\.spreadBps)
            (depthDivisor, gapWidening, ivRise) = (1, 1, 0)
        case .flashCrash:
            peakSpreadBps = assets.map { random.uniform(70, 180) * ($0.beta > 1.2 ? 1.2 : 1) }
            (depthDivisor, gapWidening, ivRise) = (random.uniform(15, 40), random.uniform(10, 25), 0.9)
        case .liquidityDrain:
            peakSpreadBps = assets.map { _ in random.uniform(110, 170) }
            (depthDivisor, gapWidening, ivRise) = (random.uniform(20, 40), random.uniform(10, 20), 0.25)
        case .volSpike:
            peakSpreadBps = assets.map { $0.spreadBps * random.uniform(3, 5) }
            (depthDivisor, gapWidening, ivRise) = (random.uniform(2, 4), 2, 0.8)
        }
    }

    /// The stress level in `0...1` at event time `t`.
    func stress(at t: Int64) -> Double {
        switch scenario {
        case .calm:
            return 0
        case .flashCrash:
            guard t >= crashStart else { return 0 }
            let bottom = crashStart + fallMicros
            if t < bottom { return min(1, Double(t - crashStart) / (Double(fallMicros) / 3)) }
            return Libm.exponential(-Double(t - bottom) / 1e6 / normalizeSeconds)
        case .liquidityDrain:
            let u = Double(t - startMicros) / Double(max(durationMicros, 1))
            if u < 0.1 { return 0 }
            if u < 0.7 { return (u - 0.1) / 0.6 }
            if u < 0.8 { return 1 }
            if u < 0.95 { return 1 - (u - 0.8) / 0.15 }
            return 0
        case .volSpike:
            return (volMultiplier(at: t, stress: 0) - 1) / (spikeMultiplier - 1)
        }
    }

    /// The scripted multiplier on every asset's volatility.
    func volMultiplier(at t: Int64, stress s: Double) -> Double {
        switch scenario {
        case .calm: return 1
        case .flashCrash: return 1 + 4 * s
        case .liquidityDrain: return 1 + 0.3 * s
        case .volSpike:
            guard t >= spikeStart else { return 1 }
            let peak = spikeMultiplier - 1
            if t < spikeStart + spikeRampMicros { return 1 + peak * Double(t - spikeStart) / Double(spikeRampMicros) }
            if t < spikeEnd { return spikeMultiplier }
            return 1 + peak * Libm.exponential(-Double(t - spikeEnd) / 1e6 / spikeDecaySeconds)
        }
    }

    /// The scripted log-price offset of `asset` (the flash crash's fall and partial recovery; 0 otherwise).
    func priceOffset(asset: Int, at t: Int64) -> Double {
        guard scenario == .flashCrash, t > crashStart else { return 0 }
        let depth = fallLog[asset]
        let bottom = crashStart + fallMicros
        if t < bottom {
            let u = Double(t - crashStart) / Double(fallMicros)
            return -depth * u * u * (3 - 2 * u)
        }
        let regained = recoveryFraction * (1 - Libm.exponential(-Double(t - bottom) / 1e6 / recoverySeconds))
        return -depth * (1 - regained)
    }

    /// The mean of market-wide jumps in log-price (negative while the crash falls).
    func jumpMean(at t: Int64, stress s: Double) -> Double {
        guard scenario == .flashCrash, t >= crashStart, t < crashStart + fallMicros else { return 0 }
        return -0.003 * s
    }

    /// Market-wide jumps per second.
    func jumpRate(stress s: Double) -> Double { (1 + 9 * s) / 600 }

    /// The probability that a trade's aggressor is a seller.
    func sellProbability(at t: Int64, stress s: Double) -> Double {
        switch scenario {
        case .calm, .volSpike: return 0.5
        case .liquidityDrain: return 0.5 + 0.04 * s
        case .flashCrash: return t < crashStart + fallMicros ? 0.5 + 0.32 * s : 0.5 - 0.1 * s
        }
    }

    /// The multiplier on trade arrival rates.
    func tradeRateMultiplier(stress s: Double) -> Double {
        switch scenario {
        case .calm: return 1
        case .flashCrash: return 1 + 3 * s
        case .liquidityDrain: return 1 - 0.6 * s
        case .volSpike: return 1 + 2 * s
        }
    }

    /// The top-of-book spread of `asset` in bps before per-quote noise, from its calm spread `calmBps`; `cluster`
    /// is the volatility-clustering factor, which widens calm spreads a little when the market is jumpy.
    func spreadBps(asset: Int, calmBps: Double, cluster: Double, stress s: Double) -> Double {
        calmBps * cluster + (peakSpreadBps[asset] - calmBps) * s
    }

    /// The multiplier on book sizes (1 calm, `1/depthDivisor` at full stress).
    func depthMultiplier(stress s: Double) -> Double { 1 / (1 + (depthDivisor - 1) * s) }

    /// The multiplier on the distance between book levels.
    func gapMultiplier(stress s: Double) -> Double { 1 + (gapWidening - 1) * s }

    /// The multiplier on option implied vols.
    func ivMultiplier(stress s: Double) -> Double { 1 + ivRise * s }

    /// When the perpetual of `asset` does not quote or trade (the flash crash's gap), else `nil`.
    func quotePause(asset: Int) -> Range<Int64>? {
        scenario == .flashCrash && asset == pausedAsset && !pause.isEmpty ? pause : nil
    }
}
