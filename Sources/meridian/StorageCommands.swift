import ArgumentParser
import Foundation
import MeridianServer
import PostgreSQLStorage

struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Move a node's data between storage backends.",
        subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a SQLite node into an empty PostgreSQL database (docs/SCALING.md).",
            discussion: """
                Copies every object version with its date_added, tombstones, statuses, marking-definitions and policy \
                changes, users and tokens, the audit log byte for byte, signing keys and checkpoints, and the \
                federation cursors, in one transaction: the copy is kept only if the copied audit chain verifies and \
                ends where the node's does. The target must be empty. Stop `meridian serve` first (the data \
                directory's lock is taken). Then add [storage] to meridian.toml (docs/CONFIG.md) and start the node.
                Exit status: 0 copied, 2 error (the target left empty).
                """)

        @OptionGroup var data: DataOption
        @Option(help: "The target: postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=…] (without the password).") var to: String
        @Option(help: "A file holding the database password (readable by its owner only).") var passwordFile: String?

        func run() async throws {
            try await failing("storage copy") {
                var location = try PostgresLocation(url: to)
                if location.password != nil {
                    throw NodeConfiguration.Problem(description: "--to holds a password; give it with --password-file instead")
                }
                if let passwordFile {
                    location.password = try data.directory.password(passwordFile.hasPrefix("/")
                        ? passwordFile : FileManager.default.currentDirectoryPath + "/" + passwordFile)
                }
                let started = Date()
                let progress = ProgressLine()
                let summary = try await data.directory.copyStorage(to: location) { progress.show($0) }
                Terminal.print("copied \(data.directory.path) into \(location) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(summary)")
                Terminal.print("""
                    next: add to \(data.directory.configurationPath)
                      [storage]
                      backend = "postgresql"
                      url = "\(location)"
                      password_file = "…"   # a file of the data directory holding the password, mode 0600
                    """)
            }
        }
    }
}

/// The versions copied so far, on standard error every 50,000.
final class ProgressLine: Sendable {
    func show(_ versions: Int) {
        if versions % 50_000 < 2000 { FileHandle.standardError.write(Data("  \(versions) versions copied\n".utf8)) }
    }
}
