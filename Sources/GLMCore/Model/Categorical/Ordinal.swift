import Foundation

/// The five latent distributions of a cumulative-link model, as MASS::polr's `method`.
public enum OrdinalLink: String, Sendable, CaseIterable {
    /// polr's "logistic".
    case logit
    case probit
    /// polr's "cloglog": F(q) = 1 − exp(−exp(q)).
    case cloglog
    /// polr's "loglog": F(q) = exp(−exp(−q)).
    case loglog
    case cauchit

    public init?(name: String) {
        switch name.lowercased() {
        case "logit", "logistic": self = .logit
        case "probit": self = .probit
        case "cloglog": self = .cloglog
        case "loglog": self = .loglog
        case "cauchit": self = .cauchit
        default: return nil
        }
    }

    /// polr's name for it (`method =`).
    public var polrMethod: String { self == .logit ? "logistic" : rawValue }

    /// F(q), the probability at or below q.
    func cdf(_ q: Double) -> Double {
        switch self {
        case .logit: return q >= 0 ? 1 / (1 + Foundation.exp(-q)) : Foundation.exp(q) / (1 + Foundation.exp(q))
        case .probit: return Distributions.pnorm(q)
        case .cloglog: return -Foundation.expm1(-Foundation.exp(q))
        case .loglog: return Foundation.exp(-Foundation.exp(-q))
        case .cauchit: return Distributions.pcauchy(q)
        }
    }

    /// 1 − F(q), accurate in the upper tail.
    func survival(_ q: Double) -> Double {
        switch self {
        case .logit, .cauchit: return cdf(-q)
        case .probit: return Distributions.pnorm(q, lowerTail: false)
        case .cloglog: return Foundation.exp(-Foundation.exp(q))
        case .loglog: return -Foundation.expm1(-Foundation.exp(-q))
        }
    }

    /// The density f(q) and its derivative f′(q).
    func density(_ q: Double) -> (f: Double, derivative: Double) {
        switch self {
        case .logit:
            let e = Foundation.exp(-abs(q))
            let f = e / ((1 + e) * (1 + e))
            // f′ = f (1 − 2F) = f (1 − e^q) / (1 + e^q)
            return (f, f * (q >= 0 ? (e - 1) / (1 + e) : (1 - e) / (1 + e)))
        case .probit:
            let f = Distributions.dnorm(q)
            return (f, -q * f)
        case .cloglog:
            let e = Foundation.exp(q)
            let f = e.isFinite ? Foundation.exp(q - e) : 0
            return (f, f * (1 - e))
        case .loglog:
            let e = Foundation.exp(-q)
            let f = e.isFinite ? Foundation.exp(-q - e) : 0
            return (f, f * (e - 1))
        case .cauchit:
            let s = 1 + q * q
            let f = 1 / (Double.pi * s)
            return (f, -2 * q * f / s)
        }
    }

    /// F⁻¹(p).
    func quantile(_ p: Double) -> Double {
        switch self {
        case .logit: return Foundation.log(p / (1 - p))
        case .probit: return Distributions.qnorm(p)
        case .cloglog: return Foundation.log(-Foundation.log1p(-p))
        case .loglog: return -Foundation.log(-Foundation.log(p))
        case .cauchit: return Distributions.qcauchy(p)
        }
    }

    /// P(a < latent ≤ b) = F(b) − F(a), from whichever tail keeps its digits.
    func intervalProbability(_ a: Double, _ b: Double) -> Double {
        if a == -.infinity { return cdf(b) }
        if b == .infinity { return survival(a) }
        return a + b > 0 ? survival(a) - survival(b) : cdf(b) - cdf(a)
    }
}

/// The cumulative-link (proportional odds) model as `MASS::polr` fits it, at the exact
/// maximum.
///
/// With K ordered levels, thresholds ζ_1 < … < ζ_{K−1} and η = xᵀβ (no intercept; the
/// thresholds take its place): P(Y ≤ k) = F(ζ_k − η). A row at level k contributes
/// log(F(b) − F(a)) with a = ζ_{k−1} − η, b = ζ_k − η (ζ_0 = −∞, ζ_K = ∞); with D = F(b) − F(a),
///
///     g_a = −f(a)/D, g_b = f(b)/D, g_aa = −f′(a)/D − g_a², g_bb = f′(b)/D − g_b², g_ab = −g_a g_b,
///
/// the score is −x(g_a + g_b) for β, g_b for ζ_k and g_a for ζ_{k−1}; the Hessian is
/// x xᵀ(g_aa + 2g_ab + g_bb) for ββ, −x(g_ab + g_bb) for βζ_k, −x(g_aa + g_ab) for βζ_{k−1},
/// and g_bb, g_aa, g_ab among the thresholds. Started at β = 0 and the thresholds of the
/// model without predictors, F⁻¹ of the cumulative proportions (its exact maximum).
enum Ordinal {
    /// Parameters: β (p), then the K − 1 thresholds.
    static func fit(
        columns: [[Double]], rowCount: Int, offset: [Double]?, response: CategoricalResponse, link: OrdinalLink,
        maxIterations: Int
    ) throws -> NewtonMaximizer.Result {
        let p = columns.count
        let thresholds = response.levelCount - 1
        var totals = [Double](repeating: 0, count: response.levelCount)
        for (code, weight) in zip(response.codes, response.weights) where code >= 0 { totals[Int(code)] += weight }
        var cumulative = 0.0
        var start = [Double](repeating: 0, count: p + thresholds)
        for k in 0..<thresholds {
            cumulative += totals[k]
            start[p + k] = link.quantile(cumulative / response.weightSum)
        }
        if let offset {
            // The thresholds of the null model shifted by the mean offset: a start in the domain.
            let mean = offset.reduce(0, +) / Double(max(offset.count, 1))
            for k in 0..<thresholds { start[p + k] += mean }
        }
        return try NewtonMaximizer.maximize(start: start, maxIterations: maxIterations) { parameters in
            evaluate(parameters, columns: columns, rowCount: rowCount, offset: offset, response: response, link: link)
        }
    }

    /// Log-likelihood, gradient and negative Hessian over all rows, on all cores; nil when
    /// the thresholds are not increasing.
    static func evaluate(
        _ parameters: [Double], columns: [[Double]], rowCount: Int, offset: [Double]?, response: CategoricalResponse,
        link: OrdinalLink
    ) -> NewtonMaximizer.Evaluation? {
        let p = columns.count
        let thresholds = response.levelCount - 1
        let order = p + thresholds
        for k in 1..<max(thresholds, 1) where !(parameters[p + k] > parameters[p + k - 1]) { return nil }
        // The columns' storage (and the offset's, last), pinned for the pass.
        let pinned = columns + (offset.map { [$0] } ?? [])
        let parts = RowPass.withBaseAddresses(of: pinned) { bases in
        ParallelRows.map(count: rowCount) { rows -> NewtonMaximizer.Evaluation in
            var logLikelihood = 0.0
            var gradient = [Double](repeating: 0, count: order)
            var hessian = [Double](repeating: 0, count: order * order)
            var x = [Double](repeating: 0, count: p)
            let columnBases = Array(bases.prefix(p))
            let offsetBase = offset == nil ? nil : bases.last ?? nil
            parameters.withUnsafeBufferPointer { theta in
            response.codes.withUnsafeBufferPointer { codes in
            response.weights.withUnsafeBufferPointer { weights in
            gradient.withUnsafeMutableBufferPointer { g in
            hessian.withUnsafeMutableBufferPointer { h in
            x.withUnsafeMutableBufferPointer { x in
                for row in rows {
                    let w = weights[row]
                    if w == 0 { continue }
                    var eta = offsetBase?[row] ?? 0
                    for j in 0..<p {
                        x[j] = columnBases[j]?[row] ?? 0
                        eta += x[j] * theta[j]
                    }
                    let y = Int(codes[row])
                    let hasLower = y > 0, hasUpper = y < thresholds
                    let a = hasLower ? theta[p + y - 1] - eta : -Double.infinity
                    let b = hasUpper ? theta[p + y] - eta : Double.infinity
                    let d = link.intervalProbability(a, b)
                    logLikelihood += w * Foundation.log(d)
                    let (fa, dfa) = hasLower ? link.density(a) : (0, 0)
                    let (fb, dfb) = hasUpper ? link.density(b) : (0, 0)
                    let ga = -fa / d, gb = fb / d
                    let gaa = -dfa / d - ga * ga, gbb = dfb / d - gb * gb, gab = -ga * gb
                    let betaScore = -(ga + gb), betaBeta = gaa + 2 * gab + gbb
                    for j in 0..<p { g[j] += w * betaScore * x[j] }
                    if hasUpper { g[p + y] += w * gb }
                    if hasLower { g[p + y - 1] += w * ga }
                    // Negative Hessian, upper triangle (row ≤ column).
                    let cbb = -w * betaBeta
                    for b2 in 0..<p {
                        let cx = cbb * x[b2]
                        let column = b2 * order
                        for a2 in 0...b2 { h[column + a2] += cx * x[a2] }
                    }
                    if hasUpper {
                        let column = (p + y) * order
                        let c = w * (gab + gbb)  // −(−x(g_ab + g_bb))
                        for j in 0..<p { h[column + j] += c * x[j] }
                        h[column + p + y] -= w * gbb
                    }
                    if hasLower {
                        let column = (p + y - 1) * order
                        let c = w * (gaa + gab)
                        for j in 0..<p { h[column + j] += c * x[j] }
                        h[column + p + y - 1] -= w * gaa
                    }
                    if hasUpper && hasLower {
                        h[(p + y) * order + p + y - 1] -= w * gab
                    }
                }
            }}}}}}
            return NewtonMaximizer.Evaluation(logLikelihood: logLikelihood, gradient: gradient, negativeHessian: hessian)
        }
        }
        return NewtonMaximizer.Evaluation(summing: parts, order: order)
    }

    /// The probabilities of every level for a linear predictor η.
    static func probabilities(eta: Double, thresholds: [Double], link: OrdinalLink) -> [Double] {
        (0...thresholds.count).map { k in
            let a = k > 0 ? thresholds[k - 1] - eta : -Double.infinity
            let b = k < thresholds.count ? thresholds[k] - eta : Double.infinity
            return link.intervalProbability(a, b)
        }
    }
}
