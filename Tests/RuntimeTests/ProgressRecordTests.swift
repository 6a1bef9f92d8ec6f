@testable import Runtime
import Testing

@Suite("Instrument-task progress records")
struct ProgressRecordTests {
    @Test("A source point round-trips through its progress record, drained (unbounded) included")
    func roundTrip() throws {
        for eventTime in [Int64.max, 1_764_000_000_123_456, Int64.min] {
            let point = AccountDriver.SourcePoint(marksEnd: [0: 17, 2: 4_000_000_000], fillsEnd: [1: 5], eventTime: eventTime)
            let bytes = AccountDriver.encodeProgress(task: 2, point)
            let decoded = try #require(bytes.withUnsafeBytes { AccountDriver.decodeProgress($0) },
                                       "\(String(decoding: bytes, as: UTF8.self))")
            #expect(decoded.0 == 2)
            #expect(decoded.1 == point)
        }
    }
}
