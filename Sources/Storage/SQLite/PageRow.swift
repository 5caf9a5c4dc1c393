import GRDBSQLite
import NIOCore
import STIX

/// The row a page query stands on, read through SQLite's C API: the read path's hottest step, so it skips GRDB's
/// decoding of each column, and a body goes from SQLite's buffer straight into the page's response buffer.
///
/// The columns are those of ``SQLiteObjectStore/pageColumns``, in that order, the body last when it is read.
struct PageRow {
    let statement: OpaquePointer

    var dateAdded: Int64 { sqlite3_column_int64(statement, 0) }
    var id: String { text(1) ?? "" }
    var versionUS: Int64 { sqlite3_column_int64(statement, 11) }
    var isFirst: Bool { sqlite3_column_int64(statement, 12) != 0 }
    var isLast: Bool { sqlite3_column_int64(statement, 13) != 0 }

    /// The version's indexed fields; `refs` decodes a stored marking list (each distinct text once per page).
    func version(refs: (String?) -> [String]) -> StoredVersion {
        StoredVersion(
            dateAdded: dateAdded, id: id, type: text(2) ?? "", specVersion: text(3) ?? "", version: text(4),
            revoked: sqlite3_column_int64(statement, 5) != 0,
            markings: MarkingRefs(objectRefs: refs(text(6)), granularRefs: refs(text(7)), malformed: sqlite3_column_int64(statement, 8) != 0),
            provenance: Provenance(submittedBy: text(9), receivedFrom: text(10)))
    }

    /// Appends the body (column 14) to `buffer`; returns how many bytes it wrote.
    func writeBody(to buffer: inout ByteBuffer) -> Int {
        // The pointer before the length, as SQLite asks: the length then counts the bytes the pointer shows.
        guard let base = sqlite3_column_blob(statement, 14) else { return 0 }
        return buffer.writeBytes(UnsafeRawBufferPointer(start: base, count: Int(sqlite3_column_bytes(statement, 14))))
    }

    /// A text column, nil for NULL.
    private func text(_ index: Int32) -> String? {
        guard let base = sqlite3_column_text(statement, index) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: base, count: Int(sqlite3_column_bytes(statement, index))), as: UTF8.self)
    }
}
