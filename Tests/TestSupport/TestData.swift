import Foundation
import STIX

/// The data the tests use, all inside the repository so a fresh clone is enough.
public enum TestData {
    /// The repository's root folder.
    public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A path inside the repository.
    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// The bytes of a file inside the repository.
    public static func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: url(relative)))
    }

    /// A JSON file inside the repository, parsed with room for the large conformance files.
    public static func json(_ relative: String) throws -> JSONValue {
        try JSONParser(limits: JSONLimits(maxDepth: 256, maxStringBytes: 64 << 20)).parse(bytes(relative))
    }

    /// Parses a JSON text written in a test.
    public static func object(_ text: String) throws -> JSONValue {
        try JSONParser().parse(text)
    }

    /// A new temporary file holding `bytes`.
    public static func temporaryFile(_ bytes: [UInt8], suffix: String = ".json") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString)\(suffix)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
