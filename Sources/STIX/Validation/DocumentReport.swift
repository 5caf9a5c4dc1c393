/// The verdict on a whole input document: what kind of container it was and one result per object, in input order.
public struct DocumentReport: Sendable {
    /// The shapes of input `meridian validate` accepts.
    public enum Kind: String, Sendable {
        case bundle
        case envelope = "TAXII envelope"
        case array = "array of objects"
        case object
    }

    /// The verdict on one object of the document.
    public struct ObjectResult: Sendable {
        /// Position in the input, from 0.
        public let index: Int
        public let id: String?
        public let errors: [Finding]
        public let warnings: [Finding]
        public var isValid: Bool { errors.isEmpty }
    }

    public let kind: Kind?
    public internal(set) var results: [ObjectResult]
    /// Problems of the container itself (the bundle's own properties, duplicate ids across the bundle, ...).
    public internal(set) var containerErrors: [Finding]
    public internal(set) var containerWarnings: [Finding]

    /// True when the container and every object are valid.
    public var isValid: Bool { containerErrors.isEmpty && results.allSatisfy(\.isValid) }
}

extension Validator {
    /// Validates a document given as bytes. The whole document is checked to be JSON first; then its objects are
    /// parsed and validated one at a time from their byte ranges, so memory holds the input and one decoded object,
    /// whatever the bundle's size.
    public func validateDocument(_ bytes: [UInt8], parser: JSONParser = JSONParser()) throws(JSONParseError) -> DocumentReport {
        let document = try parser.parseDocument(bytes, retainElements: false)
        let ranges = document.elementRanges
        if case .object(let o) = document.root, let type = o["type"], type.stringValue != "bundle" {
            // A single object: its own `objects` (observed-data's deprecated form) belongs to it, so keep it whole.
            let whole = try parser.parse(bytes)
            return try validateDocument(root: whole, elementCount: 0) { _ throws(JSONParseError) in .null }
        }
        return try validateDocument(root: document.root, elementCount: ranges.count) { i throws(JSONParseError) in
            try parser.parse(bytes, range: ranges[i])
        }
    }

    /// Validates a document (bundle, TAXII envelope, JSON array of objects, or one object) already split by
    /// ``JSONParser/parseDocument(_:retainElements:)``: `root` with its objects array left empty, and `element(i)`
    /// parsing object `i` on demand, so only one object is decoded at a time.
    public func validateDocument(
        root: JSONValue, elementCount: Int, element: (Int) throws(JSONParseError) -> JSONValue
    ) throws(JSONParseError) -> DocumentReport {
        var report = DocumentReport(kind: nil, results: [], containerErrors: [], containerWarnings: [])
        switch root {
        case .array:
            report = DocumentReport(kind: .array, results: [], containerErrors: [], containerWarnings: [])
            for i in 0..<elementCount {
                report.results.append(objectResult(index: i, try element(i), bundleVersion: nil))
            }
        case .object(let container):
            let type = container["type"]?.stringValue
            if type == "bundle" || (type == nil && container.contains("objects")) {
                let isBundle = type == "bundle"
                report = DocumentReport(kind: isBundle ? .bundle : .envelope, results: [], containerErrors: [], containerWarnings: [])
                if isBundle {
                    var errors = schemaFindings(container, bundleVersion: nil)
                    var warnings: [Finding] = []
                    customChecks(container, errors: &errors, warnings: &warnings, recurse: false)
                    report.containerErrors = errors
                    report.containerWarnings = warnings
                } else if container["objects"]?.arrayValue == nil {
                    report.containerErrors.append(Finding(severity: .error, check: "envelope", objectID: nil,
                                                          path: JSONPath([.key("objects")]),
                                                          message: "a TAXII envelope's 'objects' must be a list of STIX objects"))
                }
                let bundleVersion = isBundle ? (container["spec_version"]?.stringValue ?? "2.1") : nil
                var all: [JSONValue] = []
                for i in 0..<elementCount {
                    let object = try element(i)
                    report.results.append(objectResult(index: i, object, bundleVersion: bundleVersion))
                    if isBundle && needsWholeBundle { all.append(object) }
                }
                if isBundle && needsWholeBundle {
                    // Rules about the bundle as a whole (duplicate ids, references, producers) see every object.
                    var whole = container
                    whole["objects"] = .array(all)
                    var errors: [Finding] = []
                    var warnings: [Finding] = []
                    bundleWideChecks(whole, errors: &errors, warnings: &warnings)
                    report.containerErrors += errors
                    report.containerWarnings += warnings
                }
            } else {
                report = DocumentReport(kind: .object, results: [objectResult(index: 0, root, bundleVersion: nil)],
                                        containerErrors: [], containerWarnings: [])
            }
        default:
            report.containerErrors.append(Finding(severity: .error, check: "stix-object", objectID: nil, path: JSONPath(),
                                                  message: "the input is a JSON \(root.typeName), not a STIX object, bundle, TAXII envelope or array of objects"))
        }
        if options.strict {
            report.containerErrors += report.containerWarnings.map { var w = $0; w.severity = .error; return w }
            report.containerWarnings = []
        }
        return report
    }

    /// Validates one object of a document.
    func objectResult(index: Int, _ value: JSONValue, bundleVersion: String?) -> DocumentReport.ObjectResult {
        guard case .object(let object) = value, object.contains("id"), object.contains("type") else {
            let finding = Finding(severity: .error, check: "stix-object", objectID: value["id"]?.stringValue, path: JSONPath(),
                                  message: "each object must be a JSON object with 'id' and 'type' properties")
            return .init(index: index, id: value["id"]?.stringValue, errors: [finding], warnings: [])
        }
        var errors = schemaFindings(object, bundleVersion: bundleVersion)
        var warnings: [Finding] = []
        customChecks(object, errors: &errors, warnings: &warnings, recurse: true)
        if options.strict {
            errors += warnings.map { var w = $0; w.severity = .error; return w }
            warnings = []
        }
        return .init(index: index, id: object["id"]?.stringValue, errors: errors, warnings: warnings)
    }

    private var needsWholeBundle: Bool {
        options.interop || shoulds.contains(.duplicateIDs) || shoulds.contains(.enforceRelationshipRefs)
    }

    /// The rules that concern a bundle's objects together.
    private func bundleWideChecks(_ bundle: JSONObject, errors: inout [Finding], warnings: inout [Finding]) {
        var context = CheckContext(instance: bundle, options: options)
        if options.interop {
            context.current = "interop-created-by-ref"
            context.interopCreatedByRef()
            errors += context.findings
            context.findings = []
        }
        for check in shoulds where check == .duplicateIDs || check == .enforceRelationshipRefs {
            context.run(check)
        }
        warnings += context.findings.map { var w = $0; w.severity = .warning; return w }
    }
}
