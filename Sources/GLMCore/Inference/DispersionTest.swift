import Foundation

/// The alternative hypothesis of a dispersion test.
public enum DispersionAlternative: String, CaseIterable, Sendable {
    /// Overdispersion (the default).
    case greater
    case twoSided = "two.sided"
    /// Underdispersion.
    case less

    /// R's `htest` method name.
    public var method: String {
        switch self {
        case .greater: return "Overdispersion test"
        case .twoSided: return "Dispersion test"
        case .less: return "Underdispersion test"
        }
    }
}

/// The result of Cameron & Trivedi's dispersion test, as `AER::dispersiontest` returns it.
public struct DispersionTestResult: Sendable, Equatable {
    /// The z statistic.
    public let statistic: Double
    public let pValue: Double
    /// The dispersion estimate (no transformation) or alpha (with one).
    public let estimate: Double
    /// "dispersion" or "alpha".
    public let estimateLabel: String
    /// The value under the null: dispersion 1 or alpha 0.
    public let nullValue: Double
    public let alternative: DispersionAlternative
    /// The transformation power, nil for none.
    public let trafo: Double?
    /// "Overdispersion test", "Dispersion test" or "Underdispersion test".
    public var method: String { alternative.method }
}

/// Cameron & Trivedi's (1990) regression-based test of equidispersion in a Poisson GLM.
public enum DispersionTest {
    /// `AER::dispersiontest(fit, trafo, alternative)`.
    ///
    /// With aᵢ = ((yᵢ − μᵢ)² − yᵢ) / μᵢ over every row of the fit (prior weights are not
    /// used, as in AER):
    ///
    /// - `trafo` nil: z = √n · mean(a) / sd(a), estimate dispersion = mean(a) + 1 (null 1);
    /// - `trafo` = k: the no-intercept least-squares regression a ~ μ^k/μ; z is the slope's
    ///   t statistic and the estimate alpha is the slope (null 0), so k = 1 tests
    ///   Var = (1 + α)·μ and k = 2 tests Var = μ + α·μ².
    ///
    /// p-values are normal: upper tail for "greater", lower for "less", two-sided otherwise.
    /// The test over the expanded rows of a fit with frequency weights: each sum over rows
    /// counts a row as many times as it stands for.
    private static func frequencyWeighted(
        _ fit: GLMFit, counts: [Double], trafo: Double?, alternative: DispersionAlternative
    ) throws -> DispersionTestResult {
        let y = fit.response.y
        let mu = fit.irls.fittedValues
        let n = Double(fit.representedRowCount)
        guard n > 1 else {
            throw GLMError.invalidOption(name: "dispersion test", message: "needs at least 2 observations")
        }
        let aux = y.indices.map { i -> Double in
            let residual = y[i] - mu[i]
            return (residual * residual - y[i]) / mu[i]
        }
        let rows = y.indices.filter { counts[$0] > 0 }
        let statistic: Double
        let estimate: Double
        if let trafo {
            let z = mu.map { pow($0, trafo) / $0 }
            let zz = rSum(rows.map { counts[$0] * z[$0] * z[$0] })
            let slope = rSum(rows.map { counts[$0] * z[$0] * aux[$0] }) / zz
            let rss = rSum(rows.map { let e = aux[$0] - slope * z[$0]; return counts[$0] * e * e })
            statistic = slope / (rss / (n - 1) / zz).squareRoot()
            estimate = slope
        } else {
            let mean = rSum(rows.map { counts[$0] * aux[$0] }) / n
            let squares = rSum(rows.map { counts[$0] * (aux[$0] - mean) * (aux[$0] - mean) })
            statistic = n.squareRoot() * mean / (squares / (n - 1)).squareRoot()
            estimate = mean + 1
        }
        return DispersionTestResult(
            statistic: statistic, pValue: pValue(statistic, alternative: alternative), estimate: estimate,
            estimateLabel: trafo == nil ? "dispersion" : "alpha", nullValue: trafo == nil ? 1 : 0, alternative: alternative,
            trafo: trafo)
    }

    public static func test(
        _ fit: GLMFit, trafo: Double? = nil, alternative: DispersionAlternative = .greater
    ) throws -> DispersionTestResult {
        guard fit.family.kind == .poisson else {
            throw GLMError.invalidOption(
                name: "dispersion test", message: "only Poisson GLMs can be tested (the family is \(fit.family.kind.cliName))")
        }
        let y = fit.response.y
        let mu = fit.irls.fittedValues
        if let counts = fit.response.frequencyWeights {
            return try frequencyWeighted(fit, counts: counts, trafo: trafo, alternative: alternative)
        }
        let n = y.count
        guard n > 1 else {
            throw GLMError.invalidOption(name: "dispersion test", message: "needs at least 2 observations")
        }
        var aux = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let residual = y[i] - mu[i]
            aux[i] = (residual * residual - y[i]) / mu[i]
        }
        let statistic: Double
        let estimate: Double
        let label: String
        let nullValue: Double
        if let trafo {
            // lm(aux ~ 0 + z), z = mu^trafo / mu.
            let z = mu.map { pow($0, trafo) / $0 }
            let zz = rSum(z.map { $0 * $0 })
            let slope = rSum(zip(z, aux).map { $0 * $1 }) / zz
            let rss = rSum(zip(z, aux).map { let e = $1 - slope * $0; return e * e })
            let standardError = (rss / Double(n - 1) / zz).squareRoot()
            statistic = slope / standardError
            estimate = slope
            label = "alpha"
            nullValue = 0
        } else {
            let mean = rMean(aux)
            var squares = 0.0
            for value in aux { squares += (value - mean) * (value - mean) }
            let sd = (squares / Double(n - 1)).squareRoot()
            statistic = Double(n).squareRoot() * mean / sd
            estimate = mean + 1
            label = "dispersion"
            nullValue = 1
        }
        return DispersionTestResult(
            statistic: statistic, pValue: pValue(statistic, alternative: alternative), estimate: estimate,
            estimateLabel: label, nullValue: nullValue, alternative: alternative, trafo: trafo)
    }

    /// The normal p-value of `statistic` for `alternative`.
    private static func pValue(_ statistic: Double, alternative: DispersionAlternative) -> Double {
        switch alternative {
        case .greater: return Distributions.pnorm(statistic, lowerTail: false)
        case .twoSided: return 2 * Distributions.pnorm(abs(statistic), lowerTail: false)
        case .less: return Distributions.pnorm(statistic)
        }
    }

    /// R's `mean()`: the long-double sum / n, refined by one pass of the mean residual.
    static func rMean(_ values: [Double]) -> Double {
        #if arch(x86_64) || arch(i386)
        var total: Float80 = 0
        for value in values { total += Float80(value) }
        var mean = total / Float80(values.count)
        var correction: Float80 = 0
        for value in values { correction += Float80(value) - mean }
        mean += correction / Float80(values.count)
        return Double(mean)
        #else
        let mean = rSum(values) / Double(values.count)
        var correction = 0.0
        for value in values { correction += value - mean }
        return mean + correction / Double(values.count)
        #endif
    }
}
