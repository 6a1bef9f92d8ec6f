/// The next quote or trade of one source, ordered by time, then quotes before trades, then instrument.
struct ScheduledEvent: Comparable {
    /// Event time, µs.
    var ts: Int64
    /// `instrument` for a quote, `instrumentCount + instrument` for a trade, so quotes sort first at equal times.
    var source: Int

    static func < (lhs: Self, rhs: Self) -> Bool { (lhs.ts, lhs.source) < (rhs.ts, rhs.source) }
}

/// A binary min-heap of the pending event of every source (one quote and at most one trade per instrument).
///
/// - Complexity: O(log sources) per operation; the heap never holds more than one entry per source.
struct EventQueue {
    private var heap: [ScheduledEvent] = []

    /// An empty queue with room for `capacity` sources.
    init(capacity: Int) { heap.reserveCapacity(capacity) }

    /// The earliest event, if any.
    var first: ScheduledEvent? { heap.first }

    /// Adds an event.
    mutating func insert(_ event: ScheduledEvent) {
        heap.append(event)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Replaces the earliest event with `event` (its source's next event), or removes it when `event` is `nil`.
    mutating func replaceFirst(with event: ScheduledEvent?) {
        guard !heap.isEmpty else { return }
        if let event {
            heap[0] = event
        } else {
            let last = heap.removeLast()
            guard !heap.isEmpty else { return }
            heap[0] = last
        }
        siftDown(from: 0)
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            let right = left + 1
            let smallest = right < count && heap[right] < heap[left] ? right : left
            guard heap[smallest] < heap[parent] else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
