import DocumentInput
import Foundation
import MISP
import STIX
import Storage

/// MISP data into a collection: event files, event lists, REST API responses and feed directories, converted to STIX
/// (``MISPToSTIX``) and stored like an imported bundle: up to a limit, in one transaction, every event converted before
/// anything is stored (``convert(_:maxBytes:options:)``); beyond it, file by file after a first pass has converted every
/// file (``streamed(_:maxBytes:options:on:by:store:)``). Either way an event that cannot be converted stores nothing.
public enum MISPImport {
    /// A failure to read or convert, naming the file (and within it the event, record and rule).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The files `path` stands for: a file itself; in a MISP feed directory (one with a `manifest.json`), the event
    /// files its manifest lists, each of which must exist; in another directory, its `.json` and `.json.gz` files.
    public static func files(_ path: String) throws(Failure) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw Failure(description: "\(path): no such file or directory") }
        guard isDirectory.boolValue else { return [path] }
        let manifestPath = (path as NSString).appendingPathComponent("manifest.json")
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            let found = DocumentInput.expand([path])
            if found.isEmpty { throw Failure(description: "\(path): a directory without manifest.json nor any .json file") }
            return found
        }
        let manifest: JSONValue
        do {
            manifest = try JSONParser().parse(try DocumentInput(maxBytes: 256 << 20).read(manifestPath))
        } catch {
            throw Failure(description: "\(manifestPath): \(error)")
        }
        guard let events = manifest.objectValue else {
            throw Failure(description: "\(manifestPath): a feed's manifest must be an object keyed by event uuid")
        }
        var files: [String] = []
        for uuid in events.keys.sorted() {
            guard uuid.count == 36, uuid.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
                throw Failure(description: "\(manifestPath): key '\(uuid)' is not an event uuid")
            }
            let file = (path as NSString).appendingPathComponent(uuid + ".json")
            guard FileManager.default.fileExists(atPath: file) else {
                throw Failure(description: "\(manifestPath): lists event \(uuid) but \(uuid).json is missing; nothing was imported")
            }
            files.append(file)
        }
        return files
    }

    /// The STIX objects (their bytes) of every file `paths` stand for, each id once, and the number of events. At
    /// most `maxBytes` of MISP JSON (decompressed) are read, and at most sixteen times as much STIX made.
    public static func convert(_ paths: [String], maxBytes: Int = 64 << 20, options: MISPToSTIX.Options = .init()) throws(Failure)
        -> (objects: [[UInt8]], events: Int)
    {
        var output = MISPToSTIX.Output()
        var read = 0
        var events = 0
        for path in paths {
            for file in try Self.files(path) {
                let bytes: [UInt8]
                do {
                    bytes = try DocumentInput(maxBytes: maxBytes - read).read(file)
                } catch {
                    throw Failure(description: "\(error); the MISP JSON read in one import is limited to \(maxBytes) bytes (--max-bytes); nothing was imported")
                }
                read += bytes.count
                do {
                    events += try convert(bytes, options: options, into: &output)
                } catch {
                    throw Failure(description: "\(file): \(error.description); nothing was imported")
                }
            }
        }
        return (try serialize(output, limit: 16 * maxBytes, source: paths.joined(separator: ", ")), events)
    }

    /// Imports more MISP JSON than one transaction holds, as `meridian import` does a large file: a first pass reads
    /// and converts every file (each at most `maxBytes`), so that a file that cannot be read or converted stores
    /// nothing, and registers the releasability markings the conversion makes; the second converts each file again
    /// and stores it in a transaction of its own, so memory holds one file's objects at a time. `store` stores one
    /// file's objects and is called in order; returns the number of events.
    public static func streamed(
        _ paths: [String], maxBytes: Int, options: MISPToSTIX.Options, on node: MeridianNode, by principal: Principal?,
        store: (_ file: String, _ objects: [[UInt8]], _ position: Int, _ count: Int) async throws -> Void
    ) async throws -> Int {
        let files = try paths.flatMap { path throws(Failure) in try Self.files(path) }
        func converted(_ file: String) throws(Failure) -> (objects: [[UInt8]], events: Int) {
            let bytes: [UInt8]
            do {
                bytes = try DocumentInput(maxBytes: maxBytes).read(file)
            } catch {
                throw Failure(description: "\(error); each MISP JSON file read is limited to \(maxBytes) bytes (--max-bytes); nothing was imported")
            }
            var output = MISPToSTIX.Output()
            do {
                let events = try convert(bytes, options: options, into: &output)
                return (try serialize(output, limit: 16 * maxBytes, source: file), events)
            } catch {
                throw Failure(description: "\(file): \(error.description); nothing was imported")
            }
        }
        let markingPrefix = Array(#"{"type":"marking-definition""#.utf8)
        var markings: [[UInt8]] = []
        for file in files {
            markings += try converted(file).objects.filter { $0.starts(with: markingPrefix) }
        }
        try await registerMarkings(markings, on: node, by: principal)
        var events = 0
        for (position, file) in files.enumerated() {
            let (objects, count) = try converted(file)
            events += count
            try await store(file, objects, position, files.count)
        }
        return events
    }

    /// The total size of `files` as stored (compressed files count their compressed size).
    public static func size(of files: [String]) -> Int {
        files.reduce(0) { $0 + (((try? FileManager.default.attributesOfItem(atPath: $1))?[.size] as? Int) ?? 0) }
    }

    /// The conversion's options for importing into `node`: galaxy clusters of ATT&CK (and DISARM) techniques, groups,
    /// software and mitigations refer to the objects the node already holds with the same external id, read through
    /// the gate as the node's owner, instead of making copies under the clusters' uuids.
    public static func options(for node: MeridianNode, stricter: Bool = false) async throws -> MISPToSTIX.Options {
        var options = MISPToSTIX.Options()
        options.organisations = node.configuration.orgs.map { ($0.id, $0.name) }
        options.stricter = stricter
        let owner = Principal(org: node.configuration.node.owner, user: nil)
        let types: Set<String> = ["attack-pattern", "intrusion-set", "malware", "tool", "course-of-action", "threat-actor"]
        let parser = JSONParser(limits: JSONLimits(maxDepth: 256, maxStringBytes: 64 << 20))
        for collection in node.readableCollections(for: owner) {
            try await node.forEachPage(of: collection, query: ObjectQuery(types: types), withBytes: true, for: owner,
                                       endpoint: "misp import", audited: false) { page in
                for i in page.versions.indices {
                    guard let object = try? parser.parse(page.bytes(at: i)).objectValue, let id = object["id"]?.stringValue,
                        object["revoked"]?.boolValue != true
                    else { continue }
                    for reference in object["external_references"]?.arrayValue ?? [] {
                        guard let source = reference["source_name"]?.stringValue, source.hasPrefix("mitre-") || source == "DISARM",
                            let externalID = reference["external_id"]?.stringValue
                        else { continue }
                        options.knownObjects[externalID] = options.knownObjects[externalID] ?? id
                    }
                }
            }
        }
        return options
    }

    /// Registers, as the owner's decision, the releasability markings the conversion made for MISP sharing groups
    /// and "your organisation only" (each names orgs of the partnership), so that the policy knows them before the
    /// objects that carry them are stored; one already known is left as it is.
    public static func registerMarkings(_ objects: [[UInt8]], on node: MeridianNode, by principal: Principal?) async throws {
        let known = Set(try await node.releasabilityMarkings().map(\.id))
        let prefix = Array(#"{"type":"marking-definition""#.utf8)
        for bytes in objects {
            // Only marking-definitions (the converter writes `type` first), found without parsing every object.
            guard bytes.starts(with: prefix), let id = (try? JSONParser().parse(bytes))?["id"]?.stringValue, !known.contains(id)
            else { continue }
            _ = try await node.registerMarking(bytes, by: principal)
        }
    }

    /// The STIX objects (their bytes) of one MISP JSON document held in memory (a request's body), and its number of
    /// events.
    public static func convert(document bytes: [UInt8], options: MISPToSTIX.Options = .init()) throws(Failure) -> (objects: [[UInt8]], events: Int) {
        var output = MISPToSTIX.Output()
        let events = try convert(bytes, options: options, into: &output)
        return (try serialize(output, limit: 16 * max(bytes.count, 1 << 20), source: "the document"), events)
    }

    /// Parses and converts one document into `output`; returns its number of events.
    static func convert(_ bytes: [UInt8], options: MISPToSTIX.Options, into output: inout MISPToSTIX.Output) throws(Failure) -> Int {
        let document: JSONValue
        do {
            document = try JSONParser(limits: JSONLimits(maxDepth: 64, maxStringBytes: 64 << 20)).parse(bytes)
        } catch {
            throw Failure(description: "not valid JSON: \(error)")
        }
        let converter = MISPToSTIX(options: options)
        do {
            let units = try MISPDocument.units(in: document)
            // Events convert on every core; their objects are added in order (the first error in order is the one
            // reported).
            let made = concurrentMap(count: units.count, concurrency: ProcessInfo.processInfo.activeProcessorCount, chunk: 8) { i in
                Result { () throws(MISPError) in try converter.objects(of: units[i], position: i) }
            }
            for result in made { output.add(try result.get()) }
            return units.count { if case .event = $0 { true } else { false } }
        } catch {
            throw Failure(description: error.description)
        }
    }

    /// The objects' bytes, serialized on every core. STIX takes five to eight times the bytes of the MISP JSON it is
    /// made of (an attribute becomes up to five objects): past `limit`, something is wrong with the input.
    static func serialize(_ output: MISPToSTIX.Output, limit: Int, source: String) throws(Failure) -> [[UInt8]] {
        let made = output.objects
        let objects = concurrentMap(count: made.count, concurrency: ProcessInfo.processInfo.activeProcessorCount, chunk: 256) {
            JSONValue.object(made[$0]).serializedBytes()
        }
        if objects.reduce(0, { $0 + $1.count }) > limit {
            throw Failure(description: "the STIX made of \(source) exceeds \(limit) bytes; nothing was imported")
        }
        return objects
    }
}
