import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Policy
import STIX
import STIXValidation
import Storage
import TAXII

/// The TAXII 2.1 endpoints (§4, §5) of a node, and how every API surface of the node answers a request: limits,
/// credentials, and errors as TAXII error resources (``respond(_:_:accepting:_:)``).
public struct TAXIIRoutes: Sendable {
    let node: MeridianNode

    public init(node: MeridianNode) {
        self.node = node
    }

    func register(on router: Router<MeridianRequestContext>) {
        router.get("/taxii2/") { request, context in await respond(request, context) { principal in try await discovery(principal) } }
        router.get("/:root/") { request, context in
            await respond(request, context) { _ in try apiRoot(context.parameters.require("root")) }
        }
        router.get("/:root/status/:status/") { request, context in
            await respond(request, context) { principal in
                try await status(context.parameters.require("root"), context.parameters.require("status"), principal)
            }
        }
        router.get("/:root/collections/") { request, context in
            await respond(request, context) { principal in try collections(context.parameters.require("root"), principal) }
        }
        router.get("/:root/collections/:collection/") { request, context in
            await respond(request, context) { principal in
                let (c, access) = try resolve(context, principal)
                return json(Self.collectionResource(c, access))
            }
        }
        router.get("/:root/collections/:collection/objects/") { request, context in
            await respond(request, context) { principal in try await objects(request, context, principal, id: nil) }
        }
        router.post("/:root/collections/:collection/objects/") { request, context in
            await respond(request, context) { principal in try await add(request, context, principal) }
        }
        router.get("/:root/collections/:collection/objects/:object/") { request, context in
            await respond(request, context) { principal in
                try await objects(request, context, principal, id: context.parameters.require("object"))
            }
        }
        router.delete("/:root/collections/:collection/objects/:object/") { request, context in
            await respond(request, context) { principal in try await delete(request, context, principal) }
        }
        router.get("/:root/collections/:collection/objects/:object/versions/") { request, context in
            await respond(request, context) { principal in try await versions(request, context, principal) }
        }
        // Meridian's extension beside TAXII: the versions deleted from a collection, for peers that copied them.
        router.get("/:root/collections/:collection/deletions/") { request, context in
            await respond(request, context) { principal in try await deletions(request, context, principal) }
        }
        // And the versions that policy changes made readable by the caller after it had paged past them.
        router.get("/:root/collections/:collection/visibility/") { request, context in
            await respond(request, context) { principal in try await visibility(request, context, principal) }
        }
        router.get("/:root/collections/:collection/manifest/") { request, context in
            await respond(request, context) { principal in try await manifest(request, context, principal) }
        }
    }

    // MARK: - The common path of every TAXII request

    /// Checks Accept, authenticates, runs `handler`, and turns any failure into a TAXII error resource: the one place
    /// where errors become responses. Unexpected errors are logged and answered with a generic 500.
    /// Answers a request: its Accept header checked (by `accepting`, the TAXII media type by default), the
    /// configuration refreshed, the caller authenticated, then `handler`; any failure as a TAXII error object.
    /// Answers `request` with `handler` once the request limits have admitted it and its credentials are known; a
    /// thrown ``TAXIIError`` becomes its error resource, any other error a 500 that tells nothing.
    public func respond(_ request: Request, _ context: MeridianRequestContext, accepting: (String?) -> Bool = MediaType.accepts,
                        _ handler: (Principal) async throws -> Response) async -> Response {
        do {
            guard accepting(request.headers[.accept]) else { throw TAXIIError.notAcceptable }
            // A changed meridian.toml applies before this request is decided.
            try await node.refreshConfiguration()
            let address = context.clientAddress
            let limiter = node.limiter
            let authorization = request.headers[.authorization]
            let presented = authorization.map(Authenticator.presentedName)
            do {
                try await limiter.admit(address: address, presenting: presented)
            } catch {
                throw TAXIIError.tooManyRequests(error.reason, retryAfter: error.retryAfter)
            }
            let principal: Principal
            do {
                principal = try await node.authenticator.principal(authorization: authorization, from: address)
            } catch let refused as Authenticator.Refused {
                context.logger.warning("sign-in refused", metadata: ["attempted": "\(refused.attempted)", "address": "\(address)"])
                await limiter.signInFailed(name: presented ?? refused.attempted, address: address)
                throw TAXIIError.refusedCredentials
            }
            guard !principal.isAnonymous else { return try await handler(principal) }
            let account = "\(principal.org)\u{1}\(principal.user ?? "")"
            do {
                try await limiter.admit(account: account, signedInAs: presented, from: address)
            } catch {
                throw TAXIIError.tooManyRequests(error.reason, retryAfter: error.retryAfter)
            }
            do {
                let response = try await handler(principal)
                await limiter.finish(account: account)
                return response
            } catch {
                await limiter.finish(account: account)
                throw error
            }
        } catch let error as TAXIIError {
            return Self.errorResponse(error)
        } catch let error as StorageUnavailable {
            // The database is restarting or out of reach: nothing of the request was stored, and the pool reconnects
            // by itself when it is back.
            context.logger.error("request refused: \(error.description)")
            return Self.errorResponse(TAXIIError(status: 503, title: "Database unavailable",
                                                 description: "the node cannot reach its database now; nothing of this request was stored; try again later",
                                                 retryAfter: 5))
        } catch where StorageError.isDiskFull(error) {
            // Nothing of the write was stored (its transaction rolled back); reads go on, and writes work again as
            // soon as space is freed.
            context.logger.error("write refused: the disk holding the database is full; free space on it")
            return Self.errorResponse(TAXIIError(status: 503, title: "Storage full",
                                                 description: "the node cannot store anything now (its disk is full); nothing of this request was stored; try again later"))
        } catch {
            context.logger.error("request failed: \(String(describing: type(of: error)))")
            return Self.errorResponse(TAXIIError(status: 500, title: "Internal error", description: "the server could not complete the request"))
        }
    }

    static func errorResponse(_ error: TAXIIError) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = MediaType.taxii
        if error.status == 401 { headers[.wwwAuthenticate] = #"Basic realm="Meridian", Bearer realm="Meridian""# }
        if let retryAfter = error.retryAfter { headers[.retryAfter] = String(retryAfter) }
        // The rest of a refused or late body is not read: the client is told the connection ends with this answer.
        if error.status == 413 || error.status == 408 { headers[.connection] = "close" }
        return Response(status: .init(code: error.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: error.json)))
    }

    public func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = HTTPFields()) -> Response {
        bytes(Array(value.serialized().utf8), status: status, headers: extra)
    }

    func bytes(_ body: [UInt8], status: HTTPResponse.Status = .ok, headers extra: HTTPFields = HTTPFields()) -> Response {
        var headers = extra
        headers[.contentType] = MediaType.taxii
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The query parameters as (name, value) pairs in order, names and values percent-decoded.
    static func parameters(_ request: Request) throws(TAXIIError) -> [(String, String)] {
        guard let query = request.uri.query, !query.isEmpty else { return [] }
        var out: [(String, String)] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(kv[0]), let value = decode(kv.count > 1 ? kv[1] : "") else {
                throw .badRequest("the query string is not valid percent-encoded UTF-8")
            }
            out.append((name, value))
        }
        return out
    }

    static func decode(_ s: Substring) -> String? {
        // Most names and values hold nothing to decode (`limit`, `100`, ids, types).
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(s) }
        return String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    // MARK: - Server and API root

    func root(_ path: String) throws(TAXIIError) -> NodeConfiguration.APIRoot {
        guard let root = node.configuration.api_roots.first(where: { $0.path == path }) else { throw .notFound }
        return root
    }

    func discovery(_ principal: Principal) async throws -> Response {
        var o = JSONObject()
        o["title"] = .string(node.configuration.node.title)
        if let d = node.configuration.node.description { o["description"] = .string(d) }
        if let c = node.configuration.node.contact { o["contact"] = .string(c) }
        let roots = node.configuration.api_roots.map { JSONValue.string("/\($0.path)/") }
        if let first = roots.first { o["default"] = first }
        o["api_roots"] = .array(roots)
        // A custom property (TAXII 2.1 allows them, prefixed x_): the keys this node signs its audit checkpoints with,
        // so that a partner's TAXII client learns them where it learns the node (docs/TRANSPARENCY.md).
        o["x_meridian_signing_keys"] = .array(try await node.checkpointStore.keys().map(MeridianNode.keyJSON))
        o["x_meridian_checkpoints"] = .string("/transparency/checkpoints/")
        return json(.object(o))
    }

    func apiRoot(_ path: String) throws -> Response {
        let root = try root(path)
        var o = JSONObject()
        o["title"] = .string(root.title)
        if let d = root.description { o["description"] = .string(d) }
        o["versions"] = .array([.string(MediaType.taxii)])
        o["max_content_length"] = .number(JSONNumber(Int64(node.configuration.maxContentLength)))
        return json(.object(o))
    }

    func status(_ rootPath: String, _ id: String, _ principal: Principal) async throws -> Response {
        _ = try root(rootPath)
        // Visible only to the org that made the request; anything else looks like a status that does not exist.
        guard let org = principal.org, let record = try await node.store.status(id.lowercased()), record.apiRoot == rootPath,
            record.owner == org
        else { throw principal.isAnonymous ? TAXIIError.unauthorized : TAXIIError.notFound }
        return bytes(record.json)
    }

    // MARK: - Collections

    static func collectionResource(_ c: NodeConfiguration.Collection, _ access: CollectionAccess) -> JSONValue {
        var o = JSONObject()
        o["id"] = .string(c.id.lowercased())
        o["title"] = .string(c.title)
        if let d = c.description { o["description"] = .string(d) }
        if let a = c.alias { o["alias"] = .string(a) }
        o["can_read"] = .bool(access.canRead)
        o["can_write"] = .bool(access.canWrite)
        o["media_types"] = .array([.string(MediaType.stix)])
        return .object(o)
    }

    func collections(_ rootPath: String, _ principal: Principal) throws -> Response {
        _ = try root(rootPath)
        let visible = node.collections(in: rootPath, for: principal)
        // Without credentials and without a public collection, the caller is asked for credentials rather than shown
        // an empty list that looks like a node with nothing in it.
        if visible.isEmpty && principal.isAnonymous { throw TAXIIError.unauthorized }
        var o = JSONObject()
        if !visible.isEmpty { o["collections"] = .array(visible.map { Self.collectionResource($0.0, $0.1) }) }
        return json(.object(o))
    }

    /// The collection named in the path, if the principal may see it at all; otherwise 404 (401 when anonymous),
    /// exactly as for a collection that does not exist.
    func resolve(_ context: MeridianRequestContext, _ principal: Principal) throws -> (NodeConfiguration.Collection, CollectionAccess) {
        let rootPath = try context.parameters.require("root")
        _ = try root(rootPath)
        guard let c = node.collection(try context.parameters.require("collection"), in: rootPath) else {
            throw principal.isAnonymous ? TAXIIError.unauthorized : TAXIIError.notFound
        }
        let access = node.access(principal, to: c)
        guard access.isVisible else { throw principal.isAnonymous ? TAXIIError.unauthorized : TAXIIError.notFound }
        return (c, access)
    }

    /// The collection, which the principal must be able to read (403 for write-only callers, whatever the object).
    func readable(_ context: MeridianRequestContext, _ principal: Principal) throws -> NodeConfiguration.Collection {
        let (c, access) = try resolve(context, principal)
        guard access.canRead else { throw TAXIIError.forbidden }
        return c
    }

    // MARK: - Reads

    func page(_ request: Request, _ collection: NodeConfiguration.Collection, _ principal: Principal, endpoint: Filter.Endpoint,
              id: String?, withBytes: Bool) async throws -> (ObjectPage, Filter) {
        var filter = try Filter(try Self.parameters(request), endpoint: endpoint, defaultLimit: node.configuration.maxPageSize,
                                maxLimit: node.configuration.maxPageSize)
        if let id { filter.query.ids = [id] }
        if let cursor = filter.cursor { filter.query.addedAfter = max(filter.query.addedAfter ?? Int64.min, cursor) }
        let page = try await node.read(collection, query: filter.query, limit: filter.limit, withBytes: withBytes, for: principal,
                                       endpoint: "\(endpoint)")
        return (page, filter)
    }

    /// The envelope around the page's stored bytes, which go out as the store read them (no decoding, no copy);
    /// `fields` are further string members of the envelope.
    static func envelope(_ page: ObjectPage, next: String?, fields: [(String, String)] = []) -> ResponseBody {
        var head = ByteBuffer(string: page.more ? #"{"more":true"# : #"{"more":false"#)
        if page.more, let next { head.writeString(#","next":"# + JSONValue.quoted(next)) }
        for (name, value) in fields { head.writeString("," + JSONValue.quoted(name) + ":" + JSONValue.quoted(value)) }
        guard !page.versions.isEmpty else {
            head.writeInteger(UInt8(ascii: "}"))
            return ResponseBody(byteBuffer: head)
        }
        head.writeString(#","objects":["#)
        return ResponseBody(contentsOf: [head, page.objects, ByteBuffer(string: "]}")])
    }

    func dateHeaders(_ page: ObjectPage) -> HTTPFields {
        var headers = HTTPFields()
        if let (first, last) = Resources.dateAddedHeaders(page) {
            headers[HTTPField.Name("X-TAXII-Date-Added-First")!] = first
            headers[HTTPField.Name("X-TAXII-Date-Added-Last")!] = last
        }
        return headers
    }

    func objects(_ request: Request, _ context: MeridianRequestContext, _ principal: Principal, id: String?) async throws -> Response {
        let collection = try readable(context, principal)
        let (page, filter) = try await self.page(request, collection, principal, endpoint: id == nil ? .objects : .object, id: id,
                                                 withBytes: true)
        if id != nil, page.versions.isEmpty, filter.query.addedAfter == nil { throw TAXIIError.notFound }
        let next = page.more ? page.versions.last.map { Cursor.encode($0.dateAdded) } : nil
        var headers = dateHeaders(page)
        headers[.contentType] = MediaType.taxii
        return Response(status: .ok, headers: headers, body: Self.envelope(page, next: next))
    }

    func versions(_ request: Request, _ context: MeridianRequestContext, _ principal: Principal) async throws -> Response {
        let collection = try readable(context, principal)
        let id = try context.parameters.require("object")
        let (page, filter) = try await self.page(request, collection, principal, endpoint: .versions, id: id, withBytes: false)
        if page.versions.isEmpty, filter.query.addedAfter == nil { throw TAXIIError.notFound }
        return bytes(Resources.versions(page), headers: dateHeaders(page))
    }

    func manifest(_ request: Request, _ context: MeridianRequestContext, _ principal: Principal) async throws -> Response {
        let collection = try readable(context, principal)
        let (page, _) = try await self.page(request, collection, principal, endpoint: .manifest, id: nil, withBytes: false)
        return bytes(Resources.manifest(page), headers: dateHeaders(page))
    }

    func deletions(_ request: Request, _ context: MeridianRequestContext, _ principal: Principal) async throws -> Response {
        let collection = try readable(context, principal)
        var after: Int64 = 0
        var limit = 1000
        for (name, value) in try Self.parameters(request) {
            switch name {
            case "after":
                guard let v = Int64(value), v >= 0 else { throw TAXIIError.badRequest("'after' must be a non-negative integer cursor") }
                after = v
            case "limit":
                guard let v = Int(value), v >= 1 else { throw TAXIIError.badRequest("'limit' must be a positive integer") }
                limit = min(v, node.configuration.maxPageSize)
            default:
                throw TAXIIError.badRequest("unknown query parameter '\(name)'; expected after and limit")
            }
        }
        let (tombstones, next, more) = try await node.deletions(collection, after: after, limit: limit, for: principal)
        var o = JSONObject()
        o["more"] = .bool(more)
        o["next"] = .string(String(next))
        o["deletions"] = .array(tombstones.map { t in
            .object(JSONObject(["id": .string(t.id), "version": t.version.map(JSONValue.string) ?? .null]))
        })
        return json(.object(o))
    }

    /// `GET .../visibility/?after=N` (or `after=latest`, or `next=` from the page before): the versions the caller may
    /// read now that policy changes after the cursor `N` may have made visible (MeridianNode.visibleAfterPolicyChanges),
    /// as a TAXII envelope with `through`, the cursor to pass as `after` once `more` is false.
    func visibility(_ request: Request, _ context: MeridianRequestContext, _ principal: Principal) async throws -> Response {
        let collection = try readable(context, principal)
        var after: String?
        var next: String?
        var limit = node.configuration.maxPageSize
        for (name, value) in try Self.parameters(request) {
            switch name {
            case "after" where after == nil: after = value
            case "next" where next == nil: next = value
            case "limit":
                guard let v = Int(value), v >= 1 else { throw TAXIIError.badRequest("'limit' must be a positive integer") }
                limit = min(v, node.configuration.maxPageSize)
            default:
                throw TAXIIError.badRequest("unknown or repeated query parameter '\(name)'; expected after (or next) and limit")
            }
        }
        let cursor: MeridianNode.VisibilityCursor
        switch (after, next) {
        case (nil, let text?):
            guard let c = MeridianNode.VisibilityCursor(text) else { throw TAXIIError.badRequest("'next' is not a cursor this server gave") }
            cursor = c
        case ("latest"?, nil):
            let latest = try await node.latestPolicyChange()
            return bytes(Array(#"{"more":false,"through":"\#(latest)"}"#.utf8))
        case (let text?, nil):
            guard let n = Int64(text), n >= 0 else { throw TAXIIError.badRequest("'after' must be a non-negative integer cursor or 'latest'") }
            cursor = MeridianNode.VisibilityCursor(after: n, through: try await node.latestPolicyChange(), dateAdded: nil)
        default:
            throw TAXIIError.badRequest("give either 'after' (a cursor, or 'latest') or 'next'")
        }
        let (page, following) = try await node.visibleAfterPolicyChanges(collection, cursor: cursor, limit: limit, for: principal,
                                                                         endpoint: "visibility")
        var headers = dateHeaders(page)
        headers[.contentType] = MediaType.taxii
        return Response(status: .ok, headers: headers,
                        body: Self.envelope(page, next: following?.text, fields: [("through", String(cursor.through))]))
    }

    func delete(_ request: Request, _ context: MeridianRequestContext, _ principal: Principal) async throws -> Response {
        let (collection, _) = try resolve(context, principal)
        let id = try context.parameters.require("object")
        let filter = try Filter(try Self.parameters(request), endpoint: .delete, defaultLimit: 1, maxLimit: 1)
        let deleted: Int
        do {
            deleted = try await node.delete(id: id, from: collection, query: filter.query, for: principal)
        } catch MeridianNode.DeleteRefused.forbidden {
            throw TAXIIError.forbidden
        } catch MeridianNode.DeleteRefused.notFound {
            throw TAXIIError.notFound
        }
        context.logger.info("deleted \(deleted) version(s) of an object", metadata: ["collection": .string(collection.id)])
        return Response(status: .ok, headers: [.contentType: MediaType.taxii])
    }

    // MARK: - Writes

    /// What became of a request body.
    enum BodyRead {
        case complete(ByteBuffer)
        /// Longer than allowed; what followed was read and discarded up to a bound, so a client still sending it
        /// reaches its end and reads the answer instead of waiting on a server that no longer reads.
        case tooLarge
        /// Not complete in time.
        case late
    }

    /// Reads a body of at most `max` bytes within `timeout`, in one pass (a body can be iterated once). Past `max`, up
    /// to `discardBound` bytes are read and discarded, within the same time; a larger or slower body is left, and the
    /// answer says `Connection: close` (a silent connection also closes after `idle_timeout_seconds`).
    static func read(_ body: RequestBody, upTo max: Int, discarding discardBound: Int, within timeout: Duration) async -> BodyRead {
        let reading = Task { () throws -> BodyRead in
            var buffer = ByteBuffer()
            var discarded = 0
            for try await chunk in body {
                if discarded == 0 && buffer.readableBytes + chunk.readableBytes <= max {
                    var chunk = chunk
                    buffer.writeBuffer(&chunk)
                    continue
                }
                discarded += chunk.readableBytes + buffer.readableBytes
                buffer = ByteBuffer()
                if discarded > discardBound { return .tooLarge }
            }
            return discarded > 0 ? .tooLarge : .complete(buffer)
        }
        let deadline = Task {
            try await Task.sleep(for: timeout)
            reading.cancel()
        }
        defer { deadline.cancel() }
        let result = await reading.result
        switch result {
        case .success(.tooLarge): return .tooLarge
        case .success(let read) where !reading.isCancelled: return read
        default: return .late
        }
    }

    /// A POST's body, within `max_content_length` (413 past it) and `body_timeout_seconds` (408).
    public func body(of request: Request) async throws -> ByteBuffer {
        let max = node.configuration.maxContentLength
        let declared = request.headers[.contentLength].flatMap(Int.init)
        // A declared length over the limit is refused without keeping any of the body.
        switch await Self.read(request.body, upTo: declared.map { $0 > max } == true ? 0 : max,
                               discarding: Swift.min(Swift.max(max, 1 << 20), 64 << 20),
                               within: .seconds(node.configuration.bodyTimeoutSeconds)) {
        case .complete(let bytes) where declared.map({ $0 <= max }) ?? true: return bytes
        case .complete, .tooLarge: throw TAXIIError.tooLarge(max)
        case .late:
            throw TAXIIError(status: 408, title: "Request timeout",
                             description: "the body did not arrive within \(node.configuration.bodyTimeoutSeconds) seconds")
        }
    }

    func add(_ request: Request, _ context: MeridianRequestContext, _ principal: Principal) async throws -> Response {
        let (collection, access) = try resolve(context, principal)
        guard access.canWrite else { throw TAXIIError.forbidden }
        guard MediaType.isTAXII(contentType: request.headers[.contentType]) else { throw TAXIIError.unsupportedMediaType }
        let body = try await body(of: request)
        let ingest = Ingest(node: node)
        // An org flagged as a peer node that posts here is pushing: what it sends was received from it (SHARING.md).
        let isPeer = principal.org.map(node.partnership.isNode) ?? false
        let status = try await ingest.add(Array(buffer: body), to: collection.id.lowercased(), by: principal,
                                          provenance: Provenance(submittedBy: principal.org, receivedFrom: isPeer ? principal.org : nil))
        let record = StatusRecord(id: status.id, apiRoot: collection.api_root, owner: principal.org ?? "", json: status.json,
                                  createdAt: status.requestTimestamp)
        try await node.store.saveStatus(record)
        context.logger.info("objects posted", metadata: [
            "collection": .string(collection.id), "stored": .stringConvertible(status.successes.count),
            "rejected": .stringConvertible(status.failures.count),
        ])
        return bytes(status.json, status: .accepted)
    }
}
