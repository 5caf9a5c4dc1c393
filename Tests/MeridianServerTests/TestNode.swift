import Foundation
@testable import MeridianServer
import Storage
import TestSupport

/// A node opened from a configuration's TOML text over a fresh store of the run's backend (``TestStores``): a SQLite
/// file in the temporary directory, or a new PostgreSQL database.
func testNode(_ configuration: String) async throws -> MeridianNode {
    try await MeridianNode(configuration: try NodeConfiguration.parse(configuration), store: TestStores.nodeStore())
}
