import Events

/// The trades a task merged within the de-duplication window (SPEC §8 `dedup_window`): for each (instrument, id)
/// the `ts` of its latest merge, forgotten in merge order once older than the window.
///
/// Kept compact, since a busy task remembers a minute of trades: the entries sit in one ring, in merge order
/// (instrument as the task's number for it, id, ts), and an open-addressing index (linear probing, at most half
/// full) maps a key to the ring position of its latest entry. Per remembered trade that is 32 bytes of ring and at
/// most 16 bytes of index, where a dictionary plus an order queue of `String` pairs took several times that.
///
/// The same answers as a `[(instrument, id): ts]` dictionary with a FIFO of `(ts, key)` that forgets an entry only
/// while the dictionary still holds that entry's `ts`: a key's live entries have strictly increasing `ts` (a new one
/// is admitted only past the window of the latest), so "the dictionary holds its ts" is "it is the key's latest".
///
/// - Complexity: O(1) expected per lookup, insertion and expiry; the ring and the index double when full.
struct RecentTrades: Sendable {
    private struct Entry: Sendable {
        var ts: Int64
        var id: String
        var instrument: UInt32
        /// The key's ``keyHash(instrument:id:)``: its home slot without hashing the id again, and a cheap first test
        /// of equality (in the 4 bytes the entry pads to 32 anyway).
        var hash: UInt32
    }

    /// Mixed into every key's hash: chosen per memory, so that no input can be crafted to collide in its index.
    private let seed = UInt64.random(in: .min ... .max)

    /// Entries in merge order: `count` of them from `head`, wrapping; capacity is a power of two (or zero).
    private var ring: [Entry?] = []
    private var head = 0
    private(set) var count = 0
    /// Ring positions, -1 where empty; twice the ring's capacity.
    private var index: [Int32] = []

    init() {}

    /// The `ts` of the oldest remembered trade, nil when none is.
    var oldestTs: Int64? { count == 0 ? nil : ring[head]!.ts }

    /// Forgets the oldest remembered trade.
    mutating func removeOldest() {
        precondition(count > 0, "no trade to forget")
        let position = head
        let entry = ring[position]!
        ring[position] = nil
        head = (head + 1) & (ring.count - 1)
        count -= 1
        // Only the key's latest entry is indexed: an older one has nothing to remove.
        var slot = Int(entry.hash) & (index.count - 1)
        let mask = index.count - 1
        while index[slot] >= 0 {
            if Int(index[slot]) == position { removeSlot(slot); return }
            slot = (slot + 1) & mask
        }
    }

    /// The `ts` of the latest remembered merge of (instrument, id), if any; `instrument` is the task's number for
    /// the instrument (its state's index), the same for all of its trades.
    func lastTs(instrument: Int, id: String) -> Int64? {
        guard count > 0 else { return nil }
        let number = UInt32(truncatingIfNeeded: instrument)
        let slot = find(instrument: number, id: id, hash: keyHash(instrument: number, id: id))
        return index[slot] >= 0 ? ring[Int(index[slot])]!.ts : nil
    }

    /// Admits a merge of (instrument, id) at `ts` unless the key's latest remembered merge lies within `window`
    /// before it: one hash of the key and one probe both look it up and, when admitted, make this merge the key's
    /// latest (its newest entry).
    /// - Returns: the `ts` of the merge that makes this one a duplicate; nil when this one was remembered.
    mutating func admit(instrument: Int, id: String, ts: Int64, window: Int64) -> Int64? {
        // Room first, so that the slot found stays the one to fill.
        if count == ring.count { grow() }
        let number = UInt32(truncatingIfNeeded: instrument)
        let hash = keyHash(instrument: number, id: id)
        let slot = find(instrument: number, id: id, hash: hash)
        if index[slot] >= 0, case let seen = ring[Int(index[slot])]!.ts, ts - seen <= window { return seen }
        let position = (head + count) & (ring.count - 1)
        ring[position] = Entry(ts: ts, id: id, instrument: number, hash: hash)
        count += 1
        index[slot] = Int32(position)
        return nil
    }

    /// The slot holding the key (whose ``keyHash(instrument:id:)`` is `hash`), or the empty slot where it would go.
    private func find(instrument: UInt32, id: String, hash: UInt32) -> Int {
        let mask = index.count - 1
        var slot = Int(hash) & mask
        while index[slot] >= 0 {
            let entry = ring[Int(index[slot])]!
            if entry.hash == hash, entry.instrument == instrument, entry.id == id { return slot }
            slot = (slot + 1) & mask
        }
        return slot
    }

    /// A hash of the key: the id's UTF-8 bytes eight at a time (``SymbolTable/hash(_:seed:)``, whose every bit
    /// depends on every input bit), the instrument's number mixed into the seed. Cheaper than `Hasher` for short
    /// ids; which trades are duplicates does not depend on it.
    private func keyHash(instrument: UInt32, id: String) -> UInt32 {
        var text = id
        let seed = seed ^ UInt64(instrument) &* 0xC2B2_AE3D_27D4_EB4F
        return UInt32(truncatingIfNeeded: text.withUTF8 { SymbolTable.hash($0, seed: seed) })
    }

    /// Empties a slot, moving later entries of its probe run back so every key stays reachable from its bucket.
    private mutating func removeSlot(_ removed: Int) {
        let mask = index.count - 1
        var hole = removed
        var slot = (hole + 1) & mask
        while index[slot] >= 0 {
            let home = Int(ring[Int(index[slot])]!.hash) & mask
            // Move the entry into the hole unless its home lies cyclically in (hole, slot].
            if (slot - home) & mask >= (slot - hole) & mask {
                index[hole] = index[slot]
                hole = slot
            }
            slot = (slot + 1) & mask
        }
        index[hole] = -1
    }

    /// Doubles the ring (oldest entry first again) and rebuilds the index over it.
    private mutating func grow() {
        let capacity = max(16, ring.count * 2)
        precondition(capacity <= 1 << 30, "too many trades in the de-duplication window")
        var entries: [Entry?] = []
        entries.reserveCapacity(capacity)
        for i in 0..<count { entries.append(ring[(head + i) & (ring.count - 1)]) }
        entries.append(contentsOf: repeatElement(nil, count: capacity - count))
        ring = entries
        head = 0
        index = Array(repeating: -1, count: capacity * 2)
        // Only each key's latest entry is indexed: in merge order, a later entry of a key replaces an earlier one.
        for position in 0..<count {
            let entry = ring[position]!
            let slot = find(instrument: entry.instrument, id: entry.id, hash: entry.hash)
            index[slot] = Int32(position)
        }
    }
}
