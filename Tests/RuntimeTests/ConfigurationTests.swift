import Foundation
import Runtime
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    func load(_ yaml: String, environment: [String: String] = [:]) throws -> BackstopConfiguration {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-\(UUID().uuidString).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try BackstopConfiguration.load(path: url.path, environment: environment)
    }

    func expectError(_ yaml: String, path: String, environment: [String: String] = [:]) {
        #expect {
            _ = try load(yaml, environment: environment)
        } throws: { error in
            guard let e = error as? ConfigError else { return false }
            return e.path == path && "\(e)".contains(path)
        }
    }

    @Test("the shipped example loads")
    func example() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let c = try BackstopConfiguration.load(path: root.appendingPathComponent("config/backstop.yaml").path, environment: [:])
        #expect(c.metrics.intervalMicros == 1_000_000)
        #expect(c.metrics.vpinBucketVolumeBySymbol["BTC-PERP"] == 25)
        #expect(c.kafka.consumerLibrdkafka["session.timeout.ms"] == "6000")
        #expect(c.kafka.producerLibrdkafka["session.timeout.ms"] == nil, "a consumer-only key stays off producers")
    }

    @Test("pinned keys and durations parse")
    func parses() throws {
        let c = try load("""
            kafka: {brokers: "b:9092", group: g, guarantee: at-least-once, commit_interval: 250ms}
            metrics: {interval: 5s, lookback: 10m, bar: 30s, ewma_lambda: 0.97, horizon: 1d, depth_bps: [5, 25],
                      vpin: {buckets: 10, bucket_volume: {default: 7, ETH-PERP: 70}}}
            """)
        #expect(c.kafka.brokers == "b:9092")
        #expect(c.kafka.guarantee == .atLeastOnce)
        #expect(c.kafka.commitIntervalMicros == 250_000)
        #expect(c.metrics.intervalMicros == 5_000_000)
        #expect(c.metrics.lookbackMicros == 600_000_000)
        #expect(c.metrics.horizonMicros == 86_400_000_000)
        #expect(c.metrics.ewmaLambda == 0.97)
        #expect(c.metrics.depthBps == [5, 25])
        #expect(c.metrics.vpinBuckets == 10)
        #expect(c.metrics.vpinBucketVolume(for: "ETH-PERP") == 70)
        #expect(c.metrics.vpinBucketVolume(for: "BTC-PERP") == 7)
    }

    @Test("bad values fail naming the field", arguments: [
        ("metrics: {interval: soon}", "metrics.interval"),
        ("metrics: {interval: 0s}", "metrics.interval"),
        ("metrics: {intervall: 1s}", "metrics.intervall"),
        ("metrics: {ewma_lambda: 1.5}", "metrics.ewma_lambda"),
        ("metrics: {depth_bps: [10, -1]}", "metrics.depth_bps[1]"),
        ("metrics: {vpin: {bucket_volume: {BTC-PERP: 0}}}", "metrics.vpin.bucket_volume.BTC-PERP"),
        ("kafka: {guarantee: maybe}", "kafka.guarantee"),
        ("kafka: {brokers: \"\"}", "kafka.brokers"),
        ("topics: {partitions: 0}", "topics.partitions"),
        ("http: {port: 70000}", "http.port"),
        ("unknown_section: 1", "unknown_section"),
        ("metrics: {stale_after: 0s}", "metrics.stale_after"),
        ("margin: {tiers: [{cap: 1000, imr: 0.02}]}", "margin.tiers[0]"),
        ("margin: {levels: {warnng: 1.5}}", "margin.levels.warnng"),
        ("margin: {hysteresis: lots}", "margin.hysteresis"),
        ("margin: {collateral: {BTC: {haircut: 0.05}}}", "margin.collateral.BTC.instrument"),
        ("margin: {snapshot_interval: often}", "margin.snapshot_interval"),
        ("stress: {min_severty: 2}", "stress.min_severty"),
        ("triggers: [{name: r, levels: [{severity: 1, when: \"sprd > 1\"}]}]", "triggers[0].levels[0].when"),
        ("triggers: [{name: r, levels: [{severity: 0, when: \"vpin > 1\"}]}]", "triggers[0].levels[0].severity"),
        ("triggers: [{name: r, levels: []}]", "triggers[0].levels"),
        ("triggers: [{levels: [{severity: 1, when: \"vpin > 1\"}]}]", "triggers[0].name"),
        ("triggers: [{name: r, levels: [{severity: 1, when: \"vpin > 1\", for: soon}]}]", "triggers[0].levels[0].for"),
        ("triggers: [{name: r, levels: [{severity: 1, when: \"vpin > 1\"}], clear: {when: \"vpin <\"}}]", "triggers[0].clear.when"),
    ])
    func badValues(yaml: String, path: String) {
        expectError(yaml, path: path)
    }

    @Test("trigger errors name the rule and the position in the condition")
    func triggerMessage() {
        #expect {
            _ = try load("triggers: [{name: wide, levels: [{severity: 1, when: \"spread_bps_avg > 25 and depth.7.bid < 1\"}]}]")
        } throws: { error in
            let text = "\(error)"
            return text.contains("rule 'wide'") && text.contains("depth.7.bid") && text.contains("position 25")
        }
    }

    @Test("the example's trigger rules parse")
    func exampleTriggers() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let c = try BackstopConfiguration.load(path: root.appendingPathComponent("config/backstop.yaml").path, environment: [:])
        #expect(c.triggers.map(\.name) == ["spread-blowout", "toxic-flow", "vol-shock"])
        #expect(c.triggers[0].levels.map(\.forMicros) == [5_000_000, 2_000_000])
        #expect(c.staleAfterMicros == 10_000_000)
        #expect(c.margin.collateral["BTC"]?.instrument == "BTC-PERP")
        #expect(c.margin.collateral["BTC"]?.haircut == 0.05)
        #expect(c.margin.stress.marginMultiplier == 1.5)
        #expect(c.margin.snapshotIntervalMicros == 1_000_000)
    }

    @Test("environment overrides the file; librdkafka keys pass through flattened")
    func environmentAndPassThrough() throws {
        let c = try load(
            "kafka: {brokers: file:1, security.protocol: SASL_SSL, sasl: {mechanism: PLAIN}}",
            environment: ["BACKSTOP_KAFKA__BROKERS": "env:2", "BACKSTOP_METRICS__EWMA_LAMBDA": "0.9",
                          "BACKSTOP_KAFKA__SASL__PASSWORD": "pw", "OTHER": "x"])
        #expect(c.kafka.brokers == "env:2")
        #expect(c.metrics.ewmaLambda == 0.9)
        #expect(c.kafka.librdkafka == ["security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.password": "pw"])
        expectError("{}", path: "metrics.interval", environment: ["BACKSTOP_METRICS__INTERVAL": "fast"])
    }

    @Test("durations", arguments: [("250us", Int64(250)), ("100ms", 100_000), ("1s", 1_000_000), ("1.5s", 1_500_000),
                                   ("5m", 300_000_000), ("2h", 7_200_000_000), ("1d", 86_400_000_000)])
    func durations(text: String, micros: Int64) {
        #expect(parseDurationMicros(text) == micros)
    }

    @Test("a duration needs a unit")
    func durationNeedsUnit() {
        #expect(parseDurationMicros("100") == nil)
        #expect(parseDurationMicros("-1s") == nil)
        #expect(parseDurationMicros("s") == nil)
    }
}
