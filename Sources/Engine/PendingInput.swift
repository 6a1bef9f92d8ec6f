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

    /// Merge key: event time. A rejected input takes its predecessor's, so it keeps its place in its stream.
    public var ts: Int64
    public var kind: InputKind
    public var offset: Int64
    public var payload: Payload
    /// The value as received, kept for the DLQ should a merge-time check (late, unknown instrument, duplicate)
    /// reject a decoded input (a quote's is its ``Quote/received``, shared).
    public var raw: [UInt8] = []

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
                return PendingInput(ts: quote.ts, kind: kind, offset: origin.offset, payload: .quote(quote), raw: quote.received)
            case .trades:
                let trade = try Trade.decode(value, symbols: &symbols)
                return PendingInput(ts: trade.ts, kind: kind, offset: origin.offset, payload: .trade(trade), raw: Array(value))
            }
        } catch {
            let rejected = RejectedInput(origin: origin, key: key.map { Array($0) }, value: value.map { Array($0) },
                                         error: error)
            return PendingInput(ts: fallbackTs, kind: kind, offset: origin.offset, payload: .rejected(rejected))
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

/// A first-in first-out buffer that reuses its storage.
struct FIFO<Element> {
    private var storage: [Element?] = []
    private var head = 0
    /// How many elements the storage held when the buffer last emptied: the room to make when it fills again,
    /// instead of growing to it by doubling (a copy of everything held at each step).
    private var lastPeak = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }

    /// Reads a property of the first element without copying the element.
    func peek<R>(_ read: (borrowing Element) -> R) -> R? {
        guard !isEmpty else { return nil }
        return storage.withUnsafeBufferPointer { read($0[head]!) }
    }

    mutating func append(_ element: consuming Element) {
        if storage.isEmpty, lastPeak > 0 { storage.reserveCapacity(lastPeak) }
        storage.append(element)
    }

    /// Moves the first element out (no copy, no retain).
    mutating func removeFirst() -> Element {
        let element = storage[head].take()!
        head += 1
        if head == storage.count {
            // Give the memory back: a buffer is one allocation per batch, cheaper than idle megabytes per task.
            lastPeak = storage.count
            storage.removeAll()
            head = 0
        } else if head >= 4096, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }
}

extension FIFO: Sendable where Element: Sendable {}

extension FIFO where Element == PendingInput {
    /// The merge key of the first input, read in place: ``peek(_:)`` hands its closure a copy of the whole input
    /// (payload and raw bytes retained, then released), twice per merged input.
    var firstMergeKey: MergeKey? {
        guard !isEmpty else { return nil }
        return storage.withUnsafeBufferPointer { ($0.baseAddress! + head).pointee?.mergeKey }
    }
}
