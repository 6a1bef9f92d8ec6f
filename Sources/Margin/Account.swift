public import Events

/// The margin mode of an account.
public typealias MarginMode = AccountEvent.MarginMode

/// One account's state in the account stage (SPEC §6): balances, positions, margin mode and last margin level.
///
/// Balances and positions keep the order in which they first appeared, and every sum over them runs in that
/// order, so a replay (or a restore that keeps the order) reproduces results bit for bit.
public struct Account: Sendable, Equatable {
    /// A balance in one asset.
    public struct Balance: Sendable, Equatable {
        public var asset: String
        public var amount: Double
        /// Cached collateral table index in the bound ``MarketView`` (−1: none or not bound).
        var collateral: Int32 = -1
        let isUSD: Bool

        public init(asset: String, amount: Double) {
            self.asset = asset
            self.amount = amount
            self.isUSD = asset == usd
        }

        public static func == (a: Balance, b: Balance) -> Bool { a.asset == b.asset && a.amount == b.amount }
    }

    /// A position: signed size (long > 0) and average entry price (the premium paid or received for options).
    public struct Position: Sendable, Equatable {
        public var instrument: String
        public var size: Double
        public var entryPrice: Double
        /// Cached slot in the bound ``MarketView`` (−1: not bound).
        var slot: Int32 = -1

        public init(instrument: String, size: Double, entryPrice: Double) {
            self.instrument = instrument
            self.size = size
            self.entryPrice = entryPrice
        }

        public static func == (a: Position, b: Position) -> Bool {
            a.instrument == b.instrument && a.size == b.size && a.entryPrice == b.entryPrice
        }
    }

    /// The settlement asset; realized P&L, premiums and fees move it.
    public static let settlementAsset = usd

    public private(set) var balances: [Balance] = []
    public private(set) var positions: [Position] = []
    /// Default: standard.
    public var mode: MarginMode = .standard
    /// The level last published (a new account starts at `ok` without an event).
    public var level: MarginLevel = .ok

    public init(mode: MarginMode = .standard) { self.mode = mode }

    /// The balance of `asset` (0 when none).
    public func balance(of asset: String) -> Double { balances.first { $0.asset == asset }?.amount ?? 0 }

    /// The position in `instrument`, if open.
    public func position(in instrument: String) -> Position? { positions.first { $0.instrument == instrument } }

    /// Whether a bankruptcy is possible: the account holds a position or owes a negative balance.
    public var hasExposure: Bool { !positions.isEmpty || balances.contains { $0.amount < 0 } }

    /// Applies an `accounts` event: deposit, withdrawal, signed adjustment, mode change, or a position set
    /// without cash (size 0 removes it).
    public mutating func apply(_ change: AccountEvent.Change) {
        switch change {
        case let .deposit(asset, amount): credit(asset, amount)
        case let .withdrawal(asset, amount): credit(asset, -amount)
        case let .adjustment(asset, amount): credit(asset, amount)
        case let .mode(m): mode = m
        case let .position(instrument, size, entryPrice):
            if let i = positions.firstIndex(where: { $0.instrument == instrument }) {
                if size == 0 {
                    positions.remove(at: i)
                } else {
                    positions[i].size = size
                    positions[i].entryPrice = entryPrice
                }
            } else if size != 0 {
                positions.append(Position(instrument: instrument, size: size, entryPrice: entryPrice))
            }
        }
    }

    /// Applies this account's side of a fill (SPEC §6).
    ///
    /// The buyer gets `+size`, the seller `−size`. Linear instruments: increasing moves the entry to the
    /// size-weighted average; reducing realizes `(price − entry)·closed·multiplier·sign` into USD; flipping
    /// realizes the closed part and opens the rest at `price`. Options: the premium `price·size·multiplier` is
    /// paid (buyer) or received (seller) in USD; the entry follows the same averaging, without realization. Both
    /// sides pay the fee `fee·price·size·multiplier` in USD.
    ///
    /// A remainder below 1e-12 of the sizes involved (floating-point dust from summed sizes) closes the position.
    /// - Parameters:
    ///   - trade: the trade; its `fee` is a fraction of notional.
    ///   - side: this account's side, `buy` for the buyer and `sell` for the seller.
    ///   - instrument: the trade's instrument (kind and multiplier).
    public mutating func apply(fill trade: Trade, side: Side, instrument: Instrument) {
        let price = trade.price, size = trade.size, mult = instrument.multiplier
        let isOption = instrument.kind == .option
        if isOption {
            let premium = price * size * mult
            credit(usd, side == .buy ? -premium : premium)
        }
        if let fee = trade.fee, fee != 0 { credit(usd, -(fee * price * size * mult)) }
        let delta = side == .buy ? size : -size
        guard let i = positions.firstIndex(where: { $0.instrument == trade.instrument }) else {
            positions.append(Position(instrument: trade.instrument, size: delta, entryPrice: price))
            return
        }
        let old = positions[i].size, entry = positions[i].entryPrice
        if old == 0 || (old > 0) == (delta > 0) {
            // Increase: size-weighted average entry.
            let total = abs(old) + size
            positions[i].entryPrice = (abs(old) * entry + size * price) / total
            positions[i].size = old + delta
            return
        }
        // Reduce, close or flip.
        var remainder = old + delta
        if abs(remainder) <= 1e-12 * max(abs(old), size) { remainder = 0 }
        let closed = remainder == 0 ? abs(old) : min(abs(old), size)
        if !isOption {
            let sign: Double = old > 0 ? 1 : -1
            credit(usd, (price - entry) * closed * mult * sign)
        }
        if remainder == 0 {
            positions.remove(at: i)
        } else if (remainder > 0) == (old > 0) {
            positions[i].size = remainder
        } else {
            positions[i].size = remainder
            positions[i].entryPrice = price
        }
    }

    /// Caches the market slots of this account's positions and collateral, so margin computations index arrays
    /// instead of hashing symbols. Optional: a stale or missing cache only costs a lookup.
    ///
    /// A bound position also takes the market's own copy of its symbol (the same characters): the check that a
    /// cached slot still names the position's instrument then compares one reference, not the bytes.
    public mutating func bind(to market: MarketView) {
        for i in positions.indices {
            let slot = market.resolve(positions[i].slot, positions[i].instrument)
            positions[i].slot = Int32(slot)
            if slot >= 0 { positions[i].instrument = market.symbols[slot] }
        }
        for i in balances.indices where !balances[i].isUSD {
            balances[i].collateral = Int32(market.resolveCollateral(balances[i].collateral, balances[i].asset))
        }
    }

    private mutating func credit(_ asset: String, _ amount: Double) {
        if let i = balances.firstIndex(where: { $0.asset == asset }) {
            balances[i].amount += amount
        } else {
            balances.append(Balance(asset: asset, amount: amount))
        }
    }
}

let usd = "USD"
