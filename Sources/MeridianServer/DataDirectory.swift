import Foundation
import Storage

/// A node's data directory: `meridian.toml` (the configuration) and `meridian.sqlite` (the database).
public struct DataDirectory: Sendable {
    public let path: String

    public init(_ path: String) {
        self.path = path
    }

    public var configurationPath: String { (path as NSString).appendingPathComponent("meridian.toml") }
    public var databasePath: String { (path as NSString).appendingPathComponent("meridian.sqlite") }

    public var exists: Bool { FileManager.default.fileExists(atPath: configurationPath) }

    /// Creates the directory, a commented configuration and the database; refuses to overwrite a configuration.
    public func initialize(owner: String = "cert-example", title: String = "Meridian node") throws -> NodeConfiguration {
        if exists { throw NodeConfiguration.Problem(description: "\(configurationPath) already exists; not overwriting it") }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let text = DataDirectory.template(owner: owner, title: title)
        let configuration = try NodeConfiguration.parse(text, source: configurationPath)
        try text.write(toFile: configurationPath, atomically: true, encoding: .utf8)
        _ = try SQLiteObjectStore(path: databasePath)
        return configuration
    }

    /// Loads the configuration and opens the node.
    public func open() async throws -> MeridianNode {
        guard exists else {
            throw NodeConfiguration.Problem(description: "\(configurationPath) does not exist; run `meridian init --data \(path)` first")
        }
        let configuration = try NodeConfiguration.load(configurationPath)
        return try await MeridianNode(configuration: configuration, store: SQLiteObjectStore(path: databasePath),
                                      configurationPath: configurationPath)
    }

    /// The audit log alone, without opening the node (verifying it changes nothing).
    public func auditLog() throws -> AuditLog {
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw NodeConfiguration.Problem(description: "\(databasePath) does not exist")
        }
        return AuditLog(try SQLiteObjectStore(path: databasePath))
    }

    /// The configuration `meridian init` writes: every key, with comments.
    public static func template(owner: String, title: String) -> String {
        """
        # Meridian node configuration. Every key is documented in docs/CONFIG.md.

        [node]
        title = "\(title)"
        description = "A Meridian threat-intelligence exchange node"
        contact = "cert@example.org"
        # The organisation that owns and operates this node (one of the orgs below).
        owner = "\(owner)"
        # Largest POST body accepted, in bytes (advertised as max_content_length).
        max_content_length = 104857600
        # Largest page a read returns, whatever `limit` asks.
        max_page_size = 1000

        [server]
        host = "127.0.0.1"
        port = 8080
        # HTTPS: TAXII 2.1 requires TLS 1.2 or later. Without these, plain HTTP is served on loopback only.
        # tls_cert = "/etc/meridian/cert.pem"
        # tls_key = "/etc/meridian/key.pem"
        # allow_plain_http = false

        # Organisations that take part, each of one kind: `owner` (this node's operator), `client` (an org the owner
        # serves here, such as a ministry: it reads TLP:AMBER received from peers), `partner` (the default: any other
        # org, such as another nation's CERT) or `node` (a peer node that pulls from or pushes to this one).
        [[orgs]]
        id = "\(owner)"
        name = "Example national CERT"
        country = "FRA"
        kind = "owner"

        [[orgs]]
        id = "cert-partner"
        name = "Example partner CERT"
        country = "JPN"
        kind = "partner"

        # Groups of orgs, usable in collections' read and write lists and in releasability markings.
        [[groups]]
        name = "partnership"
        members = ["\(owner)", "cert-partner"]

        [[api_roots]]
        path = "partnership"
        title = "Partnership exchange"
        description = "Threat intelligence shared among the partnership"

        # Collections: read and write list orgs and groups; `public = true` lets anyone read TLP:CLEAR content.
        [[collections]]
        id = "7b3c3a57-6f8a-4c55-9a4a-1b9f0a6e0001"
        api_root = "partnership"
        alias = "attack-enterprise"
        title = "MITRE ATT&CK Enterprise"
        description = "Adversary tactics and techniques (read-only for partners)"
        read = ["partnership"]
        write = ["\(owner)"]
        default_tlp = "clear"

        [[collections]]
        id = "7b3c3a57-6f8a-4c55-9a4a-1b9f0a6e0002"
        api_root = "partnership"
        alias = "disarm"
        title = "DISARM disinformation framework"
        read = ["partnership"]
        write = ["\(owner)"]
        default_tlp = "clear"

        [[collections]]
        id = "7b3c3a57-6f8a-4c55-9a4a-1b9f0a6e0003"
        api_root = "partnership"
        alias = "shared"
        title = "Partner submissions"
        description = "Read-write for every partner"
        read = ["partnership"]
        write = ["partnership"]

        [[collections]]
        id = "7b3c3a57-6f8a-4c55-9a4a-1b9f0a6e0004"
        api_root = "partnership"
        alias = "sightings"
        title = "Sightings"
        description = "Matches of partners' indicators against partners' observations, made by the node"
        read = ["partnership"]
        write = ["\(owner)"]

        # Correlation: every stored indicator with a STIX pattern is matched against observations as they arrive,
        # and each match becomes a sighting in this collection, visible only to readers of every input.
        [correlation]
        sightings_collection = "sightings"
        # New indicators are also matched against observed-data stored in the last this many days.
        retro_window_days = 30
        # An observation matching more indicators than this is over-correlated: no sightings, a warning in the log.
        max_matches_per_observation = 50
        # Values that never correlate (addresses, names, IPv4 CIDR blocks); this is the default list.
        warning_list = ["8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "208.67.222.222", "localhost",
          "localhost.localdomain", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
          "0.0.0.0/8", "255.255.255.255", "::1", "example.com", "example.org", "example.net"]

        """
    }
}
