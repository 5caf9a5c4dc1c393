/// The keys an observation must contain for a pattern to have any chance of matching it: a necessary condition,
/// never a sufficient one (the full pattern is evaluated on every candidate).
///
/// `=` and `IN` comparisons give value keys; `ISSUBSET` a CIDR block gives a block key (an observed address emits a
/// key for each prefix length in use); any other comparison (other operators, NOT, binary and timestamp constants)
/// gives the key of its object type, so it is checked against every observation holding an object of that type.
/// `AND` needs only one side's keys (the smaller set); `OR` needs both sides'.
enum Anchors {
    /// The keys of `pattern`, or nil when it cannot be anchored.
    static func keys(of pattern: Pattern) -> Set<IndexKey>? {
        observation(pattern.root)
    }

    static func observation(_ e: ObservationExpression) -> Set<IndexKey>? {
        switch e {
        case .observation(let c): return comparison(c)
        case .group(let inner), .qualified(let inner, _): return observation(inner)
        case .or(let a, let b): return union(observation(a), observation(b))
        case .and(let a, let b), .followedBy(let a, let b): return smaller(observation(a), observation(b))
        }
    }

    static func comparison(_ e: ComparisonExpression) -> Set<IndexKey>? {
        switch e {
        case .group(let inner): return comparison(inner)
        case .or(let a, let b): return union(comparison(a), comparison(b))
        case .and(let a, let b): return smaller(comparison(a), comparison(b))
        case .comparison(let c):
            return valueKeys(c) ?? [IndexKey.type(c.path.objectType)]
        }
    }

    /// Keys on the compared value, or nil when the comparison can only be anchored on its object type.
    static func valueKeys(_ c: Comparison) -> Set<IndexKey>? {
        guard !c.negated, let (type, path) = location(c.path) else { return nil }
        switch c.op {
        case .equal, .in:
            var keys = Set<IndexKey>()
            for value in c.values {
                // IN compares booleans with numbers (true equals 1): such sets are not anchored on values.
                if c.op == .in, case .bool = value { return nil }
                guard let text = IndexKey.canonical(value) else { return nil }
                keys.insert(IndexKey(type: type, path: path, value: text))
            }
            // An empty IN list matches nothing: no key at all.
            return keys
        case .isSubset:
            guard case .string(let text)? = c.values.first, let (address, length) = try? IPv4.block(text, allowBareAddress: false) else {
                return nil
            }
            return [IndexKey.block(type: type, path: path, address: address, length: length)]
        default:
            return nil
        }
    }

    /// The CIDR prefix lengths a pattern's block keys use.
    static func blockLengths(of pattern: Pattern) -> Set<Int> {
        var out = Set<Int>()
        func walk(_ e: ComparisonExpression) {
            switch e {
            case .group(let i): walk(i)
            case .and(let a, let b), .or(let a, let b): walk(a); walk(b)
            case .comparison(let c):
                if c.op == .isSubset, !c.negated, case .string(let text)? = c.values.first,
                    let (_, length) = try? IPv4.block(text, allowBareAddress: false) { out.insert(length) }
            }
        }
        func walk(_ e: ObservationExpression) {
            switch e {
            case .observation(let c): walk(c)
            case .group(let i), .qualified(let i, _): walk(i)
            case .and(let a, let b), .or(let a, let b), .followedBy(let a, let b): walk(a); walk(b)
            }
        }
        walk(pattern.root)
        return out
    }

    /// The type and path under which the compared value is indexed; through a reference the type is unknown.
    static func location(_ path: ObjectPath) -> (String, String)? {
        var type = path.objectType
        var text = ""
        for step in path.steps {
            switch step {
            case .key(let k):
                if k.hasSuffix("_ref") || k.hasSuffix("_refs") {
                    type = IndexKey.anyType
                    text = ""
                    continue
                }
                text += text.isEmpty ? k : "." + k
            case .index, .anyIndex:
                // The index just after a `_refs` step selects among referenced objects.
                if type == IndexKey.anyType && text.isEmpty { continue }
                text += "[*]"
            }
        }
        guard !text.isEmpty else { return nil }
        // Binary properties compare after decoding.
        if text.hasSuffix("_hex") || text.hasSuffix("_bin") { return nil }
        return (type, text)
    }

    /// Whether some compared path goes through a `_ref` or `_refs` property (its keys then have type `*`).
    static func reachesThroughReference(_ pattern: Pattern) -> Bool {
        pattern.comparedObjectTypes.contains { _, paths in
            paths.contains { path in
                path.steps.contains { if case .key(let k) = $0 { return k.hasSuffix("_ref") || k.hasSuffix("_refs") }; return false }
            }
        }
    }

    static func union(_ a: Set<IndexKey>?, _ b: Set<IndexKey>?) -> Set<IndexKey>? {
        guard let a, let b else { return nil }
        return a.union(b)
    }

    static func smaller(_ a: Set<IndexKey>?, _ b: Set<IndexKey>?) -> Set<IndexKey>? {
        switch (a, b) {
        case (nil, nil): return nil
        case (let x?, nil), (nil, let x?): return x
        case (let x?, let y?): return x.count <= y.count ? x : y
        }
    }
}
