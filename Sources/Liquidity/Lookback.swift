#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// The sliding lookback of one instrument: a sparse, ordered run of buckets (only buckets with events exist),
/// and the summaries of its bars, kept up to date incrementally.
///
/// Every write to a bucket lowers a watermark (the earliest bucket written since the last record); at a record only
/// the bars from that bucket's bar on are rebuilt from their buckets, plus the first bar when eviction cut into it.
/// A bar's summary is therefore always its live buckets' aggregate, rebuilt in the same order: a spread or a Roll
/// pair leaves the summaries exactly when its bucket leaves the lookback.
///
/// The lookback's spread and Roll moments are merged from the bars as a queue of two runs (the two-stack sliding
/// aggregation, no subtraction of moments): the first bar (cut by the lookback's start) on its own; a front run
/// whose bars each keep the merge of themselves and the rest of the run, so dropping bars at the front costs
/// nothing; a back run merged as bars join it; and the newest ``openBars`` bars on their own, as late events and
/// Roll pairs rewrite them. When the front run is used up, the back run becomes the front (its suffix merges taken
/// once); a rebuild of a bar already merged into a run retakes that run's merges. Every merge is of disjoint runs
/// in time order, so the result equals merging every bucket in order up to the order of the floating-point merges.
///
/// - Complexity: O(1) amortized per event; per record O(buckets in the rebuilt bars + bars in the lookback), with
///   O(1) amortized moment merges.
struct Lookback: Sendable {
    /// Bucket width g in µs.
    let granularity: Int64
    private var buckets: BucketRing
    /// The start of the last lookback evicted to: older events can never count again.
    private var evictedBefore = Int64.min

    /// Bar width B in µs, and in buckets (g divides B).
    let barMicros: Int64
    private let bucketsPerBar: Int64
    /// Summaries of the bars holding live buckets (quoted or not), oldest first, from ``summaryHead`` on; current
    /// as of the last ``slide(to:)``.
    private(set) var summaries: [LookbackBar] = []
    private var summaryHead = 0
    /// The earliest bucket index written since the summaries were last brought up to date (`Int64.max`: none).
    private var writtenFrom = Int64.max
    /// Whether eviction removed buckets from the bar holding the lookback's start since the last update.
    private var isFirstBarCut = false
    /// The newest bar's summary over its buckets before `checkpointIndex` (the newest bucket when it was taken),
    /// before the Parkinson term: a rebuild of that bar with no bucket before `checkpointIndex` written since goes
    /// on from it, folding the same buckets in the same order as a rebuild from its first bucket. Dropped when
    /// eviction reaches the bar.
    private var checkpoint = LookbackBar(number: .min)
    private var checkpointIndex = Int64.max
    private var hasCheckpoint = false
    /// While the bar holding the lookback's start is cut bucket by bucket: for each of its buckets (index in
    /// `firstBarSuffixIndices`), the merged moments of that bucket and the bar's later ones, taken once when the
    /// bar is first cut. A cut then reads its moments instead of merging every bucket left. Dropped (number
    /// `Int64.min`) when a bucket of the bar is written.
    private var firstBarSuffixNumber = Int64.min
    private var firstBarSuffixes: [BarMoments] = []
    private var firstBarSuffixIndices: [Int64] = []

    /// Positions in ``summaries`` (`summaryHead ≤ frontEnd ≤ backEnd ≤ summaries.count`): the front run is
    /// `summaryHead + 1 ..< frontEnd` (its ``LookbackBar/suffix`` merges end at `frontEnd`), the back run
    /// `frontEnd ..< backEnd`, merged into `backMoments`; the bars after it are merged at each record.
    private var frontEnd = 0
    private var backEnd = 0
    private var backMoments = BarMoments()
    /// The newest bars kept out of the back run.
    private static let openBars = 2
    /// Spreads and Roll pairs of the whole lookback, as of the last ``slide(to:)``.
    private(set) var moments = BarMoments()
    /// Parkinson and Amihud sums over the lookback's quoted bars, as of the last ``slide(to:)``.
    private(set) var barSums = BarSums()
    /// Kyle's points, one per quoted bar after the first, in the first ``kylePointCount`` entries; as of the last
    /// ``slide(to:)``.
    private(set) var kylePoints: [KylePoint] = []
    private(set) var kylePointCount = 0
    /// The most bars a lookback can touch (`⌈Lb/B⌉ + 1`), reserved once bars exist.
    private let barsNeeded: Int

    init(intervalMicros: Int64, barMicros: Int64, lookbackMicros: Int64) {
        granularity = gcd(gcd(intervalMicros, barMicros), lookbackMicros)
        buckets = BucketRing(capacityNeeded: Int(min(lookbackMicros / granularity, 1 << 20)) + 1)
        self.barMicros = barMicros
        bucketsPerBar = barMicros / granularity
        barsNeeded = Int(min(lookbackMicros / barMicros, 1 << 20)) + 2
    }

    /// The bucket holding `ts`, created if needed (events normally arrive in time order: O(1)). An event older
    /// than the lookback already evicted to is ignored: it can never be part of a lookback again.
    mutating func withBucket(at ts: Int64, _ body: (inout LookbackBucket) -> Void) {
        guard ts >= evictedBefore else { return }
        let index = floorDiv(ts, granularity)
        if index < writtenFrom { writtenFrom = index }
        if buckets.count > 0 {
            let last = buckets.count - 1
            if buckets[last].index == index { body(&buckets[last]); return }
            if buckets[last].index > index {
                // A late event: find or insert its bucket in order.
                var i = last
                while i >= 0, buckets[i].index > index { i -= 1 }
                if i >= 0, buckets[i].index == index { body(&buckets[i]); return }
                buckets.insert(LookbackBucket(index: index), at: i + 1)
                body(&buckets[i + 1])
                return
            }
        }
        buckets.append(LookbackBucket(index: index))
        body(&buckets[buckets.count - 1])
    }

    /// Dropped bar summaries kept before their storage is compacted.
    private static let summarySlack = 4

    /// Forgets buckets that start before `start` (µs); they can never re-enter a later lookback.
    mutating func evict(before start: Int64) {
        evictedBefore = max(evictedBefore, start)
        var lastEvicted: Int64?
        while buckets.count > 0, buckets[0].index * granularity < start {
            lastEvicted = buckets[0].index
            buckets.removeFirst()
        }
        if let lastEvicted {
            let bar = floorDiv(lastEvicted, bucketsPerBar)
            if bar == floorDiv(start, barMicros) { isFirstBarCut = true }
            if hasCheckpoint, checkpoint.number <= bar { hasCheckpoint = false }
        }
    }

    /// Live buckets, oldest first.
    var live: [LookbackBucket] { (0..<buckets.count).map { buckets[$0] } }

    /// Summaries of the lookback's bars (quoted or not), oldest first. Current after ``slide(to:)``.
    var bars: ArraySlice<LookbackBar> { summaries[summaryHead...] }

    /// Evicts to the lookback starting at `start` (µs) and brings the bar summaries up to date: bars before the
    /// start are dropped, the first bar is rebuilt if eviction cut into it, and every bar from the earliest bucket
    /// written since the last call on is rebuilt from its buckets. Amihud terms are retaken where the previous
    /// quoted bar's last mid changed, and the bars are read into ``barSums``, the Kyle points and ``moments``.
    mutating func slide(to start: Int64) {
        evict(before: start)
        let firstBar = floorDiv(start, barMicros)
        while summaryHead < summaries.count, summaries[summaryHead].number < firstBar { summaryHead += 1 }
        let written = writtenFrom
        var rebuildFrom = written == .max ? Int64.max : floorDiv(written, bucketsPerBar)
        writtenFrom = .max
        if rebuildFrom <= firstBarSuffixNumber { firstBarSuffixNumber = .min }
        if isFirstBarCut {
            isFirstBarCut = false
            if rebuildFrom <= firstBar {
                rebuildFrom = firstBar
            } else {
                rebuildFirstBar(firstBar)
            }
        }
        if rebuildFrom != .max { rebuildBars(from: rebuildFrom, written: written) }
        if summaryHead >= Self.summarySlack {
            summaries.removeFirst(summaryHead)
            frontEnd -= summaryHead
            backEnd -= summaryHead
            summaryHead = 0
        }
        readBars()
        mergeMoments()
    }

    /// Merges the lookback's spread and Roll moments from the runs (see the type's description).
    private mutating func mergeMoments() {
        let count = summaries.count
        if summaryHead + 1 >= frontEnd { restartFront(at: backEnd) }
        while backEnd < count - Self.openBars {
            backMoments.merge(summaries[backEnd].moments)
            backEnd += 1
        }
        var total = BarMoments()
        guard summaryHead < count else { moments = total; return }
        total = summaries[summaryHead].moments
        if summaryHead + 1 < frontEnd { total.merge(summaries[summaryHead + 1].suffix) }
        total.merge(backMoments)
        for p in backEnd..<count { total.merge(summaries[p].moments) }
        moments = total
    }

    /// Makes the bars from the one after the first up to position `end` (clamped to the live bars) the front run,
    /// taking their suffix merges, with an empty back run after it.
    private mutating func restartFront(at end: Int) {
        let end = min(max(end, summaryHead + 1), summaries.count)
        frontEnd = end
        backEnd = end
        backMoments = BarMoments()
        var suffix = BarMoments()
        var p = end - 1
        while p > summaryHead {
            var merged = summaries[p].moments
            merged.merge(suffix)
            summaries[p].suffix = merged
            suffix = merged
            p -= 1
        }
    }

    /// Bars from `position` on were rebuilt: retakes the merges of the runs that held them.
    private mutating func invalidateRuns(from position: Int) {
        if position >= backEnd { return }
        if position >= frontEnd {
            backMoments = BarMoments()
            for p in frontEnd..<position { backMoments.merge(summaries[p].moments) }
            backEnd = position
        } else {
            restartFront(at: position)
        }
    }

    /// Rebuilds the summary of bar `number`, the bar holding the lookback's start, from the live buckets it still
    /// holds (the first ones), or drops it when it holds none. Its moments come from ``firstBarSuffixes``.
    private mutating func rebuildFirstBar(_ number: Int64) {
        let hasFirst = summaryHead < summaries.count && summaries[summaryHead].number == number
        if buckets.count > 0, floorDiv(buckets[0].index, bucketsPerBar) == number {
            var bar = LookbackBar(number: number)
            let end = summarize(&bar, from: 0, mergingMoments: false)
            bar.moments = firstBarMoments(number, through: end)
            if hasFirst {
                summaries[summaryHead] = bar
            } else {
                // Not reached while every written bucket's bar is rebuilt; kept exact if it were.
                summaries.insert(bar, at: summaryHead)
                restartFront(at: summaryHead + 1)
            }
        } else if hasFirst {
            summaryHead += 1
        }
    }

    /// The merged moments of the live buckets `0..<end`, all of bar `number`, from ``firstBarSuffixes`` (taken
    /// first if they are not that bar's).
    private mutating func firstBarMoments(_ number: Int64, through end: Int) -> BarMoments {
        let index = buckets[0].index
        if firstBarSuffixNumber == number, let k = firstBarSuffixIndices.firstIndex(of: index) {
            return firstBarSuffixes[k]
        }
        firstBarSuffixNumber = number
        firstBarSuffixes.removeAll(keepingCapacity: true)
        firstBarSuffixIndices.removeAll(keepingCapacity: true)
        var suffix = BarMoments()
        var b = end
        while b > 0 {
            b -= 1
            var merged = BarMoments(spreads: buckets[b].spreads, rollPairs: buckets[b].rollPairs)
            merged.merge(suffix)
            suffix = merged
            firstBarSuffixes.append(merged)
            firstBarSuffixIndices.append(buckets[b].index)
        }
        firstBarSuffixes.reverse()
        firstBarSuffixIndices.reverse()
        return suffix
    }

    /// Rebuilds the summaries of every bar numbered `number` or later from the live buckets, the first of them
    /// from the ``checkpoint`` when no bucket before it was written (no bucket before `written` was).
    private mutating func rebuildBars(from number: Int64, written: Int64) {
        while summaries.count > summaryHead, summaries[summaries.count - 1].number >= number { summaries.removeLast() }
        invalidateRuns(from: summaries.count)
        var isResuming = hasCheckpoint && checkpoint.number == number && written >= checkpointIndex
        let firstIndex = isResuming ? checkpointIndex : number * bucketsPerBar
        var b = buckets.count
        while b > 0, buckets[b - 1].index >= firstIndex { b -= 1 }
        if summaries.capacity == 0 { summaries.reserveCapacity(barsNeeded + Self.summarySlack) }
        while b < buckets.count || isResuming {
            var bar = isResuming ? checkpoint : LookbackBar(number: floorDiv(buckets[b].index, bucketsPerBar))
            isResuming = false
            b = summarize(&bar, from: b)
            summaries.append(bar)
        }
    }

    /// Folds live buckets from position `start` on that belong to `summary`'s bar into it (the bar's moments too,
    /// if `mergingMoments`), sets its Parkinson term, and returns the position after them. Sums in the same order
    /// as ``bars(barMicros:)``. Takes the ``checkpoint`` at the newest bucket.
    private mutating func summarize(_ summary: inout LookbackBar, from start: Int, mergingMoments: Bool = true) -> Int {
        let end = (summary.number + 1) * bucketsPerBar
        let newest = buckets.count - 1
        var b = start
        while b <= newest, buckets[b].index < end {
            let bucket = buckets[b]
            if b == newest, mergingMoments {
                checkpoint = summary
                checkpointIndex = bucket.index
                hasCheckpoint = true
            }
            summary.bar.notional += bucket.notional
            summary.bar.signedNotional += bucket.signedNotional
            if bucket.quotes > 0 {
                summary.quotes += bucket.quotes
                summary.bar.lastMid = bucket.lastMid
                summary.bar.highMid = max(summary.bar.highMid, bucket.highMid)
                summary.bar.lowMid = min(summary.bar.lowMid, bucket.lowMid)
            }
            if mergingMoments {
                summary.moments.spreads.merge(bucket.spreads)
                summary.moments.rollPairs.merge(bucket.rollPairs)
            }
            b += 1
        }
        if summary.quotes > 0, summary.bar.highMid > summary.bar.lowMid {
            let range = log(summary.bar.highMid / summary.bar.lowMid)
            summary.parkinsonTerm = range * range / (4 * log(2.0))
        }
        return b
    }

    /// Reads the quoted bars in order into ``barSums`` and the Kyle points, retaking the Amihud term of every
    /// quoted bar after the first whose previous quoted bar's last mid is not the one its term was taken against
    /// (a rebuilt bar has none). Sums run over the bars in time order, as over freshly built bars.
    private mutating func readBars() {
        let live = summaries.count - summaryHead
        if kylePoints.count < live { kylePoints = Array(repeating: KylePoint(signedNotional: 0, midChange: 0), count: max(live, barsNeeded)) }
        var sums = BarSums()
        var points = 0
        let first = summaryHead
        summaries.withUnsafeMutableBufferPointer { bars in
            kylePoints.withUnsafeMutableBufferPointer { kyle in
                var previousMid = 0.0
                var hasPrevious = false
                for i in first..<bars.count where bars[i].quotes > 0 {
                    let bar = bars[i].bar
                    if bars[i].parkinsonTerm >= 0 {
                        sums.parkinson += bars[i].parkinsonTerm
                        sums.parkinsonCount += 1
                    }
                    if hasPrevious {
                        if bar.notional > 0 {
                            if bars[i].amihudPreviousMid != previousMid {
                                bars[i].amihudTerm = abs(log(bar.lastMid / previousMid)) / bar.notional * 1e6
                                bars[i].amihudPreviousMid = previousMid
                            }
                            sums.amihud += bars[i].amihudTerm
                            sums.amihudCount += 1
                        }
                        kyle[points] = KylePoint(signedNotional: bar.signedNotional, midChange: bar.lastMid - previousMid)
                        points += 1
                    }
                    previousMid = bar.lastMid
                    hasPrevious = true
                }
            }
        }
        barSums = sums
        kylePointCount = points
    }

    /// The lookback's bars that hold at least one quote, oldest first, and the merged per-bucket statistics.
    /// Call after ``evict(before:)`` with the lookback's start.
    func bars(barMicros: Int64) -> [Bar] {
        var bars: [Bar] = []
        let count = buckets.count
        guard count > 0 else { return bars }
        // At most one bar per bar width spanned (and never more than there are buckets).
        let span = (buckets[count - 1].index - buckets[0].index) * granularity / barMicros + 2
        bars.reserveCapacity(Int(min(span, Int64(count))))
        // Buckets are in increasing time order, so a bucket starts a new bar exactly when it is at or past the end
        // of the current one: one division per bar instead of one per bucket.
        var barEnd = (floorDiv(buckets[0].index * granularity, barMicros) + 1) * barMicros
        var bar = Bar(lastMid: 0, highMid: -.infinity, lowMid: .infinity, notional: 0, signedNotional: 0)
        var quotes = 0
        for b in 0..<count {
            let bucket = buckets[b]
            let t = bucket.index * granularity
            if t >= barEnd {
                if quotes > 0 { bars.append(bar) }
                barEnd = (floorDiv(t, barMicros) + 1) * barMicros
                bar = Bar(lastMid: 0, highMid: -.infinity, lowMid: .infinity, notional: 0, signedNotional: 0)
                quotes = 0
            }
            bar.notional += bucket.notional
            bar.signedNotional += bucket.signedNotional
            if bucket.quotes > 0 {
                quotes += bucket.quotes
                bar.lastMid = bucket.lastMid
                bar.highMid = max(bar.highMid, bucket.highMid)
                bar.lowMid = min(bar.lowMid, bucket.lowMid)
            }
        }
        if quotes > 0 { bars.append(bar) }
        return bars
    }
}

func gcd(_ a: Int64, _ b: Int64) -> Int64 {
    var (x, y) = (abs(a), abs(b))
    while y != 0 { (x, y) = (y, x % y) }
    return max(x, 1)
}
