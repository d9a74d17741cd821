import Foundation

/// Where a GEE's p × p information sums Σ D̃ᵀ V⁻¹ D̃ go: a dense matrix, or the values of a
/// sparse pattern (`GEESparseSums`), which keeps the upper triangle only.
protocol GEEInformationSums {
    var order: Int { get }
    /// Whether the entry (first, second) is kept: the sums skip computing the others.
    func wants(_ first: Int, _ second: Int) -> Bool
    mutating func add(_ first: Int, _ second: Int, _ value: Double)
}

extension SmallMatrix: GEEInformationSums {
    var order: Int { rows }
    @inline(__always) func wants(_ first: Int, _ second: Int) -> Bool { true }
    @inline(__always) mutating func add(_ first: Int, _ second: Int, _ value: Double) { self[first, second] += value }
}

/// The rest of the derivative H of the estimating equations (β; φ; α) besides A (geepack's
/// gee_var): B (1 × p), C, D (q × p), E (q × 1) and F (q × q, diagonal).
struct GEEJacobianTerms {
    var b: [Double]
    var c: Double
    var d: SmallMatrix
    var e: [Double]
    var f: SmallMatrix
}

/// How a GEE holds its information matrix: dense p × p (geepack's way), or sparse on the
/// pattern of coefficients that share a row (independence) or a cluster, factored by
/// `SparseLDL` in AMD's order, for factors of many levels whose p × p matrices would not fit.
enum GEEInformationForm: Sendable {
    case dense
    case sparse(GEESparsePattern)

    /// At most this many coefficients the automatic choice keeps geepack's dense algebra.
    static let denseOrder = 1_000
}

/// Which way a GEE's information matrix is held (`GEEControl.information`).
public enum GEEInformationChoice: Sendable, Equatable {
    /// Dense up to 1,000 coefficients; beyond, sparse when that costs less or the dense
    /// matrices do not fit.
    case automatic
    case dense
    case sparse
}

/// The non-zero pattern of a GEE's information matrix, its factor's order and cost.
struct GEESparsePattern: Sendable {
    /// The pattern (both triangles; values unused).
    let matrix: SparseSymmetric
    /// The factor's order: the level columns by AMD, the other columns last (they meet every
    /// level).
    let order: [Int]
    /// For each stored entry, where its mirror (column, row) is stored.
    let mirror: [Int]
    /// Σ of the factor's squared column counts: about its multiply-adds.
    let cost: Double

    /// - Parameters:
    ///   - uncorrelated: whether a cluster of a size has R = I (its rows add to the sums one at
    ///     a time: only coefficients sharing a row meet).
    ///   - levelColumns: which coefficients are a factor's levels.
    init(rows: GEERows, layout: ClusterLayout, uncorrelated: (Int) -> Bool, levelColumns: [Bool]) throws {
        let p = levelColumns.count
        // Pairs (row ≤ column) packed into one word; sorted and made unique whenever the list
        // doubles, so repeats across clusters (the intercept with every level) cost little.
        var pairs: [UInt64] = []
        var unique = 0
        var clusterColumns = ClusterColumns(coefficientCount: p)
        let budget = MemoryBudget.current()
        func compact() throws {
            pairs.sort()
            var write = 0
            for read in pairs.indices where write == 0 || pairs[read] != pairs[write - 1] {
                pairs[write] = pairs[read]
                write += 1
            }
            pairs.removeLast(pairs.count - write)
            unique = write
            // Compared on the way (the pattern only grows), granted once at the end.
            let need = MemoryBudget.bytes(of: 64, times: [unique])
            if let available = budget.availableBytes, need.map({ $0 > available }) ?? true { try requirePattern(need) }
        }
        func requirePattern(_ need: Int?) throws {
            try budget.require(
                need,
                for: "the GEE information matrix's pattern (\(MemoryBudget.describe(count: unique)) coefficient pairs "
                    + "sharing a cluster)",
                remedy: "use smaller clusters or fewer levels")
        }
        func add(_ first: Int, _ second: Int) throws {
            let (low, high) = first <= second ? (first, second) : (second, first)
            pairs.append(UInt64(UInt32(truncatingIfNeeded: high)) << 32 | UInt64(UInt32(truncatingIfNeeded: low)))
            if pairs.count > max(1 << 22, 2 * unique) { try compact() }
        }
        for column in 0..<p { try add(column, column) }
        for cluster in 0..<layout.clusterCount {
            let range = layout.starts[cluster]..<layout.starts[cluster + 1]
            if uncorrelated(range.count) {
                for position in range {
                    let entries = rows.starts[position]..<rows.starts[position + 1]
                    for c in entries {
                        for d in entries where rows.columns[c] <= rows.columns[d] {
                            try add(Int(rows.columns[c]), Int(rows.columns[d]))
                        }
                    }
                }
            } else {
                clusterColumns.gather(rows, range)
                let touched = clusterColumns.touched
                for (index, first) in touched.enumerated() {
                    for second in touched[index...] { try add(first, second) }
                }
            }
        }
        try compact()
        try requirePattern(MemoryBudget.bytes(of: 64, times: [unique]))
        let entries = pairs.map { pair in
            (row: Int(pair & 0xFFFF_FFFF), column: Int(pair >> 32), value: 0.0)
        }
        pairs = []
        let matrix = SparseSymmetric(order: p, upperEntries: entries)
        let levels = (0..<p).filter { levelColumns[$0] }
        let order = try matrix.minimumDegreeOrder(among: levels) + (0..<p).filter { !levelColumns[$0] }
        let counts = SparseLDL.columnCounts(matrix, permutation: order)
        var mirror = [Int](repeating: 0, count: matrix.rowIndices.count)
        for column in 0..<p {
            for entry in matrix.columnStarts[column]..<matrix.columnStarts[column + 1] {
                mirror[entry] = matrix.slot(column, Int(matrix.rowIndices[entry])) ?? entry
            }
        }
        self.matrix = matrix
        self.order = order
        self.mirror = mirror
        self.cost = counts.reduce(0.0) { $0 + Double($1) * Double($1) }
    }

    func emptySums() -> GEESparseSums {
        GEESparseSums(pattern: self, values: [Double](repeating: 0, count: matrix.rowIndices.count))
    }

    /// Whether geepack's dense algebra is the better way for these p coefficients: its ten
    /// p × p matrices take at most half the memory available and its Cholesky (some ten
    /// multiply-adds for one of the scalar sparse factor's) costs less.
    func prefersDense() -> Bool {
        let p = matrix.order
        let denseBytes = MemoryBudget.bytes(doubles: p, p, 10)
        let fits = denseBytes.map { need in MemoryBudget.current().availableBytes.map { need * 2 <= $0 } ?? true } ?? false
        return fits && cost * 10 > Double(p) * Double(p) * Double(p) / 3
    }

    /// The refusal of a pattern whose factor costs minutes a step.
    func checkCost() throws {
        guard cost > SparseBlockSolver.sparseMultiplyAddLimit else { return }
        throw GLMError.fitFailed(
            message: "the GEE information matrix of \(MemoryBudget.describe(count: matrix.order)) coefficients fills in "
                + "to some \(RFormat.format(cost, digits: 2)) multiply-adds a step (the levels sharing clusters meet too "
                + "many others), past the \(RFormat.format(SparseBlockSolver.sparseMultiplyAddLimit, digits: 2)) a fit "
                + "allows (minutes a step), and the dense p × p way does not fit or costs more; use smaller clusters "
                + "or fewer levels")
    }

    /// The information matrix from its sums (upper triangle mirrored), factored; a column
    /// whose pivot is not positive makes it singular.
    func factor(_ sums: GEESparseSums) throws -> SparseLDL {
        if sums.missed {
            throw GLMError.fitFailed(message: "internal error: a GEE information entry outside its pattern")
        }
        let ldl = try SparseLDL(full(sums), permutation: order, tolerance: 0)
        guard ldl.droppedColumns.isEmpty else {
            throw GLMError.fitFailed(message: "the GEE information matrix is singular; the coefficients cannot be estimated")
        }
        return ldl
    }

    /// The symmetric matrix of the sums.
    func full(_ sums: GEESparseSums) -> SparseSymmetric {
        var values = sums.values
        for column in 0..<matrix.order {
            for entry in matrix.columnStarts[column]..<matrix.columnStarts[column + 1]
            where Int(matrix.rowIndices[entry]) > column {
                values[entry] = sums.values[mirror[entry]]
            }
        }
        return matrix.with(values: values)
    }
}

/// Σ D̃ᵀ V⁻¹ D̃ on a sparse pattern: the upper triangle (row ≤ column) of the entries.
struct GEESparseSums: GEEInformationSums {
    let pattern: GEESparsePattern
    var values: [Double]
    /// Set when an entry outside the pattern was added (a broken invariant, reported).
    private(set) var missed = false

    var order: Int { pattern.matrix.order }
    @inline(__always) func wants(_ first: Int, _ second: Int) -> Bool { first <= second }
    @inline(__always) mutating func add(_ first: Int, _ second: Int, _ value: Double) {
        guard first <= second else { return }
        guard let slot = pattern.matrix.slot(first, second) else {
            missed = true
            return
        }
        values[slot] += value
    }
}

/// Each cluster's scores at the estimate: u₁ (on the coefficients its rows touch), u₂ and u₃.
struct GEEClusterScores {
    var starts: [Int] = [0]
    var columns: [Int32] = []
    var values: [Double] = []
    var scale: [Double] = []
    /// q per cluster.
    var correlation: [Double] = []

    mutating func append(_ touched: [Int], _ u1: [Double], _ u2: Double, _ u3: [Double]) {
        for (column, value) in zip(touched, u1) where value != 0 {
            columns.append(Int32(truncatingIfNeeded: column))
            values.append(value)
        }
        starts.append(columns.count)
        scale.append(u2)
        correlation += u3
    }

    var count: Int { scale.count }

    /// u₁ · x for cluster g.
    @inline(__always) func dot(_ cluster: Int, _ x: [Double]) -> Double {
        var sum = 0.0
        for entry in starts[cluster]..<starts[cluster + 1] { sum += values[entry] * x[Int(columns[entry])] }
        return sum
    }
}

/// A GEE's covariances with its information matrix sparse (scaled columns): every
/// model-based variance (the selected inverse), the robust ones by solves of the factor —
/// z_j = A⁻¹e_j and Var_j = z_jᵀ (Σ u uᵀ) z_j, a batch of columns per sweep — and the
/// matrices when asked for.
struct GEESparseVariance {
    var information: GEESparseSums
    var naiveVariances: [Double]
    /// NaN where not found (a level, when all of them would cost too much).
    var robustVariances: [Double]
    /// Column-major p × p, when formed.
    var naiveMatrix: [Double]?
    var robustMatrix: [Double]?
    var scale: Double
    var alpha: SmallMatrix
    var omittedLevels: Int
    /// trace(Ω_I V_R) when asked for and affordable.
    var cic: Double?
}

/// Where CIC's independence information comes from (`GEEProblem.sparseVariance`).
enum IndependenceInformation {
    case none
    case this
    case other(GEESparseSums)
}

extension GEEProblem {
    /// Which estimated coefficients are a factor's levels (held as codes).
    func levelColumns() -> [Bool] {
        var isLevel = [Bool](repeating: false, count: design.columnCount)
        for block in design.structure.blocks { for column in block.columns { isLevel[column] = true } }
        for block in design.structure.contrastBlocks { for column in block.columns { isLevel[column] = true } }
        return kept.map { isLevel[$0] }
    }

    /// The information matrix's pattern under a working correlation structure.
    func sparsePattern(structure: CorrelationStructure, levelColumns: [Bool]) throws -> GEESparsePattern {
        try GEESparsePattern(
            rows: rows, layout: layout, uncorrelated: { isUncorrelated(structure, size: $0) }, levelColumns: levelColumns)
    }

    /// Dense (geepack's algebra) or sparse, as asked or, automatically, dense up to
    /// `GEEInformationForm.denseOrder` coefficients and beyond it when dense is the better
    /// way (`GEESparsePattern.prefersDense`); a form that cannot be afforded is refused.
    func informationForm(
        structure: CorrelationStructure, choice: GEEInformationChoice, levelColumns: [Bool]
    ) throws -> GEEInformationForm {
        let p = coefficientCount
        switch choice {
        case .dense:
            return .dense
        case .sparse:
            let pattern = try sparsePattern(structure: structure, levelColumns: levelColumns)
            try pattern.checkCost()
            return .sparse(pattern)
        case .automatic:
            if p > GEEInformationForm.denseOrder {
                let pattern = try sparsePattern(structure: structure, levelColumns: levelColumns)
                if !pattern.prefersDense() {
                    try pattern.checkCost()
                    return .sparse(pattern)
                }
            }
            try GEE.checkDenseMemory(coefficientCount: p)
            return .dense
        }
    }

    /// The sums of the information matrix at an estimate (for QIC's independence model).
    func informationSums(_ estimate: GEEEstimate, pattern: GEESparsePattern) throws -> GEESparseSums {
        var sums = pattern.emptySums()
        _ = try jacobianTerms(estimate, information: &sums) { _, _, _, _ in }
        return sums
    }

    /// The covariances as `variance` gives them, from the sparse factor of A: the model-based
    /// A⁻¹, the sandwich A⁻¹ (Σ u₁u₁ᵀ) A⁻¹, and the scale's and correlation's rows of H⁻¹
    /// (B⁻¹ = −C⁻¹ B A⁻¹, D⁻¹ = −F⁻¹ (D A⁻¹ + E B⁻¹): 1 + q solves) against each cluster's
    /// scores, so that no p × p matrix is formed unless `formMatrices`.
    ///
    /// - Parameters:
    ///   - levelColumns: which coefficients are levels (their robust variances are left out
    ///     past `SparseSandwich.multiplyAddLimit` unless the matrices are formed).
    ///   - independence: the independence model's information Ω_I for CIC = trace(Ω_I V_R):
    ///     this model's own (`.this`, an independence model), another's, or none (no CIC).
    func sparseVariance(
        _ estimate: GEEEstimate, pattern: GEESparsePattern, levelColumns: [Bool], formMatrices: Bool,
        independence: IndependenceInformation, multiplyAddLimit: Double = SparseSandwich.multiplyAddLimit
    ) throws -> GEESparseVariance {
        let p = coefficientCount
        let q = correlation(structure: estimate.structure).parameterCount
        var sums = pattern.emptySums()
        var scores = GEEClusterScores()
        let terms = try jacobianTerms(estimate, information: &sums) { touched, u1, u2, u3 in
            scores.append(touched, u1, u2, u3)
        }
        let ldl = try pattern.factor(sums)
        let inverse = ldl.selectedInverse()
        let naiveVariances = (0..<p).map { inverse.entry($0, $0) }

        // Scale and correlation rows of H⁻¹.
        let cInverse = 1 / terms.c
        let bInverse = ldl.solve(terms.b).map { -cInverse * $0 }
        var scaleVariance = 0.0
        var alphaVariance = SmallMatrix(rows: q, columns: q)
        var dInverse = SmallMatrix(rows: q, columns: p)
        var eInverse = [Double](repeating: 0, count: q)
        var fInverse = SmallMatrix(rows: q, columns: q)
        if q > 0 {
            guard let inverted = terms.f.inverse() else {
                throw GLMError.fitFailed(message: "the correlation parameters' information matrix is singular; no covariance")
            }
            fInverse = inverted
            var rightHandSides = [Double](repeating: 0, count: p * q)
            for i in 0..<p {
                for k in 0..<q { rightHandSides[i * q + k] = terms.d[k, i] }
            }
            let solved = ldl.solve(interleaved: rightHandSides, count: q)  // A⁻¹ Dᵀ, p × q
            for k in 0..<q {
                for l in 0..<q { eInverse[k] += -cInverse * fInverse[k, l] * terms.e[l] }
                for i in 0..<p {
                    var sum = 0.0
                    for l in 0..<q { sum += fInverse[k, l] * (solved[i * q + l] + terms.e[l] * bInverse[i]) }
                    dInverse[k, i] = -sum
                }
            }
        }
        var row = [Double](repeating: 0, count: q)
        var dRows = (0..<q).map { k in (0..<p).map { dInverse[k, $0] } }
        for cluster in 0..<scores.count {
            let scaleTerm = scores.dot(cluster, bInverse) + cInverse * scores.scale[cluster]
            scaleVariance += scaleTerm * scaleTerm
            guard q > 0 else { continue }
            for k in 0..<q {
                var sum = scores.dot(cluster, dRows[k]) + eInverse[k] * scores.scale[cluster]
                for l in 0..<q { sum += fInverse[k, l] * scores.correlation[cluster * q + l] }
                row[k] = sum
            }
            alphaVariance.addOuterProduct(row, row)
        }
        dRows = []

        // Robust variances (and the matrices, and CIC), a batch of columns at a time.
        // CIC: for an independence model trace(A A⁻¹ M A⁻¹) = trace(M A⁻¹) = Σ_j (M z_j)_j, from
        // the first solve; for another, Σ_j (Ω_I's column j) · (A⁻¹ M z_j), a second.
        let independenceMatrix: SparseSymmetric?
        switch independence {
        case .none, .this: independenceMatrix = nil
        case let .other(other): independenceMatrix = other.pattern.full(other)
        }
        let wantsTrace: Bool
        if case .none = independence { wantsTrace = false } else { wantsTrace = true }
        let needsSecondSolve = formMatrices || independenceMatrix != nil
        let perColumn = Double(needsSecondSolve ? 4 : 2) * Double(ldl.counts.reduce(0, +)) + 4 * Double(scores.values.count)
            + Double(p)
        let levels = (0..<p).filter { levelColumns[$0] }
        let others = (0..<p).filter { !levelColumns[$0] }
        let levelsAffordable = formMatrices || Double(p) * perColumn <= multiplyAddLimit
        let columns = levelsAffordable ? Array(0..<p) : others
        let width = SparseSandwich.batchWidth
        try MemoryBudget.current().require(
            MemoryBudget.sum(
                MemoryBudget.bytes(doubles: p, width, 6), formMatrices ? MemoryBudget.bytes(doubles: p, p, 2) : 0),
            for: formMatrices
                ? "the GEE's \(MemoryBudget.describe(count: p)) × \(MemoryBudget.describe(count: p)) covariance matrices"
                : "the GEE's robust covariance solved as sparse",
            remedy: formMatrices ? "leave out --full-covariance" : "use fewer levels")
        var robustVariances = [Double](repeating: .nan, count: p)
        var naiveMatrix: [Double]? = formMatrices ? [Double](repeating: 0, count: p * p) : nil
        var robustMatrix: [Double]? = formMatrices ? [Double](repeating: 0, count: p * p) : nil
        var trace = 0.0
        for batchStart in stride(from: 0, to: columns.count, by: width) {
            let batch = Array(columns[batchStart..<min(batchStart + width, columns.count)])
            let b = batch.count
            var units = [Double](repeating: 0, count: p * b)
            for (k, column) in batch.enumerated() { units[column * b + k] = 1 }
            let z = ldl.solve(interleaved: units, count: b)
            // Y = (Σ u uᵀ) Z over the clusters' scores.
            var y = [Double](repeating: 0, count: p * b)
            var products = [Double](repeating: 0, count: b)
            for cluster in 0..<scores.count {
                let entries = scores.starts[cluster]..<scores.starts[cluster + 1]
                for k in 0..<b { products[k] = 0 }
                for entry in entries {
                    let base = Int(scores.columns[entry]) * b
                    let value = scores.values[entry]
                    for k in 0..<b { products[k] += value * z[base + k] }
                }
                for entry in entries {
                    let base = Int(scores.columns[entry]) * b
                    let value = scores.values[entry]
                    for k in 0..<b { y[base + k] += value * products[k] }
                }
            }
            for (k, column) in batch.enumerated() {
                var sum = 0.0
                for i in 0..<p { sum += z[i * b + k] * y[i * b + k] }
                robustVariances[column] = sum
                if wantsTrace && independenceMatrix == nil { trace += y[column * b + k] }
            }
            guard needsSecondSolve else { continue }
            let w = ldl.solve(interleaved: y, count: b)  // columns of A⁻¹ (Σ u uᵀ) A⁻¹
            for (k, column) in batch.enumerated() {
                if formMatrices {
                    for i in 0..<p {
                        naiveMatrix?[i + column * p] = z[i * b + k]
                        robustMatrix?[i + column * p] = w[i * b + k]
                    }
                }
                if let independenceMatrix {
                    for entry in independenceMatrix.columnStarts[column]..<independenceMatrix.columnStarts[column + 1] {
                        trace += independenceMatrix.values[entry] * w[Int(independenceMatrix.rowIndices[entry]) * b + k]
                    }
                }
            }
        }
        return GEESparseVariance(
            information: sums, naiveVariances: naiveVariances, robustVariances: robustVariances, naiveMatrix: naiveMatrix,
            robustMatrix: robustMatrix, scale: scaleVariance, alpha: alphaVariance,
            omittedLevels: levelsAffordable ? 0 : levels.count,
            cic: wantsTrace && levelsAffordable ? trace : nil)
    }
}
