import GRDB

extension StorageError {
    /// Whether `error` says the database's disk is full (SQLite's SQLITE_FULL: no page, journal or log could be
    /// written). The transaction it ended was rolled back: nothing of it is stored.
    public static func isDiskFull(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_FULL
    }
}
