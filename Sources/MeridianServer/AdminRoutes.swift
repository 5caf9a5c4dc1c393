import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Policy
import STIX
import TAXII

/// The admin API of a node, for users with the admin role in the owner org: register releasability markings and
/// ask the sharing policy why an org can or cannot read an object. Errors are TAXII error objects.
struct AdminRoutes: Sendable {
    let node: MeridianNode
    let taxii: TAXIIRoutes

    func register(on router: Router<BasicRequestContext>) {
        // POST {"name": "REL TO nato", "releasable_to": ["nato", "AUS"]} -> 201 with the marking-definition.
        router.post("/admin/markings/") { request, context in
            await taxii.respond(request, context) { principal in
                try requireAdmin(principal)
                let body = try await request.body.collect(upTo: 64 * 1024)
                guard let value = try? JSONParser().parse(Array(buffer: body)), case .object(let o) = value else {
                    throw TAXIIError.badRequest("the body must be a JSON object with 'name' and 'releasable_to'")
                }
                guard let name = o["name"]?.stringValue else { throw TAXIIError.badRequest("'name' must be a string") }
                guard let entries = o["releasable_to"]?.arrayValue, entries.allSatisfy({ $0.stringValue != nil }) else {
                    throw TAXIIError.badRequest("'releasable_to' must be a list of strings")
                }
                do {
                    let definition = try await node.createReleasabilityMarking(name: name, releasableTo: entries.compactMap(\.stringValue),
                                                                               by: principal)
                    return taxii.json(definition, status: .created)
                } catch let problem as MeridianNode.AdminProblem {
                    throw TAXIIError.unprocessable(problem.description)
                }
            }
        }
        // GET ?object=ID&org=ORG (org omitted: anonymous) -> each stored version with the decision and its rule.
        router.get("/admin/explain/") { request, context in
            await taxii.respond(request, context) { principal in
                try requireAdmin(principal)
                var object: String?
                var org: String?
                for (name, value) in try TAXIIRoutes.parameters(request) {
                    switch name {
                    case "object" where object == nil: object = value
                    case "org" where org == nil: org = value
                    default: throw TAXIIError.badRequest("unknown or repeated query parameter '\(name)'; expected object and org")
                    }
                }
                guard let object else { throw TAXIIError.badRequest("the 'object' parameter (an object id) is required") }
                if let org, !node.configuration.orgs.contains(where: { $0.id == org }) {
                    throw TAXIIError.badRequest("org '\(org)' is not an org of this node")
                }
                let explanations = try await node.explain(objectID: object, org: org)
                var out = JSONObject()
                out["object"] = .string(object)
                out["org"] = org.map(JSONValue.string) ?? .null
                out["kind"] = org.flatMap(node.partnership.kind(of:)).map { .string($0.rawValue) } ?? .null
                out["versions"] = .array(explanations.map { e in
                    var v = JSONObject()
                    v["collection"] = .string(e.collection)
                    v["version"] = e.version.map(JSONValue.string) ?? .null
                    v["date_added"] = .string(TAXIITimestamp.format(e.dateAdded))
                    v["submitted_by"] = e.submittedBy.map(JSONValue.string) ?? .null
                    v["received_from"] = e.receivedFrom.map(JSONValue.string) ?? .null
                    v["allowed"] = .bool(e.decision.allowed)
                    v["rule"] = .string(e.decision.rule.rawValue)
                    v["explanation"] = .string(e.decision.rule.explanation)
                    if let detail = e.decision.detail { v["detail"] = .string(detail) }
                    return .object(v)
                })
                return taxii.json(.object(out))
            }
        }
    }

    func requireAdmin(_ principal: Principal) throws(TAXIIError) {
        if principal.isAnonymous { throw .unauthorized }
        guard principal.isAdmin else { throw .forbidden }
    }
}
