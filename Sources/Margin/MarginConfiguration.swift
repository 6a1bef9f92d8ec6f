public import Events

/// Settings of real-time margin (SPEC §6, §9 `margin:` and `stress:`).
///
/// A plain value: validate it once with ``validate()`` when the configuration is loaded, then hand it to
/// ``MarketView/init(configuration:)``, which precomputes what the hot paths need (the default tier table, ranges
/// per underlying, collateral pricing).
public struct MarginConfiguration: Sendable, Equatable {
    /// The coverage thresholds below which an account enters a level (`margin.levels`).
    public struct Levels: Sendable, Equatable {
        /// Coverage below this is at least `warning`. Default: 1.5.
        public var warning: Double = 1.5
        /// Coverage below this is at least `margin_call`. Default: 1.2.
        public var marginCall: Double = 1.2
        /// Coverage below this is at least `liquidation`. Default: 1.0.
        public var liquidation: Double = 1.0
        public init() {}
    }

    /// Portfolio-mode settings (`margin.portfolio`).
    public struct Portfolio: Sendable, Equatable {
        /// `range.default`: the price range R of the scenario grid. Default: 0.16.
        public var defaultRange: Double = 0.16
        /// `range.<underlying>`: per-underlying overrides of R.
        public var rangeByUnderlying: [String: Double] = [:]
        /// `mm_factor`: IM = MM / mm_factor. Default: 0.8.
        public var mmFactor: Double = 0.8
        /// `default_iv`: the implied vol of options without a known `iv`. Default: 0.8.
        public var defaultIV: Double = 0.8
        public init() {}

        /// R for `underlying` before stress.
        public func range(for underlying: String) -> Double { rangeByUnderlying[underlying] ?? defaultRange }
    }

    /// How a non-USD asset counts as collateral (`margin.collateral.<asset>`).
    public struct Collateral: Sendable, Equatable {
        /// The instrument whose mark prices one unit of the asset in USD.
        public var instrument: String
        /// The fraction of a positive balance's value that does not count. Default: 0.
        public var haircut: Double
        public init(instrument: String, haircut: Double = 0) { self.instrument = instrument; self.haircut = haircut }
    }

    /// Stressed parameters for instruments with an active trigger of at least `minSeverity` (SPEC §4, `stress:`).
    public struct Stress: Sendable, Equatable {
        /// Default: 2.
        public var minSeverity: Int = 2
        /// k_m, applied to a stressed position's tiered or option margin (standard mode). Default: 1.5.
        public var marginMultiplier: Double = 1.5
        /// Applied to R of an underlying whose reference is stressed (portfolio mode). Default: 1.5.
        public var rangeMultiplier: Double = 1.5
        /// k_l, applied to a stressed position's liquidity add-on (both modes). Default: 2.0.
        public var liquidityMultiplier: Double = 2.0
        public init() {}
    }

    /// `margin.tiers`: the tiers of instruments without their own. Default: `[{cap: 1e12, imr: 0.02, mmr: 0.01}]`.
    public var tiers: [MarginTier] = [MarginTier(cap: 1e12, imr: 0.02, mmr: 0.01)] {
        didSet { defaultTierTable = TierTable(tiers) }
    }
    /// `margin.levels`.
    public var levels = Levels()
    /// `margin.hysteresis` h: a better level needs coverage ≥ its entry threshold + h. Default: 0.05.
    public var hysteresis: Double = 0.05
    /// `margin.beyond_bps`: the cost of quantity beyond the visible book, in bps of mid. Default: 50.
    public var beyondBps: Double = 50
    /// `margin.liquidity_multiplier`: scales every liquidity add-on. Default: 1.
    public var liquidityMultiplier: Double = 1
    /// `margin.snapshot_interval` in µs of event time (used by the account stage, not by the math). Default: 1 s.
    public var snapshotIntervalMicros: Int64 = 1_000_000
    /// `margin.portfolio`.
    public var portfolio = Portfolio()
    /// `margin.collateral`: non-USD assets that count as collateral. Assets not listed are worth 0.
    public var collateral: [String: Collateral] = [:]
    /// `stress`.
    public var stress = Stress()

    /// `tiers` with the cumulative deductions precomputed.
    public private(set) var defaultTierTable = TierTable([MarginTier(cap: 1e12, imr: 0.02, mmr: 0.01)])

    public init() {}

    /// Checks every field, naming the first bad one by its configuration path.
    /// - Throws: ``MarginConfigurationError`` with the path (`margin.tiers[1].cap`, …).
    public func validate() throws(MarginConfigurationError) {
        func check(_ ok: Bool, _ path: String, _ message: String) throws(MarginConfigurationError) {
            if !ok { throw MarginConfigurationError(path: path, message: message) }
        }
        try check(!tiers.isEmpty, "margin.tiers", "must not be empty")
        for (i, tier) in tiers.enumerated() {
            try check(tier.cap > 0 && tier.cap.isFinite, "margin.tiers[\(i)].cap", "must be positive")
            try check(tier.imr > 0 && tier.imr.isFinite, "margin.tiers[\(i)].imr", "must be positive")
            try check(tier.mmr > 0 && tier.mmr.isFinite, "margin.tiers[\(i)].mmr", "must be positive")
            if i > 0 { try check(tier.cap > tiers[i - 1].cap, "margin.tiers[\(i)].cap", "caps must increase") }
        }
        try check(levels.liquidation > 0, "margin.levels.liquidation", "must be positive")
        try check(levels.marginCall > levels.liquidation, "margin.levels.margin_call", "must exceed liquidation")
        try check(levels.warning > levels.marginCall, "margin.levels.warning", "must exceed margin_call")
        try check(hysteresis >= 0 && hysteresis.isFinite, "margin.hysteresis", "must be ≥ 0")
        try check(beyondBps >= 0 && beyondBps.isFinite, "margin.beyond_bps", "must be ≥ 0")
        try check(liquidityMultiplier >= 0 && liquidityMultiplier.isFinite, "margin.liquidity_multiplier",
                  "must be ≥ 0")
        try check(portfolio.defaultRange > 0 && portfolio.defaultRange < 1, "margin.portfolio.range.default",
                  "must be in (0, 1)")
        for (u, r) in portfolio.rangeByUnderlying.sorted(by: { $0.key < $1.key }) {
            try check(r > 0 && r < 1, "margin.portfolio.range.\(u)", "must be in (0, 1)")
        }
        try check(portfolio.mmFactor > 0 && portfolio.mmFactor <= 1, "margin.portfolio.mm_factor", "must be in (0, 1]")
        try check(portfolio.defaultIV > 0 && portfolio.defaultIV.isFinite, "margin.portfolio.default_iv",
                  "must be positive")
        for (asset, c) in collateral.sorted(by: { $0.key < $1.key }) {
            try check(!c.instrument.isEmpty, "margin.collateral.\(asset).instrument", "must not be empty")
            try check(c.haircut >= 0 && c.haircut <= 1, "margin.collateral.\(asset).haircut", "must be in [0, 1]")
        }
        try check(stress.minSeverity >= 1, "stress.min_severity", "must be ≥ 1")
        try check(stress.marginMultiplier > 0, "stress.margin_multiplier", "must be positive")
        try check(stress.rangeMultiplier > 0, "stress.range_multiplier", "must be positive")
        try check(stress.liquidityMultiplier >= 0, "stress.liquidity_multiplier", "must be ≥ 0")
    }
}

/// A configuration field with a bad value.
public struct MarginConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field's configuration path, e.g. `margin.tiers[0].cap`.
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// Margin tiers with each tier's cumulative deduction: `cum_i = cum_{i−1} + cap_{i−1}·(mmr_i − mmr_{i−1})`,
/// `cum_0 = 0`, so that `MM = N·mmr_i − cum_i` is continuous in the notional N.
public struct TierTable: Sendable, Equatable {
    /// One tier and its deduction.
    public struct Row: Sendable, Equatable {
        public var cap: Double
        public var imr: Double
        public var mmr: Double
        public var cum: Double
    }

    public let rows: [Row]

    /// Builds the table from tiers ordered by `cap` (at least one).
    public init(_ tiers: [MarginTier]) {
        var rows: [Row] = []
        rows.reserveCapacity(tiers.count)
        var cum = 0.0
        for (i, t) in tiers.enumerated() {
            if i > 0 { cum = cum + tiers[i - 1].cap * (t.mmr - tiers[i - 1].mmr) }
            rows.append(Row(cap: t.cap, imr: t.imr, mmr: t.mmr, cum: cum))
        }
        self.rows = rows
    }

    /// Maintenance and initial margin of a linear notional `N`: tier i is the first with `N ≤ cap_i`, the last
    /// one beyond; `MM = N·mmr_i − cum_i`, `IM = N·imr_i`.
    /// - Complexity: O(tiers), no allocation.
    @inlinable
    public func margin(notional n: Double) -> (maintenance: Double, initial: Double) {
        rows.withUnsafeBufferPointer { rows in
            guard !rows.isEmpty else { return (0, 0) }
            var i = 0
            while i < rows.count - 1, n > rows[i].cap { i += 1 }
            let row = rows[i]
            return (n * row.mmr - row.cum, n * row.imr)
        }
    }
}
