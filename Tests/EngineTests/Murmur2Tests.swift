import Engine
import Testing

@Suite("Kafka's murmur2 partitioner")
struct Murmur2Tests {
    /// Reference values from the Apache Kafka Java client's `UtilsTest.testMurmur2`.
    @Test(arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
    ])
    func javaReferenceValues(key: String, expected: Int32) {
        #expect(Murmur2.hash(Array(key.utf8)) == expected)
    }

    @Test("partition = toPositive(hash) mod n")
    func partition() {
        // toPositive(-973932308) = -973932308 & 0x7fffffff = 1173551340; mod 3 = 0, mod 7 = 2.
        #expect(Murmur2.partition(of: Array("21".utf8), partitions: 3) == 1_173_551_340 % 3)
        #expect(Murmur2.partition(of: Array("21".utf8), partitions: 7) == 1_173_551_340 % 7)
        #expect(Murmur2.partition(of: Array("abc".utf8), partitions: 5) == 479_470_107 % 5)
    }
}
