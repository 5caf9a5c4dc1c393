import ArgumentParser
import DocumentInput
import Foundation
import STIX
import STIXPattern
import STIXValidation

struct PatternCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pattern", abstract: "Work with STIX patterns.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that a STIX 2.1 pattern is valid.",
            discussion: """
                Exit status: 0 valid, 1 invalid (with the position and the reason), 2 unreadable input.
                With --batch FILE, reads JSON Lines {"pattern": "..."} and writes one line for each, in order:
                {"valid": true} or {"valid": false, "error": "..."}.
                """)

        @Flag(help: "Print the result as JSON.") var json = false
        @Option(help: "JSON Lines of {\"pattern\": \"...\"} to check (- for standard input).") var batch: String?
        @Argument(help: "The pattern.") var pattern: String?

        func validate() throws {
            guard (pattern == nil) != (batch == nil) else { throw ValidationError("give either a PATTERN or --batch FILE") }
        }

        static func check(_ text: String) -> JSONValue {
            do {
                let p = try Pattern(text)
                var o = JSONObject(["valid": .bool(true)])
                let warnings = PatternWarnings.warnings(for: p)
                if !warnings.isEmpty { o["warnings"] = .array(warnings.map(JSONValue.string)) }
                return .object(o)
            } catch {
                return .object(JSONObject(["valid": .bool(false), "error": .string(error.description)]))
            }
        }

        func run() async throws {
            if let batch {
                try JSONLines.each(batch, command: "pattern check") { line in
                    guard let text = line["pattern"]?.stringValue else {
                        return .object(JSONObject(["valid": .bool(false), "error": .string("each line must be an object with a 'pattern' string")]))
                    }
                    // The batch answer is exactly {"valid": true} or {"valid": false, "error": ...}.
                    var result = Self.check(text)
                    if case .object(var o) = result { o["warnings"] = nil; result = .object(o) }
                    return result
                }
                return
            }
            let result = Self.check(pattern ?? "")
            let valid = result["valid"]?.boolValue == true
            if json {
                print(result.serialized())
            } else if valid {
                print("valid")
                for w in result["warnings"]?.arrayValue ?? [] { print("warning: \(w.stringValue ?? "")") }
            } else {
                print("invalid: \(result["error"]?.stringValue ?? "")")
            }
            if !valid { throw ExitCode(1) }
        }
    }
}

struct Match: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Match a STIX pattern against observed-data.",
        discussion: """
            FILE holds STIX 2.1 bundles (observed-data with the observables its object_refs name), a list of them, or
            for --stix-version 2.0 observed-data with embedded objects. Prints the matching observed-data.
            Exit status: 0 match, 1 no match, 2 error.
            With --batch FILE, reads JSON Lines {"pattern": "...", "observed_data": [...], "stix_version": "2.1"} and
            writes one line for each, in order: {"matched": true|false} or {"error": "..."}.
            """)

    @Option(help: "The pattern.") var pattern: String?
    @Option(name: .customLong("stix-version"), help: "2.1 (default) or 2.0.") var stixVersion = "2.1"
    @Option(help: "JSON Lines of match cases (- for standard input).") var batch: String?
    @Argument(help: "The observed-data (- for standard input).") var file: String?

    func validate() throws {
        if batch == nil {
            guard pattern != nil, file != nil else { throw ValidationError("give --pattern PATTERN and FILE, or --batch FILE") }
        } else {
            guard pattern == nil, file == nil else { throw ValidationError("--batch takes the patterns and data from its file") }
        }
    }

    static func observedData(_ value: JSONValue) -> [JSONValue] {
        if case .array(let list) = value { return list }
        return [value]
    }

    func run() async throws {
        if let batch {
            try JSONLines.each(batch, command: "match") { line in
                guard let text = line["pattern"]?.stringValue, let data = line["observed_data"] else {
                    return .object(JSONObject(["error": .string("each line must be an object with 'pattern' and 'observed_data'")]))
                }
                do {
                    let matcher = try PatternMatcher(text, stixVersion: line["stix_version"]?.stringValue ?? "2.1")
                    return .object(JSONObject(["matched": .bool(try matcher.matches(Self.observedData(data)))]))
                } catch {
                    return .object(JSONObject(["error": .string("\(error)")]))
                }
            }
            return
        }
        let matched: [JSONValue]
        do {
            let bytes = try DocumentInput().read(file ?? "-")
            let data = try JSONParser(limits: JSONLimits(maxDepth: 256, maxStringBytes: 64 << 20)).parse(bytes)
            matched = try PatternMatcher(pattern ?? "", stixVersion: stixVersion).match(Self.observedData(data))
        } catch {
            Terminal.error("meridian match: \(error)")
            throw ExitCode(2)
        }
        guard !matched.isEmpty else {
            Terminal.error("no match")
            throw ExitCode(1)
        }
        print(JSONValue.array(matched).serialized())
    }
}

/// Reads JSON Lines and writes one JSON line per input line, in order.
enum JSONLines {
    static func each(_ path: String, command: String, _ transform: (JSONValue) -> JSONValue) throws {
        let bytes: [UInt8]
        do {
            bytes = try DocumentInput().read(path)
        } catch {
            Terminal.error("meridian \(command): \(error)")
            throw ExitCode(2)
        }
        let parser = JSONParser(limits: JSONLimits(maxDepth: 256, maxStringBytes: 64 << 20))
        var out = ""
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let line = bytes[start..<end]
            start = end + 1
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let result: JSONValue
            if let value = try? parser.parse(Array(line)), case .object = value {
                result = transform(value)
            } else {
                result = transform(.null)  // not a JSON object: answered with the line's error, in its place
            }
            out += result.serialized() + "\n"
            if out.utf8.count > 1 << 16 {
                FileHandle.standardOutput.write(Data(out.utf8))
                out = ""
            }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
