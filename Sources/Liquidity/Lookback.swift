/// What the lookback keeps of one time bucket `[index·g, (index+1)·g)`: enough to rebuild any bar, clipped or
/// not, without keeping events. `g` divides W, B and Lb, so the lookback's start and every bar boundary fall on
/// bucket boundaries.
struct LookbackBucket: Sendable {
    var index: Int64
    var quotes = 0
    /// Mid of the last quote merged into the bucket.
    var lastMid = 0.0
    var highMid = -Double.infinity
    var lowMid = Double.infinity
    /// Relative spreads `(ask − bid)/mid` of the bucket's quotes.
    var spreads = Moments()
    /// Σ price·size·multiplier of the bucket's trades.
    var notional = 0.0
    /// Σ ± price·size·multiplier, + for buyer-initiated trades.
    var signedNotional = 0.0
    /// Pairs (Δp_t, Δp_{t−1}) of consecutive trade-price changes, kept in the bucket of their earliest trade
    /// (t − 2), so a pair leaves the lookback exactly when its first trade does.
    var rollPairs = CoMoments()

    init(index: Int64) { self.index = index }
}

/// One bar of the lookback that holds at least one quote.
struct Bar: Sendable {
    var lastMid: Double
    var highMid: Double
    var lowMid: Double
    var notional: Double
    var signedNotional: Double
}

/// The sliding lookback of one instrument: a sparse, ordered run of buckets (only buckets with events exist).
///
/// - Complexity: O(1) amortized per event; O(buckets in the lookback) per record.
struct Lookback: Sendable {
    /// Bucket width g in µs.
    let granularity: Int64
    private(set) var buckets: [LookbackBucket] = []
    private var head = 0
    /// The start of the last lookback evicted to: older events can never count again.
    private var evictedBefore = Int64.min

    /// The most buckets a lookback can hold.
    private let capacityNeeded: Int

    init(intervalMicros: Int64, barMicros: Int64, lookbackMicros: Int64) {
        granularity = gcd(gcd(intervalMicros, barMicros), lookbackMicros)
        capacityNeeded = Int(min(lookbackMicros / granularity, 1 << 20)) + 1
    }

    /// The bucket holding `ts`, created if needed (events normally arrive in time order: O(1)). An event older
    /// than the lookback already evicted to is ignored: it can never be part of a lookback again.
    mutating func withBucket(at ts: Int64, _ body: (inout LookbackBucket) -> Void) {
        guard ts >= evictedBefore else { return }
        let index = floorDiv(ts, granularity)
        if let last = buckets.indices.last, last >= head {
            if buckets[last].index == index { body(&buckets[last]); return }
            if buckets[last].index > index {
                // A late event: find or insert its bucket in order.
                var i = last
                while i >= head, buckets[i].index > index { i -= 1 }
                if i >= head, buckets[i].index == index { body(&buckets[i]); return }
                buckets.insert(LookbackBucket(index: index), at: i + 1)
                body(&buckets[i + 1])
                return
            }
        }
        if buckets.count == 32 {
            // An active instrument: reserve what a full lookback needs once, instead of doubling past it.
            buckets.reserveCapacity(capacityNeeded + Self.compactionSlack)
        }
        buckets.append(LookbackBucket(index: index))
        body(&buckets[buckets.count - 1])
    }

    /// Evicted buckets kept before the storage is compacted.
    private static let compactionSlack = 16

    /// Forgets buckets that start before `start` (µs); they can never re-enter a later lookback.
    mutating func evict(before start: Int64) {
        evictedBefore = max(evictedBefore, start)
        while head < buckets.count, buckets[head].index * granularity < start { head += 1 }
        if head >= Self.compactionSlack {
            buckets.removeFirst(head)
            head = 0
        }
    }

    /// Live buckets, oldest first.
    var live: ArraySlice<LookbackBucket> { buckets[head...] }

    /// The lookback's bars that hold at least one quote, oldest first, and the merged per-bucket statistics.
    /// Call after ``evict(before:)`` with the lookback's start.
    func bars(barMicros: Int64) -> [Bar] {
        // The same sums and extremes, bucket by bucket in order, as plain locals: the optional tuple this kept
        // the open bar in was unwrapped and written back at every bucket.
        var bars: [Bar] = []
        let start = head
        guard start < buckets.count else { return bars }
        return buckets.withUnsafeBufferPointer { live in
            // At most one bar per bar width spanned (and never more than there are buckets).
            let span = (live[live.count - 1].index - live[start].index) * granularity / barMicros + 2
            bars.reserveCapacity(Int(min(span, Int64(live.count - start))))
            // Buckets are in increasing time order, so a bucket starts a new bar exactly when it is at or past the
            // end of the current one: one division per bar instead of one per bucket.
            var barEnd = (floorDiv(live[start].index * granularity, barMicros) + 1) * barMicros
            var bar = Bar(lastMid: 0, highMid: -.infinity, lowMid: .infinity, notional: 0, signedNotional: 0)
            var quotes = 0
            for b in start..<live.count {
                let t = live[b].index * granularity
                if t >= barEnd {
                    if quotes > 0 { bars.append(bar) }
                    barEnd = (floorDiv(t, barMicros) + 1) * barMicros
                    bar = Bar(lastMid: 0, highMid: -.infinity, lowMid: .infinity, notional: 0, signedNotional: 0)
                    quotes = 0
                }
                bar.notional += live[b].notional
                bar.signedNotional += live[b].signedNotional
                if live[b].quotes > 0 {
                    quotes += live[b].quotes
                    bar.lastMid = live[b].lastMid
                    bar.highMid = max(bar.highMid, live[b].highMid)
                    bar.lowMid = min(bar.lowMid, live[b].lowMid)
                }
            }
            if quotes > 0 { bars.append(bar) }
            return bars
        }
    }
}

func gcd(_ a: Int64, _ b: Int64) -> Int64 {
    var (x, y) = (abs(a), abs(b))
    while y != 0 { (x, y) = (y, x % y) }
    return max(x, 1)
}
