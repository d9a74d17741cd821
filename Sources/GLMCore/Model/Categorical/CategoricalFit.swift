import Foundation

/// A multinomial or ordinal fit: the estimates at the maximum, their covariance (the
/// inverse of the analytic negative Hessian) and the likelihood numbers R reports.
public struct CategoricalFit: Sendable {
    public let kind: ModelKind
    /// The ordinal model's link (nil for multinomial).
    public let link: OrdinalLink?
    public let design: Design
    /// The response's levels in R's order: the first is the baseline (multinomial) or the
    /// lowest category (ordinal).
    public let levels: [String]
    /// The model-matrix columns the coefficients multiply: the design's, without the
    /// intercept for the ordinal model (its thresholds take its place, as polr drops it).
    public let columnNames: [String]
    /// Each parameter's component: the response level (multinomial), or "location" /
    /// "threshold" (ordinal).
    public let components: [String]
    /// Each parameter's term: the column name, or `a|b` for a threshold.
    public let terms: [String]
    public let estimates: [Double]
    /// Rows and columns in parameter order.
    public let covariance: [[Double]]
    public let logLikelihood: Double
    public let iterations: Int
    public let converged: Bool
    /// The rows used (with frequency weights, the observations they stand for) and the sum
    /// of their case weights (R's `nobs`, which BIC uses).
    public let observationCount: Int
    public let weightSum: Double
    public let warnings: [String]

    /// The number of parameters (R's `edf`, the df of logLik).
    public var parameterCount: Int { estimates.count }
    /// −2 log L, R's residual deviance for multinom and polr.
    public var deviance: Double { -2 * logLikelihood }
    public var aic: Double { deviance + 2 * Double(parameterCount) }
    public var bic: Double { deviance + Foundation.log(weightSum) * Double(parameterCount) }
    public var droppedCount: Int { design.frame.droppedCount }

    /// The names `--wald` and `vcov` use, as R's `vcov` names them: `level:term` for
    /// multinomial (the term alone with two levels, where multinom has one equation), the
    /// term for ordinal (columns, then thresholds `a|b`).
    public var parameterNames: [String] {
        kind == .multinomial && levels.count > 2 ? zip(components, terms).map { "\($0):\($1)" } : terms
    }

    /// Fits `kind` to the design's rows.
    ///
    /// - Throws: the response's errors (`CategoricalResponse`), `fitFailed` when the Hessian
    ///   is singular (aliased columns, separated levels).
    static func fit(design: Design, kind: ModelKind, link: OrdinalLink?, control: FitControl) throws -> CategoricalFit {
        let frame = design.frame
        let response = try CategoricalResponse(frame: frame, kind: kind, minimumLevels: kind == .ordinal ? 3 : 2)
        try checkSize(design: design, response: response, kind: kind)
        var warnings = frame.warnings
        let result: NewtonMaximizer.Result
        let columnNames: [String]
        var components: [String] = []
        var terms: [String] = []
        switch kind {
        case .ordinal:
            let link = link ?? .logit
            let keep = design.columnNames.indices.filter { design.columnNames[$0] != "(Intercept)" }
            if !design.hasIntercept { warnings.append("an intercept is needed and assumed") }
            columnNames = keep.map { design.columnNames[$0] }
            result = try Ordinal.fit(
                columns: keep.map { design.columns[$0] }, rowCount: design.rowCount, offset: frame.offset,
                response: response, link: link, maxIterations: control.maxIterations)
            components = columnNames.map { _ in "location" }
            terms = columnNames
            for k in 1..<response.levelCount {
                components.append("threshold")
                terms.append("\(response.levels[k - 1])|\(response.levels[k])")
            }
        case .multinomial, .glm, .zeroInflated, .hurdle:
            if frame.offset != nil {
                throw GLMError.invalidOption(name: "offset()", message: "is not available for the multinomial model")
            }
            columnNames = design.columnNames
            result = try Multinomial.fit(
                columns: design.columns, rowCount: design.rowCount, response: response,
                maxIterations: control.maxIterations)
            for level in response.levels.dropFirst() {
                for column in columnNames {
                    components.append(level)
                    terms.append(column)
                }
            }
        }
        let order = result.parameters.count
        guard let covariance = NewtonMaximizer.inverse(result.evaluation.negativeHessian, order: order) else {
            throw GLMError.fitFailed(
                message: "the Hessian at the maximum is singular: some coefficients are not identifiable (a column of "
                    + "the model matrix is a combination of others, or a response level is separated by the predictors)")
        }
        if !result.converged {
            warnings.append("the Newton iterations did not converge in \(control.maxIterations) steps (--maxit)")
        }
        return CategoricalFit(
            kind: kind, link: kind == .ordinal ? (link ?? .logit) : nil, design: design, levels: response.levels,
            columnNames: columnNames, components: components, terms: terms, estimates: result.parameters,
            covariance: covariance, logLikelihood: result.evaluation.logLikelihood, iterations: result.iterations,
            converged: result.converged, observationCount: frame.frequencyTotal ?? design.rowCount, weightSum: response.weightSum,
            warnings: warnings)
    }

    /// The largest number of parameters fitted: the Hessian is dense, order², and a
    /// multinomial pass keeps one packed p × p sum per pair of levels on every range.
    static let maximumParameters = 2000

    /// Refuses a model whose Hessian would not fit in memory, before anything that size is
    /// made: most likely a numeric response with many distinct values fitted as categories.
    static func checkSize(design: Design, response: CategoricalResponse, kind: ModelKind) throws {
        let levels = response.levelCount, p = design.columnCount
        let (product, overflow) = (levels - 1).multipliedReportingOverflow(by: max(p, 1))
        let parameters = kind == .ordinal ? p + levels - 1 : product
        guard overflow || parameters > maximumParameters else { return }
        let label = design.frame.responseLabel
        throw GLMError.invalidTerm(
            term: label,
            message: "\(kind.withArticle) model of '\(label)' with \(levels) levels and \(p) model-matrix columns has "
                + "\(overflow ? "too many" : String(parameters)) coefficients, more than the \(maximumParameters) glmfit fits "
                + "(its Hessian is dense); is '\(label)' a numeric variable rather than a set of categories?")
    }

    /// Wald rows: z = estimate / se, normal p-values and intervals, and exp() of all three
    /// where it is a ratio (relative risks for multinomial, odds ratios for the ordinal
    /// logit's location coefficients).
    /// Each row's `term` is its name in `parameterNames` (the text's row names): `level:term`
    /// for multinomial, the term or `a|b` for ordinal.
    public func coefficientTable(confidenceLevel: Double) -> [CoefficientSummary] {
        let quantile = Distributions.qnorm((1 + confidenceLevel) / 2)
        let names = parameterNames
        return estimates.indices.map { index in
            let withRatio = kind == .multinomial || (link == .logit && components[index] == "location")
            let variance = covariance[index][index]
            return CoefficientSummary.wald(
                term: names[index], estimate: estimates[index], standardError: variance > 0 ? variance.squareRoot() : .nan,
                tDegreesOfFreedom: nil, normalQuantile: quantile, withRatio: withRatio)
        }
    }

    /// The label of the exp() columns ("relative risk ratio", "odds ratio") or nil.
    public var ratioLabel: String? {
        switch kind {
        case .multinomial: return "relative risk ratio"
        case .ordinal: return link == .logit ? "odds ratio" : nil
        case .glm, .zeroInflated, .hurdle: return nil
        }
    }
}

/// A likelihood-ratio test of a smaller nested model of the same kind, fitted to the same
/// rows (R's `anova(reduced, full)` for multinom and polr fits).
public struct CategoricalComparison: Sendable {
    /// The right-hand sides of the two formulas (R's `Model` column).
    public let reducedFormula: String
    public let fullFormula: String
    public let reducedDeviance: Double
    public let fullDeviance: Double
    public let reducedParameters: Int
    public let fullParameters: Int
    /// R's `Resid. df` (see `Pipeline.compareCategorical`).
    public let reducedResidualDf: Double
    public let fullResidualDf: Double
    public var df: Int { fullParameters - reducedParameters }
    public var statistic: Double { reducedDeviance - fullDeviance }
    public var pValue: Double { Distributions.pchisq(max(statistic, 0), df: Double(df), lowerTail: false) }
}

/// A categorical fit with everything the reports print about it.
public struct CategoricalReport: Sendable {
    public let fit: CategoricalFit
    public let confidenceLevel: Double
    public let coefficients: [CoefficientSummary]
    public let comparison: CategoricalComparison?
    public let waldTests: [WaldTestResult]
    /// The input the model was fitted to (for `--save`).
    public let input: InputDescription?

    public var warnings: [String] { fit.warnings }
}
