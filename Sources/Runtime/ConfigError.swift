import Foundation

/// A configuration error, naming the field's path (for example `metrics.interval`).
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String

    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? "configuration: \(message)" : "configuration: \(path): \(message)" }
}

/// Reads typed values out of a YAML mapping, tracking the path for errors and flagging unknown keys.
struct ConfigNode {
    let path: String
    let map: [String: Any]
    private(set) var used: Set<String> = []

    init(path: String, value: Any?) throws(ConfigError) {
        self.path = path
        switch value {
        case nil: map = [:]
        case let m as [String: Any]: map = m
        case let m as [AnyHashable: Any]:
            var converted: [String: Any] = [:]
            for (k, v) in m { converted["\(k)"] = v }
            map = converted
        default: throw ConfigError(path, "expected a mapping")
        }
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func section(_ key: String) throws(ConfigError) -> ConfigNode {
        used.insert(key)
        return try ConfigNode(path: child(key), value: map[key])
    }

    mutating func raw(_ key: String) -> Any? {
        used.insert(key)
        return map[key]
    }

    mutating func string(_ key: String) throws(ConfigError) -> String? {
        guard let v = raw(key) else { return nil }
        switch v {
        case let s as String: return s
        case let i as Int: return String(i)
        case let d as Double: return String(d)
        case let b as Bool: return String(b)
        default: throw ConfigError(child(key), "expected a string")
        }
    }

    mutating func double(_ key: String) throws(ConfigError) -> Double? {
        guard let v = raw(key) else { return nil }
        switch v {
        case let d as Double: return d
        case let i as Int: return Double(i)
        case let s as String:
            guard let d = Double(s) else { throw ConfigError(child(key), "expected a number, got '\(s)'") }
            return d
        default: throw ConfigError(child(key), "expected a number")
        }
    }

    mutating func int(_ key: String) throws(ConfigError) -> Int? {
        guard let v = raw(key) else { return nil }
        switch v {
        case let i as Int: return i
        case let s as String:
            guard let i = Int(s) else { throw ConfigError(child(key), "expected an integer, got '\(s)'") }
            return i
        default: throw ConfigError(child(key), "expected an integer")
        }
    }

    /// A duration such as `100ms`, `1s`, `5m`, `1d`, in microseconds.
    mutating func durationMicros(_ key: String) throws(ConfigError) -> Int64? {
        guard let text = try string(key) else { return nil }
        guard let micros = parseDurationMicros(text) else {
            throw ConfigError(child(key), "invalid duration '\(text)' (use a number and a unit: us, ms, s, m, h, d)")
        }
        return micros
    }

    /// Fails on keys that were never read.
    func rejectUnknownKeys() throws(ConfigError) {
        if let unknown = map.keys.sorted().first(where: { !used.contains($0) }) {
            throw ConfigError(child(unknown), "unknown key")
        }
    }
}

/// Parses `250us`, `100ms`, `1s`, `1.5s`, `5m`, `2h`, `1d` into microseconds.
public func parseDurationMicros(_ text: String) -> Int64? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let units: [(String, Double)] = [("us", 1), ("µs", 1), ("ms", 1e3), ("s", 1e6), ("m", 60e6), ("h", 3600e6), ("d", 86_400e6)]
    for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
        let number = trimmed.dropLast(suffix.count)
        // "ms" also ends in "s": make sure the rest is a number.
        guard let value = Double(number), value.isFinite, value >= 0 else { continue }
        let micros = (value * scale).rounded()
        guard micros < 9.0e18 else { return nil }
        return Int64(micros)
    }
    return nil
}
