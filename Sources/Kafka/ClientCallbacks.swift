import CRdKafka

/// What a rebalance did to this consumer's assignment.
public struct RebalanceEvent: Sendable {
    public enum Kind: Sendable { case assigned, revoked, lost }
    public var kind: Kind
    /// The partitions added (assigned) or removed (revoked, lost); with the eager protocol, the whole assignment.
    public var partitions: [TopicPartition]
    /// Whether the group uses the cooperative (incremental) protocol.
    public var isCooperative: Bool
}

/// One delivery report: a produced message was acknowledged or failed for good.
public struct DeliveryReport: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var error: KafkaError?
    /// The message's place in its producer's send order, from 0 (see ``KafkaProducer/sentCount``); −1 for a message
    /// sent otherwise.
    public var sequence: Int = -1
}

/// A log line from librdkafka.
public struct KafkaLogRecord: Sendable {
    /// syslog level: 0 emergency … 7 debug.
    public var level: Int32
    public var facility: String
    public var message: String
}

/// The Swift closures librdkafka calls back, all on the thread that polls the handle (or, for logs, any thread).
///
/// Set before the handle is created and never changed after, so reading them needs no lock.
final class ClientCallbacks: @unchecked Sendable {
    var onRebalance: ((RebalanceEvent) -> Void)?
    /// Called after `onRebalance` for an assignment: where to start reading some of the assigned partitions
    /// (the others start from their committed offsets).
    var startOffsets: (([TopicPartition]) -> [TopicPartition])?
    var onDelivery: ((DeliveryReport) -> Void)?
    var onError: (@Sendable (KafkaError) -> Void)?
    var onLog: (@Sendable (KafkaLogRecord) -> Void)?
    /// Set by the consumer: applies the assignment change after `onRebalance` has seen it.
    var isConsumer = false

    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        if isConsumer { rd_kafka_conf_set_rebalance_cb(conf, rebalanceTrampoline) }
        if onDelivery != nil { rd_kafka_conf_set_dr_msg_cb(conf, deliveryTrampoline) }
        rd_kafka_conf_set_error_cb(conf, errorTrampoline)
        if onLog != nil { rd_kafka_conf_set_log_cb(conf, logTrampoline) }
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> ClientCallbacks? {
        opaque.map { Unmanaged<ClientCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }
}

private func rebalanceTrampoline(
    rk: OpaquePointer?, err: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    opaque: UnsafeMutableRawPointer?
) {
    guard let rk else { return }
    let callbacks = ClientCallbacks.from(opaque)
    let isCooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
    let list = PartitionList.read(partitions)
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        callbacks?.onRebalance?(RebalanceEvent(kind: .assigned, partitions: list, isCooperative: isCooperative))
        if let partitions, let starts = callbacks?.startOffsets?(list) {
            for start in starts {
                rd_kafka_topic_partition_list_find(partitions, start.topic, start.partition)?.pointee.offset = start.offset
            }
        }
        if isCooperative {
            if let error = rd_kafka_incremental_assign(rk, partitions) {
                callbacks?.onError?(KafkaError(consuming: error, context: "incremental assign"))
            }
        } else {
            let e = rd_kafka_assign(rk, partitions)
            if e != RD_KAFKA_RESP_ERR_NO_ERROR { callbacks?.onError?(KafkaError(e, context: "assign")) }
        }
    default:  // RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS, or an error: give everything up.
        let kind: RebalanceEvent.Kind = rd_kafka_assignment_lost(rk) != 0 ? .lost : .revoked
        callbacks?.onRebalance?(RebalanceEvent(kind: kind, partitions: list, isCooperative: isCooperative))
        if isCooperative {
            if let error = rd_kafka_incremental_unassign(rk, partitions) {
                callbacks?.onError?(KafkaError(consuming: error, context: "incremental unassign"))
            }
        } else {
            _ = rd_kafka_assign(rk, nil)
        }
    }
}

private func deliveryTrampoline(
    rk: OpaquePointer?, message: UnsafePointer<rd_kafka_message_t>?, opaque: UnsafeMutableRawPointer?
) {
    guard let message, let handler = ClientCallbacks.from(opaque)?.onDelivery else { return }
    let m = message.pointee
    let error: KafkaError? = m.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(m.err, context: "delivery")
    let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    let sequence = m._private.map { Int(bitPattern: $0) - 1 } ?? -1
    handler(DeliveryReport(topic: topic, partition: m.partition, offset: m.offset, error: error, sequence: sequence))
}

private func errorTrampoline(rk: OpaquePointer?, err: Int32, reason: UnsafePointer<CChar>?, opaque: UnsafeMutableRawPointer?) {
    guard let handler = ClientCallbacks.from(opaque)?.onError else { return }
    let code = rd_kafka_resp_err_t(err)
    var error = KafkaError(code, context: reason.map { String(cString: $0) })
    if code == RD_KAFKA_RESP_ERR__FATAL, let rk {
        var errstr = [CChar](repeating: 0, count: 512)
        let underlying = rd_kafka_fatal_error(rk, &errstr, errstr.count)
        error = KafkaError(code: .init(rawValue: underlying.rawValue), message: string(fromErrorBuffer: errstr), isFatal: true)
    }
    handler(error)
}

private func logTrampoline(rk: OpaquePointer?, level: Int32, facility: UnsafePointer<CChar>?, buf: UnsafePointer<CChar>?) {
    guard let rk, let handler = ClientCallbacks.from(rd_kafka_opaque(rk))?.onLog else { return }
    handler(KafkaLogRecord(level: level, facility: facility.map { String(cString: $0) } ?? "",
                           message: buf.map { String(cString: $0) } ?? ""))
}
