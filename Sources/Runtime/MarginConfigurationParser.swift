import Events
import Margin

/// Parses the `margin:` and `stress:` sections (SPEC §9) into a ``MarginConfiguration``; unknown keys and bad
/// values fail naming the field.
enum MarginConfigurationParser {
    static func parse(margin: inout ConfigNode, stress: inout ConfigNode) throws -> MarginConfiguration {
        var c = MarginConfiguration()
        if let raw = margin.raw("tiers") {
            guard let list = raw as? [Any], !list.isEmpty else { throw ConfigError("margin.tiers", "expected a non-empty list") }
            c.tiers = try list.enumerated().map { i, item in
                var tier = try ConfigNode(path: "margin.tiers[\(i)]", value: item)
                guard let cap = try tier.double("cap"), let imr = try tier.double("imr"), let mmr = try tier.double("mmr") else {
                    throw ConfigError("margin.tiers[\(i)]", "a tier needs cap, imr and mmr")
                }
                try tier.rejectUnknownKeys()
                return MarginTier(cap: cap, imr: imr, mmr: mmr)
            }
        }
        var levels = try margin.section("levels")
        if let v = try levels.double("warning") { c.levels.warning = v }
        if let v = try levels.double("margin_call") { c.levels.marginCall = v }
        if let v = try levels.double("liquidation") { c.levels.liquidation = v }
        try levels.rejectUnknownKeys()
        if let v = try margin.double("hysteresis") { c.hysteresis = v }
        if let v = try margin.double("beyond_bps") { c.beyondBps = v }
        if let v = try margin.double("liquidity_multiplier") { c.liquidityMultiplier = v }
        if let v = try margin.durationMicros("snapshot_interval") { c.snapshotIntervalMicros = v }
        var portfolio = try margin.section("portfolio")
        var range = try portfolio.section("range")
        for key in range.map.keys.sorted() {
            guard let v = try range.double(key) else { continue }
            if key == "default" { c.portfolio.defaultRange = v } else { c.portfolio.rangeByUnderlying[key] = v }
        }
        if let v = try portfolio.double("mm_factor") { c.portfolio.mmFactor = v }
        if let v = try portfolio.double("default_iv") { c.portfolio.defaultIV = v }
        try portfolio.rejectUnknownKeys()
        var collateral = try margin.section("collateral")
        for asset in collateral.map.keys.sorted() {
            var entry = try collateral.section(asset)
            guard let instrument = try entry.string("instrument"), !instrument.isEmpty else {
                throw ConfigError("margin.collateral.\(asset).instrument", "names the instrument that prices \(asset)")
            }
            c.collateral[asset] = .init(instrument: instrument, haircut: try entry.double("haircut") ?? 0)
            try entry.rejectUnknownKeys()
        }
        try margin.rejectUnknownKeys()

        if let v = try stress.int("min_severity") { c.stress.minSeverity = v }
        if let v = try stress.double("margin_multiplier") { c.stress.marginMultiplier = v }
        if let v = try stress.double("range_multiplier") { c.stress.rangeMultiplier = v }
        if let v = try stress.double("liquidity_multiplier") { c.stress.liquidityMultiplier = v }
        try stress.rejectUnknownKeys()

        do { try c.validate() } catch { throw ConfigError(error.path, error.message) }
        return c
    }
}
