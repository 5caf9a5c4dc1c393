import Foundation
import PackagePlugin

/// Writes `BuildStamp.swift` into the `meridian` target before each build: the commit the binary is built from
/// (`git describe --always --dirty`), or "unknown" outside a git checkout, for `meridian --version`.
@main
struct BuildStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("stamp")
        let file = output.appendingPathComponent("BuildStamp.swift").path
        let package = context.package.directoryURL.path
        // A prebuild command runs before every build, so the stamp follows new commits without a clean build; the file
        // is rewritten only when its content changes, so an unchanged commit recompiles nothing.
        let script = """
            mkdir -p '\(output.path)'
            commit=$(git -C '\(package)' describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
            text="/// Generated at build time by Plugins/BuildStamp.
            let buildCommit = \\"$commit\\""
            [ "$(cat '\(file)' 2>/dev/null)" = "$text" ] || printf '%s\\n' "$text" > '\(file)'
            """
        return [.prebuildCommand(displayName: "Stamping the build with its commit", executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script], outputFilesDirectory: output)]
    }
}
