import STIX
import STIXValidation

/// The human-readable form of a document's validation: one line per problem, naming the object, the JSON path and
/// the rule, then a summary line.
struct TextReport {
    let file: String
    let report: DocumentReport
    let verbose: Bool

    func render() -> String {
        var lines: [String] = []
        func line(_ prefix: String, _ f: Finding) {
            let severity = f.severity == .error ? "error" : "warning"
            let id = f.objectID.map { $0 + ": " } ?? ""
            let path = f.path.components.isEmpty ? "" : f.path.description + ": "
            let check = f.code.map { "[\(f.check) \($0)]" } ?? "[\(f.check)]"
            lines.append("\(file): \(prefix)\(id)\(severity): \(path)\(f.message) \(check)")
        }
        for f in report.containerErrors { line("", f) }
        if verbose { for f in report.containerWarnings { line("", f) } }
        for r in report.results {
            for f in r.errors { line("[\(r.index)] ", f) }
            if verbose { for f in r.warnings { line("[\(r.index)] ", f) } }
        }
        let invalid = report.results.filter { !$0.isValid }.count
        let warnings = report.warningCount
        let verdict = report.isValid ? "valid" : "INVALID"
        let shape: String
        switch report.kind {
        case .object: shape = "a single object"
        case .some(let kind): shape = "\(kind.rawValue) of \(report.results.count) object\(report.results.count == 1 ? "" : "s")"
        case nil: shape = "not STIX content"
        }
        lines.append("\(file): \(verdict): \(shape), "
            + "\(report.results.count - invalid) valid, \(invalid) invalid, \(warnings) warning\(warnings == 1 ? "" : "s")"
            + (warnings > 0 && !verbose ? " (-v lists them)" : ""))
        return lines.joined(separator: "\n")
    }
}
