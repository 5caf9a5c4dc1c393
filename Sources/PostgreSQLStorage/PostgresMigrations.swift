import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL schema, one numbered migration per change, applied in order when a store opens (as SQLite's
/// `Migrations`). Replicas starting together take an advisory lock first, so each migration runs once.
///
/// `object_version` is partitioned by collection: each collection is a table of its own (`object_version_N`, made
/// by `meridian_add_collection`), so paging one collection never reads another's index pages, and a collection can be
/// moved, vacuumed or dropped alone.
enum PostgresMigrations {
    /// The advisory lock key of migrations ("meridian" in ASCII, cut to 63 bits).
    static let lockKey: Int64 = 0x6D65_7269_6469_616E & Int64.max

    static let all: [(version: Int, name: String, sql: String)] = [
        (1, "collections, object versions, statuses, tombstones, marking definitions, audit log, node state", """
            CREATE TABLE collection (
              id text PRIMARY KEY,
              last_added bigint NOT NULL,
              partition text NOT NULL UNIQUE
            );
            CREATE SEQUENCE collection_partition;
            CREATE TABLE object_version (
              collection text NOT NULL,
              date_added bigint NOT NULL,
              id text NOT NULL,
              type text NOT NULL,
              spec_version text NOT NULL,
              version_us bigint NOT NULL,
              version_text text,
              revoked boolean NOT NULL,
              markings text,
              granular_markings text,
              markings_malformed boolean NOT NULL,
              submitted_by text,
              received_from text,
              is_first boolean NOT NULL,
              is_last boolean NOT NULL,
              body bytea NOT NULL,
              audited boolean NOT NULL,
              PRIMARY KEY (collection, date_added)
            ) PARTITION BY LIST (collection);
            CREATE UNIQUE INDEX object_version_identity ON object_version (collection, id, version_us);
            CREATE INDEX object_version_type ON object_version (collection, type, date_added);
            CREATE INDEX object_version_last ON object_version (collection, is_last, date_added);
            CREATE INDEX object_version_unaudited ON object_version (audited) WHERE NOT audited;
            -- A collection and its partition, made together (names and values are quoted by format()).
            CREATE FUNCTION meridian_add_collection(collection_id text) RETURNS void LANGUAGE plpgsql AS $$
            DECLARE
              table_name text;
            BEGIN
              INSERT INTO collection (id, last_added, partition)
                VALUES (collection_id, 0, 'object_version_' || nextval('collection_partition'))
                ON CONFLICT (id) DO NOTHING
                RETURNING partition INTO table_name;
              IF table_name IS NOT NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF object_version FOR VALUES IN (%L)', table_name, collection_id);
              END IF;
            END
            $$;
            CREATE TABLE status (
              id text PRIMARY KEY,
              api_root text NOT NULL,
              owner text NOT NULL,
              json bytea NOT NULL,
              created_at bigint NOT NULL
            );
            CREATE TABLE tombstone (
              seq bigserial PRIMARY KEY,
              collection text NOT NULL,
              deleted_at bigint NOT NULL,
              id text NOT NULL,
              version_text text,
              markings text,
              granular_markings text,
              markings_malformed boolean NOT NULL,
              submitted_by text,
              received_from text
            );
            CREATE INDEX tombstone_collection ON tombstone (collection, seq);
            CREATE TABLE marking_definition (
              seq bigserial PRIMARY KEY,
              id text NOT NULL,
              source text NOT NULL,
              definition bytea NOT NULL,
              registered_at bigint NOT NULL
            );
            CREATE UNIQUE INDEX marking_definition_unique ON marking_definition (id, source, sha256(definition));
            -- Every change to the known marking-definitions, from any replica, bumps the generation (read in the same
            -- transaction as a page) and is logged as a policy change; configuration changes are logged with no marking.
            CREATE TABLE marking_generation (
              one integer PRIMARY KEY CHECK (one = 1),
              value bigint NOT NULL
            );
            INSERT INTO marking_generation (one, value) VALUES (1, 0);
            CREATE TABLE policy_change (
              seq bigserial PRIMARY KEY,
              marking text
            );
            CREATE FUNCTION meridian_marking_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              UPDATE marking_generation SET value = value + 1 WHERE one = 1;
              INSERT INTO policy_change (marking) VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
              RETURN NULL;
            END
            $$;
            CREATE TRIGGER marking_definition_changed AFTER INSERT OR DELETE ON marking_definition
              FOR EACH ROW EXECUTE FUNCTION meridian_marking_changed();
            -- The audit log: one chain for every replica. Its head row is locked by each append, so entries are
            -- chained in commit order.
            CREATE TABLE audit_entry (
              seq bigint PRIMARY KEY,
              entry bytea NOT NULL,
              hash bytea NOT NULL
            );
            CREATE TABLE audit_head (
              one integer PRIMARY KEY CHECK (one = 1),
              seq bigint NOT NULL,
              hash bytea NOT NULL
            );
            INSERT INTO audit_head (one, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
            CREATE TABLE node_state (
              key text PRIMARY KEY,
              value text NOT NULL
            );
            """),
        (2, "users and API tokens", """
            CREATE TABLE account_user (
              name text PRIMARY KEY,
              org text NOT NULL,
              password_hash text NOT NULL,
              created_at bigint NOT NULL,
              is_admin boolean NOT NULL,
              disabled boolean NOT NULL DEFAULT false
            );
            CREATE TABLE token (
              id text PRIMARY KEY,
              user_name text NOT NULL REFERENCES account_user (name) ON DELETE CASCADE,
              secret_hash bytea NOT NULL,
              created_at bigint NOT NULL,
              expires_at bigint,
              kind text NOT NULL CHECK (kind IN ('api', 'session'))
            );
            CREATE INDEX token_user ON token (user_name, created_at, id);
            -- Any change to users or tokens, from any replica, bumps the generation: a replica that remembers verified
            -- credentials forgets them before it answers the next request.
            CREATE TABLE accounts_generation (
              one integer PRIMARY KEY CHECK (one = 1),
              value bigint NOT NULL
            );
            INSERT INTO accounts_generation (one, value) VALUES (1, 0);
            CREATE FUNCTION meridian_accounts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              UPDATE accounts_generation SET value = value + 1 WHERE one = 1;
              RETURN NULL;
            END
            $$;
            CREATE TRIGGER account_user_changed AFTER INSERT OR UPDATE OR DELETE ON account_user
              FOR EACH ROW EXECUTE FUNCTION meridian_accounts_changed();
            CREATE TRIGGER token_changed AFTER INSERT OR UPDATE OR DELETE ON token
              FOR EACH ROW EXECUTE FUNCTION meridian_accounts_changed();
            """),
        (3, "the node's signing keys and the audit checkpoints it holds", """
            CREATE TABLE node_key (
              id text PRIMARY KEY,
              public_key bytea NOT NULL,
              private_key bytea,
              created text NOT NULL,
              retired text
            );
            CREATE TABLE audit_checkpoint (
              origin text NOT NULL,
              node text NOT NULL,
              seq bigint NOT NULL,
              head text NOT NULL,
              at text NOT NULL,
              key_id text NOT NULL,
              signature text NOT NULL,
              PRIMARY KEY (origin, seq)
            );
            """),
        (4, "search documents and references between objects", """
            -- Made from stored versions behind each collection's cursor (SearchDocument, the same strings SQLite's
            -- indexer takes); `words` holds the title and the text, `title` the name and external ids alone.
            CREATE TABLE search_doc (
              seq bigserial PRIMARY KEY,
              collection text NOT NULL,
              date_added bigint NOT NULL,
              title tsvector NOT NULL,
              words tsvector NOT NULL,
              UNIQUE (collection, date_added)
            );
            CREATE INDEX search_doc_title ON search_doc USING gin (title);
            CREATE INDEX search_doc_words ON search_doc USING gin (words);
            CREATE TABLE object_ref (
              collection text NOT NULL,
              date_added bigint NOT NULL,
              ref text NOT NULL
            );
            CREATE INDEX object_ref_target ON object_ref (ref, collection, date_added);
            CREATE INDEX object_ref_version ON object_ref (collection, date_added);
            CREATE TABLE search_cursor (
              collection text PRIMARY KEY,
              date_added bigint NOT NULL
            );
            -- A deleted version leaves neither its document nor its references behind.
            CREATE FUNCTION meridian_version_unindexed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              DELETE FROM search_doc WHERE collection = OLD.collection AND date_added = OLD.date_added;
              DELETE FROM object_ref WHERE collection = OLD.collection AND date_added = OLD.date_added;
              RETURN NULL;
            END
            $$;
            CREATE TRIGGER object_version_unindexed AFTER DELETE ON object_version
              FOR EACH ROW EXECUTE FUNCTION meridian_version_unindexed();
            -- Every word of a search required: the words' queries joined by &&.
            CREATE AGGREGATE meridian_tsquery_all(tsquery) (SFUNC = tsquery_and, STYPE = tsquery);
            """),
        (5, "leases, so a task runs in one replica of a node at a time", """
            CREATE TABLE lease (
              name text PRIMARY KEY,
              holder text NOT NULL,
              expires_at timestamptz NOT NULL
            );
            """),
    ]

    /// The statements of a migration's text, split at semicolons outside `$$` function bodies and outside comments
    /// (one statement per query: the extended protocol takes no more).
    static func statements(_ sql: String) -> [String] {
        var out: [String] = []
        var current = ""
        var inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("--") { continue }
            if line.contains("$$") && line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            current += line + "\n"
            if !inBody && trimmed.hasSuffix(";") {
                out.append(current)
                current = ""
            }
        }
        if !current.allSatisfy(\.isWhitespace) { out.append(current) }
        return out
    }

    /// Brings the database's schema up to date, in one transaction per migration, under the advisory lock.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS meridian_schema (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM meridian_schema", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            if let newest = applied.max(), newest > (all.map(\.version).max() ?? 0) {
                throw PostgresStoreError.setting("the database's schema is version \(newest), newer than this Meridian knows; "
                    + "run a Meridian at least as new as the one that wrote it")
            }
            for migration in all where !applied.contains(migration.version) {
                for statement in statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("""
                    INSERT INTO meridian_schema (version, name) VALUES (\(migration.version), \(migration.name))
                    """, logger: logger)
            }
        }
    }
}
