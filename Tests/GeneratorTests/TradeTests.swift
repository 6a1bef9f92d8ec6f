import Generator
import Testing

@Suite("Trades")
struct TradeTests {
    @Test("trade ids are unique and every trade is well formed", arguments: Scenario.allCases)
    func uniqueIdsAndShape(scenario: Scenario) throws {
        let trades = FeedTestKit.trades(FeedTestKit.collect(FeedConfiguration(scenario: scenario, seed: 5)))
        #expect(trades.count > 1_000)
        var ids = Set<String>()
        for trade in trades {
            let id = try #require(trade["id"] as? String)
            #expect(ids.insert(id).inserted, "duplicate id \(id)")
            #expect(id.hasPrefix("T-"))
            #expect(trade["side"] as? String == "buy" || trade["side"] as? String == "sell")
            #expect((FeedTestKit.number(trade["price"]) ?? 0) > 0)
            #expect((FeedTestKit.number(trade["size"]) ?? 0) > 0)
            #expect(trade["buyer"] == nil && trade["seller"] == nil && trade["fee"] == nil)
        }
    }

    @Test("trades print at or through the touch of the standing quote")
    func tradesAtOrThroughTouch() throws {
        let records = FeedTestKit.collect(FeedConfiguration(scenario: .flashCrash, seed: 9))
        var books: [String: FeedTestKit.Quote] = [:]
        var checked = 0
        for record in records {
            switch record.topic {
            case .quotes:
                books[record.key] = FeedTestKit.quote(record)
            case .trades:
                let trade = try #require(FeedTestKit.object(record.value))
                let book = try #require(books[record.key], "trade before any quote on \(record.key)")
                let price = try #require(FeedTestKit.number(trade["price"]))
                if trade["side"] as? String == "buy" {
                    #expect(book.asks.contains { $0.price == price } && price >= book.ask, "\(record.value)")
                } else {
                    #expect(book.bids.contains { $0.price == price } && price <= book.bid, "\(record.value)")
                }
                checked += 1
            default:
                break
            }
        }
        #expect(checked > 1_000)
    }

    @Test("aggressor flow is balanced in a calm market")
    func balancedFlowWhenCalm() {
        let trades = FeedTestKit.trades(FeedTestKit.collect(FeedConfiguration(scenario: .calm, seed: 2)))
        let sells = trades.filter { $0["side"] as? String == "sell" }.count
        let share = Double(sells) / Double(trades.count)
        #expect(share > 0.45 && share < 0.55)
    }
}
