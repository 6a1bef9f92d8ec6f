public import Events

/// What the account stage knows of the market (SPEC §1, §5): each instrument's reference data and its latest mark,
/// implied vol, book and stress severity, under one margin configuration.
///
/// Every symbol seen (defined, marked or referenced) gets a stable slot; slots are never reused, so a position can
/// cache its slot (``Account/bind(to:)``) and the hot paths index arrays instead of hashing strings. The numbers the
/// margin math reads per position live in one array of plain values.
public struct MarketView: Sendable {
    /// What the margin math reads per instrument: plain values only, so reading one copies no references.
    struct Quant: Sendable {
        enum Kind: UInt8, Sendable { case unknown, linear, call, put }
        var kind: Kind = .unknown
        var multiplier: Double = 1
        /// The latest mark; NaN before the first.
        var mark: Double = .nan
        /// The latest implied vol; NaN when unknown.
        var iv: Double = .nan
        var stress: Int = 0
        var strike: Double = 0
        var expiryMicros: Int64 = 0
        /// Slot of the instrument whose mark is the underlying price F; −1 when undefined.
        var referenceSlot: Int32 = -1
        /// Index into the underlying names; −1 when the instrument is undefined.
        var underlying: Int32 = -1

        var isOption: Bool { kind == .call || kind == .put }
    }

    /// A book side pair, best levels first.
    struct Book: Sendable {
        var bids: [BookLevel] = []
        var asks: [BookLevel] = []
    }

    /// A configured collateral asset and the slot of the instrument that prices it.
    struct CollateralEntry: Sendable {
        var asset: String
        var slot: Int32
        var haircut: Double
    }

    /// The configuration every computation on this view uses.
    public let configuration: MarginConfiguration

    var index: [String: Int32] = [:]
    var symbols: [String] = []
    var instruments: [Instrument?] = []
    var quants: [Quant] = []
    var books: [Book] = []
    /// Per slot: the instrument's own tiers, nil for the configured default.
    var tierTables: [TierTable?] = []
    var underlyingIndex: [String: Int32] = [:]
    var underlyingNames: [String] = []
    /// Per underlying: R before stress.
    var underlyingRanges: [Double] = []
    var collateralTable: [CollateralEntry] = []
    var collateralIndex: [String: Int32] = [:]

    /// An empty market under `configuration` (which should have passed ``MarginConfiguration/validate()``).
    public init(configuration: MarginConfiguration = MarginConfiguration()) {
        self.configuration = configuration
        for (asset, c) in configuration.collateral.sorted(by: { $0.key < $1.key }) {
            let slot = slot(for: c.instrument)
            collateralIndex[asset] = Int32(collateralTable.count)
            collateralTable.append(CollateralEntry(asset: asset, slot: Int32(slot), haircut: c.haircut))
        }
    }

    /// The slot of `symbol`, created if new.
    @discardableResult
    public mutating func slot(for symbol: String) -> Int {
        if let s = index[symbol] { return Int(s) }
        let s = symbols.count
        index[symbol] = Int32(s)
        symbols.append(symbol)
        instruments.append(nil)
        quants.append(Quant())
        books.append(Book())
        tierTables.append(nil)
        return s
    }

    /// The slot of `symbol`, if it has one.
    public func slot(of symbol: String) -> Int? { index[symbol].map(Int.init) }

    /// Defines or redefines an instrument from the `instruments` topic.
    public mutating func define(_ instrument: Instrument) {
        let s = slot(for: instrument.symbol)
        let reference = slot(for: instrument.reference)
        var q = quants[s]
        switch instrument.kind {
        case .perpetual, .future: q.kind = .linear
        case .option: q.kind = instrument.optionType == .put ? .put : .call
        }
        q.multiplier = instrument.multiplier
        q.strike = instrument.strike ?? 0
        q.expiryMicros = instrument.expiry ?? 0
        q.referenceSlot = Int32(reference)
        q.underlying = Int32(underlyingID(instrument.underlying))
        quants[s] = q
        instruments[s] = instrument
        tierTables[s] = instrument.tiers.map { TierTable($0) }
    }

    /// Delists an instrument (an `instruments` tombstone): its reference data is gone (``instrument(_:)`` is nil),
    /// while positions still held in it keep being margined with the last known terms, mark and book.
    public mutating func delist(_ symbol: String) {
        guard let s = index[symbol].map(Int.init) else { return }
        instruments[s] = nil
    }

    /// Records an instrument's latest mark (a `backstop-marks` record).
    /// - Parameters:
    ///   - mark: the mid of its last valid quote.
    ///   - iv: the option's implied vol, if quoted.
    ///   - bids: bid levels, best first; `asks` likewise.
    ///   - stress: the highest severity among its active triggers, 0 when none.
    public mutating func updateMark(_ symbol: String, mark: Double, iv: Double? = nil, bids: [BookLevel] = [],
                                    asks: [BookLevel] = [], stress: Int = 0) {
        let s = slot(for: symbol)
        quants[s].mark = mark
        quants[s].iv = iv ?? .nan
        quants[s].stress = stress
        books[s] = Book(bids: bids, asks: asks)
    }

    /// The instrument's reference data, if defined.
    public func instrument(_ symbol: String) -> Instrument? { index[symbol].flatMap { instruments[Int($0)] } }
    /// The instrument's latest mark, if any.
    public func mark(of symbol: String) -> Double? {
        guard let s = index[symbol] else { return nil }
        let m = quants[Int(s)].mark
        return m.isNaN ? nil : m
    }
    /// The instrument's latest implied vol, if any.
    public func iv(of symbol: String) -> Double? {
        guard let s = index[symbol] else { return nil }
        let v = quants[Int(s)].iv
        return v.isNaN ? nil : v
    }
    /// The instrument's latest stress severity (0 when unknown).
    public func stress(of symbol: String) -> Int { index[symbol].map { quants[Int($0)].stress } ?? 0 }
    /// The instrument's latest book, best levels first.
    public func book(of symbol: String) -> (bids: [BookLevel], asks: [BookLevel]) {
        guard let s = index[symbol] else { return ([], []) }
        return (books[Int(s)].bids, books[Int(s)].asks)
    }

    /// Whether a stress severity selects the stressed parameters.
    @inline(__always) func isStressed(_ severity: Int) -> Bool { severity >= configuration.stress.minSeverity }

    /// The `reference` of a position's instrument, found through the position's cached slot when it is bound.
    public func reference(of position: Account.Position) -> String? {
        let s = resolve(position.slot, position.instrument)
        return s >= 0 ? instruments[s]?.reference : nil
    }

    /// The slot of a position's instrument: the cached `slot` when it still names `symbol`, else a lookup;
    /// −1 when the market has never seen the symbol.
    @inline(__always) func resolve(_ slot: Int32, _ symbol: String) -> Int {
        let s = Int(slot)
        if s >= 0, s < symbols.count, symbols[s] == symbol { return s }
        return index[symbol].map(Int.init) ?? -1
    }

    /// The collateral table index of a balance's asset: the cached one when it still names `asset`, else a
    /// lookup; −1 when the asset is not configured as collateral.
    @inline(__always) func resolveCollateral(_ cached: Int32, _ asset: String) -> Int {
        let c = Int(cached)
        if c >= 0, c < collateralTable.count, collateralTable[c].asset == asset { return c }
        return collateralIndex[asset].map(Int.init) ?? -1
    }

    private mutating func underlyingID(_ name: String) -> Int {
        if let u = underlyingIndex[name] { return Int(u) }
        let u = underlyingNames.count
        underlyingIndex[name] = Int32(u)
        underlyingNames.append(name)
        underlyingRanges.append(configuration.portfolio.range(for: name))
        return u
    }
}
