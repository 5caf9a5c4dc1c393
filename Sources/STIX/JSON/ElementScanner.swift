/// Finds the elements of a document's top-level `objects` list as the document streams past, a chunk at a time, so a
/// file of any size is read with a bounded amount of memory.
///
/// Each element is handed over as its own bytes, not checked: a caller parses it (``JSONParser/parse(_:range:)``),
/// which it does anyway. Everything outside the elements (the envelope's other members, the brackets, the commas
/// between elements) is kept, as the document's *skeleton*, and checked by ``finish()`` with the strict parser, with
/// the list emptied. Together they check the whole document. The list's own grammar (commas between elements, no
/// empty or trailing element) is checked here.
public struct ElementScanner: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
        /// Whether `description` says where in the document (else the caller adds how far it was read).
        public var located = false
    }

    /// Largest element accepted, in bytes.
    public let maxElementBytes: Int
    /// Bytes seen so far.
    public private(set) var offset = 0
    /// Elements found so far.
    public private(set) var count = 0

    private var skeleton: [UInt8] = []
    private var element: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    // Outside the list: the key being read at depth 1, the last key read, the key whose value comes next, whether
    // `objects` was found.
    private var key: [UInt8]? = nil
    private var expectingKey = false
    private var pendingKey: [UInt8]? = nil
    private var valueKey: [UInt8]? = nil
    private var foundObjects = false
    // Inside the list: where an element stands.
    private enum ListState { case outside, expectingFirst, expectingNext, inElement, afterElement }
    private var list = ListState.outside
    /// For a number or literal element: it ends at a delimiter rather than at a closing bracket.
    private var scalarElement = false
    /// A document that is not JSON from its first byte, refused as soon as that byte is read.
    private var failedEarly: Failure? = nil

    public init(maxElementBytes: Int = 64 << 20) {
        self.maxElementBytes = maxElementBytes
    }

    /// Scans `chunk`, calling `emit` with each element completed in it.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, emit: ([UInt8]) throws -> Void) throws {
        var i = 0
        while i < chunk.count {
            if list == .inElement && !scalarElement {
                // Inside an object, list or string element (nearly every byte of a bundle): walk to its end or the
                // chunk's, then copy the run at once.
                let start = i
                var done = false
                walk: while i < chunk.count {
                    let c = chunk[i]
                    i += 1
                    if inString {
                        if closesString(c) && depth == 2 { done = true; break walk }  // a string element
                        continue
                    }
                    switch c {
                    case UInt8(ascii: "\""):
                        inString = true
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        // Back at the list's depth: the element is complete. (A stray closing bracket inside it is
                        // left for the element's parser to refuse.)
                        if depth <= 2 {
                            depth = 2
                            done = true
                            break walk
                        }
                    default:
                        break
                    }
                }
                offset += i - start
                if element.count + (i - start) > maxElementBytes {
                    throw Failure(description: "element #\(count) of the 'objects' list is larger than \(maxElementBytes) bytes")
                }
                element.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start..<i]))
                if done { try complete(emit) }
                continue
            }
            let c = chunk[i]
            i += 1
            offset += 1
            if list == .outside {
                skeletonByte(c)
                if let failedEarly { throw failedEarly }
            } else {
                try listByte(c, emit: emit)
            }
        }
    }

    /// Checks the document once it has all been fed: the skeleton must be a JSON object whose `objects` member is the
    /// (now empty) list, with nothing malformed around it. Returns the skeleton's value.
    public mutating func finish() throws -> JSONValue {
        if list != .outside { throw Failure(description: "the document ends inside its 'objects' list") }
        // Without an 'objects' list, the skeleton is the whole document: say what it is instead.
        guard foundObjects else { throw Self.notABundle(skeleton) }
        let value: JSONValue
        do {
            value = try JSONParser().parse(skeleton)
        } catch {
            throw Failure(description: "the document is not valid JSON around its objects: \(error.reason)")
        }
        guard case .object(let root) = value, case .array(let objects)? = root["objects"], objects.isEmpty else {
            throw Failure(description: "the document must be a STIX bundle or a TAXII envelope (an object with an 'objects' list)")
        }
        return value
    }

    /// What a document without an 'objects' list is, and what was expected: not JSON (where and why), a single STIX
    /// object, MISP JSON, or another JSON value.
    static func notABundle(_ document: [UInt8]) -> Failure {
        let expected = "Meridian imports a STIX 2.1 bundle or a TAXII envelope (an object with an 'objects' list)"
        let value: JSONValue
        do {
            value = try JSONParser().parse(document)
        } catch {
            return Failure(description: "not valid JSON: \(error)", located: true)
        }
        switch value {
        case .object(let o) where o["Event"] != nil || o["response"] != nil || o["Attribute"] != nil:
            return Failure(description: "this is MISP JSON, not STIX: \(expected); convert the MISP event to STIX 2.1 first (misp-stix does)", located: true)
        case .object(let o) where o["type"]?.stringValue != nil:
            let type = o["type"]!.stringValue!
            return Failure(description: "this is a single STIX object (of type '\(type)'), not a bundle: \(expected); put it in a bundle, {\"type\": \"bundle\", \"id\": \"bundle--<uuid>\", \"objects\": [...]}, or POST it in a TAXII envelope", located: true)
        case .array(let elements) where elements.contains(where: { $0["Event"] != nil }):
            return Failure(description: "this is a list of MISP events, not STIX: \(expected); convert them to STIX 2.1 first (misp-stix does)", located: true)
        case .array:
            return Failure(description: "this is a JSON list, not a bundle: \(expected); put the objects in a bundle's 'objects' list", located: true)
        case .object:
            return Failure(description: "this JSON object has no 'objects' list: \(expected)", located: true)
        default:
            return Failure(description: "this is a lone JSON value, not a bundle: \(expected)", located: true)
        }
    }

    private mutating func skeletonByte(_ c: UInt8) {
        // A document that does not start as a JSON object or list fails at its first byte, as `validate` says.
        if depth == 0 && skeleton.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF })
            && !(c == UInt8(ascii: "{") || c == UInt8(ascii: "[") || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == 0xEF || c == 0xBB || c == 0xBF)
        {
            failedEarly = Self.notABundle(skeleton + [c])
        }
        skeleton.append(c)
        if inString {
            if closesString(c) {
                if let k = key {
                    valueKey = nil
                    key = nil
                    pendingKey = k
                }
            } else if key != nil {
                key!.append(c)
            }
            return
        }
        switch c {
        case UInt8(ascii: "\""):
            inString = true
            if depth == 1 && expectingKey {
                key = []
                expectingKey = false
            }
        case UInt8(ascii: ":"):
            if depth == 1 { valueKey = pendingKey }
        case UInt8(ascii: ","):
            if depth == 1 {
                expectingKey = true
                valueKey = nil
            }
        case UInt8(ascii: "{"):
            depth += 1
            if depth == 1 { expectingKey = true }
        case UInt8(ascii: "["):
            depth += 1
            // The value of the root object's first `objects` member: its elements are handed over, not kept.
            if depth == 2 && valueKey == Array("objects".utf8) && !foundObjects {
                foundObjects = true
                list = .expectingFirst
            }
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
        default:
            break
        }
    }

    /// Takes one byte inside a string, following escapes; true when it is the closing quote.
    @inline(__always)
    private mutating func closesString(_ c: UInt8) -> Bool {
        if escaped {
            escaped = false
        } else if c == UInt8(ascii: "\\") {
            escaped = true
        } else if c == UInt8(ascii: "\"") {
            inString = false
            return true
        }
        return false
    }

    private static func isWhitespace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    private mutating func listByte(_ c: UInt8, emit: ([UInt8]) throws -> Void) throws {
        switch list {
        case .expectingFirst, .expectingNext:
            if ElementScanner.isWhitespace(c) { return }
            if c == UInt8(ascii: "]") {
                guard list == .expectingFirst else { throw Failure(description: "the 'objects' list ends with a comma") }
                closeList(c)
                return
            }
            if c == UInt8(ascii: ",") { throw Failure(description: "the 'objects' list has an empty element after element #\(count)") }
            list = .inElement
            scalarElement = c != UInt8(ascii: "{") && c != UInt8(ascii: "[") && c != UInt8(ascii: "\"")
            try elementByte(c, emit: emit)
        case .inElement:
            try elementByte(c, emit: emit)
        case .afterElement:
            if ElementScanner.isWhitespace(c) { return }
            if c == UInt8(ascii: ",") {
                list = .expectingNext
            } else if c == UInt8(ascii: "]") {
                closeList(c)
            } else {
                throw Failure(description: "a comma or the end of the 'objects' list was expected after element #\(count - 1)")
            }
        case .outside:
            break
        }
    }

    private mutating func closeList(_ c: UInt8) {
        list = .outside
        skeletonByte(c)
    }

    /// One byte of an element outside the fast path of `feed`: the opening byte of any element, every byte of a
    /// number or literal (which ends at the first delimiter, a byte of the list).
    private mutating func elementByte(_ c: UInt8, emit: ([UInt8]) throws -> Void) throws {
        if scalarElement {
            if ElementScanner.isWhitespace(c) || c == UInt8(ascii: ",") || c == UInt8(ascii: "]") {
                try complete(emit)
                try listByte(c, emit: emit)
                return
            }
            try append(c)
            return
        }
        // The opening `{`, `[` or `"`: the rest is walked by `feed`.
        try append(c)
        if c == UInt8(ascii: "\"") { inString = true } else { depth += 1 }
    }

    private mutating func append(_ c: UInt8) throws {
        element.append(c)
        if element.count > maxElementBytes {
            throw Failure(description: "element #\(count) of the 'objects' list is larger than \(maxElementBytes) bytes")
        }
    }

    private mutating func complete(_ emit: ([UInt8]) throws -> Void) throws {
        // An exact-size copy: the scanning buffer keeps its capacity (that of the largest element so far), which
        // every element would otherwise carry with it.
        let done = [UInt8](unsafeUninitializedCapacity: element.count) { buffer, count in
            count = element.withUnsafeBufferPointer { buffer.initialize(from: $0).1 }
        }
        element.removeAll(keepingCapacity: true)
        list = .afterElement
        count += 1
        try emit(done)
    }
}
