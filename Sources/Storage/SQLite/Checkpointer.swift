import Foundation
import GRDB

/// Copies the write-ahead log back into the database file in the background, on a connection of its own, so that a
/// write never pays for a checkpoint (copying megabytes and an fsync) before it can answer.
///
/// SQLite's own automatic checkpoint runs inside the commit that crosses its threshold, which made every seventh
/// 1,000-object POST several times slower than the others. Here a PASSIVE checkpoint (which neither waits for nor
/// blocks readers and writers) runs every `interval`; one with nothing to copy costs a read of the WAL index. Under a
/// steady stream of writes a passive checkpoint is always a little behind, and SQLite only rewinds the log once it has
/// all been copied: when the log passes `restartPages`, a RESTART checkpoint (which briefly holds writers back, with
/// little left to copy) lets the next write start it over. The automatic checkpoint stays as a safety net at a
/// larger size, should this task ever fall behind.
final class Checkpointer: Sendable {
    /// The WAL size, in pages, at which a commit checkpoints by itself.
    static let fallbackPages = 8192
    /// The WAL size, in pages, past which the background checkpoint makes the log start over.
    static let restartPages = 2048
    private let connection: DatabaseQueue
    private let task: Task<Void, Never>

    init(path: String, interval: Duration = .milliseconds(200)) throws {
        var configuration = Configuration()
        // A RESTART holds new writers back while it waits for readers of older snapshots: it gives up after 100 ms
        // (and is tried again next round) rather than stall the node's writes behind a long read.
        configuration.busyMode = .timeout(0.1)
        configuration.label = "checkpointer"
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        self.connection = connection
        task = Task.detached(priority: .utility) {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                // A failure (a busy lock, a full disk) leaves the log for the next round or the commit's own checkpoint.
                _ = try? await connection.writeWithoutTransaction { db in
                    let (pages, _) = try db.checkpoint(.passive)
                    if pages > Checkpointer.restartPages { try db.checkpoint(.restart) }
                }
            }
        }
    }

    deinit {
        task.cancel()
        // Closed now, not when the task next wakes: whichever of this and the store's connections closes last
        // checkpoints the whole log and removes it, so a stopped node leaves one clean database file.
        try? connection.close()
    }
}
