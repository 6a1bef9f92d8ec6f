/// A market situation the generator can play out; `rawValue` is the CLI spelling (`--scenario flash-crash`).
///
/// Events start at fixed fractions of the feed's duration. The spans quoted below (a 45 s fall, a 12–18 s quote
/// gap, a 3-minute spike) are those of the default 10-minute feed: longer feeds keep them, shorter feeds shrink
/// them in proportion.
public enum Scenario: String, CaseIterable, Sendable {
    /// Low volatility, tight spreads (about 1 bps on BTC), deep books and balanced flow for the whole feed.
    case calm
    /// A calm start, then at about 40 % of the duration a 10–20 % fall on every perpetual within about 45 s: spreads
    /// widen to 50–300 bps, depth thins 10–50×, sellers dominate, one instrument stops quoting for more than 10 s;
    /// then a partial recovery and a slow normalisation.
    case flashCrash = "flash-crash"
    /// A roughly flat price while books drain: sizes shrink, levels spread out, spreads widen steadily beyond
    /// 80 bps, then the book refills.
    case liquidityDrain = "liquidity-drain"
    /// The volatility regime jumps 5–8× for a few minutes (large oscillating moves, moderate spread widening),
    /// then decays.
    case volSpike = "vol-spike"
}

/// The input topic a generated record belongs on (SPEC section 2).
public enum FeedTopic: String, CaseIterable, Sendable {
    case instruments, quotes, trades, accounts
}

/// One generated input event: what a producer writes to `topic` under `key`.
public struct FeedRecord: Sendable, Equatable {
    /// The topic the record belongs on.
    public var topic: FeedTopic
    /// The Kafka key: the instrument symbol, or the account id on `accounts`.
    public var key: String
    /// One compact JSON object (SPEC section 2), without a trailing newline.
    public var value: String
    /// Event time in microseconds since the Unix epoch; for `instruments` the start of the feed.
    public var ts: Int64

    /// Creates a record.
    public init(topic: FeedTopic, key: String, value: String, ts: Int64) {
        self.topic = topic
        self.key = key
        self.value = value
        self.ts = ts
    }
}
