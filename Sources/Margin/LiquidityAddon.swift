public import Events

/// The liquidity add-on of one position before multipliers (SPEC §6): the cost, measured from `mid` (the mark),
/// of closing `quantity` against `levels`, the opposite side of the book (bids for a long, asks for a short), best
/// first.
///
/// `Σ_levels |p − mid|·q_level` walking the levels; quantity beyond the visible book costs
/// `(|p_worst − mid| + mid·beyondBps/1e4)` per unit; with no levels at all, the whole quantity costs
/// `mid·beyondBps/1e4` per unit.
/// - Parameters:
///   - quantity: `|size|·multiplier`.
/// - Complexity: O(levels walked), no allocation.
public func liquidityAddon(quantity: Double, mid: Double, levels: [BookLevel], beyondBps: Double) -> Double {
    levels.withUnsafeBufferPointer { levels in
        guard let last = levels.last else { return quantity * (mid * beyondBps / 1e4) }
        var remaining = quantity
        var cost = 0.0
        var i = 0
        while remaining > 0, i < levels.count {
            let take = min(remaining, levels[i].size)
            cost += abs(levels[i].price - mid) * take
            remaining -= take
            i += 1
        }
        if remaining > 0 { cost += remaining * (abs(last.price - mid) + mid * beyondBps / 1e4) }
        return cost
    }
}
