@testable import Engine
import Events
import Foundation
import Liquidity
import Margin
import Testing

@Suite("Account task: merge order, lateness, offsets, read-back of marks and fills")
struct AccountTaskTests {
    let quotes0 = Origin(topic: "quotes", partition: 0, offset: 0)

    func task() -> AccountTask {
        var t = AccountTask(configuration: MarginConfiguration(), allowedLateness: 5_000_000)
        t.stage.define(Instrument(symbol: "BTC-PERP", kind: .perpetual, underlying: "BTC",
                                  tiers: [MarginTier(cap: 50_000, imr: 0.008, mmr: 0.004),
                                          MarginTier(cap: 250_000, imr: 0.01, mmr: 0.005)]))
        return t
    }

    func mark(_ price: Double, ts: Int64) -> MarkRecord {
        MarkRecord(instrument: "BTC-PERP", ts: ts, mark: price, iv: nil, bids: [BookLevel(price: price - 0.5, size: 5)],
                   asks: [BookLevel(price: price + 0.5, size: 5)], stress: 0)
    }

    func levels(_ out: [OutputRecord]) throws -> [String] {
        try out.filter { $0.topic == .marginCalls }.map {
            let o = try #require(try JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any])
            return try #require(o["id"] as? String)
        }
    }

    @Test("Inputs buffered out of order are applied in (ts, accounts, marks, fills) order, only below the frontier")
    func mergeOrder() throws {
        var t = task()
        var out: [OutputRecord] = []
        let emit: (OutputRecord) -> Void = { out.append($0) }
        let accounts = Origin(topic: "accounts", partition: 0, offset: 0)
        // Arrival order: the crash mark (ts 30) first, then the account's set-up (ts 10, 20), then a healthy mark
        // at ts 20, which must come after the position (accounts before marks at equal ts).
        t.enqueue(.mark(mark(61_000, ts: 30)), origin: Origin(topic: "quotes", partition: 0, offset: 9), position: nil, emit: emit)
        t.enqueue(.account(AccountEvent(account: "a", ts: 10, id: "D", change: .deposit(asset: "USD", amount: 10_000))),
                  origin: accounts, position: (.accounts, 0), emit: emit)
        t.enqueue(.mark(mark(64_000, ts: 20)), origin: Origin(topic: "quotes", partition: 1, offset: 3), position: nil, emit: emit)
        t.enqueue(.account(AccountEvent(account: "a", ts: 20, id: "P",
                                        change: .position(instrument: "BTC-PERP", size: 3, entryPrice: 64_000))),
                  origin: Origin(topic: "accounts", partition: 0, offset: 1), position: (.accounts, 1), emit: emit)
        #expect(t.buffered == 4)
        #expect(t.committableOffset(.accounts) == 0, "nothing applied: a restart re-reads from the first")

        t.release(before: 30, emit: emit)
        #expect(try levels(out).isEmpty, "at 64 000 the account is healthy; the crash mark (ts 30) is not below 30")
        #expect(t.buffered == 1)
        #expect(t.lastApplied?.ts == 20 && t.lastApplied?.rank == .mark, "the mark at ts 20 came after the position")
        #expect(t.committableOffset(.accounts) == 2)

        t.release(before: .max, emit: emit)
        #expect(try levels(out) == ["a:margin_call:30"])
    }

    @Test("Equal ts: marks order by their source (topic, partition, offset), a trade's buyer fill before its seller's")
    func tieBreaks() {
        let a = AccountMergeKey(ts: 5, rank: .mark, source: Origin(topic: "quotes", partition: 0, offset: 9))
        let b = AccountMergeKey(ts: 5, rank: .mark, source: Origin(topic: "quotes", partition: 1, offset: 1))
        let c = AccountMergeKey(ts: 5, rank: .fill, source: Origin(topic: "trades", partition: 0, offset: 1), side: 0)
        let d = AccountMergeKey(ts: 5, rank: .fill, source: Origin(topic: "trades", partition: 0, offset: 1), side: 1)
        let e = AccountMergeKey(ts: 5, rank: .account, source: Origin(topic: "accounts", partition: 2, offset: 100))
        #expect([d, c, b, a, e].sorted() == [e, a, b, c, d])
    }

    @Test("Heap entries order as their merge keys, deciding alone unless long topics start alike")
    func heapEntryOrder() {
        var random = SystemRandomNumberGenerator()
        let topics = ["quotes", "trades", "accounts", "q", "quotes-eu", "quotes-us", "quotes-eu-2"]
        func key() -> AccountMergeKey {
            AccountMergeKey(ts: Int64.random(in: 0...2, using: &random),
                            rank: [.account, .mark, .fill][Int.random(in: 0...2, using: &random)],
                            source: Origin(topic: topics.randomElement(using: &random)!,
                                           partition: Int32.random(in: 0...2, using: &random),
                                           offset: Int64.random(in: 0...3, using: &random)),
                            side: Int8.random(in: 0...1, using: &random))
        }
        var undecided = 0
        for _ in 0..<20_000 {
            let a = key(), b = key()
            let decided = AccountTask.HeapEntry.precedes(AccountTask.HeapEntry(a, slot: 0), AccountTask.HeapEntry(b, slot: 1))
            if let decided {
                #expect(decided == (a < b), "\(a) vs \(b)")
            } else {
                undecided += 1
                #expect(a.source.topic.utf8.count > 8 || b.source.topic.utf8.count > 8)
            }
        }
        #expect(undecided > 0, "the long topics sharing a prefix must reach the full comparison")
    }

    @Test("A late fill within allowed_lateness is applied at once; beyond it goes to the DLQ; a late mark only moves the table")
    func lateness() throws {
        var t = task()
        var out: [OutputRecord] = []
        let emit: (OutputRecord) -> Void = { out.append($0) }
        t.enqueue(.account(AccountEvent(account: "a", ts: 10_000_000, id: "D", change: .deposit(asset: "USD", amount: 10_000))),
                  origin: Origin(topic: "accounts", partition: 0, offset: 0), position: (.accounts, 0), emit: emit)
        t.enqueue(.mark(mark(64_000, ts: 10_000_000)), origin: quotes0, position: nil, emit: emit)
        t.release(before: .max, emit: emit)
        let trade = Trade(instrument: "BTC-PERP", ts: 6_000_000, id: "T1", price: 64_000, size: 3, side: .buy, buyer: "a")
        t.enqueue(.fill(FillRecord(account: "a", trade: trade, side: .buy)),
                  origin: Origin(topic: "trades", partition: 0, offset: 4), position: (.fills, 0), emit: emit)
        #expect(t.buffered == 0, "applied at once, not buffered behind the frontier")
        #expect(out.contains { $0.topic == .accountMargin }, "the fill was applied: the account's margin changed")
        out.removeAll()
        var old = trade
        old.ts = 1_000_000
        old.id = "T0"
        t.enqueue(.fill(FillRecord(account: "a", trade: old, side: .buy)),
                  origin: Origin(topic: "trades", partition: 0, offset: 2), position: (.fills, 1), value: Array("{}".utf8),
                  emit: emit)
        let dlq = try #require(out.first { $0.topic == .dlq })
        let o = try #require(try JSONSerialization.jsonObject(with: Data(dlq.value)) as? [String: Any])
        #expect(o["reason"] as? String == "late")
        #expect(o["value"] as? String == "{}")
        out.removeAll()
        t.enqueue(.mark(mark(50_000, ts: 2_000_000)), origin: quotes0, position: nil, emit: emit)
        #expect(out.isEmpty, "a late mark recomputes nothing")
        t.enqueue(.mark(mark(50_000, ts: 20_000_000)), origin: quotes0, position: nil, emit: emit)
        t.release(before: .max, emit: emit)
        #expect(try levels(out) == ["a:bankruptcy:20000000"], "long 3 from 64 000 at 50 000 with 10 000: E < 0")
    }

    @Test("Marks and fills read back from their JSON equal what the instrument stage wrote, bit for bit")
    func readBack() throws {
        var m = MarkRecord(instrument: "BTC-28NOV25-60000-C", ts: 17, mark: 0.1 + 0.2, iv: 0.5512345678901234,
                           bids: [BookLevel(price: 1.0 / 3.0, size: 2e-7)], asks: [BookLevel(price: 1e21, size: 3)], stress: 2)
        var decoded = try m.encoded().withUnsafeBytes { try MarkRecord.decode($0) }
        #expect(decoded == m && decoded.bids == m.bids && decoded.asks == m.asks && decoded.iv == m.iv)
        m.iv = nil
        decoded = try m.encoded().withUnsafeBytes { try MarkRecord.decode($0) }
        #expect(decoded.iv == nil)

        let trade = Trade(instrument: "ETH-PERP", ts: 9, id: "T-1", price: 3_349.4500000000003, size: 0.1 + 0.7, side: .sell,
                          buyer: "b", seller: "s", fee: 0.0004)
        for fill in FillRecord.fills(of: trade) {
            let back = try fill.encoded().withUnsafeBytes { try FillRecord.decode($0) }
            #expect(back.account == fill.account && back.side == fill.side && back.id == fill.id)
            #expect(back.trade.price == trade.price && back.trade.size == trade.size && back.trade.fee == trade.fee
                    && back.trade.ts == trade.ts && back.trade.instrument == trade.instrument)
        }
        #expect(throws: DecodeError.self) { try Array(#"{"account":"a"}"#.utf8).withUnsafeBytes { try FillRecord.decode($0) } }
    }

    @Test("A task restored from its changelog records goes on exactly as the uninterrupted one, skipping what it applied")
    func changelogRestore() throws {
        // Two tasks see the same inputs; the second is rebuilt from the first one's changelog halfway.
        var original = task()
        var out: [OutputRecord] = []
        let emit: (OutputRecord) -> Void = { out.append($0) }
        let accounts = { (offset: Int64) in Origin(topic: "accounts", partition: 0, offset: offset) }
        let setUp: [AccountEvent] = [
            AccountEvent(account: "a", ts: 10, id: "D", change: .deposit(asset: "USD", amount: 10_000)),
            AccountEvent(account: "a", ts: 10, id: "B", change: .deposit(asset: "BTC", amount: -0.25)),
            AccountEvent(account: "a", ts: 11, id: "M", change: .mode(.portfolio)),
            AccountEvent(account: "a", ts: 12, id: "P", change: .position(instrument: "BTC-PERP", size: 3, entryPrice: 64_000)),
            AccountEvent(account: "b", ts: 12, id: "D", change: .deposit(asset: "USD", amount: 500)),
        ]
        for (i, e) in setUp.enumerated() {
            original.enqueue(.account(e), origin: accounts(Int64(i)), position: (.accounts, Int64(i)), emit: emit)
        }
        original.enqueue(.mark(mark(64_000, ts: 12)), origin: quotes0, position: nil, emit: emit)
        original.release(before: 12, emit: emit)  // applies ts 10 and 11; ts 12 stays buffered
        let changed = original.stage.takeChanged()
        #expect(changed == ["a"])
        let stateA = try #require(original.stage.encodedState(of: "a"))
        let progress = original.encodedProgress()

        var restored = task()
        try stateA.withUnsafeBytes { try restored.stage.restoreState(of: "a", from: $0) }
        try progress.withUnsafeBytes { try restored.restoreProgress(from: $0) }
        #expect(restored.lastApplied == original.lastApplied)
        #expect(try restored.stage.encodedState(of: "a") == stateA, "state round-trips byte for byte")

        // The restart re-reads accounts from offset 0 (the committed offset): 0..2 were applied and are skipped,
        // 3 and 4 were buffered and are applied; the mark comes again from the marks table.
        var outOriginal: [OutputRecord] = [], outRestored: [OutputRecord] = []
        for (i, e) in setUp.enumerated() {
            restored.enqueue(.account(e), origin: accounts(Int64(i)), position: (.accounts, Int64(i)),
                             emit: { outRestored.append($0) })
        }
        restored.enqueue(.mark(mark(64_000, ts: 12)), origin: quotes0, position: nil, emit: { outRestored.append($0) })
        #expect(restored.buffered == 3, "two account events and the mark at ts 12")
        for m in [mark(61_000, ts: 20), mark(59_000, ts: 30), mark(64_500, ts: 40)] {
            original.enqueue(.mark(m), origin: quotes0, position: nil, emit: { outOriginal.append($0) })
            restored.enqueue(.mark(m), origin: quotes0, position: nil, emit: { outRestored.append($0) })
        }
        original.release(before: .max, emit: { outOriginal.append($0) })
        restored.release(before: .max, emit: { outRestored.append($0) })
        #expect(!outOriginal.isEmpty)
        #expect(outRestored.map(\.value) == outOriginal.map(\.value), "identical outputs after the restore")
        #expect(restored.stage.encodedState(of: "a") == original.stage.encodedState(of: "a"))
        #expect(restored.stage.encodedState(of: "b") == original.stage.encodedState(of: "b"))
    }

    @Test("An undecodable input moves the committed offset past it, and is not sent to the DLQ again after a restore")
    func undecodableInputs() throws {
        var t = task()
        let accounts = { (offset: Int64) in Origin(topic: "accounts", partition: 0, offset: offset) }
        t.enqueue(.account(AccountEvent(account: "a", ts: 30, id: "D", change: .deposit(asset: "USD", amount: 1))),
                  origin: accounts(0), position: (.accounts, 0), emit: { _ in })
        t.enqueue(.account(AccountEvent(account: "a", ts: 20, id: "E", change: .deposit(asset: "USD", amount: 1))),
                  origin: accounts(1), position: (.accounts, 1), emit: { _ in })
        let fresh = t.noteUndecodable(.accounts, offset: 2)
        #expect(fresh, "never read before: it goes to the DLQ")
        #expect(t.sourceMaxTs[AccountSource.accounts.rawValue] == 30, "the greatest ts read, not the last")
        t.release(before: .max, emit: { _ in })
        #expect(t.committableOffset(.accounts) == 3, "past the bad input: a restart does not read it again")

        var restored = task()
        try t.encodedProgress().withUnsafeBytes { try restored.restoreProgress(from: $0) }
        #expect(restored.sourceMaxTs == t.sourceMaxTs, "the greatest ts survives the restart")
        let again = restored.noteUndecodable(.accounts, offset: 2)
        #expect(!again, "read before the commit: its DLQ record is committed")
        let next = restored.noteUndecodable(.accounts, offset: 3)
        #expect(next)
    }

    @Test("An account reaching the same level twice at one ts gets a distinct id for the second event")
    func idsStayUnique() throws {
        var t = task()
        var out: [OutputRecord] = []
        let emit: (OutputRecord) -> Void = { out.append($0) }
        let accounts = Origin(topic: "accounts", partition: 0, offset: 0)
        t.enqueue(.account(AccountEvent(account: "a", ts: 1, id: "D", change: .deposit(asset: "USD", amount: 1_000))),
                  origin: accounts, position: nil, emit: emit)
        t.enqueue(.mark(mark(64_000, ts: 1)), origin: quotes0, position: nil, emit: emit)
        // At ts 5: a position far too big (liquidation), a deposit that cures it, a second big position.
        let events: [AccountEvent.Change] = [
            .position(instrument: "BTC-PERP", size: 10, entryPrice: 64_000),
            .deposit(asset: "USD", amount: 1_000_000),
            .position(instrument: "BTC-PERP", size: 4_000, entryPrice: 64_000),
        ]
        for (i, change) in events.enumerated() {
            t.enqueue(.account(AccountEvent(account: "a", ts: 5, id: "E\(i)", change: change)),
                      origin: Origin(topic: "accounts", partition: 0, offset: Int64(i + 1)), position: nil, emit: emit)
        }
        t.release(before: .max, emit: emit)
        let ids = try levels(out)
        #expect(Set(ids).count == ids.count, "ids are unique: \(ids)")
        #expect(ids.contains { $0.hasSuffix(":5:2") }, "the second event of a kind at ts 5 carries :2 (\(ids))")
    }
}

@Suite("Account changelog values: the reader of the written order agrees with the reader of any order")
struct AccountChangelogReaderTests {
    typealias Random = RecentTradesTests.Random

    /// Every key of a changelog value, as `encodedState(of:)` writes them (optional ones sometimes left out).
    static func fields(_ r: inout Random) -> [(String, String)] {
        func number(_ x: Double) -> String { "\(x)" }
        func double() -> Double {
            let choices = [Double(r.below(1_000_000)), Double(r.below(1_000_000)) / 7, -Double(r.below(1_000)) / 3,
                           1e-5, 1.7e300]
            return choices[r.below(5)]
        }
        var fields: [(String, String)] = [
            ("v", "1"), ("mode", ["\"standard\"", "\"portfolio\""][r.below(2)]),
            ("level", "\"" + MarginLevel.allCases[r.below(MarginLevel.allCases.count)].rawValue + "\""),
            ("balances", "[" + (0..<r.below(4)).map { k in "[\"\(["USD", "BTC", "ETH"][k % 3])\",\(number(double()))]" }
                .joined(separator: ",") + "]"),
            ("positions", "[" + (0..<r.below(5)).map { k in "[\"P\(k)-PERP\",\(number(double())),\(number(double()))]" }
                .joined(separator: ",") + "]"),
        ]
        if r.below(2) == 0 { fields.append(("snapshot_ts", String(r.below(1_000_000)))) }
        if r.below(2) == 0 {
            fields.append(("snapshot", "[\(number(double())),\(number(double())),\(number(double())),"
                + "\(r.below(2) == 0),\"\(["standard", "portfolio"][r.below(2)])\"]"))
        }
        if r.below(2) == 0 {
            fields.append(("id_ts", String(r.below(1_000_000))))
            let uses = (0..<r.below(3)).map { k in "\"\(["ok", "snapshot", "warning"][k])\":\(1 + r.below(3))" }
            fields.append(("id_uses", "{" + uses.joined(separator: ",") + "}"))
        }
        return fields
    }

    static func text(_ fields: [(String, String)], spaced: Bool = false) -> [UInt8] {
        let sep = spaced ? " " : ""
        return Array(("{" + fields.map { "\"\($0.0)\":\(sep)\($0.1)" }.joined(separator: "," + sep) + "}").utf8)
    }

    static func same(_ a: AccountStage.StoredState, _ b: AccountStage.StoredState) -> Bool {
        a.mode == b.mode && a.level == b.level
            && a.balances.map(\.0) == b.balances.map(\.0) && a.balances.map(\.1) == b.balances.map(\.1)
            && a.positions.map(\.0) == b.positions.map(\.0) && a.positions.map(\.1) == b.positions.map(\.1)
            && a.positions.map(\.2) == b.positions.map(\.2)
            && a.state.lastSnapshotTs == b.state.lastSnapshotTs && a.state.lastSnapshot == b.state.lastSnapshot
            && a.state.idTs == b.state.idTs && a.state.idUses == b.state.idUses
    }

    @Test func writtenOrderReadAsAnyOrderReadsIt() throws {
        var r = Random(state: 31)
        for _ in 0..<20_000 {
            let fields = Self.fields(&r)
            let written = Self.text(fields)
            try written.withUnsafeBytes { buffer in
                let fast = try #require(AccountStage.readStateAsWritten(buffer),
                                        "\(String(decoding: written, as: UTF8.self))")
                #expect(Self.same(fast, try AccountStage.readState(buffer)))
            }
            // Reordered, spaced, with an unknown key or cut short: not the written form; the general reader decides.
            var other = fields
            switch r.below(4) {
            case 0: other.swapAt(0, 1 + r.below(other.count - 1))
            case 1: other.insert(("venue", "{\"a\":[1,2]}"), at: r.below(other.count + 1))
            case 2: break
            default: other = Array(other.dropLast())
            }
            var bytes = Self.text(other, spaced: r.below(2) == 0)
            if r.below(8) == 0 { bytes.removeLast(1 + r.below(bytes.count - 1)) }
            bytes.withUnsafeBytes { buffer in
                let general = Result { () throws(DecodeError) in try AccountStage.readState(buffer) }
                if let fast = AccountStage.readStateAsWritten(buffer) {
                    // Only what is still the written form (e.g. the last optional key dropped) is taken.
                    #expect((try? general.get()).map { Self.same(fast, $0) } == true)
                }
            }
        }
    }

    @Test func aStateWrittenByTheStageIsRestoredByteForByte() throws {
        var stage = AccountStage(configuration: MarginConfiguration())
        stage.define(Instrument(symbol: "BTC-PERP", kind: .perpetual, underlying: "BTC", multiplier: 1,
                                tiers: [MarginTier(cap: 1e12, imr: 0.02, mmr: 0.01)]))
        let origin = Origin(topic: "accounts", partition: 0, offset: 0)
        for e in [AccountEvent(account: "a", ts: 1, id: "D", change: .deposit(asset: "USD", amount: 12_345.678901234)),
                  AccountEvent(account: "a", ts: 2, id: "P",
                               change: .position(instrument: "BTC-PERP", size: -0.3, entryPrice: 64_000.5))] {
            stage.apply(e, origin: origin, emit: { _ in })
        }
        let value = try #require(stage.encodedState(of: "a"))
        try value.withUnsafeBytes { buffer in
            #expect(AccountStage.readStateAsWritten(buffer) != nil,
                    "the stage's own values take the written-order reader")
            var restored = AccountStage(configuration: MarginConfiguration())
            restored.define(try #require(stage.instrument("BTC-PERP")))
            try restored.restoreState(of: "a", from: buffer)
            #expect(restored.encodedState(of: "a") == value)
        }
    }
}
