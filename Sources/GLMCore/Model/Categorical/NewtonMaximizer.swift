import Foundation

/// Newton's method on a concave log-likelihood: the system solved by Cholesky, the step
/// halved while the log-likelihood falls, and a ridge added when the negative Hessian is
/// not positive definite away from the maximum (the cauchit ordinal model's is not
/// log-concave).
enum NewtonMaximizer {
    /// The log-likelihood, its gradient and the negative Hessian (`order × order`,
    /// column-major, symmetric) at a parameter vector; nil log-likelihood when the
    /// parameters are outside the model's domain.
    struct Evaluation {
        var logLikelihood: Double
        var gradient: [Double]
        var negativeHessian: [Double]

        init(logLikelihood: Double, gradient: [Double], negativeHessian: [Double]) {
            self.logLikelihood = logLikelihood
            self.gradient = gradient
            self.negativeHessian = negativeHessian
        }

        /// The sum of the evaluations of row ranges (in their order), its Hessian mirrored
        /// from the lower triangle the row passes fill.
        init(summing parts: [Evaluation], order: Int) {
            logLikelihood = 0
            gradient = [Double](repeating: 0, count: order)
            negativeHessian = [Double](repeating: 0, count: order * order)
            for part in parts {
                logLikelihood += part.logLikelihood
                for i in 0..<order { gradient[i] += part.gradient[i] }
                for i in 0..<(order * order) { negativeHessian[i] += part.negativeHessian[i] }
            }
            for column in 0..<order {
                for row in 0..<column { negativeHessian[row * order + column] = negativeHessian[column * order + row] }
            }
        }
    }

    struct Result {
        let parameters: [Double]
        let evaluation: Evaluation
        let iterations: Int
        let converged: Bool
    }

    /// Iterates from `start` until the Newton decrement gᵀH⁻¹g falls below
    /// 1e-16·(|log L| + 1) (the maximum to rounding), or `maxIterations` steps.
    static func maximize(
        start: [Double], maxIterations: Int, evaluate: ([Double]) -> Evaluation?
    ) throws -> Result {
        var parameters = start
        guard var current = evaluate(start), current.logLikelihood.isFinite else {
            throw GLMError.fitFailed(message: "the log-likelihood is not finite at the starting values")
        }
        let order = start.count
        var iterations = 0
        var converged = false
        while iterations < maxIterations {
            guard let step = solve(current.negativeHessian, current.gradient, order: order) else {
                throw GLMError.fitFailed(message: "the Hessian is singular: some coefficients are not identifiable "
                    + "(a column of the model matrix is a combination of others, or a level is separated)")
            }
            let decrement = zip(step, current.gradient).reduce(0) { $0 + $1.0 * $1.1 }
            if decrement.isFinite, decrement < 1e-16 * (abs(current.logLikelihood) + 1) {
                converged = true
                break
            }
            iterations += 1
            var scale = 1.0
            var accepted = false
            for _ in 0..<40 {
                let trial = zip(parameters, step).map { $0 + scale * $1 }
                if let next = evaluate(trial), next.logLikelihood.isFinite,
                   next.logLikelihood >= current.logLikelihood - 1e-13 * (abs(current.logLikelihood) + 1) {
                    parameters = trial
                    current = next
                    accepted = true
                    break
                }
                scale /= 2
            }
            if !accepted {
                // No step improves the log-likelihood: at the maximum to rounding.
                converged = decrement.isFinite && decrement < 1e-8 * (abs(current.logLikelihood) + 1)
                break
            }
        }
        return Result(parameters: parameters, evaluation: current, iterations: iterations, converged: converged)
    }

    /// Solves H x = g for a symmetric H, by Cholesky; when H is not positive definite, with
    /// a growing ridge added to its diagonal.
    static func solve(_ h: [Double], _ g: [Double], order: Int) -> [Double]? {
        let largest = (0..<order).map { abs(h[$0 * order + $0]) }.max() ?? 0
        var ridge = 0.0
        for _ in 0..<20 {
            var matrix = h
            for i in 0..<order { matrix[i * order + i] += ridge }
            if let factor = cholesky(matrix, order: order) {
                return choleskySolve(factor, g, order: order)
            }
            ridge = ridge == 0 ? max(largest, 1) * 1e-8 : ridge * 10
        }
        return nil
    }

    /// The lower Cholesky factor L (column-major, L Lᵀ = A), or nil when A is not
    /// positive definite.
    static func cholesky(_ a: [Double], order n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var diagonal = a[j * n + j]
            for k in 0..<j { diagonal -= l[k * n + j] * l[k * n + j] }
            guard diagonal > 0, diagonal.isFinite else { return nil }
            let root = diagonal.squareRoot()
            l[j * n + j] = root
            for i in (j + 1)..<max(n, j + 1) {
                var value = a[j * n + i]
                for k in 0..<j { value -= l[k * n + i] * l[k * n + j] }
                l[j * n + i] = value / root
            }
        }
        // Positive but numerically singular: pivots far below the diagonal's scale.
        let pivots = (0..<n).map { l[$0 * n + $0] * l[$0 * n + $0] }
        let scale = (0..<n).map { abs(a[$0 * n + $0]) }.max() ?? 0
        if let smallest = pivots.min(), smallest < scale * 1e-14 { return nil }
        return l
    }

    static func choleskySolve(_ l: [Double], _ b: [Double], order n: Int) -> [Double] {
        var y = b
        for i in 0..<n {
            var value = y[i]
            for k in 0..<i { value -= l[k * n + i] * y[k] }
            y[i] = value / l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var value = y[i]
            for k in (i + 1)..<max(n, i + 1) { value -= l[i * n + k] * y[k] }
            y[i] = value / l[i * n + i]
        }
        return y
    }

    /// The inverse of a symmetric positive definite matrix (the covariance of the
    /// estimates from the negative Hessian), by rows; nil when it is singular.
    static func inverse(_ h: [Double], order n: Int) -> [[Double]]? {
        guard let l = cholesky(h, order: n) else { return nil }
        var columns: [[Double]] = []
        for j in 0..<n {
            var unit = [Double](repeating: 0, count: n)
            unit[j] = 1
            columns.append(choleskySolve(l, unit, order: n))
        }
        // Symmetric: its columns are its rows; average the rounding away.
        return (0..<n).map { i in (0..<n).map { j in (columns[j][i] + columns[i][j]) / 2 } }
    }
}
