import GRDB

/// The database schema, one migration per change; applied in order when a store opens.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: collections, object versions, statuses") { db in
            try db.execute(sql: """
                CREATE TABLE collection (
                  id TEXT PRIMARY KEY NOT NULL,
                  last_added INTEGER NOT NULL
                );
                CREATE TABLE object_version (
                  collection TEXT NOT NULL REFERENCES collection(id),
                  date_added INTEGER NOT NULL,
                  id TEXT NOT NULL,
                  type TEXT NOT NULL,
                  spec_version TEXT NOT NULL,
                  version_us INTEGER NOT NULL,
                  version_text TEXT,
                  revoked INTEGER NOT NULL,
                  markings TEXT,
                  submitted_by TEXT,
                  received_from TEXT,
                  is_first INTEGER NOT NULL,
                  is_last INTEGER NOT NULL,
                  body BLOB NOT NULL,
                  PRIMARY KEY (collection, date_added)
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX object_version_identity ON object_version (collection, id, version_us);
                CREATE INDEX object_version_type ON object_version (collection, type, date_added);
                CREATE INDEX object_version_last ON object_version (collection, is_last, date_added);
                CREATE TABLE status (
                  id TEXT PRIMARY KEY NOT NULL,
                  api_root TEXT NOT NULL,
                  owner TEXT NOT NULL,
                  json BLOB NOT NULL,
                  created_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2: users and API tokens") { db in
            try db.execute(sql: """
                CREATE TABLE user (
                  name TEXT PRIMARY KEY NOT NULL,
                  org TEXT NOT NULL,
                  password_hash TEXT NOT NULL,
                  created_at INTEGER NOT NULL
                );
                CREATE TABLE token (
                  id TEXT PRIMARY KEY NOT NULL,
                  user TEXT NOT NULL REFERENCES user(name) ON DELETE CASCADE,
                  secret_hash BLOB NOT NULL,
                  created_at INTEGER NOT NULL
                );
                """)
        }
        return migrator
    }
}
