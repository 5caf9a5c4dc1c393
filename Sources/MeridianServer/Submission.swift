import Foundation
import Policy
import STIX
import STIXValidation
import Storage
import TAXII

/// Objects a person makes through the web pages (a note, a report form) or uploads, stored under the same rules as
/// a TAXII POST by the same user: write access to the collection, validation against STIX 2.1, the version and
/// object limits, provenance and the audit log (``Ingest``).
extension MeridianNode {
    /// Why a submission was refused before anything was stored.
    public struct SubmissionRefused: Error, Sendable {
        /// Each object that breaks a rule, by id (or position) and the rule.
        public let problems: [(id: String, reason: String)]
    }

    /// Stores `objects` in `collection` as `principal`: all of them, or nothing (every object is checked first and
    /// ``SubmissionRefused`` lists those that break a rule). Returns the status of the write.
    public func submit(_ objects: [JSONValue], to collection: NodeConfiguration.Collection, by principal: Principal) async throws
        -> StatusResource
    {
        guard access(principal, to: collection).canWrite else { throw ReadRefused() }
        var problems: [(String, String)] = []
        for (i, object) in objects.enumerated() {
            let id = object["id"]?.stringValue ?? "object #\(i)"
            if let error = validator.validate(object, warnings: false).errors.first {
                let path = error.path.components.isEmpty ? "" : error.path.description + ": "
                problems.append((id, "\(path)\(error.message) [\(error.check)]"))
            } else if case .object(let o) = object, let redefinition = TLP.redefinition(in: o) {
                problems.append((id, redefinition))
            }
        }
        guard problems.isEmpty else { throw SubmissionRefused(problems: problems) }
        let status = try await upload(Array(JSONValue.object(JSONObject(["objects": .array(objects)])).serialized().utf8), to: collection, by: principal)
        guard status.failures.isEmpty else { throw SubmissionRefused(problems: status.failures.map { ($0.id, $0.message ?? "refused") }) }
        return status
    }

    /// Stores the objects of `body` (a STIX bundle or a TAXII envelope) in `collection` as a TAXII POST by
    /// `principal` would: the valid ones together, the others listed in the status with the rule they break.
    public func upload(_ body: [UInt8], to collection: NodeConfiguration.Collection, by principal: Principal) async throws -> StatusResource {
        guard access(principal, to: collection).canWrite else { throw ReadRefused() }
        // An org declared as a peer node that submits is pushing: what it sends was received from it (SHARING.md).
        let isPeer = principal.org.map(partnership.isNode) ?? false
        let status = try await Ingest(node: self).add(body, to: collection.id.lowercased(), by: principal,
                                                      provenance: Provenance(submittedBy: principal.org, receivedFrom: isPeer ? principal.org : nil))
        // The person who submitted sees what they made in search and on object pages at once, not after the
        // background indexer's next round.
        if !status.successes.isEmpty { try await indexForSearch() }
        return status
    }

    /// The collections `principal` may write to, in configuration order.
    public func writableCollections(for principal: Principal) -> [NodeConfiguration.Collection] {
        (configuration.collections ?? []).filter { access(principal, to: $0).canWrite }
    }

    /// The releasability markings the node knows, by id, with the orgs, groups and countries each names.
    public func releasabilityMarkings() async throws -> [(id: String, releasableTo: [String])] {
        let registry = try await policy().markings
        return registry.kinds.compactMap { id, kind in
            if case .releasability(let to) = kind { return (id, to) }
            return nil
        }.sorted { $0.id < $1.id }
    }
}
