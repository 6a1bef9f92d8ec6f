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
            headers: [
                KafkaHeader(name: "content-type", value: "application/json"),
                KafkaHeader(name: "schema", value: TopicNames.schema(of: record.topic)),
                KafkaHeader(name: "source", value: record.origin.header),
            ])
        produced[record.topic, default: 0] += 1
    }
}
