import Foundation
import Synchronization

/// Process metrics in Prometheus' text exposition format (`/metrics`), updated by the pipeline once per batch.
///
/// One lock guards everything; the pipeline takes it once per poll loop, the HTTP thread once per scrape.
public final class MetricsRegistry: Sendable {
    struct State {
        var counters: [String: [Labels: Double]] = [:]
        var gauges: [String: [Labels: Double]] = [:]
        var latency = Histogram(bounds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1])
        var isLive = true
        var readiness: [String: Bool] = ["assigned": false, "restored": false, "broker": false]
    }

    struct Labels: Hashable, Comparable {
        var pairs: [String]
        static func < (a: Labels, b: Labels) -> Bool { a.pairs.lexicographicallyPrecedes(b.pairs) }
        var text: String {
            guard !pairs.isEmpty else { return "" }
            var parts: [String] = []
            for i in stride(from: 0, to: pairs.count - 1, by: 2) { parts.append("\(pairs[i])=\"\(escape(pairs[i + 1]))\"") }
            return "{" + parts.joined(separator: ",") + "}"
        }
    }

    struct Histogram {
        let bounds: [Double]
        var counts: [Double]
        var sum = 0.0
        var count = 0.0
        init(bounds: [Double]) { self.bounds = bounds; counts = Array(repeating: 0, count: bounds.count) }
        mutating func observe(_ v: Double) {
            for (i, b) in bounds.enumerated() where v <= b { counts[i] += 1 }
            sum += v
            count += 1
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds to a counter, e.g. `add("backstop_events_in_total", ["topic", "quotes"], 4096)`.
    public func add(_ name: String, _ labels: [String] = [], _ value: Double = 1) {
        state.withLock { $0.counters[name, default: [:]][Labels(pairs: labels), default: 0] += value }
    }

    /// Sets a counter to a running total kept elsewhere (it only ever grows).
    public func setTotal(_ name: String, _ labels: [String] = [], _ value: Double) {
        state.withLock { $0.counters[name, default: [:]][Labels(pairs: labels)] = value }
    }

    /// Sets a gauge.
    public func set(_ name: String, _ labels: [String] = [], _ value: Double) {
        state.withLock { $0.gauges[name, default: [:]][Labels(pairs: labels)] = value }
    }

    /// Replaces every series of a gauge (for label sets that come and go, such as assigned partitions).
    public func replace(_ name: String, _ series: [([String], Double)]) {
        state.withLock { s in
            s.gauges[name] = Dictionary(series.map { (Labels(pairs: $0.0), $0.1) }, uniquingKeysWith: { $1 })
        }
    }

    public func observeLatency(seconds: Double) { state.withLock { $0.latency.observe(seconds) } }

    public func setReady(_ condition: String, _ value: Bool) { state.withLock { $0.readiness[condition] = value } }

    /// Ready when every condition holds (partitions assigned, state restored, broker reachable).
    public var readiness: (ready: Bool, conditions: [String: Bool]) {
        state.withLock { s in (s.readiness.values.allSatisfy { $0 }, s.readiness) }
    }

    public var isLive: Bool { state.withLock { $0.isLive } }

    /// The exposition text.
    public func render() -> String {
        state.withLock { s in
            var out = ""
            for name in s.counters.keys.sorted() {
                out += "# TYPE \(name) counter\n"
                for (labels, v) in s.counters[name]!.sorted(by: { $0.key < $1.key }) { out += "\(name)\(labels.text) \(number(v))\n" }
            }
            for name in s.gauges.keys.sorted() {
                out += "# TYPE \(name) gauge\n"
                for (labels, v) in s.gauges[name]!.sorted(by: { $0.key < $1.key }) { out += "\(name)\(labels.text) \(number(v))\n" }
            }
            let h = s.latency
            out += "# HELP backstop_processing_latency_seconds From a batch's poll to its outputs handed to the producer.\n"
            out += "# TYPE backstop_processing_latency_seconds histogram\n"
            for (i, b) in h.bounds.enumerated() {
                out += "backstop_processing_latency_seconds_bucket{le=\"\(number(b))\"} \(number(h.counts[i]))\n"
            }
            out += "backstop_processing_latency_seconds_bucket{le=\"+Inf\"} \(number(h.count))\n"
            out += "backstop_processing_latency_seconds_sum \(number(h.sum))\n"
            out += "backstop_processing_latency_seconds_count \(number(h.count))\n"
            return out
        }
    }
}

private func number(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
}

private func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        .replacingOccurrences(of: "\n", with: "\\n")
}
