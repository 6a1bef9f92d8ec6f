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

    /// Accounts held.
    public var accountCount: Int { accounts.count }

    /// A fill of one account.
    public mutating func apply(_ fill: FillRecord, origin: Origin, emit: (OutputRecord) -> Void) {
        guard let instrument = market.instrument(fill.trade.instrument) else { return }
        accounts[fill.account, default: AccountState()].account.apply(fill: fill.trade, side: fill.side, instrument: instrument)
        index(fill.account)
        evaluate(fill.account, now: fill.trade.ts, cause: ("fill", fill.trade.instrument), origin: origin, emit: emit)
    }

    private mutating func index(_ id: String) {
        guard let state = accounts[id] else { return }
        for p in state.account.positions {
            concerned[p.instrument, default: []].insert(id)
            if let reference = market.instrument(p.instrument)?.reference { concerned[reference, default: []].insert(id) }
        }
        for b in state.account.balances where b.asset != "USD" {
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
        } else if summary != state.lastSnapshot,
                  state.lastSnapshotTs.map({ now - $0 >= configuration.snapshotIntervalMicros }) ?? true {
            let snapshot = market.snapshot(of: state.account, now: now)
            emit(OutputRecord(topic: .accountMargin, key: Array(id.utf8),
                              value: encode(snapshot, id: state.id(id, "snapshot", ts: now), account: id, ts: now,
                                            level: transition.level, previous: nil, cause: cause),
                              origin: origin))
            state.lastSnapshotTs = now
            state.lastSnapshot = summary
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
