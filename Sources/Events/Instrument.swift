/// A margin tier: up to `cap` of notional (USD), initial and maintenance rates.
public struct MarginTier: Sendable, Hashable {
    public var cap: Double
    public var imr: Double
    public var mmr: Double
    public init(cap: Double, imr: Double, mmr: Double) { self.cap = cap; self.imr = imr; self.mmr = mmr }
}

/// Reference data of one instrument (`instruments` topic, compacted, SPEC §2).
public struct Instrument: Sendable, Equatable {
    public enum Kind: String, Sendable { case perpetual, future, option }
    public enum OptionType: String, Sendable { case call, put }

    public var symbol: String
    public var kind: Kind
    /// The underlying asset; for a linear instrument without one, its own symbol.
    public var underlying: String
    /// The instrument whose mark is the underlying price for options and portfolio scenarios.
    public var reference: String
    public var multiplier: Double
    public var tickSize: Double?
    /// Ordered by `cap`; nil uses the configured default.
    public var tiers: [MarginTier]?
    /// Expiry in µs since the epoch (futures and options).
    public var expiry: Int64?
    public var strike: Double?
    public var optionType: OptionType?

    public init(symbol: String, kind: Kind, underlying: String, reference: String? = nil, multiplier: Double = 1,
                tickSize: Double? = nil, tiers: [MarginTier]? = nil, expiry: Int64? = nil, strike: Double? = nil,
                optionType: OptionType? = nil) {
        self.symbol = symbol
        self.kind = kind
        self.underlying = underlying
        self.reference = reference ?? symbol
        self.multiplier = multiplier
        self.tickSize = tickSize
        self.tiers = tiers
        self.expiry = expiry
        self.strike = strike
        self.optionType = optionType
    }

    /// Decodes and validates one `instruments` value (a tombstone is handled by the caller).
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Instrument {
        var r = JSONReader(bytes)
        var symbol: String?, kind: Kind?, underlying: String?, reference: String?, optionType: OptionType?
        var multiplier: Double?, tickSize: Double?, strike: Double?
        var expiry: Int64?
        var tiers: [MarginTier]?
        guard try r.peekKind() == .object else { throw DecodeError(.decodeError, "value is not a JSON object") }
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            if key == "symbol" { symbol = try field("symbol") { () throws(DecodeError) in try r.readString() } }
            else if key == "kind" {
                let s = try field("kind") { () throws(DecodeError) in try r.readString() }
                guard let k = Kind(rawValue: s) else { throw DecodeError(.invalidValue, "field 'kind': unknown kind '\(s)'") }
                kind = k
            } else if key == "underlying" { underlying = try field("underlying") { () throws(DecodeError) in try r.readString() } }
            else if key == "reference" { reference = try field("reference") { () throws(DecodeError) in try r.readString() } }
            else if key == "multiplier" { multiplier = try field("multiplier") { () throws(DecodeError) in try r.readDouble() } }
            else if key == "tick_size" { tickSize = try field("tick_size") { () throws(DecodeError) in try r.readDouble() } }
            else if key == "strike" { strike = try field("strike") { () throws(DecodeError) in try r.readDouble() } }
            else if key == "expiry" { expiry = try field("expiry") { () throws(DecodeError) in try r.readInt64() } }
            else if key == "option_type" {
                let s = try field("option_type") { () throws(DecodeError) in try r.readString() }
                guard let t = OptionType(rawValue: s) else { throw DecodeError(.invalidValue, "field 'option_type': '\(s)'") }
                optionType = t
            } else if key == "tiers" {
                tiers = try field("tiers") { () throws(DecodeError) in try readTiers(&r) }
            } else { try r.skipValue() }
        }
        try r.expectEnd()
        guard let symbol else { throw DecodeError(.missingField, "missing field 'symbol'") }
        guard let kind else { throw DecodeError(.missingField, "missing field 'kind'") }
        if kind == .option {
            guard underlying != nil else { throw DecodeError(.missingField, "missing field 'underlying' (option)") }
            guard reference != nil else { throw DecodeError(.missingField, "missing field 'reference' (option)") }
        }
        let instrument = Instrument(symbol: symbol, kind: kind, underlying: underlying ?? symbol, reference: reference,
                                    multiplier: multiplier ?? 1, tickSize: tickSize, tiers: tiers, expiry: expiry,
                                    strike: strike, optionType: optionType)
        try instrument.validate()
        return instrument
    }

    public func validate() throws(DecodeError) {
        guard !symbol.isEmpty else { throw DecodeError(.invalidValue, "'symbol' is empty") }
        try nonEmpty(underlying, "underlying")
        try nonEmpty(reference, "reference")
        if let expiry, expiry <= 0 { throw DecodeError(.invalidValue, "'expiry' must be positive") }
        try positive(multiplier, "multiplier")
        if let tickSize { try positive(tickSize, "tick_size") }
        if kind == .option {
            guard let strike else { throw DecodeError(.missingField, "missing field 'strike' (option)") }
            try positive(strike, "strike")
            guard expiry != nil else { throw DecodeError(.missingField, "missing field 'expiry' (option)") }
            guard optionType != nil else { throw DecodeError(.missingField, "missing field 'option_type' (option)") }
        }
        if let tiers {
            guard !tiers.isEmpty else { throw DecodeError(.invalidValue, "'tiers' is empty") }
            for (i, tier) in tiers.enumerated() {
                try positive(tier.cap, "tiers[\(i)].cap")
                try positive(tier.imr, "tiers[\(i)].imr")
                try positive(tier.mmr, "tiers[\(i)].mmr")
                if i > 0, tier.cap <= tiers[i - 1].cap {
                    throw DecodeError(.levelsOutOfOrder, "'tiers' must be ordered by increasing cap")
                }
            }
        }
    }
}

func readTiers(_ r: inout JSONReader) throws(DecodeError) -> [MarginTier] {
    guard try r.peekKind() == .array else { throw DecodeError(.wrongType, "expected an array of tiers") }
    var tiers: [MarginTier] = []
    try r.readArray { (r: inout JSONReader) throws(DecodeError) in
        var cap: Double?, imr: Double?, mmr: Double?
        guard try r.peekKind() == .object else { throw DecodeError(.wrongType, "a tier must be an object") }
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            if key == "cap" { cap = try r.readDouble() }
            else if key == "imr" { imr = try r.readDouble() }
            else if key == "mmr" { mmr = try r.readDouble() }
            else { try r.skipValue() }
        }
        guard let cap, let imr, let mmr else { throw DecodeError(.missingField, "a tier needs cap, imr and mmr") }
        tiers.append(MarginTier(cap: cap, imr: imr, mmr: mmr))
    }
    return tiers
}
