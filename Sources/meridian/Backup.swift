import ArgumentParser
import Foundation
import MeridianServer
import Storage

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the node (database and meridian.toml) to a file, while it serves.",
        discussion: """
            The copy is the database as of one moment (SQLite's VACUUM INTO, in a read transaction: writers are not \
            stopped), with meridian.toml inside it, created readable by its owner only. Peers' password and token \
            files and TLS keys are not in it. Restore it with `meridian restore`. docs/OPERATIONS.md gives a routine.
            Exit status: 0 written, 2 error (nothing written).
            """)

    @OptionGroup var data: DataOption
    @Option(help: "The backup file to write (it must not exist).") var out: String

    func run() async throws {
        try await failing("backup") {
            let started = Date()
            try await data.directory.backup(to: out, version: "\(meridianVersion) (commit \(buildCommit))")
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            Terminal.print("backed up \(data.directory.path) to \(out): \(size) bytes in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup into a new data directory, and verify its audit log.",
        discussion: """
            The directory must not hold a node: restore into a new one, then stop the node and swap the directories. \
            The backup is checked (SQLite's integrity check) and the restored audit log verified; anything wrong leaves \
            the directory as it was. Put back the peers' password and token files and the TLS key, which backups do \
            not hold.
            Exit status: 0 restored, 2 error (nothing restored).
            """)

    @Argument(help: "The backup file, as `meridian backup` wrote it.") var file: String
    @OptionGroup var data: DataOption

    func run() async throws {
        try await failing("restore") {
            let (metadata, audit) = try await data.directory.restore(from: file)
            Terminal.print("restored \(file) (taken \(metadata["created"] ?? "at an unknown time") from \(metadata["source"] ?? "an unknown directory") by meridian \(metadata["meridian"] ?? "unknown")) into \(data.directory.path); audit log intact: \(audit.verified) entries, head hash \(audit.headHash)")
        }
    }
}
