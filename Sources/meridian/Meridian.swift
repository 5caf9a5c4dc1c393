import ArgumentParser
import Foundation

/// The release this source tree is; the commit comes from the build (Plugins/BuildStamp).
let meridianVersion = "0.2.0"

/// The `meridian` command: a STIX 2.1 / TAXII 2.1 threat-intelligence exchange node and its tools.
@main
struct Meridian: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meridian",
        abstract: "Meridian: share STIX 2.1 threat intelligence between sovereign partners.",
        version: "meridian \(meridianVersion) (commit \(buildCommit))",
        subcommands: [Validate.self, Init.self, Serve.self, Demo.self, User.self, Token.self, Import.self, Export.self,
                      Marking.self, PolicyCommand.self, Audit.self, PatternCommand.self, Match.self, Sync.self, Config.self,
                      Backup.self, Restore.self, TransparencyCommand.self, Key.self, MISPCommand.self, StorageCommand.self]
    )

    /// Runs the command. Usage errors (an unknown option, a missing argument, a ValidationError) exit with status 2,
    /// as every command's help says, rather than ArgumentParser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error).rawValue == 64 {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
