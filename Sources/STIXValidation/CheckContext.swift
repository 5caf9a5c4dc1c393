import STIX
/// The state of one run of the MUST or SHOULD rules over one object: the object, the options and what was found.
struct CheckContext {
    let instance: JSONObject
    let options: ValidationOptions
    let vocab = Vocabulary.shared
    var findings: [Finding] = []
    /// The check now running, stamped on each finding.
    var current = "schema"

    init(instance: JSONObject, options: ValidationOptions) {
        self.instance = instance
        self.options = options
    }

    var id: String? { instance["id"]?.stringValue }
    var type: String { instance["type"]?.stringValue ?? "" }
    var idText: String { id ?? "" }

    mutating func report(_ message: String, path: JSONPath = JSONPath(), objectID: String? = nil) {
        let code = ShouldCheck(rawValue: current)?.code
        findings.append(Finding(severity: .error, check: current, code: code, objectID: objectID ?? id, path: path,
                                message: message))
    }

    /// True for an observed-data object with a dictionary of observables, or a cyber observable itself (2.1).
    func hasObservableData(_ object: JSONObject, v21: Bool = true) -> Bool {
        let t = object["type"]?.stringValue ?? ""
        if t == "observed-data", case .object? = object["objects"] { return true }
        return v21 && vocab.observableTypes.contains(t)
    }

    /// Runs `body` on each observable the way stix2-validator's `cyber_observable_check` decorator does: on the
    /// observables inside `objects` when present, else on the object itself; nothing for other objects.
    mutating func forEachObservable(_ body: (inout CheckContext, JSONObject, JSONPath) -> Void) {
        guard hasObservableData(instance) else { return }
        if let objects = instance["objects"] {
            guard case .object(let dict) = objects else { return }
            for member in dict {
                guard case .object(let observable) = member.value else { continue }
                body(&self, observable, JSONPath([.key("objects"), .key(member.key)]))
            }
        } else {
            body(&self, instance, JSONPath())
        }
    }

    /// What follows the last `--` of an identifier (the whole string when there is none).
    static func uuidPart(of id: String) -> String {
        id.withUTF8Bytes { b in
            var i = b.count - 1
            while i > 0 {
                if b[i] == 0x2D && b[i - 1] == 0x2D { return String(decoding: UnsafeBufferPointer(rebasing: b[(i + 1)...]), as: UTF8.self) }
                i -= 1
            }
            return id
        }
    }

    // MARK: - Shared regular rules

    /// `^x-.+-.+$`
    static func hasStrictTypePrefix(_ s: String) -> Bool {
        guard s.hasPrefix("x-") else { return false }
        let rest = s.dropFirst(2)
        guard let dash = rest.dropFirst().firstIndex(of: "-") else { return false }
        return rest.index(after: dash) < rest.endIndex
    }

    /// `^x-.+$`
    static func hasLaxTypePrefix(_ s: String) -> Bool { s.hasPrefix("x-") && s.count > 2 }

    /// `^x_.+_.+$`
    static func hasStrictPropertyPrefix(_ s: String) -> Bool {
        guard s.hasPrefix("x_") else { return false }
        let rest = s.dropFirst(2)
        guard let underscore = rest.dropFirst().firstIndex(of: "_") else { return false }
        return rest.index(after: underscore) < rest.endIndex
    }

    /// `^x_.+$`
    static func hasLaxPropertyPrefix(_ s: String) -> Bool { s.hasPrefix("x_") && s.count > 2 }

    /// `^x-.+-.+-ext$`
    static func hasStrictExtensionPrefix(_ s: String) -> Bool {
        guard s.hasSuffix("-ext"), s.count > 4 else { return false }
        let body = String(s.dropLast(4))
        return hasStrictTypePrefix(body)
    }

    /// `^x-.+-ext$`
    static func hasLaxExtensionPrefix(_ s: String) -> Bool {
        s.hasPrefix("x-") && s.hasSuffix("-ext") && s.count > 6
    }

    /// `^[a-z0-9_]{3,250}$`
    static func isPropertyName(_ s: String) -> Bool {
        let b = s.utf8
        return b.count >= 3 && b.count <= 250
            && b.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    /// Python's `str.islower()`: at least one cased character and no upper-case ones.
    static func isLower(_ s: String) -> Bool {
        var cased = false
        for ch in s {
            if ch.isUppercase { return false }
            if ch.isLowercase { cased = true }
        }
        return cased
    }
}

extension JSONValue {
    /// Keys of an object, elements of an array as seen by Python's `for x in value` (dict keys, list items,
    /// string characters): the reference validator iterates values this way in several checks.
    var iterated: [JSONValue] {
        switch self {
        case .object(let o): return o.keys.map(JSONValue.string)
        case .array(let a): return a
        case .string(let s): return s.map { .string(String($0)) }
        default: return []
        }
    }
}
