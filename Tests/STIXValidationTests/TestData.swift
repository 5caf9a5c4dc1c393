import Foundation
import STIX
import STIXValidation

/// Paths to the data the tests use, all inside the repository so a fresh clone is enough.
enum TestData {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: url(relative)))
    }

    static func json(_ relative: String) throws -> JSONValue {
        try JSONParser(limits: JSONLimits(maxDepth: 256, maxStringBytes: 64 << 20)).parse(bytes(relative))
    }

    /// Parses a JSON text written in a test.
    static func object(_ text: String) throws -> JSONValue {
        try JSONParser().parse(text)
    }
}
