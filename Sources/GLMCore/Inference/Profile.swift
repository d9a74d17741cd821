import CRmath
import Foundation

/// The deviance profile of one coefficient: the model refitted with that coefficient
/// held fixed at a grid of values (MASS's `profile.glm`).
public struct CoefficientProfile: Sendable, Equatable {
    public let term: String
    /// The coefficient's column in the design.
    public let column: Int
    /// The values at which the coefficient was held fixed, including the estimate, in
    /// ascending order of `z`.
    public let values: [Double]
    /// The signed root of the scaled deviance increase at each value:
    /// z = sign(b − b̂) · √((D(b) − D(b̂)) / φ).
    public let z: [Double]
    /// Every coefficient of each refitted model, one row per entry of `values` (the
    /// profiled coefficient at its fixed value; NaN for aliased columns).
    public let coefficientPaths: [[Double]]
}

/// Profiles of a fit's coefficients, with the grid settings used.
public struct LikelihoodProfile: Sendable {
    /// One per design column; nil for aliased columns and columns not profiled.
    public let profiles: [CoefficientProfile?]
    /// "z" when the dispersion is fixed (binomial, Poisson), otherwise "tau", as MASS names it.
    public let statisticName: String
    /// The largest |z| profiled towards: √χ²₁(1 − α), or √F₁,ₙ₋ₚ(1 − α).
    public let maximumZ: Double
    /// The grid step in standard errors (MASS's `del`).
    public let stepSize: Double
    public let warnings: [String]
}

/// A profile-likelihood confidence interval for one coefficient; the bounds are nil
/// where R gives NA (aliased coefficient, or a profile that never reaches the cutoff).
public struct ProfileInterval: Sendable, Equatable {
    public let term: String
    public let estimate: Double?
    public let low: Double?
    public let high: Double?
}

/// Profile-likelihood intervals for every coefficient (MASS's `confint.glm`).
public struct ProfileIntervals: Sendable {
    public let level: Double
    public let intervals: [ProfileInterval]
    public let profile: LikelihoodProfile
    /// R's warnings while profiling and interpolating, each once, in order of appearance.
    public let warnings: [String]
}

/// Profile-likelihood intervals for GLM coefficients, as MASS computes them.
///
/// For coefficient j, the model is refitted with β_j fixed (moved into the offset) at
/// β̂_j ± k·δ·se(β̂_j), k = 1, 2, … until |z| ≥ zmax or k reaches `maxSteps` − 1, where
/// z = sign · √((D − D̂)/φ), δ = zmax/5, and zmax = √χ²₁(1 − α) for binomial and
/// Poisson fits, √F₁,ₙ₋ₚ(1 − α) otherwise. The interval bounds are where an
/// interpolating spline of z against β_j crosses the normal quantiles ±z₍₁₊level₎/₂.
public enum ProfileLikelihood {
    /// Profiles the coefficients of `fit` (MASS's `profile.glm`).
    ///
    /// - Parameters:
    ///   - columns: the design columns to profile; all by default.
    ///   - alpha: sets the profile's reach, zmax (MASS's default 0.01; `confint` uses (1 − level)/4).
    ///   - maxSteps: at most `maxSteps − 1` refits in each direction (MASS's default 10).
    ///   - stepSize: the grid step in standard errors; zmax/5 by default.
    public static func profile(
        fit: GLMFit, columns: [Int]? = nil, alpha: Double = 0.01, maxSteps: Int = 10, stepSize: Double? = nil
    ) throws -> LikelihoodProfile {
        let summary = try GLMSummary(fit: fit)
        let columnCount = fit.design.columnCount
        let wanted = columns ?? Array(0..<columnCount)
        for column in wanted where column < 0 || column >= columnCount {
            throw GLMError.invalidOption(name: "profile", message: "no coefficient number \(column + 1); the model has \(columnCount)")
        }
        let rowCount = fit.design.rowCount
        let fixedDispersion = fit.family.kind == .binomial || fit.family.kind == .poisson
        // MASS switches on family$family: only "binomial" and "poisson" get the χ²
        // reach (a negative binomial family's name carries theta, so it falls through).
        let maximumZ: Double
        if fixedDispersion {
            maximumZ = Distributions.qchisq(1 - alpha, df: 1).squareRoot()
        } else {
            // R's qf itself (not qt(1 − α/2)², equal only to rounding): for Gaussian fits z
            // is linear in the coefficient and lands on zmax, so the last bit decides the grid.
            // n is the expanded rows' count with frequency weights.
            maximumZ = CRmath.qf(1 - alpha, 1, Double(fit.representedRowCount - columnCount), 1, 0).squareRoot()
        }
        guard maximumZ.isFinite, maximumZ > 0 else {
            throw GLMError.fitFailed(message: "cannot profile: no residual degrees of freedom (\(rowCount) observations, \(columnCount) coefficients)")
        }
        let delta = stepSize ?? maximumZ / 5
        let dispersion = summary.dispersion
        guard dispersion.isFinite, dispersion > 0 else {
            throw GLMError.fitFailed(message: "cannot profile: the dispersion is not estimable")
        }

        // Each refit running at once holds its per-row arrays (η, μ, working weights, offset,
        // residuals: about 8 per row) and its p × p normal equations per range of rows.
        let concurrent = Swift.min(wanted.count, Swift.max(1, ProcessInfo.processInfo.activeProcessorCount))
        try MemoryBudget.current().require(
            MemoryBudget.sum(
                MemoryBudget.bytes(doubles: concurrent, rowCount, 8),
                MemoryBudget.bytes(doubles: concurrent, columnCount, columnCount, ParallelRows.rangeCount + 2)),
            for: "profiling \(MemoryBudget.describe(count: wanted.count)) coefficients of a model with "
                + "\(MemoryBudget.describe(count: columnCount)) columns × \(MemoryBudget.describe(count: rowCount)) rows: "
                + "the refits running at once",
            remedy: "use --ci wald")
        // Coefficients are profiled independently, so in parallel.
        let results = ParallelRows.map(items: wanted.count, parallel: true) {
            index -> Result<(CoefficientProfile, [String])?, Error> in
            let column = wanted[index]
            if fit.aliased[column] { return .success(nil) }
            return Result {
                try profileColumn(
                    fit: fit, column: column, standardError: summary.coefficients[column].standardError ?? .nan,
                    dispersion: dispersion, maximumZ: maximumZ, delta: delta, maxSteps: maxSteps)
            }
        }
        var profiles = [CoefficientProfile?](repeating: nil, count: columnCount)
        var warnings: [String] = []
        for (index, result) in results.enumerated() {
            guard let (profile, columnWarnings) = try result.get() else { continue }
            profiles[wanted[index]] = profile
            for warning in columnWarnings where !warnings.contains(warning) { warnings.append(warning) }
        }
        return LikelihoodProfile(
            profiles: profiles, statisticName: fixedDispersion ? "z" : "tau", maximumZ: maximumZ, stepSize: delta,
            warnings: warnings)
    }

    /// Refits along one coefficient in both directions from the estimate.
    private static func profileColumn(
        fit: GLMFit, column: Int, standardError: Double, dispersion: Double, maximumZ: Double, delta: Double,
        maxSteps: Int
    ) throws -> (CoefficientProfile, [String]) {
        let design = fit.design
        let rowCount = design.rowCount
        let estimates = fit.coefficients
        let aliased = fit.aliased
        let kept = (0..<design.columnCount).filter { !aliased[$0] && $0 != column }
        let reduced = design.selecting(columns: kept)
        let profiled = design.structure.column(column, rowCount: rowCount)
        let link = fit.family.link
        let irls = IRLS(family: fit.family, control: fit.control)
        let originalDeviance = fit.deviance
        let term = fit.coefficientNames[column]

        var values = [estimates[column]]
        var zs = [0.0]
        var paths = [estimates]
        var warnings: [String] = []
        for sign in [-1.0, 1.0] {
            var step = 0
            var z = 0.0
            var linearPredictor = fit.irls.linearPredictors
            while true {
                step += 1
                guard step < maxSteps, abs(z) < maximumZ else { break }
                let value = estimates[column] + sign * Double(step) * delta * standardError
                var offset = fit.offset
                var index = profiled.startIndex
                for row in 0..<rowCount {
                    offset[row] += profiled[index] * value
                    index += 1
                }
                // MASS restarts each refit from the previous one's linear predictor.
                let refit = try irls.fit(
                    design: reduced, y: fit.response.y,
                    priorWeights: fit.response.priorWeights, offset: offset,
                    startingMu: linearPredictor.map(link.linkinv))
                for warning in refit.warnings where !warnings.contains(warning) { warnings.append(warning) }
                linearPredictor = refit.linearPredictors
                var scaled = (refit.deviance - originalDeviance) / dispersion
                if scaled > -0.001 {
                    scaled = max(scaled, 0)
                } else {
                    throw GLMError.profileFoundBetterFit(coefficient: term)
                }
                z = sign * scaled.squareRoot()
                var path = estimates
                for (position, other) in kept.enumerated() { path[other] = refit.coefficients[position] }
                path[column] = value
                values.append(value)
                zs.append(z)
                paths.append(path)
            }
        }
        // Ascending z, ties in their order of computation (R's stable order()).
        let order = zs.indices.sorted { zs[$0] != zs[$1] ? zs[$0] < zs[$1] : $0 < $1 }
        let profile = CoefficientProfile(
            term: term, column: column, values: order.map { values[$0] }, z: order.map { zs[$0] },
            coefficientPaths: order.map { paths[$0] })
        return (profile, warnings)
    }

    /// Profile-likelihood confidence intervals (MASS's `confint.glm`): profiles with
    /// α = (1 − level)/4, then interpolates each profile as `confint.profile.glm` does.
    ///
    /// - Parameters:
    ///   - level: the confidence level, in (0, 1).
    ///   - columns: the design columns to give intervals for; all by default (the
    ///     others get nil bounds).
    public static func intervals(fit: GLMFit, level: Double = 0.95, columns: [Int]? = nil) throws -> ProfileIntervals {
        guard level > 0, level < 1 else {
            throw GLMError.invalidOption(name: "level", message: "must be between 0 and 1, exclusive (got \(level))")
        }
        let profile = try profile(fit: fit, columns: columns, alpha: (1 - level) / 4)
        return intervals(from: profile, fit: fit, level: level)
    }

    /// Interpolates existing profiles at the normal quantiles of `level`: a cubic
    /// spline (R's `spline`, method "fmm") of z against the coefficient, then linear
    /// interpolation (R's `approx`) of the coefficient at z = qnorm((1 ∓ level)/2).
    public static func intervals(from profile: LikelihoodProfile, fit: GLMFit, level: Double) -> ProfileIntervals {
        let tail = (1 - level) / 2
        let cutoffs = [Distributions.qnorm(tail), Distributions.qnorm(1 - tail)]
        var warnings = profile.warnings
        var intervals: [ProfileInterval] = []
        for (column, name) in fit.coefficientNames.enumerated() {
            let estimate = fit.aliased[column] ? nil : fit.coefficients[column]
            guard let coefficientProfile = profile.profiles[column] else {
                intervals.append(ProfileInterval(term: name, estimate: estimate, low: nil, high: nil))
                continue
            }
            let curve = RInterpolation.spline(x: coefficientProfile.values, y: coefficientProfile.z)
            var collapsed = curve.collapsed
            var bounds: [Double?] = []
            for cutoff in cutoffs {
                let result = RInterpolation.approx(x: curve.y, y: curve.x, at: cutoff)
                collapsed = collapsed || result.collapsed
                bounds.append(result.value)
            }
            let collapsing = "collapsing to unique 'x' values"
            if collapsed && !warnings.contains(collapsing) { warnings.append(collapsing) }
            intervals.append(ProfileInterval(term: name, estimate: estimate, low: bounds[0], high: bounds[1]))
        }
        return ProfileIntervals(level: level, intervals: intervals, profile: profile, warnings: warnings)
    }
}
