import Foundation
import Kafka
public import Logging

/// `backstop tail TOPIC`: follows a topic from the beginning (or the end) and prints each record for a person.
public struct Tail: Sendable {
    public var configuration: BackstopConfiguration
    public var topic: String
    public var fromEnd = false
    /// Prints raw JSON lines instead of the human rendering.
    public var isRaw = false
    /// Stops after this many records (nil: follow until stopped).
    public var limit: Int?
    /// Only records with one of these keys (empty: all).
    public var keys: Set<String> = []

    public init(configuration: BackstopConfiguration, topic: String) {
        self.configuration = configuration
        self.topic = topic
    }

    public func run(until stop: StopSignal, logger: Logger, print write: (String) -> Void) throws {
        var c = KafkaConsumerConfiguration(
            common: KafkaConfiguration(bootstrapServers: configuration.kafka.brokers, clientID: "backstop-tail",
                                       properties: configuration.kafka.consumerLibrdkafka),
            groupID: nil)
        c.isolationLevel = .readCommitted
        let consumer = try KafkaConsumer(configuration: c, onLog: KafkaLogBridge(logger: logger).log)
        let count = try consumer.partitionCount(topic: topic, timeout: .seconds(30))
        try consumer.assign((0..<count).map {
            TopicPartition(topic: topic, partition: Int32($0), offset: fromEnd ? KafkaOffset.end : KafkaOffset.beginning)
        })
        let batch = KafkaMessageBatch(capacity: 512)
        var printed = 0
        while !stop.isRaised {
            let n = try consumer.poll(into: batch, timeout: .milliseconds(200))
            for i in 0..<n {
                let m = batch[i]
                if m.error != nil { continue }
                let key = m.key.map { String(decoding: $0, as: UTF8.self) } ?? "-"
                if !keys.isEmpty, !keys.contains(key) { continue }
                let value = m.value.map { Array($0) }
                write(isRaw ? (value.map { String(decoding: $0, as: UTF8.self) } ?? "null")
                            : Rendering.line(topic: topic, key: key, value: value, partition: m.partition, offset: m.offset))
                printed += 1
                if let limit, printed >= limit { return }
            }
        }
    }
}

/// Human-readable one-line renderings of backstop's records.
public enum Rendering {
    public static func line(topic: String, key: String, value: [UInt8]?, partition: Int32, offset: Int64) -> String {
        guard let value else { return "\(topic)/\(partition)@\(offset) \(key) <tombstone>" }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any] else {
            return "\(topic)/\(partition)@\(offset) \(key) \(String(decoding: value, as: UTF8.self))"
        }
        let time = (object["ts"] as? NSNumber).map { clock(Int64(truncating: $0)) } ?? "-"
        if object["spread_bps"] != nil || object["id"].map({ "\($0)".contains(":metrics:") }) == true {
            return String(format: "%@  %-20@ mid %@  spread %@ bps (avg %@)  vol %@ in %@ trades  σ %@  VaR99 %@  stale %@s",
                          time, key, num(object["mid"], 2), num(object["spread_bps"], 2), num(object["spread_bps_avg"], 2),
                          num(object["volume"], 3), num(object["trades"], 0), pct(object["vol_ewma"]),
                          pct(object["var_99"]), num(object["stale_s"], 1))
        }
        if let rule = object["rule"] as? String, let state = object["state"] as? String {
            let evidence = (object["evidence"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\(num($0.value, 2))" }.joined(separator: " ")
            let marker = state == "cleared" ? "✓" : state == "deescalated" ? "↘" : "⚠"
            return "\(time)  \(marker) TRIGGER \(key) \(rule) \(state) severity \(object["previous_severity"] ?? "?")→\(object["severity"] ?? "?")  \(evidence)"
        }
        if let reason = object["reason"] as? String, object["error"] != nil {
            return "\(time)  DLQ \(object["topic"] ?? "?")/\(object["partition"] ?? "?")/\(object["offset"] ?? "?")  \(reason): \(object["error"] ?? "")"
        }
        return "\(time)  \(key)  \(String(decoding: value, as: UTF8.self))"
    }

    static func clock(_ micros: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(micros) / 1e6)
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    static func num(_ v: Any?, _ digits: Int) -> String {
        guard let n = v as? NSNumber else { return "—" }
        return String(format: "%.\(digits)f", n.doubleValue)
    }

    static func pct(_ v: Any?) -> String {
        guard let n = v as? NSNumber else { return "—" }
        return String(format: "%.1f%%", n.doubleValue * 100)
    }
}
