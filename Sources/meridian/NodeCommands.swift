import ArgumentParser
import DocumentInput
import Foundation
import HummingbirdBcrypt
import MeridianServer
import Policy
import STIX
import Storage

/// Where a command finds the node's files.
struct DataOption: ParsableArguments {
    @Option(name: .customLong("data"), help: "The node's data directory.")
    var path = "./meridian-data"

    var directory: DataDirectory { DataDirectory(path) }
}

/// Turns a command's failure into a message and exit status 2, never a crash or a stack trace.
func failing<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        Terminal.error("meridian \(what): \(error)")
        throw ExitCode(2)
    }
}

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a data directory: a commented configuration and the database.")

    @OptionGroup var data: DataOption

    @Option(help: "Id of the org that owns the node.")
    var owner = "cert-example"

    func run() async throws {
        try await failing("init") {
            _ = try data.directory.initialize(owner: owner)
            let key = try await data.directory.open().ensureSigningKey()
            Terminal.print("created \(data.directory.configurationPath) and \(data.directory.databasePath) (with the node's signing key \(key.id))")
            Terminal.print("next: edit the configuration, then `meridian user add NAME --org \(owner)` and `meridian serve`")
        }
    }
}

struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage users.",
                                                    subcommands: [Add.self, List.self, Remove.self, Disable.self, Enable.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user, or change its password.",
            discussion: """
                The password is asked for, twice and without echo, on a terminal; otherwise it is the first line of \
                standard input. Moving an existing user to another org needs --move.
                """)

        @OptionGroup var data: DataOption
        @Argument(help: "The user's login name.") var name: String
        @Option(help: "The org the user acts for.") var org: String
        @Flag(help: "Let the user use the admin API (only for users of the node owner's org).") var admin = false
        @Flag(help: "Move an existing user to --org (it will read what that org reads).") var move = false

        func run() async throws {
            try await failing("user add") {
                let node = try await data.directory.open()
                let password = try Terminal.password()
                try await node.addUser(name: name, org: org, password: password, admin: admin, move: move, by: nil)
                Terminal.print("user \(name) acts for \(org)\(admin ? " (admin)" : "")")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users: org, role, state and number of tokens.")

        @OptionGroup var data: DataOption

        func run() async throws {
            try await failing("user list") {
                let node = try await data.directory.open()
                let tokens = Dictionary(grouping: try await node.accounts.tokens(), by: \.user)
                let rows = try await node.accounts.users().map { user in
                    [user.name, user.org, user.isAdmin ? "admin" : "user", user.isDisabled ? "disabled" : "enabled",
                     String(tokens[user.name]?.count ?? 0), TAXIITimestamp.format(user.createdAt)]
                }
                Terminal.table(["USER", "ORG", "ROLE", "STATE", "TOKENS", "CREATED"], rows)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user and its tokens; a running server refuses them at once.")

        @OptionGroup var data: DataOption
        @Argument(help: "The user's login name.") var name: String

        func run() async throws {
            try await failing("user remove") {
                try await data.directory.open().removeUser(name, by: nil)
                Terminal.print("user \(name) and its tokens removed")
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user: its password and tokens are refused until it is enabled.")

        @OptionGroup var data: DataOption
        @Argument(help: "The user's login name.") var name: String

        func run() async throws {
            try await failing("user disable") {
                try await data.directory.open().setUserDisabled(name, true, by: nil)
                Terminal.print("user \(name) disabled")
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user again.")

        @OptionGroup var data: DataOption
        @Argument(help: "The user's login name.") var name: String

        func run() async throws {
            try await failing("user enable") {
                try await data.directory.open().setUserDisabled(name, false, by: nil)
                Terminal.print("user \(name) enabled")
            }
        }
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API tokens.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a bearer token for a user; it is shown once and stored hashed.")

        @OptionGroup var data: DataOption
        @Option(help: "The user the token acts as.") var user: String
        @Option(help: "How long the token works: 90d, 12h, 30m or 3600s (default: until revoked).") var expires: String?

        func run() async throws {
            try await failing("token create") {
                var lifetime: TimeInterval? = nil
                if let expires {
                    guard let seconds = MeridianNode.duration(expires) else {
                        throw ValidationError("--expires '\(expires)': give a number and a unit, such as 90d, 12h, 30m or 3600s")
                    }
                    lifetime = seconds
                }
                Terminal.print(try await data.directory.open().issueToken(for: user, lifetime: lifetime, by: nil))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens (ids, never secrets), with their user, kind and expiry; sign-in sessions of the web pages are tokens of kind session.")

        @OptionGroup var data: DataOption
        @Option(help: "Only this user's tokens.") var user: String?

        func run() async throws {
            try await failing("token list") {
                let node = try await data.directory.open()
                let now = SQLiteObjectStore.now()
                let rows = try await node.accounts.tokens(of: user).map { token in
                    [token.id, token.user, token.isSession ? "session" : "api", TAXIITimestamp.format(token.createdAt),
                     token.expiresAt.map { TAXIITimestamp.format($0) + (token.isExpired(at: now) ? " (expired)" : "") } ?? "never"]
                }
                Terminal.table(["ID", "USER", "KIND", "CREATED", "EXPIRES"], rows)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id or the start of it (4 characters at least); it fails at once, in a running server too.")

        @OptionGroup var data: DataOption
        @Argument(help: "The token's id (as `token list` shows), its first characters, or the token itself.") var token: String

        func run() async throws {
            try await failing("token revoke") {
                let revoked = try await data.directory.open().revokeToken(token, by: nil)
                Terminal.print("token \(revoked.id) of \(revoked.user) revoked")
            }
        }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a STIX bundle or TAXII envelope (gzip allowed) into a collection.",
        discussion: """
            A document of up to --transaction-bytes (64 MiB by default) is stored in one transaction: all of it, or \
            nothing. A larger one is committed batch by batch (5,000 objects or 16 MB each), each batch with its write \
            entry in the audit log: stopped part way, the import keeps the batches it committed, and running it again \
            stores the rest (what is already there counts as already present).
            Exit status: 0 imported, 1 some objects were rejected, 2 error.
            """)

    @OptionGroup var data: DataOption
    @Argument(help: "The file to import; - reads standard input.") var file: String
    @Option(help: "The collection's id or alias.") var collection: String
    @Option(help: "Largest document (in bytes, decompressed) imported in one transaction; larger ones commit batch by batch.")
    var transactionBytes = 64 << 20

    func run() async throws {
        try await failing("import") {
            let node = try await data.directory.open()
            // A large document is read twice (a chunk at a time): standard input is saved to a file first.
            let path = file == "-" ? try spoolStandardInput(into: data.directory.path) : file
            defer { if file == "-" { try? FileManager.default.removeItem(atPath: path) } }
            let bar = ProgressReport("import \(file)")
            guard transactionBytes >= 0 else { throw ValidationError("--transaction-bytes must not be negative") }
            let importer = Importer(node: node, atomicBytes: transactionBytes)
            let summary = try await importer.run(path, collection: collection) { bar.update(objects: $0.objects, done: $0.done, total: $0.total) }
            bar.finish()
            await node.correlator?.idle()
            try report(summary, "\(file): ")
        }
    }
}

/// Prints an import's summary after `prefix`, and the first rejected objects with their reasons; exit status 1 when
/// any was rejected.
func report(_ summary: Importer.Summary, _ prefix: String) throws {
    Terminal.print("\(prefix)\(summary.stored) stored, \(summary.duplicates) already present, \(summary.rejected.count) rejected")
    for r in summary.rejected.prefix(50) { Terminal.print("  rejected \(r.id): \(r.reason)") }
    if summary.rejected.count > 50 { Terminal.print("  ... and \(summary.rejected.count - 50) more") }
    if !summary.rejected.isEmpty { throw ExitCode(1) }
}

/// Copies standard input, a chunk at a time, into a new file in `directory`, and returns its path.
func spoolStandardInput(into directory: String) throws -> String {
    let path = (directory as NSString).appendingPathComponent(".import-\(UUID().uuidString).json")
    guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
        let out = FileHandle(forWritingAtPath: path)
    else {
        throw ValidationError("cannot create a temporary file in \(directory) to hold standard input")
    }
    defer { try? out.close() }
    do {
        while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
            try out.write(contentsOf: chunk)
        }
    } catch {
        try? FileManager.default.removeItem(atPath: path)
        throw ValidationError("cannot save standard input to \(path): \(error.localizedDescription)")
    }
    return path
}

/// Progress on standard error: on a terminal, one line redrawn (bar, objects, rate, time left); otherwise a line every
/// few seconds, for logs.
final class ProgressReport: @unchecked Sendable {
    // @unchecked: used from one task at a time (the import loop, the synchronisation).
    let label: String
    let terminal: Bool
    let interval: TimeInterval
    private let started = Date()
    private var lastLine = Date.distantPast
    private var drawn = false

    init(_ label: String, terminal: Bool = isatty(2) != 0, interval: TimeInterval = 5) {
        self.label = label
        self.terminal = terminal
        self.interval = interval
    }

    /// `objects` read so far; `done` of `total` units of work when the total is known (for the bar and time left).
    func update(objects: Int, done: Int? = nil, total: Int? = nil) {
        let now = Date()
        guard terminal || now.timeIntervalSince(lastLine) >= interval else { return }
        lastLine = now
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        var parts = ["\(objects) objects", "\(Int(Double(objects) / elapsed)) objects/s"]
        var bar = ""
        if let done, let total, total > 0, done > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let left = elapsed / fraction - elapsed
            parts.insert("\(Int(fraction * 100)) %", at: 0)
            parts.append(fraction < 1 ? "about \(Self.duration(left)) left" : "finishing")
            let filled = Int(fraction * 30)
            bar = "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled) + "] "
        }
        let line = "\(label): " + (terminal ? bar : "") + parts.joined(separator: ", ")
        if terminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
            drawn = true
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600) h \(s % 3600 / 60) min" : s >= 60 ? "\(s / 60) min \(s % 60) s" : "\(s) s"
    }
}

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Check the node's configuration.",
                                                    subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check meridian.toml without starting the node, as `serve` does at start.",
            discussion: """
                Every key must be known (a misspelt key is refused with its line and the closest known key), every value \
                of the type its key takes, and every rule of docs/CONFIG.md hold.
                Exit status: 0 valid, 1 invalid, 2 the file cannot be read.
                """)

        @OptionGroup var data: DataOption
        @Option(help: "Check this file instead of the data directory's meridian.toml.") var file: String?

        func run() async throws {
            let path = file ?? data.directory.configurationPath
            guard FileManager.default.isReadableFile(atPath: path) else {
                Terminal.error("meridian config check: \(path) cannot be read")
                throw ExitCode(2)
            }
            let configuration: NodeConfiguration
            do {
                configuration = try NodeConfiguration.load(path)
            } catch {
                Terminal.error("meridian config check: \(error)")
                throw ExitCode(1)
            }
            let kinds = Dictionary(grouping: configuration.orgs) { $0.kind(owner: configuration.node.owner).rawValue }
                .sorted { $0.key < $1.key }.map { "\($0.value.count) \($0.key)" }.joined(separator: ", ")
            Terminal.print("\(path): valid: \(configuration.orgs.count) orgs (\(kinds)), \(configuration.groups?.count ?? 0) groups, "
                + "\(configuration.collections?.count ?? 0) collections, \(configuration.peers?.count ?? 0) peers")
        }
    }
}
