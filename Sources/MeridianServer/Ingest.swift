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
        let maxObjects = node.configuration.maxObjectsPerRequest
        do {
            // The objects are only delimited here (and counted: past the limit, nothing more is read); each is parsed
            // once, below, on every core.
            var limits = JSONLimits.default
            limits.maxElements = maxObjects
            document = try JSONParser(limits: limits).skimDocument(body)
        } catch let error where error.reason == .tooManyElements(limit: maxObjects) {
            throw TAXIIError(status: 413, title: "Too many objects",
                             description: "the envelope holds more than \(maxObjects) objects; post at most \(maxObjects) per request")
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
        var accepted: [IncomingObject] = []
        var acceptedPositions: [Int] = []
        for (i, outcome) in checked.enumerated() {
            switch outcome {
            case .success(let incoming):
                accepted.append(incoming)
                acceptedPositions.append(i)
            case .failure(let r):
                // Every rejection names the object's position in `objects` (and its id, when it has one).
                status.failures.append(.init(id: r.id.isEmpty ? "object #\(i)" : r.id, version: r.version, message: "object #\(i): \(r.reason)"))
            }
        }
        // An object may have at most max_versions_per_object versions here: further ones are refused, by position.
        if !accepted.isEmpty {
            let over = try await node.overVersionLimit(accepted, in: collection, submittedBy: provenance.submittedBy)
            if !over.isEmpty {
                for (k, reason) in over.sorted(by: { $0.key < $1.key }) {
                    let i = acceptedPositions[k]
                    status.failures.append(.init(id: accepted[k].id, version: accepted[k].version?.text, message: "object #\(i): \(reason)"))
                }
                accepted = accepted.indices.filter { over[$0] == nil }.map { accepted[$0] }
            }
        }
        if !accepted.isEmpty {
            let outcomes = try await node.write(accepted, to: collection, by: principal, provenance: provenance)
            let versions = try await self.versions(of: accepted, outcomes, in: collection, for: principal, requested: status.requestTimestamp)
            status.successes = zip(accepted, versions).map { .init(id: $0.id, version: $1, message: nil) }
            Counter(label: "meridian_objects_stored_total").increment(by: outcomes.filter { $0 != .duplicate }.count)
        }
        if !status.failures.isEmpty { Counter(label: "meridian_objects_rejected_total").increment(by: status.failures.count) }
        return status
    }

    /// Each stored object's version as the manifest shows it (TAXII 2.1 §4.3.1): `modified` or `created`, and for an
    /// object with neither (most SCOs) its `date_added`. The `date_added` of an unversioned object that was already
    /// stored is read through the read gate as the poster; one it may not read gets the request's timestamp, so the
    /// answer says nothing of when another org stored it.
    func versions(of objects: [IncomingObject], _ outcomes: [AddOutcome], in collection: String, for principal: Principal,
                  requested: Int64) async throws -> [String] {
        var versions = objects.map { $0.version?.text ?? TAXIITimestamp.format(requested) }
        var lookups: [Int] = []
        for (i, outcome) in outcomes.enumerated() where objects[i].version == nil {
            switch outcome {
            case .stored(let dateAdded): versions[i] = TAXIITimestamp.format(dateAdded)
            case .duplicate: lookups.append(i)
            }
        }
        guard !lookups.isEmpty, let config = node.collection(collection) else { return versions }
        let ids = Set(lookups.map { objects[$0].id })
        var added: [String: Int64] = [:]
        do {
            try await node.forEachPage(of: config, query: ObjectQuery(ids: ids, versions: .all), withBytes: false, for: principal,
                                       endpoint: "status", audited: false) { page in
                for v in page.versions where v.version == nil { added[v.id] = v.dateAdded }
            }
        } catch is MeridianNode.ReadRefused {
            // A write-only poster reads nothing: the request's timestamp stands.
        }
        for i in lookups { if let d = added[objects[i].id] { versions[i] = TAXIITimestamp.format(d) } }
        return versions
    }
}
