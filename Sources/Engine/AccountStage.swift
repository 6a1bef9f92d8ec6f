public import Events
public import Liquidity
public import Margin

/// The account stage (SPEC §1, §6): per account, balances and positions from account events and fills, margin
/// recomputed whenever the account or a mark it depends on changes, margin-call events on every level change and
/// `account-margin` snapshots. Inputs must arrive in the order `(ts, instruments, accounts, marks, fills, offset)`.
///
/// Pure, like the instrument stage: the backtest feeds it from files and the instrument stage's outputs.
public struct AccountStage: Sendable {
    public let configuration: MarginConfiguration
    var market: MarketView
    var accounts: [String: AccountState] = [:]
    /// Accounts a mark concerns, by instrument: their positions, those positions' references, and the instruments
    /// pricing their non-USD balances.
    var concerned: [String: Set<String>] = [:]
    public private(set) var marginCalls: [MarginLevel: Int] = [:]
    /// Accounts whose state changed since ``takeChanged()``: what a changelog must write.
    private var changed: Set<String> = []

    struct AccountState: Sendable {
        var account = Account()
        var lastSnapshotTs: Int64?
        var lastSnapshot: MarginSummary?
        /// Ids used at `idTs` (by level name or `snapshot`): a second event of the same kind at the same `ts`
        /// gets the suffix `:2`, and so on, so ids stay unique.
        var idTs: Int64 = .min
        var idUses: [String: Int] = [:]

        mutating func id(_ account: String, _ kind: String, ts: Int64) -> String {
            if ts != idTs { idTs = ts; idUses.removeAll() }
            let n = idUses[kind, default: 0] + 1
            idUses[kind] = n
            return n == 1 ? "\(account):\(kind):\(ts)" : "\(account):\(kind):\(ts):\(n)"
        }
    }

    public init(configuration: MarginConfiguration) {
        self.configuration = configuration
        market = MarketView(configuration: configuration)
    }

    public mutating func define(_ instrument: Instrument) { market.define(instrument) }

    /// An account event (deposit, withdrawal, adjustment, mode, position), then a margin recomputation.
    public mutating func apply(_ event: AccountEvent, origin: Origin, emit: (OutputRecord) -> Void) {
        if case .position(let instrument, _, _) = event.change, market.instrument(instrument) == nil {
            let error = DecodeError(.unknownInstrument, "position in unknown instrument '\(instrument)'")
            return emit(RejectedInput(origin: origin, key: Array(event.account.utf8), value: nil, error: error)
                .dlqRecord(eventTime: event.ts))
        }
        accounts[event.account, default: AccountState()].account.apply(event.change)
        changed.insert(event.account)
        index(event.account)
        evaluate(event.account, now: event.ts, cause: ("account", nil), origin: origin, emit: emit)
    }

    /// A mark: the market moves, and every account it concerns is recomputed (in account order).
    public mutating func apply(_ mark: MarkRecord, origin: Origin, emit: (OutputRecord) -> Void) {
        market.updateMark(mark.instrument, mark: mark.mark, iv: mark.iv, bids: mark.bids, asks: mark.asks, stress: mark.stress)
        for id in (concerned[mark.instrument] ?? []).sorted() {
            evaluate(id, now: mark.ts, cause: ("mark", mark.instrument), origin: origin, emit: emit)
        }
    }

    /// A mark that only updates the market (a late one): no account is recomputed now.
    public mutating func observe(_ mark: MarkRecord) {
        market.updateMark(mark.instrument, mark: mark.mark, iv: mark.iv, bids: mark.bids, asks: mark.asks, stress: mark.stress)
    }

    /// The instrument definition the stage holds for `symbol`.
    public func instrument(_ symbol: String) -> Instrument? { market.instrument(symbol) }

    /// Accounts held.
    public var accountCount: Int { accounts.count }

    /// Accounts by their current level.
    public func levelCounts() -> [MarginLevel: Int] {
        var counts: [MarginLevel: Int] = [:]
        for state in accounts.values { counts[state.account.level, default: 0] += 1 }
        return counts
    }

    /// A fill of one account.
    public mutating func apply(_ fill: FillRecord, origin: Origin, emit: (OutputRecord) -> Void) {
        guard let instrument = market.instrument(fill.trade.instrument) else { return }
        accounts[fill.account, default: AccountState()].account.apply(fill: fill.trade, side: fill.side, instrument: instrument)
        changed.insert(fill.account)
        index(fill.account)
        evaluate(fill.account, now: fill.trade.ts, cause: ("fill", fill.trade.instrument), origin: origin, emit: emit)
    }

    fileprivate mutating func index(_ id: String) {
        guard accounts[id] != nil else { return }
        // Cached slots, so that recomputations index arrays instead of hashing symbols.
        accounts[id]!.account.bind(to: market)
        noteConcerned(id, accounts[id]!.account)
    }

    /// Adds account `id` to the accounts concerned by each instrument whose mark it depends on (``concerned``).
    private mutating func noteConcerned(_ id: String, _ account: Account) {
        for p in account.positions {
            concerned[p.instrument, default: []].insert(id)
            if let reference = market.reference(of: p) { concerned[reference, default: []].insert(id) }
        }
        for b in account.balances where b.asset != "USD" {
            if let instrument = configuration.collateral[b.asset]?.instrument { concerned[instrument, default: []].insert(id) }
        }
    }

    /// Recomputes one account: a margin call on a level change (with a snapshot), else a snapshot when its margin
    /// changed and `snapshot_interval` has passed since the last.
    private mutating func evaluate(_ id: String, now: Int64, cause: (type: String, instrument: String?), origin: Origin,
                                   emit: (OutputRecord) -> Void) {
        guard var state = accounts[id] else { return }
        let summary = market.margin(of: state.account, now: now)
        let previous = state.account.level
        let transition = state.account.updateLevel(with: summary, configuration: configuration)
        if transition.changed {
            let snapshot = market.snapshot(of: state.account, now: now)
            marginCalls[transition.level, default: 0] += 1
            emit(OutputRecord(topic: .marginCalls, key: Array(id.utf8),
                              value: encode(snapshot, id: state.id(id, transition.level.rawValue, ts: now), account: id,
                                            ts: now, level: transition.level, previous: previous, cause: cause),
                              origin: origin))
            emit(OutputRecord(topic: .accountMargin, key: Array(id.utf8),
                              value: encode(snapshot, id: state.id(id, "snapshot", ts: now), account: id, ts: now,
                                            level: transition.level, previous: nil, cause: cause),
                              origin: origin))
            state.lastSnapshotTs = now
            state.lastSnapshot = summary
            changed.insert(id)
        } else if summary != state.lastSnapshot,
                  state.lastSnapshotTs.map({ now - $0 >= configuration.snapshotIntervalMicros }) ?? true {
            let snapshot = market.snapshot(of: state.account, now: now)
            emit(OutputRecord(topic: .accountMargin, key: Array(id.utf8),
                              value: encode(snapshot, id: state.id(id, "snapshot", ts: now), account: id, ts: now,
                                            level: transition.level, previous: nil, cause: cause),
                              origin: origin))
            state.lastSnapshotTs = now
            state.lastSnapshot = summary
            changed.insert(id)
        }
        accounts[id] = state
    }

    /// A `margin-calls` record (with `previous`) or an `account-margin` snapshot (without), SPEC §6.
    func encode(_ s: MarginSnapshot, id: String, account: String, ts: Int64, level: MarginLevel, previous: MarginLevel?,
                cause: (type: String, instrument: String?)) -> [UInt8] {
        var w = JSONWriter(capacity: 512 + 160 * s.positions.count)
        w.beginObject()
        w.key("id"); w.string(id)
        w.key("account"); w.string(account)
        w.key("ts"); w.integer(ts)
        w.key("level"); w.string(level.rawValue)
        if let previous { w.key("previous"); w.string(previous.rawValue) }
        w.key("equity"); w.number(s.equity)
        w.key("maintenance"); w.number(s.maintenance)
        w.key("initial"); w.number(s.initial)
        w.key("coverage"); w.number(s.coverage)
        w.key("shortfall"); w.number(s.shortfall)
        w.key("mode"); w.string(s.mode.rawValue)
        w.key("cause")
        w.beginObject()
        w.key("type"); w.string(cause.type)
        if let instrument = cause.instrument { w.key("instrument"); w.string(instrument) }
        w.endObject()
        w.key("positions")
        w.beginArray()
        for p in s.positions {
            w.beginObject()
            w.key("instrument"); w.string(p.instrument)
            w.key("size"); w.number(p.size)
            w.key("entry"); w.number(p.entry)
            w.key("mark"); w.number(p.mark)
            w.key("notional"); w.number(p.notional)
            w.key("maintenance"); w.number(p.maintenance)
            w.key("initial"); w.number(p.initial)
            w.key("liquidity_addon"); w.number(p.liquidityAddon)
            w.key("upnl"); w.number(p.upnl)
            w.endObject()
        }
        w.endArray()
        w.key("liquidation_prices")
        w.beginObject()
        for l in s.liquidationPrices { w.key(l.underlying); w.number(l.price) }
        w.endObject()
        w.endObject()
        return w.bytes
    }
}

// MARK: - Changelog

extension AccountStage {
    /// The accounts changed since the last call, sorted (each one's state goes to the changelog).
    public mutating func takeChanged() -> [String] {
        defer { changed.removeAll(keepingCapacity: true) }
        return changed.sorted()
    }

    /// One account's whole state as a changelog value: balances and positions in their order, mode, level, the
    /// last snapshot (time and numbers, which decide the next one) and the ids used at the last instant.
    public func encodedState(of id: String) -> [UInt8]? {
        guard let state = accounts[id] else { return nil }
        var w = JSONWriter(capacity: 256 + 64 * state.account.positions.count)
        w.beginObject()
        w.key("v"); w.integer(1)
        w.key("mode"); w.string(state.account.mode.rawValue)
        w.key("level"); w.string(state.account.level.rawValue)
        w.key("balances")
        w.beginArray()
        for b in state.account.balances { w.beginArray(); w.string(b.asset); w.number(b.amount); w.endArray() }
        w.endArray()
        w.key("positions")
        w.beginArray()
        for p in state.account.positions {
            w.beginArray(); w.string(p.instrument); w.number(p.size); w.number(p.entryPrice); w.endArray()
        }
        w.endArray()
        if let ts = state.lastSnapshotTs { w.key("snapshot_ts"); w.integer(ts) }
        if let s = state.lastSnapshot {
            w.key("snapshot")
            w.beginArray()
            w.number(s.equity); w.number(s.maintenance); w.number(s.initial); w.bool(s.hasExposure); w.string(s.mode.rawValue)
            w.endArray()
        }
        if state.idTs != .min {
            w.key("id_ts"); w.integer(state.idTs)
            w.key("id_uses")
            w.beginObject()
            for (kind, n) in state.idUses.sorted(by: { $0.key < $1.key }) { w.key(kind); w.integer(Int64(n)) }
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }

    /// Restores one account from its changelog value (nil: a tombstone, the account is dropped).
    /// - Throws: ``DecodeError`` for a value this version cannot read.
    public mutating func restoreState(of id: String, from bytes: UnsafeRawBufferPointer?) throws(DecodeError) {
        guard let bytes, bytes.count > 0 else { accounts[id] = nil; return }
        if let stored = Self.readStateAsWritten(bytes) {
            restore(id, stored)
        } else {
            restore(id, try Self.readState(bytes))
        }
    }

    /// An account's changelog value, read.
    struct StoredState {
        var state = AccountState()
        var mode = MarginMode.standard
        var level = MarginLevel.ok
        var balances: [(String, Double)] = []
        var positions: [(String, Double, Double)] = []
    }

    /// A changelog value with its keys in any order (unknown ones skipped).
    static func readState(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> StoredState {
        var r = JSONReader(bytes)
        var stored = StoredState()
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            if key == "v" {
                let v = try r.readInt64()
                guard v == 1 else { throw DecodeError(.invalidValue, "changelog version \(v) is not 1") }
            } else if key == "mode" {
                let text = try r.readString()
                guard let m = MarginMode(rawValue: text) else { throw DecodeError(.invalidValue, "mode '\(text)'") }
                stored.mode = m
            } else if key == "level" {
                let text = try r.readString()
                guard let l = MarginLevel(rawValue: text) else { throw DecodeError(.invalidValue, "level '\(text)'") }
                stored.level = l
            } else if key == "balances" {
                try r.readArray { (r: inout JSONReader) throws(DecodeError) in
                    var asset = "", amount = 0.0, i = 0
                    try r.readArray { (r: inout JSONReader) throws(DecodeError) in
                        if i == 0 { asset = try r.readString() } else { amount = try r.readDouble() }
                        i += 1
                    }
                    stored.balances.append((asset, amount))
                }
            } else if key == "positions" {
                try r.readArray { (r: inout JSONReader) throws(DecodeError) in
                    var instrument = "", size = 0.0, entry = 0.0, i = 0
                    try r.readArray { (r: inout JSONReader) throws(DecodeError) in
                        switch i {
                        case 0: instrument = try r.readString()
                        case 1: size = try r.readDouble()
                        default: entry = try r.readDouble()
                        }
                        i += 1
                    }
                    stored.positions.append((instrument, size, entry))
                }
            } else if key == "snapshot_ts" {
                stored.state.lastSnapshotTs = try r.readInt64()
            } else if key == "snapshot" {
                var numbers: [Double] = [], exposure = false, snapshotMode = MarginMode.standard, i = 0
                try r.readArray { (r: inout JSONReader) throws(DecodeError) in
                    switch i {
                    case 0, 1, 2: numbers.append(try r.readDouble())
                    case 3: exposure = try r.readBool()
                    default: snapshotMode = MarginMode(rawValue: try r.readString()) ?? .standard
                    }
                    i += 1
                }
                guard numbers.count == 3 else { throw DecodeError(.invalidValue, "snapshot needs 3 numbers") }
                stored.state.lastSnapshot = MarginSummary(
                    equity: numbers[0], maintenance: numbers[1], initial: numbers[2], hasExposure: exposure,
                    mode: snapshotMode)
            } else if key == "id_ts" {
                stored.state.idTs = try r.readInt64()
            } else if key == "id_uses" {
                try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
                    stored.state.idUses[key.string] = Int(try r.readInt64())
                }
            } else {
                try r.skipValue()
            }
        }
        return stored
    }

    /// A changelog value as ``encodedState(of:)`` writes it — its keys in that order, no whitespace around keys
    /// and punctuation (the value readers skip it before a value, as in the general reader) —
    /// read in that order, without a closure per value; nil for anything else, which ``readState(_:)`` then reads
    /// (this takes nothing it would not take, with the same values).
    static func readStateAsWritten(_ bytes: UnsafeRawBufferPointer) -> StoredState? {
        var r = JSONReader(bytes)
        var stored = StoredState()
        do throws(DecodeError) {
            guard r.matchLiteral(#"{"v":1,"mode":"#), let mode = MarginMode(rawValue: try r.readString()),
                  r.matchLiteral(#","level":"#), let level = MarginLevel(rawValue: try r.readString()),
                  r.matchLiteral(#","balances":["#) else { return nil }
            (stored.mode, stored.level) = (mode, level)
            if !r.matchLiteral("]") {
                repeat {
                    guard r.matchLiteral("[") else { return nil }
                    let asset = try r.readString()
                    guard r.matchLiteral(",") else { return nil }
                    let amount = try r.readDouble()
                    guard r.matchLiteral("]") else { return nil }
                    stored.balances.append((asset, amount))
                } while r.matchLiteral(",")
                guard r.matchLiteral("]") else { return nil }
            }
            guard r.matchLiteral(#","positions":["#) else { return nil }
            if !r.matchLiteral("]") {
                repeat {
                    guard r.matchLiteral("[") else { return nil }
                    let instrument = try r.readString()
                    guard r.matchLiteral(",") else { return nil }
                    let size = try r.readDouble()
                    guard r.matchLiteral(",") else { return nil }
                    let entry = try r.readDouble()
                    guard r.matchLiteral("]") else { return nil }
                    stored.positions.append((instrument, size, entry))
                } while r.matchLiteral(",")
                guard r.matchLiteral("]") else { return nil }
            }
            if r.matchLiteral(#","snapshot_ts":"#) { stored.state.lastSnapshotTs = try r.readInt64() }
            if r.matchLiteral(#","snapshot":["#) {
                let equity = try r.readDouble()
                guard r.matchLiteral(",") else { return nil }
                let maintenance = try r.readDouble()
                guard r.matchLiteral(",") else { return nil }
                let initial = try r.readDouble()
                guard r.matchLiteral(",") else { return nil }
                let exposure = try r.readBool()
                guard r.matchLiteral(",") else { return nil }
                let mode = MarginMode(rawValue: try r.readString()) ?? .standard
                guard r.matchLiteral("]") else { return nil }
                stored.state.lastSnapshot = MarginSummary(equity: equity, maintenance: maintenance, initial: initial,
                                                          hasExposure: exposure, mode: mode)
            }
            if r.matchLiteral(#","id_ts":"#) {
                stored.state.idTs = try r.readInt64()
                guard r.matchLiteral(#","id_uses":{"#) else { return nil }
                if !r.matchLiteral("}") {
                    repeat {
                        let kind = try r.readString()
                        guard r.matchLiteral(":") else { return nil }
                        stored.state.idUses[kind] = Int(try r.readInt64())
                    } while r.matchLiteral(",")
                    guard r.matchLiteral("}") else { return nil }
                }
            }
            guard r.matchLiteral("}") else { return nil }
            try r.expectEnd()
        } catch {
            return nil
        }
        return stored
    }

    /// Rebuilds account `id` from what its changelog value holds.
    private mutating func restore(_ id: String, _ stored: StoredState) {
        var state = stored.state
        // Rebuilt through the account's own operations, so the order of balances and positions (and with it
        // every sum) is the one it had.
        var account = Account(mode: stored.mode)
        for (asset, amount) in stored.balances { account.apply(.deposit(asset: asset, amount: amount)) }
        for (instrument, size, entry) in stored.positions {
            account.apply(.position(instrument: instrument, size: size, entryPrice: entry))
        }
        account.level = stored.level
        // Bound and indexed before it is stored: the account is looked up by its id once, to store it.
        account.bind(to: market)
        noteConcerned(id, account)
        state.account = account
        accounts[id] = state
    }
}
