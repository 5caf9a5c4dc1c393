import STIX
/// Validates STIX 2.1 content: every MUST of the specification is an error, every SHOULD a warning.
///
/// It applies the OASIS STIX 2.1 JSON schemas, then the rules a schema cannot express (timestamp order, marking
/// selectors, observable references, …), then the SHOULD checks selected by ``ValidationOptions``, following the
/// behaviour of the OASIS reference validator (stix2-validator 3.3.2) so verdicts agree with it.
public struct Validator: Sendable {
    public let options: ValidationOptions
    let shoulds: [ShouldCheck]

    /// Fails when the options name a check that does not exist or a STIX version other than 2.1.
    public init(options: ValidationOptions = ValidationOptions()) throws(ValidationOptionsError) {
        if let v = options.version, v != "2.1" {
            throw ValidationOptionsError(description: "STIX version '\(v)' is not supported; Meridian validates STIX 2.1")
        }
        self.options = options
        self.shoulds = try ShouldCheck.selected(by: options)
    }

    /// Builds what the first validation would otherwise build on the spot (the compiled schemas, the vocabularies),
    /// so that a caller with an idle core can pay for it before its first objects arrive rather than on every core's
    /// way to them.
    public static func prepare() {
        _ = SchemaLibrary.shared
        _ = Vocabulary.shared
    }

    /// The names of every check, MUST rules included, for `--help` and documentation.
    public static var checkNames: [String] { ShouldCheck.selectableNames }

    /// Validates one top-level value: an object, or a bundle with everything in it.
    /// `warnings: false` skips the SHOULD rules unless the options make them errors (`strict`): a write path that
    /// only refuses objects needs the errors alone.
    public func validate(_ value: JSONValue, warnings wantsWarnings: Bool = true) -> ValidationResult {
        guard case .object(let instance) = value, instance.contains("id"), instance.contains("type") else {
            return ValidationResult(objectID: nil, errors: [
                Finding(severity: .error, check: "stix-object", objectID: nil, path: JSONPath(),
                        message: "input must be a JSON object with 'id' and 'type' properties"),
            ], warnings: [])
        }
        let id = instance["id"]?.stringValue
        var errors = schemaFindings(instance, bundleVersion: nil)
        if instance["type"]?.stringValue == "bundle", case .array(let objects)? = instance["objects"] {
            let bundleVersion = instance["spec_version"]?.stringValue ?? "2.1"
            for (i, element) in objects.enumerated() {
                guard case .object(let object) = element, object.contains("type") else {
                    errors.append(Finding(severity: .error, check: "stix-object", objectID: id,
                                          path: JSONPath([.key("objects"), .index(i)]),
                                          message: "each object in a bundle must have a 'type' property"))
                    continue
                }
                errors += schemaFindings(object, bundleVersion: bundleVersion)
            }
        }
        var warnings: [Finding] = []
        customChecks(instance, errors: &errors, warnings: &warnings, shoulds: wantsWarnings || options.strict)
        if options.strict {
            errors += warnings.map { var w = $0; w.severity = .error; return w }
            warnings = []
        }
        return ValidationResult(objectID: id, errors: errors, warnings: warnings)
    }

    /// MUST and SHOULD rules for `instance` and, as the reference validator does, every STIX object in its lists.
    func customChecks(_ instance: JSONObject, errors: inout [Finding], warnings: inout [Finding], recurse: Bool = true,
                      shoulds runsShoulds: Bool = true) {
        var context = CheckContext(instance: instance, options: options)
        context.runMusts()
        errors += context.findings
        if runsShoulds {
            var shouldContext = CheckContext(instance: instance, options: options)
            for check in shoulds { shouldContext.run(check) }
            warnings += shouldContext.findings.map { var w = $0; w.severity = .warning; return w }
        }
        guard recurse else { return }
        for member in instance {
            guard case .array(let elements) = member.value else { continue }
            for case .object(let child) in elements where child.contains("id") && child.contains("type") {
                customChecks(child, errors: &errors, warnings: &warnings, shoulds: runsShoulds)
            }
        }
    }

    /// The JSON schema rules for one object (and each observable inside observed-data's deprecated `objects`).
    func schemaFindings(_ object: JSONObject, bundleVersion: String?) -> [Finding] {
        let id = object["id"]?.stringValue
        guard let type = object["type"]?.stringValue else {
            return [Finding(severity: .error, check: "schema", objectID: id, path: JSONPath([.key("type")]),
                            message: "'type' must be a string")]
        }
        let library = SchemaLibrary.shared
        var version = options.version ?? object["spec_version"]?.stringValue ?? "2.1"
        // As in stix2-validator: an object without `spec_version` in a 2.1 bundle is STIX 2.0 content (STIX 2.1 §3.1),
        // as long as it is not an observable (those have no `created`).
        if bundleVersion == "2.1" && !object.contains("spec_version") && object.contains("created") { version = "2.0" }
        if version == "2.0" {
            return [Finding(severity: .error, check: "spec-version", objectID: id, path: JSONPath([.key("spec_version")]),
                            message: "STIX 2.0 content is not supported: Meridian validates and exchanges STIX 2.1 (an object needs spec_version \"2.1\")")]
        }
        let isObservableShape = object.contains("id") && !object.contains("created") && !object.contains("modified")
            && type != "marking-definition"
        let fallback = isObservableShape ? "cyber-observable-core" : "core"
        var schemas: [Schema] = []
        if let s = library.byName[type] ?? library.byName[fallback] { schemas.append(s) }
        if options.interop, let s = library.interopByName[type] ?? library.interopByName[fallback] { schemas.append(s) }
        var violations: [SchemaViolation] = []
        for schema in schemas {
            _ = schema.check(.object(object), &violations)
        }
        var findings = violations.map {
            Finding(severity: .error, check: "schema", objectID: id, path: $0.path, message: $0.message)
        }
        if type == "observed-data", let objects = object["objects"] {
            guard case .object(let observables) = objects else {
                findings.append(Finding(severity: .error, check: "schema", objectID: id, path: JSONPath([.key("objects")]),
                                        message: "observed-data 'objects' must be a dictionary"))
                return findings
            }
            for member in observables {
                let path = JSONPath([.key("objects"), .key(member.key)])
                guard case .object(let observable) = member.value, let obsType = observable["type"]?.stringValue else {
                    findings.append(Finding(severity: .error, check: "schema", objectID: id, path: path,
                                            message: "an observable object must contain a 'type' property"))
                    continue
                }
                guard let schema = library.byName[obsType] ?? library.byName["cyber-observable-core"] else { continue }
                var inner: [SchemaViolation] = []
                _ = schema.check(member.value, &inner)
                findings += inner.map {
                    Finding(severity: .error, check: "schema", objectID: id, path: JSONPath(path.components + $0.path.components),
                            message: $0.message)
                }
            }
        }
        return findings
    }
}
