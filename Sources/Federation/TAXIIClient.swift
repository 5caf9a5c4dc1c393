import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import STIX
import TAXII

/// Why a request to a peer failed. Messages name the peer's URL and the HTTP status, never object content.
public struct FederationError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case transport, http, malformed, tooLarge }
    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

/// How to authenticate to a peer.
public enum PeerCredentials: Sendable {
    case none
    case basic(user: String, password: String)
    case bearer(String)
}

/// A TAXII 2.1 client for one API root of a peer: object pages, posts and status resources, with limits on time and
/// size so that a misbehaving peer cannot stall or exhaust the node.
public final class TAXIIClient: Sendable {
    let http: HTTPClient
    /// The API root URL, ending with `/`.
    public let apiRoot: String
    let credentials: PeerCredentials
    let maxBody: Int
    let timeout: TimeAmount

    /// - Parameters:
    ///   - caFile: PEM certificates to trust instead of the system's.
    ///   - pinnedCertificate: a PEM certificate that alone is trusted (the peer's own, or the CA that issued it).
    public init(apiRoot: String, credentials: PeerCredentials, caFile: String? = nil, pinnedCertificate: String? = nil,
                maxBody: Int = 256 << 20, timeout: TimeAmount = .seconds(60)) throws {
        self.apiRoot = apiRoot.hasSuffix("/") ? apiRoot : apiRoot + "/"
        self.credentials = credentials
        self.maxBody = maxBody
        self.timeout = timeout
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let file = pinnedCertificate ?? caFile {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
        }
        let configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(10), read: timeout))
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// A response: status, headers and the whole body (refused past the size limit).
    public struct Response: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]

        /// The first value of a header.
        public func header(_ name: String) -> String? { headers.first(name: name) }
    }

    func request(_ url: String, method: HTTPMethod, body: [UInt8]? = nil) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: MediaType.taxii)
        switch credentials {
        case .none: break
        case .basic(let user, let password):
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        case .bearer(let token):
            request.headers.add(name: "Authorization", value: "Bearer " + token)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: MediaType.taxii)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw FederationError(.transport, "\(method) \(url): \(error)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: maxBody)
        } catch is NIOTooManyBytesError {
            throw FederationError(.tooLarge, "\(method) \(url): the response is larger than \(maxBody) bytes")
        } catch {
            throw FederationError(.transport, "\(method) \(url): \(error)")
        }
        return Response(status: Int(response.status.code), headers: response.headers, body: Array(buffer: buffer))
    }

    /// One page of a collection's objects (every version), after `addedAfter` or from a `next` cursor.
    public func objects(collection: String, addedAfter: String?, next: String?, limit: Int) async throws -> Response {
        var query = ["match%5Bversion%5D=all", "limit=\(limit)"]
        if let next { query.append("next=" + Self.encode(next)) }
        if let addedAfter { query.append("added_after=" + Self.encode(addedAfter)) }
        let url = apiRoot + "collections/\(Self.encode(collection))/objects/?" + query.joined(separator: "&")
        let response = try await request(url, method: .GET)
        guard response.status == 200 else { throw FederationError(.http, "GET \(url): HTTP \(response.status)") }
        return response
    }

    /// Posts an envelope; returns the status resource.
    public func add(collection: String, envelope: [UInt8]) async throws -> JSONValue {
        let url = apiRoot + "collections/\(Self.encode(collection))/objects/"
        let response = try await request(url, method: .POST, body: envelope)
        guard response.status == 202 else { throw FederationError(.http, "POST \(url): HTTP \(response.status)") }
        guard let status = try? JSONParser().parse(response.body) else { throw FederationError(.malformed, "POST \(url): the status is not JSON") }
        return status
    }

    /// Meridian's deletions extension: versions deleted from a collection after a cursor; nil when the peer does not
    /// offer it (any other TAXII server).
    public func deletions(collection: String, after: Int64) async throws -> JSONValue? {
        let url = apiRoot + "collections/\(Self.encode(collection))/deletions/?after=\(after)"
        let response = try await request(url, method: .GET)
        if response.status == 404 || response.status == 405 { return nil }
        guard response.status == 200 else { throw FederationError(.http, "GET \(url): HTTP \(response.status)") }
        guard let value = try? JSONParser().parse(response.body) else { throw FederationError(.malformed, "GET \(url): not JSON") }
        return value
    }

    /// The body of `url` (any URL, with this client's credentials and limits); an error unless it answers 200.
    public func fetch(_ url: String) async throws -> [UInt8] {
        let response = try await request(url, method: .GET)
        guard response.status == 200 else { throw FederationError(.http, "GET \(url): HTTP \(response.status)") }
        return response.body
    }

    /// A document of the peer's public transparency surface (`/transparency/<path>` at the API root's origin), such
    /// as its signed audit checkpoints; nil when the peer has none (404).
    public func transparency(_ path: String) async throws -> JSONValue? {
        guard let scheme = apiRoot.range(of: "://") else { throw FederationError(.transport, "\(apiRoot) is not a URL") }
        let rest = apiRoot[scheme.upperBound...]
        let origin = String(apiRoot[..<scheme.upperBound]) + String(rest.prefix { $0 != "/" })
        let url = origin + "/transparency/" + path
        let response = try await request(url, method: .GET)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw FederationError(.http, "GET \(url): HTTP \(response.status)") }
        guard let value = try? JSONParser().parse(response.body) else { throw FederationError(.malformed, "GET \(url): not JSON") }
        return value
    }

    /// Meridian's visibility extension: the versions the peer's policy changes after the cursor `after` (or
    /// `latest`) made readable by us, or the page after `next`, as the TAXII envelope the caller checks object by
    /// object; nil when the peer does not offer it.
    public func visibility(collection: String, after: String? = nil, next: String? = nil) async throws -> Response? {
        var url = apiRoot + "collections/\(Self.encode(collection))/visibility/?"
        if let after { url += "after=" + Self.encode(after) }
        if let next { url += "next=" + Self.encode(next) }
        let response = try await request(url, method: .GET)
        if response.status == 404 || response.status == 405 { return nil }
        guard response.status == 200 else { throw FederationError(.http, "GET \(url): HTTP \(response.status)") }
        return response
    }

    /// Deletes a version of an object at the peer (TAXII DELETE); returns the HTTP status.
    public func delete(collection: String, id: String, version: String?) async throws -> Int {
        var url = apiRoot + "collections/\(Self.encode(collection))/objects/\(Self.encode(id))/"
        if let version { url += "?match%5Bversion%5D=" + Self.encode(version) }
        return try await request(url, method: .DELETE).status
    }

    /// The collection resource (TAXII 2.1 §5.2); nil when the peer answers 404 (the collection does not exist for us).
    public func collection(_ id: String) async throws -> JSONValue? {
        let url = apiRoot + "collections/\(Self.encode(id))/"
        let response = try await request(url, method: .GET)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw FederationError(.http, "GET \(url): HTTP \(response.status)") }
        guard let value = try? JSONParser().parse(response.body) else { throw FederationError(.malformed, "GET \(url): not JSON") }
        return value
    }

    /// A status resource.
    public func status(_ id: String) async throws -> JSONValue {
        let url = apiRoot + "status/\(Self.encode(id))/"
        let response = try await request(url, method: .GET)
        guard response.status == 200 else { throw FederationError(.http, "GET \(url): HTTP \(response.status)") }
        guard let status = try? JSONParser().parse(response.body) else { throw FederationError(.malformed, "GET \(url): not JSON") }
        return status
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }
}
