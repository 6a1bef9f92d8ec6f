@testable import Runtime
import Testing

@Suite("Instrument-task progress records")
struct ProgressRecordTests {
    @Test("A source point round-trips through its progress record, drained included")
    func roundTrip() throws {
        for (eventTime, drained) in [(1_764_000_000_123_456, nil), (Int64.min, nil), (1_764_000_000_123_456, [0, 0]),
                                     (Int64.min, [12, 4_000_000_001] as [Int64]?)] {
            let point = AccountDriver.SourcePoint(marksEnd: [0: 17, 2: 4_000_000_000], fillsEnd: [1: 5],
                                                  eventTime: eventTime, drained: drained)
            let bytes = AccountDriver.encodeProgress(task: 2, point)
            let decoded = try #require(bytes.withUnsafeBytes { AccountDriver.decodeProgress($0) },
                                       "\(String(decoding: bytes, as: UTF8.self))")
            #expect(decoded.0 == 2)
            #expect(decoded.1 == point)
        }
    }

    @Test("A drained claim without one end per input is no claim")
    func malformedDrained() throws {
        let bytes = Array(#"{"task":1,"event_time":5,"drained":[7],"marks":[],"fills":[]}"#.utf8)
        let decoded = try #require(bytes.withUnsafeBytes { AccountDriver.decodeProgress($0) })
        #expect(decoded.1 == AccountDriver.SourcePoint(marksEnd: [:], fillsEnd: [:], eventTime: 5, drained: nil))
    }

    @Test("A record of an earlier version claiming no bound (null event time) bounds at the lowest: it cannot be checked")
    func legacyUnbounded() throws {
        let bytes = Array(#"{"task":1,"event_time":null,"marks":[[0,3]],"fills":[]}"#.utf8)
        let decoded = try #require(bytes.withUnsafeBytes { AccountDriver.decodeProgress($0) })
        #expect(decoded.1 == AccountDriver.SourcePoint(marksEnd: [0: 3], fillsEnd: [:], eventTime: .min, drained: nil))
    }
}
