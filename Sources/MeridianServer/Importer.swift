import Foundation
import STIX
import STIXValidation
import Storage

/// Loads a bundle or TAXII envelope into a collection: each object validated, valid ones stored in transactions of
/// a few thousand, with a summary of what was stored, what was already there, and what was rejected and why.
public struct Importer: Sendable {

    public struct Summary: Sendable {
        public var stored = 0
        public var duplicates = 0
        public var rejected: [(id: String, reason: String)] = []
    }

    let node: MeridianNode
    let batchSize: Int

    public init(node: MeridianNode, batchSize: Int = 5000) {
        self.node = node
        self.batchSize = batchSize
    }

    /// Imports `bytes` into the collection `key` (id or alias); `progress(done, total)` is called as batches finish.
    public func run(_ bytes: [UInt8], collection key: String, progress: (Int, Int) -> Void = { _, _ in }) async throws -> Summary {
        guard let collection = node.collection(key) else {
            throw NodeConfiguration.Problem(description: "no collection with id or alias '\(key)' in the configuration")
        }
        let parser = JSONParser(limits: JSONLimits(maxDepth: 256, maxStringBytes: 64 << 20))
        let document = try parser.parseDocument(bytes, retainElements: false)
        guard case .object(let root) = document.root, case .array? = root["objects"] else {
            throw NodeConfiguration.Problem(description: "the file must be a STIX bundle or a TAXII envelope (an object with an 'objects' list)")
        }
        let provenance = Provenance(submittedBy: node.configuration.node.owner, receivedFrom: nil)
        var summary = Summary()
        let total = document.elementRanges.count
        let ranges = document.elementRanges
        let validator = node.validator
        let store = node.store
        let collectionID = collection.id.lowercased()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // Objects are parsed and validated on every core, a batch at a time; each batch is stored in one transaction
        // while the next one is being validated.
        let node = self.node
        func record(_ objects: [IncomingObject], _ outcomes: [AddOutcome]) async throws {
            for o in outcomes { if o == .duplicate { summary.duplicates += 1 } else { summary.stored += 1 } }
            try await node.recordWrite(objects, outcomes, collection: collectionID, by: nil, provenance: provenance)
        }
        func check(_ start: Int) -> [Result<IncomingObject, ObjectCheck.Rejection>] {
            concurrentMap(count: min(total, start + batchSize) - start, concurrency: cores) { k in
                ObjectCheck.check(bytes, range: ranges[start + k], index: start + k, parser: parser, validator: validator)
            }
        }
        var storing: (objects: [IncomingObject], task: Task<[AddOutcome], any Error>)? = nil
        var storedUpTo = 0
        for start in stride(from: 0, to: total, by: batchSize) {
            var batch: [IncomingObject] = []
            for outcome in check(start) {
                switch outcome {
                case .success(let incoming): batch.append(incoming)
                case .failure(let rejection): summary.rejected.append((rejection.id.isEmpty ? "an object without id" : rejection.id, rejection.reason))
                }
            }
            if let previous = storing {
                try await record(previous.objects, try await previous.task.value)
                progress(storedUpTo, total)
            }
            let toStore = batch
            storing = (toStore, Task { try await store.add(toStore, to: collectionID, provenance: provenance) })
            storedUpTo = min(total, start + batchSize)
        }
        if let previous = storing {
            try await record(previous.objects, try await previous.task.value)
        }
        progress(total, total)
        return summary
    }
}
