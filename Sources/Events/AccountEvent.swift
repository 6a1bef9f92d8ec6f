/// An account event (`accounts` topic, SPEC §2).
public struct AccountEvent: Sendable, Equatable {
    public enum MarginMode: String, Sendable { case standard, portfolio }

    public enum Change: Sendable, Equatable {
        case deposit(asset: String, amount: Double)
        case withdrawal(asset: String, amount: Double)
        /// A signed balance adjustment.
        case adjustment(asset: String, amount: Double)
        case mode(MarginMode)
        /// Sets a position (size 0 removes it), with no cash effect.
        case position(instrument: String, size: Double, entryPrice: Double)
    }

    public var account: String
    public var ts: Int64
    /// The event's id; when the input has none, `<account>:<type>:<ts>`.
    public var id: String
    public var change: Change

    public init(account: String, ts: Int64, id: String, change: Change) {
        self.account = account
        self.ts = ts
        self.id = id
        self.change = change
    }

    /// Decodes and validates one `accounts` value.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> AccountEvent {
        var r = JSONReader(bytes)
        var account: String?, id: String?, type: String?, asset: String?, mode: String?, instrument: String?
        var ts: Int64?
        var amount: Double?, size: Double?, entryPrice: Double?
        guard try r.peekKind() == .object else { throw DecodeError(.decodeError, "value is not a JSON object") }
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            if key == "account" { account = try field("account") { () throws(DecodeError) in try r.readString() } }
            else if key == "ts" { ts = try field("ts") { () throws(DecodeError) in try r.readInt64() } }
            else if key == "id" { id = try field("id") { () throws(DecodeError) in try r.readString() } }
            else if key == "type" { type = try field("type") { () throws(DecodeError) in try r.readString() } }
            else if key == "asset" { asset = try field("asset") { () throws(DecodeError) in try r.readString() } }
            else if key == "amount" { amount = try field("amount") { () throws(DecodeError) in try r.readDouble() } }
            else if key == "mode" { mode = try field("mode") { () throws(DecodeError) in try r.readString() } }
            else if key == "instrument" { instrument = try field("instrument") { () throws(DecodeError) in try r.readString() } }
            else if key == "size" { size = try field("size") { () throws(DecodeError) in try r.readDouble() } }
            else if key == "entry_price" { entryPrice = try field("entry_price") { () throws(DecodeError) in try r.readDouble() } }
            else { try r.skipValue() }
        }
        try r.expectEnd()
        guard let account, !account.isEmpty else { throw DecodeError(.missingField, "missing field 'account'") }
        guard let ts else { throw DecodeError(.missingField, "missing field 'ts'") }
        guard let type else { throw DecodeError(.missingField, "missing field 'type'") }
        try eventTime(ts)
        try nonEmpty(id, "id")
        let eventID = id ?? "\(account):\(type):\(ts)"
        let change: Change
        switch type {
        case "deposit", "withdrawal", "adjustment":
            guard let asset, !asset.isEmpty else { throw DecodeError(.missingField, "missing field 'asset'") }
            guard let amount else { throw DecodeError(.missingField, "missing field 'amount'") }
            try finite(amount, "amount")
            if type == "adjustment" {
                change = .adjustment(asset: asset, amount: amount)
            } else {
                try positive(amount, "amount")
                change = type == "deposit" ? .deposit(asset: asset, amount: amount) : .withdrawal(asset: asset, amount: amount)
            }
        case "mode":
            guard let mode else { throw DecodeError(.missingField, "missing field 'mode'") }
            guard let m = MarginMode(rawValue: mode) else { throw DecodeError(.invalidValue, "field 'mode': '\(mode)'") }
            change = .mode(m)
        case "position":
            guard let instrument, !instrument.isEmpty else { throw DecodeError(.missingField, "missing field 'instrument'") }
            guard let size else { throw DecodeError(.missingField, "missing field 'size'") }
            try finite(size, "size")
            if size != 0, entryPrice == nil { throw DecodeError(.missingField, "missing field 'entry_price'") }
            let entry = entryPrice ?? 0
            if size != 0 { try positive(entry, "entry_price") }
            change = .position(instrument: instrument, size: size, entryPrice: entry)
        default:
            throw DecodeError(.unknownType, "field 'type': unknown account event type '\(type)'")
        }
        return AccountEvent(account: account, ts: ts, id: eventID, change: change)
    }
}
