import GRDB
import GRDBSQLite

/// One `object_version` row, bound straight onto the cached INSERT statement of ``SQLiteObjectStore/add(_:to:provenance:)``:
/// the bulk write path's hottest step, so it skips GRDB's boxing of arguments, and the body is bound without a copy.
struct InsertRow {
    let collection: String
    let dateAdded: Int64
    let id: String
    let type: String
    let specVersion: String
    let versionUS: Int64
    let versionText: String?
    let revoked: Bool
    let markings: String?
    let granularMarkings: String?
    let markingsMalformed: Bool
    let submittedBy: String?
    let receivedFrom: String?
    let isFirst: Bool
    let isLast: Bool
    /// Whether the row's write entry is appended to the audit log in the same transaction.
    let audited: Bool

    /// Runs `statement` (an INSERT OR IGNORE with the 15 columns in this order, the body, then `audited`) for this row; true when
    /// the row was inserted, false when an identical version was already stored.
    func insert(with statement: Statement, body: [UInt8], in db: Database) throws -> Bool {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        sqlite3_clear_bindings(s)
        bind(s, 1, collection)
        sqlite3_bind_int64(s, 2, dateAdded)
        bind(s, 3, id)
        bind(s, 4, type)
        bind(s, 5, specVersion)
        sqlite3_bind_int64(s, 6, versionUS)
        bind(s, 7, versionText)
        sqlite3_bind_int(s, 8, revoked ? 1 : 0)
        bind(s, 9, markings)
        bind(s, 10, granularMarkings)
        sqlite3_bind_int(s, 11, markingsMalformed ? 1 : 0)
        bind(s, 12, submittedBy)
        bind(s, 13, receivedFrom)
        sqlite3_bind_int(s, 14, isFirst ? 1 : 0)
        sqlite3_bind_int(s, 15, isLast ? 1 : 0)
        sqlite3_bind_int(s, 17, audited ? 1 : 0)
        let code = body.withUnsafeBytes { raw -> Int32 in
            // SQLITE_STATIC (nil): SQLite reads the bytes in place; they stay alive until the bindings are cleared.
            if let base = raw.baseAddress {
                sqlite3_bind_blob(s, 16, base, Int32(raw.count), nil)
            } else {
                sqlite3_bind_zeroblob(s, 16, 0)
            }
            let code = sqlite3_step(s)
            sqlite3_reset(s)
            sqlite3_clear_bindings(s)
            return code
        }
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        return sqlite3_changes(db.sqliteConnection) > 0
    }

    /// Binds text by its UTF-8 bytes and length (so a NUL inside survives), copied by SQLite; nil binds NULL.
    private func bind(_ s: OpaquePointer, _ index: Int32, _ value: String?) {
        guard var value else {
            sqlite3_bind_null(s, index)
            return
        }
        value.withUTF8 { bytes in
            // SQLITE_TRANSIENT: SQLite copies the text before this returns.
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            if let base = bytes.baseAddress {
                _ = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    sqlite3_bind_text(s, index, $0, Int32(bytes.count), transient)
                }
            } else {
                _ = sqlite3_bind_text(s, index, "", 0, transient)
            }
        }
    }
}
