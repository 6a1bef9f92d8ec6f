import Engine
import Events
import Liquidity

/// Builds the backtest's `report.json` (SPEC §7, §9) from the outputs as they are written: the VaR backtest per
/// instrument, trigger episodes, margin-call counts.
struct BacktestReport {
    let intervalSeconds: Double
    private var backtests: [String: VaRBacktest] = [:]
    private var openEpisodes: [String: Episode] = [:]
    private var episodes: [Episode] = []
    private var marginCalls: [String: Int] = [:]
    /// Per instrument, the series the HTML report draws.
    private(set) var series: [String: Series] = [:]

    /// One instrument's metrics over time, for the charts.
    struct Series {
        var ts: [Int64] = []
        var mid: [Double?] = []
        var spreadBpsAvg: [Double?] = []
        var var99: [Double?] = []
        /// Records whose return was a VaR exception (index into the arrays).
        var exceptions: [Int] = []
        var notional = 0.0
    }

    struct Episode {
        var instrument: String
        var rule: String
        var start: Int64
        var since: Int64
        var end: Int64?
        var maxSeverity: Int
    }

    init(intervalMicros: Int64) { intervalSeconds = Double(intervalMicros) / 1e6 }

    mutating func observe(_ record: OutputRecord) {
        switch record.topic {
        case .liquidityMetrics: observeMetrics(record.value)
        case .triggers: observeTrigger(record.value)
        case .marginCalls: observeMarginCall(record.value)
        default: break
        }
    }

    private mutating func observeMetrics(_ value: [UInt8]) {
        var instrument = "", ret: Double?, vol: Double?, ts: Int64 = 0
        var mid: Double?, spread: Double?, var99: Double?, notional = 0.0
        func optional(_ r: inout JSONReader) throws(DecodeError) -> Double? { r.readNullIfPresent() ? nil : try r.readDouble() }
        value.withUnsafeBytes { bytes in
            var r = JSONReader(bytes)
            try? r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
                if key == "instrument" { instrument = try r.readString() }
                else if key == "ts" { ts = try r.readInt64() }
                else if key == "ret" { ret = try optional(&r) }
                else if key == "vol_ewma" { vol = try optional(&r) }
                else if key == "mid" { mid = try optional(&r) }
                else if key == "spread_bps_avg" { spread = try optional(&r) }
                else if key == "var_99" { var99 = try optional(&r) }
                else if key == "notional" { notional = try r.readDouble() }
                else { try r.skipValue() }
            }
        }
        // The per-interval EWMA σ from its annualized form sqrt(σ²·Y/W).
        let sigma = vol.map { $0 * (intervalSeconds / secondsPerYear).squareRoot() }
        var backtest = backtests[instrument, default: VaRBacktest()]
        let before = backtest.observations
        backtest.add(ret: ret, sigma: sigma)
        backtests[instrument] = backtest
        var s = series[instrument, default: Series()]
        if backtest.observations > before, backtest.hits.last == true { s.exceptions.append(s.ts.count) }
        s.ts.append(ts)
        s.mid.append(mid)
        s.spreadBpsAvg.append(spread)
        s.var99.append(var99)
        s.notional += notional
        series[instrument] = s
    }

    /// The VaR backtests by instrument.
    var varBacktests: [String: VaRBacktest] { backtests }

    /// Every trigger episode, in start order.
    var allEpisodes: [Episode] {
        (episodes + openEpisodes.values).sorted { ($0.start, $0.instrument, $0.rule) < ($1.start, $1.instrument, $1.rule) }
    }

    private mutating func observeMarginCall(_ value: [UInt8]) {
        var level = ""
        value.withUnsafeBytes { bytes in
            var r = JSONReader(bytes)
            try? r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
                if key == "level" { level = try r.readString() } else { try r.skipValue() }
            }
        }
        marginCalls[level, default: 0] += 1
    }

    private mutating func observeTrigger(_ value: [UInt8]) {
        var instrument = "", rule = "", state = "", ts: Int64 = 0, since: Int64 = 0, severity = 0
        value.withUnsafeBytes { bytes in
            var r = JSONReader(bytes)
            try? r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
                if key == "instrument" { instrument = try r.readString() }
                else if key == "rule" { rule = try r.readString() }
                else if key == "state" { state = try r.readString() }
                else if key == "ts" { ts = try r.readInt64() }
                else if key == "since" { since = try r.readInt64() }
                else if key == "severity" { severity = Int(try r.readInt64()) }
                else { try r.skipValue() }
            }
        }
        let key = "\(instrument)\u{0}\(rule)"
        switch state {
        case "activated":
            openEpisodes[key] = Episode(instrument: instrument, rule: rule, start: ts, since: since, maxSeverity: severity)
        case "escalated", "deescalated":
            if var episode = openEpisodes[key] {
                episode.maxSeverity = max(episode.maxSeverity, severity)
                openEpisodes[key] = episode
            }
        case "cleared":
            if var episode = openEpisodes.removeValue(forKey: key) {
                episode.end = ts
                episodes.append(episode)
            }
        default: break
        }
    }

    /// The report, keys in a fixed order (instruments and rules sorted), so reruns are byte-identical.
    func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 4096)
        w.beginObject()
        w.key("var_backtest")
        w.beginObject()
        for instrument in backtests.keys.sorted() {
            let b = backtests[instrument]!
            w.key(instrument)
            w.beginObject()
            w.key("observations"); w.integer(b.observations)
            w.key("exceptions"); w.integer(b.exceptions)
            w.key("kupiec_lr"); w.number(b.kupiecLR)
            w.key("christoffersen_lr"); w.number(b.christoffersenLR)
            w.key("cc_lr"); w.number(b.conditionalCoverageLR)
            w.key("traffic_light"); w.string(b.trafficLight.rawValue)
            w.endObject()
        }
        w.endObject()

        let all = allEpisodes
        w.key("triggers")
        w.beginObject()
        w.key("episodes")
        w.beginArray()
        for e in all {
            w.beginObject()
            w.key("instrument"); w.string(e.instrument)
            w.key("rule"); w.string(e.rule)
            w.key("start"); w.integer(e.start)
            w.key("since"); w.integer(e.since)
            w.key("end"); if let end = e.end { w.integer(end) } else { w.null() }
            w.key("max_severity"); w.integer(e.maxSeverity)
            w.endObject()
        }
        w.endArray()
        w.key("by_rule")
        w.beginObject()
        let counts = Dictionary(grouping: all, by: \.rule).mapValues(\.count)
        for rule in counts.keys.sorted() { w.key(rule); w.integer(counts[rule]!) }
        w.endObject()
        w.endObject()

        w.key("margin_calls")
        w.beginObject()
        w.key("count"); w.integer(marginCalls.values.reduce(0, +))
        w.key("by_level")
        w.beginObject()
        for level in marginCalls.keys.sorted() { w.key(level); w.integer(marginCalls[level]!) }
        w.endObject()
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
