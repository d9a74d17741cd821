import Foundation

/// The count distribution of a zero-inflated or hurdle model's count part (pscl's `dist`).
public enum CountDistribution: String, Sendable, Equatable {
    case poisson
    case negativeBinomial = "negbin"
    case geometric

    /// The distribution a `--family` name asks for, or nil.
    public init?(family: String) {
        switch family.lowercased() {
        case "poisson": self = .poisson
        case "negative-binomial", "negbin", "negative.binomial", "nb": self = .negativeBinomial
        case "geometric": self = .geometric
        default: return nil
        }
    }

    /// pscl's name in the report's headings.
    public var psclName: String { rawValue }
}

/// The zero part's link (pscl's `link`): the probability of the zero component
/// (zero-inflated) or of crossing the hurdle (hurdle) as a function of its linear predictor.
public enum ZeroLink: String, Sendable, Equatable, CaseIterable {
    case logit, probit, cloglog, cauchit, log

    /// p(η) with its first and second derivatives, bounded as R's `make.link` bounds them
    /// (pscl uses those links): p and dp/dη kept at least DBL_EPSILON (and p at most
    /// 1 − DBL_EPSILON), η clamped at ±30 (logit) and at the quantiles of DBL_EPSILON
    /// (probit, cauchit); where a bound applies, the curvature is 0.
    func inverse(_ eta: Double) -> (value: Double, first: Double, second: Double) {
        let epsilon = Double.ulpOfOne
        switch self {
        case .logit:
            if eta < -30 { return (epsilon, epsilon, 0) }
            if eta > 30 { return (1 - epsilon, epsilon, 0) }
            let p = 1 / (1 + Foundation.exp(-eta))
            let d = p * (1 - p)
            return (p, d, d * (1 - 2 * p))
        case .probit:
            let threshold = -Distributions.qnorm(epsilon)
            let x = Swift.min(Swift.max(eta, -threshold), threshold)
            let d = Distributions.dnorm(eta)
            if d < epsilon || x != eta { return (Distributions.pnorm(x), Swift.max(d, epsilon), 0) }
            return (Distributions.pnorm(x), d, -eta * d)
        case .cloglog:
            let e = Foundation.exp(eta)
            let d = Foundation.exp(eta - e)
            let p = Swift.max(Swift.min(-Foundation.expm1(-e), 1 - epsilon), epsilon)
            if d < epsilon { return (p, epsilon, 0) }
            return (p, d, d * (1 - e))
        case .cauchit:
            let threshold = -Distributions.qcauchy(epsilon)
            let x = Swift.min(Swift.max(eta, -threshold), threshold)
            let s = 1 + eta * eta
            let d = 1 / (Double.pi * s)
            if d < epsilon || x != eta { return (0.5 + Foundation.atan(x) / Double.pi, Swift.max(d, epsilon), 0) }
            return (0.5 + Foundation.atan(eta) / Double.pi, d, -2 * eta / (Double.pi * s * s))
        case .log:
            let p = Foundation.exp(eta)
            if p < epsilon { return (epsilon, epsilon, 0) }
            return (p, p, p)
        }
    }

    /// η(p), for the zero part's starting intercept.
    func link(_ p: Double) -> Double {
        switch self {
        case .logit: return Foundation.log(p / (1 - p))
        case .probit: return Distributions.qnorm(p)
        case .cloglog: return Foundation.log(-Foundation.log1p(-p))
        case .cauchit: return Foundation.tan(Double.pi * (p - 0.5))
        case .log: return Foundation.log(p)
        }
    }
}

/// A value with its gradient and Hessian in three variables (a second-order forward-mode
/// jet): the row log-likelihood's exact derivatives in (η_count, η_zero, log θ) without
/// writing each model's second derivatives out by hand.
struct Jet3 {
    var value: Double
    var g0 = 0.0, g1 = 0.0, g2 = 0.0
    var h00 = 0.0, h01 = 0.0, h02 = 0.0, h11 = 0.0, h12 = 0.0, h22 = 0.0

    init(_ value: Double) { self.value = value }

    init(variable index: Int, value: Double) {
        self.value = value
        switch index {
        case 0: g0 = 1
        case 1: g1 = 1
        default: g2 = 1
        }
    }

    /// f(self) from f, f′ and f″ at self's value (the chain rule to second order).
    func applying(_ f: Double, _ d1: Double, _ d2: Double) -> Jet3 {
        var r = Jet3(f)
        r.g0 = d1 * g0; r.g1 = d1 * g1; r.g2 = d1 * g2
        r.h00 = d1 * h00 + d2 * g0 * g0; r.h01 = d1 * h01 + d2 * g0 * g1; r.h02 = d1 * h02 + d2 * g0 * g2
        r.h11 = d1 * h11 + d2 * g1 * g1; r.h12 = d1 * h12 + d2 * g1 * g2; r.h22 = d1 * h22 + d2 * g2 * g2
        return r
    }

    static func + (a: Jet3, b: Jet3) -> Jet3 {
        var r = Jet3(a.value + b.value)
        r.g0 = a.g0 + b.g0; r.g1 = a.g1 + b.g1; r.g2 = a.g2 + b.g2
        r.h00 = a.h00 + b.h00; r.h01 = a.h01 + b.h01; r.h02 = a.h02 + b.h02
        r.h11 = a.h11 + b.h11; r.h12 = a.h12 + b.h12; r.h22 = a.h22 + b.h22
        return r
    }

    static func + (a: Jet3, b: Double) -> Jet3 {
        var r = a
        r.value += b
        return r
    }

    static prefix func - (a: Jet3) -> Jet3 { a * -1 }
    static func - (a: Jet3, b: Jet3) -> Jet3 { a + (-b) }

    static func * (a: Jet3, s: Double) -> Jet3 {
        var r = Jet3(a.value * s)
        r.g0 = a.g0 * s; r.g1 = a.g1 * s; r.g2 = a.g2 * s
        r.h00 = a.h00 * s; r.h01 = a.h01 * s; r.h02 = a.h02 * s
        r.h11 = a.h11 * s; r.h12 = a.h12 * s; r.h22 = a.h22 * s
        return r
    }

    static func * (a: Jet3, b: Jet3) -> Jet3 {
        var r = Jet3(a.value * b.value)
        r.g0 = a.g0 * b.value + a.value * b.g0
        r.g1 = a.g1 * b.value + a.value * b.g1
        r.g2 = a.g2 * b.value + a.value * b.g2
        r.h00 = a.h00 * b.value + 2 * a.g0 * b.g0 + a.value * b.h00
        r.h01 = a.h01 * b.value + a.g0 * b.g1 + a.g1 * b.g0 + a.value * b.h01
        r.h02 = a.h02 * b.value + a.g0 * b.g2 + a.g2 * b.g0 + a.value * b.h02
        r.h11 = a.h11 * b.value + 2 * a.g1 * b.g1 + a.value * b.h11
        r.h12 = a.h12 * b.value + a.g1 * b.g2 + a.g2 * b.g1 + a.value * b.h12
        r.h22 = a.h22 * b.value + 2 * a.g2 * b.g2 + a.value * b.h22
        return r
    }

    var exp: Jet3 {
        let e = Foundation.exp(value)
        return applying(e, e, e)
    }

    var log: Jet3 { applying(Foundation.log(value), 1 / value, -1 / (value * value)) }

    /// log(1 − e^self), for self < 0 (log of a zero-truncated count's normaliser).
    var log1mExp: Jet3 {
        let e = Foundation.exp(value)
        let one = -Foundation.expm1(value)
        return applying(Foundation.log(one), -e / one, -e / (one * one))
    }

    var lgamma: Jet3 {
        applying(Distributions.lgamma(value), Distributions.digamma(value), Distributions.trigamma(value))
    }
}

/// pscl's zero-inflated (`zeroinfl`) and hurdle (`hurdle`, binomial zero part) count models
/// at the exact maximum of their log-likelihoods.
///
/// With μ = exp(xᵀβ + offset) the count part's mean, f its density (poisson, negative
/// binomial with θ, geometric = θ 1) and p = g⁻¹(zᵀγ + offset) the zero part's probability,
///
///     zero-inflated:  log L_i = log(p + (1 − p) f(0))        (y = 0)
///                             = log(1 − p) + log f(y)         (y > 0)
///     hurdle:         log L_i = log(1 − p)                    (y = 0)
///                             = log p + log f(y) − log(1 − f(0))   (y > 0),
///
/// each row's terms weighted by its prior weight. The parameters are (β, γ, log θ);
/// gradient and Hessian are exact (each row's derivatives in (η_count, η_zero, log θ) by
/// `Jet3`, then XᵀDX-type sums), and Newton iterations run to the maximum.
enum TwoPartCount {
    enum Kind: Sendable { case zeroInflated, hurdle }

    /// What the evaluator computes: the full model, or one of the plain fits that start it.
    enum Mode { case full(Kind), countOnly(truncated: Bool), binaryOnly(successIsZero: Bool) }

    struct Data {
        let y: [Double]
        let weights: [Double]
        let countColumns: [[Double]]
        let countOffset: [Double]?
        let zeroColumns: [[Double]]
        let zeroOffset: [Double]?
        var rowCount: Int { y.count }
    }

    /// The log-likelihood, gradient and negative Hessian over all rows, on all cores.
    /// Parameters: β (count columns), γ (zero columns), then log θ when `hasTheta`;
    /// `thetaFixed` is θ when it is not a parameter (1 for geometric; nil for poisson).
    static func evaluate(
        _ parameters: [Double], data: Data, mode: Mode, distribution: CountDistribution, link: ZeroLink,
        useCount: Bool, useZero: Bool
    ) -> NewtonMaximizer.Evaluation {
        let p = useCount ? data.countColumns.count : 0
        let q = useZero ? data.zeroColumns.count : 0
        let hasTheta = useCount && distribution == .negativeBinomial
        let order = p + q + (hasTheta ? 1 : 0)
        let logTheta: Double = hasTheta ? parameters[p + q] : 0
        let parts = ParallelRows.map(count: data.rowCount) { rows -> NewtonMaximizer.Evaluation in
            var logLikelihood = 0.0
            var gradient = [Double](repeating: 0, count: order)
            var hessian = [Double](repeating: 0, count: order * order)
            var v = [Double](repeating: 0, count: order)
            let countBases = data.countColumns.map { $0.withUnsafeBufferPointer { $0.baseAddress } }
            let zeroBases = data.zeroColumns.map { $0.withUnsafeBufferPointer { $0.baseAddress } }
            parameters.withUnsafeBufferPointer { theta in
            gradient.withUnsafeMutableBufferPointer { g in
            hessian.withUnsafeMutableBufferPointer { h in
            v.withUnsafeMutableBufferPointer { v in
                for row in rows {
                    let w = data.weights[row]
                    if w == 0 { continue }
                    let y = data.y[row]
                    var etaCount = data.countOffset?[row] ?? 0
                    for j in 0..<p { etaCount += (countBases[j]?[row] ?? 0) * theta[j] }
                    var etaZero = data.zeroOffset?[row] ?? 0
                    for j in 0..<q { etaZero += (zeroBases[j]?[row] ?? 0) * theta[p + j] }
                    let jet = rowLogLikelihood(
                        y: y, etaCount: etaCount, etaZero: etaZero, logTheta: logTheta, mode: mode,
                        distribution: distribution, link: link)
                    logLikelihood += w * jet.value
                    // v = (∂ℓ/∂η_c · x, ∂ℓ/∂η_z · z, ∂ℓ/∂log θ) and the Hessian from the
                    // jet's second derivatives times the outer products of x and z.
                    for j in 0..<p { v[j] = countBases[j]?[row] ?? 0 }
                    for j in 0..<q { v[p + j] = zeroBases[j]?[row] ?? 0 }
                    for j in 0..<p { g[j] += w * jet.g0 * v[j] }
                    for j in 0..<q { g[p + j] += w * jet.g1 * v[p + j] }
                    if hasTheta { g[p + q] += w * jet.g2 }
                    // Upper triangle (a ≤ b) only, block by block: count × count (h00),
                    // count × zero (h01), zero × zero (h11), then the log θ column.
                    for b in 0..<p {
                        let scale = w * jet.h00 * v[b]
                        let column = b * order
                        for a in 0...b { h[column + a] -= scale * v[a] }
                    }
                    for b in 0..<q {
                        let column = (p + b) * order
                        let cross = w * jet.h01 * v[p + b]
                        for a in 0..<p { h[column + a] -= cross * v[a] }
                        let scale = w * jet.h11 * v[p + b]
                        for a in 0...b { h[column + p + a] -= scale * v[p + a] }
                    }
                    if hasTheta {
                        let column = (p + q) * order
                        for a in 0..<p { h[column + a] -= w * jet.h02 * v[a] }
                        for a in 0..<q { h[column + p + a] -= w * jet.h12 * v[p + a] }
                        h[column + p + q] -= w * jet.h22
                    }
                }
            }}}}
            return NewtonMaximizer.Evaluation(logLikelihood: logLikelihood, gradient: gradient, negativeHessian: hessian)
        }
        return NewtonMaximizer.Evaluation(summing: parts, order: order)
    }

    /// log f(y) and log f(0) of the count part as jets in (η_count, ·, log θ).
    static func countDensity(y: Double, etaCount: Double, logTheta: Double, distribution: CountDistribution)
        -> (logF: Jet3, logF0: Jet3)
    {
        let eta = Jet3(variable: 0, value: etaCount)
        let mu = eta.exp
        switch distribution {
        case .poisson:
            return (eta * y - mu + (-Distributions.lgamma(y + 1)), -mu)
        case .negativeBinomial, .geometric:
            let logTh = distribution == .geometric ? Jet3(0) : Jet3(variable: 2, value: logTheta)
            let th = logTh.exp
            let logSum = (th + mu).log
            let logF0 = th * (logTh - logSum)
            if y == 0 { return (logF0, logF0) }
            let logF = (th + y).lgamma - th.lgamma + (-Distributions.lgamma(y + 1)) + logF0 + (eta - logSum) * y
            return (logF, logF0)
        }
    }

    /// One row's log-likelihood as a jet.
    static func rowLogLikelihood(
        y: Double, etaCount: Double, etaZero: Double, logTheta: Double, mode: Mode,
        distribution: CountDistribution, link: ZeroLink
    ) -> Jet3 {
        func probability() -> Jet3 {
            let (value, first, second) = link.inverse(etaZero)
            return Jet3(variable: 1, value: etaZero).applying(value, first, second)
        }
        switch mode {
        case let .binaryOnly(successIsZero):
            let prob = probability()
            let success = successIsZero ? y == 0 : y > 0
            return success ? prob.log : (-prob + 1).log
        case let .countOnly(truncated):
            let density = countDensity(y: y, etaCount: etaCount, logTheta: logTheta, distribution: distribution)
            return truncated ? density.logF - density.logF0.log1mExp : density.logF
        case .full(.zeroInflated):
            let prob = probability()
            let density = countDensity(y: y, etaCount: etaCount, logTheta: logTheta, distribution: distribution)
            if y == 0 { return (prob + (-prob + 1) * density.logF0.exp).log }
            return (-prob + 1).log + density.logF
        case .full(.hurdle):
            let prob = probability()
            if y == 0 { return (-prob + 1).log }
            let density = countDensity(y: y, etaCount: etaCount, logTheta: logTheta, distribution: distribution)
            return prob.log + density.logF - density.logF0.log1mExp
        }
    }

    struct Result {
        let newton: NewtonMaximizer.Result
        let totalIterations: Int
    }

    /// Fits the model: plain starting fits as pscl starts (a poisson glm of the counts and a
    /// binary glm of the zeros with the zero link; θ = 1), then Newton on the full model.
    static func fit(
        data: Data, kind: Kind, distribution: CountDistribution, link: ZeroLink,
        countIntercept: Int?, zeroIntercept: Int?, maxIterations: Int
    ) throws -> Result {
        let p = data.countColumns.count
        let q = data.zeroColumns.count
        var weightSum = 0.0, countSum = 0.0, zeroSum = 0.0, positiveSum = 0.0
        for row in 0..<data.rowCount {
            let w = data.weights[row]
            weightSum += w
            countSum += w * data.y[row]
            if data.y[row] == 0 { zeroSum += w } else { positiveSum += w }
        }
        var countStart = [Double](repeating: 0, count: p)
        if let countIntercept, countSum > 0 { countStart[countIntercept] = Foundation.log(countSum / weightSum) }
        let countFit = try NewtonMaximizer.maximize(start: countStart, maxIterations: 100) { parameters in
            evaluate(parameters, data: data, mode: .countOnly(truncated: false), distribution: .poisson, link: link,
                     useCount: true, useZero: false)
        }
        let successIsZero = kind == .zeroInflated
        var zeroStart = [Double](repeating: 0, count: q)
        let share = (successIsZero ? zeroSum : positiveSum) / weightSum
        if let zeroIntercept, share > 0, share < 1 { zeroStart[zeroIntercept] = link.link(share) }
        else if link == .log { zeroStart = zeroStart.map { _ in -0.7 } }
        let zeroFit = try NewtonMaximizer.maximize(start: zeroStart, maxIterations: 100) { parameters in
            evaluate(parameters, data: data, mode: .binaryOnly(successIsZero: successIsZero), distribution: .poisson,
                     link: link, useCount: false, useZero: true)
        }
        var start = countFit.parameters + zeroFit.parameters
        if distribution == .negativeBinomial { start.append(0) }
        let full = try NewtonMaximizer.maximize(start: start, maxIterations: maxIterations) { parameters in
            evaluate(parameters, data: data, mode: .full(kind), distribution: distribution, link: link,
                     useCount: true, useZero: true)
        }
        return Result(newton: full, totalIterations: full.iterations)
    }
}
