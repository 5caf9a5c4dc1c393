import STIXPattern

/// Warnings about a valid pattern, as stix2-validator gives them for indicators: object types that are not STIX 2.1
/// cyber-observable types, and properties a known type does not define. Custom names (`x-`, `x_`) are expected.
public enum PatternWarnings {
    public static func warnings(for pattern: Pattern) -> [String] {
        let vocab = Vocabulary.shared
        var out: [String] = []
        for (objectType, paths) in pattern.comparedObjectTypes {
            guard let known = vocab.observableProperties[objectType] else {
                if !vocab.observableTypes.contains(objectType) && !objectType.hasPrefix("x-") {
                    out.append("'\(objectType)' is not a STIX 2.1 cyber-observable type")
                }
                continue
            }
            for path in paths {
                if case .key(let property)? = path.steps.first, !known.contains(property), !property.hasPrefix("x_") {
                    out.append("'\(property)' is not a property of '\(objectType)' objects in STIX 2.1")
                }
            }
        }
        return out
    }
}
