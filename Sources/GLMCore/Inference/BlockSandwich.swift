import CLapack
import Foundation

/// A sandwich covariance B·M·B of a fit by blocks, entry by entry, never a p × p or n × p
/// matrix (B = (XᵀWX)⁻¹, M the meat; the scale of `Sandwich` applied by `scale`).
///
/// With E's kept levels eliminated (D its diagonal, A = D⁻¹C against the kept remainder, S
/// the Schur complement; see `BlockFactor`) B = L·diag(D⁻¹, S⁻¹)·Lᵀ with L = [[I, −A], [0, I]].
/// For a meat Σ s sᵀ over score vectors s, B s = [u − A y; y] with u = D⁻¹ s_E and
/// y = S⁻¹ (s_R − Aᵀ s_E), so that
///
///     B M B = [ W − Z Aᵀ − A Zᵀ + A Y Aᵀ    Z − A Y ]
///             [ Zᵀ − Y Aᵀ                    Y       ]
///
/// with Y = Σ y yᵀ (r × r), Z = Σ u yᵀ (m × r) and W = Σ u uᵀ. W is diagonal when no score
/// vector holds two levels of E (a row; a cluster nested in E's levels). A is sparse where a
/// level meets few of the other columns, so each level's variance costs its non-zeros².
public struct BlockSandwich: Sendable {
    let covariance: BlockCovariance
    /// A's non-zero entries (positions among the kept remainder), per kept level.
    let levelNonZeros: [[Int]]
    /// Y (k × k, column-major), Z and A·Y (a row of k per kept level), W's diagonal.
    let restBlock: [Double]
    let levelCross: [Double]
    let levelProduct: [Double]
    let levelDiagonal: [Double]
    /// W's off-diagonal entries, for clusters that hold several levels of E.
    let levelPairs: LevelPairs?
    /// Multiplies every entry (the bread's and meat's factors of `Sandwich`).
    let scale: Double

    /// Each level's scores u by cluster: W_pq = Σ_g u_gp u_gq over their common clusters.
    struct LevelPairs: Sendable {
        /// Level p's clusters (ascending) and values are `clusters[starts[p]..<starts[p + 1]]`.
        let starts: [Int]
        let clusters: [Int32]
        let values: [Double]

        func entry(_ p: Int, _ q: Int) -> Double {
            var i = starts[p], j = starts[q]
            let iEnd = starts[p + 1], jEnd = starts[q + 1]
            var sum = 0.0
            while i < iEnd && j < jEnd {
                if clusters[i] == clusters[j] {
                    sum += values[i] * values[j]
                    i += 1
                    j += 1
                } else if clusters[i] < clusters[j] {
                    i += 1
                } else {
                    j += 1
                }
            }
            return sum
        }
    }

    private var k: Int { covariance.factor.keptRest.count }
    private var levelCount: Int { covariance.factor.keptEliminated.count }

    /// The entry for two kept columns of X (NaN when one is aliased).
    public func entry(_ first: Int, _ second: Int) -> Double {
        let value = scaledEntry(first, second)
        return covariance.scales.isEmpty ? value : value * covariance.scale(first) * covariance.scale(second)
    }

    /// A kept column's √variance as s·√v' from the scaled column's variance v': a double for
    /// a column of extreme magnitude even where its variance is not (`BlockCovariance.scales`).
    public func standardError(_ column: Int) -> Double {
        scaledEntry(column, column).squareRoot() * covariance.scale(column)
    }

    /// The entry for the scaled columns X·S the fit and the rows' reader used (see
    /// `BlockCovariance.scales`).
    func scaledEntry(_ first: Int, _ second: Int) -> Double {
        let positions = covariance.positions
        guard first < positions.count, second < positions.count,
              let a = positions[first], let b = positions[second] else { return .nan }
        let k = self.k
        switch (a >= 0, b >= 0) {
        case (true, true):
            // W − Z Aᵀ − A Zᵀ + (A Y) Aᵀ.
            var sum = a == b ? levelDiagonal[a] : (levelPairs?.entry(a, b) ?? 0)
            let scaled = covariance.scaledCross
            for j in levelNonZeros[b] { sum += (levelProduct[a * k + j] - levelCross[a * k + j]) * scaled[b * k + j] }
            for j in levelNonZeros[a] { sum -= scaled[a * k + j] * levelCross[b * k + j] }
            return sum * scale
        case (true, false):
            let j = -1 - b
            return (levelCross[a * k + j] - levelProduct[a * k + j]) * scale
        case (false, true):
            let j = -1 - a
            return (levelCross[b * k + j] - levelProduct[b * k + j]) * scale
        case (false, false):
            return restBlock[(-1 - a) + (-1 - b) * k] * scale
        }
    }

    /// The submatrix for some kept columns, as rows.
    public func matrix(columns: [Int]) -> [[Double]] {
        var rows = columns.map { row in columns.map { entry(row, $0) } }
        // Symmetrise the rounding, as the dense sandwich does.
        for i in rows.indices {
            for j in (i + 1)..<max(i + 1, rows.count) {
                let mean = (rows[i][j] + rows[j][i]) / 2
                rows[i][j] = mean
                rows[j][i] = mean
            }
        }
        return rows
    }

    // MARK: - Building

    /// The non-zero entries of one row of X among the kept columns: its level of E (a kept
    /// position, or -1) and its remainder entries (kept positions and values).
    struct RowReader {
        let structure: DesignStructure
        /// Each column of X: a kept level's position (≥ 0), a kept remainder column's place
        /// encoded −1 − place, or nil when aliased.
        let positions: [Int?]

        init(structure: DesignStructure, positions: [Int?]) {
            self.structure = structure
            self.positions = positions
        }

        func read(
            row: Int, restIndices: inout [Int], restValues: inout [Double]
        ) -> (level: Int, value: Double) {
            restIndices.removeAll(keepingCapacity: true)
            restValues.removeAll(keepingCapacity: true)
            var level = -1
            var levelValue = 0.0
            structure.forEachEntry(row: row) { column, value in
                guard column < positions.count, let position = positions[column] else { return }
                if position >= 0 {
                    level = position
                    levelValue = value
                } else {
                    restIndices.append(-1 - position)
                    restValues.append(value)
                }
            }
            return (level, levelValue)
        }
    }

    /// The meat Σ weight·s sᵀ over score vectors with at most one level of E each, in blocks:
    /// E's diagonal, E against the remainder (m × k, level-major) and the remainder's own (k × k).
    struct BlockMeat {
        let k: Int
        var levelDiagonal: [Double]
        var levelCross: [Double]
        var restGram: [Double]

        init(levelCount: Int, restCount k: Int) {
            self.k = k
            levelDiagonal = [Double](repeating: 0, count: levelCount)
            levelCross = [Double](repeating: 0, count: levelCount * k)
            restGram = [Double](repeating: 0, count: k * k)
        }

        mutating func add(weight: Double, level: Int, levelValue: Double, restIndices: [Int], restValues: [Double]) {
            let k = self.k
            restGram.withUnsafeMutableBufferPointer { gram in
                for a in restIndices.indices {
                    let weighted = weight * restValues[a]
                    let i = restIndices[a]
                    for b in restIndices.indices { gram[i + restIndices[b] * k] += weighted * restValues[b] }
                }
            }
            guard level >= 0 else { return }
            let weighted = weight * levelValue
            levelDiagonal[level] += weighted * levelValue
            let row = level * k
            for a in restIndices.indices { levelCross[row + restIndices[a]] += weighted * restValues[a] }
        }
    }

    /// Requires the memory a construction holds at its peak: the meat's remainder block, Q, Y
    /// and their products (k × k, five), and the meat's table, F, Z and A·Y (m × k, four),
    /// beside the bread's own blocks.
    static func requireMemory(levelCount m: Int, restCount k: Int, extra: Int? = 0, what: String) throws {
        try MemoryBudget.current().require(
            MemoryBudget.sum(MemoryBudget.bytes(doubles: k, k, 5), MemoryBudget.bytes(doubles: m, k, 4), extra),
            for: "\(what) by blocks: \(MemoryBudget.describe(count: m)) levels against "
                + "\(MemoryBudget.describe(count: k)) other coefficients",
            remedy: "use fewer levels or terms")
    }

    /// From a meat in blocks (`BlockMeat`): Q = Mr − (AᵀF + FᵀA) with F = Mc − ½·Md·A is
    /// Σ (s_R − Aᵀs_E)(s_R − Aᵀs_E)ᵀ, so Y = S⁻¹ Q S⁻¹; Z = P S⁻¹ with P = D⁻¹(Mc − Md·A);
    /// W = Md / D².
    init(covariance: BlockCovariance, meat: BlockMeat, scale: Double) throws {
        let factor = covariance.factor
        let k = factor.keptRest.count
        let m = factor.keptEliminated.count
        let a = covariance.scaledCross
        let nonZeros = k > 0 ? BlockSolver.rowNonZeros(a, rows: Array(0..<m), width: k) : [[Int]](repeating: [], count: m)
        var half = [Double](repeating: 0, count: m * k)  // F, then P
        var unionNonZeros: [[Int]] = []
        unionNonZeros.reserveCapacity(m)
        var q = meat.restGram
        for p in 0..<m {
            let row = p * k
            var entries: [Int] = []
            for j in 0..<k where a[row + j] != 0 || meat.levelCross[row + j] != 0 {
                entries.append(j)
                half[row + j] = meat.levelCross[row + j] - 0.5 * meat.levelDiagonal[p] * a[row + j]
            }
            unionNonZeros.append(entries)
        }
        let sparse = unionNonZeros.reduce(0) { $0 + $1.count } * 4 < m * k
        if sparse {
            q.withUnsafeMutableBufferPointer { q in
                for p in 0..<m {
                    let row = p * k
                    for i in unionNonZeros[p] {
                        let ai = a[row + i], fi = half[row + i]
                        for j in unionNonZeros[p] { q[i + j * k] -= ai * half[row + j] + fi * a[row + j] }
                    }
                }
            }
        } else if k > 0, m > 0 {
            // C = AᵀF (k × k), then Q −= C + Cᵀ.
            let c = try BlockSandwich.multiply(a, half, rows: k, columns: k, inner: m, transposeSecond: true)
            for j in 0..<k {
                for i in 0..<k { q[i + j * k] -= c[i + j * k] + c[j + i * k] }
            }
        }
        let inverse = covariance.inverse
        let y: [Double]
        if k > 0 {
            let left = try BlockSandwich.multiply(inverse, q, rows: k, columns: k, inner: k)
            y = try BlockSandwich.multiply(left, inverse, rows: k, columns: k, inner: k)
        } else {
            y = []
        }
        var levelDiagonal = [Double](repeating: 0, count: m)
        for p in 0..<m {
            let d = factor.diagonal[factor.keptEliminated[p]]
            levelDiagonal[p] = meat.levelDiagonal[p] / (d * d)
            let row = p * k
            for j in unionNonZeros[p] {
                half[row + j] = (meat.levelCross[row + j] - meat.levelDiagonal[p] * a[row + j]) / d
            }
        }
        let z = try BlockSandwich.rowsTimes(half, nonZeros: sparse ? unionNonZeros : nil, symmetric: inverse, rows: m, width: k)
        let product = try BlockSandwich.rowsTimes(a, nonZeros: nonZeros, symmetric: y, rows: m, width: k)
        self.init(
            covariance: covariance, levelNonZeros: nonZeros, restBlock: BlockSandwich.symmetrised(y, order: k),
            levelCross: z, levelProduct: product, levelDiagonal: levelDiagonal, levelPairs: nil, scale: scale)
    }

    init(
        covariance: BlockCovariance, levelNonZeros: [[Int]], restBlock: [Double], levelCross: [Double],
        levelProduct: [Double], levelDiagonal: [Double], levelPairs: LevelPairs?, scale: Double
    ) {
        self.covariance = covariance
        self.levelNonZeros = levelNonZeros
        self.restBlock = restBlock
        self.levelCross = levelCross
        self.levelProduct = levelProduct
        self.levelDiagonal = levelDiagonal
        self.levelPairs = levelPairs
        self.scale = scale
    }

    /// Clusters `batchSize` at a time: t = s_R − Aᵀ s_E for each, Y_b = S⁻¹ T_b by one dgemm,
    /// Y += Y_b Y_bᵀ by dsyrk, Z_p += u_p y for the levels a cluster holds.
    static func clustered(
        covariance: BlockCovariance, reader: RowReader, residuals: [Double], order: [Int], starts: [Int], scale: Double
    ) throws -> BlockSandwich {
        let factor = covariance.factor
        let k = factor.keptRest.count
        let m = factor.keptEliminated.count
        let a = covariance.scaledCross
        let nonZeros = k > 0 ? BlockSolver.rowNonZeros(a, rows: Array(0..<m), width: k) : [[Int]](repeating: [], count: m)
        let clusterCount = starts.count - 1
        let batchSize = max(1, min(clusterCount, (1 << 20) / max(k, 1)))
        var y = [Double](repeating: 0, count: k * k)
        var z = [Double](repeating: 0, count: m * k)
        var levelDiagonal = [Double](repeating: 0, count: m)
        var pairLevels: [Int32] = []
        var pairClusters: [Int32] = []
        var pairValues: [Double] = []
        var levelSums = [Double](repeating: 0, count: m)
        var seen = [Bool](repeating: false, count: m)
        var touched: [Int] = []
        var restIndices: [Int] = []
        var restValues: [Double] = []
        var batch = [Double](repeating: 0, count: k * batchSize)
        var batchStart = 0
        while batchStart < clusterCount {
            let batchEnd = min(batchStart + batchSize, clusterCount)
            let width = batchEnd - batchStart
            for index in batch.indices { batch[index] = 0 }
            let firstPair = pairValues.count
            for g in batchStart..<batchEnd {
                let column = (g - batchStart) * k
                for position in starts[g]..<starts[g + 1] {
                    let row = order[position]
                    let residual = residuals[row]
                    if residual == 0 { continue }
                    let (level, value) = reader.read(row: row, restIndices: &restIndices, restValues: &restValues)
                    for (i, index) in restIndices.enumerated() { batch[column + index] += residual * restValues[i] }
                    if level >= 0 {
                        if !seen[level] {
                            seen[level] = true
                            touched.append(level)
                        }
                        levelSums[level] += residual * value
                    }
                }
                for level in touched {
                    let sum = levelSums[level]
                    levelSums[level] = 0
                    seen[level] = false
                    for j in nonZeros[level] { batch[column + j] -= sum * a[level * k + j] }
                    let u = sum / factor.diagonal[factor.keptEliminated[level]]
                    levelDiagonal[level] += u * u
                    pairLevels.append(Int32(truncatingIfNeeded: level))
                    pairClusters.append(Int32(truncatingIfNeeded: g))
                    pairValues.append(u)
                }
                touched.removeAll(keepingCapacity: true)
            }
            if k > 0 {
                let solved = try multiply(covariance.inverse, batch, rows: k, columns: width, inner: k)
                var uplo = Int8(UInt8(ascii: "U"))
                var trans = Int8(UInt8(ascii: "N"))
                var n = try BlockSolver.lapackOrder(k)
                var inner = try BlockSolver.lapackOrder(width)
                var alpha = 1.0
                var beta = 1.0
                dsyrk_(&uplo, &trans, &n, &inner, &alpha, solved, &n, &beta, &y, &n, 1, 1)
                for pair in firstPair..<pairValues.count {
                    let row = Int(pairLevels[pair]) * k
                    let column = (Int(pairClusters[pair]) - batchStart) * k
                    let u = pairValues[pair]
                    for j in 0..<k { z[row + j] += u * solved[column + j] }
                }
            }
            batchStart = batchEnd
        }
        // Y's upper triangle to both.
        for j in 0..<k {
            for i in 0..<j { y[j + i * k] = y[i + j * k] }
        }
        // The pairs by level: clusters stay ascending within each.
        var starts = [Int](repeating: 0, count: m + 1)
        for level in pairLevels { starts[Int(level) + 1] += 1 }
        for p in 0..<m { starts[p + 1] += starts[p] }
        var next = starts
        var clusters = [Int32](repeating: 0, count: pairLevels.count)
        var values = [Double](repeating: 0, count: pairLevels.count)
        for pair in pairLevels.indices {
            let level = Int(pairLevels[pair])
            clusters[next[level]] = pairClusters[pair]
            values[next[level]] = pairValues[pair]
            next[level] += 1
        }
        let product = try rowsTimes(a, nonZeros: nonZeros, symmetric: y, rows: m, width: k)
        return BlockSandwich(
            covariance: covariance, levelNonZeros: nonZeros, restBlock: y, levelCross: z, levelProduct: product,
            levelDiagonal: levelDiagonal, levelPairs: LevelPairs(starts: starts, clusters: clusters, values: values),
            scale: scale)
    }

    // MARK: - Products

    /// first · second (or first · secondᵀ), column-major, by dgemm.
    static func multiply(
        _ first: [Double], _ second: [Double], rows: Int, columns: Int, inner: Int, transposeSecond: Bool = false
    ) throws -> [Double] {
        var result = [Double](repeating: 0, count: rows * columns)
        guard rows > 0, columns > 0, inner > 0 else { return result }
        var transA = Int8(UInt8(ascii: "N"))
        var transB = Int8(UInt8(ascii: transposeSecond ? "T" : "N"))
        var m = try BlockSolver.lapackOrder(rows)
        var n = try BlockSolver.lapackOrder(columns)
        var depth = try BlockSolver.lapackOrder(inner)
        var ldb = transposeSecond ? n : depth
        var alpha = 1.0
        var beta = 0.0
        dgemm_(&transA, &transB, &m, &n, &depth, &alpha, first, &m, second, &ldb, &beta, &result, &m, 1, 1)
        return result
    }

    /// Each row (of `width`, row-major) times a symmetric `width`-square matrix: over each
    /// row's non-zero entries when given and sparse, else by one dgemm.
    static func rowsTimes(
        _ matrix: [Double], nonZeros: [[Int]]?, symmetric: [Double], rows: Int, width k: Int
    ) throws -> [Double] {
        guard rows > 0, k > 0 else { return [Double](repeating: 0, count: rows * k) }
        if let nonZeros, nonZeros.reduce(0, { $0 + $1.count }) * 4 < rows * k {
            var result = [Double](repeating: 0, count: rows * k)
            symmetric.withUnsafeBufferPointer { s in
                result.withUnsafeMutableBufferPointer { result in
                    for p in 0..<rows {
                        for i in nonZeros[p] {
                            let value = matrix[p * k + i]
                            // Column i of the symmetric matrix, contiguous, for its row i.
                            for j in 0..<k { result[p * k + j] += value * s[j + i * k] }
                        }
                    }
                }
            }
            return result
        }
        // Row-major rows × k is column-major k × rows: S · that, S symmetric.
        return try multiply(symmetric, matrix, rows: k, columns: rows, inner: k)
    }

    static func symmetrised(_ matrix: [Double], order k: Int) -> [Double] {
        var result = matrix
        for j in 0..<k {
            for i in 0..<j {
                let mean = (matrix[i + j * k] + matrix[j + i * k]) / 2
                result[i + j * k] = mean
                result[j + i * k] = mean
            }
        }
        return result
    }
}
