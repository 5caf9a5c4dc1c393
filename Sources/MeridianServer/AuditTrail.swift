import Foundation
import Logging
import STIX
import Storage

/// Feeds the audit log: writes and admin changes are recorded before the caller answers; reads are batched and
/// flushed within 50 milliseconds (and at shutdown), so auditing costs a read one append to a queue.
public actor AuditTrail {
    let log: AuditLog
    let recordsReads: Bool
    private var pending: [AuditEvent] = []
    private var flushScheduled = false
    private let logger = Logger(label: "meridian.audit")

    init(log: AuditLog, recordsReads: Bool) {
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
    /// Built as bytes directly: a page can list a thousand versions, and this runs on every read.
    static func readEvent(_ principal: Principal, collection: String, endpoint: String, versions: [StoredVersion]) -> AuditEvent {
        var detail: [UInt8] = []
        detail.reserveCapacity(64 + versions.count * 96)
        detail += Array(#"{"collection":"#.utf8)
        JSONValue.writeEscaped(collection, to: &detail)
        detail += Array(#","endpoint":"#.utf8)
        JSONValue.writeEscaped(endpoint, to: &detail)
        detail += Array(#","versions":["#.utf8)
        for (i, v) in versions.enumerated() {
            if i > 0 { detail.append(UInt8(ascii: ",")) }
            detail.append(UInt8(ascii: "["))
            JSONValue.writeEscaped(v.id, to: &detail)
            detail.append(UInt8(ascii: ","))
            if let version = v.version { JSONValue.writeEscaped(version, to: &detail) } else { detail += Array("null".utf8) }
            detail.append(UInt8(ascii: "]"))
        }
        detail += Array("]}".utf8)
        return AuditEvent(at: SQLiteObjectStore.now(), org: principal.org, user: principal.user, action: "read", detailJSON: detail)
    }

    /// An event with a detail object built from pairs.
    public static func event(_ action: String, by principal: Principal?, _ detail: KeyValuePairs<String, JSONValue>) -> AuditEvent {
        AuditEvent(at: SQLiteObjectStore.now(), org: principal?.org, user: principal?.user, action: action, detail: JSONObject(detail))
    }
}
