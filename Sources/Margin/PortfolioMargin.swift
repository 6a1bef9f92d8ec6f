/// One underlying's portfolio margin (SPEC §6, portfolio mode).
public struct UnderlyingMargin: Sendable, Equatable {
    /// The underlying's name (an unknown instrument's own symbol).
    public var underlying: String
    /// R after stress.
    public var range: Double
    /// `max(0, −min(grid P&L), −0.35·min(extreme P&L))`.
    public var loss: Double
    /// `0.005·F·Σ_options |size|·mult`.
    public var contingency: Double
    /// The positions' liquidity add-ons after multipliers.
    public var addons: Double
    /// `MM_u = loss + contingency + addons`.
    public var maintenance: Double
}

/// The portfolio scenario constants.
enum PortfolioScenarios {
    static let moves = 9
    static let vols = 3
    static let extremeDown = -0.33
    static let extremeUp = 0.50
    static let extremeWeight = 0.35
    static let contingencyRate = 0.005
    static let volUp = 0.45
    static let volDown = 0.30
    static let volFloor = 0.05
    static let microsPerDay: Double = 86_400_000_000
}

extension MarketView {
    /// Portfolio-mode MM: per underlying (in order of first appearance among the positions), 9 price moves
    /// `m ∈ {−R, −¾R, …, R}` × 3 vol shocks (`iv·(1 + 0.45·(30/d)^0.3)`, `iv`, `max(0.05, iv·(1 − 0.30·(30/d)^0.3))`,
    /// d = days to expiry, at least 1), and the extreme moves −0.33 and +0.50 at `iv` weighted 0.35. Linear P&L
    /// `size·mult·mark·m`; option P&L `size·mult·(B76(F(1+m), K, T, iv_s) − B76(F, K, T, iv))`, expired options at
    /// intrinsic value. `MM_u = max(0, −min grid, −0.35·min extreme) + 0.005·F·Σ|size|·mult + add-ons`. R is the
    /// underlying's configured range, times `range_multiplier` when the reference of one of its positions is
    /// stressed. Options without an iv use `default_iv`.
    /// - Parameters:
    ///   - report: receives each underlying's breakdown (snapshots); nil on the hot path.
    /// - Complexity: O(positions² + options × 30 Black-76 valuations), no heap allocation without `report`.
    func portfolioMaintenance(of account: Account, now: Int64, shift: PriceShift, groups: GroupFilter = .all,
                              report: ((UnderlyingMargin) -> Void)?) -> Double {
        let positions = account.positions
        let n = positions.count
        guard n > 0 else { return 0 }
        return withUnsafeTemporaryAllocation(of: ResolvedPosition.self, capacity: n) { rs in
            for i in 0..<n { rs.initializeElement(at: i, to: resolved(positions[i], at: i)) }
            return withUnsafeTemporaryAllocation(of: Double.self, capacity: 64) { scratch in
                var total = 0.0
                for i in 0..<n {
                    let g = rs[i].group
                    guard groups.includes(g) else { continue }
                    var seen = false
                    for j in 0..<i where rs[j].group == g { seen = true; break }
                    if seen { continue }
                    total += underlyingMaintenance(group: g, first: i, positions, rs, scratch, now: now, shift: shift,
                                                   report: report)
                }
                return total
            }
        }
    }

    private func underlyingMaintenance(group g: Int, first: Int, _ positions: [Account.Position],
                                       _ rs: UnsafeMutableBufferPointer<ResolvedPosition>,
                                       _ scratch: UnsafeMutableBufferPointer<Double>, now: Int64, shift: PriceShift,
                                       report: ((UnderlyingMargin) -> Void)?) -> Double {
        let n = positions.count
        typealias S = PortfolioScenarios
        // Scratch layout: grid P&L [0, 27), extreme P&L [27, 29), moves [32, 41), ln(1 + move) [48, 57).
        let grid = 0, extreme = 27, moves = 32, logMoves = 48
        var isReferenceStressed = false
        for j in first..<n where rs[j].group == g {
            let ref = rs[j].slot >= 0 ? Int(rs[j].q.referenceSlot) : -1
            if isStressed(ref >= 0 ? quants[ref].stress : rs[j].q.stress) { isReferenceStressed = true }
        }
        var range = g >= 0 ? underlyingRanges[g] : configuration.portfolio.defaultRange
        if isReferenceStressed { range = range * configuration.stress.rangeMultiplier }
        for k in 0..<S.moves {
            let m = range * Double(k - 4) / 4
            scratch[moves + k] = m
            scratch[logMoves + k] = Libm.log1p(m)
        }
        for k in 0..<(S.moves * S.vols + 2) { scratch[grid + k] = 0 }
        let logDown = Libm.log1p(S.extremeDown), logUp = Libm.log1p(S.extremeUp)
        let s = shift.scale(for: g)

        var addons = 0.0, units = 0.0, perOptionContingency = 0.0
        var commonForward = Double.nan, isForwardCommon = true
        for j in first..<n where rs[j].group == g {
            let p = positions[j], r = rs[j]
            addons += addon(p, r)
            if !r.q.isOption {
                let exposure = p.size * r.q.multiplier * (r.mark * s)
                for k in 0..<S.moves {
                    let pnl = exposure * scratch[moves + k]
                    for v in 0..<S.vols { scratch[grid + k * S.vols + v] += pnl }
                }
                scratch[extreme] += exposure * S.extremeDown
                scratch[extreme + 1] += exposure * S.extremeUp
                continue
            }
            let f = r.forward * s, strike = r.q.strike, isCall = r.q.kind == .call
            let sizeUnits = p.size * r.q.multiplier
            let absUnits = abs(p.size) * r.q.multiplier
            units += absUnits
            perOptionContingency += S.contingencyRate * f * absUnits
            if commonForward.isNaN { commonForward = f } else if commonForward != f { isForwardCommon = false }
            let remaining = Double(r.q.expiryMicros - now)
            let years = remaining / Black76.yearMicros
            guard years > 0, f > 0 else {
                let base = Black76.intrinsic(forward: f, strike: strike, isCall: isCall)
                for k in 0..<S.moves {
                    let value = Black76.intrinsic(forward: f * (1 + scratch[moves + k]), strike: strike, isCall: isCall)
                    let pnl = sizeUnits * (value - base)
                    for v in 0..<S.vols { scratch[grid + k * S.vols + v] += pnl }
                }
                let down = Black76.intrinsic(forward: f * (1 + S.extremeDown), strike: strike, isCall: isCall)
                let up = Black76.intrinsic(forward: f * (1 + S.extremeUp), strike: strike, isCall: isCall)
                scratch[extreme] += sizeUnits * (down - base)
                scratch[extreme + 1] += sizeUnits * (up - base)
                continue
            }
            let iv = r.q.iv.isNaN ? configuration.portfolio.defaultIV : r.q.iv
            let days = max(1, remaining / S.microsPerDay)
            let term = Libm.pow(30 / days, 0.3)
            let sqrtYears = years.squareRoot()
            let logMoneyness = Libm.log(f / strike)
            let baseDeviation = iv * sqrtYears, baseHalfVariance = iv * iv * years / 2
            let base = Black76.price(forward: f, strike: strike, logMoneyness: logMoneyness, deviation: baseDeviation,
                                     halfVariance: baseHalfVariance, isCall: isCall)
            for v in 0..<S.vols {
                let vol = v == 0 ? iv * (1 + S.volUp * term)
                    : v == 1 ? iv : max(S.volFloor, iv * (1 - S.volDown * term))
                let deviation = vol * sqrtYears, halfVariance = vol * vol * years / 2
                for k in 0..<S.moves {
                    let forward = f * (1 + scratch[moves + k])
                    let value = forward > 0
                        ? Black76.price(forward: forward, strike: strike,
                                        logMoneyness: logMoneyness + scratch[logMoves + k], deviation: deviation,
                                        halfVariance: halfVariance, isCall: isCall)
                        : Black76.intrinsic(forward: forward, strike: strike, isCall: isCall)
                    scratch[grid + k * S.vols + v] += sizeUnits * (value - base)
                }
            }
            let down = Black76.price(forward: f * (1 + S.extremeDown), strike: strike,
                                     logMoneyness: logMoneyness + logDown, deviation: baseDeviation,
                                     halfVariance: baseHalfVariance, isCall: isCall)
            let up = Black76.price(forward: f * (1 + S.extremeUp), strike: strike, logMoneyness: logMoneyness + logUp,
                                   deviation: baseDeviation, halfVariance: baseHalfVariance, isCall: isCall)
            scratch[extreme] += sizeUnits * (down - base)
            scratch[extreme + 1] += sizeUnits * (up - base)
        }
        var worstGrid = scratch[grid]
        for k in 1..<(S.moves * S.vols) { worstGrid = min(worstGrid, scratch[grid + k]) }
        let worstExtreme = min(scratch[extreme], scratch[extreme + 1])
        let loss = max(0, max(-worstGrid, -(S.extremeWeight * worstExtreme)))
        let contingency = units == 0 ? 0
            : isForwardCommon ? S.contingencyRate * commonForward * units : perOptionContingency
        let maintenance = loss + contingency + addons
        if let report {
            let name = g >= 0 ? underlyingNames[g] : positions[first].instrument
            report(UnderlyingMargin(underlying: name, range: range, loss: loss, contingency: contingency,
                                    addons: addons, maintenance: maintenance))
        }
        return maintenance
    }
}
