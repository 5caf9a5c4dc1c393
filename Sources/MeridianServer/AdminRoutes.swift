import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Policy
import STIX
import Storage
import TAXII

/// The admin API of a node, for users with the admin role in the owner org: register releasability markings and
/// ask the sharing policy why an org can or cannot read an object. Errors are TAXII error objects.
struct AdminRoutes: Sendable {
    let node: MeridianNode
    let taxii: TAXIIRoutes

    func register(on router: Router<MeridianRequestContext>) {
        registerAccounts(on: router)
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

    /// Users and tokens: the operations of `meridian user` and `meridian token`, each recorded in the audit log with the
    /// admin who made it.
    func registerAccounts(on router: Router<MeridianRequestContext>) {
        router.get("/admin/users/") { request, context in
            await taxii.respond(request, context) { principal in
                try requireAdmin(principal)
                let users = try await node.accounts.users()
                let tokens = Dictionary(grouping: try await node.accounts.tokens(), by: \.user)
                return taxii.json(.object(JSONObject(["users": .array(users.map { user in
                    .object(JSONObject([
                        "name": .string(user.name), "org": .string(user.org), "admin": .bool(user.isAdmin),
                        "disabled": .bool(user.isDisabled), "created": .string(TAXIITimestamp.format(user.createdAt)),
                        "tokens": .number(JSONNumber(Int64(tokens[user.name]?.count ?? 0))),
                    ]))
                })])))
            }
        }
        router.delete("/admin/users/:name/") { request, context in
            await taxii.respond(request, context) { principal in
                try requireAdmin(principal)
                let name = try context.parameters.require("name")
                try await accountOperation { try await node.removeUser(name, by: principal) }
                return taxii.json(.object(JSONObject(["removed": .string(name)])))
            }
        }
        for (action, disabled) in [("disable", true), ("enable", false)] {
            router.post("/admin/users/:name/\(action)/") { request, context in
                await taxii.respond(request, context) { principal in
                    try requireAdmin(principal)
                    let name = try context.parameters.require("name")
                    try await accountOperation { try await node.setUserDisabled(name, disabled, by: principal) }
                    return taxii.json(.object(JSONObject(["user": .string(name), "disabled": .bool(disabled)])))
                }
            }
        }
        router.get("/admin/tokens/") { request, context in
            await taxii.respond(request, context) { principal in
                try requireAdmin(principal)
                var user: String? = nil
                for (name, value) in try TAXIIRoutes.parameters(request) {
                    guard name == "user", user == nil else { throw TAXIIError.badRequest("unknown or repeated query parameter '\(name)'; expected user") }
                    user = value
                }
                let now = SQLiteObjectStore.now()
                return taxii.json(.object(JSONObject(["tokens": .array(try await node.accounts.tokens(of: user).map { token in
                    .object(JSONObject([
                        "id": .string(token.id), "user": .string(token.user), "created": .string(TAXIITimestamp.format(token.createdAt)),
                        "expires": token.expiresAt.map { .string(TAXIITimestamp.format($0)) } ?? .null,
                        "expired": .bool(token.isExpired(at: now)), "kind": .string(token.isSession ? "session" : "api"),
                    ]))
                })])))
            }
        }
        // POST {"user": "alice", "expires": "90d"} -> 201 {"token": "mrd_...", ...}; the token is shown this once.
        router.post("/admin/tokens/") { request, context in
            await taxii.respond(request, context) { principal in
                try requireAdmin(principal)
                let body = try await request.body.collect(upTo: 16 * 1024)
                guard let value = try? JSONParser().parse(Array(buffer: body)), case .object(let o) = value,
                    let user = o["user"]?.stringValue
                else { throw TAXIIError.badRequest("the body must be a JSON object with 'user' (and optionally 'expires', such as \"90d\")") }
                var lifetime: TimeInterval? = nil
                if let expires = o["expires"], expires != .null {
                    guard let text = expires.stringValue, let seconds = MeridianNode.duration(text) else {
                        throw TAXIIError.badRequest("'expires' must be a duration such as \"90d\", \"12h\", \"30m\" or \"3600s\"")
                    }
                    lifetime = seconds
                }
                let token = try await accountOperation { try await node.issueToken(for: user, lifetime: lifetime, by: principal) }
                return taxii.json(.object(JSONObject(["token": .string(token), "id": .string(APIToken(token)?.id ?? ""), "user": .string(user)])),
                                  status: .created)
            }
        }
        router.delete("/admin/tokens/:token/") { request, context in
            await taxii.respond(request, context) { principal in
                try requireAdmin(principal)
                let id = try context.parameters.require("token")
                let token = try await accountOperation { try await node.revokeToken(id, by: principal) }
                return taxii.json(.object(JSONObject(["revoked": .string(token.id), "user": .string(token.user)])))
            }
        }
    }

    /// Runs an account operation, its refusal as a TAXII error: 404 for an unknown user or token, 409 for an
    /// ambiguous or conflicting one, 422 for an invalid request.
    func accountOperation<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let problem as MeridianNode.AccountProblem {
            switch problem.kind {
            case .notFound: throw TAXIIError(status: 404, title: "Not found", description: problem.description)
            case .conflict: throw TAXIIError(status: 409, title: "Conflict", description: problem.description)
            case .invalid: throw TAXIIError.unprocessable(problem.description)
            }
        }
    }

    func requireAdmin(_ principal: Principal) throws(TAXIIError) {
        if principal.isAnonymous { throw .unauthorized }
        guard principal.isAdmin else { throw .forbidden }
    }
}
