import CLapack

/// The coefficient-sized (p × p) algebra of a GEE: the Fisher-scoring solve, the inverse of
/// the information and the sandwich's products.
///
/// Below `blasOrder` coefficients it is `SmallMatrix`'s own LU and products, the
/// arithmetic of geepack's TNT code. From it on (a factor of many levels) LAPACK's Cholesky
/// and BLAS's dgemm: the information Σ Dᵀ V⁻¹ D is symmetric positive definite for a
/// positive definite working correlation, and an O(p³) step in Swift loops took most of a
/// 1,000-level fit. A matrix Cholesky cannot factor (an indefinite working correlation)
/// goes to the LU as before.
enum GEEAlgebra {
    static let blasOrder = 64

    /// x with A x = b, or nil when A is singular.
    static func solve(_ a: SmallMatrix, _ b: [Double]) -> [Double]? {
        if a.rows >= blasOrder, var factor = cholesky(a) {
            var x = b
            var uplo = Int8(UInt8(ascii: "U"))
            var n = Int32(truncatingIfNeeded: a.rows)
            var nrhs: Int32 = 1
            var info: Int32 = 0
            var lda = n
            var ldb = n
            dpotrs_(&uplo, &n, &nrhs, &factor, &lda, &x, &ldb, &info, 1)
            if info == 0 { return x }
        }
        guard let lu = LUFactorization(a) else { return nil }
        var x = b
        lu.solve(&x)
        return x
    }

    /// A⁻¹, or nil when A is singular.
    static func inverse(_ a: SmallMatrix) -> SmallMatrix? {
        if a.rows >= blasOrder, var factor = cholesky(a) {
            var uplo = Int8(UInt8(ascii: "U"))
            var n = Int32(truncatingIfNeeded: a.rows)
            var lda = n
            var info: Int32 = 0
            dpotri_(&uplo, &n, &factor, &lda, &info, 1)
            if info == 0 {
                let order = a.rows
                // dpotri leaves the upper triangle; the inverse is symmetric.
                for j in 0..<order {
                    for i in (j + 1)..<max(order, j + 1) { factor[i + j * order] = factor[j + i * order] }
                }
                return SmallMatrix(rows: order, columns: order, values: factor)
            }
        }
        return a.inverse()
    }

    /// A B.
    static func product(_ a: SmallMatrix, _ b: SmallMatrix) -> SmallMatrix {
        precondition(a.columns == b.rows)
        guard min(a.rows, a.columns, b.columns) >= blasOrder else { return a * b }
        var result = SmallMatrix(rows: a.rows, columns: b.columns)
        var transA = Int8(UInt8(ascii: "N"))
        var transB = Int8(UInt8(ascii: "N"))
        var m = Int32(truncatingIfNeeded: a.rows)
        var n = Int32(truncatingIfNeeded: b.columns)
        var k = Int32(truncatingIfNeeded: a.columns)
        var one = 1.0
        var zero = 0.0
        dgemm_(&transA, &transB, &m, &n, &k, &one, a.values, &m, b.values, &k, &zero, &result.values, &m, 1, 1)
        return result
    }

    /// The upper Cholesky factor of A (read from its upper triangle), or nil when A is not
    /// positive definite or its order does not fit LAPACK's integers.
    private static func cholesky(_ a: SmallMatrix) -> [Double]? {
        guard a.rows == a.columns, a.rows > 0, a.rows < Int(Int32.max), a.values.allSatisfy(\.isFinite) else {
            return nil
        }
        var factor = a.values
        var uplo = Int8(UInt8(ascii: "U"))
        var n = Int32(truncatingIfNeeded: a.rows)
        var lda = n
        var info: Int32 = 0
        dpotrf_(&uplo, &n, &factor, &lda, &info, 1)
        return info == 0 ? factor : nil
    }
}
