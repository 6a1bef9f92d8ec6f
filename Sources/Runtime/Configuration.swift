import Foundation
public import Engine
public import Liquidity
import Yams
public import Margin

/// The processing guarantee (SPEC §7).
public enum Guarantee: String, Sendable {
    case exactlyOnce = "exactly-once"
    case atLeastOnce = "at-least-once"
}

/// How an instrument task gets its state when it takes over inputs already partly processed (`kafka.instrument_restore`).
public enum InstrumentRestore: String, Sendable {
    /// Re-reads its inputs from the start of the partitions, without writing anything, up to the committed offsets,
    /// then goes on: its state is the one an uninterrupted run has (the engine is deterministic), unless that run
    /// went past an idle input whose records came late, or retention removed inputs since. The time this takes
    /// grows with the inputs the topics retain.
    case replay
    /// Starts from empty state at the committed offsets: windows, EWMAs, VPIN buckets and triggers begin again.
    case empty
}

/// Kafka settings (`kafka:`). Keys other than backstop's own pass through to librdkafka.
public struct KafkaSettings: Sendable, Equatable {
    /// `kafka.brokers`. Default: `127.0.0.1:9092`.
    public var brokers = "127.0.0.1:9092"
    /// `kafka.group`. Default: `backstop`.
    public var group = "backstop"
    /// `kafka.guarantee`. Default: exactly-once.
    public var guarantee = Guarantee.exactlyOnce
    /// `kafka.commit_interval`: how often the transaction (or the offsets) commit. Default: 100 ms.
    public var commitIntervalMicros: Int64 = 100_000
    /// `kafka.max_idle`: how long a task waits for an empty input before merging past it. Default: 50 ms.
    public var maxIdleMicros: Int64 = 50_000
    /// `kafka.instrument_restore`: how an instrument task gets its state when it is assigned inputs that have
    /// committed offsets (after a restart, a rebalance or an aborted transaction). Default: replay.
    public var instrumentRestore = InstrumentRestore.replay
    /// `kafka.transactional_id`. Default: `<group>-<host>-<pid>`.
    public var transactionalID: String?
    /// Every other `kafka.*` key, flattened with dots (`kafka: {sasl: {password: x}}` is `sasl.password`), for
    /// every client.
    public var librdkafka: [String: String] = [:]
    /// `kafka.consumer.*`: librdkafka keys for consumers only (such as `session.timeout.ms`).
    public var consumerProperties: [String: String] = [:]
    /// `kafka.producer.*`: librdkafka keys for producers only (such as `linger.ms`).
    public var producerProperties: [String: String] = [:]

    /// The librdkafka properties of a consumer: common ones, then consumer-only ones.
    public var consumerLibrdkafka: [String: String] { librdkafka.merging(consumerProperties) { $1 } }
    /// The librdkafka properties of a producer (and admin client): common ones, then producer-only ones.
    public var producerLibrdkafka: [String: String] { librdkafka.merging(producerProperties) { $1 } }

    public init() {}
}

/// HTTP endpoint settings (`http:`).
public struct HTTPSettings: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 9464
    public init() {}
}

/// The whole configuration (SPEC §9), from YAML, then `BACKSTOP_…` environment variables, then flags.
public struct BackstopConfiguration: Sendable, Equatable {
    public var kafka = KafkaSettings()
    public var topics = TopicNames()
    /// `topics.partitions`: partitions per topic for `topics create`, and of the virtual partitioning a backtest
    /// uses so that it reproduces a live run exactly. Default: 3.
    public var partitions = 3
    public var metrics = MetricsConfiguration()
    /// `metrics.stale_after`: the built-in `stale-market` trigger's threshold. Default: 10 s.
    public var staleAfterMicros: Int64 = 10_000_000
    /// `marks.interval`: at most one mark per instrument per this much event time (0: every change). Default: 100 ms.
    public var markIntervalMicros: Int64 = 100_000
    /// `validation.allowed_lateness`. Default: 5 s.
    public var allowedLatenessMicros: Int64 = 5_000_000
    /// `validation.unknown_grace`. Default: 10 s.
    public var unknownGraceMicros: Int64 = 10_000_000
    /// `validation.dedup_window`. Default: 60 s.
    public var dedupWindowMicros: Int64 = 60_000_000
    /// `triggers`: backstop trigger rules (SPEC §4).
    public var triggers: [TriggerRule] = []
    public var http = HTTPSettings()
    /// `margin` and `stress` (SPEC §6, §4): the account stage's settings.
    public var margin = MarginConfiguration()

    public init() {}

    public var instrumentStage: InstrumentStageConfiguration {
        var c = InstrumentStageConfiguration()
        c.metrics = metrics
        c.topics = topics
        c.triggers = triggers
        c.staleAfterMicros = staleAfterMicros
        c.markIntervalMicros = markIntervalMicros
        c.allowedLatenessMicros = allowedLatenessMicros
        c.unknownGraceMicros = unknownGraceMicros
        c.dedupWindowMicros = dedupWindowMicros
        return c
    }

    /// Loads a YAML file (nil: defaults), then applies `environment` overrides.
    ///
    /// Environment variables `BACKSTOP_<SECTION>__<KEY>` set `section.key` (double underscores nest; names are
    /// lower-cased): `BACKSTOP_KAFKA__BROKERS`, `BACKSTOP_METRICS__EWMA_LAMBDA`, `BACKSTOP_KAFKA__SASL__PASSWORD`.
    /// - Throws: ``ConfigError`` naming the field.
    public static func load(path: String?, environment: [String: String]? = nil) throws -> BackstopConfiguration {
        let environment = environment ?? ProcessInfo.processInfo.environment
        var root: [String: Any] = [:]
        if let path {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ConfigError("", "cannot read \(path): \(error.localizedDescription)")
            }
            do {
                let loaded = try Yams.load(yaml: text)
                if loaded != nil {
                    guard let map = loaded as? [String: Any] else { throw ConfigError("", "the file must hold a mapping") }
                    root = map
                }
            } catch let error as ConfigError {
                throw error
            } catch {
                throw ConfigError("", "invalid YAML in \(path): \(error)")
            }
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("BACKSTOP_") {
            let path = name.dropFirst("BACKSTOP_".count).lowercased().components(separatedBy: "__")
            guard path.count >= 2, !path.contains("") else { continue }
            setValue(value, at: path[...], in: &root)
        }
        return try parse(root)
    }

    static func setValue(_ value: String, at path: ArraySlice<String>, in map: inout [String: Any]) {
        guard let key = path.first else { return }
        if path.count == 1 {
            map[key] = value
        } else {
            var child = map[key] as? [String: Any] ?? [:]
            setValue(value, at: path.dropFirst(), in: &child)
            map[key] = child
        }
    }

    static func parse(_ root: [String: Any]) throws -> BackstopConfiguration {
        var c = BackstopConfiguration()
        var top = try ConfigNode(path: "", value: root)

        var kafka = try top.section("kafka")
        if let v = try kafka.string("brokers") {
            guard !v.isEmpty else { throw ConfigError("kafka.brokers", "must not be empty") }
            c.kafka.brokers = v
        }
        if let v = try kafka.string("group") {
            guard !v.isEmpty else { throw ConfigError("kafka.group", "must not be empty") }
            c.kafka.group = v
        }
        if let v = try kafka.string("guarantee") {
            guard let g = Guarantee(rawValue: v) else {
                throw ConfigError("kafka.guarantee", "must be exactly-once or at-least-once, got '\(v)'")
            }
            c.kafka.guarantee = g
        }
        if let v = try kafka.durationMicros("commit_interval") {
            guard v > 0 else { throw ConfigError("kafka.commit_interval", "must be positive") }
            c.kafka.commitIntervalMicros = v
        }
        if let v = try kafka.durationMicros("max_idle") { c.kafka.maxIdleMicros = v }
        if let v = try kafka.string("instrument_restore") {
            guard let restore = InstrumentRestore(rawValue: v) else {
                throw ConfigError("kafka.instrument_restore", "must be replay or empty, got '\(v)'")
            }
            c.kafka.instrumentRestore = restore
        }
        c.kafka.transactionalID = try kafka.string("transactional_id")
        var consumer = try kafka.section("consumer")
        for key in consumer.map.keys.sorted() {
            try flatten(consumer.raw(key), prefix: key, path: "kafka.consumer.\(key)", into: &c.kafka.consumerProperties)
        }
        var producer = try kafka.section("producer")
        for key in producer.map.keys.sorted() {
            try flatten(producer.raw(key), prefix: key, path: "kafka.producer.\(key)", into: &c.kafka.producerProperties)
        }
        for key in kafka.map.keys.sorted() where !kafka.used.contains(key) {
            try flatten(kafka.map[key], prefix: key, path: "kafka.\(key)", into: &c.kafka.librdkafka)
        }

        var topics = try top.section("topics")
        if let p = try topics.int("partitions") {
            guard p > 0 else { throw ConfigError("topics.partitions", "must be positive") }
            c.partitions = p
        }
        let names: [(String, WritableKeyPath<TopicNames, String>)] = [
            ("instruments", \.instruments), ("quotes", \.quotes), ("trades", \.trades), ("accounts", \.accounts),
            ("liquidity_metrics", \.liquidityMetrics), ("triggers", \.triggers), ("marks", \.marks),
            ("fills", \.fills), ("margin_calls", \.marginCalls), ("account_margin", \.accountMargin), ("dlq", \.dlq),
        ]
        for (key, path) in names {
            if let v = try topics.string(key) {
                guard !v.isEmpty else { throw ConfigError("topics.\(key)", "must not be empty") }
                c.topics[keyPath: path] = v
            }
        }
        try topics.rejectUnknownKeys()

        var metrics = try top.section("metrics")
        c.metrics = try parseMetrics(&metrics)
        if let v = try metrics.durationMicros("stale_after") {
            guard v > 0 else { throw ConfigError("metrics.stale_after", "must be positive") }
            c.staleAfterMicros = v
        }
        try metrics.rejectUnknownKeys()
        c.triggers = try TriggerConfiguration.parse(top.raw("triggers"), depthBps: c.metrics.depthBps)

        var http = try top.section("http")
        if let v = try http.string("host") { c.http.host = v }
        if let v = try http.int("port") {
            guard (-1...65535).contains(v) else { throw ConfigError("http.port", "must be 0…65535, or -1 to disable") }
            c.http.port = v
        }
        try http.rejectUnknownKeys()

        // Sections of stages that read them: accepted here, validated by their stages.
        var marks = try top.section("marks")
        if let v = try marks.durationMicros("interval") { c.markIntervalMicros = v }
        try marks.rejectUnknownKeys()

        var validation = try top.section("validation")
        if let v = try validation.durationMicros("allowed_lateness") { c.allowedLatenessMicros = v }
        if let v = try validation.durationMicros("unknown_grace") { c.unknownGraceMicros = v }
        if let v = try validation.durationMicros("dedup_window") { c.dedupWindowMicros = v }
        try validation.rejectUnknownKeys()

        var margin = try top.section("margin")
        var stress = try top.section("stress")
        c.margin = try MarginConfigurationParser.parse(margin: &margin, stress: &stress)
        try top.rejectUnknownKeys()
        return c
    }

    static func parseMetrics(_ m: inout ConfigNode) throws -> MetricsConfiguration {
        var c = MetricsConfiguration()
        func positive(_ v: Int64?, _ key: String) throws -> Int64? {
            guard let v else { return nil }
            guard v > 0 else { throw ConfigError("metrics.\(key)", "must be positive") }
            return v
        }
        if let v = try positive(try m.durationMicros("interval"), "interval") { c.intervalMicros = v }
        if let v = try positive(try m.durationMicros("lookback"), "lookback") { c.lookbackMicros = v }
        if let v = try positive(try m.durationMicros("bar"), "bar") { c.barMicros = v }
        if let v = try positive(try m.durationMicros("horizon"), "horizon") { c.horizonMicros = v }
        if let v = try m.double("ewma_lambda") {
            guard v > 0, v < 1 else { throw ConfigError("metrics.ewma_lambda", "must be in (0, 1), got \(v)") }
            c.ewmaLambda = v
        }
        if let raw = m.raw("depth_bps") {
            guard let list = raw as? [Any], !list.isEmpty else {
                throw ConfigError("metrics.depth_bps", "expected a non-empty list of integers")
            }
            c.depthBps = try list.enumerated().map { i, v in
                guard let k = v as? Int ?? (v as? String).flatMap({ Int($0) }), k > 0 else {
                    throw ConfigError("metrics.depth_bps[\(i)]", "expected a positive integer")
                }
                return k
            }
        }
        var vpin = try m.section("vpin")
        if let v = try vpin.int("buckets") {
            guard v > 0 else { throw ConfigError("metrics.vpin.buckets", "must be positive") }
            c.vpinBuckets = v
        }
        var volume = try vpin.section("bucket_volume")
        for key in volume.map.keys.sorted() {
            guard let v = try volume.double(key), v > 0, v.isFinite else {
                throw ConfigError("metrics.vpin.bucket_volume.\(key)", "must be a positive number")
            }
            if key == "default" { c.vpinBucketVolume = v } else { c.vpinBucketVolumeBySymbol[key] = v }
        }
        try vpin.rejectUnknownKeys()
        return c
    }

    static func flatten(_ value: Any?, prefix: String, path: String, into out: inout [String: String]) throws {
        switch value {
        case let m as [String: Any]:
            for (k, v) in m { try flatten(v, prefix: "\(prefix).\(k)", path: "\(path).\(k)", into: &out) }
        case let s as String: out[prefix] = s
        case let i as Int: out[prefix] = String(i)
        case let d as Double: out[prefix] = String(d)
        case let b as Bool: out[prefix] = b ? "true" : "false"
        default: throw ConfigError(path, "expected a scalar librdkafka value")
        }
    }
}
