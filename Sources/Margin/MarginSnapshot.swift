/// One position in a margin snapshot (the `positions` items of `margin-calls` and `account-margin`).
public struct PositionMargin: Sendable, Equatable {
    public var instrument: String
    /// Signed size (long > 0).
    public var size: Double
    /// Average entry price (the premium for options).
    public var entry: Double
    public var mark: Double
    /// `|size|·mark·mult`.
    public var notional: Double
    /// The position's MM including its add-on; nil in portfolio mode (margin is per underlying there).
    public var maintenance: Double?
    /// The position's IM including its add-on; nil in portfolio mode.
    public var initial: Double?
    /// The cost of closing against the book, after multipliers.
    public var liquidityAddon: Double
    /// `size·mult·(mark − entry)`.
    public var upnl: Double

    public init(instrument: String, size: Double, entry: Double, mark: Double, notional: Double, maintenance: Double?,
                initial: Double?, liquidityAddon: Double, upnl: Double) {
        self.instrument = instrument
        self.size = size
        self.entry = entry
        self.mark = mark
        self.notional = notional
        self.maintenance = maintenance
        self.initial = initial
        self.liquidityAddon = liquidityAddon
        self.upnl = upnl
    }
}

/// The reference price at which an underlying's positions bring coverage to the liquidation threshold.
public struct LiquidationPrice: Sendable, Equatable {
    /// The underlying (an unknown instrument's own symbol).
    public var underlying: String
    /// The instrument whose mark is F for this underlying (nil when unknown).
    public var reference: String?
    /// F*; nil when no root lies within [0.01·F, 10·F] or F is unknown.
    public var price: Double?

    public init(underlying: String, reference: String?, price: Double?) {
        self.underlying = underlying
        self.reference = reference
        self.price = price
    }
}

/// An account's margin with its breakdown (SPEC §6): what `margin-calls` and `account-margin` carry besides the
/// account, time, level and cause.
public struct MarginSnapshot: Sendable, Equatable {
    public var equity: Double
    public var maintenance: Double
    public var initial: Double
    /// `E / MM`; nil when MM = 0.
    public var coverage: Double?
    /// `max(0, IM − E)`.
    public var shortfall: Double
    public var mode: MarginMode
    /// Every open position, in account order.
    public var positions: [PositionMargin]
    /// Per underlying, in portfolio mode (empty in standard mode).
    public var underlyings: [UnderlyingMargin]
    /// Per underlying, in order of first appearance among the positions.
    public var liquidationPrices: [LiquidationPrice]
}

extension MarketView {
    /// The account's margin with per-position (and, in portfolio mode, per-underlying) breakdown and
    /// liquidation prices. Its totals equal ``margin(of:now:)`` bit for bit.
    /// - Complexity: allocates the breakdown; the liquidation prices cost up to a few hundred margin evaluations.
    public func snapshot(of account: Account, now: Int64) -> MarginSnapshot {
        let summary = margin(of: account, now: now)
        var rows: [PositionMargin] = []
        rows.reserveCapacity(account.positions.count)
        let isStandard = account.mode == .standard
        for (i, p) in account.positions.enumerated() {
            let r = resolved(p, at: i)
            let terms = standardTerms(p, r, factor: 1)
            let mult = r.q.multiplier
            rows.append(PositionMargin(
                instrument: p.instrument, size: p.size, entry: p.entryPrice, mark: r.mark,
                notional: abs(p.size) * r.mark * mult,
                maintenance: isStandard ? terms.maintenance : nil, initial: isStandard ? terms.initial : nil,
                liquidityAddon: terms.addon, upnl: p.size * mult * (r.mark - p.entryPrice)))
        }
        var underlyings: [UnderlyingMargin] = []
        if !isStandard {
            _ = portfolioMaintenance(of: account, now: now, shift: .none) { underlyings.append($0) }
        }
        return MarginSnapshot(
            equity: summary.equity, maintenance: summary.maintenance, initial: summary.initial,
            coverage: summary.coverage, shortfall: summary.shortfall, mode: account.mode, positions: rows,
            underlyings: underlyings, liquidationPrices: liquidationPrices(of: account, now: now))
    }
}
