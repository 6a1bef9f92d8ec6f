import Generator
import Testing

@Suite("Accounts")
struct AccountTests {
    @Test("without accounts there are no account records and no fills", arguments: Scenario.allCases)
    func noAccounts(scenario: Scenario) {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: scenario, durationMicros: 60_000_000))
        #expect(!records.contains { $0.topic == .accounts })
        #expect(!records.contains { $0.topic == .trades && $0.value.contains("buyer") })
    }

    @Test("one account: on-boarded, but never filled against itself")
    func singleAccount() {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: .calm, durationMicros: 60_000_000, accounts: 1))
        #expect(records.contains { $0.topic == .accounts && $0.key == "acct-1" })
        #expect(!records.contains { $0.topic == .trades && $0.value.contains("buyer") })
    }

    @Test("every account deposits USD and holds positions; ids are unique")
    func onboarding() throws {
        let count = 40
        let records = FeedTestKit.collect(
            FeedConfiguration(scenario: .flashCrash, durationMicros: 10_000_000, accounts: count)
        )
        let accounts = records.filter { $0.topic == .accounts }
        let symbols = Set(records.filter { $0.topic == .instruments }.map(\.key))
        #expect(Set(accounts.map(\.key)) == Set((1...count).map { "acct-\($0)" }))
        var ids = Set<String>()
        var types: [String: Int] = [:]
        var shortOptions = 0
        var leveragedLongs = 0
        for record in accounts {
            let json = try #require(FeedTestKit.object(record.value))
            #expect(json["account"] as? String == record.key)
            #expect(record.ts == 1_764_000_000_000_000)
            let id = try #require(json["id"] as? String)
            #expect(ids.insert(id).inserted)
            let type = try #require(json["type"] as? String)
            types[type, default: 0] += 1
            switch type {
            case "deposit":
                #expect(["USD", "BTC"].contains(json["asset"] as? String))
                #expect((FeedTestKit.number(json["amount"]) ?? 0) > 0)
            case "mode":
                #expect(json["mode"] as? String == "portfolio")
            case "position":
                let instrument = try #require(json["instrument"] as? String)
                #expect(symbols.contains(instrument))
                let size = try #require(FeedTestKit.number(json["size"]))
                #expect(size != 0)
                #expect((FeedTestKit.number(json["entry_price"]) ?? 0) > 0)
                if !instrument.hasSuffix("-PERP") && size < 0 { shortOptions += 1 }
                if instrument.hasSuffix("-PERP") && size > 0 { leveragedLongs += 1 }
            default:
                Issue.record("unexpected account record type \(type)")
            }
        }
        #expect(types["deposit", default: 0] >= count)
        #expect(types["mode", default: 0] > 0)
        #expect(types["position", default: 0] >= count)
        #expect(shortOptions > 0)
        #expect(leveragedLongs > count / 2)
        // The first record of every account is its USD deposit.
        var seen = Set<String>()
        for record in accounts where seen.insert(record.key).inserted {
            #expect(record.value.contains(#""type":"deposit","asset":"USD""#))
        }
    }

    @Test("an account is the same whatever the number of accounts")
    func accountsAreIndependent() {
        func firstAccounts(_ count: Int) -> [FeedRecord] {
            FeedTestKit.collect(FeedConfiguration(scenario: .calm, durationMicros: 0, accounts: count))
                .filter { $0.topic == .accounts && ["acct-1", "acct-2"].contains($0.key) }
        }
        #expect(firstAccounts(2) == firstAccounts(50))
    }

    @Test("fills name two distinct known accounts and carry a fee")
    func fills() throws {
        let count = 25
        let trades = FeedTestKit.trades(
            FeedTestKit.collect(FeedConfiguration(scenario: .flashCrash, seed: 11, accounts: count))
        )
        let fills = trades.filter { $0["buyer"] != nil || $0["seller"] != nil }
        let known = Set((1...count).map { "acct-\($0)" })
        #expect(fills.count > 100)
        let share = Double(fills.count) / Double(trades.count)
        #expect(share > 0.05 && share < 0.3)
        for fill in fills {
            let buyer = try #require(fill["buyer"] as? String)
            let seller = try #require(fill["seller"] as? String)
            #expect(buyer != seller)
            #expect(known.contains(buyer) && known.contains(seller))
            #expect(FeedTestKit.number(fill["fee"]) == 0.0002)
        }
    }
}
