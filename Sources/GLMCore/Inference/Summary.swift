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
    public var confidenceLow: Double?
    public var confidenceHigh: Double?
    /// exp(estimate) and its interval, for log and logit links.
    public let ratio: Double?
    public var ratioLow: Double?
    public var ratioHigh: Double?

    /// An aliased coefficient: every value NA.
    public static func aliased(_ term: String) -> CoefficientSummary {
        CoefficientSummary(
            term: term, estimate: nil, standardError: nil, statistic: nil, pValue: nil, confidenceLow: nil,
            confidenceHigh: nil, ratio: nil, ratioLow: nil, ratioHigh: nil)
    }

    /// An estimate without a standard error (NA, as R prints a value it does not have): a
    /// level's robust one left out as too costly (`SparseSandwich`).
    public static func estimateOnly(_ term: String, estimate: Double, withRatio: Bool) -> CoefficientSummary {
        CoefficientSummary(
            term: term, estimate: estimate, standardError: nil, statistic: nil, pValue: nil, confidenceLow: nil,
            confidenceHigh: nil, ratio: withRatio ? exp(estimate) : nil, ratioLow: nil, ratioHigh: nil)
    }

    /// A Wald row: statistic = estimate / se with a t (on `tDegreesOfFreedom`) or normal
    /// p-value, and the interval estimate ± z·se on the normal quantile (R's
    /// `confint.default`, used even for t models); exp() of all three when `withRatio`.
    public static func wald(
        term: String, estimate: Double, standardError: Double, tDegreesOfFreedom: Double?, normalQuantile: Double,
        withRatio: Bool
    ) -> CoefficientSummary {
        let statistic = estimate / standardError
        let pValue = tDegreesOfFreedom.map { 2 * Distributions.pt(-abs(statistic), df: $0) }
            ?? 2 * Distributions.pnorm(-abs(statistic))
        let low = estimate - normalQuantile * standardError
        let high = estimate + normalQuantile * standardError
        return CoefficientSummary(
            term: term, estimate: estimate, standardError: standardError, statistic: statistic, pValue: pValue,
            confidenceLow: low, confidenceHigh: high, ratio: withRatio ? exp(estimate) : nil,
            ratioLow: withRatio ? exp(low) : nil, ratioHigh: withRatio ? exp(high) : nil)
    }
}

/// Where the standard errors come from.
public enum StandardErrorSource: Sendable, Equatable {
    /// dispersion × (XᵀWX)⁻¹, as `summary.glm`.
    case model
    /// A sandwich estimator (`sandwich::vcovHC`), tests as `lmtest::coeftest` (z).
    case sandwich(SandwichType)
    /// Clustered (`sandwich::vcovCL`) on a column with this many clusters.
    case clustered(SandwichType, column: String, clusters: Int, adjusted: Bool)

    /// The name scripts see in JSON: "model", "HC3", "cluster-HC0".
    public var name: String {
        switch self {
        case .model: return "model"
        case let .sandwich(type): return type.rawValue
        case let .clustered(type, _, _, _): return "cluster-\(type.rawValue)"
        }
    }
}

/// R's `summary.glm` plus the intervals and likelihood figures, a pure function of a fit.
public struct GLMSummary: Sendable {
    public let fit: GLMFit
    public let dispersion: Double
    public let dispersionEstimated: Bool
    /// "z" when the dispersion is fixed or the covariance is robust, "t" otherwise.
    public let usesTStatistic: Bool
    public var coefficients: [CoefficientSummary]
    /// Covariance of the non-aliased coefficients, in their order (R's `vcov`).
    public let vcov: [[Double]]
    public let vcovNames: [String]
    /// True when `vcov` is empty because the model has more than `covarianceLimit`
    /// coefficients (a fit by blocks): the standard errors are every coefficient's, and any
    /// entry is found from `blockCovariance`.
    public let vcovOmitted: Bool
    /// The covariance by blocks of a structured fit (unscaled: times `dispersion`).
    public let blockCovariance: BlockCovariance?
    /// The same of a fit solved as sparse (several factors of many levels).
    public let sparseCovariance: SparseCovariance?
    /// The sandwich covariance the standard errors come from, if any.
    public let robust: RobustCovariance?
    /// Beyond this many coefficients the covariance matrix of a fit by blocks is not formed
    /// or written unless asked for (`--full-covariance`): 1,000² entries are already some 24 MB of JSON.
    public static let covarianceLimit = 1_000

    /// Entries of the covariance matrix (dispersion included) for some columns of X, from
    /// the matrix or the blocks.
    public func covariance(columns: [Int]) -> [[Double]] {
        if let robust { return robust.covariance(columns: columns) }
        if let entries: any EntryCovariance = blockCovariance ?? sparseCovariance {
            return entries.matrix(columns: columns).map { row in row.map { dispersion * $0 } }
        }
        // vcov's rows are the kept columns in order.
        var position: [Int: Int] = [:]
        for (index, column) in fit.aliased.indices.filter({ !fit.aliased[$0] }).enumerated() { position[column] = index }
        return columns.map { row in
            columns.map { column in
                guard let i = position[row], let j = position[column] else { return .nan }
                return vcov[i][j]
            }
        }
    }
    public let standardErrors: StandardErrorSource
    public let confidenceLevel: Double
    public var intervalMethod: IntervalMethod
    public let logLikelihood: Double?
    /// The parameters the log-likelihood counts: the rank, plus one where a dispersion is
    /// estimated (gaussian, Gamma, inverse gaussian), as R's `logLik.glm`.
    public let logLikelihoodDegreesOfFreedom: Int
    public let bic: Double?
    /// Warnings R's `summary.glm` gives (about the dispersion) and the sandwich's.
    public let warnings: [String]
    /// What exp(estimate) means for this family and link, or nil when it is not reported.
    public let ratioLabel: String?

    /// - Parameters:
    ///   - dispersion: R's `summary.glm(dispersion =)`: a known dispersion (z tests); nil
    ///     follows the family (1 for binomial and poisson, else the Pearson estimate with
    ///     t tests).
    ///   - additionalParameters: parameters estimated besides the coefficients and the
    ///     dispersion (1 for glm.nb's theta), counted in the log-likelihood's df and BIC.
    ///   - robust: a sandwich covariance to use instead of the model's, with z tests.
    public init(
        fit: GLMFit, confidenceLevel: Double = 0.95, dispersion knownDispersion: Double? = nil,
        additionalParameters: Int = 0, robust: RobustCovariance? = nil, clusterColumn: String? = nil,
        covarianceLimit: Int = GLMSummary.covarianceLimit
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
                if fit.irls.hasZeroWorkingWeight {
                    warnings.append("observations with zero weight not used for calculating dispersion")
                }
                dispersion = fit.irls.pearsonChiSquare / Double(dfResidual)
            } else {
                dispersion = .nan
            }
        }
        // The kept columns: rFactor's columns are in pivot order, and the kept columns keep
        // design order, so pivot order and design order agree on them.
        let kept: [Int] = fit.irls.solution.map { Array($0.pivot[..<rank]).sorted() } ?? []
        var covariance: [[Double]]
        var variances: [Double] = []
        var blockCovariance: BlockCovariance?
        var sparseCovariance: SparseCovariance?
        // The covariance's own standard errors: by blocks from the scaled columns, a double
        // where a variance of a column of extreme magnitude is not (`BlockCovariance.scales`).
        var standardErrors: [Double]?
        var covarianceOmitted = false
        let source: StandardErrorSource
        if let robust {
            covariance = robust.matrix
            variances = robust.variances
            standardErrors = robust.standardErrors
            covarianceOmitted = robust.matrixOmitted
            warnings += robust.warnings
            if let clusters = robust.clusterCount {
                source = .clustered(robust.type, column: clusterColumn ?? "cluster", clusters: clusters,
                                    adjusted: robust.clusterAdjusted)
            } else {
                source = .sandwich(robust.type)
            }
        } else if let entries: any EntryCovariance = try fit.irls.solution?.blockFactor.map({
            try BlockCovariance(factor: $0, columnCount: fit.design.columnCount)
        }) ?? fit.irls.solution?.sparseFactor.map({ SparseCovariance(factor: $0) }) {
            // By blocks or as sparse: the variances of every coefficient; the matrix only up
            // to a size.
            blockCovariance = entries as? BlockCovariance
            sparseCovariance = entries as? SparseCovariance
            let unscaled = entries.variances()
            variances = kept.map { dispersion * unscaled[$0] }
            let errors = entries.standardErrors(dispersion: dispersion)
            standardErrors = kept.map { errors[$0] }
            if rank <= covarianceLimit {
                covariance = entries.matrix(columns: kept).map { row in row.map { dispersion * $0 } }
            } else {
                covariance = []
                covarianceOmitted = true
            }
            source = .model
        } else {
            let unscaled = try fit.irls.solution.map { try LinearAlgebra.inverseFromCholesky($0.rFactor, order: rank) } ?? []
            covariance = [[Double]](repeating: [Double](repeating: 0, count: rank), count: rank)
            for i in 0..<rank {
                for j in 0..<rank { covariance[i][j] = dispersion * unscaled[i + j * rank] }
            }
            source = .model
        }
        if variances.isEmpty { variances = covariance.indices.map { covariance[$0][$0] } }
        let useT = estimated && robust == nil
        let zQuantile = Distributions.qnorm((1 + confidenceLevel) / 2)
        let ratioLabel = GLMSummary.ratioLabel(family: family)
        var keptPosition: [Int: Int] = [:]
        for (position, column) in kept.enumerated() { keptPosition[column] = position }
        self.coefficients = fit.coefficientNames.enumerated().map { column, name in
            guard let position = keptPosition[column] else { return .aliased(name) }
            if let sparse = robust?.sparse, sparse.position[column] == nil {
                return .estimateOnly(name, estimate: fit.coefficients[column], withRatio: ratioLabel != nil)
            }
            return .wald(
                term: name, estimate: fit.coefficients[column], standardError: standardErrors?[position] ?? variances[position].squareRoot(),
                tDegreesOfFreedom: useT ? Double(dfResidual) : nil, normalQuantile: zQuantile,
                withRatio: ratioLabel != nil)
        }
        self.fit = fit
        self.dispersion = dispersion
        self.dispersionEstimated = estimated
        self.usesTStatistic = useT
        self.vcov = covariance
        self.vcovNames = kept.map { fit.coefficientNames[$0] }
        self.blockCovariance = blockCovariance
        self.sparseCovariance = sparseCovariance
        self.robust = robust
        self.vcovOmitted = covarianceOmitted
        self.standardErrors = source
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
            self.bic = -2 * logLikelihood + log(Double(fit.irls.residualCount)) * Double(parameters)
        } else {
            self.logLikelihood = nil
            self.bic = nil
        }
    }

    /// Replaces the Wald intervals with profile-likelihood ones (nil where MASS gives NA).
    public mutating func useProfileIntervals(_ profile: ProfileIntervals) {
        let hasRatio = ratioLabel != nil
        for (index, interval) in profile.intervals.enumerated() where index < coefficients.count {
            coefficients[index].confidenceLow = interval.low
            coefficients[index].confidenceHigh = interval.high
            coefficients[index].ratioLow = hasRatio ? interval.low.map(exp) : nil
            coefficients[index].ratioHigh = hasRatio ? interval.high.map(exp) : nil
        }
        intervalMethod = .profile
    }

    /// Odds ratios for logit, risk ratios for binomial log, rate ratios for count log
    /// links, mean ratios for other log links.
    public static func ratioLabel(family: Family) -> String? {
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
