/// Kafka's key partitioner: murmur2 as in the Java client (`Utils.murmur2`), so a backtest places keys in the
/// same partitions as librdkafka's `murmur2_random` partitioner and Java producers do.
public enum Murmur2 {
    /// The 32-bit murmur2 hash with Kafka's seed.
    public static func hash(_ data: some Collection<UInt8>) -> Int32 {
        let bytes = Array(data)
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: bytes.count)
        let blocks = bytes.count / 4
        for i in 0..<blocks {
            let j = i * 4
            var k = UInt32(bytes[j]) | UInt32(bytes[j + 1]) << 8 | UInt32(bytes[j + 2]) << 16 | UInt32(bytes[j + 3]) << 24
            k &*= m
            k ^= k >> r
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = blocks * 4
        switch bytes.count & 3 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h &*= m
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h &*= m
        case 1:
            h ^= UInt32(bytes[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition of `key` among `partitions`: `toPositive(murmur2(key)) % partitions`.
    public static func partition(of key: some Collection<UInt8>, partitions: Int) -> Int32 {
        precondition(partitions > 0, "partition count must be positive")
        let positive = UInt32(bitPattern: hash(key)) & 0x7fff_ffff
        return Int32(positive % UInt32(partitions))
    }
}
