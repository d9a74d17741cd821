import Foundation

/// The factorisation of a step whose normal equations were solved as sparse (two or more
/// factors of many levels, `BlockLayout.secondary`), for the covariance and the hat values.
public struct SparseFactor: Sendable {
    let ldl: SparseLDL
    /// As `BlockFactor.columnScales`.
    var columnScales: [Double] = []
}

/// Solves the normal equations of E, the secondary terms and the dense remainder as one
/// sparse symmetric system: the factors' levels in AMD's order, the remainder last (its
/// columns meet every level), LDLᵀ with R's in-order rule for aliased columns.
enum SparseBlockSolver {
    /// XᵀWX's entries (upper triangle, X's columns) and XᵀWz.
    static func assemble(
        _ equations: BlockNormalEquations, layout: BlockLayout, pairs: [(first: Int, second: Int)], structure: DesignStructure,
        columnCount: Int
    ) -> (matrix: SparseSymmetric, rhs: [Double]) {
        let r = layout.restCount
        var entries: [(row: Int, column: Int, value: Double)] = []
        var rhs = [Double](repeating: 0, count: columnCount)
        func addLevel(_ column: Int, diagonal: Double, rightHandSide: Double, table: ArraySlice<Double>) {
            entries.append((column, column, diagonal))
            rhs[column] = rightHandSide
            for (index, value) in zip(0..<r, table) where value != 0 {
                let other = layout.restColumns[index]
                entries.append((min(column, other), max(column, other), value))
            }
        }
        for level in 0..<layout.eliminatedWidth {
            addLevel(layout.eliminatedFirst + level, diagonal: equations.diagonal[level],
                     rightHandSide: equations.eliminatedRHS[level],
                     table: equations.cross[(level * r)..<((level + 1) * r)])
        }
        for (index, block) in layout.secondary.enumerated() {
            let first = structure.blocks[block].firstColumn
            for local in 0..<structure.blocks[block].width {
                let level = layout.secondaryFirst[index] + local
                addLevel(first + local, diagonal: equations.secondaryDiagonal[level],
                         rightHandSide: equations.secondaryRHS[level],
                         table: equations.secondaryCross[(level * r)..<((level + 1) * r)])
            }
        }
        for (index, pair) in pairs.enumerated() where equations.pairValues[index] != 0 {
            entries.append((min(pair.first, pair.second), max(pair.first, pair.second), equations.pairValues[index]))
        }
        for j in 0..<r {
            rhs[layout.restColumns[j]] = equations.rhs[j]
            for i in 0...j where equations.gram[i + j * r] != 0 {
                entries.append((layout.restColumns[i], layout.restColumns[j], equations.gram[i + j * r]))
            }
        }
        return (SparseSymmetric(order: columnCount, upperEntries: entries), rhs)
    }

    /// The factor's order (the levels by AMD, the remainder last), found once from the
    /// pattern of XᵀWX, and whether the dense remainder of `BlockLayout(structure:)` is the
    /// better way: when the sparse factor fills in nearly as much (two factors whose levels
    /// meet many of each other's) its scalar elimination costs more than LAPACK's dense
    /// Cholesky, which is then used if its matrices take at most half the memory available.
    static func plan(
        structure: DesignStructure, layout: BlockLayout, pairs: [(first: Int, second: Int)]
    ) throws -> (order: [Int], prefersDense: Bool) {
        let p = structure.columnCount
        var levels = Array(layout.eliminatedFirst..<(layout.eliminatedFirst + layout.eliminatedWidth))
        for block in layout.secondary { levels += Array(structure.blocks[block].columns) }
        levels.sort()
        var entries: [(row: Int, column: Int, value: Double)] = []
        for level in levels {
            entries.append((level, level, 1))
            for other in layout.restColumns { entries.append((min(level, other), max(level, other), 1)) }
        }
        for pair in pairs { entries.append((min(pair.first, pair.second), max(pair.first, pair.second), 1)) }
        for (j, column) in layout.restColumns.enumerated() {
            for row in layout.restColumns[...j] { entries.append((row, column, 1)) }
        }
        let pattern = SparseSymmetric(order: p, upperEntries: entries)
        let order = try pattern.minimumDegreeOrder(among: levels) + layout.restColumns
        let sparseCost = SparseLDL.columnCounts(pattern, permutation: order).reduce(0.0) { $0 + Double($1) * Double($1) }
        let m = layout.eliminatedWidth, rest = p - m
        let denseCost = Double(rest) * Double(rest) * Double(rest) / 3
        let denseBytes = MemoryBudget.sum(
            MemoryBudget.bytes(doubles: rest, rest, 4), MemoryBudget.bytes(doubles: m, rest, StructuredPass.rangeCount + 2))
        let fits = denseBytes.map { need in MemoryBudget.current().availableBytes.map { need * 2 <= $0 } ?? true } ?? false
        // LAPACK's blocked Cholesky does some ten multiply-adds for one of the scalar LDLᵀ.
        let prefersDense = fits && sparseCost * 10 > denseCost
        if !prefersDense, sparseCost > sparseMultiplyAddLimit {
            throw GLMError.fitFailed(
                message: "the sparse normal equations of \(MemoryBudget.describe(count: p)) coefficients fill in to some "
                    + "\(RFormat.format(sparseCost, digits: 2)) multiply-adds a step (their factors' levels meet too many "
                    + "of each other's), past the \(RFormat.format(sparseMultiplyAddLimit, digits: 2)) this fit allows "
                    + "(minutes a step), and the dense way does not fit in half the memory; use fewer levels, or "
                    + "factors whose levels meet fewer levels of the others")
        }
        return (order, prefersDense)
    }

    /// The sparse factor's order when the design is to be solved as sparse, nil when the dense
    /// remainder is the better way (`plan`); a `denseRestLimit` of 0 (tests) always solves as
    /// sparse.
    static func sparseOrder(
        structure: DesignStructure, layout: BlockLayout, pairs: [(first: Int, second: Int)], control: FitControl
    ) throws -> [Int]? {
        let plan = try plan(structure: structure, layout: layout, pairs: pairs)
        return plan.prefersDense && control.denseRestLimit > 0 ? nil : plan.order
    }

    /// The sparse factor's cost (Σ of its columns' squared counts, about its multiply-adds;
    /// the selected inverse costs some more) beyond which a fit is refused before it starts:
    /// scalar code does some 10⁹ a second, so a step would take minutes.
    static let sparseMultiplyAddLimit = 2e11

    /// The columns R's in-order rule declares aliased, decided once for the fit on XᵀX over
    /// the rows of positive prior weight (`unitEquations`): which columns depend on the
    /// others does not change with positive weights, and on XᵀWX with weights over many
    /// orders of magnitude (prior weights, or working weights under separation) rounding
    /// blurs the pivots of exactly dependent columns (kept) and of independent ones (dropped).
    static func aliasedColumns(
        _ unitEquations: BlockNormalEquations, layout: BlockLayout, pairs: [(first: Int, second: Int)],
        structure: DesignStructure, columnCount: Int, order: [Int]
    ) throws -> Set<Int> {
        let (matrix, _) = assemble(unitEquations, layout: layout, pairs: pairs, structure: structure, columnCount: columnCount)
        let ldl = try SparseLDL(matrix, permutation: order, tolerance: BlockSolver.aliasingTolerance)
        let original = matrix.diagonal()
        let dropped = Set(ldl.droppedColumns)
        // Levels without rows; the order above dropped as many others as R's rule does,
        // maybe not the same ones.
        let empty = Set((0..<columnCount).filter { !(original[$0] > 0) })
        let dependent = dropped.subtracting(empty)
        guard !dependent.isEmpty else { return empty }
        return try inOrderAliased(dependent: dependent, dropped: dropped, matrix: matrix, ldl: ldl).union(empty)
    }

    /// The step with the columns `aliasedColumns` found left out; every other pivot must be
    /// positive (a failed one is reported, named from `columnNames` when given, not dropped:
    /// dropping it would change the model).
    static func solve(
        _ equations: BlockNormalEquations, layout: BlockLayout, pairs: [(first: Int, second: Int)], structure: DesignStructure,
        columnCount: Int, order: [Int], aliased: Set<Int>, columnNames: [String] = []
    ) throws -> LeastSquaresSolution {
        let (matrix, rhs) = assemble(
            equations, layout: layout, pairs: pairs, structure: structure, columnCount: columnCount)
        let ldl = try SparseLDL(matrix, permutation: order, tolerance: 0, forced: aliased)
        if let failed = ldl.droppedColumns.first(where: { !aliased.contains($0) }) {
            let name = failed < columnNames.count ? "'\(columnNames[failed])'" : "\(failed + 1) of \(columnCount)"
            throw GLMError.fitFailed(
                message: "the sparse normal equations lost positive definiteness at coefficient \(name) (the working "
                    + "weights of its rows span too many orders of magnitude for them, as when its estimate diverges)")
        }
        let solution = ldl.solve(rhs)
        let kept = (0..<columnCount).filter { !aliased.contains($0) }
        let coefficients = (0..<columnCount).map { aliased.contains($0) ? 0 : solution[$0] }
        return LeastSquaresSolution(
            coefficients: coefficients, pivot: kept + aliased.sorted(), rank: kept.count, rFactor: [],
            sparseFactor: SparseFactor(ldl: ldl))
    }

    /// R's in-order aliased columns among a dependency the fill-reducing order found at
    /// other columns. Each dropped column q gives a null vector of XᵀWX (1 at q, the kept
    /// columns' −A_KK⁻¹A_Kq); in echelon form from the last column back, each vector's last
    /// non-zero column is aliased: the complement of the basis that keeps every column
    /// independent of the columns before it, which is R's rule. The vectors are held by
    /// their non-zero entries (a dependency of two factors' levels is one connected set of
    /// them), each reduced only against the vectors whose last column it meets.
    static func inOrderAliased(
        dependent: Set<Int>, dropped: Set<Int>, matrix: SparseSymmetric, ldl: SparseLDL
    ) throws -> Set<Int> {
        let p = matrix.order
        /// Entries by ascending column.
        typealias Vector = [(column: Int, value: Double)]
        var pivots: [Int: Vector] = [:]
        let columns = dependent.sorted()
        // The null vectors' solves 32 at a time: one sweep of the factor serves a batch (its
        // right-hand sides, the solve's two copies and the solutions).
        try MemoryBudget.current().require(
            MemoryBudget.bytes(doubles: p, min(columns.count, SparseSandwich.batchWidth), 4),
            for: "the null vectors of \(MemoryBudget.describe(count: columns.count)) aliased columns among "
                + "\(MemoryBudget.describe(count: p)) coefficients",
            remedy: "use fewer levels")
        var solved: [Double] = []
        var batchWidth = 0
        for (index, column) in columns.enumerated() {
            let k = index % SparseSandwich.batchWidth
            if k == 0 {
                let batch = columns[index..<min(index + SparseSandwich.batchWidth, columns.count)]
                batchWidth = batch.count
                var rightHandSides = [Double](repeating: 0, count: p * batchWidth)
                for (offset, batchColumn) in batch.enumerated() {
                    for (row, value) in matrix.column(batchColumn) where !dropped.contains(row) {
                        rightHandSides[row * batchWidth + offset] = -value
                    }
                }
                solved = ldl.solve(interleaved: rightHandSides, count: batchWidth)
            }
            var dense = (0..<p).map { solved[$0 * batchWidth + k] }
            dense[column] = 1
            let largest = dense.reduce(0) { max($0, abs($1)) }
            var vector: Vector = []
            for (index, value) in dense.enumerated() where abs(value) > 1e-10 * largest {
                vector.append((index, value / largest))
            }
            // Reduce its last entry against the vector with that pivot, until it has a last
            // column of its own (or vanishes: a dependency already counted).
            while let last = vector.last {
                guard abs(last.value) > 1e-7 else {
                    vector.removeLast()
                    continue
                }
                guard let pivot = pivots[last.column], let pivotLast = pivot.last else {
                    pivots[last.column] = vector
                    break
                }
                vector = combination(vector, pivot, ratio: -last.value / pivotLast.value)
                vector.removeAll { $0.column == last.column }
            }
        }
        return Set(pivots.keys)
    }

    /// a + ratio · b, by ascending column, entries below 1e-12 left out.
    private static func combination(
        _ a: [(column: Int, value: Double)], _ b: [(column: Int, value: Double)], ratio: Double
    ) -> [(column: Int, value: Double)] {
        var result: [(column: Int, value: Double)] = []
        result.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            let value: Double, column: Int
            if j == b.count || (i < a.count && a[i].column < b[j].column) {
                (column, value) = (a[i].column, a[i].value)
                i += 1
            } else if i == a.count || b[j].column < a[i].column {
                (column, value) = (b[j].column, ratio * b[j].value)
                j += 1
            } else {
                (column, value) = (a[i].column, a[i].value + ratio * b[j].value)
                i += 1
                j += 1
            }
            if abs(value) > 1e-12 { result.append((column, value)) }
        }
        return result
    }
}

/// (XᵀWX)⁻¹ of a step solved as sparse, entry by entry: the selected inverse (every entry
/// where the factor has one, which includes every pair of columns that share a row) and a
/// solve for any other.
public struct SparseCovariance: EntryCovariance {
    let inverse: SelectedInverse
    let scales: [Double]

    init(factor: SparseFactor) {
        inverse = factor.ldl.selectedInverse()
        scales = factor.columnScales.contains { $0 != 1 } ? factor.columnScales : []
    }

    func scale(_ column: Int) -> Double { column >= 0 && column < scales.count ? scales[column] : 1 }

    func scaled(_ structure: DesignStructure) -> DesignStructure {
        scales.isEmpty ? structure : ColumnScaling.scaled(structure, by: scales)
    }

    func scaledEntry(_ first: Int, _ second: Int) -> Double {
        guard first >= 0, second >= 0, first < inverse.factor.order, second < inverse.factor.order else { return .nan }
        return inverse.entry(first, second)
    }

    public func entry(_ first: Int, _ second: Int) -> Double {
        scaledEntry(first, second) * scale(first) * scale(second)
    }

    public func standardErrors(dispersion: Double) -> [Double] {
        (0..<inverse.factor.order).map { (dispersion * scaledEntry($0, $0)).squareRoot() * scale($0) }
    }

    public func variances() -> [Double] {
        (0..<inverse.factor.order).map { entry($0, $0) }
    }

    /// The submatrix for some columns, as rows: a solve per column off the factor's pattern
    /// (one sweep of the factor for `SparseSandwich.batchWidth` of them), not one per entry.
    public func matrix(columns: [Int]) -> [[Double]] {
        let factor = inverse.factor, order = factor.order
        var result = [[Double]](repeating: [Double](repeating: .nan, count: columns.count), count: columns.count)
        let solvable = columns.indices.filter { j in
            columns[j] >= 0 && columns[j] < order && !factor.dropped[factor.position[columns[j]]]
        }
        let width = SparseSandwich.batchWidth
        for start in stride(from: 0, to: solvable.count, by: width) {
            let batch = solvable[start..<min(start + width, solvable.count)]
            let b = batch.count
            var units = [Double](repeating: 0, count: order * b)
            for (k, j) in batch.enumerated() { units[columns[j] * b + k] = 1 }
            let solutions = factor.solve(interleaved: units, count: b)
            for (k, j) in batch.enumerated() {
                let second = columns[j]
                for i in solvable {
                    let first = columns[i]
                    result[i][j] = solutions[first * b + k] * scale(first) * scale(second)
                }
            }
        }
        return result
    }
}
