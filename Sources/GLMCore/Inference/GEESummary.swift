import Foundation

/// Which covariance of a GEE the standard errors come from.
public enum GEECovariance: String, CaseIterable, Sendable {
    /// The sandwich (geeglm's default `std.err = "san.se"`).
    case robust
    /// The model-based covariance, right only if the working correlation is.
    case naive
}

extension GEEFit {
    /// The covariance of the non-aliased coefficients (`covarianceNames` order); empty when
    /// it was not formed.
    public func covariance(_ kind: GEECovariance) -> [[Double]] {
        kind == .robust ? robustCovariance : naiveCovariance
    }

    /// geeglm's coefficient table: the estimate, its standard error, the Wald chi-square
    /// (estimate / SE)² with its p-value on 1 degree of freedom, and the Wald interval
    /// estimate ± z SE (normal quantile, as `confint.default`). `statistic` is the Wald
    /// chi-square, not a z value. Aliased coefficients have nil entries.
    ///
    /// The p-value is the upper tail P(χ²₁ > W); geeglm prints `1 - pchisq(W, 1)`, which
    /// is the same to about 1e-16 absolute and 0 beyond that.
    public func coefficientTable(covariance kind: GEECovariance = .robust, confidenceLevel: Double = 0.95) -> [CoefficientSummary] {
        let variances = kind == .robust ? robustVariances : naiveVariances
        let zQuantile = Distributions.qnorm((1 + confidenceLevel) / 2)
        let ratioLabel = GLMSummary.ratioLabel(family: family)
        var position = 0
        return coefficientNames.indices.map { column in
            let name = coefficientNames[column]
            let estimate = coefficients[column]
            guard !estimate.isNaN else {
                return CoefficientSummary(
                    term: name, estimate: nil, standardError: nil, statistic: nil, pValue: nil, confidenceLow: nil,
                    confidenceHigh: nil, ratio: nil, ratioLow: nil, ratioHigh: nil)
            }
            let variance = position < variances.count ? variances[position] : .nan
            position += 1
            // A level's robust variance left out as too costly: the estimate alone.
            guard !variance.isNaN else { return .estimateOnly(name, estimate: estimate, withRatio: ratioLabel != nil) }
            let standardError = variance.squareRoot()
            let wald = (estimate / standardError) * (estimate / standardError)
            let low = estimate - zQuantile * standardError
            let high = estimate + zQuantile * standardError
            let hasRatio = ratioLabel != nil
            return CoefficientSummary(
                term: name, estimate: estimate, standardError: standardError, statistic: wald,
                pValue: Distributions.pchisq(wald, df: 1, lowerTail: false), confidenceLow: low, confidenceHigh: high,
                ratio: hasRatio ? exp(estimate) : nil, ratioLow: hasRatio ? exp(low) : nil,
                ratioHigh: hasRatio ? exp(high) : nil)
        }
    }

    /// What exp(estimate) means for this family and link (odds ratio, rate ratio, …), or
    /// nil when the link is neither log nor logit.
    public var ratioLabel: String? { GLMSummary.ratioLabel(family: family) }
}
