import Foundation

/// Per-observation residuals and influence measures of a fitted GLM, one entry per row the
/// fit used (R's model frame after `na.omit`), as R computes them:
///
/// - `residuals.glm(type =)`: deviance sign(y − μ)·√dᵢ (all 0 when df.residual is 0, as R),
///   Pearson (y − μ)·√wᵢ/√V(μ), working (y − μ)/(dμ/dη), response y − μ, with w the prior
///   weights and dᵢ the family's unit deviance;
/// - `hatvalues`: the diagonal of the final IRLS step's hat matrix (`Influence.hatValues`);
/// - `cooks.distance`: (rᴾ/(1 − h))² · h / (φ·p), rᴾ the Pearson residual, p the rank;
/// - `rstandard` (type "deviance", R's default for glm): rᴰ / √(φ(1 − h)), with rᴰ the
///   deviance residual set to 0 where |rᴰ| < 100·ε·median|rᴰ| (as `lm.influence`).
///
/// φ is `summary(fit)$dispersion`: 1 for binomial and poisson (and glm.nb), Pearson's
/// estimate for the other families, so Cook's distances and standardized residuals of
/// estimated-dispersion fits are on the Pearson scale. Rows with zero prior weight have
/// residuals but no hat value, Cook's distance or standardized residual (nil): R's
/// influence measures leave them out. Where h = 1, R's infinite or 0/0 results are NaN.
public struct ObservationDiagnostics: Sendable {
    /// R's `fit$y`: the response on the mean scale (a proportion for binomial data).
    public let response: [Double]
    public let priorWeights: [Double]
    public let fitted: [Double]
    public let linearPredictor: [Double]
    public let devianceResiduals: [Double]
    public let pearsonResiduals: [Double]
    public let workingResiduals: [Double]
    public let responseResiduals: [Double]
    public let hatValues: [Double?]
    public let cooksDistances: [Double?]
    public let standardizedResiduals: [Double?]

    public var count: Int { fitted.count }

    /// - Parameter dispersion: R's `summary(fit)$dispersion` (`GLMSummary.dispersion`).
    public init(fit: GLMFit, dispersion: Double) {
        let family = fit.family
        let y = fit.response.y
        let weights = fit.response.priorWeights
        let mu = fit.irls.fittedValues
        let eta = fit.irls.linearPredictors
        let n = mu.count
        var deviance = [Double](repeating: 0, count: n)
        var pearson = [Double](repeating: 0, count: n)
        var responseResiduals = [Double](repeating: 0, count: n)
        for row in 0..<n {
            let residual = y[row] - mu[row]
            responseResiduals[row] = residual
            pearson[row] = residual * weights[row].squareRoot() / family.variance(mu[row]).squareRoot()
            if fit.dfResidual > 0 {
                let unit = max(family.unitDeviance(y: y[row], mu: mu[row], weight: weights[row]), 0).squareRoot()
                deviance[row] = y[row] > mu[row] ? unit : -unit
            }
        }

        let hat = Influence.hatValues(fit)
        let used = (0..<n).filter { weights[$0] != 0 }
        // lm.influence zeroes residuals that are rounding noise next to the others.
        let absolute = used.map { abs(deviance[$0]) }.sorted()
        var median = 0.0
        if !absolute.isEmpty {
            let middle = absolute.count / 2
            median = absolute.count % 2 == 1 ? absolute[middle] : (absolute[middle - 1] + absolute[middle]) / 2
        }
        let negligible = 100 * Double.ulpOfOne * median
        let rank = Double(fit.rank)
        var hatValues = [Double?](repeating: nil, count: n)
        var cooks = [Double?](repeating: nil, count: n)
        var standardized = [Double?](repeating: nil, count: n)
        for row in used {
            let h = hat[row]
            hatValues[row] = h
            let leverage = pearson[row] / (1 - h)
            var cook = leverage * leverage * h / (dispersion * rank)
            if cook.isInfinite { cook = .nan }
            cooks[row] = cook
            let residual = abs(deviance[row]) < negligible ? 0 : deviance[row]
            var value = residual / (dispersion * (1 - h)).squareRoot()
            if value.isInfinite { value = .nan }
            standardized[row] = value
        }

        self.response = y
        self.priorWeights = weights
        self.fitted = mu
        self.linearPredictor = eta
        self.devianceResiduals = deviance
        self.pearsonResiduals = pearson
        self.workingResiduals = fit.irls.workingResiduals
        self.responseResiduals = responseResiduals
        self.hatValues = hatValues
        self.cooksDistances = cooks
        self.standardizedResiduals = standardized
    }
}

/// The `--residuals` file: one CSV row per input record, in input order, keyed by its data
/// row number (1-based, the header not counted: R's row names from `read.csv`) and the line
/// it starts on; rows dropped for missing values have `dropped` true and empty values.
public enum ResidualsFile {
    public static let columnNames = [
        "row", "line", "dropped", "response", "prior_weight", "fitted", "linear_predictor", "resid_deviance",
        "resid_pearson", "resid_working", "resid_response", "hat", "cooks_distance", "rstandard",
    ]

    /// Writes the file's text to `write` in pieces of about a megabyte.
    public static func write(_ report: ModelReport, to write: (String) throws -> Void) throws {
        let fit = report.fit
        let frame = fit.design.frame
        let diagnostics = ObservationDiagnostics(fit: fit, dispersion: report.summary.dispersion)
        let tableRows = report.input?.rowCount ?? (frame.rowCount + frame.droppedCount)
        var text = columnNames.joined(separator: ",") + "\n"
        let emptyValues = String(repeating: ",", count: columnNames.count - 3)
        var used = 0
        for row in 0..<tableRows {
            let line = report.input?.line(ofRow: row) ?? row + 2
            if used < frame.rowIndices.count, frame.rowIndices[used] == row {
                let i = used
                used += 1
                let values: [Double?] = [
                    diagnostics.response[i], diagnostics.priorWeights[i], diagnostics.fitted[i],
                    diagnostics.linearPredictor[i], diagnostics.devianceResiduals[i], diagnostics.pearsonResiduals[i],
                    diagnostics.workingResiduals[i], diagnostics.responseResiduals[i], diagnostics.hatValues[i],
                    diagnostics.cooksDistances[i], diagnostics.standardizedResiduals[i],
                ]
                text += "\(row + 1),\(line),false"
                for value in values {
                    text += ","
                    if let value { text += NumberText.csvField(value) }
                }
                text += "\n"
            } else {
                text += "\(row + 1),\(line),true\(emptyValues)\n"
            }
            if text.utf8.count >= 1 << 20 {
                try write(text)
                text = ""
            }
        }
        try write(text)
    }
}
