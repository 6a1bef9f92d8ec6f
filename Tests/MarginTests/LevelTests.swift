import Margin
import Testing

/// Levels with the default thresholds (1.5 / 1.2 / 1.0) and hysteresis 0.05 (SPEC §6).
@Suite("Levels and hysteresis")
struct LevelTests {
    static let levels = MarginConfiguration.Levels()

    /// MM = 100, so coverage = equity / 100.
    static func next(_ from: MarginLevel, coverage: Double, exposure: Bool = true) -> LevelTransition {
        levels.transition(from: from, equity: coverage * 100, maintenance: 100, hasExposure: exposure, hysteresis: 0.05)
    }

    @Test(arguments: [(2.0, MarginLevel.ok), (1.5, .ok), (1.4999, .warning), (1.2, .warning), (1.1999, .marginCall),
                      (1.0, .marginCall), (0.9999, .liquidation), (0.01, .liquidation), (0, .bankruptcy),
                      (-1, .bankruptcy)])
    func raw(coverage: Double, level: MarginLevel) {
        #expect(Self.levels.raw(equity: coverage * 100, maintenance: 100, hasExposure: true) == level)
    }

    @Test func rawWithoutMaintenanceOrExposure() {
        #expect(Self.levels.raw(equity: 5, maintenance: 0, hasExposure: true) == .ok)
        #expect(Self.levels.raw(equity: 0, maintenance: 0, hasExposure: true) == .bankruptcy)
        #expect(Self.levels.raw(equity: 0, maintenance: 0, hasExposure: false) == .ok)
        #expect(Self.levels.raw(equity: -5, maintenance: 10, hasExposure: false) == .liquidation)
    }

    /// Worse levels apply at once, from every level to every worse one.
    @Test(arguments: MarginLevel.allCases)
    func worseAppliesAtOnce(from: MarginLevel) {
        let coverageOf: [MarginLevel: Double] = [.ok: 2, .warning: 1.3, .marginCall: 1.1, .liquidation: 0.5,
                                                 .bankruptcy: 0]
        for target in MarginLevel.allCases where target > from {
            #expect(Self.next(from, coverage: coverageOf[target]!) == LevelTransition(level: target, changed: true))
        }
        #expect(Self.next(from, coverage: coverageOf[from]!) == LevelTransition(level: from, changed: false))
    }

    /// Every improvement, at and just below each hysteresis boundary.
    @Test(arguments: [
        // From warning: ok needs ≥ 1.55.
        (MarginLevel.warning, 1.55, MarginLevel.ok), (.warning, 1.5499, .warning), (.warning, 1.52, .warning),
        // From margin_call: warning ≥ 1.25, ok ≥ 1.55.
        (.marginCall, 1.25, .warning), (.marginCall, 1.2499, .marginCall), (.marginCall, 1.55, .ok),
        (.marginCall, 1.54, .warning), (.marginCall, 1.21, .marginCall),
        // From liquidation: margin_call ≥ 1.05, warning ≥ 1.25, ok ≥ 1.55.
        (.liquidation, 1.05, .marginCall), (.liquidation, 1.0499, .liquidation), (.liquidation, 1.01, .liquidation),
        (.liquidation, 1.3, .warning), (.liquidation, 1.6, .ok), (.liquidation, 1.52, .warning),
        // Leaving bankruptcy lands on at least liquidation.
        (.bankruptcy, 0.01, .liquidation), (.bankruptcy, 1.04, .liquidation), (.bankruptcy, 1.05, .marginCall),
        (.bankruptcy, 1.22, .marginCall), (.bankruptcy, 1.25, .warning), (.bankruptcy, 1.55, .ok),
    ])
    func betterNeedsHysteresis(from: MarginLevel, coverage: Double, to: MarginLevel) {
        #expect(Self.next(from, coverage: coverage) == LevelTransition(level: to, changed: to != from))
    }

    @Test func zeroMaintenanceIsOk() {
        for from in MarginLevel.allCases {
            let t = Self.levels.transition(from: from, equity: 10, maintenance: 0, hasExposure: true, hysteresis: 0.05)
            #expect(t == LevelTransition(level: .ok, changed: from != .ok))
        }
    }

    /// A full episode: ok → margin_call → (1.22: stays) → warning at 1.25 → (1.53: stays) → ok at 1.55.
    @Test func episode() {
        var level = MarginLevel.ok
        var events: [MarginLevel] = []
        for coverage in [1.6, 1.15, 1.22, 1.19, 1.25, 1.53, 1.45, 1.55, 1.56] {
            let t = Self.next(level, coverage: coverage)
            if t.changed { events.append(t.level) }
            level = t.level
        }
        #expect(events == [.marginCall, .warning, .ok])
    }

    @Test func thresholdsAreConfigurable() {
        var l = MarginConfiguration.Levels()
        l.warning = 2; l.marginCall = 1.5; l.liquidation = 1.1
        #expect(l.raw(equity: 105, maintenance: 100, hasExposure: true) == .liquidation)
        #expect(l.transition(from: .liquidation, equity: 119, maintenance: 100, hasExposure: true, hysteresis: 0.1)
            == LevelTransition(level: .liquidation, changed: false))
        #expect(l.transition(from: .liquidation, equity: 121, maintenance: 100, hasExposure: true, hysteresis: 0.1)
            == LevelTransition(level: .marginCall, changed: true))
    }
}
