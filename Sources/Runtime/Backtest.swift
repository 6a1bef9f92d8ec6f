import Engine
import Events
import Foundation
public import Logging

/// `backstop backtest`: the same engine as `run`, fed from NDJSON files instead of Kafka.
///
/// Inputs are `instruments.ndjson` (loaded first, as the compacted table is), `quotes.ndjson` and `trades.ndjson`
/// (offset = line number). Each line goes to the virtual partition its key (the instrument) would have in Kafka
/// (murmur2, `partitions` of them), so tasks, merge order and outputs match a live run over the same records.
/// Files are streamed in chunks; outputs are written as `<topic>.ndjson`, one JSON object a line, in output order.
public struct Backtest {
    public var configuration: BackstopConfiguration
    public var inputDirectory: String
    public var outputDirectory: String
    /// Where to write the HTML report, if anywhere.
    public var reportPath: String?
    /// Lines read per input per round: bounds memory on long files.
    var chunk = 16_384

    public init(configuration: BackstopConfiguration, inputDirectory: String, outputDirectory: String) {
        self.configuration = configuration
        self.inputDirectory = inputDirectory
        self.outputDirectory = outputDirectory
    }

    public struct Summary: Sendable {
        public var inputs = 0
        public var outputs: [String: Int] = [:]
        public var rejectedByReason: [String: Int] = [:]
    }

    public func run(logger: Logger) throws -> Summary {
        var stage = InstrumentStage(configuration: configuration.instrumentStage)
        var summary = Summary()
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        let names = configuration.topics
        var writers: [OutputTopic: LineWriter] = [:]
        for topic in OutputTopic.allCases {
            writers[topic] = try LineWriter(path: "\(outputDirectory)/\(names.name(of: topic)).ndjson")
        }
        var report = BacktestReport(intervalMicros: configuration.metrics.intervalMicros)
        // The account stage sees the instrument stage's marks and fills as a live account task reads them back.
        var accountTask = AccountTask(configuration: configuration.margin,
                                      allowedLateness: configuration.instrumentStage.allowedLatenessMicros)
        let write: (OutputRecord) -> Void = { record in
            writers[record.topic]!.write(record.value)
            summary.outputs[names.name(of: record.topic), default: 0] += 1
            report.observe(record)
        }
        let emit: (OutputRecord) -> Void = { record in
            write(record)
            if let mark = record.mark { accountTask.enqueue(.mark(mark), origin: record.origin, position: nil, emit: write) }
            if let fill = record.fill { accountTask.enqueue(.fill(fill), origin: record.origin, position: nil, emit: write) }
        }

        if let reader = LineReader(path: "\(inputDirectory)/instruments.ndjson") {
            while reader.next({ line in
                do throws(DecodeError) {
                    let instrument = try Instrument.decode(line)
                    stage.apply(instrument: instrument, symbol: instrument.symbol)
                    accountTask.stage.define(instrument)
                } catch {
                    logger.warning("invalid instrument ignored",
                                   metadata: ["line": "\(reader.lineNumber)", "error": "\(error)"])
                }
            }) {}
        }

        var sources: [(kind: InputKind, reader: LineReader?, done: Bool)] = InputKind.allCases.map { kind in
            let reader = LineReader(path: "\(inputDirectory)/\(names.name(of: kind)).ndjson")
            return (kind, reader, reader == nil)
        }
        let partitions = configuration.partitions
        while sources.contains(where: { !$0.done }) {
            for i in sources.indices where !sources[i].done {
                let kind = sources[i].kind
                let reader = sources[i].reader!
                var read = 0
                while read < chunk, reader.next({ line in
                    // The instrument stands for the Kafka key the line would have had: it picks the partition, and
                    // a rejected line carries it to the DLQ.
                    var instrument = JSONReader.stringField("instrument", in: line)
                    let partition = instrument.map { Murmur2.partition(of: $0.utf8, partitions: partitions) } ?? 0
                    let origin = Origin(topic: names.name(of: kind), partition: partition, offset: reader.lineNumber)
                    func enqueue(key: UnsafeRawBufferPointer?) {
                        stage.enqueue(kind, partition: partition, origin: origin, key: key, value: line)
                    }
                    if instrument == nil {
                        enqueue(key: nil)
                    } else {
                        instrument!.withUTF8 { enqueue(key: UnsafeRawBufferPointer($0)) }
                    }
                }) {
                    read += 1
                }
                summary.inputs += read
                if read < chunk { sources[i].done = true }
            }
            let done = Dictionary(uniqueKeysWithValues: sources.map { ($0.kind, $0.done) })
            stage.drain(canSkip: { _, kind in done[kind]! }, emit: emit)
        }
        stage.drain(canSkip: { _, _ in true }, emit: emit)
        stage.closeAll(emit: emit)
        for (reason, n) in stage.rejectedByReason { summary.rejectedByReason[reason.rawValue] = n }

        // The account stage: account events, marks and fills in the order (ts, accounts, marks, fills, source).
        if let reader = LineReader(path: "\(inputDirectory)/\(names.accounts).ndjson") {
            var maxTs: [Int32: Int64] = [:]
            while reader.next({ line in
                summary.inputs += 1
                let account = JSONReader.stringField("account", in: line)
                let partition = account.map { Murmur2.partition(of: Array($0.utf8), partitions: partitions) } ?? 0
                let origin = Origin(topic: names.accounts, partition: partition, offset: reader.lineNumber)
                do throws(DecodeError) {
                    let event = try AccountEvent.decode(line)
                    maxTs[partition] = max(maxTs[partition] ?? .min, event.ts)
                    accountTask.enqueue(.account(event), origin: origin, position: nil, emit: write)
                } catch {
                    summary.rejectedByReason[error.reason.rawValue, default: 0] += 1
                    write(RejectedInput(origin: origin, key: account.map { Array($0.utf8) }, value: Array(line), error: error)
                        .dlqRecord(eventTime: RejectedInput.undecodedTs(after: maxTs[partition] ?? 0)))
                }
            }) {}
        }
        accountTask.release(before: .max, emit: write)
        try LineWriter(path: "\(outputDirectory)/report.json").write(report.encoded())
        if let reportPath {
            let html = ReportHTML.render(report, summary: summary)
            do { try html.write(toFile: reportPath, atomically: true, encoding: .utf8) } catch {
                throw ConfigError("--report", "cannot write \(reportPath): \(error.localizedDescription)")
            }
        }
        return summary
    }
}
