@testable import Engine
import Testing

/// The compact de-duplication memory against the plain model it replaces: a dictionary of each key's latest `ts`
/// and a FIFO of `(ts, key)` that forgets a key only while the dictionary still holds that entry's `ts`.
@Suite("Recent trades")
struct RecentTradesTests {
    struct Key: Hashable {
        var instrument: String
        var id: String
    }

    /// The model: what the instrument task kept before.
    struct Model {
        var latest: [Key: Int64] = [:]
        var order: [(ts: Int64, key: Key)] = []
        var head = 0

        var oldestTs: Int64? { head < order.count ? order[head].ts : nil }

        mutating func removeOldest() {
            let expired = order[head]
            head += 1
            if latest[expired.key] == expired.ts { latest[expired.key] = nil }
        }

        mutating func insert(_ key: Key, ts: Int64) {
            latest[key] = ts
            order.append((ts, key))
        }
    }

    /// Small deterministic generator (splitmix64).
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Runs the task's de-duplication step on the memory and on the model and checks they agree at every trade.
    @Test(arguments: [(UInt64(1), 40, 5_000), (2, 400, 20_000), (3, 5_000, 60_000), (4, 12, 200_000)])
    func agreesWithTheModel(seed: UInt64, ids: Int, window: Int64) {
        var random = Random(state: seed)
        var model = Model()
        var recent = RecentTrades()
        let instruments = ["BTC-PERP", "ETH-PERP", "BTC-28NOV25-60000-C", "a-long-symbol-beyond-fifteen-bytes"]
        var eventTime = Int64.min
        var now: Int64 = 1_000_000
        var duplicates = 0
        for step in 0..<40_000 {
            now += Int64(random.below(40))
            // Some trades arrive late (up to 5 s behind), some repeat an id.
            let ts = random.below(10) == 0 ? now - Int64(random.below(5_000)) : now
            let key = Key(instrument: instruments[random.below(instruments.count)], id: "T-\(random.below(ids))")
            let cutoff = max(eventTime, ts) - window
            while let oldest = model.oldestTs, oldest < cutoff {
                #expect(recent.oldestTs == oldest)
                model.removeOldest()
                recent.removeOldest()
            }
            #expect(recent.oldestTs == model.oldestTs, "step \(step)")
            // The task numbers instruments by their states' indices.
            let number = instruments.firstIndex(of: key.instrument)!
            #expect(recent.lastTs(instrument: number, id: key.id) == model.latest[key], "step \(step)")
            // The task's single call: the duplicate's earlier merge, or nil having remembered this one.
            let duplicateOf = recent.admit(instrument: number, id: key.id, ts: ts, window: window)
            if let seen = model.latest[key], ts - seen <= window {
                #expect(duplicateOf == seen, "step \(step)")
                duplicates += 1
                continue
            }
            #expect(duplicateOf == nil, "step \(step)")
            model.insert(key, ts: ts)
            eventTime = max(eventTime, ts)
        }
        #expect(recent.count == model.order.count - model.head)
        #expect(duplicates > 0, "the run exercised duplicates")
        // Every remembered key answers as the model does.
        for (key, ts) in model.latest {
            #expect(recent.lastTs(instrument: instruments.firstIndex(of: key.instrument)!, id: key.id) == ts)
        }
    }

    @Test("an empty memory knows nothing, and forgets down to empty")
    func emptying() {
        var recent = RecentTrades()
        #expect(recent.oldestTs == nil)
        #expect(recent.lastTs(instrument: 0, id: "a") == nil)
        for i in 0..<100 { #expect(recent.admit(instrument: 0, id: "t\(i)", ts: Int64(i), window: 1_000) == nil) }
        #expect(recent.lastTs(instrument: 0, id: "t42") == 42)
        #expect(recent.lastTs(instrument: 1, id: "t42") == nil)
        for _ in 0..<100 { recent.removeOldest() }
        #expect(recent.count == 0)
        #expect(recent.oldestTs == nil)
        #expect(recent.lastTs(instrument: 0, id: "t42") == nil)
        #expect(recent.admit(instrument: 0, id: "t42", ts: 7, window: 1_000) == nil)
        #expect(recent.lastTs(instrument: 0, id: "t42") == 7)
    }
}
