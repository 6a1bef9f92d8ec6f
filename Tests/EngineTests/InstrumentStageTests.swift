import Engine
import Events
import Foundation
import Liquidity
import Testing

/// The stage's merge, DLQ and offset bookkeeping, fed as a source would.
@Suite("Instrument stage")
struct InstrumentStageTests {
    let names = TopicNames()

    func input(_ kind: InputKind, _ json: String, offset: Int64, stage: InstrumentStage, partition: Int32 = 0) -> PendingInput {
        let bytes = Array(json.utf8)
        let origin = Origin(topic: names.name(of: kind), partition: partition, offset: offset)
        return bytes.withUnsafeBytes {
            PendingInput.decode(kind: kind, origin: origin, key: nil, value: $0,
                                fallbackTs: stage.fallbackTs(partition: partition, kind: kind))
        }
    }

    func quote(_ ts: Int64, bid: Double, ask: Double) -> String {
        "{\"instrument\":\"X\",\"ts\":\(ts),\"bid\":\(bid),\"bid_size\":1,\"ask\":\(ask),\"ask_size\":1}"
    }

    func trade(_ ts: Int64, price: Double, size: Double, id: String) -> String {
        "{\"instrument\":\"X\",\"ts\":\(ts),\"id\":\"\(id)\",\"price\":\(price),\"size\":\(size),\"side\":\"buy\"}"
    }

    func json(_ record: OutputRecord) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(record.value)) as? [String: Any])
    }

    @Test("an input topic's name maps back to its input, renamed topics included; other names to none")
    func inputKindOfTopic() {
        var names = TopicNames()
        names.trades = "venue-a.trades"
        for kind in InputKind.allCases { #expect(names.inputKind(of: names.name(of: kind)) == kind) }
        #expect(names.inputKind(of: "trades") == nil)
        #expect(names.inputKind(of: names.accounts) == nil)
    }

    @Test("quotes and trades merge by (ts, quotes first, offset), whatever order they arrive in")
    func mergeOrder() throws {
        var stage = InstrumentStage(configuration: InstrumentStageConfiguration())
        // The trade at t=0.5 s arrives before the quote at t=0.5 s, but must see that quote's mid (100).
        stage.enqueue(input(.quotes, quote(100_000, bid: 99, ask: 101), offset: 0, stage: stage), partition: 0)
        stage.enqueue(input(.trades, trade(500_000, price: 101, size: 1, id: "a"), offset: 0, stage: stage), partition: 0)
        var out: [OutputRecord] = []
        stage.drain(canSkip: { _, _ in false }, emit: { if $0.topic != .marks { out.append($0) } })
        // The trade waits: the quotes stream may still hold an earlier event.
        stage.enqueue(input(.quotes, quote(500_000, bid: 199, ask: 201), offset: 1, stage: stage), partition: 0)
        stage.enqueue(input(.quotes, quote(1_200_000, bid: 199, ask: 201), offset: 2, stage: stage), partition: 0)
        stage.drain(canSkip: { _, _ in false }, emit: { if $0.topic != .marks { out.append($0) } })
        #expect(out.isEmpty, "the quote at t=1.2 s waits while the trades stream is empty and not skippable")
        stage.drain(canSkip: { _, kind in kind == .trades }, emit: { if $0.topic != .marks { out.append($0) } })
        try #require(out.count == 1)
        let record = try json(out[0])
        #expect(record["id"] as? String == "X:metrics:1000000")
        // m = 200 (the t=0.5 s quote comes first at equal ts): 2e4·|101−200|/200 = 9900 bps.
        #expect(record["effective_spread_bps"] as? Double == 9900)
        #expect(out[0].origin == Origin(topic: "quotes", partition: 0, offset: 2), "caused by the first event past the end")
        let offsets = stage.processedOffsets()
        #expect(offsets.map(\.nextOffset) == [3, 1])
    }

    @Test("a bad input goes to the DLQ with its reason and the stream goes on")
    func deadLetters() throws {
        var stage = InstrumentStage(configuration: InstrumentStageConfiguration())
        stage.enqueue(input(.quotes, quote(100_000, bid: 99, ask: 101), offset: 0, stage: stage), partition: 0)
        stage.enqueue(input(.quotes, quote(200_000, bid: 102, ask: 101), offset: 1, stage: stage), partition: 0)
        stage.enqueue(input(.quotes, "not json", offset: 2, stage: stage), partition: 0)
        stage.enqueue(input(.quotes, quote(1_100_000, bid: 99, ask: 101), offset: 3, stage: stage), partition: 0)
        var out: [OutputRecord] = []
        stage.drain(canSkip: { _, _ in true }, emit: { if $0.topic != .marks { out.append($0) } })
        #expect(out.map(\.topic) == [.dlq, .dlq, .liquidityMetrics])
        let crossed = try json(out[0])
        #expect(crossed["reason"] as? String == "crossed_book")
        #expect(crossed["topic"] as? String == "quotes")
        #expect(crossed["offset"] as? Int == 1)
        #expect(crossed["ts"] as? Int == 100_000, "the task's event time when merged")
        #expect(crossed["value"] as? String == quote(200_000, bid: 102, ask: 101))
        let garbage = try json(out[1])
        #expect(garbage["reason"] as? String == "decode_error")
        #expect(garbage["value"] as? String == "not json")
        #expect(stage.rejectedByReason == [.crossedBook: 1, .decodeError: 1])
        let metrics = try json(out[2])
        #expect(metrics["quotes"] as? Int == 1, "rejected quotes do not count")
    }

    @Test("a bad input before any valid one (no event time yet) is rejected with ts 0, and the stream goes on")
    func badInputFirst() throws {
        var stage = InstrumentStage(configuration: InstrumentStageConfiguration())
        stage.enqueue(input(.quotes, "garbage", offset: 0, stage: stage), partition: 0)
        stage.enqueue(input(.trades, "{}", offset: 0, stage: stage), partition: 0)
        stage.enqueue(input(.quotes, quote(100_000, bid: 99, ask: 101), offset: 1, stage: stage), partition: 0)
        var out: [OutputRecord] = []
        stage.drain(canSkip: { _, _ in true }, emit: { out.append($0) })
        #expect(out.prefix(2).map(\.topic) == [.dlq, .dlq])
        #expect(try json(out[0])["ts"] as? Int == 0)
        #expect(out.contains { $0.topic == .marks }, "the valid quote after them is processed")
    }

    @Test("a value that is not UTF-8 is kept in base64")
    func base64() throws {
        let rejected = RejectedInput(origin: Origin(topic: "quotes", partition: 1, offset: 7), key: nil,
                                     value: [0xFF, 0xFE, 0x41], error: DecodeError(.decodeError, "bad"))
        let record = try json(rejected.dlqRecord(eventTime: 5))
        #expect(record["value"] as? String == "//5B")  // base64 of FF FE 41
        #expect(record["value_base64"] as? Bool == true)
        #expect(record["key"] is NSNull)
    }

    @Test("closeAll closes open intervals in symbol order, once")
    func closeAll() throws {
        var stage = InstrumentStage(configuration: InstrumentStageConfiguration())
        stage.enqueue(input(.quotes, quote(100_000, bid: 99, ask: 101), offset: 0, stage: stage), partition: 0)
        var out: [OutputRecord] = []
        stage.drain(canSkip: { _, _ in true }, emit: { if $0.topic != .marks { out.append($0) } })
        stage.closeAll(emit: { if $0.topic != .marks { out.append($0) } })
        stage.closeAll(emit: { if $0.topic != .marks { out.append($0) } })
        #expect(out.count == 1)
        #expect(try json(out[0])["ts"] as? Int == 1_000_000)
    }

    /// How the inputs of ``stateLookUpByNumber()`` are decoded.
    enum SymbolSource { case none, stage, foreign }

    /// The outputs of a feed of five instruments' quotes and trades (some trades duplicated, one instrument seen
    /// only late), its inputs decoded through `source`'s symbol table.
    func outputs(decodedThrough source: SymbolSource) -> [OutputRecord] {
        var stage = InstrumentStage(configuration: InstrumentStageConfiguration())
        var foreign = SymbolTable()
        // Numbers in the foreign table name other instruments than in the stage's: the first one seen by the stage
        // is the last one here.
        let symbols = ["E", "BTC-26DEC25-68000-C", "C", "BTC-PERP", "A"]
        for symbol in symbols.reversed() { _ = Array(symbol.utf8).withUnsafeBufferPointer { foreign.symbol($0) } }
        var out: [OutputRecord] = []
        var offsets: [InputKind: Int64] = [.quotes: 0, .trades: 0]
        for step in 0..<600 {
            let symbol = symbols[(step * 7 + step / 50) % (step < 300 ? 4 : 5)]
            let ts = Int64(step) * 37_000
            let kind: InputKind = step % 3 == 2 ? .trades : .quotes
            let price = 100 + Double(step % 11) - Double(step % 7) / 2
            let json = kind == .quotes
                ? "{\"instrument\":\"\(symbol)\",\"ts\":\(ts),\"bid\":\(price),\"bid_size\":2,\"ask\":\(price + 0.5),\"ask_size\":3}"
                : "{\"instrument\":\"\(symbol)\",\"ts\":\(ts),\"id\":\"t\(step % 40)\",\"price\":\(price),\"size\":1,\"side\":\"sell\"}"
            let origin = Origin(topic: names.name(of: kind), partition: 0, offset: offsets[kind]!)
            offsets[kind]! += 1
            let fallback = stage.fallbackTs(partition: 0, kind: kind)
            let pending = Array(json.utf8).withUnsafeBytes { value in
                switch source {
                case .none:
                    PendingInput.decode(kind: kind, origin: origin, key: nil, value: value, fallbackTs: fallback)
                case .stage:
                    PendingInput.decode(kind: kind, origin: origin, key: nil, value: value, fallbackTs: fallback,
                                        symbols: &stage.symbols)
                case .foreign:
                    PendingInput.decode(kind: kind, origin: origin, key: nil, value: value, fallbackTs: fallback,
                                        symbols: &foreign)
                }
            }
            stage.enqueue(pending, partition: 0)
            stage.drain(canSkip: { _, _ in true }, emit: { out.append($0) })
        }
        stage.closeAll(emit: { out.append($0) })
        return out
    }

    @Test("an input finds its instrument's state by its symbol's number, and a number from another table misleads nothing")
    func stateLookUpByNumber() throws {
        let plain = outputs(decodedThrough: .none)
        // Every instrument has metrics, and duplicates reached the DLQ: the feed exercises states and rejections.
        let metrics = plain.filter { $0.topic == .liquidityMetrics }.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }
        #expect(Set(metrics) == ["A", "BTC-26DEC25-68000-C", "BTC-PERP", "C", "E"])
        #expect(plain.contains { $0.topic == .dlq })
        for source in [SymbolSource.stage, .foreign] {
            let other = outputs(decodedThrough: source)
            #expect(other.count == plain.count, "\(source)")
            for (a, b) in zip(plain, other) where a != b {
                Issue.record("\(source): \(String(decoding: a.value, as: UTF8.self)) vs \(String(decoding: b.value, as: UTF8.self))")
                break
            }
        }
    }
}
