import CZlib
import Foundation

/// Why an input could not be read. Messages name the input and never include its content.
public struct InputError: Error, Sendable, CustomStringConvertible {
    public let input: String
    public let reason: String

    public var description: String { "\(input): \(reason)" }
}

/// Reads STIX documents from files or standard input, gunzipping `.gz` content, within a size limit.
///
/// The limit applies to the decompressed size too, so a small compressed file cannot expand without bound.
public struct DocumentInput: Sendable {
    /// Largest document accepted, in bytes after decompression.
    public var maxBytes: Int

    public init(maxBytes: Int = 1 << 30) {
        self.maxBytes = maxBytes
    }

    /// `paths` with each directory replaced by the `.json` and `.json.gz` files under it, in name order.
    public static func expand(_ paths: [String]) -> [String] {
        paths.flatMap { path -> [String] in
            var isDirectory: ObjCBool = false
            guard path != "-", FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                let walker = FileManager.default.enumerator(atPath: path)
            else { return [path] }
            var found: [String] = []
            while let relative = walker.nextObject() as? String {
                if relative.hasSuffix(".json") || relative.hasSuffix(".json.gz") {
                    found.append((path as NSString).appendingPathComponent(relative))
                }
            }
            return found.sorted()
        }
    }

    /// The bytes of `path`, or of standard input when `path` is `-`, gunzipped when they are gzip data.
    public func read(_ path: String) throws(InputError) -> [UInt8] {
        let input = path == "-" ? ChunkedInput.standardInput() : try ChunkedInput(path: path)
        if input.size > maxBytes { throw InputError(input: path, reason: "larger than the limit of \(maxBytes) bytes") }
        var out: [UInt8] = []
        out.reserveCapacity(input.size + 1)
        while let chunk = try input.next() {
            if out.count + chunk.count > maxBytes {
                throw InputError(input: input.name, reason: input.isCompressed
                    ? "decompresses to more than the limit of \(maxBytes) bytes" : "larger than the limit of \(maxBytes) bytes")
            }
            out += chunk
        }
        return out
    }

    /// A handle on the file at `path`, or an error naming what is wrong with it.
    static func open(_ path: String) throws(InputError) -> FileHandle {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(input: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw InputError(input: path, reason: "is a directory, not a file") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InputError(input: path, reason: "cannot be opened for reading (permissions?)")
        }
        return handle
    }
}

/// A file read a chunk at a time, gunzipped on the fly when it is gzip data, so that a document of any size is
/// read with a bounded amount of memory (``STIX/ElementScanner`` then finds its objects).
public final class ChunkedInput {
    public let name: String
    /// The file's size on disk (compressed, for gzip): with ``consumed``, a measure of progress.
    public let size: Int
    /// Bytes read from the file so far.
    public private(set) var consumed = 0
    private let handle: FileHandle
    private let chunkSize: Int
    private var inflater: UnsafeMutablePointer<z_stream>?
    private var compressed: [UInt8] = []
    /// How much of `compressed` inflate has consumed.
    private var compressedStart = 0
    private var finished = false
    private var first = true

    /// True once the input has shown itself to be gzip data (after the first ``next()``).
    public var isCompressed: Bool { inflater != nil }
    private let closesHandle: Bool

    public convenience init(path: String, chunkSize: Int = 1 << 20) throws(InputError) {
        let handle = try DocumentInput.open(path)
        self.init(handle: handle, name: path, size: (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0,
                  chunkSize: chunkSize, closesHandle: true)
    }

    /// Standard input, whose size is unknown (0).
    public static func standardInput(chunkSize: Int = 1 << 20) -> ChunkedInput {
        ChunkedInput(handle: .standardInput, name: "standard input", size: 0, chunkSize: chunkSize, closesHandle: false)
    }

    private init(handle: FileHandle, name: String, size: Int, chunkSize: Int, closesHandle: Bool) {
        self.handle = handle
        self.name = name
        self.size = size
        self.chunkSize = chunkSize
        self.closesHandle = closesHandle
    }

    deinit {
        if let inflater {
            inflateEnd(inflater)
            inflater.deallocate()
        }
        if closesHandle { try? handle.close() }
    }

    private func read() throws(InputError) -> [UInt8] {
        do {
            let data = try handle.read(upToCount: chunkSize) ?? Data()
            consumed += data.count
            return Array(data)
        } catch {
            throw InputError(input: name, reason: "read failed: \(error.localizedDescription)")
        }
    }

    /// The next bytes of the document, or nil at its end.
    public func next() throws(InputError) -> [UInt8]? {
        if finished { return nil }
        if first {
            first = false
            let head = try read()
            if head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B {
                let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
                stream.initialize(to: z_stream())
                // 15 + 32: a zlib or gzip header, detected automatically.
                guard inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                    stream.deallocate()
                    throw InputError(input: name, reason: "cannot initialise gzip decompression")
                }
                inflater = stream
                compressed = head
            } else {
                if head.isEmpty { finished = true; return nil }
                return head
            }
        }
        guard let stream = inflater else {
            let chunk = try read()
            if chunk.isEmpty { finished = true; return nil }
            return chunk
        }
        var out = [UInt8](repeating: 0, count: chunkSize)
        while true {
            if compressedStart == compressed.count {
                compressed = try read()
                compressedStart = 0
                if compressed.isEmpty { throw InputError(input: name, reason: "truncated gzip data") }
            }
            var status: Int32 = Z_OK
            var produced = 0
            let start = compressedStart
            compressed.withUnsafeMutableBufferPointer { input in
                out.withUnsafeMutableBufferPointer { output in
                    stream.pointee.next_in = input.baseAddress! + start
                    stream.pointee.avail_in = uInt(input.count - start)
                    stream.pointee.next_out = output.baseAddress
                    stream.pointee.avail_out = uInt(output.count)
                    status = inflate(stream, Z_NO_FLUSH)
                    produced = output.count - Int(stream.pointee.avail_out)
                }
            }
            compressedStart = compressed.count - Int(stream.pointee.avail_in)
            if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
                throw InputError(input: name, reason: "corrupt gzip data (zlib status \(status))")
            }
            if status == Z_STREAM_END { finished = true }
            if produced > 0 || finished {
                out.removeLast(out.count - produced)
                if out.isEmpty { return nil }
                return out
            }
        }
    }
}
