import Generator
import Testing

@Suite("Instruments")
struct InstrumentTests {
    static let records = FeedTestKit.collect(FeedConfiguration(scenario: .calm, durationMicros: 0))

    @Test("perpetuals carry SPEC shapes: reference to themselves and tiers ordered by cap")
    func perpetuals() throws {
        let perpetuals = Self.records.filter { $0.topic == .instruments && $0.key.hasSuffix("-PERP") }
        #expect(perpetuals.map(\.key) == FeedTestKit.perpetuals)
        for record in perpetuals {
            let json = try #require(FeedTestKit.object(record.value))
            #expect(json["symbol"] as? String == record.key)
            #expect(json["kind"] as? String == "perpetual")
            #expect(json["reference"] as? String == record.key)
            #expect(json["underlying"] as? String == String(record.key.prefix { $0 != "-" }))
            #expect(FeedTestKit.number(json["multiplier"]) == 1)
            #expect((FeedTestKit.number(json["tick_size"]) ?? 0) > 0)
            let tiers = try #require(json["tiers"] as? [[String: Any]])
            #expect(tiers.count == 3)
            let caps = tiers.compactMap { FeedTestKit.number($0["cap"]) }
            #expect(caps == caps.sorted() && caps.count == 3)
            for tier in tiers {
                let imr = try #require(FeedTestKit.number(tier["imr"]))
                let mmr = try #require(FeedTestKit.number(tier["mmr"]))
                #expect(mmr > 0 && mmr < imr)
            }
        }
        let btc = try #require(perpetuals.first?.value)
        #expect(btc.contains(#"{"cap":50000,"imr":0.008,"mmr":0.004}"#))
    }

    @Test("the BTC option chain: calls and puts around the start price, expiring after the start")
    func options() throws {
        let options = Self.records.filter { $0.topic == .instruments && !$0.key.hasSuffix("-PERP") }
        #expect(options.count == 20)
        var expiries = Set<Int64>()
        var types: [String: Int] = [:]
        for record in options {
            let json = try #require(FeedTestKit.object(record.value))
            #expect(json["kind"] as? String == "option")
            #expect(json["reference"] as? String == "BTC-PERP")
            #expect(json["underlying"] as? String == "BTC")
            let expiry = Int64(try #require(FeedTestKit.number(json["expiry"])))
            #expect(expiry > record.ts + 2 * 86_400_000_000)
            expiries.insert(expiry)
            let strike = try #require(FeedTestKit.number(json["strike"]))
            #expect(strike >= 50_000 && strike <= 80_000)
            let type = try #require(json["option_type"] as? String)
            types[type, default: 0] += 1
            #expect(record.key.hasSuffix(type == "call" ? "-C" : "-P"))
            #expect(record.key.contains("-\(Int(strike))-"))
        }
        #expect(expiries.count == 2)
        #expect(types == ["call": 10, "put": 10])
        // Start 2025-11-24 (a Monday): the first Friday at least two days on, and the last Friday of December.
        #expect(options.contains { $0.key == "BTC-28NOV25-64000-C" })
        #expect(options.contains { $0.key == "BTC-26DEC25-64000-P" })
        #expect(expiries.contains(1_764_316_800_000_000))  // 2025-11-28 08:00 UTC
    }
}
