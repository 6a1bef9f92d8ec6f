import Kafka

extension KafkaConsumer {
    /// Polls until each of `partitions` (assigned here, with end-of-partition events enabled) has reported its end
    /// after its last message, handing every message to `each`: how the global tables, the marks table and the
    /// account changelog are restored before processing. The broker's high watermark is not trusted (some brokers
    /// report the first offset of the last batch + 1).
    /// - Parameters:
    ///   - deadline: monotonic µs; past it, `timedOut()` is thrown.
    /// - Throws: a consumer error other than end-of-partition, what `each` throws, or `timedOut()`.
    /// - Returns: the messages handed to `each`.
    @discardableResult
    func readToEnd(_ partitions: Set<Int32>, batch: KafkaMessageBatch, deadline: Int64, timedOut: () -> any Error,
                   each: (KafkaMessage) throws -> Void) throws -> Int {
        var atEnd = Set<Int32>()
        var read = 0
        while !partitions.isSubset(of: atEnd) {
            guard monotonicMicros() < deadline else { throw timedOut() }
            let n = try poll(into: batch, timeout: .milliseconds(100))
            for i in 0..<n {
                let m = batch[i]
                if let error = m.error {
                    if error.code == .partitionEOF { atEnd.insert(m.partition) } else { throw error }
                    continue
                }
                atEnd.remove(m.partition)
                try each(m)
                read += 1
            }
        }
        return read
    }
}
