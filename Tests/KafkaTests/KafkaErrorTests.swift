import Kafka
import Testing

/// Error surfaces that need no broker, plus librdkafka's mock cluster where a broker is needed.
@Suite("Kafka errors and configuration")
struct KafkaErrorTests {
    @Test("an unknown librdkafka property fails at creation, naming the key")
    func unknownProperty() {
        let c = KafkaConfiguration(properties: ["no.such.property": "1"])
        #expect {
            _ = try KafkaProducer(configuration: KafkaProducerConfiguration(common: c))
        } throws: { error in
            let e = error as! KafkaError
            return e.code == .invalidConfiguration && e.message.contains("kafka.no.such.property")
        }
    }

    @Test("an invalid value is reported with librdkafka's reason, but a secret's value is never echoed")
    func invalidValues() {
        let bad = KafkaConfiguration(properties: ["socket.timeout.ms": "soon"])
        #expect {
            _ = try KafkaProducer(configuration: KafkaProducerConfiguration(common: bad))
        } throws: { error in
            let e = error as! KafkaError
            return e.message.contains("kafka.socket.timeout.ms") && e.message.contains("Invalid value")
        }
        // librdkafka quotes enum values in its reason; the value must not reach the message.
        let password = KafkaConfiguration(properties: ["sasl.oauthbearer.method": "hunter2"])
        #expect {
            _ = try KafkaProducer(configuration: KafkaProducerConfiguration(common: password))
        } throws: { error in
            "\(error)".contains("kafka.sasl.oauthbearer.method") && !"\(error)".contains("hunter2")
        }
    }

    @Test("transactional calls on a non-transactional producer fail with librdkafka's message, not a crash")
    func transactionalMisuse() throws {
        var c = KafkaProducerConfiguration(common: KafkaConfiguration(properties: ["test.mock.num.brokers": "1"]))
        c.isIdempotenceEnabled = false
        let producer = try KafkaProducer(configuration: c)
        #expect {
            try producer.beginTransaction()
        } throws: { error in
            let e = error as! KafkaError
            return !e.message.isEmpty && e.message.contains("begin_transaction")
        }
    }

    @Test("delivery to a topic that cannot exist fails for good and is reported, not retried forever")
    func deliveryFailure() throws {
        var c = KafkaProducerConfiguration(common: KafkaConfiguration(properties: [
            "test.mock.num.brokers": "1", "allow.auto.create.topics": "false",
        ]))
        c.messageTimeout = .milliseconds(1500)
        let producer = try KafkaProducer(configuration: c)
        try producer.send(topic: "does-not-exist", key: nil, value: Array("x".utf8))
        try? producer.flush(timeout: .seconds(10))
        #expect(producer.failedCount == 1)
        let error = try #require(producer.takeDeliveryError())
        #expect(!error.message.isEmpty)
        #expect(producer.takeDeliveryError() == nil, "an error is taken once")
    }

    @Test("classification: retriable, fatal and abortable are distinguished")
    func classification() {
        let timeout = KafkaError(code: .timedOut, message: "t", isRetriable: true)
        #expect(timeout.isRetriable && !timeout.isFatal)
        let fenced = KafkaError(code: .producerFenced, message: "fenced", isFatal: true)
        #expect("\(fenced)".contains("fatal"))
        #expect(KafkaError.Code.queueFull.name == "_QUEUE_FULL")
    }
}
