/// An account's margin level, from best to worst (SPEC §6). The raw values are the JSON names.
public enum MarginLevel: String, Sendable, Hashable, CaseIterable, Comparable {
    case ok
    case warning
    case marginCall = "margin_call"
    case liquidation
    case bankruptcy

    /// 0 for `ok` up to 4 for `bankruptcy`: a larger severity is a worse level.
    public var severity: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .marginCall: 2
        case .liquidation: 3
        case .bankruptcy: 4
        }
    }

    /// Orders by severity: `ok < warning < … < bankruptcy`.
    public static func < (a: MarginLevel, b: MarginLevel) -> Bool { a.severity < b.severity }
}

/// The outcome of ``MarginConfiguration/Levels/transition(from:equity:maintenance:hasExposure:hysteresis:)``.
public struct LevelTransition: Sendable, Equatable {
    /// The account's level after this recomputation.
    public var level: MarginLevel
    /// Whether it differs from the level before (a margin-call event is due).
    public var changed: Bool
    public init(level: MarginLevel, changed: Bool) { self.level = level; self.changed = changed }
}

extension MarginConfiguration.Levels {
    /// The level the numbers alone give, from worst: `bankruptcy` (E ≤ 0 with exposure), `liquidation`
    /// (coverage < `liquidation`), `margin_call`, `warning`, else `ok` (also whenever MM = 0 and not bankrupt).
    /// - Parameters:
    ///   - hasExposure: the account holds a position or a negative balance.
    public func raw(equity: Double, maintenance: Double, hasExposure: Bool) -> MarginLevel {
        if equity <= 0, hasExposure { return .bankruptcy }
        guard maintenance > 0 else { return .ok }
        let coverage = equity / maintenance
        if coverage < liquidation { return .liquidation }
        if coverage < marginCall { return .marginCall }
        if coverage < warning { return .warning }
        return .ok
    }

    /// The coverage at which `level` is entered from a worse level, before hysteresis: the threshold of the next
    /// worse level (`ok` 1.5, `warning` 1.2, `margin_call` 1.0); `liquidation` needs only to be out of bankruptcy.
    public func entryThreshold(of level: MarginLevel) -> Double {
        switch level {
        case .ok: warning
        case .warning: marginCall
        case .marginCall: liquidation
        case .liquidation, .bankruptcy: -.infinity
        }
    }

    /// The next level with hysteresis `h` (SPEC §6).
    ///
    /// A worse raw level applies at once. A better one moves the account to the best level, no better than the raw
    /// one, whose entry threshold + h the coverage reaches (from `margin_call`: `warning` needs ≥ 1.25, `ok`
    /// ≥ 1.55); otherwise the level stays. Leaving bankruptcy lands on at least `liquidation`. With MM = 0 the
    /// coverage counts as infinite.
    public func transition(from current: MarginLevel, equity: Double, maintenance: Double, hasExposure: Bool,
                           hysteresis h: Double) -> LevelTransition {
        let raw = raw(equity: equity, maintenance: maintenance, hasExposure: hasExposure)
        if raw >= current { return LevelTransition(level: raw, changed: raw != current) }
        let coverage = maintenance > 0 ? equity / maintenance : .infinity
        var candidate = raw
        while candidate < current {
            if coverage >= entryThreshold(of: candidate) + h {
                return LevelTransition(level: candidate, changed: true)
            }
            candidate = MarginLevel.allCases[candidate.severity + 1]
        }
        return LevelTransition(level: current, changed: false)
    }
}

extension Account {
    /// Moves the account to its next level for the given margin and reports whether it changed.
    public mutating func updateLevel(with summary: MarginSummary,
                                 configuration: MarginConfiguration) -> LevelTransition {
        let t = configuration.levels.transition(from: level, equity: summary.equity, maintenance: summary.maintenance,
                                                hasExposure: summary.hasExposure, hysteresis: configuration.hysteresis)
        level = t.level
        return t
    }
}
