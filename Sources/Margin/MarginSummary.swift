/// An account's margin numbers at one instant (SPEC §6), without the per-position breakdown.
public struct MarginSummary: Sendable, Equatable {
    /// E: collateral after haircuts plus linear unrealized P&L plus option values (USD).
    public var equity: Double
    /// MM, including liquidity add-ons (USD).
    public var maintenance: Double
    /// IM, including liquidity add-ons (USD).
    public var initial: Double
    /// Whether the account holds a position or a negative balance (bankruptcy needs one).
    public var hasExposure: Bool
    public var mode: MarginMode

    public init(equity: Double, maintenance: Double, initial: Double, hasExposure: Bool, mode: MarginMode) {
        self.equity = equity
        self.maintenance = maintenance
        self.initial = initial
        self.hasExposure = hasExposure
        self.mode = mode
    }

    /// `E / MM`; nil when MM = 0.
    public var coverage: Double? { maintenance > 0 ? equity / maintenance : nil }
    /// `max(0, IM − E)`: what a deposit must cover to restore initial margin.
    public var shortfall: Double { max(0, initial - equity) }
}

extension MarketView {
    /// The account's equity, maintenance and initial margin at `now` in its mode (SPEC §6).
    ///
    /// The hot path: it allocates nothing and reads each position's market data by its cached slot (see
    /// ``Account/bind(to:)``).
    /// - Parameters:
    ///   - now: event time in µs (the `ts` of the event that caused the recomputation).
    /// - Complexity: O(positions × book levels walked) in standard mode; portfolio mode adds 30 Black-76
    ///   valuations per option.
    public func margin(of account: Account, now: Int64) -> MarginSummary {
        evaluate(account, now: now, shift: .none)
    }

    /// Margin with the marks of one underlying scaled (``PriceShift``); `.none` for the market as it is.
    ///
    /// `E = Σ_assets bal·px·(1 − haircut) + Σ_linear size·mult·(mark − entry) + Σ_options size·mult·mark`: the
    /// three sums accumulate separately in account order and add left to right. Standard MM and IM: per position
    /// its tiered (linear) or short-option margin, times `k_m` when its instrument is stressed, plus its liquidity
    /// add-on (after multipliers), summed in account order.
    ///
    /// - Parameter groups: the underlyings whose terms to count (all by default): a liquidation-price search
    ///   counts the others once and re-evaluates only the shifted one.
    func evaluate(_ account: Account, now: Int64, shift: PriceShift, groups: GroupFilter = .all) -> MarginSummary {
        let cash = cashValue(of: account, shift: shift, groups: groups)
        let isStandard = account.mode == .standard
        var linear = 0.0, options = 0.0, mm = 0.0, im = 0.0
        for (i, p) in account.positions.enumerated() {
            let r = resolved(p, at: i)
            guard groups.includes(r.group) else { continue }
            let s = shift.scale(for: r.group)
            if r.q.isOption {
                options += p.size * r.q.multiplier * optionValue(r, now: now, shift: shift)
            } else {
                linear += p.size * r.q.multiplier * (r.mark * s - p.entryPrice)
            }
            if isStandard {
                let t = standardTerms(p, r, factor: s)
                mm += t.maintenance
                im += t.initial
            }
        }
        if !isStandard {
            mm = portfolioMaintenance(of: account, now: now, shift: shift, groups: groups, report: nil)
            im = mm / configuration.portfolio.mmFactor
        }
        return MarginSummary(equity: cash + linear + options, maintenance: mm, initial: im,
                             hasExposure: account.hasExposure, mode: account.mode)
    }

    /// `Σ_assets bal·px·(1 − haircut)`: negative balances take no haircut; USD is worth 1; other assets the
    /// mark of their configured instrument, or nothing when they are not configured or not yet marked.
    /// USD and unpriced assets belong to no underlying: only ``GroupFilter/all`` and `except` count them.
    func cashValue(of account: Account, shift: PriceShift, groups: GroupFilter = .all) -> Double {
        var cash = 0.0
        for b in account.balances {
            if b.isUSD {
                if groups.includes(GroupFilter.noGroup) { cash += b.amount }
                continue
            }
            let c = resolveCollateral(b.collateral, b.asset)
            guard c >= 0 else { continue }
            let haircut = collateralTable[c].haircut
            let q = quants[Int(collateralTable[c].slot)]
            guard groups.includes(q.underlying >= 0 ? Int(q.underlying) : GroupFilter.noGroup) else { continue }
            guard !q.mark.isNaN else { continue }
            let px = q.underlying >= 0 ? q.mark * shift.scale(for: Int(q.underlying)) : q.mark
            cash += b.amount >= 0 ? b.amount * px * (1 - haircut) : b.amount * px
        }
        return cash
    }

    /// One position's standard-mode margin.
    @inline(__always)
    func standardTerms(_ p: Account.Position, _ r: ResolvedPosition, factor: Double) -> PositionTerms {
        var mm = 0.0, im = 0.0
        if r.q.isOption {
            if p.size < 0 {
                let u = abs(p.size) * r.q.multiplier
                let f = r.forward * factor
                let otm = r.q.kind == .call ? max(0, r.q.strike - f) : max(0, f - r.q.strike)
                im = u * max(0.15 * f - otm, 0.10 * f)
                mm = u * 0.075 * f
            }
        } else {
            let notional = abs(p.size) * (r.mark * factor) * r.q.multiplier
            let own = r.slot >= 0 ? tierTables[r.slot] : nil
            (mm, im) = (own ?? configuration.defaultTierTable).margin(notional: notional)
        }
        let addon = addon(p, r)
        if isStressed(r.q.stress) {
            let k = configuration.stress.marginMultiplier
            mm = k * mm
            im = k * im
        }
        return PositionTerms(maintenance: mm + addon, initial: im + addon, addon: addon)
    }

    /// A position's liquidity add-on after `liquidity_multiplier`, and after `k_l` when its instrument is
    /// stressed; always from the current mark and book.
    @inline(__always)
    func addon(_ p: Account.Position, _ r: ResolvedPosition) -> Double {
        let quantity = abs(p.size) * r.q.multiplier
        let beyond = configuration.beyondBps
        var a: Double
        if r.slot >= 0 {
            a = p.size > 0
                ? liquidityAddon(quantity: quantity, mid: r.mark, levels: books[r.slot].bids, beyondBps: beyond)
                : liquidityAddon(quantity: quantity, mid: r.mark, levels: books[r.slot].asks, beyondBps: beyond)
        } else {
            a = quantity * (r.mark * beyond / 1e4)
        }
        a = a * configuration.liquidityMultiplier
        if isStressed(r.q.stress) { a = configuration.stress.liquidityMultiplier * a }
        return a
    }

    /// An option's value per unit: its mark, moved by the Black-76 revaluation at unchanged iv when its
    /// underlying is shifted: `mark + B76(F·s) − B76(F)`.
    @inline(__always)
    func optionValue(_ r: ResolvedPosition, now: Int64, shift: PriceShift) -> Double {
        let s = shift.scale(for: r.group)
        guard s != 1 else { return r.mark }
        let years = Double(r.q.expiryMicros - now) / Black76.yearMicros
        let vol = r.q.iv.isNaN ? configuration.portfolio.defaultIV : r.q.iv
        let isCall = r.q.kind == .call
        let moved = Black76.price(forward: r.forward * s, strike: r.q.strike, years: years, vol: vol, isCall: isCall)
        let base = Black76.price(forward: r.forward, strike: r.q.strike, years: years, vol: vol, isCall: isCall)
        return r.mark + (moved - base)
    }

    /// The market data of position `i`: instruments the market does not know are margined as linear with
    /// multiplier 1 and the default tiers; a missing mark falls back to the entry price, a missing reference
    /// mark (F of an option) to the strike.
    @inline(__always)
    func resolved(_ p: Account.Position, at i: Int) -> ResolvedPosition {
        let slot = resolve(p.slot, p.instrument)
        let q = slot >= 0 ? quants[slot] : Quant()
        let mark = q.mark.isNaN ? p.entryPrice : q.mark
        var forward = Double.nan
        if q.isOption {
            let ref = Int(q.referenceSlot)
            forward = ref >= 0 ? quants[ref].mark : .nan
            if forward.isNaN { forward = q.strike }
        }
        return ResolvedPosition(slot: slot, q: q, mark: mark, forward: forward,
                                group: q.underlying >= 0 ? Int(q.underlying) : -2 - i)
    }
}

/// A position's market data, resolved once per computation.
struct ResolvedPosition {
    /// −1 when the market has never seen the instrument.
    var slot: Int
    var q: MarketView.Quant
    /// The position's mark (entry price when unmarked).
    var mark: Double
    /// F for options: the mark of the reference.
    var forward: Double
    /// The underlying's index, or a negative id of its own for an unknown instrument.
    var group: Int
}

/// One position's margin: totals include the add-on, which is also reported alone.
struct PositionTerms {
    var maintenance: Double
    var initial: Double
    var addon: Double
}

/// Which underlyings (position groups) a computation counts.
enum GroupFilter {
    case all
    case only(Int)
    case except(Int)

    /// The group of cash and of collateral whose instrument has no underlying: never shifted.
    static let noGroup = Int.min + 1

    @inline(__always) func includes(_ g: Int) -> Bool {
        switch self {
        case .all: true
        case .only(let only): g == only
        case .except(let except): g != except
        }
    }
}

/// Marks of one underlying (group) scaled by `factor`, for liquidation prices.
struct PriceShift {
    var group: Int
    var factor: Double

    static let none = PriceShift(group: Int.min, factor: 1)

    @inline(__always) func scale(for g: Int) -> Double { g == group ? factor : 1 }
}
