import Foundation
public import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server for `/metrics`, `/health/live` and `/health/ready`, on its own thread.
///
/// Scrapes and probes are rare and tiny: one blocking thread answers one request per connection, then closes it.
/// Linux only: ``stop()`` wakes the thread by shutting the listening socket down, which Linux turns into a failed
/// `accept`.
public final class HTTPServer: @unchecked Sendable {
    private let registry: MetricsRegistry
    private let logger: Logger
    /// The listening socket (-1 when not started or stopped), under `lock`.
    private var listener: Int32 = -1
    private let lock = NSLock()
    /// Signalled by the accept thread once it has closed the listening socket and ended.
    private let finished = DispatchSemaphore(value: 0)
    /// The port bound (useful with port 0).
    public private(set) var port: Int = 0

    public init(registry: MetricsRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Binds and starts answering. - Throws: ``ConfigError`` naming `http.port` when it cannot bind.
    public func start(host: String, port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ConfigError("http", "cannot create a socket") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw ConfigError("http.host", "'\(host)' is not an IPv4 address")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound, listen(fd, 16) == 0 else {
            close(fd)
            throw ConfigError("http.port", "cannot listen on \(host):\(port): \(String(cString: strerror(errno)))")
        }
        lock.withLock { listener = fd }
        self.port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in
            acceptLoop(fd)
            finished.signal()
        }
        thread.name = "backstop-http"
        thread.start()
        logger.info("http listening", metadata: ["address": "\(host):\(self.port)"])
    }

    /// Stops accepting, waits for the accept thread to end (after the request it may be answering, at most a few
    /// seconds: reads and writes to a client time out), then closes the listening socket.
    ///
    /// The socket is closed only once the thread has ended: closed earlier, its number could go to another
    /// socket, on which a thread not yet in `accept` would then accept. `shutdown` makes every `accept` on it,
    /// present or next, fail with `EINVAL`, which ends the thread.
    public func stop() {
        let fd = lock.withLock {
            let fd = listener
            listener = -1
            return fd
        }
        guard fd >= 0 else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        finished.wait()
        close(fd)
    }

    /// Answers connections until the socket is shut down (`EINVAL`); a failed `accept` for any other reason (a
    /// connection reset before it was taken, descriptors or memory short for a moment) is retried.
    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                switch errno {
                case EINVAL, EBADF, ENOTSOCK: return
                case EMFILE, ENFILE, ENOBUFS, ENOMEM: usleep(50_000)
                default: break
                }
                continue
            }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(client, &buffer, buffer.count, 0)
        guard n > 0 else { return }
        let request = String(decoding: buffer[..<n], as: UTF8.self)
        let parts = request.split(separator: " ", maxSplits: 2)
        let (status, type, body): (String, String, String)
        if parts.count < 2 || parts[0] != "GET" {
            (status, type, body) = ("405 Method Not Allowed", "text/plain", "only GET\n")
        } else {
            switch parts[1].split(separator: "?").first.map(String.init) ?? "" {
            case "/metrics":
                (status, type, body) = ("200 OK", "text/plain; version=0.0.4", registry.render())
            case "/health/live":
                (status, type, body) = registry.isLive ? ("200 OK", "text/plain", "live\n") : ("503 Service Unavailable", "text/plain", "not live\n")
            case "/health/ready":
                let r = registry.readiness
                let detail = r.conditions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                (status, type, body) = r.ready ? ("200 OK", "text/plain", "ready \(detail)\n")
                    : ("503 Service Unavailable", "text/plain", "not ready \(detail)\n")
            default:
                (status, type, body) = ("404 Not Found", "text/plain", "not found\n")
            }
        }
        let payload = Array(body.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + payload
        var sent = 0
        while sent < bytes.count {
            let w = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if w <= 0 { return }
            sent += w
        }
    }
}
