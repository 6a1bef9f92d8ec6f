public import Events

/// A decoded (or rejected) input waiting in a task's merge buffer.
public struct PendingInput: Sendable {
    public enum Payload: Sendable {
        case quote(Quote)
        case trade(Trade)
        case rejected(RejectedInput)
        /// Nothing: the payload was moved out by the task that merged the input (``takePayload()``).
        case taken
    }

    // In this order the fields take 127 bytes: within what compiled code moves by register copies, not `memcpy`.
    /// Merge key: event time. A rejected input takes its predecessor's, so it keeps its place in its stream.
    public var ts: Int64
    public var offset: Int64
    public var payload: Payload
    public var kind: InputKind

    /// Decodes one `quotes` or `trades` value; failures become `.rejected` with the reason, never a crash.
    /// - Parameters:
    ///   - fallbackTs: merge time for an input without a usable `ts` (the previous input's of the same stream).
    public static func decode(
        kind: InputKind, origin: Origin, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        fallbackTs: Int64
    ) -> PendingInput {
        var none = SymbolTable.disabled
        return decode(kind: kind, origin: origin, key: key, value: value, fallbackTs: fallbackTs, symbols: &none)
    }

    /// ``decode(kind:origin:key:value:fallbackTs:)``, instruments read through `symbols` (the same values; a
    /// source keeps one table across its inputs, so that an instrument's inputs share its symbol's string).
    public static func decode(
        kind: InputKind, origin: Origin, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        fallbackTs: Int64, symbols: inout SymbolTable
    ) -> PendingInput {
        do throws(DecodeError) {
            guard let value, value.count > 0 else { throw DecodeError(.decodeError, "empty value (tombstone)") }
            switch kind {
            case .quotes:
                let quote = try Quote.decode(value, symbols: &symbols)
                return PendingInput(ts: quote.ts, offset: origin.offset, payload: .quote(quote), kind: kind)
            case .trades:
                let trade = try Trade.decode(value, symbols: &symbols)
                return PendingInput(ts: trade.ts, offset: origin.offset, payload: .trade(trade), kind: kind)
            }
        } catch {
            let rejected = RejectedInput(origin: origin, key: key.map { Array($0) }, value: value.map { Array($0) },
                                         error: error)
            return PendingInput(ts: fallbackTs, offset: origin.offset, payload: .rejected(rejected), kind: kind)
        }
    }

    /// Moves the payload out, leaving ``Payload/taken``: a quote then moves on into the instrument's state
    /// without a copy (reading the payload out of an input, even a consumed one, copies it).
    mutating func takePayload() -> Payload {
        withUnsafeMutablePointer(to: &payload) { p in
            let taken = p.move()
            p.initialize(to: .taken)
            return taken
        }
    }

    /// The input's `ts`, nil when it is rejected (its `ts` then only keeps its place in its stream).
    var acceptedTs: Int64? {
        if case .rejected = payload { return nil }
        return ts
    }

    /// The merge key (SPEC §3): `(ts, quotes before trades, offset)`.
    var mergeKey: MergeKey { MergeKey(ts: ts, kind: kind.rawValue, offset: offset) }
}

/// An input's place in the merge order: `(ts, quotes before trades, offset)`.
struct MergeKey: Comparable {
    var ts: Int64
    var kind: Int
    var offset: Int64

    static func < (a: MergeKey, b: MergeKey) -> Bool { (a.ts, a.kind, a.offset) < (b.ts, b.kind, b.offset) }
}
