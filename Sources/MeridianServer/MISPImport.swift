import DocumentInput
import Foundation
import MISP
import STIX

/// MISP data into a collection: event files, event lists, REST API responses and feed directories, converted to STIX
/// (``MISPToSTIX``) and stored like an imported bundle, in one transaction: every event is converted before anything
/// is stored, and one that cannot be converted stores nothing.
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
    /// most `maxBytes` of MISP JSON (decompressed) are read, and at most as much STIX made.
    public static func convert(_ paths: [String], maxBytes: Int = 64 << 20, options: MISPToSTIX.Options = .init()) throws(Failure)
        -> (objects: [[UInt8]], events: Int)
    {
        let converter = MISPToSTIX(options: options)
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
                let document: JSONValue
                do {
                    document = try JSONParser(limits: JSONLimits(maxDepth: 64, maxStringBytes: 64 << 20)).parse(bytes)
                } catch {
                    throw Failure(description: "\(file): not valid JSON: \(error); nothing was imported")
                }
                do {
                    for (i, unit) in try MISPDocument.units(in: document).enumerated() {
                        if case .event = unit { events += 1 }
                        try converter.convert(unit, position: i, into: &output)
                    }
                } catch {
                    throw Failure(description: "\(file): \(error); nothing was imported")
                }
            }
        }
        var made = 0
        var objects: [[UInt8]] = []
        objects.reserveCapacity(output.objects.count)
        for o in output.objects {
            let bytes = JSONValue.object(o).serializedBytes()
            made += bytes.count
            if made > maxBytes {
                throw Failure(description: "the STIX made of \(paths.joined(separator: ", ")) exceeds \(maxBytes) bytes (--max-bytes); nothing was imported")
            }
            objects.append(bytes)
        }
        return (objects, events)
    }
}
