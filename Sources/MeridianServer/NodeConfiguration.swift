import Foundation
import PostgreSQLStorage
import TOML
import Transparency
import Policy

/// A node's configuration, read from `meridian.toml` in the data directory (documented in docs/CONFIG.md).
public struct NodeConfiguration: Sendable, Decodable {
    public struct Node: Sendable, Decodable {
        public var title: String
        public var description: String?
        public var contact: String?
        /// The org that owns and operates this node.
        public var owner: String
        /// Largest POST body accepted, in bytes (the API roots' `max_content_length`).
        public var max_content_length: Int?
        /// Largest page a read returns, whatever `limit` asks.
        public var max_page_size: Int?
        /// Most objects one POST may carry (refused with 413 before any is validated).
        public var max_objects_per_request: Int?
        /// Most versions of one object a collection keeps from posts and peers; further ones are refused.
        public var max_versions_per_object: Int?
        /// Marking-definition ids that restrict nobody (SHARING.md, "Markings the node understands").
        public var non_restrictive_markings: [String]?
    }

    public struct Correlation: Sendable, Decodable {
        /// Correlate incoming observations with stored indicators (on by default when a sightings collection is set).
        public var enabled: Bool?
        /// The id or alias of the collection sightings are written to.
        public var sightings_collection: String
        /// New indicators are matched against observed-data stored in the last this many days.
        public var retro_window_days: Int?
        /// An observation matching more indicators than this is over-correlated: no sightings, logged.
        public var max_matches_per_observation: Int?
        /// Values (and IPv4 CIDR blocks) that never correlate.
        public var warning_list: [String]?
        /// MISP warninglist files (misp-warninglists' `list.json`) whose entries never correlate either.
        public var misp_warninglists: [String]?
    }

    /// Another node (any TAXII 2.1 server) this one exchanges with (docs/FEDERATION.md).
    public struct Peer: Sendable, Decodable {
        public struct Pull: Sendable, Decodable {
            /// The peer's collection id.
            public var remote: String
            /// The local collection (id or alias) it feeds.
            public var local: String
        }

        public struct Push: Sendable, Decodable {
            /// The local collection (id or alias) whose objects are sent.
            public var local: String
            /// The peer's collection id they are posted to.
            public var remote: String
        }

        public var name: String
        /// The local org, flagged `node`, that stands for the peer: the provenance of what it sends, the reader of
        /// what it is sent.
        public var org: String
        /// The peer's API root URL, such as `https://node.example:8443/partnership/`.
        public var api_root: String
        public var username: String?
        /// A file holding the password (relative paths are inside the data directory).
        public var password_file: String?
        /// A file holding a bearer token.
        public var token_file: String?
        /// PEM certificates to trust for this peer instead of the system's.
        public var ca_file: String?
        /// A PEM certificate that alone is trusted for this peer.
        public var pinned_certificate: String?
        /// Seconds between synchronisations inside `meridian serve` (default 60).
        public var interval_seconds: Int?
        /// Objects per page when pulling (default 1000).
        public var page_size: Int?
        /// Seconds a request to the peer may take (default 60).
        public var timeout_seconds: Int?
        /// The largest response accepted from the peer, in bytes (default 268435456, 256 MiB).
        public var max_page_bytes: Int?
        public var pull: [Pull]?
        public var push: [Push]?
    }

    public struct Audit: Sendable, Decodable {
        /// Record every read (which org received which object versions). On by default.
        public var reads: Bool?
        /// Minutes between signed checkpoints of the log while serving, when it moved (default 60).
        public var checkpoint_minutes: Int?
    }

    public struct Server: Sendable, Decodable {
        public var host: String?
        public var port: Int?
        public var tls_cert: String?
        public var tls_key: String?
        /// Serve plain HTTP on a non-loopback address (logged as a warning).
        public var allow_plain_http: Bool?
        /// Seconds a connection may stay silent (idle between requests, or sending a request's head or body no
        /// further) before it is closed (default 60).
        public var idle_timeout_seconds: Int?
        /// Seconds a POST body may take to arrive in full (default 60); a slower one gets 408.
        public var body_timeout_seconds: Int?
        /// Serve `/metrics` to anyone (default false: only to admins and to the users in `metrics_users`).
        public var public_metrics: Bool?
        /// Users whose credentials (password or token) may read `/metrics` and nothing else they are not granted:
        /// a dedicated user for the Prometheus scraper.
        public var metrics_users: [String]?
    }

    public struct Org: Sendable, Decodable {
        public var id: String
        public var name: String
        /// ISO 3166-1 alpha-3, or `INT` for international bodies.
        public var country: String?
        /// The org's STIX identity id.
        public var identity: String?
        /// What the org is to this node: `owner`, `client` (an org the owner serves, reading TLP:AMBER received from
        /// peers), `partner` (the default: any other org) or `node` (a peer node).
        public var kind: String?

        /// The declared kind; the owner's org is the owner whatever it says, any other org a partner unless declared.
        public func kind(owner: String) -> OrgKind {
            id == owner ? .owner : kind.flatMap(OrgKind.init(rawValue:)) ?? .partner
        }
    }

    public struct Group: Sendable, Decodable {
        public var name: String
        public var members: [String]
    }

    public struct APIRoot: Sendable, Decodable {
        public var path: String
        public var title: String
        public var description: String?
    }

    public struct Collection: Sendable, Decodable {
        public var id: String
        public var api_root: String
        public var alias: String?
        public var title: String
        public var description: String?
        /// Orgs and groups that may read.
        public var read: [String]?
        /// Orgs and groups that may write.
        public var write: [String]?
        /// Readable without credentials (TLP:CLEAR content only, once object-level policy applies).
        public var `public`: Bool?
        /// TLP level assumed for objects without a TLP marking.
        public var default_tlp: String?
    }

    /// Request limits: rates per account and per client address, concurrent requests per account, and sign-in
    /// throttling after repeated failures. Every key has a default; `0` turns a limit off.
    public struct Limits: Sendable, Decodable {
        /// Requests an account (a user or token) may make per minute (default 1200).
        public var requests_per_minute_per_account: Int?
        /// Requests one client address may make per minute, signed in or not (default 3000).
        public var requests_per_minute_per_address: Int?
        /// Requests one account may have in progress at once (default 32).
        public var concurrent_requests_per_account: Int?
        /// Failed sign-ins with one name from one address (and ten times as many from one address, whatever the
        /// names) before further attempts are refused for `sign_in_throttle_seconds` (default 10).
        public var sign_in_failures: Int?
        /// How long repeated failures throttle sign-ins (default 300).
        public var sign_in_throttle_seconds: Int?
    }

    /// The public transparency report (docs/TRANSPARENCY.md): what it counts and how it protects small groups.
    public struct Transparency: Sendable, Decodable {
        /// Publish the report at /transparency/ (default true when the section is present).
        public var enabled: Bool?
        /// The collections (ids or aliases) counted; default every collection.
        public var collections: [String]?
        /// Counts below this are withheld (default 5, at least 2).
        public var k: Int?
        /// Nothing newer than this many days is counted (default 30).
        public var delay_days: Int?
        /// The tables published: category, tlp, country, peers, sightings (default all).
        public var dimensions: [String]?
        /// The title of the report (default the node's title).
        public var title: String?
    }

    /// Where the node keeps its data (docs/SCALING.md): SQLite in the data directory unless this says otherwise.
    public struct StorageBackend: Sendable, Decodable {
        /// `sqlite` (the default) or `postgresql`.
        public var backend: String?
        /// For PostgreSQL: `postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=…]`, without the password.
        public var url: String?
        /// For PostgreSQL: a file holding the password (relative to the data directory), readable by the node's user
        /// alone.
        public var password_file: String?
        /// For PostgreSQL: the most connections this process opens (default 16).
        public var pool_size: Int?
        /// For PostgreSQL: TLS to the database, `disable`, `prefer`, `require` or `verify-full` (default the URL's
        /// sslmode, else `prefer`).
        public var tls: String?
    }

    public var node: Node
    public var storage: StorageBackend?
    public var server: Server?
    public var limits: Limits?
    public var transparency: Transparency?
    public var orgs: [Org]
    public var groups: [Group]?
    public var api_roots: [APIRoot]
    public var collections: [Collection]?
    public var audit: Audit?
    public var correlation: Correlation?
    public var peers: [Peer]?

    public var maxContentLength: Int { node.max_content_length ?? 100 * 1024 * 1024 }
    public var maxPageSize: Int { node.max_page_size ?? 1000 }
    public var maxObjectsPerRequest: Int { node.max_objects_per_request ?? 10_000 }
    public var maxVersionsPerObject: Int { node.max_versions_per_object ?? 1000 }
    public var idleTimeoutSeconds: Int { server?.idle_timeout_seconds ?? 60 }
    public var bodyTimeoutSeconds: Int { server?.body_timeout_seconds ?? 60 }
    /// Whether /transparency/ is served: when `[transparency]` is present and not disabled.
    public var transparencyEnabled: Bool { transparency.map { $0.enabled ?? true } ?? false }

    /// Why a configuration cannot be used: names the file, the key and the rule.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Reads and checks the configuration file at `path`.
    public static func load(_ path: String) throws(Problem) -> NodeConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Problem(description: "\(path): cannot be read")
        }
        return try parse(text, source: path)
    }

    /// Every key, table and value type the configuration accepts, learned once from the types above.
    static let shape = ConfigurationShape.of(NodeConfiguration.self)

    /// Parses and checks configuration text: TOML syntax, then every key and value type against ``shape`` (an unknown
    /// key is refused, never ignored), then the rules of ``check(source:)``. Messages name the key and its line.
    public static func parse(_ text: String, source: String = "configuration") throws(Problem) -> NodeConfiguration {
        let document: TOMLDocument
        do {
            document = try TOMLDocument(parsing: text)
        } catch {
            throw Problem(description: "\(source):\(error.line): not valid TOML: \(error.message) (line \(error.line), column \(error.column))")
        }
        let table = document.root
        let lines = ConfigurationLines(document.lines)
        func at(_ path: String) -> String { lines.line(of: path).map { "\(source):\($0)" } ?? source }
        if let mismatch = shape.firstMismatch(in: table) {
            throw Problem(description: "\(at(mismatch.path)): `\(mismatch.path)` \(mismatch.message)"
                .replacingOccurrences(of: "`\(mismatch.path)` unknown", with: "unknown"))
        }
        let config: NodeConfiguration
        do {
            config = try TOMLDecoder().decode(NodeConfiguration.self, from: table)
        } catch let error as DecodingError {
            let (path, message) = describe(error)
            throw Problem(description: "\(at(path)): \(message)")
        } catch {
            throw Problem(description: "\(source): \(error)")
        }
        try config.check(source: source, lines: lines)
        return config
    }

    /// The dotted path a decoding error is about, and what is wrong there.
    static func describe(_ error: DecodingError) -> (path: String, message: String) {
        func path(_ c: [any CodingKey]) -> String {
            c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            // Some decoders end the path with the missing key itself.
            let table = path(context.codingPath.last?.stringValue == key.stringValue ? context.codingPath.dropLast() : context.codingPath)
            return (table, "missing key `\(key.stringValue)`" + (table.isEmpty ? " at the top level" : " in `\(table)`"))
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return (path(context.codingPath), "`\(path(context.codingPath))`: \(context.debugDescription)")
        @unknown default: return ("", "\(error)")
        }
    }

    /// The rules a configuration must follow beyond its shape.
    func check(source: String, lines: ConfigurationLines? = nil) throws(Problem) {
        /// The message, at the line of the key it is about when known.
        func fail(_ message: String, at path: String? = nil) -> Problem {
            let line = path.flatMap { lines?.line(of: $0) }
            return Problem(description: "\(source)\(line.map { ":\($0)" } ?? ""): \(message)")
        }
        var orgIDs = Set<String>()
        for (i, org) in orgs.enumerated() {
            guard !org.id.isEmpty, orgIDs.insert(org.id).inserted else {
                throw fail("orgs: id '\(org.id)' is empty or repeated", at: "orgs[\(i)].id")
            }
            if let kind = org.kind {
                guard let declared = OrgKind(rawValue: kind) else {
                    throw fail("orgs '\(org.id)': kind must be owner, client, partner or node, not '\(kind)'", at: "orgs[\(i)].kind")
                }
                guard (declared == .owner) == (org.id == node.owner) else {
                    throw fail(declared == .owner
                        ? "orgs '\(org.id)': kind = \"owner\" but node.owner is '\(node.owner)'; only the owner's org is the owner"
                        : "orgs '\(org.id)': this org is node.owner, so its kind is owner, not \(kind)", at: "orgs[\(i)].kind")
                }
            }
            if let c = org.country, !(c.count == 3 && c.allSatisfy { $0.isASCII && $0.isUppercase }) {
                throw fail("orgs '\(org.id)': country must be an ISO 3166-1 alpha-3 code (such as FRA or JPN) or INT")
            }
            if let identity = org.identity, !(identity.hasPrefix("identity--") && UUID(uuidString: String(identity.dropFirst(10))) != nil) {
                throw fail("orgs '\(org.id)': identity must be a STIX identity id (identity--<uuid>)")
            }
        }
        guard orgIDs.contains(node.owner) else { throw fail("node.owner '\(node.owner)' is not one of the orgs") }
        if let storage { try storage.check(fail) }
        for (key, value) in [("idle_timeout_seconds", server?.idle_timeout_seconds), ("body_timeout_seconds", server?.body_timeout_seconds)] {
            if let value, value < 1 || value > 3600 { throw fail("server.\(key) must be between 1 and 3600", at: "server.\(key)") }
        }
        for (key, value, most) in [("requests_per_minute_per_account", limits?.requests_per_minute_per_account, 10_000_000),
                                   ("requests_per_minute_per_address", limits?.requests_per_minute_per_address, 10_000_000),
                                   ("concurrent_requests_per_account", limits?.concurrent_requests_per_account, 100_000),
                                   ("sign_in_failures", limits?.sign_in_failures, 1_000_000),
                                   ("sign_in_throttle_seconds", limits?.sign_in_throttle_seconds, 86_400)] {
            if let value, value < 0 || value > most { throw fail("limits.\(key) must be between 0 (no limit) and \(most)", at: "limits.\(key)") }
        }
        if let m = node.max_versions_per_object, m < 1 || m > 1_000_000 {
            throw fail("node.max_versions_per_object must be between 1 and 1000000", at: "node.max_versions_per_object")
        }
        if let m = node.max_objects_per_request, m < 1 || m > 1_000_000 {
            throw fail("node.max_objects_per_request must be between 1 and 1000000", at: "node.max_objects_per_request")
        }
        for id in node.non_restrictive_markings ?? [] where !id.hasPrefix("marking-definition--") || UUID(uuidString: String(id.dropFirst(20))) == nil {
            throw fail("node.non_restrictive_markings: '\(id)' is not a marking-definition id")
        }
        var groupNames = Set<String>()
        for group in groups ?? [] {
            guard groupNames.insert(group.name).inserted, !orgIDs.contains(group.name) else {
                throw fail("groups: name '\(group.name)' is repeated or is also an org id")
            }
            for m in group.members where !orgIDs.contains(m) {
                throw fail("group '\(group.name)': member '\(m)' is not one of the orgs")
            }
        }
        guard !api_roots.isEmpty else { throw fail("at least one [[api_roots]] is required") }
        var roots = Set<String>()
        for root in api_roots {
            guard !root.path.isEmpty, root.path.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }),
                roots.insert(root.path).inserted, root.path != "taxii2"
            else { throw fail("api_roots: path '\(root.path)' must be letters, digits, - or _, unique, and not taxii2") }
        }
        if let c = correlation {
            let known = (collections ?? []).contains { $0.id.lowercased() == c.sightings_collection.lowercased() || $0.alias == c.sightings_collection }
            guard known else { throw fail("correlation.sightings_collection '\(c.sightings_collection)' is not a declared collection") }
            if let d = c.retro_window_days, d < 0 || d > 3650 { throw fail("correlation.retro_window_days must be between 0 and 3650") }
            if let m = c.max_matches_per_observation, m < 1 { throw fail("correlation.max_matches_per_observation must be at least 1") }
        }
        if let m = audit?.checkpoint_minutes, m < 1 || m > 1440 {
            throw fail("audit.checkpoint_minutes must be between 1 and 1440", at: "audit.checkpoint_minutes")
        }
        if let t = transparency {
            if let k = t.k, k < 2 || k > 1_000_000 { throw fail("transparency.k must be between 2 and 1000000", at: "transparency.k") }
            if let d = t.delay_days, d < 0 || d > 3650 {
                throw fail("transparency.delay_days must be between 0 and 3650", at: "transparency.delay_days")
            }
            for (i, c) in (t.collections ?? []).enumerated()
            where !(collections ?? []).contains(where: { $0.id.lowercased() == c.lowercased() || $0.alias == c }) {
                throw fail("transparency.collections: '\(c)' is not a declared collection", at: "transparency.collections[\(i)]")
            }
            let known = TransparencyReport.Dimension.allCases.map(\.rawValue)
            for (i, d) in (t.dimensions ?? []).enumerated() where !known.contains(d) {
                throw fail("transparency.dimensions: '\(d)' is not one of \(known.joined(separator: ", "))", at: "transparency.dimensions[\(i)]")
            }
        }
        var peerNames = Set<String>()
        for peer in peers ?? [] {
            guard !peer.name.isEmpty, peerNames.insert(peer.name).inserted else { throw fail("peers: name '\(peer.name)' is empty or repeated") }
            guard let org = orgs.first(where: { $0.id == peer.org }), org.kind(owner: node.owner) == .node else {
                throw fail("peer '\(peer.name)': org '\(peer.org)' must be one of the orgs, with kind = \"node\"")
            }
            guard peer.api_root.hasPrefix("https://") || peer.api_root.hasPrefix("http://") else {
                throw fail("peer '\(peer.name)': api_root must be an http(s) URL")
            }
            if peer.token_file != nil && (peer.username != nil || peer.password_file != nil) {
                throw fail("peer '\(peer.name)': give either token_file or username and password_file")
            }
            if (peer.username == nil) != (peer.password_file == nil) {
                throw fail("peer '\(peer.name)': username and password_file go together")
            }
            for local in (peer.pull ?? []).map(\.local) + (peer.push ?? []).map(\.local)
            where !(collections ?? []).contains(where: { $0.id.lowercased() == local.lowercased() || $0.alias == local }) {
                throw fail("peer '\(peer.name)': local collection '\(local)' is not declared")
            }
            if let i = peer.interval_seconds, i < 1 { throw fail("peer '\(peer.name)': interval_seconds must be at least 1") }
            if let p = peer.page_size, p < 1 || p > 10_000 { throw fail("peer '\(peer.name)': page_size must be between 1 and 10000") }
            if let m = peer.max_page_bytes, m < 1024 { throw fail("peer '\(peer.name)': max_page_bytes must be at least 1024") }
        }
        var ids = Set<String>()
        var aliases = Set<String>()
        for c in collections ?? [] {
            guard UUID(uuidString: c.id) != nil, ids.insert(c.id.lowercased()).inserted else {
                throw fail("collections: id '\(c.id)' must be a UUID, used once")
            }
            guard roots.contains(c.api_root) else { throw fail("collection '\(c.id)': api_root '\(c.api_root)' is not declared") }
            if let alias = c.alias, !aliases.insert(c.api_root + "/" + alias).inserted {
                throw fail("collection '\(c.id)': alias '\(alias)' is used twice in api root '\(c.api_root)'")
            }
            for entry in (c.read ?? []) + (c.write ?? []) where !orgIDs.contains(entry) && !groupNames.contains(entry) {
                throw fail("collection '\(c.alias ?? c.id)': '\(entry)' in read/write is neither an org nor a group")
            }
            if let tlp = c.default_tlp, !["clear", "white", "green", "amber", "amber+strict", "red"].contains(tlp) {
                throw fail("collection '\(c.alias ?? c.id)': default_tlp must be clear, green, amber, amber+strict or red")
            }
        }
    }

}

extension NodeConfiguration.StorageBackend {
    public enum Kind: String, Sendable { case sqlite, postgresql }

    public var kind: Kind { backend.flatMap(Kind.init(rawValue:)) ?? .sqlite }

    /// The database's location, its password not yet read (``DataDirectory`` reads `password_file`).
    public func location() throws(NodeConfiguration.Problem) -> PostgresLocation {
        guard let url else { throw NodeConfiguration.Problem(description: "storage.url is required when storage.backend = \"postgresql\"") }
        var location: PostgresLocation
        do {
            location = try PostgresLocation(url: url)
        } catch {
            throw NodeConfiguration.Problem(description: "storage.url: \(error.description)")
        }
        if let pool_size { location.poolSize = pool_size }
        if let tls, let mode = PostgresLocation.TLSMode(rawValue: tls) { location.tls = mode }
        return location
    }

    func check(_ fail: (String, String?) -> NodeConfiguration.Problem) throws(NodeConfiguration.Problem) {
        guard let kind = backend.map({ Kind(rawValue: $0) }) ?? .sqlite else {
            throw fail("storage.backend must be sqlite or postgresql, not '\(backend ?? "")'", "storage.backend")
        }
        guard kind == .postgresql else {
            let stray = [("url", url != nil), ("password_file", password_file != nil), ("pool_size", pool_size != nil), ("tls", tls != nil)]
            if let key = stray.first(where: \.1)?.0 {
                throw fail("storage: url, password_file, pool_size and tls are for backend = \"postgresql\"", "storage.\(key)")
            }
            return
        }
        guard url != nil else { throw fail("storage.url is required when storage.backend = \"postgresql\"", "storage.backend") }
        let location: PostgresLocation
        do { location = try self.location() } catch { throw fail(error.description, "storage.url") }
        // meridian.toml may be readable by others: no secret belongs in it.
        if location.password != nil {
            throw fail("storage.url holds a password; put it in a file named by storage.password_file (mode 0600) instead", "storage.url")
        }
        if let pool_size, !(1...1000).contains(pool_size) { throw fail("storage.pool_size must be between 1 and 1000", "storage.pool_size") }
        if let tls, PostgresLocation.TLSMode(rawValue: tls) == nil {
            throw fail("storage.tls must be one of " + PostgresLocation.TLSMode.allCases.map(\.rawValue).joined(separator: ", "), "storage.tls")
        }
    }
}
