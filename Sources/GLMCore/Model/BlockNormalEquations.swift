import CLapack
import Foundation

/// Which columns of a structured design are eliminated as a diagonal block, and where every
/// other column sits in the dense remainder.
///
/// The widest indicator term E has a diagonal XᵀWX block (its columns never share a row), so
/// the normal equations are solved by eliminating it: the remainder R (every other column, r
/// of them) gets the dense Schur complement S = X_RᵀWX_R − BᵀD⁻¹B, with D the diagonal and B
/// the table of E against R. The cost is one pass over the rows and an r × r Cholesky,
/// whatever the number of levels.
public struct BlockLayout: Sendable {
    /// The eliminated term (an index into `structure.blocks`), or nil when there is none.
    let eliminated: Int?
    /// Its first column in X and its width (m).
    let eliminatedFirst: Int
    let eliminatedWidth: Int
    /// Other indicator terms held apart from the dense remainder, as E is, when the remainder
    /// would be too large to be dense (a second factor of many levels): indices into
    /// `structure.blocks`, each term's first place among their levels (`secondaryWidth` in
    /// all). Their normal equations are sparse and solved by `SparseBlockSolver`; empty
    /// otherwise.
    let secondary: [Int]
    let secondaryFirst: [Int]
    let secondaryWidth: Int
    /// The remainder's columns in X, in X's order, and each X column's place there (-1 for E
    /// and the secondary terms).
    let restColumns: [Int]
    let restIndex: [Int]
    /// The remainder's columns that come before E in X (R's order puts them first).
    let precedingCount: Int

    var restCount: Int { restColumns.count }
    var isSparse: Bool { !secondary.isEmpty }

    /// - Parameter denseRestLimit: when given and the remainder would have more columns, the
    ///   other indicator terms of at least `secondaryMinimumWidth` columns are held apart.
    /// Which factor terms (of these widths, among `columnCount` columns) are held apart: the
    /// widest is eliminated, and when the columns besides it pass `denseRestLimit` the others
    /// of at least `minimumWidth` are solved as sparse with it. Indices into `widths`; the
    /// design's memory estimate uses it before the structure exists.
    static func heldApart(
        widths: [Int], columnCount: Int, denseRestLimit: Int?, minimumWidth: Int
    ) -> (eliminated: Int?, secondary: [Int]) {
        let widest = widths.indices.max { widths[$0] < widths[$1] }
        guard let widest, let denseRestLimit, columnCount - widths[widest] > denseRestLimit else { return (widest, []) }
        return (widest, widths.indices.filter { $0 != widest && widths[$0] >= minimumWidth })
    }

    init(structure: DesignStructure, denseRestLimit: Int? = nil, secondaryMinimumWidth: Int = secondaryMinimumWidth) {
        let (widest, secondary) = BlockLayout.heldApart(
            widths: structure.blocks.map(\.width), columnCount: structure.columnCount, denseRestLimit: denseRestLimit,
            minimumWidth: secondaryMinimumWidth)
        eliminated = widest
        let block = widest.map { structure.blocks[$0] }
        eliminatedFirst = block?.firstColumn ?? 0
        eliminatedWidth = block?.width ?? 0
        var apart = [Bool](repeating: false, count: structure.columnCount)
        for column in block?.columns ?? 0..<0 where column < apart.count { apart[column] = true }
        var secondaryFirst: [Int] = []
        var secondaryWidth = 0
        for index in secondary {
            secondaryFirst.append(secondaryWidth)
            secondaryWidth += structure.blocks[index].width
            for column in structure.blocks[index].columns where column < apart.count { apart[column] = true }
        }
        self.secondary = secondary
        self.secondaryFirst = secondaryFirst
        self.secondaryWidth = secondaryWidth
        var restIndex = [Int](repeating: -1, count: structure.columnCount)
        var restColumns: [Int] = []
        for column in 0..<structure.columnCount where !apart[column] {
            restIndex[column] = restColumns.count
            restColumns.append(column)
        }
        self.restIndex = restIndex
        self.restColumns = restColumns
        precedingCount = restColumns.count { $0 < (block?.firstColumn ?? 0) }
    }

    /// The narrowest indicator term held apart from the remainder.
    public static let secondaryMinimumWidth = 100

    /// The remainder's largest dense size in the in-memory fit: beyond it, the other factors
    /// of many levels are held apart and the equations solved as sparse. An r × r Cholesky
    /// of 4,000 columns is some 0.1 s and 128 MB a step.
    public static let denseRestLimit = 4_000
}

/// XᵀWX and XᵀWz of a structured design by blocks (see `BlockLayout`).
struct BlockNormalEquations: Sendable {
    /// E's diagonal (m) and right-hand side (m).
    var diagonal: [Double]
    var eliminatedRHS: [Double]
    /// E against the remainder, m × r, a row of r per level (level-major).
    var cross: [Double]
    /// The remainder's own XᵀWX (r × r, upper triangle, column-major) and XᵀWz (r).
    var gram: [Double]
    var rhs: [Double]
    /// The secondary terms' levels (`BlockLayout.secondary`): their diagonal and right-hand
    /// side, their table against the remainder (a row of r per level), and the entries of
    /// the pairs of levels of two apart terms (E's included) that share rows, in the order of
    /// the pass's `LevelPairs`.
    var secondaryDiagonal: [Double]
    var secondaryRHS: [Double]
    var secondaryCross: [Double]
    var pairValues: [Double]

    init(layout: BlockLayout, pairCount: Int = 0) {
        self.init(eliminatedWidth: layout.eliminatedWidth, restCount: layout.restCount,
                  secondaryWidth: layout.secondaryWidth, pairCount: pairCount)
    }

    /// Sized for E's m levels against r other columns (the remainder, or the level space
    /// of `ContrastProjection`).
    init(eliminatedWidth m: Int, restCount r: Int, secondaryWidth: Int = 0, pairCount: Int = 0) {
        diagonal = [Double](repeating: 0, count: m)
        eliminatedRHS = [Double](repeating: 0, count: m)
        cross = [Double](repeating: 0, count: m * r)
        gram = [Double](repeating: 0, count: r * r)
        rhs = [Double](repeating: 0, count: r)
        secondaryDiagonal = [Double](repeating: 0, count: secondaryWidth)
        secondaryRHS = [Double](repeating: 0, count: secondaryWidth)
        secondaryCross = [Double](repeating: 0, count: secondaryWidth * r)
        pairValues = [Double](repeating: 0, count: pairCount)
    }

    mutating func add(_ other: BlockNormalEquations) {
        func add(_ target: inout [Double], _ source: [Double]) {
            target.withUnsafeMutableBufferPointer { target in
                source.withUnsafeBufferPointer { source in
                    for index in 0..<min(target.count, source.count) { target[index] += source[index] }
                }
            }
        }
        add(&diagonal, other.diagonal)
        add(&eliminatedRHS, other.eliminatedRHS)
        add(&cross, other.cross)
        add(&gram, other.gram)
        add(&rhs, other.rhs)
        add(&secondaryDiagonal, other.secondaryDiagonal)
        add(&secondaryRHS, other.secondaryRHS)
        add(&secondaryCross, other.secondaryCross)
        add(&pairValues, other.pairValues)
    }
}

/// The remainder's columns with every contrast term (`DesignStructure.ContrastBlock`) in
/// level space: one column per level (the rows' multipliers), as if the term were coded by
/// indicators of every level. The pass adds up the normal equations in that space, where a
/// row has one entry per term, and they are then mapped to X's columns by T (level space ×
/// remainder: identity on the other columns, C on a term's levels): XᵀWX = Tᵀ(·)T, XᵀWz =
/// Tᵀ(·), E's table (·)T. A per-pass cost of O(n + Σ nnz(C rows)² + …), never n × width.
struct ContrastProjection: Sendable {
    /// The columns of level space (r′).
    let count: Int
    /// Each remainder column's place in level space (-1 for a contrast term's column).
    let spaceIndex: [Int]
    /// Each contrast term's first level in level space.
    let levelFirst: [Int]
    /// T by rows of level space: the remainder columns and the values there.
    let rows: [[(column: Int, value: Double)]]
    /// The contrast terms whose C is mostly non-zero (Helmert, poly): their own block
    /// Cᵀ·diag·C is formed by dsyrk on C as values, not entry by entry. Each with its
    /// first level in level space, level count, first remainder column, width and C
    /// (row-major).
    let denseTerms: [(levelFirst: Int, levelCount: Int, restFirst: Int, width: Int, contrasts: [Double])]
    /// Whether a level-space column is a level of a `denseTerms` term.
    let inDenseTerm: [Bool]

    init(structure: DesignStructure, layout: BlockLayout) {
        var inContrast = [Bool](repeating: false, count: structure.columnCount)
        for block in structure.contrastBlocks {
            for column in block.columns where column < inContrast.count { inContrast[column] = true }
        }
        var spaceIndex = [Int](repeating: -1, count: layout.restCount)
        var rows: [[(column: Int, value: Double)]] = []
        for (index, column) in layout.restColumns.enumerated() where !inContrast[column] {
            spaceIndex[index] = rows.count
            rows.append([(index, 1)])
        }
        var levelFirst: [Int] = []
        var denseTerms: [(levelFirst: Int, levelCount: Int, restFirst: Int, width: Int, contrasts: [Double])] = []
        var inDenseTerm = [Bool](repeating: false, count: rows.count)
        for block in structure.contrastBlocks {
            levelFirst.append(rows.count)
            let restFirst = block.firstColumn < layout.restIndex.count ? layout.restIndex[block.firstColumn] : -1
            let nonZeros = block.nonZeroRows()
            for entries in nonZeros {
                rows.append(restFirst < 0 ? [] : entries.map { (restFirst + $0.column, $0.value) })
            }
            // Entry by entry costs Σ nnz² per pass; dsyrk L·width², some eight times faster
            // per operation.
            let entryCost = nonZeros.reduce(0) { $0 + $1.count * $1.count }
            let dense = restFirst >= 0 && block.width > 8 && entryCost > block.levelCount * block.width * block.width / 8
            if dense {
                denseTerms.append((levelFirst.last ?? 0, block.levelCount, restFirst, block.width, block.contrasts))
            }
            inDenseTerm += [Bool](repeating: dense, count: nonZeros.count)
        }
        self.spaceIndex = spaceIndex
        self.levelFirst = levelFirst
        self.rows = rows
        self.denseTerms = denseTerms
        self.inDenseTerm = inDenseTerm
        count = rows.count
    }

    /// The equations in level space mapped to the remainder's columns (E's part unchanged).
    func project(_ space: BlockNormalEquations, layout: BlockLayout) -> BlockNormalEquations {
        var result = BlockNormalEquations(layout: layout)
        let r = layout.restCount, s = count
        result.diagonal = space.diagonal
        result.eliminatedRHS = space.eliminatedRHS
        result.secondaryDiagonal = space.secondaryDiagonal
        result.secondaryRHS = space.secondaryRHS
        result.pairValues = space.pairValues
        result.cross = projectTable(space.cross, levels: layout.eliminatedWidth, restCount: r)
        result.secondaryCross = projectTable(space.secondaryCross, levels: layout.secondaryWidth, restCount: r)
        space.gram.withUnsafeBufferPointer { source in
            result.gram.withUnsafeMutableBufferPointer { gram in
                for u in 0..<s {
                    for v in 0...u {
                        if v == u && inDenseTerm[v] { continue }
                        let value = source[v + u * s]
                        guard value != 0 else { continue }
                        // Sᵢⱼ += Σ Tᵥᵢ G′ᵥᵤ Tᵤⱼ over both orders of v ≠ u (the upper triangle
                        // holds one of them), once for v = u.
                        for (i, a) in rows[v] {
                            for (j, b) in rows[u] {
                                if v == u && i > j { continue }
                                let term = value * a * b
                                gram[min(i, j) + max(i, j) * r] += v != u && i == j ? 2 * term : term
                            }
                        }
                    }
                }
            }
        }
        for term in denseTerms {
            // Cᵀ diag(s) C = (√s C)ᵀ(√s C) into the term's diagonal block of the remainder.
            var scaled = term.contrasts
            for level in 0..<term.levelCount {
                let v = term.levelFirst + level
                let root = Swift.max(space.gram[v + v * s], 0).squareRoot()
                for column in 0..<term.width { scaled[level * term.width + column] *= root }
            }
            guard let n = try? BlockSolver.lapackOrder(term.width), let k = try? BlockSolver.lapackOrder(term.levelCount),
                  var ldc = try? BlockSolver.lapackOrder(r) else { continue }
            var uplo = Int8(UInt8(ascii: "U")), trans = Int8(UInt8(ascii: "N"))
            var order = n, inner = k, lda = n
            var alpha = 1.0, beta = 1.0
            result.gram.withUnsafeMutableBufferPointer { gram in
                guard let base = gram.baseAddress else { return }
                dsyrk_(&uplo, &trans, &order, &inner, &alpha, scaled, &lda, &beta, base + term.restFirst + term.restFirst * r, &ldc, 1, 1)
            }
        }
        for v in 0..<s where space.rhs[v] != 0 {
            for (i, a) in rows[v] { result.rhs[i] += a * space.rhs[v] }
        }
        return result
    }

    /// A table of levels against level space (a row per level) as against the remainder's
    /// columns: each row times T.
    private func projectTable(_ table: [Double], levels: Int, restCount r: Int) -> [Double] {
        var result = [Double](repeating: 0, count: levels * r)
        let s = count
        table.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { target in
                for level in 0..<levels {
                    for v in 0..<s {
                        let value = source[level * s + v]
                        guard value != 0 else { continue }
                        for (i, a) in rows[v] { target[level * r + i] += value * a }
                    }
                }
            }
        }
        return result
    }
}

/// (XᵀWX)⁻¹ of a step solved by blocks or as sparse, entry by entry, as the fit scaled its
/// columns (`ColumnScaling`): what the hat values need.
protocol EntryCovariance: Sendable {
    func scaledEntry(_ first: Int, _ second: Int) -> Double
    func scaled(_ structure: DesignStructure) -> DesignStructure
    /// X's entries (scaled back), every column's variance and √(φ·variance), a submatrix.
    func entry(_ first: Int, _ second: Int) -> Double
    func variances() -> [Double]
    func standardErrors(dispersion: Double) -> [Double]
    func matrix(columns: [Int]) -> [[Double]]
}

extension EntryCovariance {
    /// xᵀ(XᵀWX)⁻¹x for a row of the scaled columns (`scaled(_:)`) given as its non-zero
    /// entries (column, value): O(entries²).
    func scaledQuadraticForm(_ entries: [(column: Int, value: Double)]) -> Double {
        var sum = 0.0
        for (first, firstValue) in entries {
            for (second, secondValue) in entries {
                let value = scaledEntry(first, second)
                if !value.isNaN { sum += firstValue * value * secondValue }
            }
        }
        return sum
    }
}

/// The factorisation of a structured step, kept with its solution for the covariance and the
/// hat values: (XᵀWX)⁻¹ over the kept columns is
///
///     [ D⁻¹ + A S⁻¹ Aᵀ   −A S⁻¹ ]
///     [ −S⁻¹ Aᵀ            S⁻¹  ]      with A = D⁻¹B,
///
/// so every entry is found from D, B and the r × r Cholesky factor of S, never a p × p matrix.
public struct BlockFactor: Sendable {
    let layout: BlockLayout
    /// E's kept levels (columns within E) and the remainder's kept columns (indices into it).
    let keptEliminated: [Int]
    let keptRest: [Int]
    let diagonal: [Double]
    let cross: [Double]
    /// Upper Cholesky factor of S over the kept remainder (column-major).
    let choleskyFactor: [Double]
    /// The powers of two the columns were fitted scaled by (`ColumnScaling`; empty when all
    /// are 1): the numbers above are those of X·S, whose normal equations a double holds.
    var columnScales: [Double] = []
}

/// Solves the block normal equations with R's in-order rule for aliased columns.
enum BlockSolver {
    /// A column is aliased when its squared norm, after removing the columns kept before it,
    /// is below this fraction of its squared norm. R's QR test is 1e-7 on norms (1e-14 here):
    /// normal equations lose that much to rounding, so a column this close to the others'
    /// span (a norm ratio below 3e-6) is declared aliased — a design R would keep only with
    /// standard errors some 10⁵ times inflated.
    static let aliasingTolerance = 1e-11

    static func lapackOrder(_ value: Int) throws -> Int32 {
        guard let converted = Int32(exactly: value) else {
            throw GLMError.fitFailed(message: "a matrix of order \(value) is too large for LAPACK's 32-bit indices")
        }
        return converted
    }

    /// A remaining squared norm below this fraction of the original makes a step
    /// ill-conditioned: where X is small enough to build, QR then decides, as in R.
    static let conditionTolerance = 1e-8

    /// X as values (with QR's two weighted copies) up to this size for a near-singular step.
    static let qrFallbackBytes = 1 << 30

    /// QR on the design's cells up to this many multiply-adds (rows × p²; about a minute
    /// here): InstEval's `good ~ service + d * factor(studage)` is 2·10¹¹. Beyond, the
    /// aliased columns are those of the in-order search on XᵀWX.
    static let qrOnCellsMultiplyAdds = 2.5e11

    /// The step, and whether the equations are near singular (an aliased column other than a
    /// level without rows, or a remaining squared norm below `conditionTolerance`).
    static func solve(
        _ equations: BlockNormalEquations, layout: BlockLayout, columnCount: Int
    ) throws -> (solution: LeastSquaresSolution, nearSingular: Bool) {
        let m = layout.eliminatedWidth, r = layout.restCount
        var aliasedEliminated = Set((0..<m).filter { !(equations.diagonal[$0] > 0) })
        var attempt = try eliminate(equations, layout: layout, aliasedEliminated: aliasedEliminated)
        // Aliasing among the columns before E and E itself: eliminating E first would declare
        // the earlier column aliased where R (in order) declares a level of E.
        let preceding = Array(0..<layout.precedingCount)
        let aliasedPreceding = Set(preceding).subtracting(attempt.keptRest)
        if !aliasedPreceding.isEmpty {
            let ownAliased = try aliasedInOrder(gram: equations.gram, order: r, among: preceding)
            if !aliasedPreceding.isSubset(of: ownAliased) {
                let kept = preceding.filter { !ownAliased.contains($0) }
                aliasedEliminated.formUnion(
                    try eliminatedAliasedAfter(kept, equations: equations, layout: layout, excluded: aliasedEliminated))
                attempt = try eliminate(equations, layout: layout, aliasedEliminated: aliasedEliminated)
            }
        }
        let solution = try finish(attempt, equations: equations, layout: layout, columnCount: columnCount,
                                  aliasedEliminated: aliasedEliminated)
        let emptyLevels = (0..<m).count { !(equations.diagonal[$0] > 0) }
        let nearSingular = attempt.smallestRatio < conditionTolerance
            || columnCount - solution.rank > emptyLevels
        return (solution, nearSingular)
    }

    /// The step with the columns `aliased` left out (a rule decided them at an earlier step:
    /// QR on the design's cells), and whether it is ill-conditioned; nil when the normal
    /// equations of the other columns are not positive definite to working precision.
    static func solve(
        _ equations: BlockNormalEquations, layout: BlockLayout, columnCount: Int, aliased: Set<Int>
    ) -> (solution: LeastSquaresSolution, nearSingular: Bool)? {
        let m = layout.eliminatedWidth
        let aliasedEliminated = Set((0..<m).filter { aliased.contains(layout.eliminatedFirst + $0) || !(equations.diagonal[$0] > 0) })
        let keptRest = (0..<layout.restCount).filter { !aliased.contains(layout.restColumns[$0]) }
        guard let attempt = try? eliminate(equations, layout: layout, aliasedEliminated: aliasedEliminated, keptRest: keptRest),
              let solution = try? finish(attempt, equations: equations, layout: layout, columnCount: columnCount,
                                         aliasedEliminated: aliasedEliminated) else { return nil }
        return (solution, attempt.smallestRatio < conditionTolerance)
    }

    /// The coefficients from an elimination: the remainder's from S, then E's by
    /// back-substitution; the aliased columns after the kept ones in the pivot.
    private static func finish(
        _ attempt: Elimination, equations: BlockNormalEquations, layout: BlockLayout, columnCount: Int,
        aliasedEliminated: Set<Int>
    ) throws -> LeastSquaresSolution {
        let m = layout.eliminatedWidth, r = layout.restCount
        var coefficients = [Double](repeating: 0, count: columnCount)
        let keptRest = attempt.keptRest
        var restSolution = keptRest.map { attempt.rhs[$0] }
        if !keptRest.isEmpty {
            var uplo = Int8(UInt8(ascii: "U"))
            var n = try lapackOrder(keptRest.count)
            var nrhs: Int32 = 1
            var info: Int32 = 0
            dpotrs_(&uplo, &n, &nrhs, attempt.factor, &n, &restSolution, &n, &info, 1)
            guard info == 0 else { throw GLMError.fitFailed(message: "the block normal equations could not be solved") }
        }
        var restValues = [Double](repeating: 0, count: r)
        for (position, index) in keptRest.enumerated() {
            restValues[index] = restSolution[position]
            coefficients[layout.restColumns[index]] = restSolution[position]
        }
        let keptEliminated = (0..<m).filter { !aliasedEliminated.contains($0) }
        equations.cross.withUnsafeBufferPointer { cross in
            for level in keptEliminated {
                var value = equations.eliminatedRHS[level]
                let row = level * r
                for index in keptRest { value -= cross[row + index] * restValues[index] }
                coefficients[layout.eliminatedFirst + level] = value / equations.diagonal[level]
            }
        }
        let keptColumns = (keptEliminated.map { layout.eliminatedFirst + $0 } + keptRest.map { layout.restColumns[$0] }).sorted()
        let keptSet = Set(keptColumns)
        let aliasedColumns = (0..<columnCount).filter { !keptSet.contains($0) }
        let factor = BlockFactor(
            layout: layout, keptEliminated: keptEliminated, keptRest: keptRest, diagonal: equations.diagonal,
            cross: equations.cross, choleskyFactor: attempt.factor)
        return LeastSquaresSolution(
            coefficients: coefficients, pivot: keptColumns + aliasedColumns, rank: keptColumns.count, rFactor: [],
            blockFactor: factor)
    }

    /// The factor by blocks of the columns QR kept (`aliased` are the others), for the
    /// covariance and everything after the fit to work on blocks; nil when the normal
    /// equations of those columns are not positive definite to working precision.
    static func factor(
        _ equations: BlockNormalEquations, layout: BlockLayout, aliased: Set<Int>
    ) -> BlockFactor? {
        let m = layout.eliminatedWidth
        let aliasedEliminated = Set((0..<m).filter { aliased.contains(layout.eliminatedFirst + $0) || !(equations.diagonal[$0] > 0) })
        let keptRest = (0..<layout.restCount).filter { !aliased.contains(layout.restColumns[$0]) }
        guard let attempt = try? eliminate(equations, layout: layout, aliasedEliminated: aliasedEliminated, keptRest: keptRest) else {
            return nil
        }
        return BlockFactor(
            layout: layout, keptEliminated: (0..<m).filter { !aliasedEliminated.contains($0) }, keptRest: keptRest,
            diagonal: equations.diagonal, cross: equations.cross, choleskyFactor: attempt.factor)
    }

    /// S and its right-hand side with E's kept levels eliminated, S's Cholesky factor over
    /// the remainder's columns that are not aliased (in order), and those columns.
    private struct Elimination {
        var rhs: [Double]
        var keptRest: [Int]
        var factor: [Double]
        /// The smallest remaining squared norm over the original, among the kept columns.
        var smallestRatio: Double
    }

    private static func eliminate(
        _ equations: BlockNormalEquations, layout: BlockLayout, aliasedEliminated: Set<Int>, keptRest given: [Int]? = nil
    ) throws -> Elimination {
        let m = layout.eliminatedWidth, r = layout.restCount
        var schur = equations.gram
        var rhs = equations.rhs
        let kept = (0..<m).filter { !aliasedEliminated.contains($0) }
        let nonZeros = r > 0 ? rowNonZeros(equations.cross, rows: kept, width: r) : []
        let sparse = nonZeros.reduce(0) { $0 + $1.count } * 4 < kept.count * r
        if r > 0, m > 0, sparse {
            // Most of B is zero (a level meets a few levels of another factor): each level's
            // outer product over its non-zero entries only.
            equations.cross.withUnsafeBufferPointer { cross in
                schur.withUnsafeMutableBufferPointer { schur in
                    for (position, level) in kept.enumerated() {
                        let inverse = 1 / equations.diagonal[level]
                        let ratio = equations.eliminatedRHS[level] * inverse
                        let entries = nonZeros[position]
                        for (a, i) in entries.enumerated() {
                            let scaled = cross[level * r + i] * inverse
                            rhs[i] -= cross[level * r + i] * ratio
                            // Ascending: every later entry is in the upper triangle.
                            for j in entries[a...] { schur[i + j * r] -= scaled * cross[level * r + j] }
                        }
                    }
                }
            }
        } else if r > 0, m > 0 {
            // B's rows scaled by 1/√D (aliased levels left out), then S −= BₛᵀBₛ by dsyrk.
            var scaled = [Double](repeating: 0, count: kept.count * r)
            equations.cross.withUnsafeBufferPointer { cross in
                scaled.withUnsafeMutableBufferPointer { scaled in
                    for (position, level) in kept.enumerated() {
                        let root = equations.diagonal[level].squareRoot()
                        let ratio = equations.eliminatedRHS[level] / equations.diagonal[level]
                        for index in 0..<r {
                            let value = cross[level * r + index]
                            scaled[position * r + index] = value / root
                            rhs[index] -= value * ratio
                        }
                    }
                }
            }
            if !kept.isEmpty {
                var uplo = Int8(UInt8(ascii: "U"))
                var trans = Int8(UInt8(ascii: "N"))
                var n = try lapackOrder(r)
                var k = try lapackOrder(kept.count)
                var alpha = -1.0
                var beta = 1.0
                dsyrk_(&uplo, &trans, &n, &k, &alpha, scaled, &n, &beta, &schur, &n, 1, 1)
            }
        }
        let original = (0..<r).map { equations.gram[$0 + $0 * r] }
        let keptRest: [Int], factor: [Double]
        if let given {
            guard let givenFactor = try factorIfFullRank(schur, order: r, among: given, originalDiagonal: original) else {
                throw GLMError.fitFailed(message: "the normal equations of the kept columns are not positive definite")
            }
            (keptRest, factor) = (given, givenFactor)
        } else {
            (keptRest, factor) = try choleskyInOrder(schur, order: r, originalDiagonal: original)
        }
        var smallestRatio = Double.infinity
        for (j, index) in keptRest.enumerated() {
            let pivot = factor[j + j * keptRest.count]
            smallestRatio = min(smallestRatio, pivot * pivot / original[index])
        }
        return Elimination(rhs: rhs, keptRest: keptRest, factor: factor, smallestRatio: smallestRatio)
    }

    /// The columns where each of some rows of a row-major matrix is non-zero, in order.
    static func rowNonZeros(_ matrix: [Double], rows: [Int], width: Int) -> [[Int]] {
        matrix.withUnsafeBufferPointer { matrix in
            rows.map { row in (0..<width).filter { matrix[row * width + $0] != 0 } }
        }
    }

    /// The Cholesky factor of a positive semi-definite matrix (upper triangle given,
    /// column-major) with R's in-order rule: a column whose remaining squared norm is below
    /// `aliasingTolerance` times `originalDiagonal` is aliased and left out. LAPACK's blocked
    /// dpotrf when nothing is aliased; a column-by-column search otherwise.
    static func choleskyInOrder(_ matrix: [Double], order: Int, originalDiagonal: [Double]) throws -> (kept: [Int], factor: [Double]) {
        guard order > 0 else { return ([], []) }
        let all = Array(0..<order)
        if let factor = try factorIfFullRank(matrix, order: order, among: all, originalDiagonal: originalDiagonal) {
            return (all, factor)
        }
        let aliased = try aliasedInOrder(gram: matrix, order: order, among: all, originalDiagonal: originalDiagonal)
        let kept = all.filter { !aliased.contains($0) }
        guard let factor = try factorIfFullRank(matrix, order: order, among: kept, originalDiagonal: originalDiagonal) else {
            throw GLMError.fitFailed(message: "the normal equations of the factor blocks are not positive definite")
        }
        return (kept, factor)
    }

    /// The upper Cholesky factor of the submatrix `among`, or nil when a pivot fails the
    /// aliasing test.
    private static func factorIfFullRank(
        _ matrix: [Double], order: Int, among columns: [Int], originalDiagonal: [Double]
    ) throws -> [Double]? {
        let k = columns.count
        guard k > 0 else { return [] }
        var sub = [Double](repeating: 0, count: k * k)
        for (j, column) in columns.enumerated() {
            for (i, row) in columns[...j].enumerated() { sub[i + j * k] = matrix[row + column * order] }
        }
        var uplo = Int8(UInt8(ascii: "U"))
        var n = try lapackOrder(k)
        var info: Int32 = 0
        dpotrf_(&uplo, &n, &sub, &n, &info, 1)
        guard info == 0 else { return nil }
        for (j, column) in columns.enumerated() {
            let pivot = sub[j + j * k]
            guard pivot * pivot >= aliasingTolerance * originalDiagonal[column], pivot.isFinite else { return nil }
        }
        return sub
    }

    /// The columns among `columns` (in that order) that R's in-order rule declares aliased,
    /// by a column-by-column Cholesky of the matrix (upper triangle, column-major).
    static func aliasedInOrder(
        gram: [Double], order: Int, among columns: [Int], originalDiagonal: [Double]? = nil
    ) throws -> Set<Int> {
        let k = columns.count
        try MemoryBudget.current().require(
            MemoryBudget.bytes(doubles: k, k),
            for: "finding the aliased columns of the \(MemoryBudget.describe(count: k)) columns' normal equations",
            remedy: "use fewer levels or terms")
        // The factor's rows found so far, one per kept column, compact: factor[p + j·k] = L
        // of the p-th kept column at column j. Each new row is one dgemv against them (the
        // scalar loop it replaces took 98% of a 4,513-column fit's 213 s).
        var factor = [Double](repeating: 0, count: k * k)
        var row = [Double](repeating: 0, count: k)
        var keptCount = 0
        var aliased = Set<Int>()
        func entry(_ i: Int, _ j: Int) -> Double {
            let (a, b) = (columns[min(i, j)], columns[max(i, j)])
            return gram[a + b * order]
        }
        var lda = try lapackOrder(k)
        var increment: Int32 = 1
        var trans = Int8(UInt8(ascii: "T"))
        var minusOne = -1.0, one = 1.0
        for j in 0..<k {
            var pivot = entry(j, j)
            for p in 0..<keptCount { pivot -= factor[p + j * k] * factor[p + j * k] }
            let original = originalDiagonal?[columns[j]] ?? entry(j, j)
            guard pivot > 0, pivot >= aliasingTolerance * original else {
                aliased.insert(columns[j])
                continue
            }
            let root = pivot.squareRoot()
            let later = k - j - 1
            if later > 0 {
                // row = G[j, later columns] − Lᵀ[later columns] · L[j].
                for index in 0..<later { row[index] = entry(j, j + 1 + index) }
                if keptCount > 0 {
                    var rows = try lapackOrder(keptCount)
                    var count = try lapackOrder(later)
                    factor.withUnsafeBufferPointer { factor in
                        guard let base = factor.baseAddress else { return }
                        dgemv_(&trans, &rows, &count, &minusOne, base + (j + 1) * k, &lda, base + j * k, &increment,
                               &one, &row, &increment, 1)
                    }
                }
                for index in 0..<later { factor[keptCount + (j + 1 + index) * k] = row[index] / root }
            }
            factor[keptCount + j * k] = root
            keptCount += 1
        }
        return aliased
    }

    /// E's levels that R's in-order rule declares aliased after the kept preceding columns
    /// (`preceding`, remainder indices) and the earlier levels: a column-by-column Cholesky
    /// of their joint normal equations (only reached when such a dependency exists).
    private static func eliminatedAliasedAfter(
        _ preceding: [Int], equations: BlockNormalEquations, layout: BlockLayout, excluded: Set<Int>
    ) throws -> Set<Int> {
        let m = layout.eliminatedWidth, r = layout.restCount
        let levels = (0..<m).filter { !excluded.contains($0) }
        let order = preceding.count + levels.count
        try MemoryBudget.current().require(
            MemoryBudget.bytes(doubles: order, order, 2),
            for: "finding which of \(MemoryBudget.describe(count: m)) levels are aliased with the terms before them",
            remedy: "use fewer levels or terms")
        var joint = [Double](repeating: 0, count: order * order)
        for (j, column) in preceding.enumerated() {
            for (i, row) in preceding[...j].enumerated() { joint[i + j * order] = equations.gram[row + column * r] }
        }
        for (position, level) in levels.enumerated() {
            let j = preceding.count + position
            for (i, index) in preceding.enumerated() { joint[i + j * order] = equations.cross[level * r + index] }
            joint[j + j * order] = equations.diagonal[level]
        }
        let aliased = try aliasedInOrder(gram: joint, order: order, among: Array(0..<order))
        return Set(aliased.filter { $0 >= preceding.count }.map { levels[$0 - preceding.count] })
    }
}

/// (XᵀWX)⁻¹ of a step solved by blocks, entry by entry (see `BlockFactor`): S⁻¹ (r × r), and
/// A = D⁻¹B and T = A·S⁻¹ (m × r each) — never the p × p matrix.
public struct BlockCovariance: EntryCovariance {
    let factor: BlockFactor
    /// S⁻¹ over the kept remainder (k × k, column-major).
    let inverse: [Double]
    /// A and T over the kept levels and the kept remainder, a row of k per level.
    let scaledCross: [Double]
    let product: [Double]
    /// Each column of X: its position among the kept levels (≥ 0), among the kept remainder
    /// (encoded −1 − position), or nil when aliased.
    let positions: [Int?]
    /// The factor's column scales (empty when all are 1): the arrays above are the scaled
    /// columns' (X·S); `entry` is X's, S·(X'ᵀWX')⁻¹·S.
    let scales: [Double]

    init(factor: BlockFactor, columnCount: Int) throws {
        self.factor = factor
        self.scales = factor.columnScales.contains { $0 != 1 } ? factor.columnScales : []
        let layout = factor.layout
        let k = factor.keptRest.count
        let levels = factor.keptEliminated
        let r = layout.restCount
        try MemoryBudget.current().require(
            MemoryBudget.sum(MemoryBudget.bytes(doubles: levels.count, k, 2), MemoryBudget.bytes(doubles: k, k)),
            for: "the covariance of \(MemoryBudget.describe(count: levels.count)) levels against "
                + "\(MemoryBudget.describe(count: k)) other coefficients",
            remedy: "use fewer levels or terms")
        inverse = try LinearAlgebra.inverseFromCholesky(factor.choleskyFactor, order: k)
        var scaledCross = [Double](repeating: 0, count: levels.count * k)
        for (position, level) in levels.enumerated() {
            let scale = 1 / factor.diagonal[level]
            for (j, index) in factor.keptRest.enumerated() {
                scaledCross[position * k + j] = factor.cross[level * r + index] * scale
            }
        }
        var product = [Double](repeating: 0, count: levels.count * k)
        let nonZeros = k > 0 ? BlockSolver.rowNonZeros(scaledCross, rows: Array(levels.indices), width: k) : []
        if k > 0, nonZeros.reduce(0, { $0 + $1.count }) * 4 < levels.count * k {
            // Tᶜ = Aᶜ S⁻¹ over Aᶜ's non-zero entries only.
            inverse.withUnsafeBufferPointer { inverse in
                product.withUnsafeMutableBufferPointer { product in
                    for (position, entries) in nonZeros.enumerated() {
                        for i in entries {
                            let value = scaledCross[position * k + i]
                            // S⁻¹ is symmetric: its column i (contiguous) is its row i.
                            for j in 0..<k { product[position * k + j] += value * inverse[j + i * k] }
                        }
                    }
                }
            }
        } else if k > 0, !levels.isEmpty {
            // Tᵀ = S⁻¹ Aᵀ, column-major k × m: T row-major.
            var transA = Int8(UInt8(ascii: "N"))
            var transB = Int8(UInt8(ascii: "N"))
            var m = try BlockSolver.lapackOrder(k)
            var n = try BlockSolver.lapackOrder(levels.count)
            var inner = m
            var alpha = 1.0
            var beta = 0.0
            dgemm_(&transA, &transB, &m, &n, &inner, &alpha, inverse, &m, scaledCross, &m, &beta, &product, &m, 1, 1)
        }
        self.scaledCross = scaledCross
        self.product = product
        var positions = [Int?](repeating: nil, count: columnCount)
        for (position, level) in levels.enumerated() { positions[layout.eliminatedFirst + level] = position }
        for (position, index) in factor.keptRest.enumerated() { positions[layout.restColumns[index]] = -1 - position }
        self.positions = positions
    }

    private var keptRestCount: Int { factor.keptRest.count }

    /// A column's scale (1 unless it was fitted scaled).
    func scale(_ column: Int) -> Double { column >= 0 && column < scales.count ? scales[column] : 1 }

    /// `structure` with its columns scaled as the factor's (itself when all scales are 1).
    func scaled(_ structure: DesignStructure) -> DesignStructure {
        scales.isEmpty ? structure : ColumnScaling.scaled(structure, by: scales)
    }

    /// The entry of (XᵀWX)⁻¹ for two kept columns of X (NaN when one is aliased).
    public func entry(_ first: Int, _ second: Int) -> Double {
        let value = scaledEntry(first, second)
        return scales.isEmpty ? value : value * scale(first) * scale(second)
    }

    /// Every column's √(φ·variance) (NaN for aliased ones), as s·√(φ·v') from the scaled
    /// columns' variance v': the standard error of a column of extreme magnitude is a double
    /// even where its variance is not.
    public func standardErrors(dispersion: Double) -> [Double] {
        positions.indices.map { (dispersion * scaledEntry($0, $0)).squareRoot() * scale($0) }
    }

    /// The entry of (X'ᵀWX')⁻¹ for the scaled columns X' = X·S (`entry` when all scales are 1).
    func scaledEntry(_ first: Int, _ second: Int) -> Double {
        guard first < positions.count, second < positions.count,
              let a = positions[first], let b = positions[second] else { return .nan }
        let k = keptRestCount
        switch (a >= 0, b >= 0) {
        case (true, true):
            var sum = a == b ? 1 / factor.diagonal[factor.keptEliminated[a]] : 0
            for j in 0..<k { sum += scaledCross[a * k + j] * product[b * k + j] }
            return sum
        case (true, false):
            return -product[a * k + (-1 - b)]
        case (false, true):
            return -product[b * k + (-1 - a)]
        case (false, false):
            return inverse[(-1 - a) + (-1 - b) * k]
        }
    }

    /// The diagonal for every column of X (NaN for aliased ones).
    public func variances() -> [Double] {
        positions.indices.map { entry($0, $0) }
    }

    /// The submatrix for some kept columns, as rows.
    public func matrix(columns: [Int]) -> [[Double]] {
        columns.map { row in columns.map { entry(row, $0) } }
    }

}
