/// A small dense matrix, column-major, for the per-cluster and parameter-sized algebra of
/// a GEE fit (orders of a cluster size or of the number of coefficients).
///
/// Solves use LU with partial pivoting, as geepack's TNT `LU_factor`/`LU_solve` do, so
/// that indefinite (but non-singular) working correlation matrices behave as in geepack.
struct SmallMatrix: Sendable, Equatable {
    var rows: Int
    var columns: Int
    /// Column-major `rows × columns`.
    var values: [Double]

    init(rows: Int, columns: Int, repeating value: Double = 0) {
        self.rows = rows
        self.columns = columns
        self.values = [Double](repeating: value, count: rows * columns)
    }

    init(rows: Int, columns: Int, values: [Double]) {
        precondition(values.count == rows * columns)
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    static func identity(_ order: Int) -> SmallMatrix {
        var matrix = SmallMatrix(rows: order, columns: order)
        for i in 0..<order { matrix[i, i] = 1 }
        return matrix
    }

    subscript(row: Int, column: Int) -> Double {
        get { values[row + column * rows] }
        set { values[row + column * rows] = newValue }
    }

    var transposed: SmallMatrix {
        var result = SmallMatrix(rows: columns, columns: rows)
        for j in 0..<columns {
            for i in 0..<rows { result[j, i] = self[i, j] }
        }
        return result
    }

    var diagonal: [Double] { (0..<min(rows, columns)).map { self[$0, $0] } }

    static func + (lhs: SmallMatrix, rhs: SmallMatrix) -> SmallMatrix {
        precondition(lhs.rows == rhs.rows && lhs.columns == rhs.columns)
        var result = lhs
        for k in 0..<result.values.count { result.values[k] += rhs.values[k] }
        return result
    }

    static func * (lhs: SmallMatrix, rhs: SmallMatrix) -> SmallMatrix {
        precondition(lhs.columns == rhs.rows)
        var result = SmallMatrix(rows: lhs.rows, columns: rhs.columns)
        for j in 0..<rhs.columns {
            for k in 0..<lhs.columns {
                let factor = rhs[k, j]
                if factor == 0 { continue }
                for i in 0..<lhs.rows { result.values[i + j * lhs.rows] += lhs.values[i + k * lhs.rows] * factor }
            }
        }
        return result
    }

    static func * (scalar: Double, matrix: SmallMatrix) -> SmallMatrix {
        var result = matrix
        for k in 0..<result.values.count { result.values[k] *= scalar }
        return result
    }

    /// Adds `scale · a bᵀ` in place.
    mutating func addOuterProduct(_ a: [Double], _ b: [Double], scale: Double = 1) {
        precondition(a.count == rows && b.count == columns)
        for j in 0..<columns {
            let factor = scale * b[j]
            if factor == 0 { continue }
            for i in 0..<rows { values[i + j * rows] += a[i] * factor }
        }
    }

    /// Solves A x = b for A given by rows (the q × q systems of hypothesis tests), by LU
    /// with partial pivoting as LAPACK's dgesv, which R's `solve` calls.
    static func solve(_ a: [[Double]], _ b: [Double]) throws -> [Double] {
        let order = b.count
        var matrix = SmallMatrix(rows: order, columns: order)
        for i in 0..<order {
            for j in 0..<order { matrix[i, j] = j < a[i].count ? a[i][j] : 0 }
        }
        guard matrix.values.allSatisfy(\.isFinite), let lu = LUFactorization(matrix) else {
            throw GLMError.fitFailed(message: "the covariance of the restrictions is singular; some restrictions are redundant")
        }
        var x = b
        lu.solve(&x)
        return x
    }

    /// The inverse by LU with partial pivoting; nil when the matrix is singular.
    func inverse() -> SmallMatrix? {
        guard let lu = LUFactorization(self) else { return nil }
        return lu.solve(SmallMatrix.identity(rows))
    }
}

/// PA = LU with partial pivoting (Doolittle, row interchanges), as TNT's `LU_factor`.
struct LUFactorization {
    private var lu: [Double]
    private let order: Int
    private var pivots: [Int]

    /// Nil when a pivot is exactly zero (the matrix is singular).
    init?(_ matrix: SmallMatrix) {
        precondition(matrix.rows == matrix.columns)
        let n = matrix.rows
        var values = matrix.values
        var pivots = [Int](repeating: 0, count: n)
        let singular = values.withUnsafeMutableBufferPointer { a -> Bool in
            for j in 0..<n {
                var pivotRow = j
                var largest = abs(a[j + j * n])
                for i in (j + 1)..<n where abs(a[i + j * n]) > largest {
                    largest = abs(a[i + j * n])
                    pivotRow = i
                }
                pivots[j] = pivotRow
                if a[pivotRow + j * n] == 0 { return true }
                if pivotRow != j {
                    for k in 0..<n { a.swapAt(j + k * n, pivotRow + k * n) }
                }
                let pivot = a[j + j * n]
                for i in (j + 1)..<n { a[i + j * n] /= pivot }
                for k in (j + 1)..<n {
                    let factor = a[j + k * n]
                    if factor == 0 { continue }
                    for i in (j + 1)..<n { a[i + k * n] -= a[i + j * n] * factor }
                }
            }
            return false
        }
        if singular { return nil }
        self.lu = values
        self.order = n
        self.pivots = pivots
    }

    /// Solves A x = b for the `count` columns stored from `b` on (column-major, leading
    /// dimension `order`).
    private func solve(_ b: UnsafeMutablePointer<Double>, columns count: Int) {
        let n = order
        lu.withUnsafeBufferPointer { a in
            for column in 0..<count {
                let x = b + column * n
                for j in 0..<n where pivots[j] != j {
                    let swap = x[j]
                    x[j] = x[pivots[j]]
                    x[pivots[j]] = swap
                }
                for j in 0..<n {
                    let value = x[j]
                    if value == 0 { continue }
                    for i in (j + 1)..<n { x[i] -= a[i + j * n] * value }
                }
                for j in stride(from: n - 1, through: 0, by: -1) {
                    x[j] /= a[j + j * n]
                    let value = x[j]
                    if value == 0 { continue }
                    for i in 0..<j { x[i] -= a[i + j * n] * value }
                }
            }
        }
    }

    /// Solves A x = b in place.
    func solve(_ b: inout [Double]) {
        precondition(b.count == order)
        guard order > 0 else { return }
        b.withUnsafeMutableBufferPointer { buffer in
            if let base = buffer.baseAddress { solve(base, columns: 1) }
        }
    }

    /// Solves A X = B.
    func solve(_ b: SmallMatrix) -> SmallMatrix {
        precondition(b.rows == order)
        var result = b
        if order > 0 && b.columns > 0 {
            result.values.withUnsafeMutableBufferPointer { buffer in
                if let base = buffer.baseAddress { solve(base, columns: b.columns) }
            }
        }
        return result
    }
}
