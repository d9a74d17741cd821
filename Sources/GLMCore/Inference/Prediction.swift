import Foundation

/// The scale of predictions, as R's `predict.glm(type =)`.
public enum PredictionScale: String, Sendable, CaseIterable {
    /// The linear predictor η = xᵀβ + offset.
    case link
    /// The mean μ = g⁻¹(η).
    case response
    /// A multinomial or ordinal model's probability of every level (`prob_<level>` columns).
    case probs
    /// A multinomial or ordinal model's most probable level.
    case `class`
    /// A zero-inflated model's probability of the zero component; a hurdle model's ratio of
    /// P(y > 0) from its zero part to that from its count part (pscl's `type = "zero"`).
    case zero
    /// A zero-inflated or hurdle model's count-part mean (pscl's `type = "count"`).
    case count
}

/// What to do with a new row that has a missing value in a variable the model needs.
public enum MissingValuePolicy: String, Sendable, CaseIterable {
    /// Stop with an error naming the line and column.
    case fail
    /// Write an empty prediction for the row (R's `na.action = na.pass`, whose prediction is NA).
    case pass
}

/// What `glmfit predict` computes.
public struct PredictionOptions: Sendable, Equatable {
    public var scale: PredictionScale
    /// Add the standard error of each prediction (`se_fit`).
    public var standardErrors: Bool
    /// Add a confidence interval for the mean (`conf_low`, `conf_high`).
    public var confidenceInterval: Bool
    public var confidenceLevel: Double
    public var missing: MissingValuePolicy
    /// The new data's field delimiter and decimal mark (`--delimiter`, `--decimal`).
    public var dialect: CSVDialect = .standard

    /// True when `--type` was not given: a multinomial or ordinal model then predicts its
    /// most probable level (`class`, R's default for multinom and polr), a GLM `link`.
    public var scaleIsDefault = false

    public init(
        scale: PredictionScale = .link, standardErrors: Bool = false, confidenceInterval: Bool = false,
        confidenceLevel: Double = 0.95, missing: MissingValuePolicy = .fail
    ) {
        self.scale = scale
        self.standardErrors = standardErrors
        self.confidenceInterval = confidenceInterval
        self.confidenceLevel = confidenceLevel
        self.missing = missing
    }

    /// The columns appended to each row of a categorical model's predictions.
    public func columnNames(levels: [String]) -> [String] {
        scale == .class ? ["class"] : levels.map { "prob_" + $0 }
    }

    /// The columns appended to each row: `fit`, then `se_fit`, then `conf_low`, `conf_high`.
    public var columnNames: [String] {
        ["fit"] + (standardErrors ? ["se_fit"] : []) + (confidenceInterval ? ["conf_low", "conf_high"] : [])
    }
}

/// Predictions for a set of rows; NaN where a row had a missing value (`--na pass`).
public struct Predictions: Sendable {
    public var fit: [Double]
    public var standardErrors: [Double]?
    public var lower: [Double]?
    public var upper: [Double]?
    /// The input line of each row.
    public var lines: [Int]
    /// A categorical model's: each row's probability of every level (`--type probs`; empty
    /// for a row with a missing value), or its most probable level (`--type class`; nil
    /// for such a row). `fit` is then unused.
    public var probabilities: [[Double]]? = nil
    public var classes: [String?]? = nil

    public var count: Int { fit.count }

    /// The appended fields of row `row`, in `PredictionOptions.columnNames` order.
    func fields(_ row: Int) -> [Double] {
        var values = [fit[row]]
        if let standardErrors { values.append(standardErrors[row]) }
        if let lower, let upper {
            values.append(lower[row])
            values.append(upper[row])
        }
        return values
    }

    mutating func append(_ other: Predictions) {
        fit += other.fit
        if let more = other.standardErrors { standardErrors = (standardErrors ?? []) + more }
        if let more = other.lower { lower = (lower ?? []) + more }
        if let more = other.upper { upper = (upper ?? []) + more }
        lines += other.lines
        if let more = other.probabilities { probabilities = (probabilities ?? []) + more }
        if let more = other.classes { classes = (classes ?? []) + more }
    }

    /// The appended fields of row `row` as CSV text.
    func textFields(_ row: Int) -> [String] {
        if let classes {
            guard let level = classes[row] else { return [""] }
            let needsQuotes = level.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
            return [needsQuotes ? "\"" + level.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : level]
        }
        if let probabilities { return probabilities[row].map(NumberText.csvField) }
        return fields(row).map(NumberText.csvField)
    }
}

/// Predictions from a saved model, as R's `predict.glm(newdata, type, se.fit = TRUE)`.
///
/// On the link scale, for a row x of the model matrix (non-aliased columns only, as R's
/// `predict.lm` uses `X[, piv]`):
///
///     η = xᵀβ + offset,   se(η) = √(xᵀ V x)
///
/// with V the saved covariance, which includes the dispersion: R's `predict.glm` scales
/// `predict.lm`'s unscaled standard errors by `residual.scale` = √dispersion, with the
/// dispersion of `summary(fit)` (1 for binomial and poisson, Pearson's estimate otherwise,
/// 1 for glm.nb). On the response scale, μ = g⁻¹(η) and se(μ) = |dμ/dη| · se(η) (the delta
/// method, as R).
///
/// Intervals, which R's `predict.glm` does not give, are Wald intervals on the link scale,
/// η ± z·se(η) with z the normal quantile `qnorm((1 + level) / 2)`, and on the response scale
/// their ends mapped by g⁻¹ (put in increasing order for decreasing links such as
/// `inverse`). The normal quantile, not Student's t, even when the dispersion is estimated:
/// `predict.glm` calls `predict.lm` with `df = Inf`, and glmfit's coefficient intervals are
/// `confint.default`'s normal ones too. Mapping the ends keeps a probability's interval in
/// [0, 1] and a mean's interval positive, which μ ± z·se(μ) would not.
public struct Predictor: Sendable {
    public let options: PredictionOptions
    private let link: Link
    private let estimates: [Double]
    /// Row-major, `estimates.count` square; empty when the model stores its covariance by blocks.
    private let covariance: [Double]
    /// The covariance by blocks (`SavedModel.CovarianceBlocks`), for a model too large for the matrix.
    private let blocks: BlockQuadraticForm?
    /// The covariance as a sparse factor (`SavedModel.CovarianceFactor`), likewise.
    private let factor: FactorQuadraticForm?
    private let covarianceIsFinite: Bool
    private let quantile: Double

    public init(model: SavedModel, options: PredictionOptions) {
        self.options = options
        link = model.link
        estimates = model.coefficients.compactMap(\.estimate)
        covariance = model.vcov.flatMap { $0 }
        blocks = model.vcovBlocks.map { BlockQuadraticForm($0, keptNames: model.vcovNames) }
        factor = model.vcovFactor.map { FactorQuadraticForm($0, keptNames: model.vcovNames) }
        covarianceIsFinite = blocks?.isFinite ?? factor?.isFinite ?? covariance.allSatisfy(\.isFinite)
        quantile = Distributions.qnorm((1 + options.confidenceLevel) / 2)
    }

    /// Predicts the rows (a GLM's, by their entries).
    func predict(_ rows: NewDataDesign.Rows, lines: [Int]) throws(GLMError) -> Predictions {
        let n = rows.count
        let p = estimates.count
        let wantSE = options.standardErrors || options.confidenceInterval
        var fit = [Double](repeating: .nan, count: n)
        var standardErrors = wantSE ? [Double](repeating: .nan, count: n) : []
        var lower = options.confidenceInterval ? [Double](repeating: .nan, count: n) : []
        var upper = lower
        let entries = rows.entries ?? SparseRows(starts: [0], positions: [], values: [], nonFinite: [])
        var scratch = SparseAccumulator(count: blocks?.otherCount ?? 0)
        var factorScratch = FactorQuadraticForm.Scratch(count: factor?.count ?? 0)
        for row in 0..<n where !rows.missing[row] && row + 1 < entries.starts.count {
            let range = entries.range(ofRow: row)
            // Offset first, then each column in design order: the fit's own order of additions
            // (the columns left out are zeros, which add nothing).
            var eta = rows.offset?[row] ?? 0
            for k in range { eta += entries.values[k] * estimates[entries.positions[k]] }
            var se = Double.nan
            if wantSE {
                var quadratic = 0.0
                if let blocks {
                    quadratic = blocks.value(positions: entries.positions[range], values: entries.values[range], scratch: &scratch)
                } else if let factor {
                    quadratic = factor.value(
                        positions: entries.positions[range], values: entries.values[range], scratch: &factorScratch)
                } else {
                    // xᵀVx over the entries, in the order of the dense product.
                    for a in range {
                        let i = entries.positions[a]
                        var sum = 0.0
                        for b in range { sum += covariance[i * p + entries.positions[b]] * entries.values[b] }
                        quadratic += entries.values[a] * sum
                    }
                }
                se = covarianceIsFinite ? max(quadratic, 0).squareRoot() : .nan
                // A model without residual degrees of freedom has a NaN covariance (as R's),
                // and its standard errors are empty; a finite covariance whose product with
                // these values overflows is an error, not an empty or infinite cell.
                if !se.isFinite, covarianceIsFinite {
                    throw GLMError.nonFiniteValue(
                        variable: "the standard error of the prediction", line: row < lines.count ? lines[row] : row + 2)
                }
            }
            switch options.scale {
            case .link:
                fit[row] = eta
                if wantSE { standardErrors[row] = se }
                if options.confidenceInterval {
                    lower[row] = eta - quantile * se
                    upper[row] = eta + quantile * se
                }
            case .probs, .class, .zero, .count:
                // Refused for a GLM by `PredictPipeline.validate`.
                fit[row] = .nan
            case .response:
                fit[row] = link.linkinv(eta)
                if wantSE { standardErrors[row] = se * abs(link.muEta(eta)) }
                if options.confidenceInterval {
                    let a = link.linkinv(eta - quantile * se)
                    let b = link.linkinv(eta + quantile * se)
                    lower[row] = min(a, b)
                    upper[row] = max(a, b)
                }
            }
        }
        return Predictions(
            fit: fit, standardErrors: options.standardErrors ? standardErrors : nil,
            lower: options.confidenceInterval ? lower : nil, upper: options.confidenceInterval ? upper : nil,
            lines: lines)
    }
}

/// xᵀVx for a row x of a model whose covariance V is stored by blocks
/// (`SavedModel.CovarianceBlocks`): with x = (e, v) split into the eliminated term's
/// columns and the others,
///
///     xᵀVx = Σ_c e_c² V_c + wᵀ V_S w,   w = Aᵀe − v,
///
/// with V_c = φ/D_c, V_S = φS⁻¹ and A = D⁻¹B (`BlockFactor`). For a row with level c of
/// the eliminated term (value m) that is m²/D_c + (m·A_c − v)ᵀ S⁻¹ (m·A_c − v), times φ:
/// O(entries²) per row, where w's entries are A_c's non-zero ones and v's.
struct BlockQuadraticForm: Sendable {
    /// Each kept column (position among the non-aliased coefficients): its index among the
    /// eliminated columns (≥ 0), or among the others encoded −1 − index.
    private let roles: [Int]
    private let blocks: SavedModel.CovarianceBlocks
    let isFinite: Bool

    var otherCount: Int { blocks.others.count }


    /// `keptNames`: the non-aliased coefficients in design order, which the blocks' columns
    /// partition (checked when the model file is read).
    init(_ blocks: SavedModel.CovarianceBlocks, keptNames: [String]) {
        self.blocks = blocks
        var role: [String: Int] = [:]
        for (index, name) in blocks.eliminated.enumerated() { role[name] = index }
        for (index, name) in blocks.others.enumerated() { role[name] = -1 - index }
        roles = keptNames.map { role[$0] ?? Int.min }
        isFinite = blocks.variances.allSatisfy(\.isFinite) && blocks.othersCovariance.allSatisfy(\.isFinite)
    }

    /// xᵀVx for a row's entries; `scratch` holds w (the others' part), reused from row to row.
    func value(positions: ArraySlice<Int>, values: ArraySlice<Double>, scratch: inout SparseAccumulator) -> Double {
        var sum = 0.0
        for (position, x) in zip(positions, values) {
            let role = roles[position]
            if role >= 0 {
                sum += x * x * blocks.variances[role]
                let cross = blocks.cross[role]
                for (index, a) in zip(cross.indices, cross.values) { scratch.add(index, x * a) }
            } else if role != Int.min {
                scratch.add(-1 - role, -x)
            }
        }
        // wᵀ(φS⁻¹)w over the upper triangle, rows in order (S⁻¹ is large and read at random).
        let q = blocks.others.count
        let touched = scratch.touched.sorted()
        for (a, i) in touched.enumerated() {
            let row = i * q
            var inner = 0.0
            for j in touched[(a + 1)...] { inner += blocks.othersCovariance[row + j] * scratch.values[j] }
            sum += scratch.values[i] * (blocks.othersCovariance[row + i] * scratch.values[i] + 2 * inner)
        }
        scratch.reset()
        return sum
    }
}

/// Predictions of a multinomial or ordinal model: each row's level probabilities
/// (R's `predict(type = "probs")`) or most probable level (`type = "class"`; the first of
/// exactly tied levels).
struct CategoricalPredictor {
    let parameters: CategoricalParameters
    let options: PredictionOptions

    func predict(_ rows: NewDataDesign.Rows, lines: [Int]) -> Predictions {
        let n = rows.count
        let p = n == 0 ? 0 : rows.x.count / n
        var probabilities: [[Double]] = []
        var classes: [String?] = []
        rows.x.withUnsafeBufferPointer { x in
            for row in 0..<n {
                if rows.missing[row] {
                    probabilities.append(parameters.levels.map { _ in .nan })
                    classes.append(nil)
                    continue
                }
                let values = parameters.probabilities(
                    x: UnsafeBufferPointer(rebasing: x[(row * p)..<((row + 1) * p)]), offset: rows.offset?[row] ?? 0)
                var best = 0
                for k in values.indices where values[k] > values[best] { best = k }
                probabilities.append(values)
                classes.append(parameters.levels[best])
            }
        }
        return Predictions(
            fit: [Double](repeating: .nan, count: n), standardErrors: nil, lower: nil, upper: nil, lines: lines,
            probabilities: options.scale == .class ? nil : probabilities, classes: options.scale == .class ? classes : nil)
    }
}

/// Predictions of a zero-inflated or hurdle model (pscl's `predict(newdata, type =
/// "response" / "zero" / "count")`): μ = exp(xᵀβ + offset) from the count part, the zero
/// part's probability g⁻¹(zᵀγ + offset), combined by `TwoPartParameters.prediction`.
struct TwoPartPredictor {
    let parameters: TwoPartParameters
    let countEstimates: [Double]
    let zeroEstimates: [Double]
    let scale: PredictionScale

    init(parameters: TwoPartParameters, design: NewDataDesign, options: PredictionOptions) {
        self.parameters = parameters
        countEstimates = design.estimates
        zeroEstimates = design.zeroPart?.estimates ?? []
        scale = options.scale
    }

    func predict(_ rows: NewDataDesign.Rows, lines: [Int]) -> Predictions {
        let n = rows.count
        let p = countEstimates.count
        let q = zeroEstimates.count
        var fit = [Double](repeating: .nan, count: n)
        let zeroX = rows.zeroX ?? []
        for row in 0..<n where !rows.missing[row] && zeroX.count >= (row + 1) * q {
            var etaCount = rows.offset?[row] ?? 0
            for j in 0..<p { etaCount += rows.x[row * p + j] * countEstimates[j] }
            var etaZero = rows.zeroOffset?[row] ?? 0
            for j in 0..<q { etaZero += zeroX[row * q + j] * zeroEstimates[j] }
            fit[row] = parameters.prediction(etaCount: etaCount, etaZero: etaZero, scale: scale)
        }
        return Predictions(fit: fit, standardErrors: nil, lower: nil, upper: nil, lines: lines)
    }
}
