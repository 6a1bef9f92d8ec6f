import Foundation
import Kafka
import Logging

/// Routes librdkafka's log lines and client errors into swift-log.
struct KafkaLogBridge: Sendable {
    let logger: Logger
    /// Also told of every client error (readiness).
    var onClientError: (@Sendable (KafkaError) -> Void)?

    var log: @Sendable (KafkaLogRecord) -> Void {
        let logger = logger
        return { record in
            let level: Logger.Level = switch record.level {
            case ...3: .error
            case 4: .warning
            case 5, 6: .info
            default: .debug
            }
            logger.log(level: level, "librdkafka", metadata: ["facility": "\(record.facility)", "message": "\(record.message)"])
        }
    }

    var error: @Sendable (KafkaError) -> Void {
        let logger = logger
        let hook = onClientError
        return { error in
            logger.log(level: error.isFatal ? .critical : .warning, "kafka client error", metadata: ["error": "\(error)"])
            hook?(error)
        }
    }
}

func hostName() -> String { ProcessInfo.processInfo.hostName }
func processID() -> Int32 { ProcessInfo.processInfo.processIdentifier }
