import ArgumentParser
import DocumentInput
import Foundation
import STIX
import STIXValidation

/// `meridian validate`: checks STIX 2.1 content against the specification, like stix2-validator but faster.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate STIX 2.1 content: a bundle, a TAXII envelope, one object or a JSON array of objects.",
        discussion: """
            Every MUST of STIX 2.1 is an error; every SHOULD is a warning (an error with --strict). Checks are named \
            as in stix2-validator and can be turned on or off by name or number.
            Exit status: 0 when everything is valid, 1 when any object is invalid, 2 when an input cannot be read or \
            parsed as JSON. Gzipped files are read as they are.
            Checks: \(Validator.checkNames.joined(separator: ", ")).
            """
    )

    @Flag(help: "Print one JSON document with a result per object instead of text.")
    var json = false

    @Flag(help: "Treat warnings (SHOULD rules) as errors.")
    var strict = false

    @Flag(name: .customLong("strict-types"), help: "Warn about object types the specification does not define.")
    var strictTypes = false

    @Flag(name: .customLong("strict-properties"), help: "Warn about properties the specification does not define.")
    var strictProperties = false

    @Flag(name: .customLong("enforce-refs"), help: "Warn when a relationship refers to an object missing from its bundle.")
    var enforceRefs = false

    @Flag(help: "Apply the STIX 2.1 Interoperability profile's extra rules.")
    var interop = false

    @Option(name: .customLong("enable"), parsing: .singleValue, help: ArgumentHelp("Run this check too (name or number; repeatable, or comma-separated).", valueName: "check"))
    var enabled: [String] = []

    @Option(name: .customLong("disable"), parsing: .singleValue, help: ArgumentHelp("Skip this check (name or number; repeatable, or comma-separated).", valueName: "check"))
    var disabled: [String] = []

    @Option(name: .customLong("max-depth"), help: "Deepest JSON nesting accepted.")
    var maxDepth = 256

    @Option(name: .customLong("max-string-bytes"), help: "Longest JSON string accepted, in bytes.")
    var maxStringBytes = 16 << 20

    @Option(name: .customLong("max-input-bytes"), help: "Largest input accepted, in bytes after decompression.")
    var maxInputBytes = 1 << 30

    @Flag(name: .shortAndLong, help: "List warnings too in text output (they are always counted).")
    var verbose = false

    @Argument(help: ArgumentHelp("Files or folders (their .json and .json.gz files) to validate; - reads standard input.", valueName: "file"))
    var files: [String]

    func run() throws {
        var options = ValidationOptions(strict: strict, strictTypes: strictTypes, strictProperties: strictProperties,
                                        enforceRefs: enforceRefs, interop: interop)
        options.enabled = enabled.flatMap { $0.split(separator: ",").map(String.init) }
        options.disabled = disabled.flatMap { $0.split(separator: ",").map(String.init) }
        let validator: Validator
        do {
            validator = try Validator(options: options)
        } catch {
            Terminal.error("meridian validate: \(error)")
            throw ExitCode(2)
        }
        let input = DocumentInput(maxBytes: maxInputBytes)
        let parser = JSONParser(limits: JSONLimits(maxDepth: maxDepth, maxStringBytes: maxStringBytes))
        var anyInvalid = false
        var unreadable = false
        var containers: [JSONValue] = []
        var results: [JSONValue] = []
        for file in DocumentInput.expand(files) {
            let name = file == "-" ? "<stdin>" : file
            let report: DocumentReport
            do {
                let bytes = try input.read(file)
                report = try validator.validateDocument(bytes, parser: parser, concurrency: ProcessInfo.processInfo.activeProcessorCount,
                                                         keepWarnings: json || verbose)
            } catch let error as InputError {
                Terminal.error("meridian validate: \(error)")
                unreadable = true
                continue
            } catch let error as JSONParseError {
                Terminal.error("meridian validate: \(name): not valid JSON: \(error)")
                unreadable = true
                continue
            }
            anyInvalid = anyInvalid || !report.isValid
            if json {
                let (container, objectResults) = report.jsonResults(file: name)
                containers.append(container)
                results += objectResults
            } else {
                Terminal.print(TextReport(file: name, report: report, verbose: verbose).render())
            }
        }
        if json {
            var document = JSONObject()
            document["results"] = .array(results)
            document["documents"] = .array(containers)
            Terminal.print(JSONValue.object(document).serialized())
        }
        if unreadable { throw ExitCode(2) }
        if anyInvalid { throw ExitCode(1) }
    }
}
