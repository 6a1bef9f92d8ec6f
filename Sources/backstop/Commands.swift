import ArgumentParser
import Foundation
import Generator
import Kafka
import Logging
import Runtime

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Consume quotes and trades, publish metrics (live).")

    @OptionGroup var common: CommonOptions

    @Option(help: "Consumer group (overrides kafka.group).")
    var group: String?

    @Option(help: "exactly-once or at-least-once (overrides kafka.guarantee).")
    var guarantee: String?

    @Option(help: "How long a task waits for an idle input before merging past it, e.g. 50ms (overrides kafka.max_idle).")
    var maxIdle: String?

    @Option(help: ArgumentHelp("Stop once no input arrived for this long after the first (benchmarks).", visibility: .hidden))
    var stopWhenIdle: String?

    @Option(help: "Port of /metrics and /health (overrides http.port; 0 picks a free one; -1 disables).")
    var httpPort: Int?

    func run() throws {
        var c = try common.load()
        if let group { c.kafka.group = group }
        if let guarantee {
            guard let g = Guarantee(rawValue: guarantee) else {
                throw ValidationError("--guarantee must be exactly-once or at-least-once")
            }
            c.kafka.guarantee = g
        }
        if let maxIdle {
            guard let v = parseDurationMicros(maxIdle) else { throw ValidationError("--max-idle: invalid duration") }
            c.kafka.maxIdleMicros = v
        }
        let logger = common.logger("backstop.run")
        let stop = StopSignal()
        let handlers = installStopHandlers(stop)
        var idleMicros: Int64?
        if let stopWhenIdle {
            guard let v = parseDurationMicros(stopWhenIdle), v > 0 else { throw ValidationError("--stop-when-idle: invalid duration") }
            idleMicros = v
        }
        if let httpPort {
            guard (-1...65535).contains(httpPort) else { throw ValidationError("--http-port must be -1…65535") }
            c.http.port = httpPort
        }
        let registry = MetricsRegistry()
        let server = HTTPServer(registry: registry, logger: logger)
        if c.http.port >= 0 { try server.start(host: c.http.host, port: c.http.port) }
        defer { server.stop() }
        let configuration = c
        let idle = idleMicros
        try onDedicatedThread(name: "backstop-pipeline") {
            let pipeline = try LivePipeline(configuration: configuration, logger: logger, metrics: registry)
            pipeline.stopWhenIdleMicros = idle
            let stats = try pipeline.run(until: stop)
            if idle != nil {
                print("consumed: \(stats.consumed)")
                print("processing_seconds: \(Double(stats.activeMicros) / 1e6)")
                print("rejected: \(stats.rejected)")
            }
        }
        withExtendedLifetime(handlers) {}
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-derive outputs from fixed input positions with fresh state (no consumer group).")

    @OptionGroup var common: CommonOptions

    @Option(help: "beginning | timestamp:MS | offsets:topic:partition:offset,…")
    var from: String = "beginning"

    @Option(help: "end | offsets:topic:partition:offset,… (exclusive)")
    var until: String = "end"

    @Option(help: "Prefix of the output topics (created when missing).")
    var outputPrefix: String = "replay."

    @Flag(help: "Write NDJSON lines {\"topic\",\"key\",\"value\"} to standard output instead of producing.")
    var stdout = false

    func run() throws {
        let c = try common.load()
        var replay = Replay(configuration: c)
        guard let start = Replay.parseStart(from) else { throw ValidationError("--from: expected beginning, timestamp:MS or offsets:topic:partition:offset,…") }
        guard let stop = Replay.parseStop(until) else { throw ValidationError("--until: expected end or offsets:topic:partition:offset,…") }
        guard !outputPrefix.isEmpty || stdout else { throw ValidationError("--output-prefix must not be empty: the live topics are never written") }
        replay.from = start
        replay.until = stop
        replay.outputPrefix = outputPrefix
        let logger = common.logger("backstop.replay")
        let toStdout = stdout
        let r = replay
        try onDedicatedThread(name: "backstop-replay") {
            let n = try r.run(logger: logger, write: toStdout ? { print($0) } : nil)
            logger.info("replay finished", metadata: ["outputs": "\(n)"])
        }
    }
}

struct Backtest: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the engine over NDJSON files, without a broker.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Directory with instruments.ndjson, quotes.ndjson, trades.ndjson.")
    var input: String

    @Option(help: "Directory for <topic>.ndjson outputs.")
    var output: String

    @Option(help: "Virtual partitions (as the live topics have; overrides topics.partitions).")
    var partitions: Int?

    @Option(help: "Also write a self-contained HTML report here (charts, trigger timeline, VaR tests).")
    var report: String?

    func run() throws {
        var c = try common.load()
        if let partitions {
            guard partitions > 0 else { throw ValidationError("--partitions must be positive") }
            c.partitions = partitions
        }
        let logger = common.logger("backstop.backtest")
        var backtest = Runtime.Backtest(configuration: c, inputDirectory: input, outputDirectory: output)
        backtest.reportPath = report
        let summary = try backtest.run(logger: logger)
        let outputs = summary.outputs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let rejected = summary.rejectedByReason.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        print("backtest: \(summary.inputs) inputs; outputs: \(outputs); rejected: \(rejected.isEmpty ? "none" : rejected.joined(separator: " "))")
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic market feed (to a directory or to the broker).")

    @OptionGroup var common: CommonOptions

    @Option(help: "calm, flash-crash, liquidity-drain or vol-spike.")
    var scenario: String = "calm"

    @Option(help: "Random seed: the same seed gives the same feed.")
    var seed: UInt64 = 1

    @Option(help: "Event-time length of the feed, e.g. 10m.")
    var duration: String = "10m"

    @Option(help: "Leveraged accounts to on-board.")
    var accounts: Int = 0

    @Option(help: "Start of event time, µs since the epoch.")
    var start: Int64 = 1_764_000_000_000_000

    @Option(help: "Mean time between quotes per instrument, e.g. 100ms.")
    var quoteInterval: String = "100ms"

    @Option(help: "Write NDJSON files here instead of producing to the broker.")
    var output: String?

    @Option(help: "Pace production at this multiple of event time (e.g. 10: ten event seconds per second); default: as fast as possible.")
    var speed: Double?

    func run() throws {
        guard let s = Scenario(rawValue: scenario) else {
            throw ValidationError("--scenario must be one of \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let micros = parseDurationMicros(duration), micros > 0 else { throw ValidationError("--duration: invalid duration") }
        guard let interval = parseDurationMicros(quoteInterval), interval > 0 else {
            throw ValidationError("--quote-interval: invalid duration")
        }
        let feed = FeedConfiguration(scenario: s, seed: seed, startMicros: start, durationMicros: micros, accounts: accounts,
                                     quoteIntervalMicros: interval)
        do { try feed.validate() } catch { throw ValidationError("\(error)") }
        let c = try common.load()
        if let output {
            let counts = try FeedFiles.write(FeedGenerator(feed), to: output, topics: c.topics)
            print("generated \(counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) into \(output)")
        } else {
            let logger = common.logger("backstop.generate")
            if let speed { guard speed > 0 else { throw ValidationError("--speed must be positive") } }
            let configuration = c
            let pace = speed
            try onDedicatedThread(name: "backstop-generate") {
                let counts = try FeedFiles.produce(FeedGenerator(feed), configuration: configuration, speed: pace,
                                                   logger: logger)
                print("produced \(counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) to \(configuration.kafka.brokers)")
            }
        }
    }
}

struct TopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topics", abstract: "Manage backstop's topics.",
                                                    subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create every topic (compacted where the SPEC says).")

        @OptionGroup var common: CommonOptions

        @Option(help: "Partitions per topic (overrides topics.partitions).")
        var partitions: Int?

        func run() throws {
            let c = try common.load()
            let n = partitions ?? c.partitions
            guard n > 0 else { throw ValidationError("--partitions must be positive") }
            let logger = common.logger("backstop.topics")
            let result = try Topics.create(c, partitions: n, logger: logger)
            print("topics: created \(result.created.count) (\(result.created.joined(separator: ", "))), existing \(result.existing.count)")
        }
    }
}

struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "Follow a topic, printed for people.")

    @OptionGroup var common: CommonOptions

    @Argument(help: "The topic to follow.")
    var topic: String

    @Flag(help: "Start at the end instead of the beginning.")
    var fromEnd = false

    @Flag(help: "Print the raw JSON values.")
    var raw = false

    @Option(help: "Stop after this many records.")
    var limit: Int?

    @Option(name: .customLong("key"), help: "Only records with this key (repeatable).")
    var keys: [String] = []

    func run() throws {
        let c = try common.load()
        var tail = Tail(configuration: c, topic: topic)
        tail.fromEnd = fromEnd
        tail.isRaw = raw
        tail.limit = limit
        tail.keys = Set(keys)
        let logger = common.logger("backstop.tail")
        let stop = StopSignal()
        let handlers = installStopHandlers(stop)
        let t = tail
        try onDedicatedThread(name: "backstop-tail") {
            try t.run(until: stop, logger: logger) { line in
                print(line)
                fflush(nil)
            }
        }
        withExtendedLifetime(handlers) {}
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Configuration tools.",
                                                    subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate the configuration and print the result.")
        @OptionGroup var common: CommonOptions

        func run() throws {
            let c = try common.load()
            print("configuration ok: brokers=\(c.kafka.brokers) group=\(c.kafka.group) guarantee=\(c.kafka.guarantee.rawValue) "
                + "interval=\(c.metrics.intervalMicros)us lookback=\(c.metrics.lookbackMicros)us partitions=\(c.partitions) "
                + "librdkafka_keys=\(c.kafka.librdkafka.keys.sorted())")
        }
    }
}
