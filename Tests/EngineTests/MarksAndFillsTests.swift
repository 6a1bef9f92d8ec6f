import Engine
import Events
import Foundation
import Liquidity
import Testing

@Suite("Marks and fills")
struct MarksAndFillsTests {
    func run(_ lines: [(InputKind, String)], configuration: InstrumentStageConfiguration = InstrumentStageConfiguration())
        -> [OutputRecord]
    {
        var stage = InstrumentStage(configuration: configuration)
        for (offset, (kind, json)) in lines.enumerated() {
            let origin = Origin(topic: kind == .quotes ? "quotes" : "trades", partition: 0, offset: Int64(offset))
            let input = Array(json.utf8).withUnsafeBytes {
                PendingInput.decode(kind: kind, origin: origin, key: nil, value: $0,
                                    fallbackTs: stage.fallbackTs(partition: 0, kind: kind))
            }
            stage.enqueue(input, partition: 0)
        }
        var out: [OutputRecord] = []
        stage.drain(canSkip: { _, _ in true }, emit: { out.append($0) })
        return out
    }

    func quote(_ ms: Int64, bid: Double = 99, ask: Double = 101) -> (InputKind, String) {
        (.quotes, "{\"instrument\":\"X\",\"ts\":\(ms * 1000),\"bid\":\(bid),\"bid_size\":1,\"ask\":\(ask),\"ask_size\":2}")
    }

    func object(_ r: OutputRecord) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.value)) as? [String: Any])
    }

    @Test("a mark is published on change, at most once per marks.interval, never unchanged")
    func throttle() throws {
        let out = run([quote(0), quote(50, bid: 99.5), quote(120, bid: 99.5), quote(300, bid: 99.5), quote(450, bid: 98)])
        let marks = try out.filter { $0.topic == .marks }.map(object)
        // 0: first; 50: inside the window (waits); 120: the change since 0 is published; 300: unchanged; 450: changed.
        #expect(marks.map { $0["ts"] as? Int } == [0, 120_000, 450_000])
        #expect(marks.map { $0["mark"] as? Double } == [100, 100.25, 99.5])
        #expect(marks[0]["bids"] as? [[Double]] == [[99, 1]])
        #expect(marks[0]["stress"] as? Int == 0)
        #expect(marks[0]["id"] as? String == "X:mark:0")
        #expect(out.first { $0.topic == .marks }?.key == Array("X".utf8))
    }

    @Test("marks.interval 0 publishes every change")
    func everyChange() throws {
        var c = InstrumentStageConfiguration()
        c.markIntervalMicros = 0
        let out = run([quote(0), quote(1, bid: 99.5), quote(2, bid: 99.5)], configuration: c)
        #expect(out.filter { $0.topic == .marks }.count == 2)
    }

    @Test("a trade naming accounts becomes a fill for each, keyed by account")
    func fills() throws {
        let out = run([quote(0), (.trades, """
            {"instrument":"X","ts":1000,"id":"T-1","price":101,"size":0.5,"side":"buy","buyer":"a-1","seller":"a-2","fee":0.0002}
            """), (.trades, "{\"instrument\":\"X\",\"ts\":2000,\"id\":\"T-2\",\"price\":101,\"size\":1,\"side\":\"sell\"}")])
        let fills = out.filter { $0.topic == .fills }
        #expect(fills.map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["a-1", "a-2"])
        let buyer = try object(fills[0])
        #expect(buyer["id"] as? String == "a-1:fill:T-1:buy")
        #expect(buyer["side"] as? String == "buy")
        #expect(buyer["size"] as? Double == 0.5)
        #expect(buyer["fee"] as? Double == 0.0002)
        #expect(try object(fills[1])["side"] as? String == "sell")
    }
}
