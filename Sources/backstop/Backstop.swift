import ArgumentParser
import Foundation
import Logging
import Runtime

@main
struct Backstop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backstop",
        abstract: "Real-time liquidity metrics and margin backstop for crypto derivatives, on Kafka.",
        subcommands: [Run.self, ReplayCommand.self, Backtest.self, Generate.self, TopicsCommand.self, TailCommand.self, ConfigCommand.self, Bench.self]
    )
}

/// Options every command that reads the configuration shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "The YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Kafka bootstrap servers (overrides kafka.brokers).")
    var brokers: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    /// The configuration: file, then environment, then flags. Exits with the field's path on error.
    func load() throws -> BackstopConfiguration {
        var c = try BackstopConfiguration.load(path: config)
        if let brokers {
            guard !brokers.isEmpty else { throw ValidationError("--brokers must not be empty") }
            c.kafka.brokers = brokers
        }
        return c
    }

    func logger(_ label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingBootstrap.once(level: level)
        return Logger(label: label)
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false

    static func once(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Raises `stop` on SIGINT or SIGTERM (the first signal asks for a graceful stop; a second one exits at once).
func installStopHandlers(_ stop: StopSignal) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { sig in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler {
            if stop.isRaised { exit(130) }
            stop.raise()
        }
        source.resume()
        return source
    }
}

/// Runs `body` on a dedicated thread (never the cooperative pool) and waits for it.
func onDedicatedThread(name: String, _ body: @escaping @Sendable () throws -> Void) throws {
    final class Outcome: @unchecked Sendable { var error: (any Error)? }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        do { try body() } catch { outcome.error = error }
        done.signal()
    }
    thread.name = name
    thread.stackSize = 8 << 20
    thread.start()
    done.wait()
    if let error = outcome.error { throw error }
}

func failure(_ error: any Error) -> String {
    "error: \(error)"
}
