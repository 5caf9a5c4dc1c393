import Foundation
import GRDB
import STIX

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
        migrator.registerMigration("v3: sharing policy, marking definitions, audit log") { db in
            try db.execute(sql: """
                ALTER TABLE object_version ADD COLUMN granular_markings TEXT;
                ALTER TABLE object_version ADD COLUMN markings_malformed INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE user ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE marking_definition (
                  id TEXT NOT NULL,
                  source TEXT NOT NULL,
                  definition BLOB NOT NULL,
                  registered_at INTEGER NOT NULL,
                  UNIQUE (id, source, definition)
                );
                CREATE TABLE audit_entry (
                  seq INTEGER PRIMARY KEY NOT NULL,
                  entry BLOB NOT NULL,
                  hash BLOB NOT NULL
                );
                CREATE TABLE node_state (
                  key TEXT PRIMARY KEY NOT NULL,
                  value TEXT NOT NULL
                );
                CREATE TABLE audit_head (
                  one INTEGER PRIMARY KEY CHECK (one = 1),
                  seq INTEGER NOT NULL,
                  hash BLOB NOT NULL
                );
                """)
        }
        migrator.registerMigration("v4: tombstones of deleted versions") { db in
            try db.execute(sql: """
                CREATE TABLE tombstone (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  collection TEXT NOT NULL,
                  deleted_at INTEGER NOT NULL,
                  id TEXT NOT NULL,
                  version_text TEXT,
                  markings TEXT,
                  granular_markings TEXT,
                  markings_malformed INTEGER NOT NULL,
                  submitted_by TEXT,
                  received_from TEXT
                );
                CREATE INDEX tombstone_collection ON tombstone (collection, seq);
                """)
        }
        migrator.registerMigration("v5: policy changes, for reads decided on a current registry and peers told of them") { db in
            // Every change to the known marking-definitions, from any process, bumps the generation (read in the same
            // transaction as a page, so no read is decided on an older registry) and is logged as a change that may
            // make stored versions visible to more readers; configuration changes are logged with no marking.
            try db.execute(sql: """
                CREATE TABLE marking_generation (
                  one INTEGER PRIMARY KEY CHECK (one = 1),
                  value INTEGER NOT NULL
                );
                INSERT INTO marking_generation (one, value) VALUES (1, 0);
                CREATE TABLE policy_change (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  marking TEXT
                );
                CREATE TRIGGER marking_definition_added AFTER INSERT ON marking_definition BEGIN
                  UPDATE marking_generation SET value = value + 1;
                  INSERT INTO policy_change (marking) VALUES (NEW.id);
                END;
                CREATE TRIGGER marking_definition_removed AFTER DELETE ON marking_definition BEGIN
                  UPDATE marking_generation SET value = value + 1;
                  INSERT INTO policy_change (marking) VALUES (OLD.id);
                END;
                """)
        }
        migrator.registerMigration("v6: whether each stored version has its write entry in the audit log") { db in
            // From now on a version and its write entry commit together. Versions stored before are marked audited
            // when a write (or correlation) entry lists them; `meridian audit verify --complete` names the others.
            try db.execute(sql: "ALTER TABLE object_version ADD COLUMN audited INTEGER NOT NULL DEFAULT 0")
            try db.execute(sql: "CREATE INDEX object_version_unaudited ON object_version (audited) WHERE audited = 0")
            try markAuditedVersions(db)
        }
        migrator.registerMigration("v7: a generation of accounts, for caches of verified credentials") { db in
            // Any change to users or tokens, from any process, bumps it: a server that remembers verified
            // credentials forgets them before it answers the next request.
            try db.execute(sql: """
                CREATE TABLE accounts_generation (
                  one INTEGER PRIMARY KEY CHECK (one = 1),
                  value INTEGER NOT NULL
                );
                INSERT INTO accounts_generation (one, value) VALUES (1, 0);
                CREATE TRIGGER user_added AFTER INSERT ON user BEGIN UPDATE accounts_generation SET value = value + 1; END;
                CREATE TRIGGER user_changed AFTER UPDATE ON user BEGIN UPDATE accounts_generation SET value = value + 1; END;
                CREATE TRIGGER user_removed AFTER DELETE ON user BEGIN UPDATE accounts_generation SET value = value + 1; END;
                CREATE TRIGGER token_added AFTER INSERT ON token BEGIN UPDATE accounts_generation SET value = value + 1; END;
                CREATE TRIGGER token_changed AFTER UPDATE ON token BEGIN UPDATE accounts_generation SET value = value + 1; END;
                CREATE TRIGGER token_removed AFTER DELETE ON token BEGIN UPDATE accounts_generation SET value = value + 1; END;
                """)
        }
        migrator.registerMigration("v8: disabled users, tokens that expire") { db in
            try db.execute(sql: """
                ALTER TABLE user ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE token ADD COLUMN expires_at INTEGER;
                """)
        }
        migrator.registerMigration("v9: the node's signing keys, signed checkpoints of the audit log (its own and peers')") { db in
            try db.execute(sql: """
                CREATE TABLE node_key (
                  id TEXT PRIMARY KEY NOT NULL,
                  public_key BLOB NOT NULL,
                  private_key BLOB,
                  created TEXT NOT NULL,
                  retired TEXT
                );
                CREATE TABLE audit_checkpoint (
                  origin TEXT NOT NULL,
                  node TEXT NOT NULL,
                  seq INTEGER NOT NULL,
                  head TEXT NOT NULL,
                  at TEXT NOT NULL,
                  key_id TEXT NOT NULL,
                  signature TEXT NOT NULL,
                  PRIMARY KEY (origin, seq)
                );
                """)
        }
        migrator.registerMigration("v10: full-text search and references of stored versions, sign-in sessions") { db in
            // Search documents and references are made from stored versions by an indexer that follows each
            // collection's date_added (SQLiteObjectStore.indexForSearch), after the write rather than inside it, so
            // that no write path pays for them; a deleted version's are removed with it. Reads of both go through the
            // sharing policy like any read (MeridianNode.search, MeridianNode.referring).
            try db.execute(sql: """
                CREATE TABLE search_doc (
                  rowid INTEGER PRIMARY KEY,
                  collection TEXT NOT NULL,
                  date_added INTEGER NOT NULL,
                  text TEXT NOT NULL
                );
                CREATE UNIQUE INDEX search_doc_version ON search_doc (collection, date_added);
                CREATE VIRTUAL TABLE search_index USING fts5(text, content = 'search_doc', content_rowid = 'rowid');
                CREATE TRIGGER search_doc_added AFTER INSERT ON search_doc BEGIN
                  INSERT INTO search_index (rowid, text) VALUES (new.rowid, new.text);
                END;
                CREATE TRIGGER search_doc_removed AFTER DELETE ON search_doc BEGIN
                  INSERT INTO search_index (search_index, rowid, text) VALUES ('delete', old.rowid, old.text);
                END;
                CREATE TABLE object_ref (
                  collection TEXT NOT NULL,
                  date_added INTEGER NOT NULL,
                  ref TEXT NOT NULL
                );
                CREATE INDEX object_ref_target ON object_ref (ref);
                CREATE INDEX object_ref_version ON object_ref (collection, date_added);
                CREATE TABLE search_cursor (
                  collection TEXT PRIMARY KEY NOT NULL,
                  date_added INTEGER NOT NULL
                );
                CREATE TRIGGER object_version_unindexed AFTER DELETE ON object_version BEGIN
                  DELETE FROM search_doc WHERE collection = old.collection AND date_added = old.date_added;
                  DELETE FROM object_ref WHERE collection = old.collection AND date_added = old.date_added;
                END;
                ALTER TABLE token ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
                """)
        }
        migrator.registerMigration("v11: search documents with a title (name and external ids) apart from the rest") { db in
            // Search looks first for objects whose name or external id holds the words, however old, and then for the
            // most recent versions holding them anywhere. Titles have an index of their own (search_title): a column
            // filter on the whole index would walk every version holding a common word elsewhere before giving up.
            // The index is made again from the stored versions by the background indexer (references with it, since
            // both follow one cursor).
            try db.execute(sql: """
                DROP TRIGGER search_doc_added;
                DROP TRIGGER search_doc_removed;
                DROP TABLE search_index;
                DROP TABLE search_doc;
                DELETE FROM object_ref;
                DELETE FROM search_cursor;
                CREATE TABLE search_doc (
                  rowid INTEGER PRIMARY KEY,
                  collection TEXT NOT NULL,
                  date_added INTEGER NOT NULL,
                  title TEXT NOT NULL,
                  text TEXT NOT NULL
                );
                CREATE UNIQUE INDEX search_doc_version ON search_doc (collection, date_added);
                CREATE VIRTUAL TABLE search_index USING fts5(title, text, content = 'search_doc', content_rowid = 'rowid');
                CREATE VIRTUAL TABLE search_title USING fts5(title, content = 'search_doc', content_rowid = 'rowid');
                CREATE TRIGGER search_doc_added AFTER INSERT ON search_doc BEGIN
                  INSERT INTO search_index (rowid, title, text) VALUES (new.rowid, new.title, new.text);
                  INSERT INTO search_title (rowid, title) VALUES (new.rowid, new.title);
                END;
                CREATE TRIGGER search_doc_removed AFTER DELETE ON search_doc BEGIN
                  INSERT INTO search_index (search_index, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);
                  INSERT INTO search_title (search_title, rowid, title) VALUES ('delete', old.rowid, old.title);
                END;
                """)
        }
        migrator.registerMigration("v12: leases, so a task runs in one process of a node at a time") { db in
            try db.execute(sql: """
                CREATE TABLE lease (
                  name TEXT PRIMARY KEY NOT NULL,
                  holder TEXT NOT NULL,
                  expires_at INTEGER NOT NULL
                );
                """)
        }
        return migrator
    }

    /// Marks every stored version that a write or correlation entry of the audit log lists as audited.
    static func markAuditedVersions(_ db: Database) throws {
        let parser = JSONParser()
        let version = try db.makeStatement(sql: """
            UPDATE object_version SET audited = 1 WHERE collection = ? AND id = ? AND version_us = ? AND audited = 0
            """)
        let anyVersion = try db.makeStatement(sql: "UPDATE object_version SET audited = 1 WHERE collection = ? AND id = ? AND audited = 0")
        let write = Array(#""action":"write""#.utf8)
        let correlation = Array(#""action":"correlation""#.utf8)
        let rows = try Row.fetchCursor(db, sql: "SELECT entry FROM audit_entry ORDER BY seq")
        while let row = try rows.next() {
            let entry = Array(row[0] as Data)
            // Most entries are reads: skip them without parsing.
            let isWrite = entry.firstRange(of: write) != nil
            guard isWrite || entry.firstRange(of: correlation) != nil, let value = try? parser.parse(entry),
                  let detail = value["detail"], let collection = detail["collection"]?.stringValue
            else { continue }
            if isWrite {
                for pair in detail["versions"]?.arrayValue ?? [] {
                    guard let id = pair.arrayValue?.first?.stringValue else { continue }
                    let text = pair.arrayValue?.dropFirst().first?.stringValue
                    let us = text.flatMap { Timestamp($0) }.map(SQLiteObjectStore.microseconds) ?? Int64.min
                    try version.execute(arguments: [collection, id, us])
                }
            } else {
                for id in detail["sightings"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                    try anyVersion.execute(arguments: [collection, id])
                }
            }
        }
    }
}
