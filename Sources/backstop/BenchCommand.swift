import ArgumentParser
import CHeapStats
import Engine
import Events
import Foundation
import Runtime

/// Hidden benchmark helpers for `make bench`: in-process throughput of the stages, without a broker.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "In-process stage benchmarks (used by make bench).", shouldDisplay: false)

    @OptionGroup var common: CommonOptions

    @Option(help: "Directory with quotes.ndjson and trades.ndjson.")
    var input: String

    @Option(help: "Passes over the input.")
    var repeats: Int = 3

    @Flag(help: "Only the instrument-stage figures (skips the resident-state and account-stage benchmarks).")
    var instrumentOnly = false

    func run() throws {
        let c = try common.load()
        let names = c.topics
        var inputs: [(InputKind, [[UInt8]])] = []
        for kind in InputKind.allCases {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(input)/\(names.name(of: kind)).ndjson"))
            inputs.append((kind, [UInt8](data).split(separator: 0x0A).map { Array($0) }))
        }
        let total = inputs.reduce(0) { $0 + $1.1.count }
        var best = 0.0
        for _ in 0..<max(1, repeats) {
            var stage = InstrumentStage(configuration: c.instrumentStage)
            var outputs = 0
            let started = DispatchTime.now().uptimeNanoseconds
            feed(&stage, inputs, topics: names, chunk: 4096) { _ in outputs += 1 }
            stage.closeAll(emit: { _ in outputs += 1 })
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            best = max(best, Double(total) / seconds)
            precondition(outputs > 0, "the benchmark input produced no output")
        }
        print("instrument_stage_events: \(total)")
        print("instrument_stage_events_per_s: \(Int(best))")
        if instrumentOnly { return }

        // Resident state per instrument: heap in use with the stage holding every instrument's state after the
        // whole input (its lookback full), minus the heap before the stage existed.
        let before = heapInUse()
        var stage = InstrumentStage(configuration: c.instrumentStage)
        feed(&stage, inputs, topics: names, chunk: 1024) { _ in }
        let instruments = Set(inputs[0].1.compactMap { line in line.withUnsafeBytes { JSONReader.stringField("instrument", in: $0) } }).count
        let bytes = heapInUse() - before
        withExtendedLifetime(stage) {}
        print("bytes_per_instrument: \(bytes / max(instruments, 1))")
        MarginBench.run()
    }

    /// Feeds the inputs to one task in alternating chunks of each input, as a consumer sees two partitions'
    /// batches, draining after each round (an input may be skipped only once it is exhausted).
    func feed(_ stage: inout InstrumentStage, _ inputs: [(InputKind, [[UInt8]])], topics: TopicNames, chunk: Int,
              emit: (OutputRecord) -> Void) {
        var index = [0, 0]
        while index[0] < inputs[0].1.count || index[1] < inputs[1].1.count {
            for k in 0..<2 {
                let (kind, lines) = inputs[k]
                let end = min(index[k] + chunk, lines.count)
                while index[k] < end {
                    let origin = Origin(topic: topics.name(of: kind), partition: 0, offset: Int64(index[k]))
                    lines[index[k]].withUnsafeBytes {
                        stage.enqueue(kind, partition: 0, origin: origin, key: nil, value: $0)
                    }
                    index[k] += 1
                }
            }
            let done = [index[0] >= inputs[0].1.count, index[1] >= inputs[1].1.count]
            stage.drain(canSkip: { _, kind in done[kind.rawValue] }, emit: emit)
        }
    }
}

/// Heap bytes in use (the allocator's statistics).
func heapInUse() -> Int {
    Int(backstop_heap_in_use())
}

