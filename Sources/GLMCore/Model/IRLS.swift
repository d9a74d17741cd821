import CKernels
import Foundation

/// How each weighted least-squares step is solved.
public enum StepSolver: String, Sendable, Equatable {
    /// Householder QR of the weighted design with R's aliasing rule, as glm.fit: closest to
    /// R's last digits, O(n·p²) with a copy of X per iteration.
    case householderQR
    /// The normal equations XᵀWX by Cholesky, accumulated in the one pass over X that also
    /// computes the means; QR for a step whose equations are ill-conditioned.
    case cholesky
    /// QR for small problems (n·p² up to 2·10⁷), Cholesky above; by blocks for a design
    /// whose factor terms are held as codes.
    case automatic
    /// The normal equations by blocks (`BlockSolver`): the widest factor term eliminated as a
    /// diagonal, every other column by an in-order Cholesky; X never built as values.
    case blocks

    func resolved(rowCount: Int, columnCount: Int) -> StepSolver {
        guard self == .automatic else { return self }
        let work = Double(rowCount) * Double(columnCount) * Double(columnCount)
        return work <= 2e7 ? .householderQR : .cholesky
    }
}

/// Convergence settings, as R's `glm.control`, and the step solver.
public struct FitControl: Sendable, Equatable {
    public var epsilon: Double
    public var maxIterations: Int
    public var solver: StepSolver
    /// Whether a near-singular step by blocks of a design small enough to build is solved by
    /// QR (R's aliasing rule on X itself); off only to test the block aliasing rule.
    public var nearSingularBlocksByQR = true
    /// Whether such a step is solved by QR on the design's cells (`DesignCells`) even where X
    /// as values would fit (where it does not, they are the only way); on only in tests.
    public var nearSingularQROnCells = false
    /// The dense remainder's largest size before the other factors of many levels are held
    /// apart as sparse (`BlockLayout.denseRestLimit`); smaller only in tests.
    public var denseRestLimit = BlockLayout.denseRestLimit
    /// The narrowest factor term held apart then (`BlockLayout.secondaryMinimumWidth`).
    public var secondaryMinimumWidth = BlockLayout.secondaryMinimumWidth

    public init(epsilon: Double = 1e-8, maxIterations: Int = 25, solver: StepSolver = .automatic) {
        self.epsilon = epsilon
        self.maxIterations = maxIterations
        self.solver = solver
    }

    /// The QR tolerance glm.fit uses for aliasing: min(1e-7, epsilon / 1000).
    public var qrTolerance: Double { min(1e-7, epsilon / 1000) }
}

/// The state IRLS ends in: R's `glm.fit` return value, before any inference.
public struct IRLSResult: Sendable {
    /// Coefficients by design column; NaN for aliased columns.
    public var coefficients: [Double]
    public var solution: LeastSquaresSolution?
    public var linearPredictors: [Double]
    public var fittedValues: [Double]
    /// Working weights of the last iteration (zero for rows not used).
    public var workingWeights: [Double]
    /// (y − mu) / (dmu/deta).
    public var workingResiduals: [Double]
    public var deviance: Double
    public var iterations: Int
    public var converged: Bool
    public var boundary: Bool
    public var warnings: [String]
    /// Σ w r² over the rows with positive working weight (the Pearson statistic of
    /// `summary.glm`'s dispersion), whether any row has zero working weight, and the number
    /// of rows with a working residual (BIC's n): kept apart from the per-row arrays, which a
    /// fit streamed in chunks does not hold.
    public var pearsonChiSquare: Double
    public var hasZeroWorkingWeight: Bool
    public var residualCount: Int

    public var rank: Int { solution?.rank ?? 0 }

    /// The statistics above from the per-row arrays.
    static func pearsonStatistics(weights: [Double], residuals: [Double]) -> (sum: Double, zero: Bool, count: Int) {
        weights.withUnsafeBufferPointer { weights in
            residuals.withUnsafeBufferPointer { pearsonStatistics(weights: weights, residuals: $0, rows: 0..<weights.count) }
        }
    }

    /// The statistics above over some rows.
    static func pearsonStatistics(
        weights: UnsafeBufferPointer<Double>, residuals: UnsafeBufferPointer<Double>, rows: Range<Int>
    ) -> (sum: Double, zero: Bool, count: Int) {
        var sum = 0.0
        var zero = false
        var count = 0
        for row in rows {
            if weights[row] > 0 { sum += weights[row] * residuals[row] * residuals[row] } else { zero = true }
            if !residuals[row].isNaN { count += 1 }
        }
        return (sum, zero, count)
    }
}

/// Iteratively reweighted least squares exactly as R's `glm.fit`.
public struct IRLS {
    /// R's "no valid set of coefficients has been found: please supply starting values", with
    /// glmfit's option for them (R's `start =`) and the other way out.
    static let noValidCoefficients = GLMError.fitFailed(
        message: "no valid set of coefficients has been found: please supply starting values with --start (one per "
            + "coefficient, as R's start =), or try another --link")

    /// The first IRLS step overflowed (R: "NA/NaN/Inf in 'y'" from its least-squares step).
    static let nonFiniteFirstStep = GLMError.fitFailed(
        message: "the first IRLS step gives non-finite coefficients: the working response or weights overflow "
            + "(R stops here too, with \"NA/NaN/Inf in 'y'\"); rescale the response, weights or offset, or give "
            + "other --start values")

    /// glm.fit's "cannot find valid starting values: please specify some", from the family's
    /// starting means.
    static let invalidStartingMeans = GLMError.fitFailed(
        message: "cannot find valid starting values: please specify some with --start (one per coefficient, as R's "
            + "start =), or try another --link")

    /// The same for `--start` coefficients whose means are outside the family's range.
    func invalidStartingCoefficients() -> GLMError {
        GLMError.fitFailed(
            message: "cannot find valid starting values: the --start coefficients give means outside the "
                + "\(family.kind.cliName) family's range; please specify others")
    }

    /// R's C logit link stops on a starting mean outside [0, 1] (a poisson or gamma start with
    /// the logit link).
    func checkLogitStart(_ startingMu: [Double]) throws {
        if family.link == .logit, let outside = startingMu.first(where: { !($0 >= 0 && $0 <= 1) }) {
            throw GLMError.fitFailed(message: "Value \(String(format: "%g", outside)) out of range (0, 1)")
        }
    }

    /// glm.fit's warnings when fitted means are numerically at a bound of their range.
    func boundaryWarnings(nearZero: Bool, nearOne: Bool) -> [String] {
        var warnings: [String] = []
        if family.kind == .binomial, nearZero || nearOne {
            warnings.append("glm.fit: fitted probabilities numerically 0 or 1 occurred")
        }
        if family.kind == .poisson, nearZero {
            warnings.append("glm.fit: fitted rates numerically 0 occurred")
        }
        return warnings
    }

    public let family: Family
    public let control: FitControl
    public let observer: FitObserver?

    public init(family: Family, control: FitControl, observer: FitObserver? = nil) {
        self.family = family
        self.control = control
        self.observer = observer
    }

    private func deviance(_ y: [Double], _ mu: [Double], _ weights: [Double]) -> Double {
        family.deviance(y: y, mu: mu, weights: weights)
    }

    private func isValid(eta: [Double], mu: [Double]) -> Bool {
        eta.allSatisfy(family.link.isValid(eta:)) && mu.allSatisfy(family.isValid(mu:))
    }

    /// Fits by Fisher scoring from the starting means `startingMu`.
    ///
    /// - Parameters:
    ///   - columns: the columns of the design X, each `rowCount` long (used in place).
    ///   - y, priorWeights, offset: one per row, after the family's initialisation.
    /// - Parameter runAllIterations: keep iterating to `maxIterations` even after the
    ///   convergence rule holds (used to see which estimates diverge).
    public func fit(
        columns: [[Double]], rowCount: Int, y: [Double], priorWeights: [Double], offset: [Double],
        startingMu: [Double], runAllIterations: Bool = false, start: [Double]? = nil
    ) throws -> IRLSResult {
        let link = family.link
        let columnCount = columns.count
        // The passes read `rowCount` values from each column.
        guard columns.allSatisfy({ $0.count == rowCount }) else {
            throw GLMError.fitFailed(message: "the design's columns do not all have \(rowCount) rows")
        }
        if columnCount == 0 {
            // R's "empty model": eta is the offset, nothing is estimated.
            let eta = offset
            let mu = eta.map(link.linkinv)
            guard isValid(eta: eta, mu: mu) else {
                throw GLMError.fitFailed(message: "invalid linear predictor values in empty model")
            }
            var weights = [Double](repeating: 0, count: rowCount)
            var residuals = [Double](repeating: 0, count: rowCount)
            for row in 0..<rowCount {
                let derivative = link.muEta(eta[row])
                // R's w = sqrt(weights · mu.eta² / V) and fit$weights = w².
                let root = (priorWeights[row] * (derivative * derivative) / family.variance(mu[row])).squareRoot()
                weights[row] = root * root
                residuals[row] = (y[row] - mu[row]) / derivative
            }
            let pearson = IRLSResult.pearsonStatistics(weights: weights, residuals: residuals)
            return IRLSResult(
                coefficients: [], solution: nil, linearPredictors: eta, fittedValues: mu, workingWeights: weights,
                workingResiduals: residuals, deviance: deviance(y, mu, priorWeights), iterations: 0, converged: true,
                boundary: true, warnings: [], pearsonChiSquare: pearson.sum, hasZeroWorkingWeight: pearson.zero,
                residualCount: pearson.count)
        }

        // η, μ and two buffers of working weights (those of the step being taken and those
        // the next pass writes) are made as the result's arrays, so that it takes them without
        // copies; each row of each is written before it is read.
        var outcome: Result<InMemoryOutcome, any Error> = .failure(
            GLMError.fitFailed(message: "the fit's memory could not be made"))
        let arrays = ParallelRows.withUninitializedArrays(count: 4, capacity: rowCount) { starts in
            outcome = Result {
                try RowPass.withBaseAddresses(of: columns) { design in
                    try y.withUnsafeBufferPointer { response in
                        try priorWeights.withUnsafeBufferPointer { prior in
                            try offset.withUnsafeBufferPointer { offsets in
                                let pass = RowPass(
                                    family: family, columns: design, rowCount: rowCount, y: response,
                                    priorWeights: prior, offset: offsets,
                                    buffers: RowPass.Buffers(eta: starts[0], mu: starts[1], workingWeights: starts[2]))
                                if let start {
                                    try setStart(pass, coefficients: start)
                                } else {
                                    try setStart(pass, startingMu: startingMu)
                                }
                                return try iterate(pass, otherWeights: starts[3], columns: columns, y: y,
                                                   priorWeights: priorWeights, offset: offset,
                                                   runAllIterations: runAllIterations, start: start)
                            }
                        }
                    }
                }
            }
            guard case let .success(done) = outcome else { return [0, 0, 0, 0] }
            return [rowCount, rowCount, done.usedWeights == 0 ? rowCount : 0, done.usedWeights == 1 ? rowCount : 0]
        }
        let done = try outcome.get()
        return IRLSResult(
            coefficients: done.loop.coefficients, solution: done.loop.solution, linearPredictors: arrays[0],
            fittedValues: arrays[1], workingWeights: arrays[2 + done.usedWeights], workingResiduals: done.residuals,
            deviance: done.loop.deviance, iterations: done.loop.iterations, converged: done.loop.converged,
            boundary: done.loop.boundary, warnings: done.warnings, pearsonChiSquare: done.pearson.sum,
            hasZeroWorkingWeight: done.pearson.zero, residualCount: done.pearson.count)
    }

    /// The starting η = g(μ₀) and μ = g⁻¹(η), straight into the pass, on all cores. The
    /// starting means repeat with the response (0/1, small counts): their η and μ are
    /// remembered rather than computed again.
    private func setStart(_ pass: RowPass, startingMu: [Double]) throws {
        let family = self.family
        let link = family.link
        try checkLogitStart(startingMu)
        let validStart = ParallelRows.map(count: pass.rowCount) { rows in
            var valid = true
            var memo = RowMemo<(Double, Double)>()
            for row in rows {
                let start = startingMu[row]
                let (etaValue, muValue) = memo.value(start) {
                    let etaValue = link.linkfun(start)
                    return (etaValue, link.linkinv(etaValue))
                }
                pass.eta[row] = etaValue
                pass.mu[row] = muValue
                valid = valid && link.isValid(eta: etaValue) && family.isValid(mu: muValue)
            }
            return valid
        }.allSatisfy { $0 }
        guard validStart else { throw IRLS.invalidStartingMeans }
    }

    /// R's `start =`: η = offset + X·start and μ = g⁻¹(η), which must be valid (glm.fit's
    /// "cannot find valid starting values: please specify some").
    private func setStart(_ pass: RowPass, coefficients: [Double]) throws {
        let totals = pass.run(coefficients: coefficients, accumulate: false, normalEquations: false)
        guard totals.validEta, totals.validMu else { throw invalidStartingCoefficients() }
    }

    /// What a fit in memory ends with besides η, μ and the weights buffers.
    private struct InMemoryOutcome {
        var loop: LoopResult
        /// Which of the two working-weight buffers holds the weights of the last step.
        var usedWeights: Int
        var residuals: [Double]
        var pearson: (sum: Double, zero: Bool, count: Int)
        var warnings: [String]
    }

    /// What `loop` ends with, before the per-row results each kind of rows adds.
    struct LoopResult {
        /// NaN for aliased columns.
        var coefficients: [Double]
        var solution: LeastSquaresSolution?
        var deviance: Double
        var iterations: Int
        var converged: Bool
        var boundary: Bool
        /// R's warnings of the loop itself (step halving, non-convergence, boundary).
        var warnings: [String]
    }

    /// The IRLS loop of `glm.fit`, over rows in memory or read in chunks: each iteration
    /// solves the normal equations of the previous pass, then one pass computes the new means
    /// and deviance together with the next step's normal equations; a step that makes the
    /// deviance infinite, or η or μ invalid, is halved towards the previous coefficients.
    /// - Parameter start: R's `start =` (the means are then already its), which is also where a
    ///   first step that fails is halved towards (glm.fit's `coefold`).
    func loop(_ rows: IRLSPasses, columnCount: Int, runAllIterations: Bool = false, start: [Double]? = nil) throws -> LoopResult {
        var warnings: [String] = []
        var (totals, devianceOld) = try rows.start()
        var currentDeviance = devianceOld
        var stepReady = true
        var coefficientsOld: [Double]? = start
        var coefficients = [Double](repeating: 0, count: columnCount)
        var solution: LeastSquaresSolution?
        var converged = false
        var boundary = false
        var iterations = 0
        // The relative deviance change of the last iteration, and whether the next pass is
        // expected to be the last (see below).
        var lastChange: Double?
        var expectConvergence = false

        for iteration in 1...max(control.maxIterations, 1) {
            iterations = iteration
            if !stepReady {
                totals = try rows.run(coefficients: nil, accumulate: true)
            }
            if totals.varianceNaN { throw GLMError.fitFailed(message: "NAs in V(mu)") }
            if totals.varianceZero { throw GLMError.fitFailed(message: "0s in V(mu)") }
            if totals.derivativeNaN { throw GLMError.fitFailed(message: "NAs in d(mu)/d(eta)") }
            if totals.goodCount == 0 {
                converged = false
                warnings.append("no observations informative at iteration \(iteration)")
                break
            }
            let step = try rows.solve(totals)
            solution = step
            if step.coefficients.contains(where: { !$0.isFinite }) {
                // At the first step there are no estimates to fall back on: R's least-squares
                // step stops on the non-finite working values ("NA/NaN/Inf in 'y'") rather than
                // report any, and so does glmfit, instead of printing zeros.
                if iteration == 1 { throw IRLS.nonFiniteFirstStep }
                converged = false
                warnings.append("non-finite coefficients at iteration \(iteration)")
                break
            }
            if totals.goodCount < step.rank {
                throw GLMError.fitFailed(message: "X matrix has rank \(step.rank), but only \(totals.goodCount) observations")
            }
            var start = step.coefficients
            if expectConvergence {
                // Probably the last pass: means and deviance only. Should the fit go on after
                // all, the next iteration first adds up its normal equations from these means
                // (one more read of the rows, the same numbers).
                totals = try rows.run(coefficients: start, accumulate: false)
                stepReady = false
            } else {
                totals = try rows.run(coefficients: start, accumulate: true)
                stepReady = true
            }
            currentDeviance = totals.deviance
            boundary = false
            if !currentDeviance.isFinite {
                guard let previous = coefficientsOld else {
                    throw IRLS.noValidCoefficients
                }
                warnings.append("step size truncated due to divergence")
                var halvings = 1
                while !currentDeviance.isFinite {
                    if halvings > control.maxIterations {
                        throw GLMError.fitFailed(message: "inner loop 1; cannot correct step size")
                    }
                    halvings += 1
                    for column in 0..<columnCount { start[column] = (start[column] + previous[column]) / 2 }
                    totals = try rows.run(coefficients: start, accumulate: false)
                    currentDeviance = totals.deviance
                }
                stepReady = false
                boundary = true
            }
            if !(totals.validEta && totals.validMu) {
                guard let previous = coefficientsOld else {
                    throw IRLS.noValidCoefficients
                }
                warnings.append("step size truncated: out of bounds")
                var halvings = 1
                while !(totals.validEta && totals.validMu) {
                    if halvings > control.maxIterations {
                        throw GLMError.fitFailed(message: "inner loop 2; cannot correct step size")
                    }
                    halvings += 1
                    for column in 0..<columnCount { start[column] = (start[column] + previous[column]) / 2 }
                    totals = try rows.run(coefficients: start, accumulate: false)
                }
                stepReady = false
                boundary = true
                currentDeviance = totals.deviance
            }
            coefficients = start
            observer?(.iteration(number: iteration, deviance: currentDeviance))
            if !runAllIterations, abs(currentDeviance - devianceOld) / (abs(currentDeviance) + 0.1) < control.epsilon {
                converged = true
                break
            }
            // Near the optimum the deviance changes shrink at least geometrically (for canonical
            // links quadratically): when the next change, extrapolated at the current rate, is
            // below epsilon, the next pass is expected to be the last, and the normal equations
            // it would add up are left out. A wrong guess costs one more read of the rows.
            let change = abs(currentDeviance - devianceOld) / (abs(currentDeviance) + 0.1)
            if rows.skipsUnneededNormalEquations, !runAllIterations, !boundary, let lastChange, lastChange > 0 {
                expectConvergence = change * change / lastChange < control.epsilon
            } else {
                expectConvergence = false
            }
            lastChange = change
            devianceOld = currentDeviance
            coefficientsOld = start
        }
        if !converged { warnings.append("glm.fit: algorithm did not converge") }
        if boundary { warnings.append("glm.fit: algorithm stopped at boundary value") }
        if let solution {
            for column in solution.pivot[solution.rank...] { coefficients[column] = .nan }
        }
        return LoopResult(
            coefficients: coefficients, solution: solution, deviance: currentDeviance, iterations: iterations,
            converged: converged, boundary: boundary, warnings: warnings)
    }

    /// The loop over rows in memory, then the per-row results `glm.fit` returns.
    private func iterate(
        _ pass: RowPass, otherWeights: UnsafeMutablePointer<Double>, columns: [[Double]], y: [Double],
        priorWeights: [Double], offset: [Double], runAllIterations: Bool, start: [Double]?
    ) throws -> InMemoryOutcome {
        let rowCount = pass.rowCount
        let rows = InMemoryPasses(
            irls: self, pass: pass, otherWeights: otherWeights, columns: columns, y: y, priorWeights: priorWeights,
            offset: offset,
            useNormalEquations: control.solver.resolved(rowCount: rowCount, columnCount: pass.columnCount) == .cholesky)
        let result = try loop(rows, columnCount: pass.columnCount, runAllIterations: runAllIterations, start: start)
        var warnings = result.warnings
        let eta = UnsafeBufferPointer(pass.eta), mu = UnsafeBufferPointer(pass.mu)
        let link = family.link
        // For the log link dμ/dη is μ itself (both are max(exp(η), ε)), as in the row pass.
        let derivativeIsMean = link == .log
        let tiny = 10 * Double.ulpOfOne
        // The working residuals, and from them and the means (in the same sweep, on all cores)
        // the Pearson statistics and whether any mean is numerically at a bound.
        let usedWeights = UnsafeBufferPointer(rows.usedWeights)
        let (residuals, parts) = ParallelRows.array(count: rowCount) { base, rows in
            var nearZero = false, nearOne = false
            if link == .logit, let etaBase = eta.baseAddress {
                // The pass's derivatives, from exp(η) eight at a time, a block at a time (the
                // means the kernel also writes are the pass's own, left in scratch).
                let block = 512
                withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * block) { scratch in
                    guard let derivatives = scratch.baseAddress else { return }
                    let means = derivatives + block
                    var start = rows.lowerBound
                    while start < rows.upperBound {
                        let count = Swift.min(block, rows.upperBound - start)
                        glm_exp(etaBase + start, derivatives, count)
                        glm_logit_mean_derivative(etaBase + start, derivatives, means, count)
                        for k in 0..<count {
                            let row = start + k
                            (base + row).initialize(to: (y[row] - mu[row]) / derivatives[k])
                        }
                        start += count
                    }
                }
            } else {
                for row in rows {
                    let derivative = derivativeIsMean ? mu[row] : link.muEta(eta[row])
                    (base + row).initialize(to: (y[row] - mu[row]) / derivative)
                }
            }
            for row in rows {
                nearZero = nearZero || mu[row] < tiny
                nearOne = nearOne || mu[row] > 1 - tiny
            }
            let written = UnsafeBufferPointer(start: base, count: rowCount)
            return (IRLSResult.pearsonStatistics(weights: usedWeights, residuals: written, rows: rows), nearZero, nearOne)
        }
        var pearson = (sum: 0.0, zero: false, count: 0)
        var nearZero = false, nearOne = false
        for (statistics, zero, one) in parts {
            pearson.sum += statistics.sum
            pearson.zero = pearson.zero || statistics.zero
            pearson.count += statistics.count
            nearZero = nearZero || zero
            nearOne = nearOne || one
        }
        warnings += boundaryWarnings(nearZero: nearZero, nearOne: nearOne)
        return InMemoryOutcome(
            loop: result, usedWeights: rows.usedWeightsIndex, residuals: residuals, pearson: pearson, warnings: warnings)
    }

    /// The weighted least-squares step by Householder QR with R's in-order aliasing rule,
    /// for normal equations too ill-conditioned (or singular) to solve by Cholesky.
    /// - Parameter aliasedBefore: columns left out without a test (`unitWeightAliased`).
    func qrStep(
        eta: UnsafeMutableBufferPointer<Double>, mu: UnsafeMutableBufferPointer<Double>,
        workingWeights: UnsafeMutableBufferPointer<Double>, columnCount: Int, x: [Double], y: [Double], offset: [Double],
        aliasedBefore: Set<Int> = []
    ) throws -> LeastSquaresSolution {
        var rows: [Int] = []
        var roots: [Double] = []
        var responses: [Double] = []
        let link = family.link
        for row in 0..<eta.count where workingWeights[row] > 0 {
            let derivative = link.muEta(eta[row])
            rows.append(row)
            roots.append(workingWeights[row].squareRoot())
            responses.append((eta[row] - offset[row]) + (y[row] - mu[row]) / derivative)
        }
        return try LinearAlgebra.weightedLeastSquares(
            x: x, rowCount: eta.count, columnCount: columnCount, rows: rows, sqrtWeights: roots,
            response: responses, tolerance: control.qrTolerance, aliasedBefore: aliasedBefore)
    }

    /// The columns R's QR finds aliased in X over the rows of positive prior weight, each
    /// weighted 1: exact dependencies do not change with positive weights, but once the
    /// working weights span many orders of magnitude (prior weights of 10⁻⁶, separation) an
    /// exactly dependent column's remaining norm is rounding, and can land on either side of
    /// R's tolerance (10⁻¹¹): kept, it takes a coefficient of 10¹³. Found once, before the
    /// first QR step, and left out at every step (R's test then decides the other columns).
    func unitWeightAliased(x: [Double], columnCount: Int, priorWeights: [Double]) throws -> Set<Int> {
        let rows = priorWeights.indices.filter { priorWeights[$0] > 0 }
        let solution = try LinearAlgebra.weightedLeastSquares(
            x: x, rowCount: priorWeights.count, columnCount: columnCount, rows: rows,
            sqrtWeights: [Double](repeating: 1, count: rows.count), response: [Double](repeating: 0, count: rows.count),
            tolerance: control.qrTolerance)
        return Set(solution.pivot[solution.rank...])
    }
}

/// The rows an IRLS loop passes over: all in memory, or an input read again in chunks.
protocol IRLSPasses: AnyObject {
    /// True when a pass without the normal equations costs much less than one with them, so
    /// that a pass expected to be the last should leave them out (rows in memory; not an input
    /// read again from disk, where a wrong guess would cost a whole extra read).
    var skipsUnneededNormalEquations: Bool { get }
    /// The weights and normal equations at the starting means, and the deviance there.
    func start() throws -> (RowPass.Totals, Double)
    /// With coefficients: η, μ, the deviance and validity for them, and when `accumulate`
    /// the next step's weights and normal equations. Without: the next step's weights and
    /// normal equations from the current η and μ.
    func run(coefficients: [Double]?, accumulate: Bool) throws -> RowPass.Totals
    /// The step from the normal equations of the last accumulating pass, whose weights
    /// become the step's working weights.
    func solve(_ totals: RowPass.Totals) throws -> LeastSquaresSolution
}

/// Every row in memory, in one `RowPass`.
private final class InMemoryPasses: IRLSPasses {
    var skipsUnneededNormalEquations: Bool { true }
    let irls: IRLS
    let pass: RowPass
    let columns: [[Double]], y: [Double], priorWeights: [Double], offset: [Double]
    /// X in one column-major array, made the first time a step is solved by QR.
    private var contiguousX: [Double]?
    /// Whether the QR step's memory (X's copy and the weighted copies) has been checked.
    private var qrMemoryChecked = false
    /// `IRLS.unitWeightAliased`, found before the first QR step.
    private var unitWeightAliased: Set<Int>?
    let useNormalEquations: Bool
    /// The two working-weight buffers: the pass writes into one while the other keeps the
    /// weights of the step being taken (R's `fit$weights` at the end).
    private let weightBuffers: [UnsafeMutableBufferPointer<Double>]
    /// Which buffer holds the weights of the last step solved (zeros before the first).
    private(set) var usedWeightsIndex: Int
    var usedWeights: UnsafeMutableBufferPointer<Double> { weightBuffers[usedWeightsIndex] }
    /// Gaussian with the identity link: the working weights are the prior weights in every
    /// pass (dμ/dη = 1, V = 1), so XᵀWX is the same matrix, to the bit, each time; it is
    /// added up once (`fixedGram`) and the later passes add up only XᵀWz.
    private let weightsAreFixed: Bool
    private var fixedGram: [Double]?

    init(irls: IRLS, pass: RowPass, otherWeights: UnsafeMutablePointer<Double>, columns: [[Double]], y: [Double],
         priorWeights: [Double], offset: [Double], useNormalEquations: Bool) {
        self.irls = irls
        self.pass = pass
        self.columns = columns
        self.y = y
        self.priorWeights = priorWeights
        self.offset = offset
        self.useNormalEquations = useNormalEquations
        let other = UnsafeMutableBufferPointer(start: otherWeights, count: pass.rowCount)
        weightBuffers = [pass.workingWeights, other]
        // Zeros until a step is solved; the passes write the other buffer.
        usedWeightsIndex = 1
        _ = ParallelRows.map(count: pass.rowCount) { rows in
            UnsafeMutableBufferPointer(rebasing: other[rows]).initialize(repeating: 0)
        }
        weightsAreFixed = irls.family.kind == .gaussian && irls.family.link == .identity
    }

    func start() throws -> (RowPass.Totals, Double) {
        let totals = pass.run(coefficients: nil, accumulate: true, normalEquations: useNormalEquations)
        if weightsAreFixed, useNormalEquations { fixedGram = totals.gram }
        return (totals, irls.family.deviance(y: y, mu: UnsafeBufferPointer(pass.mu), weights: priorWeights))
    }

    func run(coefficients: [Double]?, accumulate: Bool) throws -> RowPass.Totals {
        let normalEquations = accumulate && useNormalEquations
        var totals = pass.run(
            coefficients: coefficients, accumulate: accumulate, normalEquations: normalEquations,
            gramKnown: normalEquations && fixedGram != nil)
        if normalEquations, let fixedGram { totals.gram = fixedGram }
        return totals
    }

    func solve(_ totals: RowPass.Totals) throws -> LeastSquaresSolution {
        // The weights the last pass wrote become the step's; the next pass writes the other
        // buffer (no copy).
        usedWeightsIndex = weightBuffers.firstIndex { $0.baseAddress == pass.workingWeights.baseAddress } ?? 0
        defer { pass.workingWeights = weightBuffers[1 - usedWeightsIndex] }
        if useNormalEquations,
           let step = LinearAlgebra.solveNormalEquations(gram: totals.gram, rhs: totals.rhs, order: pass.columnCount) {
            return step
        }
        // X in one array (once), and the weighted copy QR factorises: a second copy while an
        // aliased column is taken out and the rest factorised again.
        let p = pass.columnCount
        if !qrMemoryChecked {
            qrMemoryChecked = true
            try MemoryBudget.current().require(
                MemoryBudget.sum(
                    contiguousX == nil ? MemoryBudget.bytes(doubles: pass.rowCount, p) : 0,
                    MemoryBudget.bytes(doubles: pass.rowCount, p, 2)),
                for: "the model has \(MemoryBudget.describe(count: p)) columns × "
                    + "\(MemoryBudget.describe(count: pass.rowCount)) rows: the QR step's copy of its design",
                remedy: "use fewer levels or terms")
        }
        let x = contiguousX ?? Array(columns.joined())
        contiguousX = x
        let aliased = try unitWeightAliased ?? irls.unitWeightAliased(x: x, columnCount: p, priorWeights: priorWeights)
        unitWeightAliased = aliased
        return try irls.qrStep(
            eta: pass.eta, mu: pass.mu, workingWeights: pass.workingWeights, columnCount: p, x: x, y: y, offset: offset,
            aliasedBefore: aliased)
    }
}
