import Foundation
import Logging
import STIX
import Storage

/// Feeds the audit log: writes and admin changes are recorded before the caller answers; reads are batched and
/// flushed within 50 milliseconds (and at shutdown), so auditing costs a read one append to a queue.
public actor AuditTrail {
    let log: any AuditLog
    let recordsReads: Bool
    private var pending: [AuditEvent] = []
    private var flushScheduled = false
    private let logger = Logger(label: "meridian.audit")

    init(log: any AuditLog, recordsReads: Bool) {
        self.log = log
        self.recordsReads = recordsReads
    }

    /// Records an event and returns once it (and everything queued before it) is in the log.
    public func record(_ event: AuditEvent) async throws {
        pending.append(event)
        try await flush()
    }

    /// Queues a read; it reaches the log with the next flush.
    func recordRead(_ event: AuditEvent) {
        guard recordsReads else { return }
        pending.append(event)
        if pending.count >= 2048 {
            Task { try? await self.flush() }
        } else if !flushScheduled {
            flushScheduled = true
            Task {
                try? await Task.sleep(for: .milliseconds(50))
                await self.scheduledFlush()
            }
        }
    }

    private func scheduledFlush() async {
        flushScheduled = false
        do {
            try await flush()
        } catch {
            logger.error("audit log append failed; will retry: \(String(describing: type(of: error)))")
        }
    }

    /// Writes everything queued to the log.
    public func flush() async throws {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        do {
            try await log.append(batch)
        } catch {
            pending = batch + pending
            throw error
        }
    }

    /// The event of a read: who received which object versions of which collection, through which endpoint.
    static func readEvent(_ principal: Principal, collection: String, endpoint: String, versions: [StoredVersion]) -> AuditEvent {
        let detail = versionsDetail([("collection", collection), ("endpoint", endpoint)], versions.map { ($0.id, $0.version) })
        return AuditEvent(at: SQLiteObjectStore.now(), org: principal.org, user: principal.user, action: "read", detailJSON: detail)
    }

    /// A detail object of string (or null) fields and a `versions` list of [id, version] pairs, built as bytes
    /// directly: reads and writes list up to a thousand versions, on every request.
    static func versionsDetail(_ fields: [(String, String?)], _ versions: [(String, String?)]) -> [UInt8] {
        var detail: [UInt8] = [UInt8(ascii: "{")]
        detail.reserveCapacity(64 + versions.count * 96)
        for (key, value) in fields {
            JSONValue.writeEscaped(key, to: &detail)
            detail.append(UInt8(ascii: ":"))
            if let value { JSONValue.writeEscaped(value, to: &detail) } else { detail += Array("null".utf8) }
            detail.append(UInt8(ascii: ","))
        }
        detail += Array(#""versions":["#.utf8)
        for (i, (id, version)) in versions.enumerated() {
            if i > 0 { detail.append(UInt8(ascii: ",")) }
            detail.append(UInt8(ascii: "["))
            JSONValue.writeEscaped(id, to: &detail)
            detail.append(UInt8(ascii: ","))
            if let version { JSONValue.writeEscaped(version, to: &detail) } else { detail += Array("null".utf8) }
            detail.append(UInt8(ascii: "]"))
        }
        detail += Array("]}".utf8)
        return detail
    }

    /// An event with a detail object built from pairs.
    public static func event(_ action: String, by principal: Principal?, _ detail: KeyValuePairs<String, JSONValue>) -> AuditEvent {
        AuditEvent(at: SQLiteObjectStore.now(), org: principal?.org, user: principal?.user, action: action, detail: JSONObject(detail))
    }
}
