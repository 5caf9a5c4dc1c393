import Foundation
import STIX

/// Evaluates STIX patterns against observed-data, with the semantics of the OASIS reference matcher
/// (cti-pattern-matcher, stix2-matcher 3.0.0): per observation, comparisons select the observables ("roots") that
/// satisfy them; AND within brackets needs the same root; observation expressions bind observation instances
/// (`number_observed` of them per observed-data) with AND, OR, FOLLOWEDBY, WITHIN, REPEATS and START/STOP.
///
/// Related STIX section: 9 "STIX Patterning"; the semantics follow <https://github.com/oasis-open/cti-pattern-matcher>.
public struct PatternMatcher: Sendable {
    /// The pattern being matched.
    public let pattern: Pattern
    public let stixVersion: String
    /// The most binding steps one match may take (a guard against hostile patterns and data).
    public var budget = 2_000_000
    /// The pattern with each comparison's test prepared once (constants converted, expressions compiled); a
    /// comparison whose constants are unusable keeps its error, raised when the pattern is matched, as the reference
    /// matcher does.
    let compiled: CompiledObservation

    /// Parses `text` with the grammar of `stixVersion` ("2.1" or "2.0"). Like the reference matcher, it does not apply
    /// the validator's extra rules (such as repeated qualifiers), which are `meridian pattern check`'s business.
    public init(_ text: String, stixVersion: String = "2.1") throws(MatchError) {
        guard stixVersion == "2.1" || stixVersion == "2.0" else {
            throw MatchError(.evaluation, "unsupported STIX version '\(stixVersion)': 2.1 or 2.0")
        }
        do {
            pattern = try Pattern(text, checkingRules: false)
        } catch {
            throw MatchError(.parse, error.description)
        }
        self.stixVersion = stixVersion
        compiled = CompiledObservation(pattern.root)
    }

    /// The observed-data objects of the first binding found, in input order; empty when the pattern does not match.
    public func match(_ observedData: [JSONValue]) throws(MatchError) -> [JSONValue] {
        try match(Observations(observedData, stixVersion: stixVersion))
    }

    /// The same, on observations prepared once (to match many patterns against the same data).
    public func match(_ observations: Observations) throws(MatchError) -> [JSONValue] {
        guard observations.stixVersion == stixVersion else {
            throw MatchError(.evaluation, "observations prepared for STIX \(observations.stixVersion), pattern for \(stixVersion)")
        }
        var evaluation = Evaluation(observations: observations, budget: Budget(budget))
        // One bracketed observation without qualifiers (most indicators): its first binding is the first instance
        // of the first observation it matched, so no binding needs to be built.
        if case .observation(let comparison) = compiled {
            guard let first = try evaluation.evaluate(comparison).keys.first else { return [] }
            return [observations.items[first].sdo]
        }
        let stream = try evaluation.bindings(compiled)
        guard let first = try stream.next() else { return [] }
        // The matcher reports the observations of the first binding's first instances only.
        let indices = Set(first.filter { copyIndex($0) == 0 }.map(observationIndex)).sorted()
        return indices.map { observations.items[$0].sdo }
    }

    /// Whether the pattern matches the observed-data.
    public func matches(_ observedData: [JSONValue]) throws(MatchError) -> Bool {
        !(try match(observedData)).isEmpty
    }

    /// Whether the pattern matches prepared observations.
    public func matches(_ observations: Observations) throws(MatchError) -> Bool {
        !(try match(observations)).isEmpty
    }
}

/// A pattern's observation expressions with their comparisons' tests prepared.
indirect enum CompiledObservation: Sendable {
    case observation(CompiledComparison)
    case and(CompiledObservation, CompiledObservation)
    case or(CompiledObservation, CompiledObservation)
    case followedBy(CompiledObservation, CompiledObservation)
    case qualified(CompiledObservation, Qualifier)

    init(_ e: ObservationExpression) {
        switch e {
        case .observation(let c): self = .observation(CompiledComparison(c))
        case .group(let inner): self = CompiledObservation(inner)
        case .and(let a, let b): self = .and(CompiledObservation(a), CompiledObservation(b))
        case .or(let a, let b): self = .or(CompiledObservation(a), CompiledObservation(b))
        case .followedBy(let a, let b): self = .followedBy(CompiledObservation(a), CompiledObservation(b))
        case .qualified(let inner, let q): self = .qualified(CompiledObservation(inner), q)
        }
    }
}

indirect enum CompiledComparison: Sendable {
    case test(Comparison, Result<ComparisonTest, MatchError>)
    case and(CompiledComparison, CompiledComparison)
    case or(CompiledComparison, CompiledComparison)

    init(_ e: ComparisonExpression) {
        switch e {
        case .group(let inner): self = CompiledComparison(inner)
        case .and(let a, let b): self = .and(CompiledComparison(a), CompiledComparison(b))
        case .or(let a, let b): self = .or(CompiledComparison(a), CompiledComparison(b))
        case .comparison(let c): self = .test(c, Result { () throws(MatchError) -> ComparisonTest in try ComparisonTest(c) })
        }
    }
}

/// One evaluation of a pattern over prepared observations.
struct Evaluation {
    let observations: Observations
    let budget: Budget

    /// Object types that are not cyber observables in STIX 2.1 (the matcher never selects them).
    static let nonObservableTypes: Set<String> = [
        "attack-pattern", "bundle", "campaign", "course-of-action", "extension-definition", "grouping", "identity",
        "incident", "indicator", "infrastructure", "intrusion-set", "language-content", "location", "malware",
        "malware-analysis", "marking-definition", "note", "observed-data", "opinion", "relationship", "report",
        "threat-actor", "tool", "sighting", "vulnerability",
    ]

    // MARK: - Observation expressions

    mutating func bindings(_ e: CompiledObservation) throws(MatchError) -> BindingStream {
        switch e {
        case .observation(let comparison):
            let matched = try evaluate(comparison)
            return InstanceStream(observations: matched.keys, counts: observations.items.map(\.numberObserved), budget: budget)
        case .and(let a, let b):
            return JoinStream(try bindings(a), try bindings(b), budget: budget) { _, _ in true }
        case .or(let a, let b):
            return try EitherStream(try bindings(a), try bindings(b), budget: budget)
        case .followedBy(let a, let b):
            let items = observations.items
            let left = try bindings(a)
            let right = try bindings(b)
            // Some choice of timestamps puts every left one at or before every right one.
            return JoinStream(left, right, budget: budget) { l, r in
                let latestFirst = l.map { items[observationIndex($0)].firstObserved }.max()!
                let earliestLast = r.map { items[observationIndex($0)].lastObserved }.min()!
                return latestFirst <= earliestLast
            }
        case .qualified(let inner, let qualifier):
            let stream = try bindings(inner)
            let items = observations.items
            switch qualifier {
            case .repeats(let times, _):
                guard times >= 1 else { throw MatchError(.evaluation, "invalid repetition count: \(times)") }
                return RepeatStream(stream, size: Int(min(times, Int64(Int32.max))), budget: budget)
            case .within(let seconds, _):
                guard seconds > 0 else { throw MatchError(.evaluation, "invalid WITHIN value (must be positive): \(seconds)") }
                // A window longer than any span of timestamps (years 0001 to 9999 are under 2^59 µs) is unbounded;
                // capping it keeps `start + window` from overflowing.
                let micros = (seconds * 1_000_000).rounded()
                let window = micros < 0x1p60 ? Int64(micros) : 1 << 60
                if let repeated = stream as? RepeatStream {
                    repeated.window = Window(length: window, first: items.map(\.firstObserved), last: items.map(\.lastObserved))
                }
                // An interval of that length touching every observation's [first, last] exists iff it does when it
                // starts at the earliest last_observed.
                return FilterStream(stream, budget: budget) { binding in
                    let start = binding.map { items[observationIndex($0)].lastObserved }.min()!
                    return binding.allSatisfy { items[observationIndex($0)].firstObserved <= start + window }
                }
            case .startStop(let startText, let stopText):
                guard let start = MatchTimestamp.parse(startText), let stop = MatchTimestamp.parse(stopText) else {
                    throw MatchError(.evaluation, "invalid START or STOP timestamp")
                }
                guard start < stop else { return EmptyStream(budget: budget) }
                // Each observation's interval overlaps [start, stop), touching start allowed, stop not.
                return FilterStream(stream, budget: budget) { binding in
                    binding.allSatisfy { inst in
                        let f = items[observationIndex(inst)].firstObserved
                        let l = items[observationIndex(inst)].lastObserved
                        if stop == f { return false }
                        if l == start { return true }
                        return f <= stop && start <= l
                    }
                }
            }
        }
    }

    // MARK: - Comparison expressions

    /// Observations (in order) with the roots (indices into their objects) that satisfy a comparison expression.
    struct Matched {
        var keys: [Int] = []
        var roots: [Int: Set<Int>] = [:]

        mutating func add(_ observation: Int, _ r: Set<Int>) {
            if roots[observation] == nil { keys.append(observation) }
            roots[observation, default: []].formUnion(r)
        }
    }

    mutating func evaluate(_ e: CompiledComparison) throws(MatchError) -> Matched {
        switch e {
        case .or(let a, let b):
            var left = try evaluate(a)
            let right = try evaluate(b)
            for k in right.keys { left.add(k, right.roots[k]!) }
            return left
        case .and(let a, let b):
            let left = try evaluate(a)
            let right = try evaluate(b)
            var out = Matched()
            for k in left.keys {
                guard let r = right.roots[k] else { continue }
                let common = left.roots[k]!.intersection(r)
                if !common.isEmpty { out.add(k, common) }
            }
            return out
        case .test(let c, let test):
            return try evaluate(c, try test.get())
        }
    }

    /// A value reached by an object path: JSON, or binary data decoded from a `_hex` or `_bin` property.
    enum PathValue {
        case json(JSONValue)
        case bytes([UInt8])

        var matchValue: MatchValue {
            switch self {
            case .json(let v): return MatchValue(json: v)
            case .bytes(let b): return .bytes(b)
            }
        }
    }

    /// The values `path` selects, per observation (in order) and root object (in order).
    func select(_ path: ObjectPath) throws(MatchError) -> [(observation: Int, roots: [(root: Int, values: [PathValue])])] {
        if observations.stixVersion == "2.1" && Evaluation.nonObservableTypes.contains(path.objectType) { return [] }
        var out: [(observation: Int, roots: [(root: Int, values: [PathValue])])] = []
        for (o, observation) in observations.items.enumerated() {
            var roots: [(root: Int, values: [PathValue])] = []
            for (r, entry) in observation.objects.enumerated() where entry.object["type"]?.stringValue == path.objectType {
                var values: [PathValue] = [.json(entry.object)]
                for step in path.steps {
                    values = try self.step(values, step, in: observation)
                    if values.isEmpty { break }
                }
                if !values.isEmpty { roots.append((root: r, values: values)) }
            }
            if !roots.isEmpty { out.append((observation: o, roots: roots)) }
        }
        return out
    }

    func step(_ values: [PathValue], _ step: ObjectPath.Step, in observation: Observations.Observation) throws(MatchError) -> [PathValue] {
        var out: [PathValue] = []
        switch step {
        case .key(let name):
            for case .json(.object(let o)) in values {
                guard let v = o[name] else { continue }
                out.append(try Evaluation.decodeSuffix(name, v))
            }
            if name.hasSuffix("_ref") {
                var resolved: [PathValue] = []
                for v in out {
                    guard case .json(.string(let id)) = v else {
                        throw MatchError(.evaluation, "the value of reference property '\(name)' is not a string")
                    }
                    for entry in observation.objects where entry.id == id { resolved.append(.json(entry.object)) }
                }
                return resolved
            }
            if name.hasSuffix("_refs") {
                var resolved: [PathValue] = []
                for v in out {
                    guard case .json(.array(let ids)) = v else {
                        throw MatchError(.evaluation, "the value of reference list property '\(name)' is not a list")
                    }
                    var objects: [JSONValue] = []
                    for id in ids {
                        guard case .string(let s) = id else {
                            throw MatchError(.evaluation, "a value of reference list property '\(name)' is not a string")
                        }
                        for entry in observation.objects where entry.id == s { objects.append(entry.object) }
                    }
                    if !objects.isEmpty { resolved.append(.json(.array(objects))) }
                }
                return resolved
            }
        case .index(let n):
            for case .json(.array(let a)) in values where n >= 0 && n < a.count { out.append(.json(a[Int(n)])) }
        case .anyIndex:
            for case .json(.array(let a)) in values { out += a.map(PathValue.json) }
        }
        return out
    }

    /// `*_hex` and `*_bin` properties hold binary data written as text.
    static func decodeSuffix(_ name: String, _ value: JSONValue) throws(MatchError) -> PathValue {
        if name.hasSuffix("_hex") {
            guard let s = value.stringValue, let bytes = BinaryText.hex(s) else {
                throw MatchError(.evaluation, "property '\(name)' is not valid hexadecimal")
            }
            return .bytes(bytes)
        }
        if name.hasSuffix("_bin") {
            guard let s = value.stringValue, let bytes = BinaryText.base64(s) else {
                throw MatchError(.evaluation, "property '\(name)' is not valid base64")
            }
            return .bytes(bytes)
        }
        return .json(value)
    }

    func evaluate(_ c: Comparison, _ test: ComparisonTest) throws(MatchError) -> Matched {
        let selected = try select(c.path)
        var out = Matched()
        if c.op == .exists {
            // EXISTS: the roots for which the path selects something (NOT EXISTS: the roots of the type for which
            // it selects nothing).
            if !c.negated {
                for (o, roots) in selected { out.add(o, Set(roots.map(\.root))) }
            } else {
                let typeOnly = try select(ObjectPath(objectType: c.path.objectType, steps: []))
                for (o, roots) in typeOnly {
                    let having = Set(selected.first { $0.observation == o }?.roots.map(\.root) ?? [])
                    let missing = Set(roots.map(\.root)).subtracting(having)
                    if !missing.isEmpty { out.add(o, missing) }
                }
            }
            return out
        }
        for (o, roots) in selected {
            var passed = Set<Int>()
            for (root, values) in roots {
                for v in values {
                    if try test.holds(v.matchValue) {
                        passed.insert(root)
                        break
                    }
                }
            }
            if !passed.isEmpty { out.add(o, passed) }
        }
        return out
    }
}
