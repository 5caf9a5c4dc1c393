import ArgumentParser

/// The `meridian` command: a STIX 2.1 / TAXII 2.1 threat-intelligence exchange node and its tools.
@main
struct Meridian: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meridian",
        abstract: "Meridian: share STIX 2.1 threat intelligence between sovereign partners.",
        version: "0.1.0",
        subcommands: [Validate.self, Init.self, Serve.self, Demo.self, User.self, Token.self, Import.self, Export.self,
                      Marking.self, PolicyCommand.self, Audit.self, PatternCommand.self, Match.self, Sync.self, Config.self]
    )
}
