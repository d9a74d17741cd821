import CLapack
import Foundation

/// Leverages of a fitted GLM.
public enum Influence {
    /// R's `hatvalues()` for a glm: the diagonal of the hat matrix of the final IRLS
    /// weighted least-squares step,
    ///
    ///     hᵢ = wᵢ · xᵢᵀ (Xᵀ W X)⁻¹ xᵢ
    ///
    /// over the non-aliased columns, W the working weights, computed as ‖R⁻ᵀ √wᵢ xᵢ‖² from
    /// the fit's QR factor. Values above 1 − 10·ε are set to 1 (as `lm.influence`). Rows
    /// IRLS did not use (zero prior weight) get 0; R drops them from its result instead.
    public static func hatValues(_ fit: GLMFit) -> [Double] {
        let rowCount = fit.design.rowCount
        var hat = [Double](repeating: 0, count: rowCount)
        guard let solution = fit.irls.solution, solution.rank > 0 else { return hat }
        if let factor = solution.blockFactor {
            guard let covariance = try? BlockCovariance(factor: factor, columnCount: fit.design.columnCount) else {
                return [Double](repeating: .nan, count: rowCount)
            }
            return hatValues(fit, covariance: covariance)
        }
        if let factor = solution.sparseFactor {
            return hatValues(fit, covariance: SparseCovariance(factor: factor))
        }
        let rank = solution.rank
        let kept = Array(solution.pivot[..<rank])
        let r = solution.rFactor
        // X's columns in place: no n × p copy (built for a design by blocks whose last step
        // went to QR, which is small).
        guard let x = try? fit.design.denseColumns(), x.count == fit.design.columnCount else {
            return [Double](repeating: .nan, count: rowCount)
        }
        let weights = fit.irls.workingWeights
        var z = [Double](repeating: 0, count: rank)
        let limit = 1 - 10 * Double.ulpOfOne
        for row in 0..<rowCount where weights[row] > 0 {
            let root = weights[row].squareRoot()
            // Forward substitution for Rᵀ z = √w x (Rᵀ is lower triangular).
            var sumSquares = 0.0
            for j in 0..<rank {
                var value = root * x[kept[j]][row]
                for i in 0..<j { value -= r[i + j * rank] * z[i] }
                z[j] = value / r[j + j * rank]
                sumSquares += z[j] * z[j]
            }
            hat[row] = sumSquares > limit ? 1 : sumSquares
        }
        return hat
    }

    /// The same from a step solved by blocks: each row's xᵢᵀ(XᵀWX)⁻¹xᵢ from its few non-zero
    /// entries (its dense columns and one column per factor term), never X as values. A
    /// contrast term's part is its level's row c of C times the multiplier: its terms cᵀVc
    /// (per level) and cᵀV·x over the dense columns (per level and column) are found once,
    /// so a row costs its entries², not the term's width².
    private static func hatValues(_ fit: GLMFit, covariance: some EntryCovariance) -> [Double] {
        let rowCount = fit.design.rowCount
        var hat = [Double](repeating: 0, count: rowCount)
        // The columns as the fit scaled them (xᵀVx is the same): V's entries of columns of
        // extreme magnitude may not be doubles, the scaled columns' are.
        let structure = covariance.scaled(fit.design.structure)
        let weights = fit.irls.workingWeights
        let limit = 1 - 10 * Double.ulpOfOne
        // V's entry, 0 for an aliased column (it is out of the hat matrix).
        func entry(_ a: Int, _ b: Int) -> Double {
            let value = covariance.scaledEntry(a, b)
            return value.isNaN ? 0 : value
        }
        let contrastRows = structure.contrastBlocks.map { block in
            block.nonZeroRows().map { $0.map { (column: block.firstColumn + $0.column, value: $0.value) } }
        }
        let levelQuadratic = zip(structure.contrastBlocks, contrastRows).map { block, rows in
            levelQuadratics(block, rows: rows, entry: entry)
        }
        let denseCount = structure.denseColumns.count
        // cᵀV[·, dense column] per level, a row of denseCount per level.
        let levelDense = contrastRows.map { rows in
            rows.flatMap { entries in
                structure.denseColumns.map { column in entries.reduce(0.0) { $0 + $1.value * entry($1.column, column) } }
            }
        }
        var entries: [(column: Int, value: Double)] = []
        for row in 0..<rowCount where weights[row] > 0 {
            entries.removeAll(keepingCapacity: true)
            for (index, column) in structure.denseColumns.enumerated() {
                entries.append((column, structure.denseValues[index][row]))
            }
            for block in structure.blocks {
                if let entry = block.entry(row: row) { entries.append(entry) }
            }
            var quadratic = covariance.scaledQuadraticForm(entries)
            var seen: [(block: Int, level: Int, value: Double)] = []
            for (index, block) in structure.contrastBlocks.enumerated() {
                guard let (level, value) = block.entry(row: row) else { continue }
                quadratic += value * value * levelQuadratic[index][level]
                let row = contrastRows[index][level]
                for (position, other) in entries.enumerated() {
                    let cross = position < denseCount
                        ? levelDense[index][level * denseCount + position]
                        : row.reduce(0.0) { $0 + $1.value * entry($1.column, other.column) }
                    quadratic += 2 * value * other.value * cross
                }
                for earlier in seen {
                    let earlierRow = contrastRows[earlier.block][earlier.level]
                    var cross = 0.0
                    for a in row { for b in earlierRow { cross += a.value * b.value * entry(a.column, b.column) } }
                    quadratic += 2 * value * earlier.value * cross
                }
                seen.append((index, level, value))
            }
            let value = weights[row] * quadratic
            hat[row] = value > limit ? 1 : value
        }
        return hat
    }

    /// cᵀVc for every row c of a contrast term's C, V its block of (XᵀWX)⁻¹: entry by entry
    /// where C is mostly zeros (sum), else as the diagonal of C·V·Cᵀ with one dgemm (Helmert,
    /// poly: Σ nnz² is levels × width² / 3 there).
    private static func levelQuadratics(
        _ block: DesignStructure.ContrastBlock, rows: [[(column: Int, value: Double)]], entry: (Int, Int) -> Double
    ) -> [Double] {
        let width = block.width, levels = block.levelCount
        let entryCost = rows.reduce(0) { $0 + $1.count * $1.count }
        func byEntries() -> [Double] {
            rows.map { entries in
                entries.reduce(0.0) { sum, a in sum + entries.reduce(0.0) { $0 + a.value * $1.value * entry(a.column, $1.column) } }
            }
        }
        guard width > 8, entryCost > levels * width * width / 8,
              var m = try? BlockSolver.lapackOrder(width), var n = try? BlockSolver.lapackOrder(levels) else { return byEntries() }
        var covariance = [Double](repeating: 0, count: width * width)
        for j in 0..<width {
            for i in 0..<width { covariance[i + j * width] = entry(block.firstColumn + i, block.firstColumn + j) }
        }
        // Q = V·Cᵀ (width × levels, column-major); C row-major is Cᵀ column-major.
        var product = [Double](repeating: 0, count: width * levels)
        var transA = Int8(UInt8(ascii: "N")), transB = Int8(UInt8(ascii: "N"))
        var inner = m, lda = m, ldb = m, ldc = m
        var alpha = 1.0, beta = 0.0
        dgemm_(&transA, &transB, &m, &n, &inner, &alpha, covariance, &lda, block.contrasts, &ldb, &beta, &product, &ldc, 1, 1)
        return (0..<levels).map { level in
            var sum = 0.0
            for i in 0..<width { sum += block.contrasts[level * width + i] * product[i + level * width] }
            return sum
        }
    }
}
