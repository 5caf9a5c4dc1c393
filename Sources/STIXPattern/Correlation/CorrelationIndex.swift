import STIX

/// Indicators with STIX patterns, indexed so that an observation is checked only against the indicators it could
/// match: each pattern's anchor keys (see `Anchors`) point at it, and patterns without anchors sit in a scan list that
/// every observation is checked against. Candidates are then evaluated in full by `PatternMatcher`.
///
/// Memory stays proportional to the text of the patterns: a pattern is compiled only when it is a candidate, and a
/// bounded cache keeps the compiled ones recently used.
public struct CorrelationIndex: Sendable {
    /// One indexed indicator.
    public struct Entry: Sendable {
        public let id: String
        public let pattern: String
        /// Microseconds since 1970; past it the indicator no longer matches.
        public let validUntil: Int64?
    }

    /// Why an indicator could not be indexed.
    public enum Refusal: Error, Sendable, Equatable {
        case invalidPattern(String)
    }

    private(set) var entries: [Entry?] = []
    private var handles: [String: Int32] = [:]
    private var single: [UInt64: Int32] = [:]
    private var multiple: [UInt64: [Int32]] = [:]
    private var keysOf: [Int32: [UInt64]] = [:]
    private var scan: Set<Int32> = []
    /// Whether some key was reached through a reference (its type unknown): observations then also emit `*` keys.
    private var wildcard: Set<Int32> = []
    /// CIDR prefix lengths of block keys in use, with how many indicators use each.
    private var blockLengths: [Int: Int] = [:]
    private var blockLengthsOf: [Int32: Set<Int>] = [:]
    private var compiled: [Int32: PatternMatcher] = [:]
    /// Compiled patterns kept at once.
    public var cacheLimit = 20_000

    public init() {}

    /// Indicators indexed now.
    public var count: Int { handles.count }
    /// Indicators without anchors, checked against every observation.
    public var scanCount: Int { scan.count }

    /// Adds an indicator, or replaces the one with the same id. Throws when its pattern does not parse.
    public mutating func add(id: String, pattern text: String, validUntil: Int64?) throws(Refusal) {
        let pattern: Pattern
        do {
            pattern = try Pattern(text, checkingRules: false)
        } catch {
            throw .invalidPattern(error.description)
        }
        remove(id: id)
        let handle = Int32(entries.count)
        entries.append(Entry(id: id, pattern: text, validUntil: validUntil))
        handles[id] = handle
        guard let keys = Anchors.keys(of: pattern) else {
            scan.insert(handle)
            return
        }
        var hashes: [UInt64] = []
        hashes.reserveCapacity(keys.count)
        for key in keys {
            hashes.append(key.hash)
            if let first = single[key.hash] {
                if first != handle { multiple[key.hash, default: [first]].append(handle) }
            } else {
                single[key.hash] = handle
            }
        }
        keysOf[handle] = hashes
        if Anchors.reachesThroughReference(pattern) {
            wildcard.insert(handle)
        }
        let lengths = Anchors.blockLengths(of: pattern)
        if !lengths.isEmpty {
            blockLengthsOf[handle] = lengths
            for l in lengths { blockLengths[l, default: 0] += 1 }
        }
    }

    /// Removes an indicator (revoked, deleted, or replaced by a version without a STIX pattern).
    public mutating func remove(id: String) {
        guard let handle = handles.removeValue(forKey: id) else { return }
        entries[Int(handle)] = nil
        compiled[handle] = nil
        wildcard.remove(handle)
        for l in blockLengthsOf.removeValue(forKey: handle) ?? [] {
            blockLengths[l]! -= 1
            if blockLengths[l] == 0 { blockLengths[l] = nil }
        }
        if scan.remove(handle) != nil { return }
        for hash in keysOf.removeValue(forKey: handle) ?? [] {
            if var list = multiple[hash] {
                list.removeAll { $0 == handle }
                if list.count <= 1 {
                    multiple[hash] = nil
                    if let last = list.first { single[hash] = last } else { single[hash] = nil }
                } else {
                    multiple[hash] = list
                    if single[hash] == handle { single[hash] = list[0] }
                }
            } else if single[hash] == handle {
                single[hash] = nil
            }
        }
    }

    /// The indicators an observation (its observable objects) could match: anchored ones whose keys it contains,
    /// and the scan list.
    public func candidates(_ observables: [JSONValue]) -> [Int32] {
        var found = Array(scan)
        var emitter = KeyEmitter(wildcard: !wildcard.isEmpty, blockLengths: blockLengths.keys.sorted())
        for object in observables {
            guard let type = object["type"]?.stringValue else { continue }
            emitter.keys.append(IndexKey.type(type).hash)
            emitter.object(object, type: type, prefix: "", depth: 0)
        }
        let keys = emitter.keys
        for k in keys {
            if let h = single[k] {
                if let list = multiple[k] { found += list } else { found.append(h) }
            }
        }
        if found.count > 1 {
            found.sort()
            var unique = 1
            for i in 1..<found.count where found[i] != found[unique - 1] {
                found[unique] = found[i]
                unique += 1
            }
            found.removeLast(found.count - unique)
        }
        return found
    }

    /// The keys of an observation's objects: each leaf value under its path, and for addresses and blocks the
    /// block keys of every prefix length in use. Paths are hashed as they are walked (see `IndexKey.FNV`).
    struct KeyEmitter {
        let wildcard: Bool
        let blockLengths: [Int]
        var keys: [UInt64] = []

        /// The hash states of a path under its object's type and, for keys reached through references, under `*`.
        struct PathState {
            var typed: IndexKey.FNV
            var any: IndexKey.FNV
            /// The path as text, kept only when block keys need it.
            var text: String?
            var empty = true
        }

        mutating func object(_ value: JSONValue, type: String, prefix: String, depth: Int) {
            var typed = IndexKey.FNV()
            typed.field(type)
            var any = IndexKey.FNV()
            any.field(IndexKey.anyType)
            members(value, PathState(typed: typed, any: any, text: blockLengths.isEmpty ? nil : ""), type: type, depth: depth)
        }

        mutating func members(_ value: JSONValue, _ state: PathState, type: String, depth: Int) {
            guard depth < 16, case .object(let o) = value else { return }
            for member in o {
                var next = state
                if !state.empty {
                    next.typed.byte(UInt8(ascii: "."))
                    if wildcard { next.any.byte(UInt8(ascii: ".")) }
                }
                next.typed.bytes(member.key)
                if wildcard { next.any.bytes(member.key) }
                if let t = state.text { next.text = t.isEmpty ? member.key : t + "." + member.key }
                next.empty = false
                leaf(member.value, next, type: type, depth: depth)
            }
        }

        mutating func leaf(_ value: JSONValue, _ state: PathState, type: String, depth: Int) {
            switch value {
            case .object:
                members(value, state, type: type, depth: depth + 1)
            case .array(let items):
                guard depth < 16 else { return }
                var next = state
                for b in "[*]".utf8 {
                    next.typed.byte(b)
                    if wildcard { next.any.byte(b) }
                }
                next.text = state.text.map { $0 + "[*]" }
                for item in items { leaf(item, next, type: type, depth: depth + 1) }
            default:
                var typed = state.typed
                typed.byte(0xff)
                var any = state.any
                any.byte(0xff)
                func emit(_ prefix: String, _ text: String) {
                    var t = typed
                    t.bytes(prefix)
                    t.field(text)
                    keys.append(t.state)
                    if wildcard {
                        var a = any
                        a.bytes(prefix)
                        a.field(text)
                        keys.append(a.state)
                    }
                }
                switch value {
                case .string(let s):
                    emit("s:", s)
                    // An address or block is at most 18 bytes (`255.255.255.255/32`) and contains a dot.
                    if !blockLengths.isEmpty, let path = state.text, s.utf8.count <= 18, let first = s.utf8.first, first >= 48,
                        first <= 57, s.utf8.contains(UInt8(ascii: ".")), let (address, length) = try? IPv4.block(s, allowBareAddress: true) {
                        for l in blockLengths where l <= length {
                            keys.append(IndexKey.block(type: type, path: path, address: address, length: l).hash)
                            if wildcard { keys.append(IndexKey.block(type: IndexKey.anyType, path: path, address: address, length: l).hash) }
                        }
                    }
                case .number(let n):
                    emit("", IndexKey.number(n.double, integer: n.integer))
                case .bool(let b):
                    emit("", b ? "b:true" : "b:false")
                    emit("", b ? "n:1" : "n:0")
                default:
                    break
                }
            }
        }
    }

    /// The indexed indicator behind a handle.
    public func entry(_ handle: Int32) -> Entry? {
        Int(handle) < entries.count ? entries[Int(handle)] : nil
    }

    /// Evaluates the candidate's full pattern on one observation (an observed-data bundle, STIX 2.1), with the
    /// compiled pattern cached. Returns false for an indicator past its `valid_until` at `now`.
    public mutating func matches(_ handle: Int32, observation: JSONValue, now: Int64) throws(MatchError) -> Bool {
        try matches(handle, observations: Observations([observation], stixVersion: "2.1"), now: now)
    }

    /// The same, on an observation prepared once for all its candidates.
    public mutating func matches(_ handle: Int32, observations: Observations, now: Int64) throws(MatchError) -> Bool {
        guard let entry = entry(handle) else { return false }
        if let until = entry.validUntil, until <= now { return false }
        let matcher: PatternMatcher
        if let cached = compiled[handle] {
            matcher = cached
        } else {
            var m = try PatternMatcher(entry.pattern)
            m.budget = 200_000
            if compiled.count >= cacheLimit { compiled.removeAll(keepingCapacity: true) }
            compiled[handle] = m
            matcher = m
        }
        return try matcher.matches(observations)
    }
}
