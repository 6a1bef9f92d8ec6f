import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Runtime
import Testing
import Logging

@Suite("HTTP endpoints")
struct HTTPServerTests {
    func get(_ port: Int, _ path: String) throws -> (status: Int, body: String) {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        let semaphore = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var result: (Int, String)?; var error: (any Error)? }
        let box = Box()
        URLSession.shared.dataTask(with: url) { data, response, error in
            if let error { box.error = error }
            box.result = ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self))
            semaphore.signal()
        }.resume()
        semaphore.wait()
        if let error = box.error { throw error }
        return box.result!
    }

    @Test("/metrics in Prometheus text format; /health/ready turns 200 only when every condition holds")
    func endpoints() throws {
        let registry = MetricsRegistry()
        let server = HTTPServer(registry: registry, logger: Logger(label: "test"))
        try server.start(host: "127.0.0.1", port: 0)
        defer { server.stop() }
        registry.add("backstop_events_in_total", ["topic", "quotes"], 3)
        registry.add("backstop_events_in_total", ["topic", "quotes"], 2)
        registry.setTotal("backstop_dlq_total", ["reason", "late"], 7)
        registry.replace("backstop_consumer_lag", [(["topic", "quotes", "partition", "0"], 12)])
        registry.observeLatency(seconds: 0.003)

        let metrics = try get(server.port, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("# TYPE backstop_events_in_total counter\nbackstop_events_in_total{topic=\"quotes\"} 5\n"))
        #expect(metrics.body.contains("backstop_dlq_total{reason=\"late\"} 7"))
        #expect(metrics.body.contains("backstop_consumer_lag{topic=\"quotes\",partition=\"0\"} 12"))
        #expect(metrics.body.contains("backstop_processing_latency_seconds_bucket{le=\"0.0025\"} 0"))
        #expect(metrics.body.contains("backstop_processing_latency_seconds_bucket{le=\"0.005\"} 1"))
        #expect(metrics.body.contains("backstop_processing_latency_seconds_count 1"))

        #expect(try get(server.port, "/health/live").status == 200)
        #expect(try get(server.port, "/health/ready").status == 503)
        for condition in ["assigned", "restored", "broker"] { registry.setReady(condition, true) }
        #expect(try get(server.port, "/health/ready").status == 200)
        registry.setReady("broker", false)
        let notReady = try get(server.port, "/health/ready")
        #expect(notReady.status == 503 && notReady.body.contains("broker=false"))
        #expect(try get(server.port, "/nothing").status == 404)
    }

    @Test("a port in use fails at start, naming http.port")
    func portInUse() throws {
        let first = HTTPServer(registry: MetricsRegistry(), logger: Logger(label: "test"))
        try first.start(host: "127.0.0.1", port: 0)
        defer { first.stop() }
        let second = HTTPServer(registry: MetricsRegistry(), logger: Logger(label: "test"))
        #expect {
            try second.start(host: "127.0.0.1", port: first.port)
        } throws: { error in
            (error as? ConfigError)?.path == "http.port"
        }
    }
}
