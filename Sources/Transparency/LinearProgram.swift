/// The largest value of one variable over `{x : A x = b, x ≥ 0}`: a two-phase simplex on a dense tableau, with
/// Bland's rule so that it cannot cycle. The programs disclosure control solves are small (a report's suppressed
/// cells and the totals they appear in), so dense arithmetic in `Double` is exact enough: the data are whole counts
/// and the constraint matrices hold only 0, 1 and -1.
struct LinearProgram {
    /// One row per equation: coefficients by variable.
    var rows: [[Double]]
    var rhs: [Double]
    let variables: Int

    static let epsilon = 1e-9

    init(variables: Int) {
        self.variables = variables
        rows = []
        rhs = []
    }

    mutating func add(_ coefficients: [Double], equals value: Double) {
        rows.append(coefficients)
        rhs.append(value)
    }

    enum Outcome: Equatable {
        case optimal(Double)
        case unbounded
        case infeasible
    }

    /// Maximizes `objective · x`.
    func maximize(_ objective: [Double]) -> Outcome {
        solve(objective).outcome
    }

    /// Maximizes `objective · x`; with the optimal `x` when there is one.
    func solve(_ objective: [Double]) -> (outcome: Outcome, x: [Double]?) {
        let m = rows.count
        let n = variables
        // Tableau: m constraint rows then the objective row; columns: n variables, m artificials, right-hand side.
        let width = n + m + 1
        var t = [Double](repeating: 0, count: (m + 1) * width)
        var basis = [Int](repeating: 0, count: m)
        for i in 0..<m {
            let sign: Double = rhs[i] < 0 ? -1 : 1
            for j in 0..<n { t[i * width + j] = sign * rows[i][j] }
            t[i * width + n + i] = 1
            t[i * width + width - 1] = sign * rhs[i]
            basis[i] = n + i
        }
        let obj = m * width

        // The pivot row's non-zero columns: rows are sparse (counts appear in few relations), so only those change.
        var nonZero: [Int] = []
        nonZero.reserveCapacity(width)
        func pivot(_ r: Int, _ c: Int) {
            let p = t[r * width + c]
            nonZero.removeAll(keepingCapacity: true)
            for j in 0..<width where t[r * width + j] != 0 {
                t[r * width + j] /= p
                nonZero.append(j)
            }
            for i in 0...m where i != r {
                let f = t[i * width + c]
                if f != 0 {
                    for j in nonZero { t[i * width + j] -= f * t[r * width + j] }
                    t[i * width + c] = 0
                }
            }
            basis[r] = c
        }

        /// Runs the simplex on the objective row (reduced costs: a negative entry improves); false when unbounded.
        func run(allowed: Int) -> Bool {
            while true {
                guard let c = (0..<allowed).first(where: { t[obj + $0] < -Self.epsilon }) else { return true }
                var best: Int? = nil
                var bestRatio = Double.infinity
                for i in 0..<m where t[i * width + c] > Self.epsilon {
                    let ratio = t[i * width + width - 1] / t[i * width + c]
                    if best == nil || ratio < bestRatio - Self.epsilon || (abs(ratio - bestRatio) <= Self.epsilon && basis[i] < basis[best!]) {
                        best = i
                        bestRatio = ratio
                    }
                }
                guard let r = best else { return false }
                pivot(r, c)
            }
        }

        // Phase 1: maximize minus the sum of the artificials.
        for j in 0..<width { t[obj + j] = 0 }
        for i in 0..<m {
            for j in 0..<width where j < n || j == width - 1 { t[obj + j] -= t[i * width + j] }
        }
        _ = run(allowed: n + m)
        if -t[obj + width - 1] > 1e-7 { return (.infeasible, nil) }
        // Artificials still basic (at zero) leave the basis where a variable can replace them.
        for i in 0..<m where basis[i] >= n {
            if let c = (0..<n).first(where: { abs(t[i * width + $0]) > Self.epsilon }) { pivot(i, c) }
        }
        // Phase 2: the objective, in terms of the non-basic variables.
        for j in 0..<width { t[obj + j] = 0 }
        for j in 0..<n { t[obj + j] = -objective[j] }
        for i in 0..<m where basis[i] < n {
            let f = t[obj + basis[i]]
            if f != 0 { for j in 0..<width { t[obj + j] -= f * t[i * width + j] } }
        }
        // Artificials may not re-enter.
        guard run(allowed: n) else { return (.unbounded, nil) }
        var x = [Double](repeating: 0, count: n)
        for i in 0..<m where basis[i] < n { x[basis[i]] = t[i * width + width - 1] }
        return (.optimal(t[obj + width - 1]), x)
    }
}
