import STIX
/// The machine-readable form of validation results printed by `meridian validate --json`.
extension DocumentReport {
    /// `{"file":...,"kind":...,"valid":...,"errors":[...],"warnings":[...]}` for the container, and the object results.
    public func jsonResults(file: String?) -> (container: JSONValue, results: [JSONValue]) {
        func findings(_ list: [Finding]) -> JSONValue {
            .array(list.map { f in
                var o = JSONObject()
                o["check"] = .string(f.check)
                if let code = f.code { o["code"] = .string(code) }
                if let id = f.objectID { o["id"] = .string(id) }
                o["path"] = .string(f.path.components.isEmpty ? "" : f.path.description)
                o["message"] = .string(f.message)
                return .object(o)
            })
        }
        var container = JSONObject()
        if let file { container["file"] = .string(file) }
        container["kind"] = kind.map { .string($0.rawValue) } ?? .null
        container["valid"] = .bool(isValid)
        container["objects"] = .number(JSONNumber(Int64(results.count)))
        container["errors"] = findings(containerErrors)
        container["warnings"] = findings(containerWarnings)
        let results: [JSONValue] = results.map { r in
            var o = JSONObject()
            if let file { o["file"] = .string(file) }
            o["index"] = .number(JSONNumber(Int64(r.index)))
            o["id"] = r.id.map(JSONValue.string) ?? .null
            o["valid"] = .bool(r.isValid)
            o["errors"] = findings(r.errors)
            o["warnings"] = findings(r.warnings)
            return .object(o)
        }
        return (.object(container), results)
    }
}
