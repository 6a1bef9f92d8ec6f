/// A trigger condition: comparisons of metrics with numbers, combined with `and`, `or` and parentheses.
/// A comparison whose metric is null is false.
public indirect enum Condition: Sendable, Equatable {
    case compare(MetricPath, Comparison, Double)
    case and(Condition, Condition)
    case or(Condition, Condition)

    public enum Comparison: String, Sendable, CaseIterable {
        case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=", equal = "==", notEqual = "!="

        func holds(_ a: Double, _ b: Double) -> Bool {
            switch self {
            case .less: a < b
            case .lessOrEqual: a <= b
            case .greater: a > b
            case .greaterOrEqual: a >= b
            case .equal: a == b
            case .notEqual: a != b
            }
        }
    }

    public func holds(for record: LiquidityRecord) -> Bool {
        switch self {
        case .compare(let path, let op, let number):
            guard let value = record.value(at: path) else { return false }
            return op.holds(value, number)
        case .and(let a, let b): return a.holds(for: record) && b.holds(for: record)
        case .or(let a, let b): return a.holds(for: record) || b.holds(for: record)
        }
    }

    /// The metrics this condition reads, in order of first appearance.
    public var paths: [MetricPath] {
        var result: [MetricPath] = []
        func walk(_ c: Condition) {
            switch c {
            case .compare(let p, _, _): if !result.contains(p) { result.append(p) }
            case .and(let a, let b), .or(let a, let b): walk(a); walk(b)
            }
        }
        walk(self)
        return result
    }
}

/// A condition that failed to parse: the message and the 1-based character position.
public struct ConditionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var position: Int
    public var description: String { "\(message) at position \(position)" }
}

extension Condition {
    /// Parses `spread_bps_avg > 80 or (depth.50.bid < 250000 and vpin >= 0.6)`.
    ///
    /// Grammar: `expr := and ('or' and)*`, `and := primary ('and' primary)*`,
    /// `primary := '(' expr ')' | path op number | number op path`, `op := < <= > >= == !=`.
    /// - Parameter depthBps: the configured depth bands (`depth.<k>` must name one).
    public static func parse(_ text: String, depthBps: [Int]) throws(ConditionError) -> Condition {
        var parser = ConditionParser(text: Array(text.unicodeScalars), depthBps: depthBps)
        let condition = try parser.expression()
        parser.skipSpaces()
        guard parser.atEnd else { throw parser.error("unexpected '\(parser.peekWord())'") }
        return condition
    }
}

struct ConditionParser {
    let text: [Unicode.Scalar]
    let depthBps: [Int]
    var i = 0

    init(text: [Unicode.Scalar], depthBps: [Int]) {
        self.text = text
        self.depthBps = depthBps
    }

    var atEnd: Bool { i >= text.count }

    func error(_ message: String) -> ConditionError { ConditionError(message: message, position: i + 1) }

    mutating func skipSpaces() { while !atEnd, text[i].properties.isWhitespace { i += 1 } }

    func peekWord() -> String {
        var j = i
        var s = ""
        while j < text.count, !text[j].properties.isWhitespace { s.unicodeScalars.append(text[j]); j += 1 }
        return s
    }

    mutating func keyword(_ word: String) -> Bool {
        skipSpaces()
        let scalars = Array(word.unicodeScalars)
        guard i + scalars.count <= text.count, Array(text[i..<i + scalars.count]) == scalars else { return false }
        let after = i + scalars.count
        if after < text.count, isWordCharacter(text[after]) { return false }
        i = after
        return true
    }

    mutating func expression() throws(ConditionError) -> Condition {
        var left = try conjunction()
        while keyword("or") { left = .or(left, try conjunction()) }
        return left
    }

    mutating func conjunction() throws(ConditionError) -> Condition {
        var left = try primary()
        while keyword("and") { left = .and(left, try primary()) }
        return left
    }

    mutating func primary() throws(ConditionError) -> Condition {
        skipSpaces()
        guard !atEnd else { throw error("expected a comparison, found the end") }
        if text[i] == "(" {
            i += 1
            let inner = try expression()
            skipSpaces()
            guard !atEnd, text[i] == ")" else { throw error("expected ')'") }
            i += 1
            return inner
        }
        if let number = try numberIfPresent() {
            let op = try comparison()
            let path = try metricPath()
            return .compare(path, op.mirrored, number)
        }
        let path = try metricPath()
        let op = try comparison()
        skipSpaces()
        guard let number = try numberIfPresent() else { throw error("expected a number") }
        return .compare(path, op, number)
    }

    mutating func metricPath() throws(ConditionError) -> MetricPath {
        skipSpaces()
        let start = i
        var name = ""
        while !atEnd, isWordCharacter(text[i]) || text[i] == "." { name.unicodeScalars.append(text[i]); i += 1 }
        guard !name.isEmpty else { throw error("expected a metric name") }
        guard let path = MetricPath(name, depthBps: depthBps) else {
            i = start
            let bands = depthBps.map(String.init).joined(separator: ", ")
            throw error("unknown metric '\(name)' (a metrics field, or depth.<k>.bid|ask with k in [\(bands)])")
        }
        return path
    }

    mutating func comparison() throws(ConditionError) -> Condition.Comparison {
        skipSpaces()
        for op in [Condition.Comparison.lessOrEqual, .greaterOrEqual, .equal, .notEqual, .less, .greater] {
            let scalars = Array(op.rawValue.unicodeScalars)
            if i + scalars.count <= text.count, Array(text[i..<i + scalars.count]) == scalars {
                i += scalars.count
                return op
            }
        }
        throw error("expected a comparison operator (<, <=, >, >=, ==, !=)")
    }

    mutating func numberIfPresent() throws(ConditionError) -> Double? {
        skipSpaces()
        guard !atEnd, text[i] == "-" || text[i] == "+" || text[i] == "." || ("0"..."9").contains(text[i]) else { return nil }
        let start = i
        var s = ""
        while !atEnd, "0123456789.eE+-_".unicodeScalars.contains(text[i]) { s.unicodeScalars.append(text[i]); i += 1 }
        guard let value = Double(s.replacingUnderscores()), value.isFinite else {
            i = start
            throw error("invalid number '\(s)'")
        }
        return value
    }
}

private func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
    c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
}

private extension String {
    func replacingUnderscores() -> String { String(unicodeScalars.filter { $0 != "_" }) }
}

private extension Condition.Comparison {
    /// `a op b` ⇔ `b mirrored a`.
    var mirrored: Condition.Comparison {
        switch self {
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        case .equal: .equal
        case .notEqual: .notEqual
        }
    }
}
