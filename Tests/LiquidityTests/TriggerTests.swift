import Foundation
import Liquidity
import Testing

@Suite("Trigger conditions")
struct ConditionTests {
    let bands = [10, 50, 100]

    func record(_ fields: [MetricPath: Double?] = [:], ts: Int64 = 1_000_000) -> LiquidityRecord {
        var r = LiquidityRecord(instrument: "BTC-PERP", start: ts - 1_000_000, ts: ts, volume: 0, notional: 0, trades: 0,
                                buyVolume: 0, sellVolume: 0, quotes: 0)
        for (path, value) in fields {
            switch path {
            case .field(.spreadBpsAvg): r.spreadBpsAvg = value
            case .field(.vpin): r.vpin = value
            case .field(.volEwma): r.volEwma = value
            case .depth(50, .bid): r.depth = [(10, 0, 0), (50, value ?? 0, 0), (100, 0, 0)]
            default: Issue.record("test helper does not set \(path)")
            }
        }
        return r
    }

    @Test("precedence: and binds tighter than or; parentheses override")
    func precedence() throws {
        let c = try Condition.parse("spread_bps_avg > 80 or vpin > 0.6 and vol_ewma > 1.2", depthBps: bands)
        #expect(c.holds(for: record([.field(.spreadBpsAvg): 90])))
        #expect(!c.holds(for: record([.field(.vpin): 0.7, .field(.volEwma): 1.0])))
        #expect(c.holds(for: record([.field(.vpin): 0.7, .field(.volEwma): 1.3])))
        let p = try Condition.parse("(spread_bps_avg > 80 or vpin > 0.6) and vol_ewma > 1.2", depthBps: bands)
        #expect(!p.holds(for: record([.field(.spreadBpsAvg): 90])))
        #expect(p.holds(for: record([.field(.spreadBpsAvg): 90, .field(.volEwma): 2])))
    }

    @Test("a null metric makes its comparison false, whichever the operator")
    func nulls() throws {
        for op in ["<", "<=", ">", ">=", "==", "!="] {
            let c = try Condition.parse("vpin \(op) 0.5", depthBps: bands)
            #expect(!c.holds(for: record([.field(.vpin): nil])), "vpin \(op) 0.5 with vpin null")
        }
    }

    @Test("dotted depth paths, numbers on either side, exponents and underscores")
    func pathsAndNumbers() throws {
        let c = try Condition.parse("depth.50.bid < 250_000", depthBps: bands)
        #expect(c.holds(for: record([.depth(bps: 50, side: .bid): 249_999])))
        #expect(!c.holds(for: record([.depth(bps: 50, side: .bid): 250_000])))
        let mirrored = try Condition.parse("2.5e5 > depth.50.bid", depthBps: bands)
        #expect(mirrored == c)
        #expect(c.paths == [.depth(bps: 50, side: .bid)])
    }

    @Test("errors name the problem and the position", arguments: [
        ("sprad_bps > 1", "unknown metric 'sprad_bps'", 1),
        ("spread_bps >> 1", "expected a number", 13),
        ("spread_bps 1", "expected a comparison operator", 12),
        ("(vpin > 1", "expected ')'", 10),
        ("vpin > 1 and", "expected a comparison, found the end", 13),
        ("vpin > 1 xor vpin < 2", "unexpected 'xor'", 10),
        ("depth.25.bid > 1", "unknown metric 'depth.25.bid'", 1),
    ])
    func errors(text: String, message: String, position: Int) {
        #expect {
            _ = try Condition.parse(text, depthBps: bands)
        } throws: { error in
            let e = error as! ConditionError
            return e.message.contains(message) && e.position == position
        }
    }
}

@Suite("Trigger state machine")
struct TriggerTrackerTests {
    let rule = TriggerRule(
        name: "spread-blowout", instruments: ["BTC-*"],
        levels: [
            .init(severity: 1, condition: try! Condition.parse("spread_bps_avg > 25", depthBps: [50]), forMicros: 5_000_000),
            .init(severity: 2, condition: try! Condition.parse("spread_bps_avg > 80", depthBps: [50]), forMicros: 2_000_000),
        ],
        clear: .init(condition: try! Condition.parse("spread_bps_avg < 15", depthBps: [50]), forMicros: 3_000_000))

    /// Feeds one close per second with these spreads; returns (second, state, severity, previous, since-second).
    func run(_ spreads: [Double]) -> [(Int, String, Int, Int, Int)] {
        var tracker = TriggerTracker(levels: rule.levels.count)
        var out: [(Int, String, Int, Int, Int)] = []
        for (i, s) in spreads.enumerated() {
            let ts = Int64(i) * 1_000_000
            var r = LiquidityRecord(instrument: "BTC-PERP", start: ts - 1_000_000, ts: ts, volume: 0, notional: 0,
                                    trades: 0, buyVolume: 0, sellVolume: 0, quotes: 0)
            r.spreadBpsAvg = s
            if let e = tracker.evaluate(rule, record: r) {
                out.append((i, e.state.rawValue, e.severity, e.previousSeverity, Int(e.since / 1_000_000)))
                #expect(e.id == "BTC-PERP:spread-blowout:\(ts)")
                #expect(e.evidence.map { $0.name } == ["spread_bps_avg"])
            }
        }
        return out
    }

    @Test("a level is reached only after its condition held at every close for `for`")
    func forDuration() {
        // > 25 from t=1; held at t=1..6 → reached at t=6 (6 − 1 ≥ 5), since = 1. A break at t=3 would restart it.
        let events = run([10, 30, 30, 30, 30, 30, 30, 30])
        #expect(events.count == 1)
        #expect(events.first! == (6, "activated", 1, 0, 1))
        let broken = run([10, 30, 30, 10, 30, 30, 30, 30, 30, 30])
        #expect(broken.count == 1 && broken.first! == (9, "activated", 1, 0, 4))
    }

    @Test("escalates, deescalates, clears after `for`, never repeats, and can activate again")
    func lifecycle() {
        let spreads: [Double] = [30, 30, 30, 30, 30, 30,  // t=5: activated(1), since 0
                                 90, 90, 90,              // > 80 from t=6: escalated(2) at t=8
                                 50, 50,                  // level 2 broken: deescalated(1) at t=9
                                 20, 10, 10, 10, 10,      // < 15 from t=12: cleared at t=15
                                 30, 30, 30, 30, 30, 30]  // activated again at t=21
        let events = run(spreads)
        #expect(events.map { "\($0.0):\($0.1):\($0.2):\($0.3):\($0.4)" } == [
            "5:activated:1:0:0", "8:escalated:2:1:6", "9:deescalated:1:2:0", "15:cleared:0:1:12", "21:activated:1:0:16",
        ])
    }

    @Test("instrument patterns")
    func patterns() {
        #expect(rule.applies(to: "BTC-PERP"))
        #expect(!rule.applies(to: "ETH-PERP"))
        let any = TriggerRule(name: "x", levels: rule.levels)
        #expect(any.applies(to: "ETH-PERP"))
        let q = TriggerRule(name: "x", instruments: ["?TH-*", "SOL-PERP"], levels: rule.levels)
        #expect(q.applies(to: "ETH-27DEC26-3000-C") && q.applies(to: "SOL-PERP") && !q.applies(to: "SOL-PERP-2"))
    }

    @Test("the event's JSON has the SPEC shape")
    func json() throws {
        let e = TriggerEvent(instrument: "BTC-PERP", rule: "spread-blowout", ts: 1_764_000_005_000_000, state: .activated,
                             severity: 1, previousSeverity: 0, since: 1_764_000_000_000_000,
                             evidence: [("spread_bps_avg", 31.2), ("depth.50.bid", 410000.0), ("vpin", nil)])
        #expect(String(decoding: e.encoded(), as: UTF8.self) == """
            {"id":"BTC-PERP:spread-blowout:1764000005000000","instrument":"BTC-PERP","rule":"spread-blowout",\
            "ts":1764000005000000,"state":"activated","severity":1,"previous_severity":0,"since":1764000000000000,\
            "evidence":{"spread_bps_avg":31.2,"depth.50.bid":410000.0,"vpin":null}}
            """)
    }
}
