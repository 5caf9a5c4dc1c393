/// Statistical disclosure control for a set of published counts tied by additive relations (a table's cells add up
/// to its row and column totals, several tables share their month totals).
///
/// Every count below `k` is suppressed (primary suppression). Then each suppressed count is attacked the way a
/// reader of the publication could: its smallest and largest values are found by linear programming over
/// everything published, its relations and `x ≥ 0`. While that interval is narrower than 1 (so the count would be
/// known exactly: the relations are sums of whole counts), a further count is suppressed (secondary suppression): a
/// published count in one of its relations, the smallest non-zero one first, so that little is withheld. Suppressing
/// more only widens every interval, so one pass in order, including the counts it adds, is enough; it ends because
/// each step withholds one more count, and withholding everything protects everything.
public struct Suppression: Sendable {
    /// `total = sum(parts)`, by index into the counts.
    public struct Relation: Sendable, Equatable {
        public let total: Int
        public let parts: [Int]

        public init(total: Int, parts: [Int]) {
            self.total = total
            self.parts = parts
        }
    }

    public let values: [Int]
    public let relations: [Relation]
    public let k: Int
    /// The indices withheld.
    public private(set) var suppressed: Set<Int> = []
    /// Those withheld only to protect others.
    public private(set) var secondary: Set<Int> = []

    /// Relations by the counts they involve.
    private let relationsOf: [[Int]]

    public init(values: [Int], relations: [Relation], k: Int) {
        self.values = values
        self.relations = relations
        self.k = k
        var of = [[Int]](repeating: [], count: values.count)
        for (r, relation) in relations.enumerated() {
            for q in [relation.total] + relation.parts { of[q].append(r) }
        }
        relationsOf = of
        run()
    }

    private mutating func run() {
        var queue = values.indices.filter { values[$0] < k }
        suppressed = Set(queue)
        // Counts known to lie in an interval of width 1 or more. Every optimum the attack finds is a possible table:
        // a count it puts 1 or more away from its true value is protected, whatever the objective was. Withholding
        // more only widens intervals, so a protected count stays protected.
        var protected: Set<Int> = []
        func learn(_ solution: [Int: Double]) {
            for (x, v) in solution where abs(v - Double(values[x])) >= 1 - 1e-6 { protected.insert(x) }
        }
        // First, push the withheld counts not yet known to be protected up, then down, together, while that finds
        // more: most are protected by a few such programs, far fewer than two per count.
        for _ in 0..<32 {
            let before = protected.count
            for sign in [1.0, -1.0] {
                let open = suppressed.subtracting(protected).sorted()
                if let solution = Self.attack(open, sign: sign, values: values, relations: relations, withheld: suppressed) {
                    learn(solution)
                }
            }
            if protected.count == before { break }
        }
        var next = 0
        while next < queue.count {
            let q = queue[next]
            while !protected.contains(q) {
                let (interval, solutions) = Self.attackOne(q, values: values, relations: relations, withheld: suppressed)
                solutions.forEach(learn)
                if interval.width >= 1 - 1e-6 {
                    protected.insert(q)
                    break
                }
                guard let extra = complement(for: q) else { break }
                suppressed.insert(extra)
                secondary.insert(extra)
                queue.append(extra)
            }
            next += 1
        }
    }

    /// The published count to withhold next for `q`: in `q`'s relations first, else in the relations of any count
    /// withheld with it (connected through relations); the smallest non-zero one, then the smallest.
    private func complement(for q: Int) -> Int? {
        func best(_ candidates: some Sequence<Int>) -> Int? {
            candidates.filter { !suppressed.contains($0) }.min { a, b in
                let (va, vb) = (values[a], values[b])
                if (va == 0) != (vb == 0) { return vb == 0 }
                return va != vb ? va < vb : a < b
            }
        }
        let near = relationsOf[q].flatMap { [relations[$0].total] + relations[$0].parts }
        if let found = best(near) { return found }
        // Everything next to q is withheld already: widen to the withheld counts' component.
        var seen: Set<Int> = [q]
        var frontier = [q]
        var candidates: [Int] = []
        while let x = frontier.popLast() {
            for r in relationsOf[x] {
                for y in [relations[r].total] + relations[r].parts where seen.insert(y).inserted {
                    if suppressed.contains(y) { frontier.append(y) } else { candidates.append(y) }
                }
            }
        }
        return best(candidates)
    }

    /// What a reader can work out about count `q` from the published counts: its least and greatest possible value.
    public func interval(of q: Int) -> (lower: Double, upper: Double, width: Double) {
        Self.interval(of: q, values: values, relations: relations, withheld: suppressed)
    }

    /// The attack, for any choice of withheld counts.
    public static func interval(of q: Int, values: [Int], relations: [Relation], withheld: Set<Int>) -> (lower: Double, upper: Double, width: Double) {
        attackOne(q, values: values, relations: relations, withheld: withheld).interval
    }

    /// The linear program over the withheld counts connected to `seeds` through relations (other relations say
    /// nothing about them): its variables (count indices, in order) and equations.
    static func program(around seeds: [Int], relations: [Relation], values: [Int], withheld: Set<Int>) -> (variables: [Int], program: LinearProgram) {
        var relationsOf: [Int: [Int]] = [:]
        for (r, relation) in relations.enumerated() {
            for x in [relation.total] + relation.parts where withheld.contains(x) { relationsOf[x, default: []].append(r) }
        }
        var variable: [Int: Int] = [:]
        var order: [Int] = []
        for q in seeds where variable[q] == nil {
            variable[q] = order.count
            order.append(q)
        }
        var used: Set<Int> = []
        var frontier = order
        while let x = frontier.popLast() {
            for r in relationsOf[x] ?? [] where used.insert(r).inserted {
                for y in [relations[r].total] + relations[r].parts where withheld.contains(y) && variable[y] == nil {
                    variable[y] = order.count
                    order.append(y)
                    frontier.append(y)
                }
            }
        }
        var program = LinearProgram(variables: order.count)
        for r in used.sorted() {
            let relation = relations[r]
            var coefficients = [Double](repeating: 0, count: order.count)
            var constant = 0.0
            // sum(parts) - total = 0, with the published terms moved to the right.
            for (x, sign) in relation.parts.map({ ($0, 1.0) }) + [(relation.total, -1.0)] {
                if let v = variable[x] { coefficients[v] += sign } else { constant -= sign * Double(values[x]) }
            }
            program.add(coefficients, equals: constant)
        }
        return (order, program)
    }

    /// The least and greatest value of withheld count `q`, and the possible tables found on the way.
    static func attackOne(_ q: Int, values: [Int], relations: [Relation], withheld: Set<Int>)
        -> (interval: (lower: Double, upper: Double, width: Double), solutions: [[Int: Double]]) {
        guard withheld.contains(q) else { return ((Double(values[q]), Double(values[q]), 0), []) }
        let (order, program) = Self.program(around: [q], relations: relations, values: values, withheld: withheld)
        var objective = [Double](repeating: 0, count: order.count)
        var solutions: [[Int: Double]] = []
        func solution(_ x: [Double]?) {
            if let x { solutions.append(Dictionary(uniqueKeysWithValues: zip(order, x))) }
        }
        objective[0] = 1
        let up = program.solve(objective)
        solution(up.x)
        let upper: Double
        switch up.outcome {
        case .optimal(let v): upper = v
        case .unbounded: upper = .infinity
        case .infeasible: return ((Double(values[q]), Double(values[q]), 0), [])
        }
        objective[0] = -1
        let down = program.solve(objective)
        solution(down.x)
        let lower: Double
        switch down.outcome {
        case .optimal(let v): lower = -v
        default: lower = 0
        }
        return ((lower, upper, upper - lower), solutions)
    }

    /// One possible table with the counts of `seeds` (and what they connect to) pushed together up (`sign` 1) or
    /// down (-1); nil when unbounded.
    static func attack(_ seeds: [Int], sign: Double, values: [Int], relations: [Relation], withheld: Set<Int>) -> [Int: Double]? {
        guard !seeds.isEmpty else { return nil }
        let (order, program) = Self.program(around: seeds, relations: relations, values: values, withheld: withheld)
        let chosen = Set(seeds)
        let objective = order.map { chosen.contains($0) ? sign : 0 }
        guard let x = program.solve(objective).x else { return nil }
        return Dictionary(uniqueKeysWithValues: zip(order, x))
    }
}
