import CKernels
import Foundation

/// An exponential-family distribution (or quasi-likelihood) with its link, as R's
/// family objects define them: variance, deviance residuals, AIC, starting values and
/// valid ranges.
public struct Family: Sendable, Equatable {
    public enum Kind: String, CaseIterable, Sendable {
        case gaussian, binomial, poisson
        case gamma = "Gamma"
        case inverseGaussian = "inverse.gaussian"
        case quasipoisson, quasibinomial
        case negativeBinomial = "negative.binomial"
        /// statmod::tweedie: V(μ) = μ^p with the power `varPower` (0, or p ≥ 1).
        case tweedie = "Tweedie"

        /// The CLI spellings, R's spellings accepted too.
        public init?(name: String) {
            switch name {
            case "gaussian", "normal": self = .gaussian
            case "binomial": self = .binomial
            case "poisson": self = .poisson
            case "gamma", "Gamma": self = .gamma
            case "inverse-gaussian", "inverse.gaussian", "inverse_gaussian": self = .inverseGaussian
            case "quasipoisson": self = .quasipoisson
            case "quasibinomial": self = .quasibinomial
            case "negative-binomial", "negative.binomial", "negbin", "nb": self = .negativeBinomial
            case "tweedie", "Tweedie": self = .tweedie
            default: return nil
            }
        }

        public static let cliNames = [
            "gaussian", "binomial", "poisson", "gamma", "inverse-gaussian", "quasipoisson", "quasibinomial",
            "negative-binomial", "tweedie",
        ]

        public var cliName: String {
            switch self {
            case .gamma: return "gamma"
            case .inverseGaussian: return "inverse-gaussian"
            case .negativeBinomial: return "negative-binomial"
            default: return rawValue
            }
        }

        public var canonicalLink: Link {
            switch self {
            case .gaussian: return .identity
            case .binomial, .quasibinomial: return .logit
            case .poisson, .quasipoisson, .negativeBinomial, .tweedie: return .log
            case .gamma: return .inverse
            case .inverseGaussian: return .inverseSquared
            }
        }

        /// The links R's family functions accept, canonical first: every `make.link` name,
        /// for every family (R's families take any link given as a string and check only
        /// that eta and mu stay valid while fitting: `valideta`, `validmu`).
        public var allowedLinks: [Link] {
            switch self {
            // statmod's tweedie() takes power links only: link.power 0, 1, -1, 1/2 and -2.
            case .tweedie: return [.log, .identity, .inverse, .sqrt, .inverseSquared]
            default: return [canonicalLink] + Link.allCases.filter { $0 != canonicalLink }
            }
        }

        /// Dispersion fixed at 1 in `summary.glm`: binomial and poisson only, as R decides by
        /// family name. R estimates a dispersion for `negative.binomial(theta)` too (t tests);
        /// `glm.nb`'s summary passes dispersion 1 explicitly (`NegativeBinomialFit.summary`).
        public var hasFixedDispersion: Bool {
            switch self {
            case .binomial, .poisson: return true
            default: return false
            }
        }

        var isBinomialLike: Bool { self == .binomial || self == .quasibinomial }
        var isPoissonLike: Bool { self == .poisson || self == .quasipoisson }
    }

    public let kind: Kind
    public let link: Link
    /// The negative binomial shape parameter (theta); unused by other families.
    public let theta: Double
    /// The Tweedie variance power p (V(μ) = μ^p); unused by other families.
    public let varPower: Double

    public init(kind: Kind, link: Link? = nil, theta: Double = 1, varPower: Double = 0) throws {
        let chosen = link ?? kind.canonicalLink
        guard kind.allowedLinks.contains(chosen) else {
            throw GLMError.linkNotAllowed(link: chosen.name, family: kind.cliName, allowed: kind.allowedLinks.map(\.name))
        }
        self.kind = kind
        self.link = chosen
        self.theta = theta
        self.varPower = varPower
    }

    /// A pair already checked (or fixed by the code, as `RowPass`'s specialisations are).
    init(checkedKind kind: Kind, link: Link, theta: Double, varPower: Double = 0) {
        self.kind = kind
        self.link = link
        self.theta = theta
        self.varPower = varPower
    }

    /// Gaussian with the identity link: its working weights are the prior weights (a pass
    /// with it adds up XᵀWX for weights of one's choosing).
    static let unitWeights = Family(checkedKind: .gaussian, link: .identity, theta: 1)

    /// The weight of a row in the unit-weight equations that decide the aliased columns: 1
    /// where its prior weight is positive (it is fitted), else 0.
    @inline(__always) static func unitWeight(prior: Double) -> Double { prior > 0 ? 1 : 0 }

    /// R's family name as `summary.glm` prints it.
    public var displayName: String {
        switch kind {
        // MASS: paste0("Negative Binomial(", format(round(theta, 4)), ")").
        case .negativeBinomial: return "Negative Binomial(\(RFormat.format(RFormat.round(theta, digits: 4))))"
        default: return kind.rawValue
        }
    }

    /// V(mu).
    @inline(__always)
    public func variance(_ mu: Double) -> Double {
        switch kind {
        case .gaussian: return 1
        case .binomial, .quasibinomial: return mu * (1 - mu)
        case .poisson, .quasipoisson: return mu
        case .gamma: return mu * mu
        // R's mu^3 is pow(mu, 3), which can differ from mu * mu * mu in the last bit.
        case .inverseGaussian: return Foundation.pow(mu, 3)
        case .negativeBinomial: return mu + mu * mu / theta
        case .tweedie: return Foundation.pow(mu, varPower)
        }
    }

    @inline(__always)
    private static func yLogY(_ y: Double, _ mu: Double) -> Double {
        y != 0 ? y * Foundation.log(y / mu) : 0
    }

    /// One observation's contribution to the deviance (R's `dev.resids`).
    @inline(__always)
    public func unitDeviance(y: Double, mu: Double, weight: Double) -> Double {
        switch kind {
        case .gaussian:
            let residual = y - mu
            return weight * residual * residual
        case .binomial, .quasibinomial:
            return 2 * weight * (Family.yLogY(y, mu) + Family.yLogY(1 - y, 1 - mu))
        case .poisson, .quasipoisson:
            return y > 0 ? 2 * weight * (y * Foundation.log(y / mu) - (y - mu)) : 2 * mu * weight
        case .gamma:
            return -2 * weight * (Foundation.log(y == 0 ? 1 : y / mu) - (y - mu) / mu)
        case .inverseGaussian:
            let residual = y - mu
            return weight * residual * residual / (y * mu * mu)
        case .negativeBinomial:
            let bounded = Swift.max(y, 1)
            return 2 * weight * (y * Foundation.log(bounded / mu) - (y + theta) * Foundation.log((y + theta) / (mu + theta)))
        case .tweedie:
            // statmod's dev.resids, zeros moved to 0.1 in θ (and in κ for p = 2) as there.
            let p = varPower
            let y1 = y == 0 ? 0.1 : y
            let theta = p == 1 ? Foundation.log(y1 / mu) : (Foundation.pow(y1, 1 - p) - Foundation.pow(mu, 1 - p)) / (1 - p)
            let kappa = p == 2 ? Foundation.log(y1 / mu) : (Foundation.pow(y, 2 - p) - Foundation.pow(mu, 2 - p)) / (2 - p)
            return 2 * weight * (y * theta - kappa)
        }
    }

    public func deviance(y: [Double], mu: [Double], weights: [Double]) -> Double {
        mu.withUnsafeBufferPointer { deviance(y: y, mu: $0, weights: weights) }
    }

    /// As above, with the means where they are (a fit's row pass), not copied.
    func deviance(y: [Double], mu: UnsafeBufferPointer<Double>, weights: [Double]) -> Double {
        devianceSum(y: y, weights: weights) { mu[$0] }
    }

    /// As above with every mean `mean` (the null deviance), without an array of them.
    func deviance(y: [Double], mean: Double, weights: [Double]) -> Double {
        devianceSum(y: y, weights: weights) { _ in mean }
    }

    /// The unit deviances added up on all cores, with the mean of each row from `mean`. The
    /// binomial, poisson and Gamma families take them as the row passes do (`glm_deviance_sum`,
    /// the logs eight at a time) a block of rows at a time. For the others, whose unit deviance
    /// may take logs one at a time, repeated arguments are remembered (at the start and for the
    /// null deviance the means repeat with the response).
    @inline(__always)
    private func devianceSum(y: [Double], weights: [Double], mean: (Int) -> Double) -> Double {
        if let code = RowPass.devianceKind(kind), weights.count >= y.count {
            return y.withUnsafeBufferPointer { response in
                weights.withUnsafeBufferPointer { prior in
                    ParallelRows.map(count: y.count) { rows in
                        guard let responseBase = response.baseAddress, let priorBase = prior.baseAddress else { return 0.0 }
                        let blockRows = 512
                        var means = [Double](repeating: 0, count: blockRows)
                        var scratch = [Double](repeating: 0, count: 3 * blockRows)
                        var total = 0.0
                        var start = rows.lowerBound
                        while start < rows.upperBound {
                            let count = Swift.min(blockRows, rows.upperBound - start)
                            for i in 0..<count { means[i] = mean(start + i) }
                            total += glm_deviance_sum(code, responseBase + start, means, priorBase + start, &scratch, count)
                            start += count
                        }
                        return total
                    }.reduce(0, +)
                }
            }
        }
        return ParallelRows.map(count: y.count) { rows in
            var total = 0.0
            if unitDevianceTakesALog {
                var memo = RowMemo<Double>()
                for row in rows {
                    let (yValue, muValue, weight) = (y[row], mean(row), weights[row])
                    total += memo.value(yValue, muValue, weight) { unitDeviance(y: yValue, mu: muValue, weight: weight) }
                }
            } else {
                for row in rows { total += unitDeviance(y: y[row], mu: mean(row), weight: weights[row]) }
            }
            return total
        }.reduce(0, +)
    }

    /// Whether `unitDeviance` calls log (worth remembering for repeated arguments).
    private var unitDevianceTakesALog: Bool {
        switch kind {
        case .binomial, .quasibinomial, .poisson, .quasipoisson, .gamma, .negativeBinomial, .tweedie: return true
        case .gaussian, .inverseGaussian: return false
        }
    }

    /// R's `validmu`.
    @inline(__always)
    public func isValid(mu: Double) -> Bool {
        switch kind {
        case .binomial, .quasibinomial: return mu.isFinite && mu > 0 && mu < 1
        case .poisson, .quasipoisson, .gamma, .negativeBinomial: return mu.isFinite && mu > 0
        case .gaussian, .inverseGaussian: return true
        case .tweedie: return varPower == 0 || (mu.isFinite && mu >= 0)
        }
    }

    /// The family's AIC term without the 2·rank penalty (R's `family$aic`); nil for quasi
    /// families. `binomialTotals` are the binomial trial counts (R's `n`).
    public func aic(y: [Double], binomialTotals: [Double], mu: [Double], weights: [Double], deviance: Double) -> Double? {
        var warnings: [String] = []
        return aic(y: y, binomialTotals: binomialTotals, mu: mu, weights: weights, deviance: deviance, warnings: &warnings)
    }

    /// As `aic(...)`, adding R's warnings: "non-integer x = …" for each count of a
    /// poisson fit that is not a whole number (whose likelihood, so AIC, is then -Inf / Inf).
    /// - Parameter frequencies: `--frequency-weights` (already multiplied into `weights`): the
    ///   sum is then the expanded rows' sum, and gaussian's n is their count.
    public func aic(
        y: [Double], binomialTotals: [Double], mu: [Double], weights: [Double], frequencies: [Double]? = nil,
        deviance: Double, warnings: inout [String]
    ) -> Double? {
        let weightSum = weights.reduce(0, +)
        let context = AICContext(
            deviance: deviance, weightSum: weightSum, useBinomialTotals: binomialTotals.contains { $0 > 1 })
        let parts = ParallelRows.map(count: y.count) { rows in
            var parts = AICParts()
            addAIC(
                y: y, binomialTotals: binomialTotals, mu: mu, weights: weights, frequencies: frequencies, rows: rows,
                context: context, into: &parts)
            return parts
        }.reduce(into: AICParts()) { $0.add($1) }
        warnings += parts.warnings
        let count = frequencies.map { FrequencyWeights.total($0) { _ in true } } ?? y.count
        return finishAIC(parts, deviance: deviance, weightSum: weightSum, count: count)
    }

    /// What the AIC's per-row sum needs to know of the whole fit.
    public struct AICContext: Sendable {
        public var deviance: Double
        public var weightSum: Double
        /// R's binomial aic uses the trial counts when any exceeds 1, else the weights.
        public var useBinomialTotals: Bool
    }

    /// The AIC's per-row sum, added up over any number of row blocks (R's `family$aic` is
    /// such a sum plus terms of the deviance and the weight total).
    public struct AICParts: Sendable {
        var sum = 0.0
        var nonIntegerCount = 0
        var firstNonInteger: Double?

        public init() {}

        /// Adds the parts of the rows that come after these.
        mutating func add(_ later: AICParts) {
            sum += later.sum
            nonIntegerCount += later.nonIntegerCount
            if firstNonInteger == nil { firstNonInteger = later.firstNonInteger }
        }

        var warnings: [String] {
            guard let first = firstNonInteger else { return [] }
            // R warns once per such count; one line with the first and a count reads better.
            let more = nonIntegerCount > 1 ? " (and \(nonIntegerCount - 1) more non-integer counts)" : ""
            return [Distributions.nonIntegerWarning(first) + more]
        }
    }

    /// Adds the terms of the AIC sum of `rows` (all of them when nil).
    /// - Parameter frequencies: `--frequency-weights`, already in `weights`: a row adds its
    ///   count times one observation's term, and a row that stands for none adds nothing.
    public func addAIC(
        y: [Double], binomialTotals: [Double], mu: [Double], weights: [Double], frequencies: [Double]? = nil,
        rows: Range<Int>? = nil, context: AICContext, into parts: inout AICParts
    ) {
        let rows = rows ?? y.indices
        guard let frequencies else {
            addUnitAIC(y: y, binomialTotals: binomialTotals, mu: mu, weights: weights, rows: rows, context: context, into: &parts)
            return
        }
        // One observation's term times its count: binomial's trial counts and gaussian's log
        // weight are one observation's (its weight is the likelihood weight over the count,
        // exactly the prior weight when that is 1).
        let observationWeights = rows.map { frequencies[$0] > 0 ? weights[$0] / frequencies[$0] : 0 }
        addUnitAIC(
            y: Array(y[rows]), binomialTotals: Array(binomialTotals[rows]), mu: Array(mu[rows]), weights: observationWeights,
            counts: Array(frequencies[rows]), rows: 0..<rows.count, context: context, into: &parts)
    }

    /// `addAIC` with `weights` one observation's and each row's term `counts[row]` times
    /// (once when nil; a row with count 0 adds nothing).
    private func addUnitAIC(
        y: [Double], binomialTotals: [Double], mu: [Double], weights: [Double], counts: [Double]? = nil, rows: Range<Int>,
        context: AICContext, into parts: inout AICParts
    ) {
        // × 1 changes no number: without counts the sums are as before.
        let counts = counts ?? []
        @inline(__always) func times(_ row: Int) -> Double { counts.isEmpty ? 1 : counts[row] }
        switch kind {
        case .gaussian:
            for row in rows where times(row) > 0 { parts.sum += times(row) * Foundation.log(weights[row]) }
        case .binomial:
            // A block of rows at a time: the logs of one-trial rows (nearly every row of a 0/1
            // response) eight at a time by glm_log, the others' log densities by logDbinom put
            // in their place; then the terms added in row order (a row without trials adds
            // 0 × log 1 = +0, which changes no sum).
            let block = 512
            let trialCountArray = context.useBinomialTotals ? binomialTotals : weights
            withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * block) { scratch in
                guard let arguments = scratch.baseAddress else { return }
                let logs = arguments + block, factors = arguments + 2 * block
                y.withUnsafeBufferPointer { y in
                    mu.withUnsafeBufferPointer { mu in
                        weights.withUnsafeBufferPointer { weights in
                            trialCountArray.withUnsafeBufferPointer { trialCounts in
                                var start = rows.lowerBound
                                var others: [(index: Int, logDensity: Double)] = []
                                while start < rows.upperBound {
                                    let count = Swift.min(block, rows.upperBound - start)
                                    others.removeAll(keepingCapacity: true)
                                    for k in 0..<count {
                                        let row = start + k
                                        let trials = trialCounts[row]
                                        arguments[k] = 1
                                        factors[k] = 0
                                        guard trials > 0, times(row) > 0 else { continue }
                                        factors[k] = times(row) * (weights[row] / trials)
                                        let x = (trials * y[row]).rounded(.toNearestOrEven)
                                        let size = trials.rounded(.toNearestOrEven)
                                        if let argument = Distributions.oneTrialLogArgument(x, size: size, prob: mu[row]) {
                                            arguments[k] = argument
                                        } else {
                                            others.append((k, Distributions.logDbinom(x, size: size, prob: mu[row])))
                                        }
                                    }
                                    glm_log(arguments, logs, count)
                                    for other in others { logs[other.index] = other.logDensity }
                                    for k in 0..<count { parts.sum += factors[k] * logs[k] }
                                    start += count
                                }
                            }
                        }
                    }
                }
            }
        case .poisson:
            for row in rows where times(row) > 0 {
                if Distributions.isNonInteger(y[row]) {
                    parts.nonIntegerCount += 1
                    if parts.firstNonInteger == nil { parts.firstNonInteger = y[row] }
                }
                parts.sum += times(row) * (Distributions.logDpois(y[row], lambda: mu[row]) * weights[row])
            }
        case .gamma:
            let dispersion = context.deviance / context.weightSum
            let logDensity = Distributions.GammaLogDensity(shape: 1 / dispersion)
            for row in rows where times(row) > 0 {
                parts.sum += times(row) * (logDensity(y[row], scale: mu[row] * dispersion) * weights[row])
            }
        case .inverseGaussian:
            for row in rows where times(row) > 0 { parts.sum += times(row) * (Foundation.log(y[row]) * weights[row]) }
        case .negativeBinomial:
            for row in rows where times(row) > 0 {
                let term = (y[row] + theta) * Foundation.log(mu[row] + theta) - y[row] * Foundation.log(mu[row])
                    + Distributions.lgamma(y[row] + 1) - theta * Foundation.log(theta) + Distributions.lgamma(theta)
                    - Distributions.lgamma(theta + y[row])
                parts.sum += times(row) * (term * weights[row])
            }
        case .quasipoisson, .quasibinomial, .tweedie:
            break
        }
    }

    /// The AIC term from the summed rows: nil for quasi families.
    public func finishAIC(_ parts: AICParts, deviance: Double, weightSum: Double, count: Int) -> Double? {
        switch kind {
        case .gaussian:
            let rows = Double(count)
            return rows * (Foundation.log(deviance / rows * 2 * Double.pi) + 1) + 2 - parts.sum
        case .binomial, .poisson:
            return -2 * parts.sum
        case .gamma:
            return -2 * parts.sum + 2
        case .inverseGaussian:
            return weightSum * (Foundation.log(deviance / weightSum * 2 * Double.pi) + 1) + 3 * parts.sum + 2
        case .negativeBinomial:
            return 2 * parts.sum
        // statmod's tweedie aic is NA: the density has no closed form.
        case .quasipoisson, .quasibinomial, .tweedie:
            return nil
        }
    }
}
