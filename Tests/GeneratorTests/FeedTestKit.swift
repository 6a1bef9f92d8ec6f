import Foundation
import Generator

/// Helpers shared by the generator tests: collecting feeds and reading their JSON back with Foundation.
enum FeedTestKit {
    /// Every record of the feed for `configuration`.
    static func collect(_ configuration: FeedConfiguration) -> [FeedRecord] { Array(FeedGenerator(configuration)) }

    /// The JSON object in `value`, or `nil` when it is not one.
    static func object(_ value: String) -> [String: Any]? {
        guard let data = value.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// A JSON number as a `Double`.
    static func number(_ value: Any?) -> Double? {
        if let number = value as? NSNumber { return number.doubleValue }
        if let double = value as? Double { return double }
        if let int = value as? Int { return Double(int) }
        return nil
    }

    /// `[[price, size], …]` as pairs, or `nil` when malformed.
    static func ladder(_ value: Any?) -> [(price: Double, size: Double)]? {
        guard let levels = value as? [Any] else { return nil }
        var result: [(price: Double, size: Double)] = []
        for level in levels {
            guard let pair = level as? [Any], pair.count == 2, let price = number(pair[0]), let size = number(pair[1])
            else { return nil }
            result.append((price, size))
        }
        return result
    }

    /// A parsed `quotes` record.
    struct Quote {
        var instrument: String
        var ts: Int64
        var bid: Double
        var bidSize: Double
        var ask: Double
        var askSize: Double
        var bids: [(price: Double, size: Double)]
        var asks: [(price: Double, size: Double)]
        var impliedVol: Double?

        var mid: Double { (bid + ask) / 2 }
        var spreadBps: Double { 1e4 * (ask - bid) / mid }
        var bidDepth: Double { bids.reduce(0) { $0 + $1.size } }
    }

    /// Parses a `quotes` record value; `nil` when a required field is missing or malformed.
    static func quote(_ record: FeedRecord) -> Quote? {
        guard let json = object(record.value), let instrument = json["instrument"] as? String,
            let ts = number(json["ts"]), let bid = number(json["bid"]), let bidSize = number(json["bid_size"]),
            let ask = number(json["ask"]), let askSize = number(json["ask_size"]), let bids = ladder(json["bids"]),
            let asks = ladder(json["asks"])
        else { return nil }
        return Quote(
            instrument: instrument,
            ts: Int64(ts),
            bid: bid,
            bidSize: bidSize,
            ask: ask,
            askSize: askSize,
            bids: bids,
            asks: asks,
            impliedVol: number(json["iv"])
        )
    }

    /// The quotes of `instrument`, in feed order.
    static func quotes(_ records: [FeedRecord], instrument: String) -> [Quote] {
        records.lazy.filter { $0.topic == .quotes && $0.key == instrument }.compactMap(quote)
    }

    /// The trades of the feed as JSON objects, in feed order.
    static func trades(_ records: [FeedRecord]) -> [[String: Any]] {
        records.lazy.filter { $0.topic == .trades }.compactMap { object($0.value) }
    }

    /// The last mid at or before each whole second since `start`, over `seconds` seconds.
    static func oneSecondMids(_ quotes: [Quote], start: Int64, seconds: Int) -> [Double] {
        var mids: [Double] = []
        var index = 0
        var last = quotes.first?.mid ?? 0
        for second in 0..<seconds {
            let boundary = start + Int64(second) * 1_000_000
            while index < quotes.count, quotes[index].ts <= boundary {
                last = quotes[index].mid
                index += 1
            }
            mids.append(last)
        }
        return mids
    }

    /// The sample standard deviation of the log returns of `prices`.
    static func realizedVol(_ prices: ArraySlice<Double>) -> Double {
        let values = Array(prices)
        let returns = zip(values, values.dropFirst()).map { log($1 / $0) }
        guard returns.count > 1 else { return 0 }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count - 1)
        return variance.squareRoot()
    }

    /// The perpetual symbols of the feed.
    static let perpetuals = ["BTC-PERP", "ETH-PERP", "SOL-PERP"]
}
