public import Events
public import Liquidity

/// The input topics of the instrument stage, in merge rank: at equal `ts`, quotes come before trades.
public enum InputKind: Int, Sendable, CaseIterable, Comparable {
    case quotes = 0
    case trades = 1

    public static func < (a: InputKind, b: InputKind) -> Bool { a.rawValue < b.rawValue }
}

/// The output topics.
public enum OutputTopic: Sendable, Hashable, CaseIterable {
    case liquidityMetrics
    case triggers
    case marks
    case fills
    case marginCalls
    case accountMargin
    case dlq
}

/// Configurable topic names (SPEC §1 defaults).
public struct TopicNames: Sendable, Equatable {
    public var instruments = "instruments"
    public var quotes = "quotes"
    public var trades = "trades"
    public var accounts = "accounts"
    public var liquidityMetrics = "liquidity-metrics"
    public var triggers = "backstop-triggers"
    public var marks = "backstop-marks"
    public var fills = "backstop-fills"
    public var marginCalls = "margin-calls"
    public var accountMargin = "account-margin"
    public var dlq = "backstop-dlq"

    public init() {}

    public func name(of kind: InputKind) -> String {
        switch kind {
        case .quotes: quotes
        case .trades: trades
        }
    }

    /// The input a topic name stands for: nil when it is neither `quotes` nor `trades`.
    public func inputKind(of topic: String) -> InputKind? {
        topic == quotes ? .quotes : topic == trades ? .trades : nil
    }

    public func name(of topic: OutputTopic) -> String { self[keyPath: Self.path(of: topic)] }

    /// Where the name of an output topic is kept (to rename it, as a replay's prefix does).
    public static func path(of topic: OutputTopic) -> WritableKeyPath<TopicNames, String> {
        switch topic {
        case .liquidityMetrics: \.liquidityMetrics
        case .triggers: \.triggers
        case .marks: \.marks
        case .fills: \.fills
        case .marginCalls: \.marginCalls
        case .accountMargin: \.accountMargin
        case .dlq: \.dlq
        }
    }

    /// Output schema names, for the `schema: <name>/<version>` header.
    public static func schema(of topic: OutputTopic) -> String {
        switch topic {
        case .liquidityMetrics: "liquidity-metrics/1"
        case .triggers: "backstop-triggers/1"
        case .marks: "backstop-marks/1"
        case .fills: "backstop-fills/1"
        case .marginCalls: "margin-calls/1"
        case .accountMargin: "account-margin/1"
        case .dlq: "backstop-dlq/1"
        }
    }
}

/// Where an input came from: topic, partition and offset (in a backtest, the offset is the line number).
public struct Origin: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    /// The `source` header value: `<topic>/<partition>/<offset>`.
    public var header: String { "\(topic)/\(partition)/\(offset)" }

    /// ``header`` as UTF-8 bytes, written without an intermediate string (once per output in `run`).
    public var headerBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(topic.utf8.count + 24)
        bytes.append(contentsOf: topic.utf8)
        bytes.append(UInt8(ascii: "/"))
        Self.appendDecimal(Int64(partition), to: &bytes)
        bytes.append(UInt8(ascii: "/"))
        Self.appendDecimal(offset, to: &bytes)
        return bytes
    }

    /// Reads a `source` header (``header``): the topic may itself hold `/`; partition and offset are the last two
    /// fields, plain non-negative decimals. nil for anything else.
    public init?(header bytes: UnsafeRawBufferPointer) {
        guard let slash2 = bytes.lastIndex(of: UInt8(ascii: "/")),
              let slash1 = bytes[..<slash2].lastIndex(of: UInt8(ascii: "/")), slash1 > 0,
              let partition = Self.decimal(bytes[(slash1 + 1)..<slash2]), partition <= Int64(Int32.max),
              let offset = Self.decimal(bytes[(slash2 + 1)...])
        else { return nil }
        self.init(topic: String(decoding: bytes[..<slash1], as: UTF8.self), partition: Int32(partition), offset: offset)
    }

    private static func decimal(_ digits: Slice<UnsafeRawBufferPointer>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }
}

/// One output message: topic, key, JSON value and the input that caused it.
public struct OutputRecord: Sendable, Equatable {
    public var topic: OutputTopic
    public var key: [UInt8]?
    public var value: [UInt8]
    public var origin: Origin
    /// A mark's or a fill's record as a value too, for a stage downstream in the same process (the backtest's
    /// account stage): boxed, so that a record is 64 bytes to build, pass and destroy (inline, the two took 240).
    private var attached: Attached

    private indirect enum Attached: Sendable, Equatable {
        case none
        case mark(MarkRecord)
        case fill(FillRecord)
    }

    public init(topic: OutputTopic, key: [UInt8]?, value: [UInt8], origin: Origin) {
        self.topic = topic
        self.key = key
        self.value = value
        self.origin = origin
        attached = .none
    }

    /// The mark, as a value, of a `backstop-marks` record that carries one. A record carries a mark or a fill, not
    /// both: setting one replaces the other; setting nil takes it off.
    public var mark: MarkRecord? {
        get { if case .mark(let mark) = attached { mark } else { nil } }
        set {
            if let newValue { attached = .mark(newValue) } else if case .mark = attached { attached = .none }
        }
    }

    /// The fill, as a value, of a `backstop-fills` record that carries one (or a mark: see ``mark``). Setting nil
    /// takes it off.
    public var fill: FillRecord? {
        get { if case .fill(let fill) = attached { fill } else { nil } }
        set {
            if let newValue { attached = .fill(newValue) } else if case .fill = attached { attached = .none }
        }
    }
}

/// An input that failed decoding or validation, kept as received for the DLQ.
public struct RejectedInput: Sendable, Equatable {
    public var origin: Origin
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var error: DecodeError

    public init(origin: Origin, key: [UInt8]?, value: [UInt8]?, error: DecodeError) {
        self.origin = origin
        self.key = key
        self.value = value
        self.error = error
    }

    /// The DLQ `ts` of an account-stage input that does not decode: the greatest `ts` read before it from its
    /// partition (`maxTs`; 0 before any), where its stream would have merged it. Unlike the task's event time
    /// when it arrives, this depends only on the partition's contents before it (a restarted task keeps the value
    /// in its changelog), so a run and a backtest write the same record; so does a replay from the beginning.
    public static func undecodedTs(after maxTs: Int64) -> Int64 { max(maxTs, 0) }

    /// The `backstop-dlq` record (SPEC §8). `ts` is the task's event time when the input was merged.
    public func dlqRecord(eventTime: Int64) -> OutputRecord {
        var w = JSONWriter(capacity: 256 + (value?.count ?? 0))
        w.beginObject()
        w.key("topic"); w.string(origin.topic)
        w.key("partition"); w.integer(Int64(origin.partition))
        w.key("offset"); w.integer(origin.offset)
        w.key("key")
        if let key { w.string(String(decoding: key, as: UTF8.self)) } else { w.null() }
        w.key("value")
        var isBase64 = false
        if let value {
            if let text = String(validating: value, as: UTF8.self) {
                w.string(text)
            } else {
                w.string(Base64.encode(value))
                isBase64 = true
            }
        } else {
            w.null()
        }
        if isBase64 { w.key("value_base64"); w.bool(true) }
        w.key("error"); w.string(error.message)
        w.key("reason"); w.string(error.reason.rawValue)
        w.key("ts"); w.integer(eventTime)
        w.endObject()
        return OutputRecord(topic: .dlq, key: key, value: w.bytes, origin: origin)
    }
}

/// Standard base64 (RFC 4648) with padding.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
