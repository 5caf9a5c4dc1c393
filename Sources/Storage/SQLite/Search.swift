import Foundation
import GRDB
import STIX

/// Where a version is stored: its collection and `date_added`, which name it alone. What full-text search finds;
/// callers decide each one with the sharing policy before showing, ranking or counting it.
public struct StoredPlace: Sendable, Hashable {
    public let collection: String
    public let dateAdded: Int64

    public init(collection: String, dateAdded: Int64) {
        self.collection = collection
        self.dateAdded = dateAdded
    }
}

/// A stored version found by a reference to an object: where it is and which object it is, never what it holds.
/// Callers decide each one with the sharing policy before showing, ranking or counting it.
public struct VersionLocation: Sendable, Hashable {
    public let collection: String
    public let id: String
    /// The version as the store keys it (microseconds since 1970; `date_added` for an unversioned object).
    public let versionUS: Int64
    public let dateAdded: Int64

    package init(collection: String, id: String, versionUS: Int64, dateAdded: Int64) {
        self.collection = collection
        self.id = id
        self.versionUS = versionUS
        self.dateAdded = dateAdded
    }

    public var place: StoredPlace { StoredPlace(collection: collection, dateAdded: dateAdded) }

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

    /// Each word as a phrase, except a value such as an address, a domain, a URL or a dotted id, which is looked up
    /// by its whole-value token (``ValueTokens``): one short posting list instead of the phrase's tokens (`10`, `1`,
    /// …) that a million addresses share. A value is found whole, or as the end of a longer dotted name
    /// (`example.com` finds `login.example.com`), not by any other part.
    public var matchExpression: String {
        words.map { word in
            if let token = ValueTokens.token(for: word) { return "\"\(token)\"" }
            return "\"\(word)\""
        }.joined(separator: " AND ")
    }
}

/// Whole-value tokens: a run of letters and digits joined by `.`, `:`, `/`, `-`, `@` or `_` that holds a `.` or a `:`
/// (an address, a domain, a URL, an e-mail address, a dotted technique id) becomes one token that FTS5's tokenizer
/// keeps whole, each joining character spelled as `q` and a letter: `10.1.226.64` is `10qd1qd226qd64`. The search
/// text of a version carries these tokens after its words; a URL's or an e-mail address's host gets one of its own.
public enum ValueTokens {
    /// The joining characters (ASCII) and the letter each is spelled with after `q`.
    static func joiner(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "."): return UInt8(ascii: "d")
        case UInt8(ascii: ":"): return UInt8(ascii: "c")
        case UInt8(ascii: "/"): return UInt8(ascii: "s")
        case UInt8(ascii: "-"): return UInt8(ascii: "h")
        case UInt8(ascii: "@"): return UInt8(ascii: "a")
        case UInt8(ascii: "_"): return UInt8(ascii: "u")
        default: return nil
        }
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
    }

    /// The token of a run of ASCII letters, digits and joiners (its ends trimmed to letters or digits), or nil when
    /// it holds no `.` or `:`.
    static func token(_ run: ArraySlice<UInt8>) -> [UInt8]? {
        guard let first = run.firstIndex(where: isAlphanumeric), let last = run.lastIndex(where: isAlphanumeric) else { return nil }
        let value = run[first...last]
        guard value.contains(UInt8(ascii: ".")) || value.contains(UInt8(ascii: ":")) else { return nil }
        var token: [UInt8] = []
        token.reserveCapacity(value.count + 8)
        for byte in value {
            if let letter = joiner(byte) {
                token.append(UInt8(ascii: "q"))
                token.append(letter)
            } else {
                token.append(byte | (byte >= 0x41 && byte <= 0x5A ? 0x20 : 0))
            }
        }
        return token
    }

    /// The whole-value token of `word`, or nil when it is not such a value (only ASCII letters, digits and joiners,
    /// with a `.` or a `:`).
    public static func token(for word: String) -> String? {
        let bytes = Array(word.utf8)
        guard bytes.allSatisfy({ isAlphanumeric($0) || joiner($0) != nil }) else {
            // Other characters only at the ends (quotes, brackets): trimmed, as the index trims them.
            guard let first = bytes.firstIndex(where: isAlphanumeric), let last = bytes.lastIndex(where: isAlphanumeric),
                  bytes[first...last].allSatisfy({ isAlphanumeric($0) || joiner($0) != nil })
            else { return nil }
            return token(bytes[first...last]).map { String(decoding: $0, as: UTF8.self) }
        }
        return token(bytes[...]).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole-value tokens of every such value in `text`, space-separated: each value, each end of it after a dot
    /// that still holds a dot (`example.com` of `login.example.com`), and the host of a URL or an e-mail address.
    public static func tokens(in text: String) -> String {
        var out: [UInt8] = []
        func emit(_ value: ArraySlice<UInt8>) {
            guard let whole = token(value) else { return }
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: whole)
            var rest = value
            while let dot = rest.firstIndex(of: UInt8(ascii: ".")) {
                rest = rest[(dot + 1)...]
                guard rest.contains(UInt8(ascii: ".")), let token = token(rest) else { break }
                out.append(UInt8(ascii: " "))
                out.append(contentsOf: token)
            }
        }
        let bytes = Array(text.utf8)
        var start = 0
        for i in 0...bytes.count {
            if i < bytes.count, isAlphanumeric(bytes[i]) || joiner(bytes[i]) != nil { continue }
            if i > start {
                let run = bytes[start..<i]
                emit(run)
                let pieces = run.split(whereSeparator: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "@") })
                if pieces.count > 1 {
                    for piece in pieces where piece.contains(UInt8(ascii: ".")) { emit(piece) }
                }
            }
            start = i + 1
        }
        return out.isEmpty ? "" : String(decoding: out.dropFirst(), as: UTF8.self)
    }

    /// `meridian_search_text(text)`: the text followed by its whole-value tokens, for the indexer's SQL.
    static let function = DatabaseFunction("meridian_search_text", argumentCount: 1, pure: true) { values in
        guard let text = String.fromDatabaseValue(values[0]) else { return nil }
        let tokens = tokens(in: text)
        return tokens.isEmpty ? text : text + " " + tokens
    }
}

extension SQLiteObjectStore {
    /// Makes the search documents and references of up to `limit` stored versions not yet indexed, oldest first,
    /// collection by collection, in one short write transaction; returns how many versions it looked at (0: every
    /// stored version is indexed). `date_added` is assigned in commit order, so a cursor per collection misses none.
    @discardableResult
    public func indexForSearch(limit: Int) async throws -> Int {
        try await pool.write { db in
            var done = 0
            let pending = try Row.fetchAll(db, sql: """
                SELECT c.id, c.last_added, coalesce(s.date_added, -1) FROM collection c LEFT JOIN search_cursor s ON s.collection = c.id
                WHERE c.last_added > coalesce(s.date_added, -1)
                """)
            for row in pending where done < limit {
                let collection: String = row[0], lastAdded: Int64 = row[1], from: Int64 = row[2]
                let range: [(String, Int64)] = try Row.fetchAll(db, sql: """
                    SELECT date_added FROM object_version WHERE collection = ? AND date_added > ? ORDER BY date_added LIMIT ?
                    """, arguments: [collection, from, limit - done]).map { (collection, $0[0]) }
                let through = range.count == limit - done ? range.last!.1 : lastAdded
                // One pass over each body: its title (name and external ids) and the rest of what is searched.
                try db.execute(sql: """
                    INSERT INTO search_doc (collection, date_added, title, text)
                    SELECT v.collection, v.date_added,
                      coalesce(meridian_search_text(group_concat(CASE WHEN \(Self.titleValues("t.")) THEN t.value END, ' ')), ''),
                      coalesce(meridian_search_text(group_concat(CASE WHEN NOT (\(Self.titleValues("t."))) THEN t.value END, ' ')), '')
                    FROM object_version v, json_tree(CAST(v.body AS TEXT)) t
                    WHERE v.collection = ?1 AND v.date_added > ?2 AND v.date_added <= ?3 AND json_valid(CAST(v.body AS TEXT))
                      AND \(Self.searchedValues("t."))
                    GROUP BY v.date_added
                    """, arguments: [collection, from, through])
                try db.execute(sql: """
                    INSERT INTO object_ref (collection, date_added, ref)
                    SELECT DISTINCT v.collection, v.date_added, t.value FROM object_version v, json_tree(CAST(v.body AS TEXT)) t
                    WHERE v.collection = ?1 AND v.date_added > ?2 AND v.date_added <= ?3 AND json_valid(CAST(v.body AS TEXT))
                      AND (\(Self.referenceValues("t.")))
                    """, arguments: [collection, from, through])
                try db.execute(sql: """
                    INSERT INTO search_cursor (collection, date_added) VALUES (?, ?)
                    ON CONFLICT(collection) DO UPDATE SET date_added = excluded.date_added
                    """, arguments: [collection, through])
                done += range.count
            }
            return done
        }
    }

    /// Versions in `collections` whose searched text (``searchedValues(_:)``) holds every word of `text`: first at most
    /// `named` whose title (``titleValues(_:)``: name and external ids) holds them, then at most `limit` more whose
    /// text or title does, each list the most recently indexed first (the index's own order, so a common word among
    /// millions stops after the limit), without repeats.
    public func search(_ text: SearchText, in collections: [String], named: Int, limit: Int) async throws -> [StoredPlace] {
        guard !collections.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: collections.count).joined(separator: ",")
        return try await pool.read { db in
            var seen = Set<StoredPlace>(), out: [StoredPlace] = []
            for (index, count) in [("search_title", named), ("search_index", limit)] {
                let statement = try db.cachedStatement(sql: """
                    SELECT d.collection, d.date_added FROM \(index) JOIN search_doc d ON d.rowid = \(index).rowid
                    WHERE \(index) MATCH ? AND d.collection IN (\(marks))
                    ORDER BY \(index).rowid DESC LIMIT ?
                    """)
                let arguments = StatementArguments([text.matchExpression as any DatabaseValueConvertible] + collections + [count])
                let rows = try Row.fetchCursor(statement, arguments: arguments)
                while let row = try rows.next() {
                    let place = StoredPlace(collection: row[0], dateAdded: row[1])
                    if seen.insert(place).inserted { out.append(place) }
                }
            }
            return out
        }
    }

    /// Versions in `collections` that refer to `id` (``referenceValues(_:)``), newest first, at most `limit`. The index
    /// on the referenced id is named: with one collection SQLite would otherwise walk the collection's references in
    /// date order to avoid sorting, testing every one (40,000 for ATT&CK).
    public func referring(to id: String, in collections: [String], limit: Int) async throws -> [StoredPlace] {
        guard !collections.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: collections.count).joined(separator: ",")
        return try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT r.collection, r.date_added FROM object_ref r INDEXED BY object_ref_target
                WHERE r.ref = ? AND r.collection IN (\(marks))
                ORDER BY r.date_added DESC LIMIT ?
                """), arguments: StatementArguments([id as any DatabaseValueConvertible] + collections + [limit]))
                .map { StoredPlace(collection: $0[0], dateAdded: $0[1]) }
        }
    }

    /// Every version in `collections` that refers to one of `ids`, with the id it refers to (one row per reference).
    public func referring(toAny ids: Set<String>, in collections: [String]) async throws -> [(location: VersionLocation, ref: String)] {
        guard !collections.isEmpty, !ids.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: collections.count).joined(separator: ",")
        var out: [(VersionLocation, String)] = []
        for (chunk, refs) in Self.chunks(of: Array(ids)) {
            out += try await pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT v.collection, v.id, v.version_us, v.date_added, r.ref
                    FROM object_ref r INDEXED BY object_ref_target JOIN object_version v ON v.collection = r.collection AND v.date_added = r.date_added
                    WHERE r.ref IN (\(refs)) AND r.collection IN (\(marks))
                    """, arguments: StatementArguments(chunk + collections)).map { (Self.location($0), $0[4]) }
            }
        }
        return out
    }

    static func location(_ row: Row) -> VersionLocation {
        VersionLocation(collection: row[0], id: row[1], versionUS: row[2], dateAdded: row[3])
    }

    /// The strings of an object that full-text search finds it by (a `json_tree` row's condition): its name,
    /// description, aliases and labels, the external ids of its references (T1059, T0049), an indicator's pattern, an
    /// observable's value and hashes (at the top or inside a STIX 2.0 observation), and the text of notes, opinions
    /// and reports. `t` prefixes `json_tree`'s columns where the query has another table with a `type` column.
    static func searchedValues(_ t: String = "") -> String {
        """
        \(t)type = 'text' AND ((\(t)path = '$' AND \(t)key IN ('name', 'description', 'pattern', 'value', 'abstract', \
        'content', 'explanation', 'x_mitre_shortname')) OR \(t)path IN (\(members("aliases", "x_mitre_aliases", "labels", "hashes"))) \
        OR \(t)key = 'external_id' OR (\(t)path LIKE '$.objects.%' AND (\(t)key = 'value' OR \(t)path LIKE '%.hashes')))
        """
    }

    /// The strings of a version that are its title for search: its name and the external ids of its references.
    static func titleValues(_ t: String = "") -> String {
        "\(t)type = 'text' AND ((\(t)path = '$' AND \(t)key = 'name') OR \(t)key = 'external_id')"
    }

    /// The `json_tree` paths of top-level members `names` (as SQLite writes them: quoted when a name has characters
    /// other than letters and digits, such as `$."object_refs"`).
    static func members(_ names: String...) -> String {
        names.flatMap { ["'$.\($0)'", "'$.\"\($0)\"'"] }.joined(separator: ", ")
    }

    /// The identifiers an object refers to that make it part of another object's story: relationship and sighting
    /// ends, observed data, and the objects of reports, notes, opinions and groupings.
    static func referenceValues(_ t: String = "") -> String {
        """
        \(t)type = 'text' AND ((\(t)path = '$' AND \(t)key IN ('source_ref', 'target_ref', 'sighting_of_ref')) \
        OR \(t)path IN (\(members("where_sighted_refs", "observed_data_refs", "object_refs"))))
        """
    }

}
