/// Bindings: which observation instances satisfy which observation expressions of a pattern.
///
/// As in the OASIS matcher, an observed-data with `number_observed: n` stands for n instances; a binding is a list
/// of instances, one per bracketed observation of the pattern that is bound (OR leaves the other side unbound); two
/// parts of a binding never share an instance. Streams are lazy and produce bindings in the matcher's order, so the
/// first binding found is the same; every step is charged to a budget, so no pattern can run unbounded.
typealias Instance = Int64

@inline(__always) func instance(_ observation: Int, _ copy: Int) -> Instance { Int64(observation) << 32 | Int64(copy) }
@inline(__always) func observationIndex(_ i: Instance) -> Int { Int(i >> 32) }
@inline(__always) func copyIndex(_ i: Instance) -> Int { Int(i & 0xFFFF_FFFF) }

typealias Binding = [Instance]

/// The work an evaluation may do before it is stopped with an error.
final class Budget {
    var remaining: Int
    init(_ steps: Int) { remaining = steps }

    @inline(__always) func spend(_ n: Int = 1) throws(MatchError) {
        remaining -= n
        if remaining < 0 {
            throw MatchError(.tooComplex, "the pattern needs more work than the matcher allows on this data (REPEATS, AND and FOLLOWEDBY over many observations)")
        }
    }
}

func disjoint(_ a: Binding, _ b: Binding) -> Bool {
    if a.count * b.count <= 64 {
        for x in a where b.contains(x) { return false }
        return true
    }
    return Set(a).isDisjoint(with: b)
}

class BindingStream {
    let budget: Budget
    init(budget: Budget) { self.budget = budget }
    func next() throws(MatchError) -> Binding? { nil }
}

/// Every instance of every observation a bracketed observation matched, observation by observation.
final class InstanceStream: BindingStream {
    let observations: [Int]
    let counts: [Int]
    var position = 0
    var copy = 0

    init(observations: [Int], counts: [Int], budget: Budget) {
        self.observations = observations
        self.counts = counts
        super.init(budget: budget)
    }

    override func next() throws(MatchError) -> Binding? {
        while position < observations.count {
            let o = observations[position]
            if copy < counts[o] {
                try budget.spend()
                copy += 1
                return [instance(o, copy - 1)]
            }
            position += 1
            copy = 0
        }
        return nil
    }
}

/// AND and FOLLOWEDBY: every disjoint pair of a left and a right binding that `accept` allows, produced by
/// alternately taking a new right binding (paired with the left ones seen so far) and a new left one (paired with
/// the right ones seen so far).
final class JoinStream: BindingStream {
    let left: BindingStream
    let right: BindingStream
    let accept: (Binding, Binding) -> Bool
    var leftSeen: [Binding] = []
    var rightSeen: [Binding] = []
    var nextLeft: Binding?
    var nextRight: Binding?
    var started = false
    var pending: [Binding] = []
    var pendingIndex = 0

    init(_ left: BindingStream, _ right: BindingStream, budget: Budget, accept: @escaping (Binding, Binding) -> Bool) {
        self.left = left
        self.right = right
        self.accept = accept
        super.init(budget: budget)
    }

    override func next() throws(MatchError) -> Binding? {
        if !started {
            started = true
            nextRight = try right.next()
            nextLeft = try left.next()
            if nextRight == nil || nextLeft == nil { nextRight = nil; nextLeft = nil }
        }
        while true {
            if pendingIndex < pending.count {
                pendingIndex += 1
                return pending[pendingIndex - 1]
            }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            guard nextRight != nil || nextLeft != nil else { return nil }
            if let r = nextRight {
                for l in leftSeen {
                    try budget.spend()
                    if disjoint(l, r) && accept(l, r) { pending.append(l + r) }
                }
                rightSeen.append(r)
                nextRight = try right.next()
            }
            if let l = nextLeft {
                for r in rightSeen {
                    try budget.spend()
                    if disjoint(l, r) && accept(l, r) { pending.append(l + r) }
                }
                leftSeen.append(l)
                nextLeft = try left.next()
            }
        }
    }
}

/// OR: the bindings of each side alone, alternately.
final class EitherStream: BindingStream {
    let left: BindingStream
    let right: BindingStream
    var nextLeft: Binding?
    var nextRight: Binding?
    var takeLeft = true

    init(_ left: BindingStream, _ right: BindingStream, budget: Budget) throws(MatchError) {
        self.left = left
        self.right = right
        super.init(budget: budget)
        // The matcher takes the first binding of each side when the OR is reached.
        nextLeft = try left.next()
        nextRight = try right.next()
    }

    override func next() throws(MatchError) -> Binding? {
        while nextLeft != nil || nextRight != nil {
            if takeLeft {
                takeLeft = false
                if let l = nextLeft {
                    nextLeft = try left.next()
                    return l
                }
            } else {
                takeLeft = true
                if let r = nextRight {
                    nextRight = try right.next()
                    return r
                }
            }
        }
        return nil
    }
}

/// WITHIN and START/STOP: the bindings `keep` allows.
final class FilterStream: BindingStream {
    let inner: BindingStream
    let keep: (Binding) -> Bool

    init(_ inner: BindingStream, budget: Budget, keep: @escaping (Binding) -> Bool) {
        self.inner = inner
        self.keep = keep
        super.init(budget: budget)
    }

    override func next() throws(MatchError) -> Binding? {
        while let b = try inner.next() {
            try budget.spend()
            if keep(b) { return b }
        }
        return nil
    }
}

final class EmptyStream: BindingStream {}

/// A constraint on a whole combination that only gets harder as bindings are added (WITHIN's window): a partial
/// combination that breaks it cannot be completed, so the search skips it. Passing combinations come out in the same
/// order as without it; only hopeless branches are cut.
struct Window {
    /// The latest first_observed and the earliest last_observed so far.
    struct State { var latestFirst: Int64; var earliestLast: Int64 }

    let length: Int64
    let first: [Int64]
    let last: [Int64]

    static let empty = State(latestFirst: .min, earliestLast: .max)

    func adding(_ b: Binding, to state: State) -> State? {
        var s = state
        for i in b {
            let o = observationIndex(i)
            s.latestFirst = max(s.latestFirst, first[o])
            s.earliestLast = min(s.earliestLast, last[o])
        }
        // Some interval of the window's length touches them all.
        return s.latestFirst <= s.earliestLast &+ length ? s : nil
    }
}

/// REPEATS n TIMES: groups of n pairwise disjoint bindings, flattened (the matcher's `_filtered_combinations`).
final class RepeatStream: BindingStream {
    let inner: BindingStream
    let size: Int
    /// Set when a WITHIN qualifies this REPEATS directly.
    var window: Window?
    var generated: [Binding] = []
    var started = false
    var current: ListCombinations?
    var currentLast: Binding = []

    init(_ inner: BindingStream, size: Int, budget: Budget) {
        self.inner = inner
        self.size = size
        super.init(budget: budget)
    }

    override func next() throws(MatchError) -> Binding? {
        if size == 1 { return try inner.next() }
        if !started {
            started = true
            while generated.count < size - 1, let b = try inner.next() { generated.append(b) }
        }
        while true {
            if let combos = current {
                do {
                    if let combo = try combos.next() { return combo.flatMap { $0 } + currentLast }
                } catch let e as NotEnoughValues {
                    _ = e
                } catch let e as MatchError {
                    throw e
                } catch {}
                current = nil
                generated.append(currentLast)
            }
            guard let value = try inner.next() else { return nil }
            try budget.spend(generated.count)
            currentLast = value
            var state = Window.empty
            if let window {
                guard let s = window.adding(value, to: state) else {
                    generated.append(value)
                    continue
                }
                state = s
            }
            let filtered = generated.filter { disjoint($0, value) && (window == nil || window!.adding($0, to: state) != nil) }
            current = ListCombinations(filtered, size: size - 1, budget: budget, window: window, state: state)
        }
    }
}

struct NotEnoughValues: Error { let missing: Int }

/// Disjoint combinations of `size` bindings from a list, in order (the matcher's
/// `_filtered_combinations_from_list`, including its early exit when no combination can be large enough).
final class ListCombinations {
    let values: [Binding]
    let size: Int
    let budget: Budget
    let window: Window?
    let state: Window.State
    var started = false
    var i = 0
    var sub: ListCombinations?
    var yielded = false

    init(_ values: [Binding], size: Int, budget: Budget, window: Window? = nil, state: Window.State = Window.empty) {
        self.values = values
        self.size = size
        self.budget = budget
        self.window = window
        self.state = state
    }

    /// The next combination; throws NotEnoughValues (before producing any) when none can exist.
    func next() throws -> [Binding]? {
        if size == 1 {
            guard i < values.count else { return nil }
            i += 1
            return [values[i - 1]]
        }
        if !started {
            started = true
            let bound = ListCombinations.boundLargestCombination(values)
            if bound < size { throw NotEnoughValues(missing: size - bound) }
        }
        while i < values.count + 1 - size {
            if sub == nil {
                try budget.spend(values.count - i)
                var next = state
                if let window {
                    guard let s = window.adding(values[i], to: state) else {
                        i += 1
                        continue
                    }
                    next = s
                }
                let filtered = values[(i + 1)...].filter {
                    disjoint(values[i], $0) && (window == nil || window!.adding($0, to: next) != nil)
                }
                sub = ListCombinations(Array(filtered), size: size - 1, budget: budget, window: window, state: next)
                yielded = false
            }
            do {
                if let combo = try sub!.next() {
                    yielded = true
                    return [values[i]] + combo
                }
            } catch let e as NotEnoughValues {
                if !yielded {
                    let filteredCount = sub!.values.count
                    let maxAdd = min(values.count - (i + 1) - filteredCount, values[i].count)
                    let expectedMissing = e.missing + 1 - maxAdd
                    if expectedMissing > 0 {
                        if i == 0 { throw NotEnoughValues(missing: expectedMissing) }
                        i = values.count
                        sub = nil
                        return nil
                    }
                }
            }
            sub = nil
            i += 1
        }
        return nil
    }

    /// An upper bound on the size of the largest combination of pairwise disjoint bindings.
    static func boundLargestCombination(_ values: [Binding]) -> Int {
        guard !values.isEmpty else { return 0 }
        let maxSize = values.map(\.count).max() ?? 0
        guard maxSize > 0 else { return 0 }
        var bySize = Array(repeating: Set<Instance>(), count: maxSize + 1)
        for v in values { bySize[v.count].formUnion(v) }
        var consumed = Set<Instance>()
        var total = 0
        if maxSize > 1 {
            for size in 1..<maxSize {
                let available = bySize[size].subtracting(consumed)
                total += (available.count + size - 1) / size
                consumed.formUnion(available)
            }
        }
        total += bySize[maxSize].subtracting(consumed).count / maxSize
        return total
    }
}
