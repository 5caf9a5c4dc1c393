import ArgumentParser
import DocumentInput
import Foundation
import MeridianServer
import Policy
import STIX
import Storage

struct Marking: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage marking-definitions.", subcommands: [Create.self, Register.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an existing marking-definition (a partner's releasability or statement marking) as known to the node.",
            discussion: """
                Objects that refer to a marking-definition the node does not know are restricted to their submitter \
                (and to nobody when received from a peer). Registering the definition, as the owner's decision, makes \
                the node read them by its rules; peers that pull from the node then receive what it lets them read.
                """)

        @OptionGroup var data: DataOption
        @Argument(help: "A file holding the marking-definition as STIX JSON (- for standard input).") var file: String

        func run() async throws {
            try await failing("marking register") {
                let bytes = try DocumentInput(maxBytes: 1 << 20).read(file)
                let node = try await data.directory.open()
                let kind = try await node.registerMarking(bytes, by: nil)
                Terminal.print("registered: \(kind)")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a releasability (REL TO) marking-definition and register it with the node; prints it as STIX JSON.")

        @OptionGroup var data: DataOption
        @Option(help: "The marking's name, such as \"REL TO nato, AUS\".") var name: String
        @Option(name: .customLong("releasable-to"), help: "Org ids, group names and country codes (comma-separated).")
        var releasableTo: String

        func run() async throws {
            try await failing("marking create") {
                let node = try await data.directory.open()
                let entries = releasableTo.split(separator: ",", omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                let definition = try await node.createReleasabilityMarking(name: name, releasableTo: entries, by: nil)
                Terminal.print(definition.serialized())
            }
        }
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Ask the sharing policy.", subcommands: [Explain.self])

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain why an org can or cannot read each stored version of an object, naming the rule.",
            discussion: "Exit status: 0 when the org can read at least one version, 1 when it can read none, 2 on error.")

        @OptionGroup var data: DataOption
        @Option(help: "The object's id.") var object: String
        @Option(help: "The org asking to read (omit for anonymous).") var org: String?

        func run() async throws {
            let anyAllowed = try await failing("policy explain") { () -> Bool in
                let node = try await data.directory.open()
                if let org, !node.configuration.orgs.contains(where: { $0.id == org }) {
                    throw NodeConfiguration.Problem(description: "--org: '\(org)' is not an org of the configuration")
                }
                let explanations = try await node.explain(objectID: object, org: org)
                guard !explanations.isEmpty else {
                    throw NodeConfiguration.Problem(description: "no collection of this node stores \(object)")
                }
                Terminal.print("reader: " + node.describeReader(org))
                for e in explanations {
                    let from = e.receivedFrom.map { "received from \($0)" } ?? "submitted by \(e.submittedBy ?? "the node")"
                    Terminal.print("\(e.collection) \(e.version ?? "unversioned") (\(from)): \(e.decision)")
                }
                return explanations.contains { $0.decision.allowed }
            }
            if !anyAllowed { throw ExitCode(1) }
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check and export the audit log; sign checkpoints of it.",
                                                    subcommands: [Verify.self, Export.self, AuditCheckpoint.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain of the audit log; names the first broken entry.",
            discussion: """
                With --complete, also check that every stored object version is listed by a write entry (each write \
                commits with its entry; versions stored by earlier versions of Meridian that were stopped between the two \
                are named, and get an entry when written again, by a re-run of the import for example).
                Exit status: 0 intact (and complete), 1 broken or incomplete, 2 error.
                """)

        @OptionGroup var data: DataOption
        @Flag(help: "Also report stored object versions that no write entry lists.") var complete = false
        @Flag(help: "Do not ask the peers for the copies of this node's checkpoints they hold.") var noPeers = false
        @Option(help: "Check an exported log (meridian audit export) instead of a node's database; needs --checkpoint.")
        var export: String?
        @Option(help: "With --export: a published checkpoints document (URL or file), such as https://node.example/transparency/checkpoints/.")
        var checkpoint: String?

        func validate() throws {
            if (export == nil) != (checkpoint == nil) { throw ValidationError("--export and --checkpoint go together") }
        }

        func run() async throws {
            if let export, let checkpoint {
                try await verifyExport(export, checkpoint)
                return
            }
            let (result, unaudited) = try await failing("audit verify") {
                let log = try await data.directory.auditLog()
                return (try await log.verify(), complete ? try await log.unauditedVersions() : nil)
            }
            if let broken = result.broken {
                Terminal.error("audit log BROKEN at entry \(broken.seq): \(broken.reason) (\(result.verified) entries before it verified)")
                throw ExitCode(1)
            }
            Terminal.print("audit log intact: \(result.verified) entries, head hash \(result.headHash)")
            // The chain is sound in itself; is it the chain that was signed, here and at the peers?
            let (checked, problems) = try await failing("audit verify") {
                let node = try await data.directory.open()
                var held: [(holder: String, checkpoint: Checkpoint)] = []
                if !noPeers {
                    let synchronizer = Synchronizer(node: node, dataDirectory: data.directory.path)
                    held = await synchronizer.witnessedCheckpoints { peer, problem in
                        Terminal.print("note: could not ask peer '\(peer)' for its copies of this node's checkpoints: \(problem)")
                    }
                    await synchronizer.shutdown()
                }
                return try await node.checkCheckpoints(held: held)
            }
            if !problems.isEmpty {
                for problem in problems { Terminal.error("audit log CONTRADICTS \(problem)") }
                throw ExitCode(1)
            }
            Terminal.print("audit log matches \(checked) signed checkpoint(s)")
            guard let unaudited else { return }
            if unaudited.count > 0 {
                Terminal.error("audit log INCOMPLETE: \(unaudited.count) stored object version(s) have no write entry, such as:")
                for v in unaudited.examples { Terminal.error("  collection \(v.collection): \(v.id) \(v.version ?? "(unversioned)")") }
                throw ExitCode(1)
            }
            Terminal.print("audit log complete: every stored object version has its write entry")
        }

        func verifyExport(_ file: String, _ source: String) async throws {
            let (checked, problem, count) = try await failing("audit verify") {
                guard let text = FileManager.default.contents(atPath: file) else { throw ValidationError("--export: cannot read \(file)") }
                let (checkpoints, keys) = try await CheckpointVerification.load(source)
                for c in checkpoints where !c.isSigned(by: keys) {
                    throw NodeConfiguration.Problem(description: "checkpoint \(c.seq) of \(c.at) is not signed by any key \(source) lists (key \(c.keyID))")
                }
                let (checked, problem) = AuditChain.verifyExport(Array(text), against: checkpoints)
                return (checked, problem, checkpoints.count)
            }
            if let problem {
                Terminal.error("exported audit log FAILS: \(problem) (\(checked) entries before it verified)")
                throw ExitCode(1)
            }
            Terminal.print("exported audit log intact: \(checked) entries, matching \(count) signed checkpoint(s)")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the audit log to standard output as JSON Lines.")

        @OptionGroup var data: DataOption

        func run() async throws {
            try await failing("audit export") {
                let out = FileHandle.standardOutput
                try await data.directory.auditLog().export { out.write(Data($0)) }
            }
        }
    }
}
