import Foundation

/// A sandwich covariance B·M·B of a fit solved as sparse (two or more factors of many levels,
/// `SparseBlockSolver`), B = (XᵀWX)⁻¹ held as its LDLᵀ factor, M = Σ_g s_g s_gᵀ over score
/// vectors (a row's √ω·x, or a cluster's Σ r·x). For a column j, z_j = B e_j is one solve of
/// the factor, and entry(j, l) = Σ_g (s_gᵀ z_j)(s_gᵀ z_l): a pass over the rows for a batch
/// of columns. The inverse is dense, so each column costs a whole solve and a pass: every
/// level's variance is found while that stays under `multiplyAddLimit`; beyond it only the
/// columns besides the factors' levels (the slopes, the intercept), which are what a
/// two-way fixed-effects model reports.
public struct SparseSandwich: Sendable {
    /// The columns whose entries were found, and where each is among them.
    let columns: [Int]
    let position: [Int: Int]
    /// Their variances, and the matrix of the first `matrixWidth` of them (row-major; all of
    /// them when the whole matrix was asked for, else the columns besides the levels); X's
    /// columns (scaled back), times the sandwich's scale.
    let variances: [Double]
    let matrix: [Double]
    let matrixWidth: Int
    /// The kept level columns whose variances were not found (too costly).
    let omittedLevels: Int

    /// Above this many multiply-adds (columns × (a solve + a pass)) the levels' variances are
    /// not found: some minutes here.
    static let multiplyAddLimit = 1e11
    /// Columns a pass over the rows serves (their z's are held at once: p × this doubles).
    static let batchWidth = 32

    /// The entry for two columns of X; NaN when either was not found (or is aliased).
    public func entry(_ first: Int, _ second: Int) -> Double {
        guard let i = position[first], let j = position[second] else { return .nan }
        if i == j { return variances[i] }
        return i < matrixWidth && j < matrixWidth ? matrix[i * matrixWidth + j] : .nan
    }

    /// - Parameters:
    ///   - factor: the fit's (XᵀWX)⁻¹ as its LDLᵀ factor (of the scaled columns).
    ///   - structure: X by blocks, scaled as the fit scaled it (`SparseFactor.columnScales`).
    ///   - rowFactors: the number each row's x is multiplied by in its score (√ωᵢ, or rᵢ).
    ///   - groups: each row's cluster (its scores are summed), or nil: each row on its own.
    ///   - allColumns: the covariance matrix over every kept column is wanted (up to the
    ///     covariance limit): one batch of them all.
    ///   - multiplyAddLimit: the levels' variances are left out beyond this cost.
    static func compute(
        factor sparseFactor: SparseFactor, structure: DesignStructure, kept: [Int], rowFactors: [Double],
        groups: (ids: [Int], count: Int)?, scale: Double, allColumns: Bool,
        multiplyAddLimit: Double = SparseSandwich.multiplyAddLimit
    ) throws -> SparseSandwich {
        let factor = sparseFactor.ldl
        let p = factor.order
        let n = rowFactors.count
        let levelColumns = Set(structure.blocks.flatMap { Array($0.columns) })
        let small = kept.filter { !levelColumns.contains($0) }
        let levels = kept.filter { levelColumns.contains($0) }
        // A column: a solve (twice L's entries) and a pass (each row's entries).
        let factorEntries = Double(factor.counts.reduce(0, +))
        let rowEntries = Double(n) * Double(structure.denseColumns.count + structure.blocks.count + structure.contrastBlocks.count)
        let perColumn = 2 * factorEntries + Double(p) + rowEntries
        let levelsAffordable = Double(levels.count) * perColumn <= multiplyAddLimit
        // The first batch carries the matrix: every column's when asked for, else the columns
        // besides the levels' (up to the covariance limit); the others go 32 at a time.
        let matrixColumns = allColumns ? kept : small.count <= GLMSummary.covarianceLimit ? small : []
        let others = allColumns ? [] : (matrixColumns.isEmpty ? small : []) + (levelsAffordable ? levels : [])
        var batches = matrixColumns.isEmpty ? [] : [matrixColumns]
        batches += stride(from: 0, to: others.count, by: batchWidth).map {
            Array(others[$0..<min($0 + batchWidth, others.count)])
        }
        let largest = batches.map(\.count).max() ?? 0
        // The unit vectors, the solve's two copies and the solutions (p each), the clusters'
        // sums and the matrix.
        try MemoryBudget.current().require(
            MemoryBudget.sum(
                MemoryBudget.bytes(doubles: p, largest, 4), MemoryBudget.bytes(doubles: groups?.count ?? 0, largest),
                MemoryBudget.bytes(doubles: largest, largest)),
            for: "the sandwich covariance of \(MemoryBudget.describe(count: largest)) coefficients solved as sparse",
            remedy: "use fewer terms besides the factors of many levels")
        let columns = batches.flatMap { $0 }
        var variances: [Double] = []
        var matrix: [Double] = []
        for (index, batch) in batches.enumerated() {
            let wantsMatrix = index == 0 && !matrixColumns.isEmpty
            let (batchVariances, batchMatrix) = batchEntries(
                factor: factor, structure: structure, batch: batch, rowFactors: rowFactors, groups: groups,
                wantsMatrix: wantsMatrix)
            variances += batchVariances
            if wantsMatrix { matrix = batchMatrix }
        }
        // Scaled columns back to X's, and the sandwich's scale.
        let scales = columns.map { $0 < sparseFactor.columnScales.count ? sparseFactor.columnScales[$0] : 1 }
        for i in variances.indices { variances[i] *= scale * scales[i] * scales[i] }
        let width = matrixColumns.count
        for i in 0..<width {
            for j in 0..<width { matrix[i * width + j] *= scale * scales[i] * scales[j] }
        }
        var position: [Int: Int] = [:]
        for (index, column) in columns.enumerated() { position[column] = index }
        return SparseSandwich(
            columns: columns, position: position, variances: variances, matrix: matrix, matrixWidth: width,
            omittedLevels: allColumns || levelsAffordable ? 0 : levels.count)
    }

    /// Σ_g (s_gᵀ z_j)(s_gᵀ z_l) for the batch's columns (scaled): the variances, and the
    /// matrix (row-major) when asked for.
    private static func batchEntries(
        factor: SparseLDL, structure: DesignStructure, batch: [Int], rowFactors: [Double],
        groups: (ids: [Int], count: Int)?, wantsMatrix: Bool
    ) -> (variances: [Double], matrix: [Double]) {
        let p = factor.order, b = batch.count
        // z_j for each column of the batch, by X's column: zs[column * b + k].
        var units = [Double](repeating: 0, count: p * b)
        for (k, column) in batch.enumerated() { units[column * b + k] = 1 }
        let zs = factor.solve(interleaved: units, count: b)
        var products = [Double](repeating: 0, count: b)
        var variances = [Double](repeating: 0, count: b)
        var matrix = [Double](repeating: 0, count: wantsMatrix ? b * b : 0)
        var sums = [Double](repeating: 0, count: (groups?.count ?? 0) * b)
        for row in rowFactors.indices {
            let multiplier = rowFactors[row]
            if multiplier == 0 { continue }
            for k in 0..<b { products[k] = 0 }
            structure.forEachEntry(row: row) { column, value in
                guard column < p else { return }
                let scaled = value * multiplier
                for k in 0..<b { products[k] += scaled * zs[column * b + k] }
            }
            if let groups {
                let base = groups.ids[row] * b
                for k in 0..<b { sums[base + k] += products[k] }
            } else {
                accumulate(products, variances: &variances, matrix: &matrix)
            }
        }
        if let groups {
            for group in 0..<groups.count {
                accumulate(Array(sums[(group * b)..<((group + 1) * b)]), variances: &variances, matrix: &matrix)
            }
        }
        return (variances, matrix)
    }

    /// Adds u uᵀ: its diagonal to `variances`, all of it to `matrix` when that is formed.
    @inline(__always)
    private static func accumulate(_ u: [Double], variances: inout [Double], matrix: inout [Double]) {
        let b = u.count
        for k in 0..<b { variances[k] += u[k] * u[k] }
        guard !matrix.isEmpty else { return }
        for i in 0..<b where u[i] != 0 {
            for j in 0..<b { matrix[i * b + j] += u[i] * u[j] }
        }
    }

    /// Says which standard errors are missing, if any.
    func warnings(_ fit: GLMFit) -> [String] {
        guard omittedLevels > 0 else { return [] }
        return [
            "robust standard errors are given for the \(MemoryBudget.describe(count: columns.count)) coefficients "
                + "besides the factors' levels; the \(MemoryBudget.describe(count: omittedLevels)) levels' would take a "
                + "solve of the sparse factor and a pass over the rows each, past \(RFormat.format(Self.multiplyAddLimit, digits: 2)) "
                + "multiply-adds (their model-based ones are in the fit without --vcov/--cluster)",
        ]
    }
}
