import Foundation
import PostgreSQLStorage
import Glibc
import STIX
import Storage

/// The lock a serving process holds on its data directory, released when it is dropped or the process ends.
public final class ServingLock: Sendable {
    let fd: Int32

    init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        Glibc.close(fd)
    }
}

/// A node's data directory: `meridian.toml` (the configuration) and `meridian.sqlite` (the database).
public struct DataDirectory: Sendable {
    public let path: String

    public init(_ path: String) {
        self.path = path
    }

    public var configurationPath: String { (path as NSString).appendingPathComponent("meridian.toml") }
    public var databasePath: String { (path as NSString).appendingPathComponent("meridian.sqlite") }

    public var exists: Bool { FileManager.default.fileExists(atPath: configurationPath) }

    /// A path from meridian.toml: relative ones are relative to the data directory.
    public func resolve(_ file: String) -> String {
        file.hasPrefix("/") ? file : (path as NSString).appendingPathComponent(file)
    }

    public var lockPath: String { (path as NSString).appendingPathComponent("meridian.lock") }

    /// Creates the directory (mode 0700), a configuration and the database (0600); refuses to overwrite a
    /// configuration. `text` is the configuration to write (by default the commented template of `meridian init`).
    public func initialize(owner: String = "cert-example", title: String = "Meridian node", text: String? = nil) throws -> NodeConfiguration {
        if exists { throw NodeConfiguration.Problem(description: "\(configurationPath) already exists; not overwriting it") }
        let files = FileManager.default
        try files.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try files.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        let text = text ?? DataDirectory.template(owner: owner, title: title)
        let configuration = try NodeConfiguration.parse(text, source: configurationPath)
        guard files.createFile(atPath: configurationPath, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]),
            files.createFile(atPath: databasePath, contents: nil, attributes: [.posixPermissions: 0o600])
        else { throw NodeConfiguration.Problem(description: "cannot create files in \(path)") }
        // SQLite gives its journal files (-wal, -shm) the database file's mode.
        _ = try SQLiteObjectStore(path: databasePath)
        return configuration
    }

    /// The files that hold secrets or shared data (the database and its journals, the demo's credentials, and
    /// `extra`, such as the TLS key) that others than their owner may read or write, and the directory when others may
    /// write to it (they could replace the files), each with its mode: `serve` refuses to start while there are any.
    /// (meridian.toml holds no secret: it may be readable.)
    public func exposedFiles(_ extra: [String] = []) -> [(path: String, mode: Int)] {
        func mode(_ file: String) -> Int? {
            (try? FileManager.default.attributesOfItem(atPath: file))?[.posixPermissions] as? Int
        }
        var exposed: [(path: String, mode: Int)] = []
        if let m = mode(path), m & 0o022 != 0 { exposed.append((path, m)) }
        for file in [databasePath, databasePath + "-wal", databasePath + "-shm",
                     (path as NSString).appendingPathComponent("demo-credentials.txt")] + extra {
            if let m = mode(file), m & 0o077 != 0 { exposed.append((file, m)) }
        }
        return exposed
    }

    /// Takes the data directory for one `serve` process: while it runs, another one cannot (the lock ends with the
    /// process, however it ends). The lock file holds the pid of the process that holds it.
    public func lockForServing() throws -> ServingLock {
        let fd = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw NodeConfiguration.Problem(description: "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            Glibc.close(fd)
            throw NodeConfiguration.Problem(description: "another meridian serve\(holder.map { " (pid \($0))" } ?? "") is using \(path); stop it first, or give this one another --data")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { Glibc.pwrite(fd, $0, strlen($0), 0) }
        return ServingLock(fd: fd)
    }

    /// Loads the configuration and opens the node.
    public func open() async throws -> MeridianNode {
        guard exists else {
            throw NodeConfiguration.Problem(description: "\(configurationPath) does not exist; run `meridian init --data \(path)` first")
        }
        let configuration = try NodeConfiguration.load(configurationPath)
        return try await MeridianNode(configuration: configuration, store: openStore(configuration), configurationPath: configurationPath)
    }

    /// The node's store as `[storage]` says: the SQLite file of this directory (created readable by its owner only,
    /// as its journal files will be), or a PostgreSQL database (docs/SCALING.md).
    public func openStore(_ configuration: NodeConfiguration) async throws -> any NodeStore {
        guard let storage = configuration.storage, storage.kind == .postgresql else {
            if !FileManager.default.fileExists(atPath: databasePath) {
                _ = FileManager.default.createFile(atPath: databasePath, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            return try SQLiteObjectStore(path: databasePath)
        }
        var location = try storage.location()
        if let file = storage.password_file {
            location.password = try password(file)
        }
        return try await PostgresObjectStore(location)
    }

    /// Copies this node's SQLite database into the empty PostgreSQL database at `location` (docs/SCALING.md):
    /// while no `serve` runs on the directory (its lock is held throughout), in one transaction, the audit chain
    /// verified. Returns what was copied.
    public func copyStorage(to location: PostgresLocation, progress: @escaping @Sendable (Int) -> Void) async throws -> StorageCopySummary {
        guard let configuration = try configurationIfAny() else {
            throw NodeConfiguration.Problem(description: "\(configurationPath) does not exist: nothing to copy")
        }
        guard configuration.storage?.kind != .postgresql else {
            throw NodeConfiguration.Problem(description: "this node already keeps its data in PostgreSQL ([storage] in \(configurationPath))")
        }
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw NodeConfiguration.Problem(description: "\(databasePath) does not exist: nothing to copy")
        }
        let lock = try lockForServing()
        let source = try SQLiteObjectStore(path: databasePath)
        let target = try await PostgresObjectStore(location)
        do {
            let summary = try await target.copy(from: source, progress: progress)
            await target.close()
            withExtendedLifetime(lock) {}
            return summary
        } catch {
            await target.close()
            throw error
        }
    }

    /// The database password kept in `file` (relative to this directory): its first line, read only when no one but
    /// its owner may read it.
    public func password(_ file: String) throws -> String {
        let full = file.hasPrefix("/") ? file : (path as NSString).appendingPathComponent(file)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: full),
              let text = try? String(contentsOfFile: full, encoding: .utf8)
        else { throw NodeConfiguration.Problem(description: "storage.password_file: \(full) cannot be read") }
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw NodeConfiguration.Problem(description: "storage.password_file: \(full) has mode \(String(mode, radix: 8)); others may read it (chmod 600 \(full))")
        }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard !line.isEmpty else { throw NodeConfiguration.Problem(description: "storage.password_file: \(full) is empty") }
        return line
    }

    /// The configuration, when this directory holds a node.
    func configurationIfAny() throws -> NodeConfiguration? {
        exists ? try NodeConfiguration.load(configurationPath) : nil
    }

    /// Writes a consistent copy of the node to `file` while it may be serving: the database as of one moment, with
    /// meridian.toml inside it. Peers' password and token files and TLS keys are not in it (they are secrets kept
    /// apart: back them up with the machine's own means).
    public func backup(to file: String, version: String) async throws {
        if let configuration = try configurationIfAny(), configuration.storage?.kind == .postgresql {
            throw NodeConfiguration.Problem(description: "this node keeps its data in PostgreSQL: back the database up with pg_dump or the database's own backups (docs/SCALING.md), and keep meridian.toml with it")
        }
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw NodeConfiguration.Problem(description: "\(databasePath) does not exist: nothing to back up")
        }
        let configuration = try String(contentsOfFile: configurationPath, encoding: .utf8)
        let store = try SQLiteObjectStore(path: databasePath)
        try await store.backup(to: file, metadata: [
            "configuration": configuration, "created": TAXIITimestamp.format(SQLiteObjectStore.now()),
            "meridian": version, "source": path,
        ])
    }

    /// Restores a backup into this directory, which must not hold a node yet: the database and meridian.toml are
    /// written (0600, the directory 0700), then the audit log is verified. Anything wrong leaves the directory as it
    /// was. Returns the backup's metadata and the audit log's verification.
    public func restore(from file: String) async throws -> (metadata: [String: String], audit: AuditChain.Verification) {
        for existing in [configurationPath, databasePath] where FileManager.default.fileExists(atPath: existing) {
            throw NodeConfiguration.Problem(description: "\(existing) already exists: restore into a new data directory, then stop the node and swap the directories")
        }
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw NodeConfiguration.Problem(description: "\(file) cannot be read")
        }
        let metadata = try SQLiteObjectStore.backupMetadata(file)
        guard let configuration = metadata["configuration"] else {
            throw NodeConfiguration.Problem(description: "\(file) holds no configuration; it is not a complete Meridian backup")
        }
        let files = FileManager.default
        let created = !files.fileExists(atPath: path)
        try files.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        func undo() {
            for f in [databasePath, databasePath + "-wal", databasePath + "-shm", configurationPath] { try? files.removeItem(atPath: f) }
            if created { try? files.removeItem(atPath: path) }
        }
        do {
            guard files.createFile(atPath: databasePath, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw NodeConfiguration.Problem(description: "cannot create \(databasePath)")
            }
            let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
            let target = try FileHandle(forWritingTo: URL(fileURLWithPath: databasePath))
            while let chunk = try source.read(upToCount: 1 << 20), !chunk.isEmpty { try target.write(contentsOf: chunk) }
            try target.synchronize()
            try target.close()
            try source.close()
            try SQLiteObjectStore.dropBackupMetadata(databasePath)
            _ = try NodeConfiguration.parse(configuration, source: configurationPath)
            guard files.createFile(atPath: configurationPath, contents: Data(configuration.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw NodeConfiguration.Problem(description: "cannot create \(configurationPath)")
            }
            let verification = try await auditLog().verify()
            if let broken = verification.broken {
                throw NodeConfiguration.Problem(description: "the restored audit log is broken at entry \(broken.seq): \(broken.reason); nothing was restored")
            }
            return (metadata, verification)
        } catch {
            undo()
            throw error
        }
    }

    /// The audit log alone, without opening the node (verifying it changes nothing).
    public func auditLog() async throws -> any AuditLog {
        if let configuration = try configurationIfAny(), configuration.storage?.kind == .postgresql {
            return try await openStore(configuration).auditLog()
        }
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw NodeConfiguration.Problem(description: "\(databasePath) does not exist")
        }
        return SQLiteAuditLog(try SQLiteObjectStore(path: databasePath))
    }

    /// The configuration `meridian init` writes: every key, with comments; each collection gets a fresh id, and the
    /// values an operator must replace say so.
    public static func template(owner: String, title: String) -> String {
        let ids = (0..<4).map { _ in UUID().uuidString.lowercased() }
        return """
        # Meridian node configuration. Every key is documented in docs/CONFIG.md.
        # Values marked EXAMPLE are placeholders: replace them with your node's before you share anything.

        [node]
        title = "\(title)"
        description = "A Meridian threat-intelligence exchange node"
        contact = "cert@example.org"  # EXAMPLE
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

        # Request limits (429 with Retry-After); these are the defaults, 0 turns one off. docs/CONFIG.md.
        # [limits]
        # requests_per_minute_per_address = 3000
        # requests_per_minute_per_account = 1200
        # concurrent_requests_per_account = 32
        # sign_in_failures = 10
        # sign_in_throttle_seconds = 300

        # Organisations that take part, each of one kind: `owner` (this node's operator), `client` (an org the owner
        # serves here, such as a ministry: it reads TLP:AMBER received from peers), `partner` (the default: any other
        # org, such as another nation's CERT) or `node` (a peer node that pulls from or pushes to this one).
        [[orgs]]
        id = "\(owner)"
        name = "Example national CERT"  # EXAMPLE
        country = "FRA"  # EXAMPLE
        kind = "owner"

        # EXAMPLE: a partner; declare each real partner (and each client and peer node) like this.
        [[orgs]]
        id = "cert-partner"
        name = "Example partner CERT"
        country = "JPN"
        kind = "partner"

        # Groups of orgs, usable in collections' read and write lists and in releasability markings.
        [[groups]]
        name = "partnership"  # EXAMPLE
        members = ["\(owner)", "cert-partner"]

        [[api_roots]]
        path = "partnership"
        title = "Partnership exchange"
        description = "Threat intelligence shared among the partnership"

        # Collections: read and write list orgs and groups; `public = true` lets anyone read TLP:CLEAR content.
        [[collections]]
        id = "\(ids[0])"
        api_root = "partnership"
        alias = "attack-enterprise"
        title = "MITRE ATT&CK Enterprise"
        description = "Adversary tactics and techniques (read-only for partners)"
        read = ["partnership"]
        write = ["\(owner)"]
        default_tlp = "clear"

        [[collections]]
        id = "\(ids[1])"
        api_root = "partnership"
        alias = "disarm"
        title = "DISARM disinformation framework"
        read = ["partnership"]
        write = ["\(owner)"]
        default_tlp = "clear"

        [[collections]]
        id = "\(ids[2])"
        api_root = "partnership"
        alias = "shared"
        title = "Partner submissions"
        description = "Read-write for every partner"
        read = ["partnership"]
        write = ["partnership"]

        [[collections]]
        id = "\(ids[3])"
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

        # The public transparency report at /transparency/ (docs/TRANSPARENCY.md): aggregate counts only, every
        # count below k withheld, and further counts withheld so that none can be worked out from the totals.
        [transparency]
        # collections = ["shared"]    # default: every collection
        k = 5
        delay_days = 30
        dimensions = ["category", "tlp", "country", "peers", "sightings"]

        """
    }
}
