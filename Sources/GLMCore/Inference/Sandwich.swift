import Foundation

/// The heteroskedasticity-consistent estimators of the `sandwich` package.
public enum SandwichType: String, CaseIterable, Sendable {
    /// White's estimator: ω = r².
    case hc0 = "HC0"
    /// ω = r² · n / (n − k).
    case hc1 = "HC1"
    /// ω = r² / (1 − h).
    case hc2 = "HC2"
    /// ω = r² / (1 − h)².
    case hc3 = "HC3"

    /// Accepts "HC0"…"HC3" in any case, and "HC" for HC0 as sandwich does.
    public init?(name: String) {
        let upper = name.uppercased()
        if upper == "HC" { self = .hc0; return }
        self.init(rawValue: upper)
    }
}

/// Which rows form a cluster, for `Sandwich.vcovCL`.
public struct ClusterAssignment: Sendable, Equatable {
    /// The cluster (0-based) of each row of the model frame.
    public let groups: [Int]
    /// G in the adjustment G/(G − 1): the number of distinct values among the rows used
    /// for a numeric column; the number of levels of the whole column for a text column,
    /// as R counts a factor's levels (unused ones included).
    public let count: Int
    /// Clusters that actually hold rows.
    public let nonEmptyCount: Int
    public let label: String

    public init(groups: [Int], count: Int? = nil, label: String = "cluster") {
        self.groups = groups
        let distinct = Set(groups).count
        self.nonEmptyCount = distinct
        self.count = count ?? distinct
        self.label = label
    }
}

/// A sandwich covariance over the non-aliased coefficients, as `sandwich::vcovHC` and
/// `sandwich::vcovCL` return it.
public struct RobustCovariance: Sendable {
    /// Names of the non-aliased coefficients, in design order (R's dimnames).
    public let names: [String]
    /// Their design columns.
    public let columns: [Int]
    /// The covariance, `names.count` square, row-major as `[[Double]]`; empty when
    /// `matrixOmitted`.
    public let matrix: [[Double]]
    /// The diagonal, for every name (also when the matrix is omitted).
    public let variances: [Double]
    /// True when a fit by blocks has more coefficients than the limit the matrix is formed
    /// for (as `GLMSummary.vcovOmitted`): any entry is found from `blocks`.
    public let matrixOmitted: Bool
    /// The covariance by blocks of a fit by blocks, entry by entry.
    public let blocks: BlockSandwich?
    /// The entries found for a fit solved as sparse.
    public let sparse: SparseSandwich?
    public let type: SandwichType
    /// G for clustered covariances; nil for vcovHC.
    public let clusterCount: Int?
    /// Whether the clustered meat was multiplied by G/(G − 1).
    public let clusterAdjusted: Bool
    /// R's warnings (hat values close to 1 for HC2/HC3).
    public let warnings: [String]

    /// By blocks from the scaled columns (see `BlockSandwich.standardError`).
    public var standardErrors: [Double] {
        guard let blocks else { return variances.map { $0.isNaN ? .nan : $0.squareRoot() } }
        return columns.map { blocks.standardError($0) }
    }

    init(
        names: [String], columns: [Int], matrix: [[Double]], type: SandwichType, clusterCount: Int?,
        clusterAdjusted: Bool, warnings: [String]
    ) {
        self.names = names
        self.columns = columns
        self.matrix = matrix
        self.variances = matrix.indices.map { matrix[$0][$0] }
        self.matrixOmitted = false
        self.blocks = nil
        self.sparse = nil
        self.type = type
        self.clusterCount = clusterCount
        self.clusterAdjusted = clusterAdjusted
        self.warnings = warnings
    }

    /// From a covariance by blocks: every variance, the matrix up to `covarianceLimit` coefficients.
    init(
        names: [String], columns: [Int], blocks: BlockSandwich, covarianceLimit: Int, type: SandwichType,
        clusterCount: Int?, clusterAdjusted: Bool, warnings: [String]
    ) {
        self.names = names
        self.columns = columns
        self.variances = columns.map { blocks.entry($0, $0) }
        self.matrixOmitted = columns.count > covarianceLimit
        self.matrix = matrixOmitted ? [] : blocks.matrix(columns: columns)
        self.blocks = blocks
        self.sparse = nil
        self.type = type
        self.clusterCount = clusterCount
        self.clusterAdjusted = clusterAdjusted
        self.warnings = warnings
    }

    /// From the entries found for a fit solved as sparse: every variance found (NaN for a
    /// level whose variance was too costly), the matrix when it covers every column.
    init(
        names: [String], columns: [Int], sparse: SparseSandwich, type: SandwichType, clusterCount: Int?,
        clusterAdjusted: Bool, warnings: [String]
    ) {
        self.names = names
        self.columns = columns
        self.variances = columns.map { sparse.entry($0, $0) }
        self.matrixOmitted = sparse.matrixWidth < columns.count
        self.matrix = matrixOmitted ? [] : columns.map { first in columns.map { sparse.entry(first, $0) } }
        self.blocks = nil
        self.sparse = sparse
        self.type = type
        self.clusterCount = clusterCount
        self.clusterAdjusted = clusterAdjusted
        self.warnings = warnings
    }

    /// Entries for some kept columns of X (from the matrix, the blocks or the sparse entries).
    public func covariance(columns selected: [Int]) -> [[Double]] {
        if let blocks { return blocks.matrix(columns: selected) }
        if let sparse { return selected.map { first in selected.map { sparse.entry(first, $0) } } }
        var position: [Int: Int] = [:]
        for (index, column) in columns.enumerated() { position[column] = index }
        return selected.map { row in
            selected.map { column in
                guard let i = position[row], let j = position[column] else { return .nan }
                return matrix[i][j]
            }
        }
    }

    /// The coefficient table `lmtest::coeftest(fit, vcov. = <this>)` prints for a glm:
    /// z statistics and normal p-values for every family (`coeftest.glm` uses df = Inf),
    /// and Wald intervals on the normal quantile (`coefci` for glm); exp() columns as
    /// `GLMSummary`. Aliased coefficients get nil entries.
    public func coefficientTable(for fit: GLMFit, confidenceLevel: Double = 0.95) throws -> [CoefficientSummary] {
        try GLMSummary(fit: fit, confidenceLevel: confidenceLevel, robust: self).coefficients
    }
}

/// Sandwich covariances of GLM coefficients as R's `sandwich` package computes them.
///
/// For a glm, sandwich's pieces are
///
///     estfun: ψᵢ = wᵢ rᵢ xᵢ / φ          (working residual × working weight × model-matrix row)
///     bread:  B = (XᵀWX)⁻¹ · (rank + df.residual) · φ
///     meat:   M = Σ ωᵢ xᵢ xᵢᵀ / n,  ωᵢ from ψ (HC0…HC3)
///     V = B M B / n
///
/// where φ is 1 for poisson, binomial and negative binomial families and Σ(wr)²/Σw
/// otherwise (it cancels), n is the number of rows of the model matrix and aliased
/// columns are dropped.
///
/// With frequency weights every sum is the expanded rows' sum: a row standing for f
/// observations is f copies, each with working weight wᵢ/f and hat value hᵢ/f, so that
/// ωᵢ = f·ω(resᵢ/f, hᵢ/f), n = Σf, and a cluster's score sum is unchanged.
public enum Sandwich {
    /// The pieces every estimator shares.
    private struct Pieces {
        let columns: [Int]
        let names: [String]
        /// (XᵀWX)⁻¹, k × k column-major (empty for a fit by blocks).
        let unscaled: [Double]
        /// (XᵀWX)⁻¹ by blocks, for a fit by blocks.
        let blocks: BlockCovariance?
        /// rank + df.residual (sandwich's `sum(summary(x)$df[1:2])`).
        let breadScale: Double
        /// φ.
        let dispersion: Double
        /// ψᵢ / xᵢ: wᵢ rᵢ / φ, 0 where every |ψᵢⱼ| < ε (sandwich's `res`).
        let residuals: [Double]
        let rowCount: Int
        /// The frequency weights (nil: one observation a row).
        let frequencies: [Double]?
        /// n: the rows, or the observations they stand for.
        let observationCount: Int
    }

    private static func pieces(_ fit: GLMFit) throws -> Pieces {
        guard let solution = fit.irls.solution, solution.rank > 0 else {
            throw GLMError.fitFailed(message: "a sandwich covariance needs at least one estimated coefficient")
        }
        let rank = solution.rank
        let columns = Array(solution.pivot[..<rank])
        let blocks = try solution.blockFactor.map { try BlockCovariance(factor: $0, columnCount: fit.design.columnCount) }
        let unscaled = blocks == nil && solution.sparseFactor == nil
            ? try LinearAlgebra.inverseFromCholesky(solution.rFactor, order: rank) : []
        let rowCount = fit.design.rowCount
        let weights = fit.irls.workingWeights
        let working = fit.irls.workingResiduals
        var products = [Double](repeating: 0, count: rowCount)
        for row in 0..<rowCount { products[row] = weights[row] == 0 ? 0 : working[row] * weights[row] }
        let dispersion: Double
        let frequencies = fit.response.frequencyWeights
        switch fit.family.kind {
        case .poisson, .binomial, .negativeBinomial:
            dispersion = 1
        default:
            if let frequencies {
                // Σ over the copies of (wᵢ rᵢ / f)².
                let squares = products.indices.map { frequencies[$0] > 0 ? products[$0] * products[$0] / frequencies[$0] : 0 }
                dispersion = rSum(squares) / rSum(weights)
            } else {
                dispersion = rSum(products.map { $0 * $0 }) / rSum(weights)
            }
        }
        var residuals = [Double](repeating: 0, count: rowCount)
        if let sparse = solution.sparseFactor {
            // As by blocks: the row's non-zero entries, of the columns as the fit scaled them.
            let scaled = scaledStructure(fit, sparse)
            for row in 0..<rowCount {
                let value = products[row] / dispersion
                var negligible = true
                scaled.forEachEntry(row: row) { _, entry in negligible = negligible && abs(value * entry) < Double.ulpOfOne }
                residuals[row] = negligible ? 0 : value
            }
        } else if let blocks {
            // The row's non-zero entries only: a zero entry is always negligible.
            let reader = BlockSandwich.RowReader(structure: blocks.scaled(fit.design.structure), positions: blocks.positions)
            var indices: [Int] = []
            var values: [Double] = []
            for row in 0..<rowCount {
                let value = products[row] / dispersion
                let (level, levelValue) = reader.read(row: row, restIndices: &indices, restValues: &values)
                let negligible = values.allSatisfy { abs(value * $0) < Double.ulpOfOne }
                    && (level < 0 || abs(value * levelValue) < Double.ulpOfOne)
                residuals[row] = negligible ? 0 : value
            }
        } else {
            try MemoryBudget.current().require(
                MemoryBudget.bytes(doubles: rowCount, fit.design.columnCount, 2),
                for: "the sandwich covariance of \(MemoryBudget.describe(count: fit.design.columnCount)) columns × "
                    + "\(MemoryBudget.describe(count: rowCount)) rows: the copy of the design it works on",
                remedy: "use fewer levels or terms")
            let x = try fit.design.matrix()
            for row in 0..<rowCount {
                let value = products[row] / dispersion
                let negligible = columns.allSatisfy { abs(value * x[$0 * rowCount + row]) < Double.ulpOfOne }
                residuals[row] = negligible ? 0 : value
            }
        }
        return Pieces(
            columns: columns, names: columns.map { fit.coefficientNames[$0] }, unscaled: unscaled, blocks: blocks,
            breadScale: Double(rank + fit.dfResidual), dispersion: dispersion, residuals: residuals, rowCount: rowCount,
            frequencies: frequencies, observationCount: fit.representedRowCount)
    }

    /// bread = unscaled · breadFactor; V = bread · (A · meatFactor / n) · bread / n: the factor
    /// of unscaled · A · unscaled.
    private static func scale(_ pieces: Pieces, meatFactor: Double) -> Double {
        let n = Double(pieces.observationCount)
        let breadFactor = pieces.breadScale * pieces.dispersion
        return breadFactor * breadFactor * meatFactor / (n * n)
    }

    /// The sandwich B·M·B / n with B the bread and meat M = A·`meatFactor`/n, A the k × k
    /// column-major cross product of the (weighted or cluster-summed) score rows.
    private static func assemble(_ pieces: Pieces, crossProduct: [Double], meatFactor: Double) -> [[Double]] {
        let k = pieces.columns.count
        var temp = [Double](repeating: 0, count: k * k)  // unscaled · A
        for j in 0..<k {
            for l in 0..<k {
                let a = crossProduct[l + j * k]
                if a == 0 { continue }
                for i in 0..<k { temp[i + j * k] += pieces.unscaled[i + l * k] * a }
            }
        }
        let scale = scale(pieces, meatFactor: meatFactor)
        var result = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
        for i in 0..<k {
            for j in 0..<k {
                var total = 0.0
                for l in 0..<k { total += temp[i + l * k] * pieces.unscaled[l + j * k] }
                result[i][j] = total * scale
            }
        }
        // Symmetrise the rounding.
        for i in 0..<k {
            for j in (i + 1)..<max(i + 1, k) {
                let mean = (result[i][j] + result[j][i]) / 2
                result[i][j] = mean
                result[j][i] = mean
            }
        }
        return result
    }

    /// Adds weight · v vᵀ to the k × k column-major `matrix` (upper and lower).
    @inline(__always)
    private static func addOuter(_ matrix: inout [Double], _ v: [Double], weight: Double) {
        let k = v.count
        for j in 0..<k {
            let vj = v[j] * weight
            if vj == 0 { continue }
            for i in 0..<k { matrix[i + j * k] += v[i] * vj }
        }
    }

    /// `sandwich::vcovHC(fit, type = type)` for a glm: ωᵢ = resᵢ² for HC0, × n/(n − k) for
    /// HC1, / (1 − hᵢ) for HC2, / (1 − hᵢ)² for HC3 (h the glm hat values).
    ///
    /// A fit by blocks gets every variance and, up to `covarianceLimit` coefficients, the
    /// matrix (see `BlockSandwich`).
    public static func vcovHC(
        _ fit: GLMFit, type: SandwichType = .hc3, covarianceLimit: Int = GLMSummary.covarianceLimit
    ) throws -> RobustCovariance {
        let pieces = try pieces(fit)
        let k = pieces.columns.count
        let n = pieces.rowCount
        var warnings: [String] = []
        var hat: [Double] = []
        if type == .hc2 || type == .hc3 {
            hat = Influence.hatValues(fit)
            let threshold = 1 - Double.ulpOfOne.squareRoot()
            // One observation's leverage: a row's hat value over its count.
            let close = hat.indices.filter { hat[$0] / (pieces.frequencies?[$0] ?? 1) > threshold }
            if !close.isEmpty {
                var ids = close.prefix(10).map { String(fit.design.frame.rowIndices[$0] + 1) }
                if close.count > 10 { ids.append("...") }
                warnings.append(
                    "\(type.rawValue) covariances become numerically unstable if hat values are close to 1 as for observations \(ids.joined(separator: ", "))")
            }
        }
        let observations = Double(pieces.observationCount)
        let df = observations - Double(k)
        func omega(_ i: Int) -> Double {
            // A row standing for f observations: f copies with score resᵢ/f and hat hᵢ/f.
            let count = pieces.frequencies?[i] ?? 1
            guard count > 0 else { return 0 }
            let residual = pieces.residuals[i]
            let leverage = type == .hc2 || type == .hc3 ? hat[i] / count : 0
            var omega = residual * residual / count
            switch type {
            case .hc0: break
            case .hc1: omega *= observations / df
            case .hc2: omega /= 1 - leverage
            case .hc3: omega /= (1 - leverage) * (1 - leverage)
            }
            return omega
        }
        if let sparse = fit.irls.solution?.sparseFactor {
            let sandwich = try SparseSandwich.compute(
                factor: sparse, structure: scaledStructure(fit, sparse), kept: pieces.columns,
                rowFactors: (0..<n).map { omega($0).squareRoot() }, groups: nil, scale: scale(pieces, meatFactor: 1),
                allColumns: k <= covarianceLimit)
            return RobustCovariance(
                names: pieces.names, columns: pieces.columns, sparse: sandwich, type: type, clusterCount: nil,
                clusterAdjusted: false, warnings: warnings + sandwich.warnings(fit))
        }
        if let blocks = pieces.blocks {
            let m = blocks.factor.keptEliminated.count
            let r = blocks.factor.keptRest.count
            try BlockSandwich.requireMemory(levelCount: m, restCount: r, what: "the sandwich covariance")
            let reader = BlockSandwich.RowReader(structure: blocks.scaled(fit.design.structure), positions: blocks.positions)
            var meat = BlockSandwich.BlockMeat(levelCount: m, restCount: r)
            var indices: [Int] = []
            var values: [Double] = []
            for i in 0..<n {
                let weight = omega(i)
                if weight == 0 { continue }
                let (level, value) = reader.read(row: i, restIndices: &indices, restValues: &values)
                meat.add(weight: weight, level: level, levelValue: value, restIndices: indices, restValues: values)
            }
            let sandwich = try BlockSandwich(covariance: blocks, meat: meat, scale: scale(pieces, meatFactor: 1))
            return RobustCovariance(
                names: pieces.names, columns: pieces.columns, blocks: sandwich, covarianceLimit: covarianceLimit,
                type: type, clusterCount: nil, clusterAdjusted: false, warnings: warnings)
        }
        let x = try fit.design.matrix()
        var crossProduct = [Double](repeating: 0, count: k * k)
        var row = [Double](repeating: 0, count: k)
        for i in 0..<n {
            let weight = omega(i)
            if weight == 0 { continue }
            for (j, column) in pieces.columns.enumerated() { row[j] = x[column * n + i] }
            addOuter(&crossProduct, row, weight: weight)
        }
        return RobustCovariance(
            names: pieces.names, columns: pieces.columns, matrix: assemble(pieces, crossProduct: crossProduct, meatFactor: 1),
            type: type, clusterCount: nil, clusterAdjusted: false, warnings: warnings)
    }

    /// `sandwich::vcovCL(fit, cluster = ~ g, type = type, cadjust = adjust)` for a glm:
    /// the scores ψᵢ are summed within clusters, the meat Σ_g S_g S_gᵀ / n is multiplied
    /// by G/(G − 1) when `adjust`, and for HC1 also by (n − 1)/(n − k).
    ///
    /// vcovCL's default type for a glm is HC0 (HC1 only for lm), with `cadjust = TRUE`.
    /// Clustered HC2/HC3 are not implemented.
    ///
    /// A fit by blocks gets every variance and, up to `covarianceLimit` coefficients, the
    /// matrix: from the meat in blocks when each cluster holds at most one level of the
    /// eliminated factor, else by one solve per cluster (see `BlockSandwich`).
    public static func vcovCL(
        _ fit: GLMFit, clusters: ClusterAssignment, type: SandwichType = .hc0, adjust: Bool = true,
        covarianceLimit: Int = GLMSummary.covarianceLimit
    ) throws -> RobustCovariance {
        guard type == .hc0 || type == .hc1 else {
            throw GLMError.invalidOption(name: "cluster type", message: "clustered covariances support HC0 and HC1 only (got \(type.rawValue))")
        }
        let pieces = try pieces(fit)
        let k = pieces.columns.count
        let n = pieces.rowCount
        guard clusters.groups.count == n else {
            throw GLMError.invalidOption(
                name: "cluster", message: "number of observations in '\(clusters.label)' (\(clusters.groups.count)) and the model (\(n)) do not match")
        }
        let groupCount = (clusters.groups.max() ?? -1) + 1
        let g = Double(clusters.count)
        var factor = adjust ? g / (g - 1) : 1
        let observations = Double(pieces.observationCount)
        if type == .hc1 { factor *= (observations - 1) / (observations - Double(k)) }
        if let sparse = fit.irls.solution?.sparseFactor {
            let sandwich = try SparseSandwich.compute(
                factor: sparse, structure: scaledStructure(fit, sparse), kept: pieces.columns, rowFactors: pieces.residuals,
                groups: (clusters.groups, groupCount), scale: scale(pieces, meatFactor: factor),
                allColumns: k <= covarianceLimit)
            return RobustCovariance(
                names: pieces.names, columns: pieces.columns, sparse: sandwich, type: type, clusterCount: clusters.count,
                clusterAdjusted: adjust, warnings: sandwich.warnings(fit))
        }
        if let blocks = pieces.blocks {
            let sandwich = try clusteredByBlocks(
                fit, pieces: pieces, blocks: blocks, groups: clusters.groups, groupCount: groupCount,
                scale: scale(pieces, meatFactor: factor))
            return RobustCovariance(
                names: pieces.names, columns: pieces.columns, blocks: sandwich, covarianceLimit: covarianceLimit,
                type: type, clusterCount: clusters.count, clusterAdjusted: adjust, warnings: [])
        }
        try MemoryBudget.current().require(
            MemoryBudget.sum(
                MemoryBudget.bytes(doubles: n, fit.design.columnCount), MemoryBudget.bytes(doubles: groupCount, k)),
            for: "the clustered covariance of \(MemoryBudget.describe(count: k)) coefficients over "
                + "\(MemoryBudget.describe(count: groupCount)) clusters and \(MemoryBudget.describe(count: n)) rows",
            remedy: "use fewer levels or terms, or coarser clusters")
        let x = try fit.design.matrix()
        var sums = [Double](repeating: 0, count: groupCount * k)
        for i in 0..<n {
            let residual = pieces.residuals[i]
            if residual == 0 { continue }
            let base = clusters.groups[i] * k
            for (j, column) in pieces.columns.enumerated() { sums[base + j] += residual * x[column * n + i] }
        }
        var crossProduct = [Double](repeating: 0, count: k * k)
        for g in 0..<groupCount {
            addOuter(&crossProduct, Array(sums[(g * k)..<((g + 1) * k)]), weight: 1)
        }
        return RobustCovariance(
            names: pieces.names, columns: pieces.columns,
            matrix: assemble(pieces, crossProduct: crossProduct, meatFactor: factor), type: type,
            clusterCount: clusters.count, clusterAdjusted: adjust, warnings: [])
    }

    /// X by blocks with the columns as a sparse fit scaled them.
    private static func scaledStructure(_ fit: GLMFit, _ sparse: SparseFactor) -> DesignStructure {
        sparse.columnScales.contains { $0 != 1 }
            ? ColumnScaling.scaled(fit.design.structure, by: sparse.columnScales) : fit.design.structure
    }

    /// Above this many multiply-adds (clusters × k², k the coefficients besides the
    /// eliminated factor's levels) the solves per cluster are refused: some minutes here.
    static let clusterSolveLimit = 1e12

    /// The clustered sandwich of a fit by blocks: the rows in cluster order, then the meat in
    /// blocks when no cluster holds two levels of E, else the solves per cluster.
    private static func clusteredByBlocks(
        _ fit: GLMFit, pieces: Pieces, blocks: BlockCovariance, groups: [Int], groupCount: Int, scale: Double
    ) throws -> BlockSandwich {
        let n = pieces.rowCount
        let m = blocks.factor.keptEliminated.count
        let r = blocks.factor.keptRest.count
        // The rows in cluster order (n), and for crossing clusters their levels' scores (≤ n pairs).
        try BlockSandwich.requireMemory(
            levelCount: m, restCount: r, extra: MemoryBudget.bytes(doubles: n, 3), what: "the clustered covariance")
        var starts = [Int](repeating: 0, count: groupCount + 1)
        for group in groups { starts[group + 1] += 1 }
        for group in 0..<groupCount { starts[group + 1] += starts[group] }
        var next = starts
        var order = [Int](repeating: 0, count: n)
        for (row, group) in groups.enumerated() {
            order[next[group]] = row
            next[group] += 1
        }
        let reader = BlockSandwich.RowReader(structure: blocks.scaled(fit.design.structure), positions: blocks.positions)
        var indices: [Int] = []
        var values: [Double] = []
        // Nested: every cluster's rows (with a score) hold at most one level of E. Rows in
        // their own order (the design's columns read in sequence).
        var nested = true
        var clusterLevels = [Int](repeating: -1, count: groupCount)
        for row in 0..<n where pieces.residuals[row] != 0 {
            let (level, _) = reader.read(row: row, restIndices: &indices, restValues: &values)
            guard level >= 0 else { continue }
            let group = groups[row]
            if clusterLevels[group] >= 0 && clusterLevels[group] != level {
                nested = false
                break
            }
            clusterLevels[group] = level
        }
        if nested {
            var meat = BlockSandwich.BlockMeat(levelCount: m, restCount: r)
            var sums = [Double](repeating: 0, count: r)
            var seen = [Bool](repeating: false, count: r)
            var touched: [Int] = []
            var touchedValues: [Double] = []
            for group in 0..<groupCount {
                var level = -1
                var levelSum = 0.0
                for position in starts[group]..<starts[group + 1] {
                    let row = order[position]
                    let residual = pieces.residuals[row]
                    if residual == 0 { continue }
                    let (rowLevel, value) = reader.read(row: row, restIndices: &indices, restValues: &values)
                    if rowLevel >= 0 {
                        level = rowLevel
                        levelSum += residual * value
                    }
                    for (i, index) in indices.enumerated() {
                        if !seen[index] {
                            seen[index] = true
                            touched.append(index)
                        }
                        sums[index] += residual * values[i]
                    }
                }
                touchedValues.removeAll(keepingCapacity: true)
                for index in touched {
                    touchedValues.append(sums[index])
                    sums[index] = 0
                    seen[index] = false
                }
                meat.add(weight: 1, level: level, levelValue: levelSum, restIndices: touched, restValues: touchedValues)
                touched.removeAll(keepingCapacity: true)
            }
            return try BlockSandwich(covariance: blocks, meat: meat, scale: scale)
        }
        let nonEmpty = (0..<groupCount).count { starts[$0 + 1] > starts[$0] }
        let cost = Double(nonEmpty) * Double(r) * Double(r)
        guard cost <= clusterSolveLimit else {
            throw GLMError.invalidOption(
                name: "--cluster",
                message: "the clusters cross the levels of the largest factor, so each of the "
                    + "\(MemoryBudget.describe(count: nonEmpty)) clusters needs a solve with the "
                    + "\(MemoryBudget.describe(count: r)) other coefficients: some \(String(format: "%.1e", cost)) "
                    + "multiply-adds, more than the \(String(format: "%.0e", clusterSolveLimit)) allowed; "
                    + "use clusters nested in that factor's levels, fewer clusters, or fewer other terms")
        }
        return try BlockSandwich.clustered(
            covariance: blocks, reader: reader, residuals: pieces.residuals, order: order, starts: starts, scale: scale)
    }

    /// The clusters of a table column over the rows of `frame` (R's `cluster = ~ column`):
    /// numeric values or text levels, an error for a missing value.
    public static func clusters(table: Table, column name: String, frame: ModelFrame) throws -> ClusterAssignment {
        guard let index = table.index(of: name) else {
            throw GLMError.unknownColumn(name: name, suggestions: NameSuggestions.nearest(to: name, in: table.columnNames))
        }
        guard let column = table.columns[index] else {
            throw GLMError.invalidTerm(term: name, message: "column was not read")
        }
        func missing(_ row: Int) -> GLMError {
            .invalidCluster(
                column: name, line: frame.line(ofUsedRow: row),
                message: "the cluster is missing; refit without the rows where it is missing, or fill it in")
        }
        switch column {
        case let .numeric(values):
            var ids: [Double: Int] = [:]
            var groups = [Int](repeating: 0, count: frame.rowCount)
            for (row, tableRow) in frame.rowIndices.enumerated() {
                let value = values[tableRow]
                if value.isNaN { throw missing(row) }
                if let id = ids[value] {
                    groups[row] = id
                } else {
                    ids[value] = ids.count
                    groups[row] = ids.count - 1
                }
            }
            return ClusterAssignment(groups: groups, count: ids.count, label: name)
        case let .categorical(categorical):
            var groups = [Int](repeating: 0, count: frame.rowCount)
            for (row, tableRow) in frame.rowIndices.enumerated() {
                let code = categorical.codes[tableRow]
                if code < 0 { throw missing(row) }
                groups[row] = Int(code)
            }
            return ClusterAssignment(groups: groups, count: categorical.levels.count, label: name)
        }
    }
}
