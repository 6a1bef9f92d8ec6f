import ArgumentParser
import Engine
import Foundation
import Generator
import Kafka
import Logging
import Runtime

/// Writes a generated feed to NDJSON files or produces it to the broker.
enum FeedFiles {
    static func topicName(_ topic: FeedTopic, _ names: TopicNames) -> String {
        switch topic {
        case .instruments: names.instruments
        case .quotes: names.quotes
        case .trades: names.trades
        case .accounts: names.accounts
        }
    }

    static func write(_ feed: FeedGenerator, to directory: String, topics: TopicNames) throws -> [String: Int] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var files: [FeedTopic: UnsafeMutablePointer<FILE>] = [:]
        defer { for f in files.values { fclose(f) } }
        var counts: [String: Int] = [:]
        for record in feed {
            let file: UnsafeMutablePointer<FILE>
            if let f = files[record.topic] {
                file = f
            } else {
                let path = "\(directory)/\(topicName(record.topic, topics)).ndjson"
                guard let f = fopen(path, "w") else { throw ValidationError("cannot write \(path)") }
                files[record.topic] = f
                file = f
            }
            fputs(record.value, file)
            fputc(0x0A, file)
            counts[topicName(record.topic, topics), default: 0] += 1
        }
        return counts
    }

    /// Produces every record keyed as SPEC §2 says; with `speed`, paced so that event time runs `speed`× wall time.
    static func produce(_ feed: FeedGenerator, configuration: BackstopConfiguration, speed: Double?, logger: Logger)
        throws -> [String: Int]
    {
        var c = KafkaProducerConfiguration(common: KafkaConfiguration(
            bootstrapServers: configuration.kafka.brokers, clientID: "backstop-generate",
            properties: configuration.kafka.producerLibrdkafka))
        c.linger = .milliseconds(20)
        let producer = try KafkaProducer(configuration: c)
        var counts: [String: Int] = [:]
        var firstTs: Int64?
        let started = DispatchTime.now().uptimeNanoseconds
        for record in feed {
            if let speed {
                let first = firstTs ?? record.ts
                firstTs = first
                let due = Double(record.ts - first) / 1e6 / speed
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                if due > elapsed {
                    producer.poll()
                    usleep(UInt32(min(due - elapsed, 1) * 1e6))
                }
            }
            let topic = topicName(record.topic, configuration.topics)
            try producer.send(topic: topic, key: Array(record.key.utf8), value: Array(record.value.utf8))
            counts[topic, default: 0] += 1
            if counts[topic]! % 1024 == 0 { producer.poll() }
        }
        try producer.flush(timeout: .seconds(60))
        if let error = producer.takeDeliveryError() { throw error }
        return counts
    }
}
