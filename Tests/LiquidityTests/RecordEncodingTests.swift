import Events
import Foundation
import Liquidity
import Testing

@Suite("LiquidityRecord.encoded")
struct RecordEncodingTests {
    static func parse(_ record: LiquidityRecord) throws -> [String: Any] {
        let any = try JSONSerialization.jsonObject(with: Data(record.encoded()))
        return try #require(any as? [String: Any])
    }

    /// Top-level numbers and nulls read with `JSONReader` (bit-exact), keyed by field name.
    static func topLevelNumbers(_ bytes: [UInt8]) throws -> [String: Double?] {
        try bytes.withUnsafeBytes { buffer in
            var out: [String: Double?] = [:]
            var r = JSONReader(buffer)
            try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
                if try r.peekKind() == .number {
                    out[key.string] = .some(try r.readDouble())
                } else if r.readNullIfPresent() {
                    out[key.string] = .some(nil)
                } else {
                    try r.skipValue()
                }
            }
            try r.expectEnd()
            return out
        }
    }

    /// `schemas/liquidity-metrics.json`, the published contract.
    static func schema() throws -> (required: Set<String>, properties: Set<String>) {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("schemas/liquidity-metrics.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let required = try #require(json["required"] as? [String])
        let properties = try #require(json["properties"] as? [String: Any])
        return (Set(required), Set(properties.keys))
    }

    static let fullRecordEvents: [Event] = [
        .q(
            quote(
                at(ms: 100),
                bid: 99,
                ask: 101,
                bidSize: 3,
                askSize: 1,
                bids: [(99, 3), (98.95, 2)],
                asks: [(101, 1)]
            )
        ),
        .t(trade(at(ms: 200), price: 101, size: 2, side: .buy)),
        .q(quote(at(ms: 1_100), bid: 100, ask: 102, bidSize: 2, askSize: 2)),
        .t(trade(at(ms: 1_200), price: 99, size: 1, side: .sell)),
    ]

    @Test func everyNumberAndNullMatchesTheRecord() throws {
        let records = run(Self.fullRecordEvents)
        try #require(records.count == 2)
        for record in records {
            let json = try Self.parse(record)
            #expect(json["id"] as? String == record.id)
            #expect(json["instrument"] as? String == "BTC-PERP")
            #expect((json["start"] as? NSNumber)?.int64Value == record.start)
            #expect((json["ts"] as? NSNumber)?.int64Value == record.ts)
            #expect((json["trades"] as? NSNumber)?.intValue == record.trades)
            #expect((json["quotes"] as? NSNumber)?.intValue == record.quotes)
            let fields: [(String, Double?)] = [
                ("bid", record.bid), ("ask", record.ask), ("mid", record.mid), ("spread_bps", record.spreadBps),
                ("spread_bps_avg", record.spreadBpsAvg), ("microprice", record.microprice),
                ("imbalance", record.imbalance), ("volume", record.volume), ("notional", record.notional),
                ("vwap", record.vwap), ("buy_volume", record.buyVolume), ("sell_volume", record.sellVolume),
                ("effective_spread_bps", record.effectiveSpreadBps), ("ret", record.ret), ("vol_ewma", record.volEwma),
                ("var_99", record.var99), ("es_975", record.es975), ("stale_s", record.staleSeconds),
            ]
            let exact = try Self.topLevelNumbers(record.encoded())
            for (key, value) in fields {
                #expect(json.keys.contains(key), "missing \(key)")
                if let value {
                    // Foundation (corelibs) may be an ulp off when it parses; the exact check goes through JSONReader.
                    #expect(isClose((json[key] as? NSNumber)?.doubleValue, value, relative: 1e-15), "\(key)")
                    #expect(exact[key]??.bitPattern == value.bitPattern, "\(key) round trip")
                } else {
                    #expect(json[key] is NSNull, "\(key) should be null")
                    #expect(exact[key] == .some(nil), "\(key) should be null")
                }
            }
            let depth = try #require(json["depth"] as? [String: [String: NSNumber]])
            #expect(Set(depth.keys) == ["10", "50", "100"])
            for level in try #require(record.depth) {
                #expect(isClose(depth[String(level.bps)]?["bid"]?.doubleValue, level.bid, relative: 1e-15))
                #expect(isClose(depth[String(level.bps)]?["ask"]?.doubleValue, level.ask, relative: 1e-15))
            }
        }
        // The first record has no return yet; the second does.
        #expect(try Self.parse(records[0])["ret"] is NSNull)
        #expect(try Self.parse(records[1])["ret"] is NSNumber)
    }

    @Test func undefinedMetricsAreNull() throws {
        let record = try #require(run([.t(trade(at(ms: 100), price: 50, size: 2, side: .buy))]).first)
        let json = try Self.parse(record)
        for key in [
            "bid", "ask", "mid", "spread_bps", "spread_bps_avg", "microprice", "imbalance", "depth",
            "effective_spread_bps", "ret", "vol_ewma", "var_99", "es_975", "stale_s",
        ] {
            #expect(json[key] is NSNull, "\(key) should be null, is \(String(describing: json[key]))")
        }
        #expect((json["vwap"] as? NSNumber)?.doubleValue == 50)
        #expect((json["volume"] as? NSNumber)?.doubleValue == 2)
        #expect((json["quotes"] as? NSNumber)?.intValue == 0)
    }

    @Test func nonFiniteValuesEncodeAsNull() throws {
        var record = try #require(run(Self.fullRecordEvents).first)
        record.vwap = .nan
        record.spreadBpsAvg = .infinity
        record.volume = -.infinity
        record.depth = [(bps: 10, bid: .nan, ask: 5)]
        let json = try Self.parse(record)
        #expect(json["vwap"] is NSNull && json["spread_bps_avg"] is NSNull && json["volume"] is NSNull)
        #expect((json["depth"] as? [String: Any])?["10"].flatMap { ($0 as? [String: Any])?["bid"] } is NSNull)
    }

    @Test func fieldsAreThoseOfThePublishedSchema() throws {
        let (required, properties) = try Self.schema()
        for record in run(Self.fullRecordEvents) + run([.t(trade(at(ms: 100), price: 50, size: 2, side: .buy))]) {
            let keys = Set(try Self.parse(record).keys)
            #expect(required.isSubset(of: keys), "missing required \(required.subtracting(keys))")
            #expect(keys.isSubset(of: properties), "not in the schema: \(keys.subtracting(properties))")
        }
    }

    @Test func encodingIsDeterministicAndIdIsAPureFunction() throws {
        let a = run(Self.fullRecordEvents)
        let b = run(Self.fullRecordEvents)
        #expect(a.map { $0.encoded() } == b.map { $0.encoded() })
        #expect(a.map(\.id) == ["BTC-PERP:metrics:1764000001000000", "BTC-PERP:metrics:1764000002000000"])
    }

    @Test func symbolsThatNeedEscapingStayValidJSON() throws {
        var m = InstrumentMetrics(symbol: "we\"ird\\sym\u{1}", configuration: MetricsConfiguration())
        _ = m.apply(
            quote: Quote(instrument: "we\"ird\\sym\u{1}", ts: at(ms: 1), bid: 1, bidSize: 1, ask: 2, askSize: 1)
        )
        let recordValue = m.close()
        let record = try #require(recordValue)
        let json = try Self.parse(record)
        #expect(json["instrument"] as? String == "we\"ird\\sym\u{1}")
        #expect(json["id"] as? String == "we\"ird\\sym\u{1}:metrics:1764000001000000")
    }
}
