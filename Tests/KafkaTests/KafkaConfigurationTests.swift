@testable import Kafka
import Testing

@Suite("Kafka client configuration")
struct KafkaConfigurationTests {
    @Test("fetch.wait.max.ms is set only when asked for, and a pass-through key given later overrides it")
    func fetchWaitMax() {
        var common = KafkaConfiguration(bootstrapServers: "127.0.0.1:9092", clientID: "t")
        var c = KafkaConsumerConfiguration(common: common, groupID: nil)
        #expect(!c.entries().contains { $0.0 == "fetch.wait.max.ms" })
        c.fetchWaitMax = .milliseconds(10)
        #expect(c.entries().filter { $0.0 == "fetch.wait.max.ms" }.map(\.1) == ["10"])

        common.properties = ["fetch.wait.max.ms": "250"]
        c.common = common
        // librdkafka applies entries in order: the operator's value comes last and wins.
        #expect(c.entries().filter { $0.0 == "fetch.wait.max.ms" }.map(\.1) == ["10", "250"])
    }
}
