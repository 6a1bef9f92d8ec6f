import Liquidity

/// Parses the `triggers:` section (SPEC §4) into rules, with errors naming the rule, the field and the position.
enum TriggerConfiguration {
    static func parse(_ raw: Any?, depthBps: [Int]) throws -> [TriggerRule] {
        guard let raw else { return [] }
        guard let list = raw as? [Any] else { throw ConfigError("triggers", "expected a list of rules") }
        var rules: [TriggerRule] = []
        for (i, item) in list.enumerated() {
            var node = try ConfigNode(path: "triggers[\(i)]", value: item)
            guard let name = try node.string("name"), !name.isEmpty else {
                throw ConfigError("triggers[\(i)].name", "every rule needs a name")
            }
            guard !rules.contains(where: { $0.name == name }), name != staleMarketRule else {
                throw ConfigError("triggers[\(i)].name", "rule '\(name)' is defined twice (or is the built-in rule)")
            }
            var instruments: [String] = []
            if let patterns = node.raw("instruments") {
                guard let list = patterns as? [Any], list.allSatisfy({ $0 is String }) else {
                    throw ConfigError("triggers[\(i)].instruments", "expected a list of symbol patterns")
                }
                instruments = list.compactMap { $0 as? String }
            }
            guard let levelList = node.raw("levels") as? [Any], !levelList.isEmpty else {
                throw ConfigError("triggers[\(i)].levels", "rule '\(name)' needs at least one level")
            }
            var levels: [TriggerRule.Level] = []
            for (j, levelItem) in levelList.enumerated() {
                var level = try ConfigNode(path: "triggers[\(i)].levels[\(j)]", value: levelItem)
                guard let severity = try level.int("severity"), severity >= 1 else {
                    throw ConfigError(level.child("severity"), "rule '\(name)': severity must be an integer ≥ 1")
                }
                let condition = try condition(&level, rule: name, depthBps: depthBps)
                let forMicros = try level.durationMicros("for") ?? 0
                try level.rejectUnknownKeys()
                levels.append(TriggerRule.Level(severity: severity, condition: condition, forMicros: forMicros))
            }
            let severities = levels.map(\.severity)
            guard Set(severities).count == severities.count else {
                throw ConfigError("triggers[\(i)].levels", "rule '\(name)': two levels have the same severity")
            }
            var clear: TriggerRule.Clear?
            if node.map["clear"] != nil {
                var c = try node.section("clear")
                clear = TriggerRule.Clear(condition: try condition(&c, rule: name, depthBps: depthBps),
                                          forMicros: try c.durationMicros("for") ?? 0)
                try c.rejectUnknownKeys()
            }
            try node.rejectUnknownKeys()
            rules.append(TriggerRule(name: name, instruments: instruments, levels: levels, clear: clear))
        }
        return rules
    }

    private static func condition(_ node: inout ConfigNode, rule: String, depthBps: [Int]) throws -> Condition {
        guard let text = try node.string("when"), !text.isEmpty else {
            throw ConfigError(node.child("when"), "rule '\(rule)': a condition is required")
        }
        do {
            return try Condition.parse(text, depthBps: depthBps)
        } catch {
            throw ConfigError(node.child("when"), "rule '\(rule)': \(error) in \"\(text)\"")
        }
    }
}
