/// The state of one rule for one instrument: inactive (severity 0) or active at a severity.
public struct TriggerTracker: Sendable {
    public private(set) var severity = 0
    /// Per level, the close from which its condition has held without a break.
    private var levelSince: [Int64?]
    private var clearSince: Int64?

    public init(levels: Int) { levelSince = Array(repeating: nil, count: levels) }

    /// Evaluates the rule at a metrics close. - Returns: the event of a state change, never one without a change.
    public mutating func evaluate(_ rule: TriggerRule, record: LiquidityRecord) -> TriggerEvent? {
        let ts = record.ts
        var best = 0
        var bestSince = ts
        var anyHolds = false
        for (i, level) in rule.levels.enumerated() {
            if level.condition.holds(for: record) {
                anyHolds = true
                let since = levelSince[i] ?? ts
                levelSince[i] = since
                if ts - since >= level.forMicros, level.severity > best {
                    best = level.severity
                    bestSince = since
                }
            } else {
                levelSince[i] = nil
            }
        }
        var clearReached = false
        var clearFrom = ts
        if let clear = rule.clear {
            if clear.condition.holds(for: record) {
                let since = clearSince ?? ts
                clearSince = since
                clearFrom = since
                clearReached = ts - since >= clear.forMicros
            } else {
                clearSince = nil
            }
        } else {
            clearReached = !anyHolds
        }

        let previous = severity
        let state: TriggerEvent.State
        let since: Int64
        if severity == 0 {
            guard best > 0 else { return nil }
            state = .activated
            since = bestSince
            severity = best
        } else if best > severity {
            state = .escalated
            since = bestSince
            severity = best
        } else if clearReached {
            state = .cleared
            since = clearFrom
            severity = 0
        } else if best > 0, best < severity {
            state = .deescalated
            since = bestSince
            severity = best
        } else {
            return nil
        }
        return TriggerEvent(
            instrument: record.instrument, rule: rule.name, ts: ts, state: state, severity: severity,
            previousSeverity: previous, since: since,
            evidence: rule.evidencePaths.map { ($0.description, record.value(at: $0)) })
    }
}

/// The built-in `stale-market` rule (severity 1): no quote for `stale_after` of the task's event time.
public let staleMarketRule = "stale-market"
