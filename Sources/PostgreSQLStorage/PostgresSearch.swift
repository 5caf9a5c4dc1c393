import Logging
import NIOCore
import PostgresNIO
import Storage

/// Full-text search and references on PostgreSQL: documents made in Swift (``SearchDocument``) kept as `tsvector`s
/// under GIN indexes, and a table of references.
extension PostgresObjectStore {
    /// The advisory lock the indexer takes: one replica indexes at a time, the others find nothing to do.
    static let indexerLock: Int64 = 0x7365_6172_6368  // "search"

    public func indexForSearch(limit: Int) async throws -> Int {
        try await write { [self] connection in
            var locked = false
            for try await got in try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.indexerLock))", logger: logger)
                .decode(Bool.self) { locked = got }
            guard locked else { return 0 }
            var pending: [(collection: String, last: Int64, from: Int64)] = []
            for try await row in try await connection.query("""
                SELECT c.id, c.last_added, coalesce(s.date_added, -1) FROM collection c LEFT JOIN search_cursor s ON s.collection = c.id
                WHERE c.last_added > coalesce(s.date_added, -1) ORDER BY c.id
                """, logger: logger).decode((String, Int64, Int64).self) { pending.append(row) }
            var done = 0
            for (collection, lastAdded, from) in pending where done < limit {
                var places: [Int64] = [], titles: [String] = [], words: [String] = []
                var refPlaces: [Int64] = [], refs: [String] = []
                var count = 0, through = from
                for try await (dateAdded, body) in try await connection.query("""
                    SELECT date_added, body FROM object_version WHERE collection = \(collection) AND date_added > \(from)
                    ORDER BY date_added LIMIT \(Int64(limit - done))
                    """, logger: logger).decode((Int64, ByteBuffer).self)
                {
                    count += 1
                    through = dateAdded
                    guard let document = SearchDocument(body: Array(buffer: body)) else { continue }
                    if !document.title.isEmpty || !document.text.isEmpty {
                        places.append(dateAdded)
                        let title = SearchDocument.tokenized(document.title)
                        titles.append(title)
                        words.append(title + " " + SearchDocument.tokenized(document.text))
                    }
                    for ref in document.refs {
                        refPlaces.append(dateAdded)
                        refs.append(ref)
                    }
                }
                // A collection read to its end is indexed up to its last `date_added` (versions deleted since leave gaps).
                if count < limit - done { through = max(through, lastAdded) }
                if !places.isEmpty {
                    try await connection.query("""
                        INSERT INTO search_doc (collection, date_added, title, words)
                        SELECT \(collection), d.date_added, to_tsvector('simple', d.title), to_tsvector('simple', d.words)
                        FROM unnest(\(places)::int8[], \(titles)::text[], \(words)::text[]) AS d(date_added, title, words)
                        ORDER BY d.date_added
                        """, logger: logger)
                }
                if !refs.isEmpty {
                    try await connection.query("""
                        INSERT INTO object_ref (collection, date_added, ref)
                        SELECT \(collection), r.date_added, r.ref FROM unnest(\(refPlaces)::int8[], \(refs)::text[]) AS r(date_added, ref)
                        """, logger: logger)
                }
                try await connection.query("""
                    INSERT INTO search_cursor (collection, date_added) VALUES (\(collection), \(through))
                    ON CONFLICT (collection) DO UPDATE SET date_added = EXCLUDED.date_added
                    """, logger: logger)
                done += count
            }
            return done
        }
    }

    public func search(_ text: SearchText, in collections: [String], named: Int, limit: Int) async throws -> [StoredPlace] {
        guard !collections.isEmpty else { return [] }
        // Every word a phrase, or its whole-value token (ValueTokens), all required.
        let words = text.words.map { ValueTokens.token(for: $0) ?? SearchDocument.tokenized($0) }
        return try await read { [self] connection in
            var seen = Set<StoredPlace>(), out: [StoredPlace] = []
            for (column, count) in [("title", named), ("words", limit)] where count > 0 {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                    SELECT collection, date_added FROM search_doc
                    WHERE \(column) @@ (SELECT meridian_tsquery_all(phraseto_tsquery('simple', w)) FROM unnest($1::text[]) AS w)
                      AND collection = ANY($2) ORDER BY seq DESC LIMIT $3
                    """, binds: Self.binds(words, collections, Int64(count))), logger: logger)
                for try await (collection, dateAdded) in rows.decode((String, Int64).self) {
                    let place = StoredPlace(collection: collection, dateAdded: dateAdded)
                    if seen.insert(place).inserted { out.append(place) }
                }
            }
            return out
        }
    }

    static func binds(_ words: [String], _ collections: [String], _ count: Int64) -> PostgresBindings {
        var b = PostgresBindings()
        b.append(words)
        b.append(collections)
        b.append(count)
        return b
    }

    public func referring(to id: String, in collections: [String], limit: Int) async throws -> [StoredPlace] {
        guard !collections.isEmpty else { return [] }
        var out: [StoredPlace] = []
        for try await (collection, dateAdded) in try await run("""
            SELECT collection, date_added FROM object_ref WHERE ref = \(id) AND collection = ANY(\(collections))
            ORDER BY date_added DESC LIMIT \(Int64(limit))
            """, logger: logger).decode((String, Int64).self) { out.append(StoredPlace(collection: collection, dateAdded: dateAdded)) }
        return out
    }

    public func referring(toAny ids: Set<String>, in collections: [String]) async throws -> [(location: VersionLocation, ref: String)] {
        guard !collections.isEmpty, !ids.isEmpty else { return [] }
        var out: [(location: VersionLocation, ref: String)] = []
        for try await (collection, id, versionUS, dateAdded, ref) in try await run("""
            SELECT v.collection, v.id, v.version_us, v.date_added, r.ref
            FROM object_ref r JOIN object_version v ON v.collection = r.collection AND v.date_added = r.date_added
            WHERE r.ref = ANY(\(ids.sorted())) AND r.collection = ANY(\(collections))
            """, logger: logger).decode((String, String, Int64, Int64, String).self)
        {
            out.append((VersionLocation(collection: collection, id: id, versionUS: versionUS, dateAdded: dateAdded), ref))
        }
        return out
    }
}
