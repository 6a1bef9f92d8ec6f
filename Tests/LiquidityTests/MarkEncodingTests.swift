import Events
import Foundation
import Liquidity
import Testing

@Suite("MarkRecord.encoded")
struct MarkEncodingTests {
    static let instruments = ["BTC-PERP", "BTC-26DEC25-72000-C", #"odd "quoted" \name"#, "tab\there", "Ä-€-PERP", "x"]

    static func marks(of instrument: String) -> [MarkRecord] {
        let received = Array(#"{"bids":[[63998,2.413],[63996.5,0.1]],"asks":[[64002.5,0.643]]}"#.utf8)
        return [
            MarkRecord(instrument: instrument, ts: 1_764_000_000_000_000, mark: 64000.25, iv: nil, levelsIn: received,
                       bids: 8..<37, asks: 45..<62, stress: 0),
            MarkRecord(instrument: instrument, ts: 0, mark: 0.1, iv: 0.55, bids: [BookLevel(price: 99.5, size: 3)],
                       asks: [BookLevel(price: 100.25, size: 1e-7)], stress: 2),
            MarkRecord(instrument: instrument, ts: 42, mark: 1e21, iv: 1.25, bids: [], asks: [], stress: 1),
        ]
    }

    @Test("with an instrument's fragments: the same bytes as the general encoder", arguments: instruments)
    func fragmentsWriteTheSameBytes(instrument: String) throws {
        let fragments = MarkRecord.Fragments(instrument: instrument)
        for mark in Self.marks(of: instrument) {
            #expect(mark.encoded(fragments) == mark.encoded())
        }
    }

    @Test("id, instrument and ts read back as written", arguments: instruments)
    func fieldsReadBack(instrument: String) throws {
        let fragments = MarkRecord.Fragments(instrument: instrument)
        for mark in Self.marks(of: instrument) {
            let any = try JSONSerialization.jsonObject(with: Data(mark.encoded(fragments)))
            let object = try #require(any as? [String: Any])
            #expect(object["id"] as? String == "\(instrument):mark:\(mark.ts)")
            #expect(object["instrument"] as? String == instrument)
            #expect((object["ts"] as? NSNumber)?.int64Value == mark.ts)
            #expect((object["mark"] as? NSNumber)?.doubleValue == mark.mark)
            #expect((object["stress"] as? NSNumber)?.intValue == mark.stress)
            #expect((object["bids"] as? [[Double]])?.count == mark.bids.count)
        }
    }
}
