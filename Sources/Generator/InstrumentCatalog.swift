/// A decimal grid such as a tick or lot size: values are integer counts of `step`, printed exactly.
struct DecimalGrid: Sendable {
    /// The step in units of 10^-`decimals` (`5` for 0.5 with one decimal).
    let unitsPerStep: Int64
    /// The decimals needed to print any multiple of the step.
    let decimals: Int
    /// The step as a number (`0.5`).
    let step: Double

    /// The grid of `unitsPerStep × 10^-decimals` (`DecimalGrid(unitsPerStep: 5, decimals: 1)` is 0.5).
    init(unitsPerStep: Int64, decimals: Int) {
        self.unitsPerStep = unitsPerStep
        self.decimals = decimals
        step = Double(unitsPerStep) / Double(RecordWriter.powerOfTen(decimals))
    }

    /// The step as JSON text (`0.5`).
    var text: String {
        let scratch = ByteScratch(capacity: 64)
        var writer = RecordWriter(scratch)
        writer.fixed(unitsPerStep, decimals: decimals)
        return writer.makeString()
    }

    /// The count of steps nearest to a non-negative `value` (at least `minimum`).
    @inline(__always)
    func steps(_ value: Double, minimum: Int64 = 1) -> Int64 {
        let raw = value / step
        guard raw.isFinite, raw > 0 else { return minimum }
        return max(minimum, Int64(min(raw, 1e15) + 0.5))  // round half up; cheaper than `rounded()`
    }
}

/// One underlying market: its perpetual's contract terms and the parameters of its simulated dynamics.
struct AssetSpec: Sendable {
    /// The underlying (`BTC`).
    let name: String
    /// The perpetual's symbol (`BTC-PERP`).
    let perpetual: String
    /// The mid at the start of every feed.
    let startPrice: Double
    /// Calm annualized volatility of the mid.
    let annualVol: Double
    /// Sensitivity to market-wide jumps and to the flash crash (BTC = 1).
    let beta: Double
    /// Calm top-of-book spread in bps.
    let spreadBps: Double
    /// Calm distance between book levels in bps.
    let levelGapBps: Double
    /// Tick size.
    let tick: DecimalGrid
    /// Lot size (the smallest size).
    let lot: DecimalGrid
    /// Calm size of the best level, in lots.
    let topLots: Double
    /// Median notional of a market trade in USD.
    let tradeNotional: Double
    /// Permanent price impact of 1 M USD of aggressor notional, in log-price, at calm depth.
    let impactPerMillion: Double
    /// Mean time between trades as a multiple of the quote interval.
    let tradeIntervalFactor: Double
    /// The margin tiers as JSON (SPEC section 2).
    let tiersJSON: String
}

/// The contract terms of a listed option on the BTC perpetual.
struct OptionTerms: Sendable {
    let expiryMicros: Int64
    let strike: Double
    let isCall: Bool
    /// At-the-money implied vol of the option's expiry in a calm market.
    let baseATMVol: Double
}

/// One listed instrument: a perpetual or an option.
struct InstrumentSpec: Sendable {
    /// The symbol, also the Kafka key.
    let symbol: String
    /// Index into `InstrumentCatalog.assets` of the underlying.
    let asset: Int
    /// The option terms; `nil` for a perpetual.
    let option: OptionTerms?
    let tick: DecimalGrid
    let lot: DecimalGrid
    /// The `instruments` record value.
    let json: String
}

/// What the quote and trade paths need about one instrument, flattened and free of strings so that reading it
/// retains nothing.
struct QuotingParameters: Sendable {
    /// Index into `InstrumentCatalog.assets` of the underlying.
    let asset: Int
    let option: OptionTerms?
    let tick: DecimalGrid
    let lot: DecimalGrid
    /// The underlying's calm spread, level gap, top size, trade size and impact (see `AssetSpec`).
    let spreadBps: Double
    let levelGapBps: Double
    let topLots: Double
    let tradeNotional: Double
    let impactPerMillion: Double

    init(_ instrument: InstrumentSpec, asset: AssetSpec) {
        self.asset = instrument.asset
        option = instrument.option
        tick = instrument.tick
        lot = instrument.lot
        spreadBps = asset.spreadBps
        levelGapBps = asset.levelGapBps
        topLots = asset.topLots
        tradeNotional = asset.tradeNotional
        impactPerMillion = asset.impactPerMillion
    }
}

/// The fixed universe of the feed: BTC, ETH and SOL perpetuals and a BTC option chain with two expiries.
struct InstrumentCatalog: Sendable {
    let assets: [AssetSpec]
    /// Perpetuals first (index = asset index), then options.
    let instruments: [InstrumentSpec]
    /// `instruments` as the hot path reads them.
    let quoting: [QuotingParameters]
    /// The symbol of each instrument.
    let symbols: [String]

    /// The index of the BTC asset (the options' underlying and the collateral asset).
    static let bitcoin = 0

    /// The catalog for a feed starting at `startMicros` (the option expiries follow the start).
    init(startMicros: Int64) {
        let assets = Self.assetSpecs
        var instruments: [InstrumentSpec] = assets.enumerated().map { index, asset in
            let json =
                #"{"symbol":"\#(asset.perpetual)","kind":"perpetual","underlying":"\#(asset.name)","#
                + #""reference":"\#(asset.perpetual)","multiplier":1,"tick_size":\#(asset.tick.text),"#
                + #""tiers":\#(asset.tiersJSON)}"#
            return InstrumentSpec(
                symbol: asset.perpetual,
                asset: index,
                option: nil,
                tick: asset.tick,
                lot: asset.lot,
                json: json
            )
        }
        let btc = assets[Self.bitcoin]
        let expiries = ExpiryCalendar.expiries(after: startMicros)
        let chains: [(expiry: Int64, spacing: Double, atmVol: Double)] = [
            (expiries.near, 2_000, 0.52), (expiries.far, 4_000, 0.56),
        ]
        let optionTick = DecimalGrid(unitsPerStep: 1, decimals: 1)
        let optionLot = DecimalGrid(unitsPerStep: 1, decimals: 1)
        for chain in chains {
            let atm = (btc.startPrice / chain.spacing).rounded() * chain.spacing
            let date = ExpiryCalendar.symbolDate(chain.expiry)
            for offset in -2...2 {
                let strike = atm + Double(offset) * chain.spacing
                for isCall in [true, false] {
                    let symbol = "\(btc.name)-\(date)-\(Int64(strike))-\(isCall ? "C" : "P")"
                    let json =
                        #"{"symbol":"\#(symbol)","kind":"option","underlying":"\#(btc.name)","#
                        + #""reference":"\#(btc.perpetual)","multiplier":1,"tick_size":\#(optionTick.text),"#
                        + #""expiry":\#(chain.expiry),"strike":\#(Int64(strike)),"#
                        + #""option_type":"\#(isCall ? "call" : "put")"}"#
                    let terms = OptionTerms(
                        expiryMicros: chain.expiry,
                        strike: strike,
                        isCall: isCall,
                        baseATMVol: chain.atmVol
                    )
                    instruments.append(
                        InstrumentSpec(
                            symbol: symbol,
                            asset: Self.bitcoin,
                            option: terms,
                            tick: optionTick,
                            lot: optionLot,
                            json: json
                        )
                    )
                }
            }
        }
        self.assets = assets
        self.instruments = instruments
        quoting = instruments.map { QuotingParameters($0, asset: assets[$0.asset]) }
        symbols = instruments.map(\.symbol)
    }

    /// BTC, ETH and SOL with realistic 2025 magnitudes.
    static let assetSpecs: [AssetSpec] = [
        AssetSpec(
            name: "BTC",
            perpetual: "BTC-PERP",
            startPrice: 64_000,
            annualVol: 0.45,
            beta: 1.0,
            spreadBps: 1.0,
            levelGapBps: 0.3,
            tick: DecimalGrid(unitsPerStep: 5, decimals: 1),
            lot: DecimalGrid(unitsPerStep: 1, decimals: 3),
            topLots: 1_500,
            tradeNotional: 8_000,
            impactPerMillion: 2e-4,
            tradeIntervalFactor: 2,
            tiersJSON: #"[{"cap":50000,"imr":0.008,"mmr":0.004},{"cap":250000,"imr":0.01,"mmr":0.005},"#
                + #"{"cap":1000000,"imr":0.02,"mmr":0.01}]"#
        ),
        AssetSpec(
            name: "ETH",
            perpetual: "ETH-PERP",
            startPrice: 3_400,
            annualVol: 0.55,
            beta: 1.12,
            spreadBps: 1.5,
            levelGapBps: 0.4,
            tick: DecimalGrid(unitsPerStep: 5, decimals: 2),
            lot: DecimalGrid(unitsPerStep: 1, decimals: 2),
            topLots: 2_500,
            tradeNotional: 5_000,
            impactPerMillion: 3e-4,
            tradeIntervalFactor: 3,
            tiersJSON: #"[{"cap":25000,"imr":0.01,"mmr":0.005},{"cap":100000,"imr":0.0125,"mmr":0.00625},"#
                + #"{"cap":500000,"imr":0.025,"mmr":0.0125}]"#
        ),
        AssetSpec(
            name: "SOL",
            perpetual: "SOL-PERP",
            startPrice: 150,
            annualVol: 0.60,
            beta: 1.25,
            spreadBps: 2.5,
            levelGapBps: 0.6,
            tick: DecimalGrid(unitsPerStep: 1, decimals: 3),
            lot: DecimalGrid(unitsPerStep: 1, decimals: 1),
            topLots: 4_000,
            tradeNotional: 3_000,
            impactPerMillion: 6e-4,
            tradeIntervalFactor: 4,
            tiersJSON: #"[{"cap":10000,"imr":0.02,"mmr":0.01},{"cap":50000,"imr":0.025,"mmr":0.0125},"#
                + #"{"cap":250000,"imr":0.05,"mmr":0.025}]"#
        ),
    ]
}
