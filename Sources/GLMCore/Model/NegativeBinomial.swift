import Foundation

/// The maximum-likelihood estimate of the negative binomial shape theta for fixed means,
/// as MASS's `theta.ml` returns it.
public struct ThetaEstimate: Sendable, Equatable {
    /// The estimate (0 when Newton's method went below zero and it was truncated).
    public let theta: Double
    /// 1 / √(observed information) at the last Newton step (MASS's `attr(, "SE")`).
    public let standardError: Double
    /// Newton steps taken.
    public let iterations: Int
    /// The last warning, as MASS stores it in `attr(, "warn")`: "estimate truncated at
    /// zero" or "iteration limit reached".
    public let warning: String?
    /// Every warning raised, in order.
    public let warnings: [String]
    /// `theta.ml(trace = TRUE)`'s messages.
    public let trace: [String]
}

/// A negative binomial GLM with theta estimated by maximum likelihood: what MASS's
/// `glm.nb()` returns.
public struct NegativeBinomialFit: Sendable {
    /// The last IRLS fit of the alternation, as `glm.nb` keeps it. Its `family` carries the
    /// theta that fit used (the previous estimate, as R's `fit$family`); its `aic` is
    /// `glm.nb`'s (`-twologlik + 2·rank + 2`); its null deviance is `glm.nb`'s.
    public let glm: GLMFit
    /// The final estimate of theta (R's `fit$theta`).
    public let theta: Double
    /// R's `fit$SE.theta`.
    public let thetaStandardError: Double
    /// 2 × the log-likelihood at `theta` and the final fitted means (R's `fit$twologlik`).
    public let twoLogLikelihood: Double
    /// −twologlik + 2·rank + 2.
    public let aic: Double
    /// Completed alternations of the outer loop (IRLS fit, then theta.ml).
    public let outerIterations: Int
    /// R's `fit$th.warn`: theta.ml's last warning, or "alternation limit reached".
    public let thetaWarning: String?
    /// Every distinct warning of the whole fit, in the order R raises them.
    public let warnings: [String]
    /// The messages of `glm.nb(control = glm.control(trace = traceLevel))`, without
    /// glm.fit's own "Deviance = … Iterations - i" lines.
    public let trace: [String]

    public var coefficients: [Double] { glm.coefficients }
    public var deviance: Double { glm.deviance }
    public var nullDeviance: Double { glm.nullDeviance }
    /// twologlik / 2 (R's `logLik()` of a negbin fit).
    public var logLikelihood: Double { twoLogLikelihood / 2 }
    /// rank + 1: the coefficients and theta.
    public var parameterCount: Int { glm.rank + 1 }
    /// −twologlik + log(n)·(rank + 1), n counting every row of the model frame as
    /// `logLik.negbin` does.
    public var bic: Double { -twoLogLikelihood + log(Double(glm.design.rowCount)) * Double(parameterCount) }

    /// `summary.negbin`: `summary.glm` with the dispersion fixed at 1 (z tests), and the
    /// log-likelihood counting theta as a parameter.
    public func summary(confidenceLevel: Double = 0.95) throws -> GLMSummary {
        try GLMSummary(fit: glm, confidenceLevel: confidenceLevel, dispersion: 1, additionalParameters: 1)
    }
}

/// Negative binomial regression as MASS does it: `glm.nb`, `theta.ml` and
/// `glm(family = negative.binomial(theta))`.
public enum NegativeBinomial {
    /// MASS's default `theta.ml` tolerance, `.Machine$double.eps^0.25`.
    public static let thetaTolerance = pow(Double.ulpOfOne, 0.25)

    /// Fits a negative binomial GLM with theta estimated by maximum likelihood, alternating
    /// IRLS fits and `theta.ml` exactly as `MASS::glm.nb` (`method = "glm.fit"`):
    ///
    /// 1. an initial Poisson fit (or a negative binomial one with `initialTheta`) from the
    ///    family's starting values; theta.ml on its fitted means;
    /// 2. repeat while `iter <= maxit` and `|Lm0 − Lm|/d1 + |Δθ|/d2 > epsilon`
    ///    (d1 = √(2·max(1, df.residual of the initial fit)), d2 = 1): refit by IRLS from
    ///    η = g(μ) with the current theta; re-estimate theta by theta.ml *on the means before
    ///    that refit* (as glm.nb does); update μ and the log-likelihood Lm.
    ///
    /// theta.ml runs with `limit = maxit` and glm.nb's tolerance; the null deviance is that
    /// of the last IRLS fit, or with an offset and an intercept a fresh intercept-only fit
    /// with the final theta from the family's default start.
    ///
    /// - Parameters:
    ///   - design: the model; its frame's prior weights and offset are used.
    ///   - link: log, sqrt or identity.
    ///   - control: `glm.control`'s epsilon and maxit, used by the IRLS fits, theta.ml's
    ///     iteration limit and the outer loop alike.
    ///   - initialTheta: glm.nb's `init.theta`: start from a negative binomial fit with
    ///     this theta instead of a Poisson fit.
    ///   - traceLevel: glm.control's `trace`: 1 records each alternation, 2 also the
    ///     initial value, 3 also theta.ml's Newton steps.
    public static func fit(
        design: Design, link: Link = .log, control: FitControl = FitControl(), initialTheta: Double? = nil,
        traceLevel: Int = 0
    ) throws -> NegativeBinomialFit {
        // Checks the link against the negative binomial family's list first.
        _ = try Family(kind: .negativeBinomial, link: link, theta: 1)
        if let initialTheta, !(initialTheta > 0 && initialTheta.isFinite) {
            throw GLMError.invalidOption(name: "init.theta", message: "must be a positive number (got \(initialTheta))")
        }
        let frame = design.frame
        let rowCount = design.rowCount
        let initialFamily = try initialTheta.map { try Family(kind: .negativeBinomial, link: link, theta: $0) }
            ?? Family(kind: .poisson, link: link)
        let response = try initialFamily.prepare(frame)
        let y = response.y
        let weights = response.priorWeights
        let offset = frame.offset ?? [Double](repeating: 0, count: rowCount)
        let usedCount = response.observationCount
        try PreparedResponse.requirePositiveWeights(
            count: response.positiveWeightCount, coefficients: design.columnCount,
            column: frame.weightsColumn ?? frame.frequencyWeightsColumn)
        let totalWeight = rSum(weights)

        var warnings: [String] = []
        func note(_ messages: [String]) {
            for message in messages where !warnings.contains(message) { warnings.append(message) }
        }
        note(frame.warnings)
        note(response.warnings)
        var trace: [String] = []

        func irls(_ family: Family, startingMu: [Double]) throws -> IRLSResult {
            try IRLS(family: family, control: control).fit(
                design: design, y: y, priorWeights: weights, offset: offset, startingMu: startingMu)
        }

        if traceLevel > 1 { trace.append("Initial fit:") }
        var result = try irls(initialFamily, startingMu: response.startingMu)
        note(result.warnings)
        var fitFamily = initialFamily
        var mu = result.fittedValues
        var estimate = thetaML(
            y: y, mu: mu, weights: weights, totalWeight: totalWeight, limit: control.maxIterations,
            trace: traceLevel > 2)
        trace += estimate.trace
        note(estimate.warnings)
        var theta = try usableTheta(estimate, y: y, weights: weights)
        if traceLevel > 1 {
            trace.append("Initial value for 'theta': " + String(format: "%f", RFormat.signif(theta, digits: 6)))
        }
        var family = try Family(kind: .negativeBinomial, link: link, theta: theta)

        let d1 = (2 * Double(max(1, usedCount - result.rank))).squareRoot()
        let d2 = 1.0
        var delta = 1.0
        var lm = logLikelihood(theta: theta, y: y, mu: mu, weights: weights)
        var lm0 = lm + 2 * d1
        var iteration = 0
        while true {
            iteration += 1
            guard iteration <= control.maxIterations, abs(lm0 - lm) / d1 + abs(delta) / d2 > control.epsilon else { break }
            result = try irls(family, startingMu: mu)
            note(result.warnings)
            fitFamily = family
            let previous = theta
            // glm.nb re-estimates theta from the means *before* this refit.
            estimate = thetaML(
                y: y, mu: mu, weights: weights, totalWeight: totalWeight, limit: control.maxIterations,
                trace: traceLevel > 2)
            trace += estimate.trace
            note(estimate.warnings)
            theta = try usableTheta(estimate, y: y, weights: weights)
            family = try Family(kind: .negativeBinomial, link: link, theta: theta)
            mu = result.fittedValues
            delta = previous - theta
            lm0 = lm
            lm = logLikelihood(theta: theta, y: y, mu: mu, weights: weights)
            if traceLevel > 0 {
                let saturated = logLikelihood(theta: theta, y: y, mu: y, weights: weights)
                let deviance = 2 * (saturated - lm)
                trace.append(String(
                    format: "Theta(%d) = %f, 2(Ls - Lm) = %f", iteration, RFormat.signif(theta, digits: 6),
                    RFormat.signif(deviance, digits: 6)))
            }
        }
        var thetaWarning = estimate.warning
        if iteration > control.maxIterations {
            note(["alternation limit reached"])
            thetaWarning = "alternation limit reached"
        }

        let nullDeviance: Double
        if frame.offset != nil && design.hasIntercept {
            let start = y.map { $0 + ($0 == 0 ? 1.0 / 6.0 : 0) }
            let nullFit = try IRLS(family: family, control: control).fit(
                columns: [[Double](repeating: 1, count: rowCount)], rowCount: rowCount, y: y,
                priorWeights: weights, offset: offset, startingMu: start)
            note(nullFit.warnings)
            nullDeviance = nullFit.deviance
        } else if design.hasIntercept {
            let mean = rSum(zip(weights, y).map { $0 * $1 }) / totalWeight
            nullDeviance = fitFamily.deviance(y: y, mean: mean, weights: weights)
        } else {
            nullDeviance = fitFamily.deviance(y: y, mu: offset.map(link.linkinv), weights: weights)
        }

        let rank = result.rank
        let twoLogLikelihood = 2 * lm
        let aic = -twoLogLikelihood + 2 * Double(rank) + 2
        var prepared = PreparedResponse(
            y: y, priorWeights: weights, binomialTotals: [Double](repeating: 1, count: rowCount),
            startingMu: y.map { $0 + ($0 == 0 ? 1.0 / 6.0 : 0) }, warnings: response.warnings)
        prepared.frequencyWeights = response.frequencyWeights
        if let frequencies = response.frequencyWeights {
            let residuals = result.workingResiduals
            result.residualCount = FrequencyWeights.total(frequencies) { !residuals[$0].isNaN }
        }
        let diverging = Divergence.divergingTerms(
            design: design, family: fitFamily, control: control, response: prepared, offset: offset, result: result)
        let glm = GLMFit(
            design: design, family: fitFamily, control: control, response: prepared, offset: offset, irls: result,
            nullDeviance: nullDeviance, dfResidual: usedCount - rank, dfNull: usedCount - (design.hasIntercept ? 1 : 0),
            aic: aic, divergingTerms: diverging, warnings: warnings, frequencyTotal: frame.frequencyTotal)
        return NegativeBinomialFit(
            glm: glm, theta: theta, thetaStandardError: estimate.standardError, twoLogLikelihood: twoLogLikelihood,
            aic: aic, outerIterations: iteration - 1, thetaWarning: thetaWarning, warnings: warnings, trace: trace)
    }

    /// Fits with theta known: `glm(formula, family = negative.binomial(theta, link))`. The
    /// AIC is the family's (`2·Σ w·(…) + 2·rank`), not glm.nb's, and R's `summary.glm`
    /// estimates a dispersion for this family (t tests), which `GLMSummary(fit:)` follows.
    public static func fit(
        design: Design, theta: Double, link: Link = .log, control: FitControl = FitControl()
    ) throws -> GLMFit {
        guard theta > 0, theta.isFinite else {
            throw GLMError.invalidOption(name: "--theta", message: "must be a positive number (got \(theta))")
        }
        return try GLMFit.fit(design: design, family: Family(kind: .negativeBinomial, link: link, theta: theta), control: control)
    }

    /// The negative binomial log-likelihood as `glm.nb` computes it:
    ///
    ///     Σ w·(lgamma(θ+y) − lgamma(θ) − lgamma(y+1) + θ·log θ + y·log(μ + [y=0]) − (θ+y)·log(θ+μ))
    public static func logLikelihood(theta: Double, y: [Double], mu: [Double], weights: [Double]) -> Double {
        let lgammaTheta = Distributions.lgamma(theta)
        let thetaLogTheta = theta * log(theta)
        return rSum(y.indices.map { row in
            let yi = y[row]
            let mi = mu[row]
            let term = Distributions.lgamma(theta + yi) - lgammaTheta - Distributions.lgamma(yi + 1) + thetaLogTheta
                + yi * log(mi + (yi == 0 ? 1 : 0)) - (theta + yi) * log(theta + mi)
            return weights[row] * term
        })
    }

    /// theta.ml's estimate, when a negative binomial fit can go on with it: a theta that is
    /// not a finite positive number (all counts 0: the means go to 0 and Newton's steps to
    /// NaN or infinity) ends the fit, as MASS's glm.nb stops ("missing value where TRUE/FALSE
    /// needed"), instead of reporting a fit that is not one.
    static func usableTheta(_ estimate: ThetaEstimate, y: [Double], weights: [Double]) throws -> Double {
        let theta = estimate.theta
        if theta.isFinite, theta > 0 { return theta }
        let allZero = zip(y, weights).allSatisfy { $0.0 == 0 || $0.1 == 0 }
        let reason = allZero
            ? "every count is 0, so there is no variation to estimate it from"
            : "theta.ml ended at \(theta) (the counts may show no overdispersion, or too little data)"
        throw GLMError.fitFailed(
            message: "the negative binomial theta cannot be estimated: \(reason); MASS::glm.nb stops here too. "
                + "Fit --family poisson, or give a fixed --theta")
    }

    /// MASS's `theta.ml`: Newton's method on the score for theta with the means fixed.
    ///
    /// Starts from θ₀ = n / Σ w·(y/μ − 1)²; while `it < limit` and |δ| > `tolerance`:
    /// θ ← |θ|, δ = score(θ) / info(θ), θ ← θ + δ, with
    ///
    ///     score = Σ w·(ψ(θ+y) − ψ(θ) + log θ + 1 − log(θ+μ) − (y+θ)/(μ+θ))
    ///     info  = Σ w·(−ψ′(θ+y) + ψ′(θ) − 1/θ + 2/(μ+θ) − (y+θ)/(μ+θ)²)
    ///
    /// A negative result is truncated to 0 ("estimate truncated at zero"); reaching `limit`
    /// warns "iteration limit reached". The standard error is 1/√info at the last step.
    ///
    /// - Parameters:
    ///   - weights: prior weights (all 1 when nil).
    ///   - totalWeight: theta.ml's `n` (Σ weights when nil).
    public static func thetaML(
        y: [Double], mu: [Double], weights: [Double]? = nil, totalWeight: Double? = nil, limit: Int = 10,
        tolerance: Double = thetaTolerance, trace: Bool = false
    ) -> ThetaEstimate {
        let w = weights ?? [Double](repeating: 1, count: y.count)
        let n = totalWeight ?? rSum(w)
        func score(_ theta: Double) -> Double {
            let digammaTheta = Distributions.digamma(theta)
            let logTheta = log(theta)
            return rSum(y.indices.map { row in
                let yi = y[row]
                let mi = mu[row]
                return w[row] * (Distributions.digamma(theta + yi) - digammaTheta + logTheta + 1 - log(theta + mi)
                    - (yi + theta) / (mi + theta))
            })
        }
        func information(_ theta: Double) -> Double {
            let trigammaTheta = Distributions.trigamma(theta)
            return rSum(y.indices.map { row in
                let yi = y[row]
                let mi = mu[row]
                let denominator = mi + theta
                return w[row] * (-Distributions.trigamma(theta + yi) + trigammaTheta - 1 / theta + 2 / denominator
                    - (yi + theta) / (denominator * denominator))
            })
        }
        var lines: [String] = []
        var theta = n / rSum(y.indices.map { row in
            let ratio = y[row] / mu[row] - 1
            return w[row] * ratio * ratio
        })
        if trace { lines.append(String(format: "theta.ml: iter %d 'theta = %f'", 0, RFormat.signif(theta, digits: 6))) }
        var iteration = 0
        var delta = 1.0
        var info = Double.nan
        while true {
            iteration += 1
            guard iteration < limit, abs(delta) > tolerance else { break }
            theta = abs(theta)
            info = information(theta)
            delta = score(theta) / info
            theta += delta
            if trace {
                lines.append("theta.ml: iter\(iteration) theta =\(RFormat.format(RFormat.signif(theta, digits: 6), digits: 15))")
            }
        }
        var warnings: [String] = []
        if theta < 0 {
            theta = 0
            warnings.append("estimate truncated at zero")
        }
        if iteration == limit { warnings.append("iteration limit reached") }
        return ThetaEstimate(
            theta: theta, standardError: (1 / info).squareRoot(), iterations: iteration - 1, warning: warnings.last,
            warnings: warnings, trace: lines)
    }
}

/// A sum accumulated in extended precision where the platform has it, as R's `sum()`
/// (long double) does.
@inline(__always)
func rSum(_ values: [Double]) -> Double {
    #if arch(x86_64) || arch(i386)
    var total: Float80 = 0
    for value in values { total += Float80(value) }
    return Double(total)
    #else
    var total = 0.0
    for value in values { total += value }
    return total
    #endif
}
