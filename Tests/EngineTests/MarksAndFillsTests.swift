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

    @Test("the source header's bytes spell topic/partition/offset, for every sign and size of number")
    func sourceHeaderBytes() {
        for origin in [Origin(topic: "quotes", partition: 0, offset: 0), Origin(topic: "a/b", partition: 17, offset: 9_876_543_210),
                       Origin(topic: "t", partition: Int32.max, offset: Int64.max), Origin(topic: "t", partition: -1, offset: Int64.min)] {
            #expect(origin.headerBytes == Array("\(origin.topic)/\(origin.partition)/\(origin.offset)".utf8))
        }
    }

    @Test("a source header reads back as its origin; anything else is nil")
    func sourceHeaderRoundTrip() {
        for origin in [Origin(topic: "quotes", partition: 0, offset: 0), Origin(topic: "a/b", partition: 17, offset: 9_876_543_210),
                       Origin(topic: "t", partition: Int32.max, offset: 999_999_999_999_999_999)] {
            let parsed = origin.headerBytes.withUnsafeBytes { Origin(header: $0) }
            #expect(parsed == origin)
        }
        for bad in ["", "quotes", "quotes/1", "/1/2", "quotes//2", "quotes/1/", "quotes/-1/2", "quotes/1/x", "q/2147483648/1",
                    "q/1/1000000000000000000"] {
            #expect(Array(bad.utf8).withUnsafeBytes { Origin(header: $0) } == nil, "\(bad)")
        }
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

    @Test("a mark compares levels by value: other text for the same book publishes nothing, a deeper level does")
    func levelsByValue() throws {
        var c = InstrumentStageConfiguration()
        c.markIntervalMicros = 0
        func book(_ ms: Int64, _ bids: String) -> (InputKind, String) {
            (.quotes, "{\"instrument\":\"X\",\"ts\":\(ms * 1000),\"bid\":99,\"bid_size\":1,\"ask\":101,\"ask_size\":2,"
                + "\"bids\":\(bids),\"asks\":[[101,2]]}")
        }
        let out = run([book(0, "[[99,1],[98,3]]"), book(1, "[[99.0,1.00],[98,3]]"), book(2, "[[99,1],[98,4]]")],
                      configuration: c)
        let marks = out.filter { $0.topic == .marks }
        #expect(marks.map(\.origin.offset) == [0, 2])
        #expect(marks.last?.mark?.bids == [BookLevel(price: 99, size: 1), BookLevel(price: 98, size: 4)])
        #expect(marks.last?.mark?.asks == [BookLevel(price: 101, size: 2)])
        #expect(try object(try #require(marks.last))["bids"] as? [[Double]] == [[99, 1], [98, 4]])
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

@Suite("Merge-time rejections")
struct MergeTimeRejectionTests {
    func run(_ lines: [(InputKind, String)], instruments: [String] = [], configure: (inout InstrumentStageConfiguration) -> Void = { _ in })
        -> (out: [OutputRecord], stage: InstrumentStage)
    {
        var c = InstrumentStageConfiguration()
        configure(&c)
        var stage = InstrumentStage(configuration: c)
        for symbol in instruments {
            stage.apply(instrument: Instrument(symbol: symbol, kind: .perpetual, underlying: "X"), symbol: symbol)
        }
        for (offset, (kind, json)) in lines.enumerated() {
            let origin = Origin(topic: kind == .quotes ? "quotes" : "trades", partition: 0, offset: Int64(offset))
            let input = Array(json.utf8).withUnsafeBytes {
                PendingInput.decode(kind: kind, origin: origin, key: nil, value: $0,
                                    fallbackTs: stage.fallbackTs(partition: 0, kind: kind))
            }
            stage.enqueue(input, partition: 0)
        }
        var out: [OutputRecord] = []
        stage.drain(canSkip: { _, _ in true }, emit: { if $0.topic == .dlq { out.append($0) } })
        return (out, stage)
    }

    func quote(_ instrument: String = "X", _ ms: Int64) -> (InputKind, String) {
        (.quotes, "{\"instrument\":\"\(instrument)\",\"ts\":\(ms * 1000),\"bid\":99,\"bid_size\":1,\"ask\":101,\"ask_size\":2}")
    }

    func trade(_ id: String, _ ms: Int64) -> (InputKind, String) {
        (.trades, "{\"instrument\":\"X\",\"ts\":\(ms * 1000),\"id\":\"\(id)\",\"price\":100,\"size\":1,\"side\":\"buy\"}")
    }

    func reasons(_ out: [OutputRecord]) throws -> [String] {
        try out.map { try #require((try JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any])?["reason"] as? String) }
    }

    @Test("an input older than event time minus allowed_lateness is late; one within it is processed")
    func late() throws {
        // Quotes stream: 10 s, then 4 s (6 s behind: late with 5 s allowed), then 6 s (4 s behind: accepted).
        let (out, stage) = run([quote("X", 10_000), quote("X", 4_000), quote("X", 6_000)])
        #expect(try reasons(out) == ["late"])
        let value = try #require((try JSONSerialization.jsonObject(with: Data(out[0].value)) as? [String: Any])?["value"] as? String)
        #expect(value == quote("X", 4_000).1, "the value as received")
        #expect(stage.rejectedByReason == [.late: 1])
    }

    @Test("an instrument missing from reference data is processed for unknown_grace, then rejected")
    func unknown() throws {
        let (out, _) = run([quote("Y", 0), quote("Y", 10_000), quote("Y", 10_001), quote("X", 20_000)], instruments: ["X"])
        #expect(try reasons(out) == ["unknown_instrument"])
        #expect(out[0].origin.offset == 2)
        #expect(out[0].key == Array("Y".utf8))
        let (none, _) = run([quote("Y", 0), quote("Y", 60_000)])
        #expect(none.isEmpty, "without any reference data, instruments are not checked")
    }

    @Test("a trade id seen within dedup_window is a duplicate; after the window it is new")
    func duplicates() throws {
        let (out, _) = run([trade("T-1", 0), trade("T-2", 1_000), trade("T-1", 2_000), trade("T-1", 62_001)])
        #expect(try reasons(out) == ["duplicate"])
        #expect(out[0].origin.offset == 2)
    }
}
