import Engine
import Kafka

/// Produces engine outputs with the SPEC §2 headers.
struct OutputProducer {
    let producer: KafkaProducer
    let topics: TopicNames
    private(set) var produced: [OutputTopic: Int] = [:]

    init(producer: KafkaProducer, topics: TopicNames) {
        self.producer = producer
        self.topics = topics
    }

    mutating func send(_ record: OutputRecord) throws(KafkaError) {
        try producer.send(
            topic: topics.name(of: record.topic), key: record.key, value: record.value,
            headers: [Self.contentType, Self.schemas[record.topic]!, KafkaHeader(name: "source", value: record.origin.headerBytes)])
        produced[record.topic, default: 0] += 1
    }

    private static let contentType = KafkaHeader(name: "content-type", value: "application/json")
    private static let schemas = Dictionary(uniqueKeysWithValues: OutputTopic.allCases.map {
        ($0, KafkaHeader(name: "schema", value: TopicNames.schema(of: $0)))
    })
}
