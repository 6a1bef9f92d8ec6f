#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension MarketView {
    /// Per underlying (in order of first appearance among the positions), the reference price F* at which
    /// coverage reaches the liquidation threshold (SPEC §6).
    ///
    /// At F*, every mark priced off the underlying scales by F*/F: its linear marks, the options' F (each option
    /// revalued by Black-76 at unchanged iv, as `mark + B76(F·s) − B76(F)` so that s = 1 is today's value), and
    /// collateral priced by one of its instruments; add-ons and stress stay as they are; tiers and portfolio
    /// scenarios are re-evaluated. F is the mark of the reference of the underlying's first option, else of its
    /// first position's reference.
    ///
    /// F itself when coverage is already below the threshold. Otherwise the search walks outward from F in
    /// `|ln(F*/F)|` (steps of 0.01 up to 0.2, then 0.05) both ways at once and stops at the first sign change; it
    /// narrows the bracket (false position safeguarded by bisection) to 1e-14 in `ln(F*/F)`, far inside the
    /// required 1e-6 relative because coverage moves fast with F. Of roots found in the same step, the nearer one.
    /// nil when no root lies within [0.01·F, 10·F]. Roots closer together than a step can be missed.
    /// - Complexity: up to about 200 evaluations of the underlying's own positions per underlying (the rest of the
    ///   account is evaluated once).
    public func liquidationPrices(of account: Account, now: Int64) -> [LiquidationPrice] {
        var result: [LiquidationPrice] = []
        let positions = account.positions
        var groups: [Int] = []
        groups.reserveCapacity(positions.count)
        for (i, p) in positions.enumerated() { groups.append(resolved(p, at: i).group) }
        for i in positions.indices where !groups[..<i].contains(groups[i]) {
            let g = groups[i]
            var referenceSlot = -1
            for j in i..<positions.count where groups[j] == g {
                let r = resolved(positions[j], at: j)
                if r.q.isOption { referenceSlot = Int(r.q.referenceSlot); break }
            }
            let first = resolved(positions[i], at: i)
            if referenceSlot < 0 {
                referenceSlot = first.q.referenceSlot >= 0 ? Int(first.q.referenceSlot) : first.slot
            }
            let name = g >= 0 ? underlyingNames[g] : positions[i].instrument
            let forward = referenceSlot >= 0 ? quants[referenceSlot].mark : first.mark
            let price = forward > 0 && forward.isFinite
                ? liquidationPrice(of: account, now: now, group: g, forward: forward) : nil
            let reference = referenceSlot >= 0 ? symbols[referenceSlot] : nil
            result.append(LiquidationPrice(underlying: name, reference: reference, price: price))
        }
        return result
    }

    private func liquidationPrice(of account: Account, now: Int64, group: Int, forward: Double) -> Double? {
        let threshold = configuration.levels.liquidation
        // What the shift leaves alone (other underlyings, USD) is computed once; each step re-evaluates the group.
        let fixed = evaluate(account, now: now, shift: .none, groups: .except(group))
        /// E − threshold·MM with the group's marks scaled by e^x: ≤ 0 at or below the threshold.
        func excess(_ x: Double) -> Double {
            let m = evaluate(account, now: now, shift: PriceShift(group: group, factor: exp(x)), groups: .only(group))
            return (fixed.equity + m.equity) - threshold * (fixed.maintenance + m.maintenance)
        }
        guard excess(0) > 0 else { return forward }
        let upLimit = log(10.0), downLimit = log(0.01)
        var up: (Double, Double)?, down: (Double, Double)?
        var lastUp = 0.0, lastDown = 0.0
        var isUpDone = false, isDownDone = false
        var distance = 0.0
        while !(isUpDone && isDownDone) && up == nil && down == nil {
            distance += distance < 0.2 - 1e-9 ? 0.01 : 0.05
            if !isUpDone {
                let x = min(distance, upLimit)
                if excess(x) <= 0 { up = (lastUp, x) } else { lastUp = x }
                isUpDone = up != nil || x >= upLimit
            }
            if !isDownDone {
                let x = max(-distance, downLimit)
                if excess(x) <= 0 { down = (lastDown, x) } else { lastDown = x }
                isDownDone = down != nil || x <= downLimit
            }
        }
        /// Narrows a bracket whose first end is above the threshold and second at or below it: Illinois false
        /// position, with a bisection step whenever an interpolation fails to halve the bracket, to 1e-14 in x.
        func narrow(_ bracket: (Double, Double)) -> Double {
            var (above, below) = bracket
            var excessAbove = excess(above), excessBelow = excess(below)
            var lastReplaced = 0  // +1 below, −1 above: the end the previous step replaced (Illinois)
            for _ in 0..<100 {
                let width = abs(below - above)
                guard width > 1e-14 else { break }
                var x = below - excessBelow * (below - above) / (excessBelow - excessAbove)
                if !(x.isFinite && (x - above) * (x - below) < 0) { x = (above + below) / 2 }
                let e = excess(x)
                if e <= 0 {
                    below = x; excessBelow = e
                    if lastReplaced == 1 { excessAbove /= 2 }
                    lastReplaced = 1
                } else {
                    above = x; excessAbove = e
                    if lastReplaced == -1 { excessBelow /= 2 }
                    lastReplaced = -1
                }
                if abs(below - above) > width / 2 {
                    let mid = (above + below) / 2
                    let m = excess(mid)
                    if m <= 0 { below = mid; excessBelow = m } else { above = mid; excessAbove = m }
                    lastReplaced = 0
                }
            }
            return (above + below) / 2
        }
        let roots = [up.map(narrow), down.map(narrow)].compactMap { $0 }
        guard let x = roots.min(by: { abs($0) < abs($1) }) else { return nil }
        return forward * exp(x)
    }
}
