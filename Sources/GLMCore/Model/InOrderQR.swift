import CLapack
import Foundation

extension LinearAlgebra {
    /// Columns decided one at a time before the rest of the matrix is updated by their
    /// reflectors at once.
    static let inOrderPanelWidth = 32

    /// Least squares by Householder QR with R's in-order aliasing rule (LINPACK dqrdc2's
    /// limited pivoting): a column whose norm, after the kept columns before it, is below
    /// `tolerance` times its own norm is aliased and generates no reflector. The same answer
    /// as `weightedLeastSquares`, in one pass however many columns are aliased (that one
    /// factors X again after each): a panel of columns is decided column by column, then the
    /// columns after it are updated by the panel's kept reflectors in matrix products.
    ///
    /// - Parameters:
    ///   - matrix: the weighted design (`rows` × `columns`) followed by the weighted response
    ///     as one more column, column-major; overwritten.
    /// - Returns: coefficients (0 for aliased columns), kept columns then aliased ones, the
    ///   rank and R over the kept columns. A column after the rank has reached `rows` has
    ///   nothing left and is aliased.
    /// - Parameters:
    ///   - aliasedBefore: columns declared aliased without a test (see `DesignCells`).
    static func inOrderLeastSquares(
        _ matrix: inout [Double], rows: Int, columns: Int, tolerance: Double, aliasedBefore: Set<Int> = []
    ) throws -> LeastSquaresSolution {
        let (total, overflow) = rows.multipliedReportingOverflow(by: columns + 1)
        guard !overflow, matrix.count == total else {
            throw GLMError.fitFailed(message: "the least-squares matrix does not have \(rows) rows of \(columns + 1) columns")
        }
        let leading = try lapackInt(max(rows, 1), "number of rows")
        var norms = [Double](repeating: 0, count: columns)
        matrix.withUnsafeBufferPointer { a in
            for j in 0..<columns {
                norms[j] = norm(UnsafeBufferPointer(rebasing: a[(j * rows)..<((j + 1) * rows)]))
            }
        }
        var kept: [Int] = []
        var aliased: [Int] = []
        var rank = 0
        var panelStart = 0
        while panelStart < columns {
            let panelEnd = min(columns, panelStart + inOrderPanelWidth)
            let panelRank = rank
            var panelTau: [Double] = []
            try matrix.withUnsafeMutableBufferPointer { a in
                guard let base = a.baseAddress else { return }
                for j in panelStart..<panelEnd {
                    if aliasedBefore.contains(j) {
                        aliased.append(j)
                        continue
                    }
                    let remaining = rank < rows
                        ? norm(UnsafeBufferPointer(rebasing: a[(rank + j * rows)..<((j + 1) * rows)])) : 0
                    let original = norms[j] == 0 ? 1 : norms[j]
                    guard remaining >= original * tolerance else {
                        aliased.append(j)
                        continue
                    }
                    // The reflector that zeroes the column below the diagonal (row `rank`).
                    let diagonal = base + rank + j * rows
                    var length = try lapackInt(rows - rank, "number of rows")
                    var increment: Int32 = 1
                    var tau = 0.0
                    dlarfg_(&length, diagonal, diagonal + 1, &increment, &tau)
                    let later = panelEnd - j - 1
                    if later > 0, tau != 0 {
                        // Applied to the panel's later columns, with the reflector's implicit
                        // leading 1 in place of R's diagonal entry for the call.
                        let beta = diagonal.pointee
                        diagonal.pointee = 1
                        var side = Int8(UInt8(ascii: "L"))
                        var count = try lapackInt(later, "number of columns")
                        var ldc = leading
                        var work = [Double](repeating: 0, count: later)
                        dlarf_(&side, &length, &count, diagonal, &increment, &tau, diagonal + rows, &ldc, &work, 1)
                        diagonal.pointee = beta
                    }
                    kept.append(j)
                    panelTau.append(tau)
                    rank += 1
                }
            }
            if !panelTau.isEmpty {
                try applyPanel(
                    &matrix, rows: rows, columns: columns, panelColumns: Array(kept.suffix(panelTau.count)),
                    firstRow: panelRank, tau: panelTau, from: panelEnd)
            }
            panelStart = panelEnd
        }
        // R over the kept columns: column t's rows above its diagonal are final once the
        // reflectors before it have been applied.
        var rFactor = [Double](repeating: 0, count: rank * rank)
        var solution = [Double](repeating: 0, count: rank)
        for (t, column) in kept.enumerated() {
            for i in 0...t { rFactor[i + t * rank] = matrix[i + column * rows] }
            solution[t] = matrix[t + columns * rows]
        }
        var coefficients = [Double](repeating: 0, count: columns)
        if rank > 0 {
            try solveUpperTriangular(rFactor, order: rank, rightHandSide: &solution)
            for (t, column) in kept.enumerated() { coefficients[column] = solution[t] }
        }
        return LeastSquaresSolution(coefficients: coefficients, pivot: kept + aliased, rank: rank, rFactor: rFactor)
    }

    /// Columns `from`... (the response included) ← Qᵀ of a panel's kept reflectors, whose
    /// implicit leading 1s are at rows `firstRow`, `firstRow` + 1, …: as I − V T Vᵀ, by
    /// matrix products (dlarft, dlarfb; dormqr would apply so few reflectors one by one).
    private static func applyPanel(
        _ matrix: inout [Double], rows: Int, columns: Int, panelColumns: [Int], firstRow: Int, tau: [Double], from: Int
    ) throws {
        let height = rows - firstRow
        let count = panelColumns.count
        var reflectors = [Double](repeating: 0, count: height * count)
        for (t, column) in panelColumns.enumerated() {
            reflectors[t + t * height] = 1
            for i in (t + 1)..<max(height, t + 1) { reflectors[i + t * height] = matrix[firstRow + i + column * rows] }
        }
        var forward = Int8(UInt8(ascii: "F"))
        var columnwise = Int8(UInt8(ascii: "C"))
        var side = Int8(UInt8(ascii: "L"))
        var trans = Int8(UInt8(ascii: "T"))
        var m = try lapackInt(height, "number of rows")
        var n = try lapackInt(columns + 1 - from, "number of columns")
        var k = try lapackInt(count, "number of reflectors")
        var ldv = max(m, 1)
        var ldt = max(k, 1)
        var ldc = try lapackInt(rows, "number of rows")
        var triangle = [Double](repeating: 0, count: count * count)
        dlarft_(&forward, &columnwise, &m, &k, reflectors, &ldv, tau, &triangle, &ldt, 1, 1)
        var ldwork = max(n, 1)
        var work = [Double](repeating: 0, count: (columns + 1 - from) * count)
        matrix.withUnsafeMutableBufferPointer { a in
            guard let base = a.baseAddress else { return }
            dlarfb_(&side, &trans, &forward, &columnwise, &m, &n, &k, reflectors, &ldv, triangle, &ldt,
                    base + firstRow + from * rows, &ldc, &work, &ldwork, 1, 1, 1, 1)
        }
    }

    /// A column's Euclidean norm, rescaled where its squares would overflow or underflow.
    private static func norm(_ values: UnsafeBufferPointer<Double>) -> Double {
        var sumSquares = 0.0
        for value in values { sumSquares += value * value }
        guard safeSumOfSquares.contains(sumSquares) else { return scaledNorm(values) }
        return sumSquares.squareRoot()
    }
}
