import Foundation

/// How confidence intervals are computed.
public enum IntervalMethod: String, Sendable {
    case wald, profile
}

/// One row of the coefficient table. Values are nil where R prints NA (aliased).
public struct CoefficientSummary: Sendable, Equatable {
    public let term: String
    public let estimate: Double?
    public let standardError: Double?
    public let statistic: Double?
    public let pValue: Double?
    public let confidenceLow: Double?
    public let confidenceHigh: Double?
    /// exp(estimate) and its interval, for log and logit links.
    public let ratio: Double?
    public let ratioLow: Double?
    public let ratioHigh: Double?
}

/// R's `summary.glm` plus the intervals and likelihood figures, a pure function of a fit.
public struct GLMSummary: Sendable {
    public let fit: GLMFit
    public let dispersion: Double
    public let dispersionEstimated: Bool
    /// "z" when the dispersion is fixed, "t" when it is estimated.
    public let usesTStatistic: Bool
    public let coefficients: [CoefficientSummary]
    /// Covariance of the non-aliased coefficients, in their order (R's `vcov`).
    public let vcov: [[Double]]
    public let vcovNames: [String]
    public let confidenceLevel: Double
    public let intervalMethod: IntervalMethod
    public let logLikelihood: Double?
    /// The parameters the log-likelihood counts: the rank, plus one where a dispersion is
    /// estimated (gaussian, Gamma, inverse gaussian), as R's `logLik.glm`.
    public let logLikelihoodDegreesOfFreedom: Int
    public let bic: Double?
    /// Warnings R's `summary.glm` gives (about the dispersion).
    public let warnings: [String]
    /// What exp(estimate) means for this family and link, or nil when it is not reported.
    public let ratioLabel: String?

    /// - Parameters:
    ///   - dispersion: R's `summary.glm(dispersion =)`: a known dispersion (z tests); nil
    ///     follows the family (1 for binomial and poisson, else the Pearson estimate with
    ///     t tests).
    ///   - additionalParameters: parameters estimated besides the coefficients and the
    ///     dispersion (1 for glm.nb's theta), counted in the log-likelihood's df and BIC.
    public init(
        fit: GLMFit, confidenceLevel: Double = 0.95, dispersion knownDispersion: Double? = nil,
        additionalParameters: Int = 0
    ) throws {
        let family = fit.family
        let rank = fit.rank
        let dfResidual = fit.dfResidual
        var dispersion = 1.0
        var estimated = false
        var warnings: [String] = []
        if let knownDispersion {
            dispersion = knownDispersion
        } else if !family.kind.hasFixedDispersion {
            estimated = true
            if dfResidual > 0 {
                if fit.irls.workingWeights.contains(0) {
                    warnings.append("observations with zero weight not used for calculating dispersion")
                }
                var sum = 0.0
                let weights = fit.irls.workingWeights
                let residuals = fit.irls.workingResiduals
                for row in 0..<weights.count where weights[row] > 0 {
                    sum += weights[row] * residuals[row] * residuals[row]
                }
                dispersion = sum / Double(dfResidual)
            } else {
                dispersion = .nan
            }
        }
        let kept: [Int] = fit.irls.solution.map { Array($0.pivot[..<rank]).sorted() } ?? []
        let unscaled = try fit.irls.solution.map { try LinearAlgebra.inverseFromCholesky($0.rFactor, order: rank) } ?? []
        // rFactor's columns are in pivot order; kept columns keep design order, so pivot
        // order and design order agree on them.
        var covariance = [[Double]](repeating: [Double](repeating: 0, count: rank), count: rank)
        for i in 0..<rank {
            for j in 0..<rank { covariance[i][j] = dispersion * unscaled[i + j * rank] }
        }
        let zQuantile = Distributions.qnorm((1 + confidenceLevel) / 2)
        let ratioLabel = GLMSummary.ratioLabel(family: family)
        var rows: [CoefficientSummary] = []
        var keptPosition: [Int: Int] = [:]
        for (position, column) in kept.enumerated() { keptPosition[column] = position }
        for (column, name) in fit.coefficientNames.enumerated() {
            guard let position = keptPosition[column] else {
                rows.append(CoefficientSummary(
                    term: name, estimate: nil, standardError: nil, statistic: nil, pValue: nil, confidenceLow: nil,
                    confidenceHigh: nil, ratio: nil, ratioLow: nil, ratioHigh: nil))
                continue
            }
            let estimate = fit.coefficients[column]
            let standardError = covariance[position][position].squareRoot()
            let statistic = estimate / standardError
            let pValue = estimated
                ? 2 * Distributions.pt(-abs(statistic), df: Double(dfResidual))
                : 2 * Distributions.pnorm(-abs(statistic))
            let low = estimate - zQuantile * standardError
            let high = estimate + zQuantile * standardError
            let hasRatio = ratioLabel != nil
            rows.append(CoefficientSummary(
                term: name, estimate: estimate, standardError: standardError, statistic: statistic, pValue: pValue,
                confidenceLow: low, confidenceHigh: high, ratio: hasRatio ? exp(estimate) : nil,
                ratioLow: hasRatio ? exp(low) : nil, ratioHigh: hasRatio ? exp(high) : nil))
        }
        self.fit = fit
        self.dispersion = dispersion
        self.dispersionEstimated = estimated
        self.usesTStatistic = estimated
        self.coefficients = rows
        self.vcov = covariance
        self.vcovNames = kept.map { fit.coefficientNames[$0] }
        self.confidenceLevel = confidenceLevel
        self.intervalMethod = .wald
        self.ratioLabel = ratioLabel
        self.warnings = warnings
        let parameters = rank + additionalParameters
            + ([.gaussian, .gamma, .inverseGaussian].contains(family.kind) ? 1 : 0)
        self.logLikelihoodDegreesOfFreedom = parameters
        if let aic = fit.aic {
            let logLikelihood = Double(parameters) - aic / 2
            self.logLikelihood = logLikelihood
            // R's logLik.glm counts every observation with a working residual, zero
            // prior weights included, as BIC's n.
            let observations = fit.irls.workingResiduals.filter { !$0.isNaN }.count
            self.bic = -2 * logLikelihood + log(Double(observations)) * Double(parameters)
        } else {
            self.logLikelihood = nil
            self.bic = nil
        }
    }

    /// Odds ratios for logit, risk ratios for binomial log, rate ratios for count log
    /// links, mean ratios for other log links.
    static func ratioLabel(family: Family) -> String? {
        switch family.link {
        case .logit: return "Odds ratio"
        case .log:
            switch family.kind {
            case .binomial, .quasibinomial: return "Risk ratio"
            case .poisson, .quasipoisson, .negativeBinomial: return "Rate ratio"
            default: return "Mean ratio"
            }
        default: return nil
        }
    }
}
