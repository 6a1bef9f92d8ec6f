public import Events

extension MarkRecord {
    /// Decodes a `backstop-marks` value, as the account stage reads it back from Kafka.
    ///
    /// Numbers were written in their shortest round-trip form and are read correctly rounded, so the decoded
    /// record equals the one the instrument stage published, bit for bit.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> MarkRecord {
        var r = JSONReader(bytes)
        var instrument: String?, ts: Int64?, mark: Double?, iv: Double?, stress: Int?
        var bids: [BookLevel] = [], asks: [BookLevel] = []
        guard try r.peekKind() == .object else { throw DecodeError(.decodeError, "value is not a JSON object") }
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            if key == "instrument" { instrument = try r.readString() }
            else if key == "ts" { ts = try r.readInt64() }
            else if key == "mark" { mark = try r.readDouble() }
            else if key == "iv" { iv = r.readNullIfPresent() ? nil : try r.readDouble() }
            else if key == "bids" { bids = try r.readBookLevels() }
            else if key == "asks" { asks = try r.readBookLevels() }
            else if key == "stress" { stress = Int(try r.readInt64()) }
            else { try r.skipValue() }
        }
        try r.expectEnd()
        guard let instrument else { throw DecodeError(.missingField, "missing field 'instrument'") }
        guard let ts else { throw DecodeError(.missingField, "missing field 'ts'") }
        guard let mark else { throw DecodeError(.missingField, "missing field 'mark'") }
        guard mark.isFinite, mark > 0 else { throw DecodeError(.nonPositive, "'mark' must be positive and finite") }
        return MarkRecord(instrument: instrument, ts: ts, mark: mark, iv: iv, bids: bids, asks: asks, stress: stress ?? 0)
    }
}

extension FillRecord {
    /// Decodes a `backstop-fills` value: the account's side of a trade (the aggressor side is not carried and
    /// reads as the account's side; nothing downstream uses it).
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> FillRecord {
        var r = JSONReader(bytes)
        var account: String?, instrument: String?, tradeID: String?, side: Side?
        var ts: Int64?, size: Double?, price: Double?, fee: Double?
        guard try r.peekKind() == .object else { throw DecodeError(.decodeError, "value is not a JSON object") }
        try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
            if key == "account" { account = try r.readString() }
            else if key == "instrument" { instrument = try r.readString() }
            else if key == "trade_id" { tradeID = try r.readString() }
            else if key == "ts" { ts = try r.readInt64() }
            else if key == "side" {
                let s = try r.readString()
                guard let parsed = Side(rawValue: s) else { throw DecodeError(.invalidValue, "field 'side': '\(s)' is not buy or sell") }
                side = parsed
            }
            else if key == "size" { size = try r.readDouble() }
            else if key == "price" { price = try r.readDouble() }
            else if key == "fee" { fee = r.readNullIfPresent() ? nil : try r.readDouble() }
            else { try r.skipValue() }
        }
        try r.expectEnd()
        guard let account else { throw DecodeError(.missingField, "missing field 'account'") }
        guard let instrument else { throw DecodeError(.missingField, "missing field 'instrument'") }
        guard let tradeID else { throw DecodeError(.missingField, "missing field 'trade_id'") }
        guard let ts else { throw DecodeError(.missingField, "missing field 'ts'") }
        guard let side else { throw DecodeError(.missingField, "missing field 'side'") }
        guard let size else { throw DecodeError(.missingField, "missing field 'size'") }
        guard let price else { throw DecodeError(.missingField, "missing field 'price'") }
        let trade = Trade(instrument: instrument, ts: ts, id: tradeID, price: price, size: size, side: side,
                          buyer: side == .buy ? account : nil, seller: side == .sell ? account : nil,
                          fee: fee == 0 ? nil : fee)
        do { try trade.validate() } catch { throw error }
        return FillRecord(account: account, trade: trade, side: side)
    }
}
