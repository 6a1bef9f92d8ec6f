import Events

/// A backstop trigger rule (SPEC §4): levels of rising severity, each reached when its condition has held at every
/// metrics close for its `for` duration of event time, and an optional clear condition.
public struct TriggerRule: Sendable, Equatable {
    public struct Level: Sendable, Equatable {
        public var severity: Int
        public var condition: Condition
        public var forMicros: Int64
        public init(severity: Int, condition: Condition, forMicros: Int64) {
            self.severity = severity
            self.condition = condition
            self.forMicros = forMicros
        }
    }

    public struct Clear: Sendable, Equatable {
        public var condition: Condition
        public var forMicros: Int64
        public init(condition: Condition, forMicros: Int64) {
            self.condition = condition
            self.forMicros = forMicros
        }
    }

    public var name: String
    /// Glob patterns (`*`, `?`) of the instruments the rule watches; empty: all.
    public var instruments: [String]
    public var levels: [Level]
    /// Without a clear condition, an active trigger clears at the first close where no level's condition holds.
    public var clear: Clear?

    public init(name: String, instruments: [String] = [], levels: [Level], clear: Clear? = nil) {
        self.name = name
        self.instruments = instruments
        self.levels = levels
        self.clear = clear
    }

    public func applies(to symbol: String) -> Bool {
        instruments.isEmpty || instruments.contains { globMatches($0, symbol) }
    }

    /// Every metric the rule reads, in order of first appearance: the evidence of its events.
    public var evidencePaths: [MetricPath] {
        var result: [MetricPath] = []
        for c in levels.map(\.condition) + (clear.map { [$0.condition] } ?? []) {
            for p in c.paths where !result.contains(p) { result.append(p) }
        }
        return result
    }
}

/// Shell-style matching of `*` (any run) and `?` (one character).
func globMatches(_ pattern: String, _ text: String) -> Bool {
    let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
    var pi = 0, ti = 0, star = -1, mark = 0
    while ti < t.count {
        if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
            pi += 1; ti += 1
        } else if pi < p.count, p[pi] == "*" {
            star = pi; mark = ti; pi += 1
        } else if star >= 0 {
            pi = star + 1; mark += 1; ti = mark
        } else {
            return false
        }
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
}

/// One event on `backstop-triggers`.
public struct TriggerEvent: Sendable, Equatable {
    public enum State: String, Sendable { case activated, escalated, deescalated, cleared }

    public var instrument: String
    public var rule: String
    public var ts: Int64
    public var state: State
    public var severity: Int
    public var previousSeverity: Int
    /// When the condition behind this event began to hold.
    public var since: Int64
    public var evidence: [(name: String, value: Double?)]

    public init(instrument: String, rule: String, ts: Int64, state: State, severity: Int, previousSeverity: Int,
                since: Int64, evidence: [(name: String, value: Double?)]) {
        self.instrument = instrument
        self.rule = rule
        self.ts = ts
        self.state = state
        self.severity = severity
        self.previousSeverity = previousSeverity
        self.since = since
        self.evidence = evidence
    }

    /// `<instrument>:<rule>:<ts>`.
    public var id: String { "\(instrument):\(rule):\(ts)" }

    public static func == (a: TriggerEvent, b: TriggerEvent) -> Bool { a.encoded() == b.encoded() }

    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("id"); w.string(id)
        w.key("instrument"); w.string(instrument)
        w.key("rule"); w.string(rule)
        w.key("ts"); w.integer(ts)
        w.key("state"); w.string(state.rawValue)
        w.key("severity"); w.integer(severity)
        w.key("previous_severity"); w.integer(previousSeverity)
        w.key("since"); w.integer(since)
        w.key("evidence")
        w.beginObject()
        for item in evidence { w.key(item.name); w.number(item.value) }
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
