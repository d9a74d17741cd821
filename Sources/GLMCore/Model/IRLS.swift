import Foundation

/// Convergence settings, as R's `glm.control`.
public struct FitControl: Sendable, Equatable {
    public var epsilon: Double
    public var maxIterations: Int

    public init(epsilon: Double = 1e-8, maxIterations: Int = 25) {
        self.epsilon = epsilon
        self.maxIterations = maxIterations
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

    public var rank: Int { solution?.rank ?? 0 }
}

/// Iteratively reweighted least squares exactly as R's `glm.fit`.
public struct IRLS {
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

    private func linearPredictor(x: [Double], rowCount: Int, coefficients: [Double], offset: [Double]) -> [Double] {
        var eta = offset
        for (column, coefficient) in coefficients.enumerated() where coefficient != 0 {
            let base = column * rowCount
            for row in 0..<rowCount { eta[row] += x[base + row] * coefficient }
        }
        return eta
    }

    private func isValid(eta: [Double], mu: [Double]) -> Bool {
        eta.allSatisfy(family.link.isValid(eta:)) && mu.allSatisfy(family.isValid(mu:))
    }

    /// Fits by Fisher scoring from the starting means `startingMu`.
    ///
    /// - Parameters:
    ///   - x: column-major `rowCount × columnCount` design.
    ///   - y, priorWeights, offset: one per row, after the family's initialisation.
    /// - Parameter runAllIterations: keep iterating to `maxIterations` even after the
    ///   convergence rule holds (used to see which estimates diverge).
    public func fit(
        x: [Double], rowCount: Int, columnCount: Int, y: [Double], priorWeights: [Double], offset: [Double],
        startingMu: [Double], runAllIterations: Bool = false
    ) throws -> IRLSResult {
        let link = family.link
        var warnings: [String] = []
        var eta = startingMu.map(link.linkfun)
        var mu = eta.map(link.linkinv)

        if columnCount == 0 {
            // R's "empty model": eta is the offset, nothing is estimated.
            eta = offset
            mu = eta.map(link.linkinv)
            guard isValid(eta: eta, mu: mu) else {
                throw GLMError.fitFailed(message: "invalid linear predictor values in empty model")
            }
            var weights = [Double](repeating: 0, count: rowCount)
            var residuals = [Double](repeating: 0, count: rowCount)
            for row in 0..<rowCount {
                let derivative = link.muEta(eta[row])
                weights[row] = priorWeights[row] * derivative * derivative / family.variance(mu[row])
                residuals[row] = (y[row] - mu[row]) / derivative
            }
            return IRLSResult(
                coefficients: [], solution: nil, linearPredictors: eta, fittedValues: mu, workingWeights: weights,
                workingResiduals: residuals, deviance: deviance(y, mu, priorWeights), iterations: 0, converged: true,
                boundary: true, warnings: [])
        }

        guard isValid(eta: eta, mu: mu) else {
            throw GLMError.fitFailed(message: "cannot find valid starting values: please specify some")
        }
        var devianceOld = deviance(y, mu, priorWeights)
        var coefficientsOld: [Double]?
        var coefficients = [Double](repeating: 0, count: columnCount)
        var solution: LeastSquaresSolution?
        var goodRows: [Int] = []
        var sqrtWeights: [Double] = []
        var converged = false
        var boundary = false
        var iterations = 0
        var currentDeviance = devianceOld

        for iteration in 1...max(control.maxIterations, 1) {
            iterations = iteration
            var derivatives = [Double](repeating: 0, count: rowCount)
            for row in 0..<rowCount where priorWeights[row] > 0 {
                let variance = family.variance(mu[row])
                if variance.isNaN { throw GLMError.fitFailed(message: "NAs in V(mu)") }
                if variance == 0 { throw GLMError.fitFailed(message: "0s in V(mu)") }
                let derivative = link.muEta(eta[row])
                if derivative.isNaN { throw GLMError.fitFailed(message: "NAs in d(mu)/d(eta)") }
                derivatives[row] = derivative
            }
            goodRows = (0..<rowCount).filter { priorWeights[$0] > 0 && derivatives[$0] != 0 }
            if goodRows.isEmpty {
                converged = false
                warnings.append("no observations informative at iteration \(iteration)")
                break
            }
            var workingResponse = [Double](repeating: 0, count: goodRows.count)
            sqrtWeights = [Double](repeating: 0, count: goodRows.count)
            for (index, row) in goodRows.enumerated() {
                let derivative = derivatives[row]
                workingResponse[index] = (eta[row] - offset[row]) + (y[row] - mu[row]) / derivative
                sqrtWeights[index] = (priorWeights[row] * derivative * derivative / family.variance(mu[row])).squareRoot()
            }
            let step = try LinearAlgebra.weightedLeastSquares(
                x: x, rowCount: rowCount, columnCount: columnCount, rows: goodRows, sqrtWeights: sqrtWeights,
                response: workingResponse, tolerance: control.qrTolerance)
            solution = step
            if step.coefficients.contains(where: { !$0.isFinite }) {
                converged = false
                warnings.append("non-finite coefficients at iteration \(iteration)")
                break
            }
            if goodRows.count < step.rank {
                throw GLMError.fitFailed(message: "X matrix has rank \(step.rank), but only \(goodRows.count) observations")
            }
            var start = step.coefficients
            eta = linearPredictor(x: x, rowCount: rowCount, coefficients: start, offset: offset)
            mu = eta.map(link.linkinv)
            currentDeviance = deviance(y, mu, priorWeights)
            boundary = false
            if !currentDeviance.isFinite {
                guard let previous = coefficientsOld else {
                    throw GLMError.fitFailed(message: "no valid set of coefficients has been found: please supply starting values")
                }
                warnings.append("step size truncated due to divergence")
                var halvings = 1
                while !currentDeviance.isFinite {
                    if halvings > control.maxIterations {
                        throw GLMError.fitFailed(message: "inner loop 1; cannot correct step size")
                    }
                    halvings += 1
                    for column in 0..<columnCount { start[column] = (start[column] + previous[column]) / 2 }
                    eta = linearPredictor(x: x, rowCount: rowCount, coefficients: start, offset: offset)
                    mu = eta.map(link.linkinv)
                    currentDeviance = deviance(y, mu, priorWeights)
                }
                boundary = true
            }
            if !isValid(eta: eta, mu: mu) {
                guard let previous = coefficientsOld else {
                    throw GLMError.fitFailed(message: "no valid set of coefficients has been found: please supply starting values")
                }
                warnings.append("step size truncated: out of bounds")
                var halvings = 1
                while !isValid(eta: eta, mu: mu) {
                    if halvings > control.maxIterations {
                        throw GLMError.fitFailed(message: "inner loop 2; cannot correct step size")
                    }
                    halvings += 1
                    for column in 0..<columnCount { start[column] = (start[column] + previous[column]) / 2 }
                    eta = linearPredictor(x: x, rowCount: rowCount, coefficients: start, offset: offset)
                    mu = eta.map(link.linkinv)
                }
                boundary = true
                currentDeviance = deviance(y, mu, priorWeights)
            }
            coefficients = start
            observer?(.iteration(number: iteration, deviance: currentDeviance))
            if !runAllIterations, abs(currentDeviance - devianceOld) / (abs(currentDeviance) + 0.1) < control.epsilon {
                converged = true
                break
            }
            devianceOld = currentDeviance
            coefficientsOld = start
        }
        if !converged { warnings.append("glm.fit: algorithm did not converge") }
        if boundary { warnings.append("glm.fit: algorithm stopped at boundary value") }
        let tiny = 10 * Double.ulpOfOne
        if family.kind == .binomial, mu.contains(where: { $0 > 1 - tiny || $0 < tiny }) {
            warnings.append("glm.fit: fitted probabilities numerically 0 or 1 occurred")
        }
        if family.kind == .poisson, mu.contains(where: { $0 < tiny }) {
            warnings.append("glm.fit: fitted rates numerically 0 occurred")
        }
        if let solution {
            for column in solution.pivot[solution.rank...] { coefficients[column] = .nan }
        }
        var workingWeights = [Double](repeating: 0, count: rowCount)
        for (index, row) in goodRows.enumerated() { workingWeights[row] = sqrtWeights[index] * sqrtWeights[index] }
        var residuals = [Double](repeating: 0, count: rowCount)
        for row in 0..<rowCount { residuals[row] = (y[row] - mu[row]) / link.muEta(eta[row]) }
        return IRLSResult(
            coefficients: coefficients, solution: solution, linearPredictors: eta, fittedValues: mu,
            workingWeights: workingWeights, workingResiduals: residuals, deviance: currentDeviance, iterations: iterations,
            converged: converged, boundary: boundary, warnings: warnings)
    }
}
