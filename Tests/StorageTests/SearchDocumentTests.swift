import Foundation
import GRDB
@testable import Storage
import STIX
import TestSupport
import Testing

/// The search documents made in Swift (for PostgreSQL) hold exactly what SQLite's indexer takes from the same
/// versions with `json_tree`: the same title, text and references, over every object of the validator's corpus.
@Suite struct SearchDocumentTests {
    @Test func swiftAndSQLiteMakeTheSameDocumentOfEveryObjectOfTheValidatorCorpus() async throws {
        let cases = try #require(try TestData.json("Tests/Conformance/validator/cases.json").arrayValue)
        var objects: [IncomingObject] = []
        for (n, c) in cases.enumerated() {
            guard let object = c["object"]?.objectValue else { continue }
            let bytes = Array(JSONValue.object(object).serialized().utf8)
            // Each case under an id of its own: the corpus repeats ids on purpose.
            objects.append(IncomingObject(id: "x-case--\(n)", type: "x-case", specVersion: "2.1", version: nil, revoked: false,
                                          markings: MarkingRefs(objectRefs: []), bytes: bytes))
        }
        #expect(objects.count > 500)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString).sqlite").path
        let store = try SQLiteObjectStore(path: path)
        try await store.ensureCollection("c")
        let outcomes = try await store.add(objects, to: "c", provenance: Provenance(submittedBy: nil, receivedFrom: nil))
        while try await store.indexForSearch() > 0 {}
        let (docs, refs) = try await store.database.read { db in
            let docs = try Row.fetchAll(db, sql: "SELECT date_added, title, text FROM search_doc").reduce(into: [Int64: (String, String)]()) {
                $0[$1[0]] = ($1[1], $1[2])
            }
            let refs = try Row.fetchAll(db, sql: "SELECT date_added, ref FROM object_ref").reduce(into: [Int64: Set<String>]()) {
                $0[$1[0], default: []].insert($1[1])
            }
            return (docs, refs)
        }
        var compared = 0
        for (object, outcome) in zip(objects, outcomes) {
            guard case .stored(let dateAdded) = outcome else { continue }
            let swift = try #require(SearchDocument(body: object.bytes))
            let sqlite = docs[dateAdded] ?? ("", "")
            #expect(swift.title == sqlite.0, "title of \(object.id)")
            #expect(swift.text == sqlite.1, "text of \(object.id)")
            #expect(Set(swift.refs) == refs[dateAdded] ?? [], "references of \(object.id)")
            compared += 1
        }
        #expect(compared == objects.count)
        #expect(docs.values.contains { !$0.0.isEmpty } && docs.values.contains { !$0.1.isEmpty } && !refs.isEmpty)
    }
}
