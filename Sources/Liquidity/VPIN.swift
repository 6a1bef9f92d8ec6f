import Events

/// Volume-synchronized probability of informed trading (SPEC §3): trades fill consecutive buckets of `V` volume in
/// merge order (a trade overflowing a bucket is split across buckets); over the last `n` full buckets,
/// `Σ|buy − sell| / (n·V)`.
struct VPIN: Sendable {
    let bucketVolume: Double
    let buckets: Int
    /// |buy − sell| of the last `buckets` full buckets, a ring.
    private var imbalances: [Double] = []
    private var next = 0
    private var filled = 0.0
    private var buy = 0.0
    private var sell = 0.0

    init(bucketVolume: Double, buckets: Int) {
        self.bucketVolume = bucketVolume
        self.buckets = buckets
        imbalances.reserveCapacity(buckets)
    }

    /// Fills buckets with a trade's volume. A bucket is full when its volume reaches V; sums of decimal sizes carry
    /// binary rounding (ten 0.1 add up to 0.9999999999999999), so volume within 1e-11·V of the boundary counts as
    /// reaching it, as exact decimal arithmetic would have it, and no rounding residue spills into the next bucket.
    mutating func add(size: Double, side: Side) {
        let epsilon = bucketVolume * 1e-11
        var remaining = size
        while remaining > 0 {
            let room = bucketVolume - filled
            let take = remaining >= room - epsilon ? room : remaining
            if side == .buy { buy += take } else { sell += take }
            remaining -= take
            if remaining <= epsilon { remaining = 0 }
            if take == room {
                let imbalance = abs(buy - sell)
                if imbalances.count < buckets { imbalances.append(imbalance) } else { imbalances[next] = imbalance }
                next = (next + 1) % buckets
                filled = 0
                buy = 0
                sell = 0
            } else {
                filled += take
            }
        }
    }

    /// nil before `buckets` full buckets.
    var value: Double? {
        guard imbalances.count == buckets else { return nil }
        // Summed oldest first, so the result does not depend on where the ring starts.
        var sum = 0.0
        for i in 0..<buckets { sum += imbalances[(next + i) % buckets] }
        return sum / (Double(buckets) * bucketVolume)
    }
}

/// The standardized returns `z_t = r_t / σ_{t−1}` of the records in the lookback, for filtered historical
/// simulation (SPEC §3 `var_99_fhs`), kept both in time order (for eviction) and sorted (for the quantile).
///
/// - Complexity: O(n) per record (a binary search and a shift), instead of sorting the lookback every close.
struct StandardizedReturns: Sendable {
    private var values: [(ts: Int64, z: Double)] = []
    private var head = 0
    private var sorted: [Double] = []

    /// The most records a lookback holds (Lb/W), reserved once the instrument is active.
    var expectedCount = 0

    mutating func append(ts: Int64, z: Double) {
        if values.count == 32, expectedCount > 32 {
            values.reserveCapacity(expectedCount + 16)
            sorted.reserveCapacity(expectedCount + 16)
        }
        values.append((ts, z))
        sorted.insert(z, at: insertionIndex(of: z))
    }

    /// Keeps the records with `ts > start` (their intervals lie inside the lookback).
    mutating func evict(atOrBefore start: Int64) {
        while head < values.count, values[head].ts <= start {
            let z = values[head].z
            let i = insertionIndex(of: z) - 1  // the last element equal to z
            sorted.remove(at: i)
            head += 1
        }
        if head >= 16 {
            values.removeFirst(head)
            head = 0
        }
    }

    var isEmpty: Bool { sorted.isEmpty }

    /// The q-quantile with linear interpolation between order statistics (numpy's default method).
    func quantile(_ q: Double) -> Double? {
        isEmpty ? nil : linearQuantile(sorted, q)
    }

    /// The index after the last element ≤ z (so equal values keep their order).
    private func insertionIndex(of z: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= z { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// numpy's default ("linear") quantile of sorted values: `h = (n − 1)·q`, interpolated between ⌊h⌋ and ⌊h⌋ + 1.
func linearQuantile(_ sorted: [Double], _ q: Double) -> Double {
    let h = Double(sorted.count - 1) * q
    let lower = Int(h.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    return sorted[lower] + (h - Double(lower)) * (sorted[upper] - sorted[lower])
}
