import Foundation
import GRDB

/// A value of a SQLite row as `meridian storage copy` reads it, whatever the column.
package enum CopyValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    package var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
    package var text: String? { if case .text(let v) = self { v } else { nil } }
    package var bool: Bool { integer.map { $0 != 0 } ?? false }
    package var bytes: [UInt8] {
        switch self {
        case .blob(let b): b
        case .text(let t): Array(t.utf8)
        default: []
        }
    }
}

extension SQLiteObjectStore {
    /// The rows of `sql` as plain values, for copying a node's database elsewhere (`meridian storage copy`).
    package func rowsForCopy(_ sql: String, _ arguments: [CopyValue] = []) async throws -> [[CopyValue]] {
        try await pool.read { db in
            let bound = StatementArguments(arguments.map { value -> (any DatabaseValueConvertible)? in
                switch value {
                case .null: nil
                case .integer(let v): v
                case .text(let v): v
                case .blob(let v): Data(v)
                }
            })
            return try Row.fetchAll(db, sql: sql, arguments: bound).map { row in
                (0..<row.count).map { i -> CopyValue in
                    switch row[i] as DatabaseValue? {
                    case .none: return .null
                    case .some(let value):
                        switch value.storage {
                        case .null: return .null
                        case .int64(let v): return .integer(v)
                        case .double(let v): return .integer(Int64(v))
                        case .string(let v): return .text(v)
                        case .blob(let v): return .blob(Array(v))
                        }
                    }
                }
            }
        }
    }

    /// Every status resource, its JSON as sent (unpacked when kept compressed).
    package func statusesForCopy() async throws -> [StatusRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, api_root, owner, json, created_at FROM status ORDER BY id").map { row in
                guard let json = CompactBlob.unpack(Array(row[3] as Data)) else { throw StorageError("status \(row[0] as String) is damaged") }
                return StatusRecord(id: row[0], apiRoot: row[1], owner: row[2], json: json, createdAt: row[4])
            }
        }
    }
}
