import Engine
import Events

/// Where an instrument task stood, as the account side's frontier reads it, and its record in
/// `<group>-instrument-progress` (other processes learn this process's points from it).
extension AccountDriver {
    /// Where one instrument task stood at a commit: the offsets after its process's last mark in each marks
    /// partition and last fill in each fills partition, and the task's event time. Once the account side has read
    /// up to those offsets, every later record of that task has `ts` ≥ it.
    struct SourcePoint: Equatable {
        var marksEnd: [Int32: Int64]
        var fillsEnd: [Int32: Int64]
        var eventTime: Int64
        /// When the task had nothing more to do: where its inputs (`quotes`/q, `trades`/q) ended. While they still
        /// do, the task will write nothing more and bounds no frontier.
        var drained: [Int64]? = nil
    }

    /// A progress record: `{"task":q,"event_time":t|-1,"drained":[quotes end,trades end],"marks":[[p,end],…],
    /// "fills":[[p,end],…]}` (−1: nothing processed yet; `drained` only when the task had nothing more to do).
    static func encodeProgress(task q: Int32, _ point: SourcePoint) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.key("task"); w.integer(Int64(q))
        // Event times are never negative: −1 stands for "nothing processed yet" (Int64.min).
        w.key("event_time"); w.integer(max(point.eventTime, -1))
        if let ends = point.drained {
            w.key("drained")
            w.beginArray()
            for end in ends { w.integer(end) }
            w.endArray()
        }
        for (name, ends) in [("marks", point.marksEnd), ("fills", point.fillsEnd)] {
            w.key(name)
            w.beginArray()
            for (p, end) in ends.sorted(by: { $0.key < $1.key }) { w.beginArray(); w.integer(Int64(p)); w.integer(end); w.endArray() }
            w.endArray()
        }
        w.endObject()
        return w.bytes
    }

    static func decodeProgress(_ bytes: UnsafeRawBufferPointer) -> (Int32, SourcePoint)? {
        var r = JSONReader(bytes)
        var task: Int32?, eventTime: Int64 = .min, drained: [Int64]?, marks: [Int32: Int64] = [:], fills: [Int32: Int64] = [:]
        do throws(DecodeError) {
            try r.readObject { (r: inout JSONReader, key: JSONKey) throws(DecodeError) in
                if key == "task" { task = Int32(truncatingIfNeeded: try r.readInt64()) }
                else if key == "event_time" {
                    // null: an unbounded claim of an earlier version, which cannot be checked: it bounds the
                    // frontier at the lowest time until the task's next record (processes upgrade together).
                    eventTime = r.readNullIfPresent() ? .min : try r.readInt64()
                    if eventTime < 0 { eventTime = .min }
                }
                else if key == "drained" {
                    var ends: [Int64] = []
                    try r.readArray { (r: inout JSONReader) throws(DecodeError) in ends.append(try r.readInt64()) }
                    drained = ends.count == InputKind.allCases.count ? ends : nil  // one end per input, or no claim
                }
                else if key == "marks" || key == "fills" {
                    var ends: [Int32: Int64] = [:]
                    try r.readArray { (r: inout JSONReader) throws(DecodeError) in
                        var pair: [Int64] = []
                        try r.readArray { (r: inout JSONReader) throws(DecodeError) in pair.append(try r.readInt64()) }
                        if pair.count == 2 { ends[Int32(truncatingIfNeeded: pair[0])] = pair[1] }
                    }
                    if key == "marks" { marks = ends } else { fills = ends }
                } else { try r.skipValue() }
            }
        } catch { return nil }
        guard let task else { return nil }
        return (task, SourcePoint(marksEnd: marks, fillsEnd: fills, eventTime: eventTime, drained: drained))
    }
}
