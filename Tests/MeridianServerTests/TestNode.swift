import Foundation
@testable import MeridianServer
import Storage

/// A node opened from a configuration's TOML text over a fresh database in the temporary directory.
func testNode(_ configuration: String) async throws -> MeridianNode {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-test-\(UUID().uuidString).sqlite").path
    return try await MeridianNode(configuration: try NodeConfiguration.parse(configuration), store: SQLiteObjectStore(path: path))
}
