import CHeapStats
import Events
import Engine
import Foundation
import Liquidity
import Margin

/// In-process account-stage figures for `make bench`: standard-margin recomputations, Black-76 revaluations, and
/// the heap an account with 10 positions holds.
enum MarginBench {
    static func run() {
        var market = MarketView()
        var symbols: [String] = []
        for i in 0..<10 {
            let symbol = "P\(i)-PERP"
            market.define(Instrument(symbol: symbol, kind: .perpetual, underlying: "U\(i)", multiplier: 1,
                                     tiers: [MarginTier(cap: 50_000, imr: 0.008, mmr: 0.004),
                                             MarginTier(cap: 250_000, imr: 0.01, mmr: 0.005)]))
            market.updateMark(symbol, mark: 1_000 + Double(i), bids: [BookLevel(price: 999, size: 3)],
                              asks: [BookLevel(price: 1_001, size: 3)])
            symbols.append(symbol)
        }
        var account = Account()
        account.apply(.deposit(asset: "USD", amount: 1_000_000))
        for (i, symbol) in symbols.enumerated() {
            account.apply(.position(instrument: symbol, size: Double(i % 2 == 0 ? 5 : -4), entryPrice: 990))
        }
        // Standard margin: one full recomputation of a 10-position account per iteration (a mark update included).
        let iterations = 300_000
        var checksum = 0.0
        var started = DispatchTime.now().uptimeNanoseconds
        for n in 0..<iterations {
            let symbol = symbols[n % symbols.count]
            market.updateMark(symbol, mark: 1_000 + Double(n % 97) * 0.5, bids: [BookLevel(price: 999, size: 3)],
                              asks: [BookLevel(price: 1_001, size: 3)])
            checksum += market.margin(of: account, now: 1_764_000_000_000_000).maintenance
        }
        var seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        print("standard_margin_recomputations_per_s: \(Int(Double(iterations) / seconds))")

        // Black-76 revaluations with varying inputs.
        let revaluations = 5_000_000
        started = DispatchTime.now().uptimeNanoseconds
        for n in 0..<revaluations {
            let forward = 60_000 + Double(n & 1023)
            checksum += Black76.price(forward: forward, strike: 64_000, years: 0.05 + Double(n & 7) * 0.01,
                                      vol: 0.5 + Double(n & 15) * 0.01, isCall: n & 1 == 0)
        }
        seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        print("black76_revaluations_per_s: \(Int(Double(revaluations) / seconds))")

        // Heap per account with 10 positions: build many, divide.
        let before = Int(backstop_heap_in_use())
        var accounts: [Account] = []
        accounts.reserveCapacity(10_000)
        for k in 0..<10_000 {
            var a = Account()
            a.apply(.deposit(asset: "USD", amount: 10_000 + Double(k)))
            for (i, symbol) in symbols.enumerated() { a.apply(.position(instrument: symbol, size: Double(i + 1), entryPrice: 1_000)) }
            accounts.append(a)
        }
        let bytes = (Int(backstop_heap_in_use()) - before) / accounts.count
        withExtendedLifetime(accounts) {}
        print("bytes_per_account_10_positions: \(bytes)")
        if checksum.isNaN { print("checksum: \(checksum)") }
        millionAccounts()
    }

    /// One process holding 1 000 000 accounts in the account stage itself (index, levels, snapshot state
    /// included): each deposits USD and opens three of ten perpetuals through `accounts` events, every event
    /// recomputing its margin. Prints the process's resident memory before and after.
    static func millionAccounts(count: Int = 1_000_000) {
        let rssBefore = residentBytes()
        let heapBefore = Int(backstop_heap_in_use())
        var task = AccountTask(configuration: MarginConfiguration(), allowedLateness: 0)
        for i in 0..<10 {
            let symbol = "P\(i)-PERP"
            task.stage.define(Instrument(symbol: symbol, kind: .perpetual, underlying: "U\(i)", multiplier: 1,
                                         tiers: [MarginTier(cap: 50_000, imr: 0.008, mmr: 0.004),
                                                 MarginTier(cap: 250_000, imr: 0.01, mmr: 0.005)]))
            task.stage.observe(MarkRecord(instrument: symbol, ts: 0, mark: 1_000, iv: nil, bids: [BookLevel(price: 999.5, size: 50)],
                                          asks: [BookLevel(price: 1_000.5, size: 50)], stress: 0))
        }
        let origin = Origin(topic: "accounts", partition: 0, offset: 0)
        var outputs = 0
        let started = DispatchTime.now().uptimeNanoseconds
        for k in 0..<count {
            let id = "acct-\(k)"
            var events = [AccountEvent(account: id, ts: 1, id: "D", change: .deposit(asset: "USD", amount: 10_000 + Double(k % 1_000)))]
            for j in 0..<3 {
                events.append(AccountEvent(account: id, ts: 1, id: "P\(j)",
                                           change: .position(instrument: "P\((k + 3 * j) % 10)-PERP", size: Double(1 + (k + j) % 5),
                                                             entryPrice: 990)))
            }
            for e in events { task.stage.apply(e, origin: origin, emit: { _ in outputs += 1 }) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let heap = Int(backstop_heap_in_use()) - heapBefore
        let rss = residentBytes()
        withExtendedLifetime(task) {}
        print("accounts_in_stage: \(task.stage.accountCount)")
        print("account_events_per_s: \(Int(Double(count * 4) / seconds))")
        print("account_stage_heap_bytes_per_account: \(heap / count)")
        print("resident_bytes_1m_accounts: \(rss)")
        print("resident_bytes_before_accounts: \(rssBefore)")

        // Restore: every account's changelog value decoded and applied to a fresh task (the Kafka read of the
        // changelog partition is not included; librdkafka reads it at over 1 M records/s).
        var stage = task.stage
        let ids = (0..<count).map { "acct-\($0)" }
        let values = ids.map { stage.encodedState(of: $0)! }
        var fresh = AccountTask(configuration: MarginConfiguration(), allowedLateness: 0)
        for i in 0..<10 { fresh.stage.define(stage.instrument("P\(i)-PERP")!) }
        let restoreStarted = DispatchTime.now().uptimeNanoseconds
        for (id, value) in zip(ids, values) {
            try? value.withUnsafeBytes { try fresh.stage.restoreState(of: id, from: $0) }
        }
        let restoreSeconds = Double(DispatchTime.now().uptimeNanoseconds - restoreStarted) / 1e9
        precondition(fresh.stage.accountCount == count && fresh.stage.encodedState(of: ids[count / 2]) == values[count / 2])
        print("changelog_restore_1m_accounts_s: \(String(format: "%.2f", restoreSeconds))")
        stage = fresh.stage
        if outputs < 0 { print(outputs) }
    }

    /// VmRSS of this process, from /proc/self/status (0 where unavailable).
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
}
