import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Tansu broker process for integration tests, on a free 127.0.0.1 port, stopped on `stop()` or deinit.
///
/// The binary comes from the `TANSU` environment variable, which `make test` sets (`scripts/setup.sh` installs it).
public final class TansuBroker: @unchecked Sendable {
    public let port: Int
    public var bootstrap: String { "127.0.0.1:\(port)" }
    private let process: Process
    private let logURL: URL

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts a broker and waits until it accepts connections.
    public static func start() throws -> TansuBroker {
        guard let path = ProcessInfo.processInfo.environment["TANSU"], FileManager.default.isExecutableFile(atPath: path) else {
            throw Unavailable(description: "TANSU is not set to the broker binary: run the tests with `make test`")
        }
        return try TansuBroker(binary: path)
    }

    private init(binary: String) throws {
        port = try freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        let url = "tcp://127.0.0.1:\(port)"
        process.arguments = ["broker", "--listener-url", url, "--advertised-listener-url", url,
                             "--storage-engine", "memory://tansu/"]
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("tansu-\(port).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while !canConnect(port: port) {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw Unavailable(description: "Tansu did not start on port \(port); see \(logURL.path)")
            }
            usleep(20_000)
        }
    }

    deinit { stop() }

    /// Stops the broker (SIGTERM, then SIGKILL after 3 s).
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A port the kernel considers free right now.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TansuBroker.Unavailable(description: "socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw TansuBroker.Unavailable(description: "bind() failed") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// A unique name for topics and groups, so tests sharing a broker never collide.
public func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UInt64.random(in: 0..<UInt64.max).description.prefix(10))"
}
