import DocumentInput
import Foundation
import STIX
import STIXValidation
import Storage
import Synchronization

/// Loads a bundle or TAXII envelope from a file into a collection, streamed: each object validated, valid ones stored
/// in transactions of a few thousand, with a summary of what was stored, what was already there, and what was
/// rejected and why.
///
/// The file is read twice, a chunk at a time, so its size does not bound the import: once to check that it is JSON
/// throughout (a malformed file stores nothing), and at the same time to validate its objects and, once that check
/// has passed, store them. Memory holds a few batches.
public struct Importer: Sendable {

    public struct Summary: Sendable {
        public var stored = 0
        public var duplicates = 0
        public var rejected: [(id: String, reason: String)] = []
    }

    let node: MeridianNode
    let batchSize: Int
    /// A batch also ends once its objects reach this many bytes, so large objects do not pile up.
    let batchBytes: Int

    public init(node: MeridianNode, batchSize: Int = 5000, batchBytes: Int = 16 << 20) {
        self.node = node
        self.batchSize = batchSize
        self.batchBytes = batchBytes
    }

    /// Imports the file at `path` (gzip allowed) into the collection `key` (id or alias); `progress(done, total)`
    /// is called as batches finish, in bytes of the file read over both passes.
    public func run(_ path: String, collection key: String, progress: (Int, Int) -> Void = { _, _ in }) async throws -> Summary {
        guard let collection = node.collection(key) else {
            throw NodeConfiguration.Problem(description: "no collection with id or alias '\(key)' in the configuration")
        }
        let parser = JSONParser(limits: JSONLimits(maxDepth: 256, maxStringBytes: 64 << 20))
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // First pass: every object must parse, and the document around them too. It runs alongside the second pass,
        // which validates from the start but stores nothing until the first pass has finished.
        let firstPassRead = ByteCount()
        let firstPass = Task {
            try await forEachBatch(path, firstPass: true) { batch, first, input in
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
        let provenance = Provenance(submittedBy: node.configuration.node.owner, receivedFrom: nil)
        let validator = node.validator
        let store = node.store
        let collectionID = collection.id.lowercased()
        let node = self.node
        var summary = Summary()
        func record(_ objects: [IncomingObject], _ outcomes: [AddOutcome]) async throws {
            for o in outcomes { if o == .duplicate { summary.duplicates += 1 } else { summary.stored += 1 } }
            try await node.recordWrite(objects, outcomes, collection: collectionID, by: nil, provenance: provenance)
        }
        var storing: (objects: [IncomingObject], task: Task<[AddOutcome], any Error>)? = nil
        var checked = false
        do {
            try await forEachBatch(path, firstPass: false) { batch, first, input in
                let outcomes = concurrentMap(count: batch.count, concurrency: cores) { k in
                    ObjectCheck.check(batch[k], range: 0..<batch[k].count, index: first + k, parser: parser, validator: validator)
                }
                var valid: [IncomingObject] = []
                for outcome in outcomes {
                    switch outcome {
                    case .success(let incoming): valid.append(incoming)
                    case .failure(let rejection): summary.rejected.append((rejection.id.isEmpty ? "an object without id" : rejection.id, rejection.reason))
                    }
                }
                if !checked {
                    try await firstPass.value
                    checked = true
                }
                if let previous = storing {
                    try await record(previous.objects, try await previous.task.value)
                }
                let toStore = valid
                storing = (toStore, Task { try await store.add(toStore, to: collectionID, provenance: provenance) })
                progress(firstPassRead.value + input.consumed, 2 * input.size)
            }
            if !checked { try await firstPass.value }
        } catch {
            // Until the first pass has finished nothing is stored: a malformed document fails there with its own
            // message, which says so.
            if !checked { try await firstPass.value }
            throw error
        }
        if let previous = storing {
            try await record(previous.objects, try await previous.task.value)
        }
        return summary
    }

    /// How far the first pass has read, for the progress of both.
    private final class ByteCount: Sendable {
        private let bytes = Mutex(0)
        var value: Int { bytes.withLock { $0 } }
        func set(_ value: Int) { bytes.withLock { $0 = value } }
    }

    /// Reads `path` a chunk at a time and calls `body` with each batch of objects of its `objects` list (their
    /// bytes), the index of the batch's first object, and the input (for progress); then checks the rest of the
    /// document.
    private func forEachBatch(
        _ path: String, firstPass: Bool, _ body: ([[UInt8]], Int, ChunkedInput) async throws -> Void
    ) async throws {
        let input = try ChunkedInput(path: path)
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
                    try await body(done, first, input)
                    first += done.count
                }
            }
            _ = try scanner.finish()
        } catch let failure as ElementScanner.Failure {
            let consequence = firstPass ? "nothing was imported" : "the file changed during the import; the objects before that point were stored"
            throw NodeConfiguration.Problem(description: "\(path): \(failure) (at byte \(scanner.offset)); \(consequence)")
        }
        if !batch.isEmpty { try await body(batch, first, input) }
    }
}
