/// One bar of the lookback as kept between records: the bar's aggregates over its live buckets (clipped to the
/// lookback like the bar itself) and the per-bar terms the metrics read, so a record reads one entry per bar
/// instead of every bucket.
struct LookbackBar: Sendable {
    /// The bar covers `[number·B, (number + 1)·B)`.
    var number: Int64
    /// Quotes in the bar's live buckets: the bar counts for Parkinson, Amihud and Kyle only when > 0.
    var quotes = 0
    /// Extremes, last mid and notionals, summed bucket by bucket in time order exactly as
    /// ``Lookback/bars(barMicros:)`` sums them (bit for bit the same values).
    var bar = Bar(lastMid: 0, highMid: -.infinity, lowMid: .infinity, notional: 0, signedNotional: 0)
    /// The buckets' relative spreads and Roll pairs, merged in time order.
    var moments = BarMoments()
    /// While the bar is in the front run of the lookback's aggregate: the moments of this bar and every later bar
    /// of that run, merged (see ``Lookback/slide(to:)``).
    var suffix = BarMoments()
    /// `ln(Hi/Lo)²/(4 ln 2)` of a quoted bar with Hi > Lo, else −1 (no term).
    var parkinsonTerm = -1.0
    /// `|ln(lastMid / m)| / notional · 1e6` for `m` = ``amihudPreviousMid``, the last mid of the quoted bar before
    /// this one when the term was taken; NaN (never equal) until then. The term is reused only while that bar's
    /// last mid is still the same, so it is always the one a recomputation would give.
    var amihudTerm = 0.0
    var amihudPreviousMid = Double.nan

    init(number: Int64) { self.number = number }
}

/// Relative spreads (Bangia) and Roll pairs of a run of buckets or bars, merged in time order.
struct BarMoments: Sendable {
    var spreads = Moments()
    var rollPairs = CoMoments()

    mutating func merge(_ other: BarMoments) {
        spreads.merge(other.spreads)
        rollPairs.merge(other.rollPairs)
    }
}

/// Sums of per-bar terms over the lookback's quoted bars: Parkinson's `ln(Hi/Lo)²/(4 ln 2)` over bars with
/// Hi > Lo, Amihud's terms over bars after the first with notional > 0.
struct BarSums: Sendable {
    var parkinson = 0.0
    var parkinsonCount = 0
    var amihud = 0.0
    var amihudCount = 0
}

/// One point of Kyle's regression: a quoted bar's signed notional and its Δmid from the previous quoted bar.
struct KylePoint: Sendable {
    var signedNotional: Double
    var midChange: Double
}

/// The live buckets of a lookback, oldest first, in a ring: dropping the oldest moves nothing, where compacting
/// an array moved every live bucket.
struct BucketRing: Sendable {
    private var slots: [LookbackBucket] = []
    /// The slot of the oldest bucket.
    private var first = 0
    private(set) var count = 0
    /// The most buckets a lookback can hold: the capacity once an instrument is active.
    let capacityNeeded: Int

    init(capacityNeeded: Int) { self.capacityNeeded = capacityNeeded }

    @inline(__always) private func slot(_ i: Int) -> Int {
        let s = first + i
        return s >= slots.count ? s - slots.count : s
    }

    /// The `i`-th oldest bucket.
    subscript(i: Int) -> LookbackBucket {
        get { slots[slot(i)] }
        _modify { yield &slots[slot(i)] }
    }

    mutating func append(_ bucket: LookbackBucket) {
        if count == slots.count { grow() }
        slots[slot(count)] = bucket
        count += 1
    }

    /// Inserts `bucket` as the `i`-th oldest, moving the newer ones up by one (late events only).
    mutating func insert(_ bucket: LookbackBucket, at i: Int) {
        append(bucket)
        var j = count - 1
        while j > i {
            self[j] = self[j - 1]
            j -= 1
        }
        self[i] = bucket
    }

    mutating func removeFirst() {
        first = slot(1)
        count -= 1
    }

    /// Doubles while the instrument is quiet; at 32 buckets (an active instrument) takes what a full lookback needs
    /// once, instead of doubling past it.
    private mutating func grow() {
        let capacity = slots.count < 32 ? max(4, slots.count * 2) : max(capacityNeeded, slots.count * 2)
        var grown: [LookbackBucket] = []
        grown.reserveCapacity(capacity)
        for i in 0..<count { grown.append(self[i]) }
        grown.append(contentsOf: repeatElement(LookbackBucket(index: 0), count: capacity - count))
        slots = grown
        first = 0
    }
}
