import Foundation
import Metrics
import STIX
import STIXValidation
import Storage
import TAXII

/// Turns a posted envelope into stored object versions: each object is validated on its own; the valid ones are
/// stored together in one transaction (a failed request stores nothing), the invalid ones listed with the reason.
struct Ingest: Sendable {
    let node: MeridianNode

    func add(_ body: [UInt8], to collection: String, by principal: Principal, provenance: Provenance) async throws -> StatusResource {
        let parser = JSONParser()
        let document: JSONDocument
        do {
            // The objects are only delimited here; each is parsed once, below, on every core.
            document = try parser.skimDocument(body)
        } catch {
            throw TAXIIError.badRequest("the body is not valid JSON: \(error)")
        }
        guard case .object(let envelope) = document.root, case .array? = envelope["objects"] else {
            throw TAXIIError.unprocessable("the body must be a TAXII envelope: an object with an 'objects' list")
        }
        var status = StatusResource(id: UUID().uuidString.lowercased(), requestTimestamp: SQLiteObjectStore.now())
        let ranges = document.elementRanges
        let validator = node.validator
        // Each object is parsed and validated on its own, on every core.
        let checked = concurrentMap(count: ranges.count, concurrency: ProcessInfo.processInfo.activeProcessorCount) { i in
            ObjectCheck.check(body, range: ranges[i], index: i, parser: parser, validator: validator)
        }
        // A document with an object that is not JSON is malformed as a whole: nothing of it is stored.
        if let problem = ObjectCheck.syntaxError(checked) { throw TAXIIError.badRequest("the body is not valid JSON: \(problem)") }
        var accepted: [(IncomingObject, StatusResource.Entry)] = []
        for outcome in checked {
            switch outcome {
            case .success(let incoming):
                accepted.append((incoming, .init(id: incoming.id, version: incoming.version?.text, message: nil)))
            case .failure(let r):
                status.failures.append(.init(id: r.id, version: r.version, message: r.reason))
            }
        }
        if !accepted.isEmpty {
            let objects = accepted.map(\.0)
            let outcomes = try await node.write(objects, to: collection, by: principal, provenance: provenance)
            status.successes = accepted.map(\.1)
            Counter(label: "meridian_objects_stored_total").increment(by: outcomes.filter { $0 != .duplicate }.count)
        }
        if !status.failures.isEmpty { Counter(label: "meridian_objects_rejected_total").increment(by: status.failures.count) }
        return status
    }
}
