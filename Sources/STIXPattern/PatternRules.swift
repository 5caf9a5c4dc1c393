/// Rules of STIX 2.1 patterning that the grammar does not express, as the OASIS pattern validator
/// (stix2-patterns) applies them.
enum PatternRules {
    static func check(_ root: ObservationExpression) throws(PatternError) {
        try checkQualifiers(root)
        try checkHashValues(root)
        try checkIndices(root)
    }

    /// The same qualifier type may not be applied twice directly to one observation (`[...] WITHIN 5 SECONDS
    /// WITHIN 3 SECONDS`). A parenthesised group starts afresh, as in stix2-patterns.
    static func checkQualifiers(_ e: ObservationExpression) throws(PatternError) {
        // Walk as stix2-patterns' listener does: the set of qualifier types seen resets at each bracketed
        // observation and is dropped (nothing is checked) after a parenthesised group.
        var seen: Set<String>? = nil
        func walk(_ e: ObservationExpression) throws(PatternError) {
            switch e {
            case .observation:
                seen = []
            case .group(let inner):
                try walk(inner)
                seen = nil
            case .and(let a, let b), .or(let a, let b), .followedBy(let a, let b):
                try walk(a)
                try walk(b)
            case .qualified(let inner, let q):
                try walk(inner)
                if seen != nil {
                    if seen!.contains(q.kind) {
                        throw PatternError(offset: nil, message: "duplicate qualifier type: \(q.kind) is applied twice to the same observation")
                    }
                    seen!.insert(q.kind)
                }
            }
        }
        try walk(e)
    }

    /// The hash algorithms whose values have a fixed form, by name without hyphens, upper-cased.
    static let hashForms: [String: (name: String, matches: @Sendable (String) -> Bool)] = {
        func hex(_ n: Int) -> @Sendable (String) -> Bool { { $0.count == n && $0.allSatisfy(\.isHexDigit) } }
        return [
            "MD5": ("MD5", hex(32)), "RIPEMD160": ("RIPEMD-160", hex(40)), "SHA1": ("SHA-1", hex(40)),
            "SHA224": ("SHA-224", hex(56)), "SHA256": ("SHA-256", hex(64)), "SHA384": ("SHA-384", hex(96)),
            "SHA512": ("SHA-512", hex(128)), "SHA3224": ("SHA3-224", hex(56)), "SHA3256": ("SHA3-256", hex(64)),
            "SHA3384": ("SHA3-384", hex(96)), "SHA3512": ("SHA3-512", hex(128)), "WHIRLPOOL": ("WHIRLPOOL", hex(128)),
            "SSDEEP": ("SSDEEP", { s in
                !s.isEmpty && s.count <= 128 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/+:.".contains($0)) }
            }),
            // stix2-patterns accepts any value that starts with at least 32 hexadecimal digits for MD6.
            "MD6": ("MD6", { s in s.prefix(32).count == 32 && s.prefix(32).allSatisfy(\.isHexDigit) }),
        ]
    }()

    /// A comparison on `...hashes.ALGORITHM` must compare with a value of that algorithm's form.
    static func checkHashValues(_ e: ObservationExpression) throws(PatternError) {
        for c in e.comparisons where c.op != .exists {
            guard c.path.steps.contains(.key("hashes")), let last = c.path.steps.last, case .key(let algorithm) = last else {
                continue
            }
            let name = algorithm.uppercased().replacingOccurrences(of: "-", with: "")
            guard let form = hashForms[name] else { continue }
            let value = c.valueText.replacingOccurrences(of: "'", with: "")
            if !form.matches(value) {
                throw PatternError(offset: nil, message: "'\(value)' is not a valid \(form.name) hash")
            }
        }
    }

    /// List indices in object paths are non-negative (or `*`).
    static func checkIndices(_ e: ObservationExpression) throws(PatternError) {
        for c in e.comparisons {
            for case .index(let n) in c.path.steps where n < 0 {
                throw PatternError(offset: nil, message: "list index \(n) in \(c.path) is negative")
            }
            if c.path.steps.contains(.key("hashes")), let last = c.path.steps.last, case .index = last {
                throw PatternError(offset: nil, message: "\(c.path) selects a hash by list index; hashes are a dictionary")
            }
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Substring(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

extension ObservationExpression {
    /// Every comparison in the expression, in order.
    public var comparisons: [Comparison] {
        switch self {
        case .observation(let c): return c.comparisons
        case .group(let e), .qualified(let e, _): return e.comparisons
        case .and(let a, let b), .or(let a, let b), .followedBy(let a, let b): return a.comparisons + b.comparisons
        }
    }
}

extension ComparisonExpression {
    /// Every comparison in the expression, in order.
    public var comparisons: [Comparison] {
        switch self {
        case .comparison(let c): return [c]
        case .group(let e): return e.comparisons
        case .and(let a, let b), .or(let a, let b): return a.comparisons + b.comparisons
        }
    }
}

extension Pattern {
    /// The object types the pattern compares, in order of first appearance, each with the property paths
    /// compared (EXISTS tests excluded), like stix2-patterns' `inspect().comparisons`.
    public var comparedObjectTypes: [(type: String, paths: [ObjectPath])] {
        var order: [String] = []
        var paths: [String: [ObjectPath]] = [:]
        for c in root.comparisons where c.op != .exists {
            if paths[c.path.objectType] == nil { order.append(c.path.objectType) }
            paths[c.path.objectType, default: []].append(c.path)
        }
        return order.map { ($0, paths[$0]!) }
    }
}
