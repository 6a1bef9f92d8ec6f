import Kafka
public import Logging

/// `backstop topics create`: every topic of SPEC §1 with its partition count and cleanup policy.
public enum Topics {
    /// The topics backstop reads and writes; compacted ones keep the latest value per key.
    public static func all(_ configuration: BackstopConfiguration, partitions: Int) -> [(name: String, compacted: Bool)] {
        let t = configuration.topics
        return [
            (t.instruments, true), (t.quotes, false), (t.trades, false), (t.accounts, false),
            (t.liquidityMetrics, false), (t.triggers, false), (t.marks, true), (t.fills, false),
            (t.marginCalls, false), (t.accountMargin, true), (t.dlq, false),
            (AccountDriver.changelogTopic(configuration), true),
            (AccountDriver.progressTopic(configuration), true),
        ]
    }

    /// Creates the topics that do not exist yet. - Returns: (created, already existing) names.
    public static func create(_ configuration: BackstopConfiguration, partitions: Int, logger: Logger) throws
        -> (created: [String], existing: [String])
    {
        let admin = try self.admin(configuration, logger: logger)
        let topics = all(configuration, partitions: partitions).map {
            newTopic($0.name, compacted: $0.compacted, partitions: partitions)
        }
        let outcome = try admin.createTopics(topics, timeout: .seconds(30))
        var created: [String] = []
        var existing: [String] = []
        for topic in topics {
            switch outcome[topic.name] {
            case nil: created.append(topic.name)
            case let error? where error.code == .topicAlreadyExists: existing.append(topic.name)
            case let error?: throw error
            }
        }
        return (created, existing)
    }

    /// An admin client on the configured brokers.
    static func admin(_ configuration: BackstopConfiguration, logger: Logger) throws -> KafkaAdmin {
        try KafkaAdmin(configuration: KafkaConfiguration(
            bootstrapServers: configuration.kafka.brokers, clientID: "backstop-admin",
            properties: configuration.kafka.producerLibrdkafka), onLog: KafkaLogBridge(logger: logger).log)
    }

    /// A topic to create, with its `cleanup.policy`.
    static func newTopic(_ name: String, compacted: Bool, partitions: Int) -> NewTopic {
        NewTopic(name: name, partitions: partitions, configs: ["cleanup.policy": compacted ? "compact" : "delete"])
    }
}
