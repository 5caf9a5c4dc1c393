import Foundation
import Metrics
import STIX
import STIXValidation
import Storage
import TAXII

/// Turns a posted envelope into stored object versions: each object is validated on its own; the valid ones are
/// stored together in one transaction (a failed request stores nothing), the invalid ones listed with the reason.
struct Ingest: Sendable {
    struct Failure: Error, Sendable {
        let entry: StatusResource.Entry
    }

    let validator: Validator
    let store: any ObjectStore

    func add(_ body: [UInt8], to collection: String, provenance: Provenance) async throws -> StatusResource {
        let parser = JSONParser()
        let document: JSONDocument
        do {
            document = try parser.parseDocument(body, retainElements: false)
        } catch {
            throw TAXIIError.badRequest("the body is not valid JSON: \(error)")
        }
        guard case .object(let envelope) = document.root, case .array? = envelope["objects"] else {
            throw TAXIIError.unprocessable("the body must be a TAXII envelope: an object with an 'objects' list")
        }
        var status = StatusResource(id: UUID().uuidString.lowercased(), requestTimestamp: SQLiteObjectStore.now())
        let ranges = document.elementRanges
        let validator = self.validator
        // Each object is parsed and validated on its own, on every core.
        let checked: [Result<(IncomingObject, StatusResource.Entry), Failure>] = concurrentMap(
            count: ranges.count, concurrency: ProcessInfo.processInfo.activeProcessorCount
        ) { i in
            let value = (try? parser.parse(body, range: ranges[i])) ?? .null
            let id = value["id"]?.stringValue ?? ""
            let version = value["modified"]?.stringValue ?? value["created"]?.stringValue
            guard case .object(let object) = value else {
                return .failure(Failure(entry: .init(id: id, version: nil, message: "not a STIX object: each entry of 'objects' must be a JSON object")))
            }
            let result = validator.validate(value)
            if let first = result.errors.first {
                let more = result.errors.count > 1 ? " (and \(result.errors.count - 1) more)" : ""
                let path = first.path.components.isEmpty ? "" : first.path.description + ": "
                return .failure(Failure(entry: .init(id: id, version: version, message: "\(path)\(first.message) [\(first.check)]\(more)")))
            }
            guard let incoming = IncomingObject(object: object, bytes: Array(body[ranges[i]])) else {
                return .failure(Failure(entry: .init(id: id, version: version, message: "an object needs string 'id' and 'type'")))
            }
            return .success((incoming, .init(id: id, version: version, message: nil)))
        }
        var accepted: [(IncomingObject, StatusResource.Entry)] = []
        for outcome in checked {
            switch outcome {
            case .success(let ok): accepted.append(ok)
            case .failure(let failure): status.failures.append(failure.entry)
            }
        }
        if !accepted.isEmpty {
            let outcomes = try await store.add(accepted.map(\.0), to: collection, provenance: provenance)
            status.successes = accepted.map(\.1)
            Counter(label: "meridian_objects_stored_total").increment(by: outcomes.filter { $0 != .duplicate }.count)
        }
        if !status.failures.isEmpty { Counter(label: "meridian_objects_rejected_total").increment(by: status.failures.count) }
        return status
    }
}
