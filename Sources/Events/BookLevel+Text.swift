extension BookLevel {
    /// The levels at `range` of `bytes`: a JSON array of `[price, size]` that decoding read before (empty when it
    /// is not one).
    public static func levels(in bytes: [UInt8], _ range: Range<Int>) -> [BookLevel] {
        bytes.withUnsafeBytes { levels(json: UnsafeRawBufferPointer(rebasing: $0[range])) } ?? []
    }

    /// Reads book levels `[[price, size], …]` (values unchecked), as a quote or a mark carries them: the compact
    /// form in one tight loop, any other through the general reader. - Returns: nil when `json` is not such an
    /// array alone.
    public static func levels(json: UnsafeRawBufferPointer) -> [BookLevel]? {
        if let base = json.baseAddress, json.count > 0 {
            var s = CompactScanner(p: base.assumingMemoryBound(to: UInt8.self), n: json.count)
            if let levels = s.levels(), s.i == s.n { return levels }
        }
        var r = JSONReader(json)
        guard let levels = try? readLevels(&r), (try? r.expectEnd()) != nil else { return nil }
        return levels
    }
}
