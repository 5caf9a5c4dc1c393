import GRDB
import STIX

/// A stored version found by full-text search or by a reference to an object: where it is, never what it holds.
/// Callers decide each one with the sharing policy before showing, ranking or counting it.
public struct VersionLocation: Sendable, Hashable {
    public let collection: String
    public let id: String
    /// The version as the store keys it (microseconds since 1970; `date_added` for an unversioned object).
    public let versionUS: Int64
    public let dateAdded: Int64

    init(collection: String, id: String, versionUS: Int64, dateAdded: Int64) {
        self.collection = collection
        self.id = id
        self.versionUS = versionUS
        self.dateAdded = dateAdded
    }

    /// Where a version a read returned is stored.
    public init(collection: String, version: StoredVersion) {
        self.init(collection: collection, id: version.id,
                  versionUS: version.version.flatMap { Timestamp($0) }.map(SQLiteObjectStore.microseconds) ?? Int64.min,
                  dateAdded: version.dateAdded)
    }
}

/// What an analyst types into a search box, as an FTS5 query: every word must occur, each word a phrase (so that
/// `198.51.100.7` or `evil.example.com` match those tokens in sequence and no FTS5 syntax reaches the engine).
public struct SearchText: Sendable, Equatable {
    public let words: [String]

    /// Nil when the text holds no letter or digit to search for.
    public init?(_ text: String, maxWords: Int = 16) {
        let words = text.split(whereSeparator: \.isWhitespace).prefix(maxWords).map {
            String($0.filter { $0 != "\"" && !$0.isNewline })
        }.filter { $0.contains(where: { $0.isLetter || $0.isNumber }) }
        guard !words.isEmpty else { return nil }
        self.words = words
    }

    public var matchExpression: String { words.map { "\"\($0)\"" }.joined(separator: " AND ") }
}

extension SQLiteObjectStore {
    /// Versions in `collections` whose searched text (Migrations.searchedValues) holds every word of `text`, newest
    /// first, at most `limit`.
    public func search(_ text: SearchText, in collections: [String], limit: Int) async throws -> [VersionLocation] {
        guard !collections.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: collections.count).joined(separator: ",")
        return try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT v.collection, v.id, v.version_us, v.date_added
                FROM search_index JOIN search_doc d ON d.rowid = search_index.rowid
                JOIN object_version v ON v.collection = d.collection AND v.date_added = d.date_added
                WHERE search_index MATCH ? AND d.collection IN (\(marks))
                ORDER BY d.date_added DESC LIMIT ?
                """, arguments: StatementArguments([text.matchExpression as any DatabaseValueConvertible] + collections + [limit])).map(Self.location)
        }
    }

    /// Versions in `collections` that refer to `id` (Migrations.referenceValues), newest first, at most `limit`.
    public func referring(to id: String, in collections: [String], limit: Int) async throws -> [VersionLocation] {
        guard !collections.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: collections.count).joined(separator: ",")
        return try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT v.collection, v.id, v.version_us, v.date_added
                FROM object_ref r JOIN object_version v ON v.collection = r.collection AND v.date_added = r.date_added
                WHERE r.ref = ? AND r.collection IN (\(marks))
                ORDER BY r.date_added DESC LIMIT ?
                """, arguments: StatementArguments([id as any DatabaseValueConvertible] + collections + [limit])).map(Self.location)
        }
    }

    static func location(_ row: Row) -> VersionLocation {
        VersionLocation(collection: row[0], id: row[1], versionUS: row[2], dateAdded: row[3])
    }
}
