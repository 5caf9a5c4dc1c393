import Foundation
import Testing
@testable import TOML

/// The TOML reader against Python's tomllib, case by case (Cases/cases.json, made by scripts/toml-cases.py), and the
/// rules the configuration relies on: errors with their line and column, lines of keys, decoding, bounded nesting.
struct TOMLTests {
    struct Case {
        let toml: String
        let valid: Bool
        let value: Any?
    }

    static func load() -> [Case] {
        let url = Bundle.module.url(forResource: "cases", withExtension: "json", subdirectory: "Cases")!
        let root = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { Case(toml: $0["toml"] as! String, valid: $0["valid"] as! Bool, value: $0["value"]) }
    }

    /// A value in toml-test's tagged form, as scripts/toml-cases.py writes it.
    static func tagged(_ v: TOMLValue) -> Any {
        switch v {
        case .string(let s): return ["type": "string", "value": s]
        case .integer(let i): return ["type": "integer", "value": String(i)]
        case .float(let d): return ["type": "float", "value": d.isNaN ? "nan" : String(d.bitPattern)]
        case .boolean(let b): return ["type": "bool", "value": b ? "true" : "false"]
        case .dateTime(let d): return ["type": d.kind.rawValue]
        case .array(let a): return a.map(tagged)
        case .table(let t): return tagged(t)
        }
    }

    static func tagged(_ t: TOMLTable) -> [String: Any] {
        var out: [String: Any] = [:]
        for key in t.keys { out[key] = tagged(t[key]!) }
        return out
    }

    @Test func agreesWithPythonsTomllibOnEveryCase() throws {
        let cases = Self.load()
        #expect(cases.count > 4000)
        var disagreements: [String] = []
        for c in cases {
            do {
                let document = try TOMLDocument(parsing: c.toml)
                if !c.valid {
                    disagreements.append("accepted, tomllib refuses: \(c.toml.debugDescription)")
                } else if !(Self.tagged(document.root) as NSDictionary).isEqual(to: c.value as! [String: Any]) {
                    disagreements.append("a different value: \(c.toml.debugDescription): \(Self.tagged(document.root)) against \(c.value!)")
                }
            } catch {
                if c.valid { disagreements.append("refused (\(error)), tomllib accepts: \(c.toml.debugDescription)") }
            }
        }
        let shown = disagreements.prefix(40).joined(separator: "\n")
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(shown)")
    }

    @Test func errorsSayWhereAndWhy() {
        func error(_ text: String) -> TOMLError? {
            do {
                _ = try TOMLDocument(parsing: text)
                return nil
            } catch {
                return error
            }
        }
        #expect(error("a = 1\nb = \nc = 3") == TOMLError(line: 2, column: 5, message: "expected a value after '=', found the end of the line"))
        #expect(error("[a]\nx = 1\n[a]\n")?.line == 3)
        #expect(error("[a]\nx = 1\n[a]\n")?.message == "table [a] is defined twice")
        #expect(error("x = 1\nx = 2")?.message == "`x` is defined twice")
        #expect(error("é = 'é' 'é'") == TOMLError(line: 1, column: 1, message: "expected a key (letters, digits, '_', '-' or a quoted key), found 'é'"))
        #expect(error("s = 'é' x") == TOMLError(line: 1, column: 9, message: "expected the end of the line after the value, found 'x'"))
        #expect(error("n = 99999999999999999999")?.message == "'99999999999999999999' is not a valid number (or it does not fit in 64 bits)")
        #expect(error("d = 2001-02-29")?.message.hasPrefix("'2001-02-29' is not a valid date or time") == true)
        #expect(error("s = \"\\q\"")?.message.hasPrefix("unknown escape \\q") == true)
        #expect(error("a = {b = 1}\na.c = 2")?.message == "`a` is already a table; a dotted key cannot add to it")
        #expect(error("a = [}")?.message == "expected a value (a string, number, boolean, date, array or inline table), found '}'"
            || error("a = [}")?.message.hasPrefix("expected a value") == true)
    }

    @Test func nestingIsBoundedNotAStackOverflow() {
        for text in ["a = " + String(repeating: "[", count: 100_000), "a = " + String(repeating: "{b=", count: 100_000),
                     "[" + Array(repeating: "a", count: 100_000).joined(separator: ".") + "]"] {
            #expect(throws: TOMLError.self) { try TOMLDocument(parsing: text) }
        }
        let deep = "a = " + String(repeating: "[", count: 50) + String(repeating: "]", count: 50)
        #expect(throws: Never.self) { try TOMLDocument(parsing: deep) }
    }

    @Test func linesOfKeysTablesAndElements() throws {
        let document = try TOMLDocument(parsing: """
            top = 1
            [server]
            port = 8443

            [[orgs]]
            id = "a"
            [[orgs]]
            id = "b"
            list = [
              { x = 1 },
              { y = 2 },
            ]
            """)
        #expect(document.lines["top"] == 1)
        #expect(document.lines["server"] == 2)
        #expect(document.lines["server.port"] == 3)
        #expect(document.lines["orgs[0]"] == 5)
        #expect(document.lines["orgs[1].id"] == 8)
        #expect(document.lines["orgs[1].list[1]"] == 11)
        #expect(document.lines["orgs[1].list[1].y"] == 11)
    }

    struct Config: Decodable, Equatable {
        struct Org: Decodable, Equatable {
            var id: String
            var weight: Double?
        }

        var name: String
        var port: Int
        var small: UInt8?
        var on: Bool
        var orgs: [Org]
        var tags: [String]?
    }

    @Test func decodesDecodableTypes() throws {
        let document = try TOMLDocument(parsing: """
            name = "n"
            port = 8443
            on = true
            [[orgs]]
            id = "a"
            weight = 2
            [[orgs]]
            id = "b"
            weight = 0.5
            """)
        let config = try TOMLDecoder().decode(Config.self, from: document.root)
        #expect(config == Config(name: "n", port: 8443, small: nil, on: true,
                                 orgs: [.init(id: "a", weight: 2), .init(id: "b", weight: 0.5)], tags: nil))
        // A value of the wrong type or out of range names its path.
        let wrong = try TOMLDocument(parsing: "name = 1\nport = 1\non = true\norgs = []")
        #expect {
            try TOMLDecoder().decode(Config.self, from: wrong.root)
        } throws: { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["name"] && context.debugDescription == "expected a string, found an integer"
        }
        let large = try TOMLDocument(parsing: "name = 'n'\nport = 1\nsmall = 300\non = true\norgs = [{id = 'a', weight = 'x'}]")
        #expect(throws: DecodingError.self) { try TOMLDecoder().decode(Config.self, from: large.root) }
    }
}
