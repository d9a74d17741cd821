import Foundation

/// A fitted generalized linear model: what R's `glm()` returns.
public struct GLMFit: Sendable {
    public let design: Design
    public let family: Family
    public let control: FitControl
    public let response: PreparedResponse
    public let offset: [Double]
    public let irls: IRLSResult
    public let nullDeviance: Double
    public let dfResidual: Int
    public let dfNull: Int
    /// The family AIC plus 2·rank; nil for quasi families.
    public let aic: Double?
    /// Coefficients whose true estimates are infinite (see `Divergence`).
    public let divergingTerms: [String]
    /// R's warnings for this fit, worded as R words them.
    public let warnings: [String]
    /// `--frequency-weights`: the observations the rows stand for (Σ f), else nil.
    public var frequencyTotal: Int? = nil

    /// R's warnings plus glmfit's own about diverging estimates.
    public var allWarnings: [String] {
        divergingTerms.isEmpty ? warnings : warnings + [Divergence.warning(for: divergingTerms, family: family)]
    }

    public var coefficients: [Double] { irls.coefficients }
    public var coefficientNames: [String] { design.columnNames }
    public var rank: Int { irls.rank }
    public var deviance: Double { irls.deviance }
    public var aliased: [Bool] { irls.coefficients.map(\.isNaN) }
    /// Rows with non-zero prior weight (R's `n.ok`, and `nobs()` for a glm); with
    /// frequency weights, the observations those rows stand for.
    public var observationCount: Int {
        // A fit streamed in chunks keeps no per-row arrays; its df_residual counts them.
        response.priorWeights.isEmpty && design.rowCount > 0 ? dfResidual + rank : response.observationCount
    }
    /// The rows fitted, zero weights included, or with frequency weights the observations
    /// they stand for: the rows of the expanded data.
    public var representedRowCount: Int { frequencyTotal ?? design.rowCount }

    /// Fits `design` by IRLS as `glm()` does, including the null deviance (a real
    /// intercept-only fit when there is an offset and an intercept).
    /// - Parameter start: R's `start =`, one value per design column (checked by the caller);
    ///   only this fit starts there, not the null-deviance fit.
    public static func fit(
        design: Design, family: Family, control: FitControl = FitControl(), observer: FitObserver? = nil,
        start: [Double]? = nil
    ) throws -> GLMFit {
        let frame = design.frame
        let response = try family.prepare(frame)
        try PreparedResponse.requirePositiveWeights(
            count: response.positiveWeightCount, coefficients: design.columnCount,
            column: frame.weightsColumn ?? frame.frequencyWeightsColumn)
        let rowCount = design.rowCount
        let offset = frame.offset ?? ParallelRows.filled(with: 0, count: rowCount)
        let irls = IRLS(family: family, control: control)
        var result = try IRLS(family: family, control: control, observer: observer).fit(
            design: design, y: response.y, priorWeights: response.priorWeights, offset: offset,
            startingMu: response.startingMu, start: start)
        let weights = response.priorWeights
        // The rows with weight, and for the null deviance the weighted sums of y and of the
        // weights: in one sweep on all cores, each sum in row order within a range.
        let sweeps = weights.withUnsafeBufferPointer { weights in
            response.y.withUnsafeBufferPointer { y in
                ParallelRows.map(count: rowCount) { rows in
                    var (used, weightedSum, weightSum) = (0, 0.0, 0.0)
                    for row in rows {
                        if weights[row] != 0 { used += 1 }
                        weightedSum += weights[row] * y[row]
                        weightSum += weights[row]
                    }
                    return (used, weightedSum, weightSum)
                }
            }
        }
        var usedCount = sweeps.reduce(0) { $0 + $1.0 }
        if let frequencies = response.frequencyWeights {
            // Each row counts as the observations it stands for (BIC's n, the df).
            usedCount = response.observationCount
            let residuals = result.workingResiduals
            result.residualCount = FrequencyWeights.total(frequencies) { !residuals[$0].isNaN }
        }
        var warnings = frame.warnings + response.warnings + result.warnings

        var nullDeviance: Double
        if frame.offset != nil && design.hasIntercept {
            let intercept = [Double](repeating: 1, count: rowCount)
            let nullFit = try irls.fit(
                columns: [intercept], rowCount: rowCount, y: response.y, priorWeights: weights, offset: offset,
                startingMu: result.fittedValues)
            if !nullFit.converged {
                warnings.append("fitting to calculate the null deviance did not converge -- increase 'maxit'?")
            }
            nullDeviance = nullFit.deviance
        } else if design.hasIntercept {
            let weightedSum = sweeps.reduce(0.0) { $0 + $1.1 }
            let weightSum = sweeps.reduce(0.0) { $0 + $1.2 }
            let mean = weightedSum / weightSum
            nullDeviance = family.deviance(y: response.y, mean: mean, weights: weights)
        } else {
            nullDeviance = family.deviance(y: response.y, mu: offset.map(family.link.linkinv), weights: weights)
        }

        let diverging = Divergence.divergingTerms(
            design: design, family: family, control: control, response: response, offset: offset, result: result)
        let rank = result.rank
        var aicWarnings: [String] = []
        let familyAIC = family.aic(
            y: response.y, binomialTotals: response.binomialTotals, mu: result.fittedValues, weights: weights,
            frequencies: response.frequencyWeights, deviance: result.deviance, warnings: &aicWarnings)
        warnings += aicWarnings
        return GLMFit(
            design: design, family: family, control: control, response: response, offset: offset, irls: result,
            nullDeviance: nullDeviance, dfResidual: usedCount - rank, dfNull: usedCount - (design.hasIntercept ? 1 : 0),
            aic: familyAIC.map { $0 + 2 * Double(rank) }, divergingTerms: diverging, warnings: warnings,
            frequencyTotal: frame.frequencyTotal)
    }
}
