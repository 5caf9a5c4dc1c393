import Logging
import STIX
import STIXValidation
import Storage

/// Everything a running node holds: its configuration, its stores, and who may do what.
public struct MeridianNode: Sendable {
    public let configuration: NodeConfiguration
    public let store: any ObjectStore
    public let accounts: AccountStore
    public let authenticator: Authenticator
    let validator: Validator

    public init(configuration: NodeConfiguration, store: SQLiteObjectStore) async throws {
        self.configuration = configuration
        self.store = store
        self.accounts = AccountStore(store)
        self.authenticator = Authenticator(accounts: accounts, configuration: configuration)
        // Writes are refused only for errors (MUST rules); SHOULD checks would only produce warnings nobody reads here.
        self.validator = try Validator(options: ValidationOptions(disabled: ["all"]))
        for collection in configuration.collections ?? [] {
            try await store.ensureCollection(collection.id.lowercased())
        }
    }

    /// The collection `key` (its id or its alias) in the API root `root`.
    func collection(_ key: String, in root: String) -> NodeConfiguration.Collection? {
        let lower = key.lowercased()
        return (configuration.collections ?? []).first {
            $0.api_root == root && ($0.id.lowercased() == lower || $0.alias == key)
        }
    }

    /// The collections of `root` that `principal` can see, in configuration order (a stable sort, §5.1).
    func collections(in root: String, for principal: Principal) -> [(NodeConfiguration.Collection, CollectionAccess)] {
        (configuration.collections ?? []).filter { $0.api_root == root }.compactMap { c in
            let access = CollectionAccess(collection: c, principal: principal)
            return access.isVisible ? (c, access) : nil
        }
    }

    /// Whether `principal` may receive a stored version of an object readable in its collection.
    ///
    /// The object-level sharing policy (TLP, releasability, provenance) plugs in here; until then the collection
    /// rule alone decides.
    func canRead(_ version: StoredVersion, principal: Principal) -> Bool {
        true
    }
}
