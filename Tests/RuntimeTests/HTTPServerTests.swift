import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Runtime
import Testing
import Logging

@Suite("HTTP endpoints")
struct HTTPServerTests {
    /// One plain HTTP/1.1 request over a fresh socket, read to the end (no client-side connection reuse or
    /// retries between the test and the server).
    func get(_ port: Int, _ path: String) throws -> (status: Int, body: String) {
        struct RequestFailed: Error { var step: String }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RequestFailed(step: "socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw RequestFailed(step: "connect") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw RequestFailed(step: "send")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 { throw RequestFailed(step: "recv") }
            if n == 0 { break }
            response += buffer[..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n").first, statusLine.split(separator: " ").count >= 2,
              let status = Int(statusLine.split(separator: " ")[1]),
              let bodyStart = text.range(of: "\r\n\r\n") else { throw RequestFailed(step: "parse: \(text.prefix(200))") }
        return (status, String(text[bodyStart.upperBound...]))
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

    @Test("a server stopped at once never answers for the next one, which may reuse its socket's descriptor")
    func stopThenStart() throws {
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        for round in 0..<200 {
            let brief = HTTPServer(registry: MetricsRegistry(), logger: quiet)
            try brief.start(host: "127.0.0.1", port: 0)
            brief.stop()
            let registry = MetricsRegistry()
            registry.add("backstop_events_in_total", ["topic", "quotes"], Double(round + 1))
            let next = HTTPServer(registry: registry, logger: quiet)
            try next.start(host: "127.0.0.1", port: 0)
            defer { next.stop() }
            let body = try get(next.port, "/metrics").body
            #expect(body.contains("backstop_events_in_total{topic=\"quotes\"} \(round + 1)\n"), "round \(round)")
        }
    }

    @Test("stop() returns while a client holds a connection open without sending a request",
          .timeLimit(.minutes(1)))
    func stopWithIdleClient() throws {
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let server = HTTPServer(registry: MetricsRegistry(), logger: quiet)
        try server.start(host: "127.0.0.1", port: 0)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        usleep(100_000)  // the server takes the connection and waits for a request
        server.stop()
        server.stop()  // a second stop does nothing
        // The port is free again: a new server can bind it.
        let next = HTTPServer(registry: MetricsRegistry(), logger: quiet)
        try next.start(host: "127.0.0.1", port: server.port)
        next.stop()
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
