import CLapack
import Foundation

/// The solution of one weighted least-squares step, in the form R's `Cdqrls` returns.
public struct LeastSquaresSolution: Sendable {
    /// One per design column; 0 for aliased columns (as LINPACK's dqrls leaves them).
    public var coefficients: [Double]
    /// Kept columns in order, then aliased ones (R's `qr$pivot`, 0-based).
    public var pivot: [Int]
    public var rank: Int
    /// The `rank × rank` upper-triangular R of the weighted design's QR, column-major,
    /// columns in pivot order. Empty for a structured step (see `blockFactor`).
    public var rFactor: [Double]
    /// The factorisation of a step solved by blocks (a structured design), instead of R.
    public var blockFactor: BlockFactor?
    /// The factorisation of a step solved as sparse (several factors of many levels).
    public var sparseFactor: SparseFactor?

    public init(
        coefficients: [Double], pivot: [Int], rank: Int, rFactor: [Double], blockFactor: BlockFactor? = nil,
        sparseFactor: SparseFactor? = nil
    ) {
        self.coefficients = coefficients
        self.pivot = pivot
        self.rank = rank
        self.rFactor = rFactor
        self.blockFactor = blockFactor
        self.sparseFactor = sparseFactor
    }
}

/// Dense linear algebra on LAPACK. The only code in glmfit that calls LAPACK.
public enum LinearAlgebra {
    static func lapackInt(_ value: Int, _ what: String) throws -> Int32 {
        guard let converted = Int32(exactly: value) else {
            throw GLMError.fitFailed(message: "\(what) (\(value)) is too large for LAPACK's 32-bit indices")
        }
        return converted
    }

    /// Solves min ‖√w (z − X b)‖ over the rows in `rows` by Householder QR
    /// (`inOrderLeastSquares`), finding aliased columns by R's in-order rule: a column is
    /// aliased when its norm, after removing the columns kept before it, falls below
    /// `tolerance` times its original norm (LINPACK dqrdc2 as R's glm.fit uses it).
    ///
    /// - Parameters:
    ///   - x: column-major `rowCount × columnCount` design.
    ///   - rows: the rows to use (R's `good`).
    ///   - sqrtWeights, response: one per used row.
    public static func weightedLeastSquares(
        x: [Double], rowCount: Int, columnCount: Int, rows: [Int], sqrtWeights: [Double], response: [Double],
        tolerance: Double, aliasedBefore: Set<Int> = []
    ) throws -> LeastSquaresSolution {
        let used = rows.count
        guard let size = MemoryBudget.bytes(doubles: used, columnCount + 1) else {
            throw GLMError.fitFailed(message: "the weighted design of \(used) rows is too large")
        }
        var matrix = [Double](repeating: 0, count: size / MemoryLayout<Double>.stride)
        matrix.withUnsafeMutableBufferPointer { a in
            x.withUnsafeBufferPointer { design in
                for column in 0..<columnCount {
                    let source = column * rowCount
                    let target = column * used
                    for (i, row) in rows.enumerated() { a[target + i] = design[source + row] * sqrtWeights[i] }
                }
                for i in 0..<used { a[columnCount * used + i] = response[i] * sqrtWeights[i] }
            }
        }
        var solution = try inOrderLeastSquares(
            &matrix, rows: used, columns: columnCount, tolerance: tolerance, aliasedBefore: aliasedBefore)
        // Once the rank reaches the number of rows, LINPACK tests no further column: R leaves
        // those in place, after the kept ones and before the ones it moved to the end.
        if solution.rank == used, solution.rank < columnCount, let lastKept = solution.pivot[..<solution.rank].last {
            let aliased = solution.pivot[solution.rank...]
            solution.pivot = Array(solution.pivot[..<solution.rank]) + aliased.filter { $0 > lastKept }
                + aliased.filter { $0 < lastKept }
        }
        return solution
    }

    /// Sums of squares far enough from overflow and underflow that their square root is the
    /// norm to the last digit (the sum of squares of a column of 0s is 0 and exact too).
    static let safeSumOfSquares: ClosedRange<Double> = 0x1p-900...0x1p900

    /// The Euclidean norm of `values` without overflow or underflow (as BLAS dnrm2): each value
    /// divided by the largest magnitude before it is squared. NaN when a value is NaN.
    static func scaledNorm(_ values: UnsafeBufferPointer<Double>) -> Double {
        var largest = 0.0
        for value in values {
            if value.isNaN { return .nan }
            largest = max(largest, abs(value))
        }
        guard largest > 0, largest.isFinite else { return largest }
        var sumSquares = 0.0
        for value in values {
            let scaled = value / largest
            sumSquares += scaled * scaled
        }
        return largest * sumSquares.squareRoot()
    }

    /// LAPACK's workspace answer (a double) as its 32-bit count, at least `minimum`: a value
    /// that is not a finite number below Int32.max (which Int() would trap on) gives `minimum`.
    static func workspaceSize(_ query: Double, minimum: Int) -> Int32 {
        let floor = Int32(clamping: minimum)
        guard query.isFinite, query < Double(Int32.max) else { return floor }
        return Swift.max(floor, Int32(Swift.max(query, 0)))
    }

    /// Householder QR in place (dgeqrf); returns the reflector scalars.
    static func householderQR(_ a: inout [Double], rows: Int, columns: Int) throws -> [Double] {
        var m = try lapackInt(rows, "number of rows")
        var n = try lapackInt(columns, "number of columns")
        var lda = max(m, 1)
        var tau = [Double](repeating: 0, count: min(rows, columns))
        var info: Int32 = 0
        var query = 0.0
        var lwork: Int32 = -1
        dgeqrf_(&m, &n, &a, &lda, &tau, &query, &lwork, &info)
        lwork = workspaceSize(query, minimum: max(columns, 1))
        var work = [Double](repeating: 0, count: Int(lwork))
        dgeqrf_(&m, &n, &a, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw GLMError.fitFailed(message: "QR factorisation failed (LAPACK dgeqrf info \(info))") }
        return tau
    }

    /// vector ← Qᵀ vector for the Q stored by `householderQR`.
    static func applyQTranspose(factor: [Double], tau: [Double], rows: Int, vector: inout [Double]) throws {
        var side = Int8(UInt8(ascii: "L"))
        var trans = Int8(UInt8(ascii: "T"))
        var m = try lapackInt(rows, "number of rows")
        var nrhs: Int32 = 1
        var k = try lapackInt(tau.count, "number of reflectors")
        var lda = max(m, 1)
        var ldc = max(m, 1)
        var info: Int32 = 0
        var query = 0.0
        var lwork: Int32 = -1
        dormqr_(&side, &trans, &m, &nrhs, &k, factor, &lda, tau, &vector, &ldc, &query, &lwork, &info, 1, 1)
        lwork = workspaceSize(query, minimum: 1)
        var work = [Double](repeating: 0, count: Int(lwork))
        dormqr_(&side, &trans, &m, &nrhs, &k, factor, &lda, tau, &vector, &ldc, &work, &lwork, &info, 1, 1)
        guard info == 0 else { throw GLMError.fitFailed(message: "applying Q failed (LAPACK dormqr info \(info))") }
    }

    /// Solves R x = b for upper-triangular R (dtrtrs), b overwritten by x.
    static func solveUpperTriangular(_ r: [Double], order: Int, rightHandSide: inout [Double]) throws {
        var uplo = Int8(UInt8(ascii: "U"))
        var trans = Int8(UInt8(ascii: "N"))
        var diag = Int8(UInt8(ascii: "N"))
        var n = try lapackInt(order, "order")
        var nrhs: Int32 = 1
        var lda = max(n, 1)
        var ldb = max(n, 1)
        var info: Int32 = 0
        dtrtrs_(&uplo, &trans, &diag, &n, &nrhs, r, &lda, &rightHandSide, &ldb, &info, 1, 1, 1)
        guard info == 0 else {
            throw GLMError.fitFailed(message: "triangular solve failed: the design is singular (LAPACK dtrtrs info \(info))")
        }
    }

    /// (RᵀR)⁻¹ from an upper-triangular R (R's `chol2inv`), full symmetric, column-major.
    public static func inverseFromCholesky(_ r: [Double], order: Int) throws -> [Double] {
        guard order > 0 else { return [] }
        var a = r
        var uplo = Int8(UInt8(ascii: "U"))
        var n = try lapackInt(order, "order")
        var lda = max(n, 1)
        var info: Int32 = 0
        dpotri_(&uplo, &n, &a, &lda, &info, 1)
        guard info == 0 else {
            throw GLMError.fitFailed(message: "cannot invert the information matrix (LAPACK dpotri info \(info))")
        }
        for j in 0..<order {
            for i in (j + 1)..<order { a[i + j * order] = a[j + i * order] }
        }
        return a
    }
}

// MARK: - Normal equations for the fast IRLS step

extension LinearAlgebra {
    /// Keeps OpenBLAS (when Debian's alternatives select it) from starting its own threads
    /// inside the small per-block calls that glmfit already runs on every core: nested
    /// threading there cost more than the arithmetic. Reference BLAS has no such setting.
    static func keepBLASSingleThreaded() {
        typealias GetThreads = @convention(c) () -> Int32
        typealias SetThreads = @convention(c) (Int32) -> Void
        guard let get = blasSymbol("openblas_get_num_threads"), let set = blasSymbol("openblas_set_num_threads") else {
            return
        }
        // Setting the count starts a stopped pool again (OpenBLAS's restart after a fork), so
        // only when it is not already one.
        guard unsafeBitCast(get, to: GetThreads.self)() != 1 else { return }
        unsafeBitCast(set, to: SetThreads.self)(1)
    }

    /// Runs OpenBLAS single-threaded for the whole process and ends the worker threads it
    /// started when it was loaded, unless the user chose a thread count in the environment.
    ///
    /// Those workers spin on `sched_yield` for about 0.1 s after they start: on two cores
    /// that takes time from the reader, and glmfit's own row passes already use every core,
    /// while its BLAS calls are on p × p matrices or per-core blocks.
    public static func stopBLASThreadPool() {
        let choices = ["OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_DEFAULT_NUM_THREADS"]
        guard choices.allSatisfy({ getenv($0) == nil }) else { return }
        keepBLASSingleThreaded()
        // With one thread set first, no later call restarts the pool.
        typealias Shutdown = @convention(c) () -> Int32
        guard let symbol = blasSymbol("blas_thread_shutdown_") else { return }
        _ = unsafeBitCast(symbol, to: Shutdown.self)()
    }

    /// A symbol of the BLAS the process loaded, or nil (reference BLAS has none of OpenBLAS's).
    private static func blasSymbol(_ name: String) -> UnsafeMutableRawPointer? {
        // The process's own handle: every library it loaded, BLAS included.
        guard let process = dlopen(nil, RTLD_LAZY) else { return nil }
        return dlsym(process, name)
    }

    /// gram += Aᵀ A (upper triangle) and rhs += Aᵀ b for a column-major block A of
    /// `rows × columns` (BLAS dsyrk and dgemv).
    /// When `gram` is nil, only rhs (for a block whose XᵀWX is already known).
    static func accumulateNormalEquations(
        block: UnsafePointer<Double>, rows: Int, columns: Int, vector: UnsafePointer<Double>,
        gram: UnsafeMutablePointer<Double>?, rhs: UnsafeMutablePointer<Double>
    ) {
        guard rows > 0, columns > 0, let n = Int32(exactly: columns), let k = Int32(exactly: rows) else { return }
        var order = n
        var depth = k
        var lda = k
        var ldc = n
        var one = 1.0
        var uplo = Int8(UInt8(ascii: "U"))
        var trans = Int8(UInt8(ascii: "T"))
        if let gram { dsyrk_(&uplo, &trans, &order, &depth, &one, block, &lda, &one, gram, &ldc, 1, 1) }
        var m = k
        var increment: Int32 = 1
        dgemv_(&trans, &m, &order, &one, block, &lda, vector, &increment, &one, rhs, &increment, 1)
    }

    /// Solves the normal equations (XᵀWX) b = XᵀWz by Cholesky after scaling XᵀWX to unit
    /// diagonal, when that is accurate: nil when a column has no weight, the scaled matrix
    /// is not positive definite, or its reciprocal condition number is below
    /// `minimumReciprocalCondition` (the caller then takes the QR step). The squared
    /// condition number of the normal equations costs accuracy: with κ ≤ 1e7 the solution
    /// keeps about 9 significant digits, far inside the tests' 1e-6.
    static func solveNormalEquations(
        gram: [Double], rhs: [Double], order: Int, minimumReciprocalCondition: Double = 1e-7
    ) -> LeastSquaresSolution? {
        guard order > 0, let n32 = Int32(exactly: order) else { return nil }
        var scale = [Double](repeating: 0, count: order)
        for j in 0..<order {
            let diagonal = gram[j + j * order]
            // Outside this range a column's squares have overflowed or lost digits to
            // underflow (values beyond about 1e±150): QR, which works on the values, decides.
            guard safeSumOfSquares.contains(diagonal) else { return nil }
            scale[j] = 1 / diagonal.squareRoot()
        }
        // The scaled matrix, upper triangle, and its 1-norm for the condition estimate.
        var scaled = [Double](repeating: 0, count: order * order)
        for j in 0..<order {
            for i in 0...j { scaled[i + j * order] = gram[i + j * order] * scale[i] * scale[j] }
        }
        var norm = 0.0
        for j in 0..<order {
            var columnSum = 0.0
            for i in 0..<order {
                columnSum += abs(i <= j ? scaled[i + j * order] : scaled[j + i * order])
            }
            norm = max(norm, columnSum)
        }
        var uplo = Int8(UInt8(ascii: "U"))
        var n = n32
        var lda = n32
        var info: Int32 = 0
        dpotrf_(&uplo, &n, &scaled, &lda, &info, 1)
        guard info == 0 else { return nil }
        var reciprocal = 0.0
        var work = [Double](repeating: 0, count: 3 * order)
        var integerWork = [Int32](repeating: 0, count: order)
        dpocon_(&uplo, &n, &scaled, &lda, &norm, &reciprocal, &work, &integerWork, &info, 1)
        guard info == 0, reciprocal >= minimumReciprocalCondition else { return nil }
        var solution = (0..<order).map { rhs[$0] * scale[$0] }
        var nrhs: Int32 = 1
        var ldb = n32
        dpotrs_(&uplo, &n, &nrhs, &scaled, &lda, &solution, &ldb, &info, 1)
        guard info == 0 else { return nil }
        var rFactor = [Double](repeating: 0, count: order * order)
        for j in 0..<order {
            for i in 0...j { rFactor[i + j * order] = scaled[i + j * order] / scale[j] }
        }
        return LeastSquaresSolution(
            coefficients: (0..<order).map { solution[$0] * scale[$0] }, pivot: Array(0..<order), rank: order,
            rFactor: rFactor)
    }
}
