import STIX
/// How strictly to validate, and which named checks to run. The names and numeric codes are stix2-validator's,
/// so users can switch tools without relearning them.
public struct ValidationOptions: Sendable {
    /// Count warnings (SHOULD rules) as errors.
    public var strict = false
    /// Warn about object types the specification does not define.
    public var strictTypes = false
    /// Warn about properties the specification does not define.
    public var strictProperties = false
    /// Checks to run in addition to the defaults, by name or code.
    public var enabled: [String] = []
    /// Checks not to run, by name or code (`all` turns every SHOULD check off).
    public var disabled: [String] = []
    /// Warn when a relationship in a bundle refers to an object not in the bundle.
    public var enforceRefs = false
    /// Apply the STIX 2.1 Interoperability profile's extra rules.
    public var interop = false
    /// Validate as this STIX version whatever the objects say (only "2.1" is supported).
    public var version: String?

    public init(
        strict: Bool = false, strictTypes: Bool = false, strictProperties: Bool = false, enabled: [String] = [],
        disabled: [String] = [], enforceRefs: Bool = false, interop: Bool = false, version: String? = nil
    ) {
        self.strict = strict
        self.strictTypes = strictTypes
        self.strictProperties = strictProperties
        self.enabled = enabled
        self.disabled = disabled
        self.enforceRefs = enforceRefs
        self.interop = interop
        self.version = version
    }
}

/// Options that cannot be honoured.
public struct ValidationOptionsError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// One problem found in an object.
public struct Finding: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    /// The check's name: a SHOULD check's stix2-validator name (`uuid-check`), `schema` for the JSON schema rules,
    /// or the name of a MUST rule (`timestamp-compare`).
    public var check: String
    /// stix2-validator's numeric code for the check, when it has one.
    public var code: String?
    /// The id of the object the problem is in.
    public var objectID: String?
    /// Where in the object, when known.
    public var path: JSONPath
    public var message: String

    public var description: String {
        var s = ""
        if let objectID { s += objectID + ": " }
        if !path.components.isEmpty { s += path.description + ": " }
        s += message
        s += code.map { " [\(check) \($0)]" } ?? " [\(check)]"
        return s
    }
}

/// The verdict on one object (or one bundle, with everything in it).
public struct ValidationResult: Sendable {
    public var objectID: String?
    public var errors: [Finding]
    public var warnings: [Finding]

    public var isValid: Bool { errors.isEmpty }
}
