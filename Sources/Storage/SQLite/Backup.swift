import Foundation
import GRDB

/// Online backups: a consistent copy of the database taken while the node serves, and the checks a copy must pass
/// before it is restored.
extension SQLiteObjectStore {
    /// Writes a consistent copy of the database to `path` (which must not exist): SQLite's `VACUUM INTO`, run in a read
    /// transaction, so writers go on while it runs and the copy is the database as of one moment. The copy is created
    /// readable by its owner only, then `metadata` is stored in it (table `meridian_backup`, key and value).
    public func backup(to path: String, metadata: [String: String]) async throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StorageError("\(path) already exists; a backup is written to a new file")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw StorageError("cannot create \(path)")
        }
        do {
            // Outside GRDB's transaction (VACUUM refuses one); VACUUM INTO reads in a transaction of its own.
            try await pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
            let copy = try DatabaseQueue(path: path)
            try await copy.write { db in
                try db.execute(sql: "CREATE TABLE meridian_backup (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")
                for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
                    try db.execute(sql: "INSERT INTO meridian_backup (key, value) VALUES (?, ?)", arguments: [key, value])
                }
            }
            try copy.close()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    /// Checks a backup file and returns its metadata: it must be an SQLite database that passes `PRAGMA
    /// integrity_check` and holds the `meridian_backup` table.
    public static func backupMetadata(_ path: String) throws -> [String: String] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.read { db in
                let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                guard check == ["ok"] else {
                    throw StorageError("\(path) is damaged: \(check.prefix(3).joined(separator: "; "))")
                }
                guard try db.tableExists("meridian_backup") else {
                    throw StorageError("\(path) is an SQLite database but not a Meridian backup (no meridian_backup table); make one with `meridian backup`")
                }
                return Dictionary(try Row.fetchAll(db, sql: "SELECT key, value FROM meridian_backup").map { ($0[0], $0[1]) },
                                  uniquingKeysWith: { a, _ in a })
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw StorageError("\(path) is not a Meridian backup (not an SQLite database)")
        }
    }

    /// Removes the backup's metadata from a restored copy.
    public static func dropBackupMetadata(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "DROP TABLE IF EXISTS meridian_backup") }
        try queue.close()
    }
}
