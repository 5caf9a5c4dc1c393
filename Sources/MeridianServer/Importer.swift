import DocumentInput
import Foundation
import STIX
import STIXValidation
import Storage
import Synchronization

/// Loads a bundle or TAXII envelope from a file into a collection, streamed: each object validated, valid ones stored,
/// with a summary of what was stored, what was already there, and what was rejected and why.
///
/// A malformed document stores nothing. A file of up to `atomicBytes` is read once and stored in one transaction,
/// committed once the whole document has proved well formed (other writers to the database wait until then). A
/// larger one is read twice, a chunk at a time, so that its size bounds neither memory nor how long others wait:
/// once to check that it is JSON throughout, and at the same time to validate its objects and, once that check has
/// passed, store them in transactions of a few thousand. Memory holds a few batches (all of them, for an atomic
/// import: at most `atomicBytes` of objects).
public struct Importer: Sendable {

    public struct Summary: Sendable {
        public var stored = 0
        public var duplicates = 0
        public var rejected: [(id: String, reason: String)] = []

        public init() {}
    }

    let node: MeridianNode
    let batchSize: Int
    /// A batch also ends once its objects reach this many bytes, so large objects do not pile up.
    let batchBytes: Int
    /// The largest document (its objects' bytes, once decompressed) imported in one transaction.
    let atomicBytes: Int
    /// The org recorded as having submitted what is imported (the node's owner unless said).
    let submittedBy: String?

    public init(node: MeridianNode, batchSize: Int = 5000, batchBytes: Int = 16 << 20, atomicBytes: Int = 64 << 20,
                submittedBy: String? = nil) {
        self.node = node
        self.submittedBy = submittedBy
        self.batchSize = batchSize
        self.batchBytes = batchBytes
        self.atomicBytes = atomicBytes
    }

    /// How far an import is: bytes of the work done out of the whole (a large file is read twice), and objects read.
    public struct Progress: Sendable {
        public let done: Int
        public let total: Int
        public let objects: Int
    }

    /// Imports the file at `path` (gzip allowed) into the collection `key` (id or alias); `progress` is called as
    /// batches finish.
    public func run(_ path: String, collection key: String, progress: (Progress) -> Void = { _ in }) async throws -> Summary {
        guard let collection = node.collection(key) else {
            throw NodeConfiguration.Problem(description: "no collection with id or alias '\(key)' in the configuration")
        }
        // The validator's schemas are compiled on another core while the first batch is being read.
        Task.detached(priority: .userInitiated) { Validator.prepare() }
        let input = try ChunkedInput(path: path)
        if input.size <= atomicBytes,
            let summary = try await withoutActuallyEscaping(progress, do: { progress in
                try await atomically(
                    path, collection: collection.id.lowercased(),
                    batches: { body in try await forEachBatch(input, path, storesAsItGoes: false, body) },
                    progress: { progress(Progress(done: input.consumed, total: input.size, objects: $0)) })
            })
        {
            return summary
        }
        return try await inTwoPasses(path, collection: collection.id.lowercased(), progress)
    }

    /// Stores `objects` (the bytes of STIX objects another format was converted to, such as MISP events) into the
    /// collection `key` in one transaction, with the same checks, summary and audit as a file's import. `source`
    /// names them in messages.
    public func run(objects: [[UInt8]], source: String, collection key: String, progress: (Progress) -> Void = { _ in }) async throws -> Summary {
        guard let collection = node.collection(key) else {
            throw NodeConfiguration.Problem(description: "no collection with id or alias '\(key)' in the configuration")
        }
        let total = objects.count
        let batchSize = self.batchSize
        let summary = try await withoutActuallyEscaping(progress) { progress in
            try await atomically(
                source, collection: collection.id.lowercased(), limit: .max,
                batches: { body in
                    for first in stride(from: 0, to: total, by: batchSize) {
                        try await body(Array(objects[first..<min(first + batchSize, total)]), first)
                    }
                },
                progress: { progress(Progress(done: $0, total: total, objects: $0)) })
        }
        return summary!
    }

    private var parser: JSONParser { JSONParser(limits: JSONLimits(maxDepth: 256, maxStringBytes: 64 << 20)) }
    private var provenance: Provenance { Provenance(submittedBy: submittedBy ?? node.configuration.node.owner, receivedFrom: nil) }

    /// Validates a batch on every core: the valid objects, and the rejected ones added to `summary`.
    private func check(_ batch: [[UInt8]], first: Int, into summary: inout Summary) -> (valid: [IncomingObject], syntax: String?) {
        let (parser, validator) = (self.parser, node.validator)
        let outcomes = concurrentMap(count: batch.count, concurrency: ProcessInfo.processInfo.activeProcessorCount) { k in
            ObjectCheck.check(batch[k], range: 0..<batch[k].count, index: first + k, parser: parser, validator: validator)
        }
        var valid: [IncomingObject] = []
        for (k, outcome) in outcomes.enumerated() {
            switch outcome {
            case .success(let incoming): valid.append(incoming)
            case .failure(let rejection):
                if let error = rejection.syntax { return ([], "object #\(first + k) is not valid JSON: \(error)") }
                summary.rejected.append((rejection.id.isEmpty ? "an object without id" : rejection.id, rejection.reason))
            }
        }
        return (valid, nil)
    }

    /// Hands to the correlator a batch once stored (with its audit entry, in its transaction), and counts it.
    private func record(_ objects: [IncomingObject], _ outcomes: [AddOutcome], collection: String, into summary: inout Summary) async throws {
        for o in outcomes { if o == .duplicate { summary.duplicates += 1 } else { summary.stored += 1 } }
        try await node.afterWrite(objects, outcomes, collection: collection, provenance: provenance)
    }

    /// Stores the objects `batches` hands over (a document read once, or objects converted from another format) in
    /// one transaction, committed after the last batch; nil, with nothing stored, when their bytes turn out to exceed
    /// `limit` (`atomicBytes` unless said: a gzipped file larger than it looked).
    private func atomically(
        _ path: String, collection: String, limit: Int? = nil,
        batches: (_ body: ([[UInt8]], Int) async throws -> Void) async throws -> Void, progress: @escaping (Int) -> Void
    ) async throws -> Summary? {
        let atomicBytes = limit ?? self.atomicBytes
        struct TooLarge: Error {}
        let handoff = BatchHandoff()
        let store = node.store
        let provenance = self.provenance
        let audit = MeridianNode.writeEntry(collection: collection, by: nil, provenance: provenance)
        let storing = Task {
            do {
                return try await store.addAll(to: collection, provenance: provenance, audit: audit) { try handoff.take() }
            } catch {
                handoff.abandon()  // the reading stops at its next batch; this error is the one reported
                throw error
            }
        }
        var summary = Summary()
        var held: [[IncomingObject]] = []
        var bytes = 0
        do {
            try await batches { batch, first in
                bytes += batch.reduce(0) { $0 + $1.count }
                guard bytes <= atomicBytes else { throw TooLarge() }
                let (valid, syntax) = check(batch, first: first, into: &summary)
                if let syntax { throw NodeConfiguration.Problem(description: "\(path): \(syntax); nothing was imported") }
                held.append(valid)
                try handoff.put(valid)
                progress(first + batch.count)
            }
            handoff.finish()
        } catch {
            handoff.fail(error)
            // Rolled back. When the store stopped first, its error is the one to report.
            if case .failure(let storeError) = await storing.result, error is BatchHandoff.Abandoned { throw storeError }
            if error is TooLarge { return nil }
            throw error
        }
        let outcomes = try await storing.value
        // Committed as one: handed to the correlator as one, so the new indicators are matched against the stored
        // observations once rather than once per batch.
        try await record(Array(held.joined()), Array(outcomes.joined()), collection: collection, into: &summary)
        return summary
    }

    /// Reads the document twice: the first pass checks it is JSON throughout while the second validates its objects
    /// and, once the first has passed, stores each batch in a transaction of its own.
    private func inTwoPasses(_ path: String, collection: String, _ progress: (Progress) -> Void) async throws -> Summary {
        let parser = self.parser
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // First pass: every object must parse, and the document around them too. It runs alongside the second pass,
        // which validates from the start but stores nothing until the first pass has finished.
        let firstPassRead = ByteCount()
        let firstPass = Task {
            let input = try ChunkedInput(path: path)
            try await forEachBatch(input, path, storesAsItGoes: false) { batch, first in
                let failures = concurrentMap(count: batch.count, concurrency: cores) { k -> String? in
                    do {
                        try parser.check(batch[k], range: 0..<batch[k].count)
                        return nil
                    } catch {
                        return "object #\(first + k) is not valid JSON: \(error)"
                    }
                }
                if let failure = failures.lazy.compactMap({ $0 }).first {
                    throw NodeConfiguration.Problem(description: "\(path): \(failure); nothing was imported")
                }
                firstPassRead.set(input.consumed)
            }
        }
        // Second pass: objects are validated on every core, a batch at a time; each batch is stored in one
        // transaction while the next one is being validated.
        let store = node.store
        let provenance = self.provenance
        let audit = MeridianNode.writeEntry(collection: collection, by: nil, provenance: provenance)
        var summary = Summary()
        var storing: (objects: [IncomingObject], task: Task<[AddOutcome], any Error>)? = nil
        var checked = false
        do {
            let input = try ChunkedInput(path: path)
            try await forEachBatch(input, path, storesAsItGoes: true) { batch, first in
                // A syntax error is the first pass's to report (it fails the import before anything is stored).
                let (valid, syntax) = check(batch, first: first, into: &summary)
                if !checked {
                    try await firstPass.value
                    checked = true
                }
                if let syntax { throw NodeConfiguration.Problem(description: "\(path): \(syntax); the file changed during the import") }
                if let previous = storing {
                    try await record(previous.objects, try await previous.task.value, collection: collection, into: &summary)
                }
                // Each batch commits with its audit entry: stopped at any moment, the import leaves no stored version
                // unaudited, and a re-run stores what is missing.
                storing = (valid, Task { try await store.add(valid, to: collection, provenance: provenance, audit: audit) })
                progress(Progress(done: firstPassRead.value + input.consumed, total: 2 * input.size, objects: first + batch.count))
            }
            if !checked { try await firstPass.value }
        } catch {
            // Until the first pass has finished nothing is stored: a malformed document fails there with its own
            // message, which says so.
            if !checked { try await firstPass.value }
            throw error
        }
        if let previous = storing {
            try await record(previous.objects, try await previous.task.value, collection: collection, into: &summary)
        }
        return summary
    }

    /// How far the first pass has read, for the progress of both.
    private final class ByteCount: Sendable {
        private let bytes = Mutex(0)
        var value: Int { bytes.withLock { $0 } }
        func set(_ value: Int) { bytes.withLock { $0 = value } }
    }

    /// Reads `input` a chunk at a time and calls `body` with each batch of objects of its `objects` list (their
    /// bytes) and the index of the batch's first object; then checks the rest of the document.
    private func forEachBatch(
        _ input: ChunkedInput, _ path: String, storesAsItGoes: Bool, _ body: ([[UInt8]], Int) async throws -> Void
    ) async throws {
        var scanner = ElementScanner()
        var batch: [[UInt8]] = []
        var bytes = 0
        var first = 0
        do {
            while let chunk = try input.next() {
                var full: [[[UInt8]]] = []
                try chunk.withUnsafeBufferPointer { buffer in
                    try scanner.feed(buffer) { element in
                        batch.append(element)
                        bytes += element.count
                        if batch.count >= batchSize || bytes >= batchBytes {
                            full.append(batch)
                            batch.removeAll(keepingCapacity: true)
                            bytes = 0
                        }
                    }
                }
                for done in full {
                    try await body(done, first)
                    first += done.count
                }
            }
            _ = try scanner.finish()
        } catch let failure as ElementScanner.Failure {
            let consequence = storesAsItGoes ? "the file changed during the import; the objects before that point were stored" : "nothing was imported"
            let at = failure.located ? "" : " (at byte \(scanner.offset))"
            throw NodeConfiguration.Problem(description: "\(path): \(failure)\(at); \(consequence)")
        }
        if !batch.isEmpty { try await body(batch, first) }
    }
}

/// Batches handed from an import's reading task to the store's writer, which waits for each in turn.
final class BatchHandoff: @unchecked Sendable {
    // @unchecked: every field is read and written with `condition` locked.
    private let condition = NSCondition()
    private var queue: [[IncomingObject]] = []
    private var finished = false
    private var failure: (any Error)?
    private var abandoned = false

    /// Thrown by `put` once the store has stopped taking batches.
    struct Abandoned: Error {}

    func put(_ batch: [IncomingObject]) throws {
        condition.lock()
        defer { condition.unlock() }
        guard !abandoned else { throw Abandoned() }
        queue.append(batch)
        condition.signal()
    }

    /// The store stopped (it failed): batches are no longer taken.
    func abandon() {
        condition.lock()
        abandoned = true
        queue = []
        condition.unlock()
    }

    /// No batch follows.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// The import failed: `take` throws `error` from now on, batches handed over or not.
    func fail(_ error: any Error) {
        condition.lock()
        failure = error
        condition.signal()
        condition.unlock()
    }

    /// The next batch, or nil after the last; waits until there is one.
    func take() throws -> [IncomingObject]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !finished && failure == nil { condition.wait() }
        if let failure { throw failure }
        return queue.isEmpty ? nil : queue.removeFirst()
    }
}
