import Foundation

/// pscl's two-part formula `y ~ x | z`: the count part's formula and the zero part's.
public struct TwoPartFormula: Sendable, Equatable {
    /// `y ~ x`
    public let count: String
    /// `y ~ z` (the count part's right-hand side when the formula has no bar).
    public let zero: String

    /// Splits at the first `|` at the top level of the right-hand side (outside parentheses
    /// and backquotes: a `|` inside `I(...)` is an expression's, not the separator).
    public init(_ text: String) throws {
        var depth = 0
        var inBackquote = false
        var tilde: String.Index?
        var bar: String.Index?
        for index in text.indices {
            let character = text[index]
            if character == "`" { inBackquote.toggle(); continue }
            if inBackquote { continue }
            switch character {
            case "(": depth += 1
            case ")": depth -= 1
            case "~" where depth == 0 && tilde == nil: tilde = index
            case "|" where depth == 0 && tilde != nil && bar == nil: bar = index
            case "|" where depth == 0 && bar != nil:
                throw GLMError.formulaSyntax(
                    formula: text, position: text.distance(from: text.startIndex, to: index),
                    message: "a two-part formula has one '|' (count part | zero part)")
            default: break
            }
        }
        guard let tilde else {
            throw GLMError.formulaSyntax(formula: text, position: 0, message: "expected '~' between the response and the predictors")
        }
        let left = String(text[..<tilde])
        guard let bar else {
            count = text
            zero = text
            return
        }
        let countSide = text[text.index(after: tilde)..<bar].trimmingCharacters(in: .whitespaces)
        let zeroSide = text[text.index(after: bar)...].trimmingCharacters(in: .whitespaces)
        if zeroSide.isEmpty {
            throw GLMError.formulaSyntax(
                formula: text, position: text.count, message: "expected the zero part's predictors after '|' (write '| 1' for an intercept only)")
        }
        count = left + "~ " + countSide
        zero = left + "~ " + zeroSide
    }
}

/// A zero-inflated or hurdle fit: estimates at the maximum, the inverse of the analytic
/// negative Hessian, and the likelihood numbers pscl reports.
public struct CountModelFit: Sendable {
    public let kind: ModelKind
    public let distribution: CountDistribution
    public let zeroLink: ZeroLink
    public let countDesign: Design
    public let zeroDesign: Design
    /// β (count columns), γ (zero columns), then log θ for a negative binomial count part.
    public let estimates: [Double]
    /// Rows and columns in `estimates`' order.
    public let covariance: [[Double]]
    public let logLikelihood: Double
    public let iterations: Int
    public let converged: Bool
    /// pscl's n: the rows of positive weight (AIC's and BIC's n, `n_obs`).
    public let observationCount: Int
    public let warnings: [String]
    /// The response and prior weights of the rows used (for residuals and the Vuong test).
    public let y: [Double]
    public let weights: [Double]

    /// The rows used, zero-weight rows included (the length of `y` and of each part's columns).
    public var rowCount: Int { y.count }
    public var countColumnCount: Int { countDesign.columnCount }
    public var zeroColumnCount: Int { zeroDesign.columnCount }
    /// The number of parameters, θ included (logLik's df).
    public var parameterCount: Int { estimates.count }
    public var aic: Double { -2 * logLikelihood + 2 * Double(parameterCount) }
    public var bic: Double { -2 * logLikelihood + Foundation.log(Double(observationCount)) * Double(parameterCount) }
    public var hasTheta: Bool { distribution == .negativeBinomial }
    public var logTheta: Double? { hasTheta ? estimates.last : nil }
    public var theta: Double? { logTheta.map { Foundation.exp($0) } }
    public var logThetaStandardError: Double? {
        guard hasTheta, let last = covariance.last?.last, last > 0 else { return nil }
        return last.squareRoot()
    }
    /// θ's standard error by the delta method (θ · se(log θ)), as pscl's summary prints it.
    public var thetaStandardError: Double? {
        guard let theta, let se = logThetaStandardError else { return nil }
        return theta * se
    }
    public var droppedCount: Int { countDesign.frame.droppedCount }

    /// Each parameter's component ("count" or "zero"; log θ is "count").
    public var components: [String] {
        Array(repeating: "count", count: countColumnCount) + Array(repeating: "zero", count: zeroColumnCount)
            + (hasTheta ? ["count"] : [])
    }
    /// Each parameter's term, R's column name (log θ is "Log(theta)").
    public var terms: [String] {
        countDesign.columnNames + zeroDesign.columnNames + (hasTheta ? ["Log(theta)"] : [])
    }
    /// The names `--wald` and vcov use: `count:x`, `zero:x`, `count:Log(theta)`.
    public var parameterNames: [String] { zip(components, terms).map { "\($0):\($1)" } }

    /// The count part's mean μ and the zero part's probability p at each row used.
    public func fittedParts() -> (mu: [Double], probability: [Double]) {
        let p = countColumnCount
        var mu = [Double](repeating: 0, count: rowCount)
        var probability = mu
        for row in 0..<rowCount {
            var etaCount = countDesign.frame.offset?[row] ?? 0
            for j in 0..<p { etaCount += countDesign.columns[j][row] * estimates[j] }
            var etaZero = zeroDesign.frame.offset?[row] ?? 0
            for j in 0..<zeroColumnCount { etaZero += zeroDesign.columns[j][row] * estimates[p + j] }
            mu[row] = Foundation.exp(etaCount)
            probability[row] = zeroLink.inverse(etaZero).value
        }
        return (mu, probability)
    }

    /// The expected count, the zero part's probability (pscl's type "zero": for the hurdle,
    /// the ratio P(y > 0 | hurdle) / P(y > 0 | count)), the count mean, and the variance.
    public static func predictions(
        mu: Double, probability: Double, kind: ModelKind, distribution: CountDistribution, theta: Double?
    ) -> (response: Double, zero: Double, count: Double, variance: Double) {
        let th = distribution == .geometric ? 1 : theta
        // P(y > 0) = 1 − f(0) by expm1 of log f(0): exact for small μ, as pscl's
        // ppois/pnbinom(0, lower.tail = FALSE, log.p = TRUE).
        let logZeroDensity: Double = th.map { -$0 * Foundation.log1p(mu / $0) } ?? -mu
        let positive = -Foundation.expm1(logZeroDensity)
        // pscl's residuals(type = "pearson"): var = ŷ·(1 + (φ + 1/θ)·μ), φ the zero
        // probability (zero-inflated) or 1 − the hurdle ratio (hurdle); 1/θ = 0 for poisson.
        let inverseTheta = th.map { 1 / $0 } ?? 0
        if kind == .hurdle {
            let ratio = probability / positive
            let response = ratio * mu
            return (response, ratio, mu, response * (1 + ((1 - ratio) + inverseTheta) * mu))
        }
        let response = (1 - probability) * mu
        return (response, probability, mu, response * (1 + (probability + inverseTheta) * mu))
    }

    /// Pearson residuals (y − ŷ)·√w / √var, as pscl's residuals(type = "pearson").
    public func pearsonResiduals() -> [Double] {
        let (mu, probability) = fittedParts()
        return (0..<rowCount).map { row in
            let parts = CountModelFit.predictions(
                mu: mu[row], probability: probability[row], kind: kind, distribution: distribution, theta: theta)
            return (y[row] - parts.response) * weights[row].squareRoot() / parts.variance.squareRoot()
        }
    }

    /// Wald rows: z = estimate / se, normal p-values and intervals; exp() of all three for
    /// the count part (rate ratios) and for a logit zero part (odds ratios). Log θ is left
    /// out (reported as theta).
    public func coefficientTable(confidenceLevel: Double) -> [CoefficientSummary] {
        let quantile = Distributions.qnorm((1 + confidenceLevel) / 2)
        let count = countColumnCount + zeroColumnCount
        return (0..<count).map { index in
            let isCount = index < countColumnCount
            let variance = covariance[index][index]
            return CoefficientSummary.wald(
                term: terms[index], estimate: estimates[index], standardError: variance > 0 ? variance.squareRoot() : .nan,
                tDegreesOfFreedom: nil, normalQuantile: quantile, withRatio: isCount || zeroLink == .logit)
        }
    }
}

/// The Vuong non-nested test of a zero-inflated fit against its plain count model
/// (pscl::vuong): m_i = log L_i(model 1) − log L_i(model 2), raw and corrected by the
/// parameter counts (AIC: k1 − k2; BIC: (k1 − k2)·log(n)/2).
public struct VuongTest: Sendable {
    public struct Row: Sendable {
        public let label: String
        public let statistic: Double
        /// The one-sided p-value in the direction of the statistic.
        public let pValue: Double
        public var favours: String { statistic > 0 ? "model1 > model2" : "model2 > model1" }
    }

    public let rows: [Row]

    init(pointwise m: [Double], parameters1: Int, parameters2: Int) {
        let n = Double(m.count)
        let mean = m.reduce(0, +) / n
        let variance = m.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        let sd = variance.squareRoot()
        let total = m.reduce(0, +)
        let k = Double(parameters1 - parameters2)
        let statistics = [
            ("Raw", total), ("AIC-corrected", total - k), ("BIC-corrected", total - k * Foundation.log(n) / 2),
        ]
        rows = statistics.map { label, sum in
            let z = sum / (sd * n.squareRoot())
            return Row(label: label, statistic: z, pValue: Distributions.pnorm(z, lowerTail: z <= 0))
        }
    }
}

/// A zero-inflated or hurdle fit with everything the reports print about it.
public struct CountModelReport: Sendable {
    public let fit: CountModelFit
    public let confidenceLevel: Double
    public let coefficients: [CoefficientSummary]
    public let comparison: CategoricalComparison?
    public let waldTests: [WaldTestResult]
    public let vuong: VuongTest?
    public let input: InputDescription?
    public var warnings: [String] { fit.warnings }
}
