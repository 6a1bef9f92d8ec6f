@testable import Engine
import Events
import Synchronization
import Testing

/// The merge buffer's ring against an array, its copies against each other, and every element it held destroyed
/// exactly once.
@Suite("FIFO")
struct FIFOTests {
    /// The elements of one test alive: each made adds one, each destroyed takes one away.
    final class Alive: Sendable {
        let count = Atomic<Int>(0)
    }

    final class Tracked: Sendable {
        let value: Int
        let alive: Alive
        init(_ value: Int, _ alive: Alive) {
            self.value = value
            self.alive = alive
            alive.count.add(1, ordering: .relaxed)
        }
        deinit { alive.count.subtract(1, ordering: .relaxed) }
    }

    /// Random runs of appends and removals (the buffer filling past several doublings, emptying, filling again
    /// from its last peak), each answer checked against an array; a copy taken now and then is changed apart.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func agreesWithAnArray(seed: UInt64) {
        let alive = Alive()
        do {
            var r = RecentTradesTests.Random(state: seed)
            var fifo = FIFO<Tracked>()
            var model: [Int] = []
            var next = 0
            var copies: [(FIFO<Tracked>, [Int])] = []
            for step in 0..<20_000 {
                // Phases: mostly appends, then mostly removals, so the count swings between 0 and a few hundred.
                let filling = (step / 700) % 2 == 0
                if model.isEmpty || r.below(10) < (filling ? 7 : 3) {
                    fifo.append(Tracked(next, alive))
                    model.append(next)
                    next += 1
                } else {
                    #expect(fifo.removeFirst().value == model.removeFirst())
                }
                #expect(fifo.count == model.count && fifo.isEmpty == model.isEmpty)
                #expect(fifo.peek { $0.value } == model.first)
                if r.below(500) == 0 { copies.append((fifo, model)) }
            }
            // Every copy still holds what it held when taken, and changes without touching the others.
            for (index, (copy, expected)) in copies.enumerated() {
                var copy = copy
                copy.append(Tracked(-index, alive))
                var drained: [Int] = []
                while !copy.isEmpty { drained.append(copy.removeFirst().value) }
                #expect(drained == expected + [-index])
            }
            while !fifo.isEmpty { #expect(fifo.removeFirst().value == model.removeFirst()) }
            #expect(model.isEmpty && fifo.peek { $0.value } == nil)
        }
        #expect(alive.count.load(ordering: .relaxed) == 0, "every element destroyed once")
    }

    /// A buffer dropped while it holds elements (a revoked task's) destroys them, its storage wrapped round or not.
    @Test func droppedWhileHolding() {
        let alive = Alive()
        do {
            var fifo = FIFO<Tracked>()
            for k in 0..<100 { fifo.append(Tracked(k, alive)) }
            for _ in 0..<60 { _ = fifo.removeFirst() }
            for k in 100..<150 { fifo.append(Tracked(k, alive)) }
            #expect(fifo.count == 90 && fifo.peek { $0.value } == 60)
            let copy = fifo
            _ = fifo.removeFirst()
            #expect(copy.count == 90 && fifo.count == 89)
        }
        #expect(alive.count.load(ordering: .relaxed) == 0)
    }

    /// A pending input moves several times between its decode and its state: at 128 bytes or less the compiled
    /// code moves it with register copies, past that with a call to `memcpy` each time (≈ 440 instructions per
    /// benchmark event at 208 bytes). The field orders of `Quote`, `Trade` and `PendingInput` keep it there.
    @Test func pendingInputFitsInline() {
        #expect(MemoryLayout<Quote>.size <= 112 && MemoryLayout<Trade>.size <= 112)
        #expect(MemoryLayout<PendingInput>.size <= 128, "\(MemoryLayout<PendingInput>.size) bytes")
    }
}
