/// What to generate: the scenario, its seed, the time span and the number of leveraged accounts.
///
/// The same configuration always yields a byte-identical feed.
public struct FeedConfiguration: Sendable, Equatable {
    /// The market situation to play out.
    public var scenario: Scenario
    /// The seed of every random draw. Default: 1.
    public var seed: UInt64
    /// The feed's first event time, µs since the Unix epoch. Default: `1_764_000_000_000_000` (2025-11-24 16:00 UTC).
    public var startMicros: Int64
    /// The span of market events (quotes and trades have `ts < startMicros + durationMicros`). Default: 600 s.
    public var durationMicros: Int64
    /// The number of leveraged accounts (`acct-1` … `acct-N`) on-boarded at the start and named in fills. Default: 0.
    public var accounts: Int
    /// The mean time between quotes of each perpetual (options quote five times less often). Default: 100 ms.
    public var quoteIntervalMicros: Int64

    /// Creates a configuration; see each property for its default.
    public init(
        scenario: Scenario,
        seed: UInt64 = 1,
        startMicros: Int64 = 1_764_000_000_000_000,
        durationMicros: Int64 = 600_000_000,
        accounts: Int = 0,
        quoteIntervalMicros: Int64 = 100_000
    ) {
        self.scenario = scenario
        self.seed = seed
        self.startMicros = startMicros
        self.durationMicros = durationMicros
        self.accounts = accounts
        self.quoteIntervalMicros = quoteIntervalMicros
    }

    /// Checks every field once, so a caller can reject bad flags before generating.
    ///
    /// The generator itself never traps: it clamps out-of-range values into the accepted ranges (negative counts
    /// and durations to 0, the quote interval to at least 1 ms, the start into 1970…2200).
    /// - Throws: `FeedConfigurationError` naming the first invalid field.
    public func validate() throws(FeedConfigurationError) {
        guard durationMicros >= 0 else {
            throw FeedConfigurationError(field: "durationMicros", reason: "must not be negative")
        }
        guard durationMicros <= Self.maximumDurationMicros else {
            throw FeedConfigurationError(field: "durationMicros", reason: "must be at most 30 days")
        }
        guard accounts >= 0 else { throw FeedConfigurationError(field: "accounts", reason: "must not be negative") }
        guard quoteIntervalMicros >= Self.minimumQuoteIntervalMicros else {
            throw FeedConfigurationError(field: "quoteIntervalMicros", reason: "must be at least 1 ms")
        }
        guard startMicros >= 0, startMicros <= Self.maximumStartMicros else {
            throw FeedConfigurationError(field: "startMicros", reason: "must be between 1970 and 2200")
        }
    }

    /// The configuration the generator runs: every field forced into its valid range.
    func clamped() -> FeedConfiguration {
        var result = self
        result.durationMicros = min(max(durationMicros, 0), Self.maximumDurationMicros)
        result.accounts = max(accounts, 0)
        result.quoteIntervalMicros = max(quoteIntervalMicros, Self.minimumQuoteIntervalMicros)
        result.startMicros = min(max(startMicros, 0), Self.maximumStartMicros)
        return result
    }

    /// The smallest accepted `quoteIntervalMicros`.
    public static let minimumQuoteIntervalMicros: Int64 = 1_000
    /// The longest accepted `durationMicros` (30 days).
    public static let maximumDurationMicros: Int64 = 30 * 86_400 * 1_000_000
    /// The latest accepted `startMicros` (year 2200).
    static let maximumStartMicros: Int64 = 7_258_118_400 * 1_000_000
}

/// A `FeedConfiguration` field that `validate()` rejected.
public struct FeedConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name of the offending property.
    public var field: String
    /// Why it was rejected.
    public var reason: String

    public var description: String { "invalid feed configuration: \(field) \(reason)" }
}
