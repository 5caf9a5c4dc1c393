import STIX
import Foundation

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
        /// The warnings, unless the report was asked to count them only.
        public let warnings: [Finding]
        public let warningCount: Int
        public var isValid: Bool { errors.isEmpty }
    }

    public let kind: Kind?
    public internal(set) var results: [ObjectResult]
    /// Problems of the container itself (the bundle's own properties, duplicate ids across the bundle, ...).
    public internal(set) var containerErrors: [Finding]
    public internal(set) var containerWarnings: [Finding]

    init(kind: Kind?, results: [ObjectResult] = []) {
        self.kind = kind
        self.results = results
        self.containerErrors = []
        self.containerWarnings = []
    }

    /// True when the container and every object are valid.
    public var isValid: Bool { containerErrors.isEmpty && results.allSatisfy(\.isValid) }

    /// Warnings in the whole document, kept or counted.
    public var warningCount: Int { results.reduce(containerWarnings.count) { $0 + $1.warningCount } }
}

extension Validator {
    /// Validates a document given as bytes: a bundle, a TAXII envelope, a JSON array of objects, or one object.
    ///
    /// The whole document is checked to be JSON first, so a truncated or malformed input is refused before any
    /// verdict. Its objects are then parsed from their byte ranges and validated `concurrency` at a time: memory holds
    /// the input and the objects being checked, whatever the bundle's size. With `keepWarnings: false` warnings are
    /// counted, not kept.
    public func validateDocument(
        _ bytes: [UInt8], parser: JSONParser = JSONParser(), concurrency: Int = 1, keepWarnings: Bool = true
    ) throws(JSONParseError) -> DocumentReport {
        let document = try parser.parseDocument(bytes, retainElements: false)
        let ranges = document.elementRanges
        if case .object(let o) = document.root, let type = o["type"], type.stringValue != "bundle" {
            // A single object: its own `objects` (observed-data's deprecated form) belongs to it, so keep it whole.
            let whole = try parser.parse(bytes)
            return validateDocument(root: whole, elementCount: 0, keepWarnings: keepWarnings) { _ in .null }
        }
        return validateDocument(root: document.root, elementCount: ranges.count, concurrency: concurrency,
                                keepWarnings: keepWarnings) { i in
            // The ranges come from a successful parse of the same bytes, so this parse cannot fail.
            (try? parser.parse(bytes, range: ranges[i])) ?? .null
        }
    }

    /// Validates a document whose objects are supplied by `element(i)` (see ``JSONParser/parseDocument(_:retainElements:)``):
    /// `root` is the container with its objects array left empty.
    public func validateDocument(
        root: JSONValue, elementCount: Int, concurrency: Int = 1, keepWarnings: Bool = true,
        element: @escaping @Sendable (Int) -> JSONValue
    ) -> DocumentReport {
        let kind: DocumentReport.Kind
        var bundleVersion: String?
        switch root {
        case .array:
            kind = .array
        case .object(let container):
            let type = container["type"]?.stringValue
            if type == "bundle" {
                kind = .bundle
                bundleVersion = container["spec_version"]?.stringValue ?? "2.1"
            } else if type == nil && container.contains("objects") {
                kind = .envelope
            } else {
                return DocumentReport(kind: .object, results: [objectResult(index: 0, root, bundleVersion: nil, keepWarnings: keepWarnings).0])
            }
        default:
            var report = DocumentReport(kind: nil)
            report.containerErrors.append(Finding(severity: .error, check: "stix-object", objectID: nil, path: JSONPath(),
                                                  message: "the input is a JSON \(root.typeName), not a STIX object, bundle, TAXII envelope or array of objects"))
            return report
        }
        let slim = kind == .bundle && needsWholeBundle
        let version = bundleVersion
        let outcomes = concurrentMap(count: elementCount, concurrency: concurrency) { i in
            self.objectResult(index: i, element(i), bundleVersion: version, keepWarnings: keepWarnings, slim: slim)
        }
        var report = DocumentReport(kind: kind, results: outcomes.map(\.0))
        if case .object(let container) = root {
            if kind == .bundle {
                var errors = schemaFindings(container, bundleVersion: nil)
                var warnings: [Finding] = []
                customChecks(container, errors: &errors, warnings: &warnings, recurse: false)
                if slim {
                    // Rules about the bundle as a whole (duplicate ids, references, producers) see every object,
                    // reduced to the few properties they read.
                    var whole = container
                    whole["objects"] = .array(outcomes.compactMap(\.1))
                    bundleWideChecks(whole, errors: &errors, warnings: &warnings)
                }
                report.containerErrors = errors
                report.containerWarnings = warnings
            } else if kind == .envelope, container["objects"]?.arrayValue == nil {
                report.containerErrors.append(Finding(severity: .error, check: "envelope", objectID: nil, path: JSONPath([.key("objects")]),
                                                      message: "a TAXII envelope's 'objects' must be a list of STIX objects"))
            }
        }
        if options.strict {
            report.containerErrors += report.containerWarnings.map { var w = $0; w.severity = .error; return w }
            report.containerWarnings = []
        }
        return report
    }

    /// Validates one object of a document; with `slim`, also returns the properties bundle-wide rules read.
    func objectResult(index: Int, _ value: JSONValue, bundleVersion: String?, keepWarnings: Bool = true, slim: Bool = false)
        -> (DocumentReport.ObjectResult, JSONValue?)
    {
        guard case .object(let object) = value, object.contains("id"), object.contains("type") else {
            let finding = Finding(severity: .error, check: "stix-object", objectID: value["id"]?.stringValue, path: JSONPath(),
                                  message: "each object must be a JSON object with 'id' and 'type' properties")
            return (.init(index: index, id: value["id"]?.stringValue, errors: [finding], warnings: [], warningCount: 0), nil)
        }
        var errors = schemaFindings(object, bundleVersion: bundleVersion)
        var warnings: [Finding] = []
        customChecks(object, errors: &errors, warnings: &warnings, recurse: true)
        if options.strict {
            errors += warnings.map { var w = $0; w.severity = .error; return w }
            warnings = []
        }
        var projection: JSONValue?
        if slim {
            var p = JSONObject()
            for key in ["type", "id", "modified", "created_by_ref", "source_ref", "target_ref"] {
                if let v = object[key] { p[key] = v }
            }
            projection = .object(p)
        }
        let result = DocumentReport.ObjectResult(index: index, id: object["id"]?.stringValue, errors: errors,
                                                 warnings: keepWarnings ? warnings : [], warningCount: warnings.count)
        return (result, projection)
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
