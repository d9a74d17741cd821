/// The response as IRLS sees it after the family's `initialize` step: y on the mean
/// scale, prior weights (times the trial counts for a cbind response), the binomial trial
/// counts R calls `n`, and the starting means.
public struct PreparedResponse: Sendable {
    public let y: [Double]
    /// The weights of the likelihood: prior weights (times the trial counts of a cbind
    /// response), times the frequency weights when there are some.
    public let priorWeights: [Double]
    public let binomialTotals: [Double]
    public let startingMu: [Double]
    public let warnings: [String]
    /// `--frequency-weights`: the observations each row stands for (nil: one each).
    public var frequencyWeights: [Double]? = nil

    /// Observations with a non-zero weight (R's `n.ok`), the frequency weights' sum over
    /// those rows when there are some: the count the expanded rows would give.
    public var observationCount: Int {
        guard let frequencies = frequencyWeights else { return priorWeights.count { $0 != 0 } }
        return FrequencyWeights.total(frequencies) { priorWeights[$0] != 0 }
    }

    /// Observations with a positive weight.
    public var positiveWeightCount: Int {
        guard let frequencies = frequencyWeights else { return priorWeights.count { $0 > 0 } }
        return FrequencyWeights.total(frequencies) { priorWeights[$0] > 0 }
    }

    /// The prior weight of one of the observations row `row` stands for (its likelihood
    /// weight over its frequency), which R's starting values use.
    public func observationWeight(_ row: Int) -> Double {
        guard let frequencies = frequencyWeights, frequencies[row] > 0 else { return priorWeights[row] }
        return priorWeights[row] / frequencies[row]
    }
}

extension PreparedResponse {
    /// glm fits only rows with a positive prior weight: with none (R: "no observations
    /// informative", then an error) or fewer than the coefficients, nothing can be estimated.
    static func requirePositiveWeights(count positive: Int, coefficients: Int, column: String?) throws {
        guard positive == 0 || positive < coefficients else { return }
        throw GLMError.tooFewPositiveWeights(column: column, positive: positive, coefficients: coefficients)
    }
}

extension Family {
    /// R's `family$initialize`, with R's errors and warnings, plus glm's check that prior
    /// weights are not negative.
    public func prepare(_ frame: ModelFrame) throws -> PreparedResponse {
        let response = try prepareObservations(frame)
        guard let frequencies = frame.frequencyWeights else { return response }
        // The starting means and checks are one observation's; the likelihood sums f copies.
        var weighted = PreparedResponse(
            y: response.y, priorWeights: zip(response.priorWeights, frequencies).map { $0 * $1 },
            binomialTotals: response.binomialTotals, startingMu: response.startingMu, warnings: response.warnings)
        weighted.frequencyWeights = frequencies
        return weighted
    }

    /// `prepare` for one observation of each row (frequency weights not applied).
    private func prepareObservations(_ frame: ModelFrame) throws -> PreparedResponse {
        let rowCount = frame.rowCount
        var weights = frame.priorWeights ?? ParallelRows.filled(with: 1, count: rowCount)
        if let column = frame.weightsColumn, let row = weights.firstIndex(where: { $0 < 0 }) {
            throw GLMError.invalidWeights(
                column: column, line: frame.line(ofUsedRow: row), value: weights[row], message: "negative weights are not allowed")
        }
        var warnings: [String] = []
        let familyName = kind.cliName

        func domainError(_ message: String, row: Int?) -> GLMError {
            .responseOutOfDomain(family: familyName, line: row.map { frame.line(ofUsedRow: $0) }, message: message)
        }

        var y: [Double]
        switch frame.response {
        case let .numeric(values):
            y = values
        case let .factor(codes, levels, isLogical):
            if let typo = frame.responseNonNumericField { throw typo }
            guard kind.isBinomialLike || isLogical else {
                throw domainError(
                    "the response '\(frame.responseLabel)' is text (levels \(levels.prefix(3).joined(separator: ", "))\(levels.count > 3 ? ", ..." : "")), not numeric", row: nil)
            }
            if isLogical {
                // TRUE is success by name: the levels are only those used, so a response that
                // is TRUE in every row has TRUE as its first level.
                y = codes.map { $0 >= 0 && Int($0) < levels.count && levels[Int($0)] == "TRUE" ? 1 : 0 }
            } else {
                // R: the first level is failure, every other level success.
                y = codes.map { $0 > 0 ? 1 : 0 }
            }
        case let .matrix(columns, _) where columns.count == 1:
            y = columns[0]
        case .matrix:
            throw domainError("the response '\(frame.responseLabel)' has several columns", row: nil)
        case let .twoColumn(successes, failures):
            guard kind.isBinomialLike else {
                throw domainError("cbind() responses are only for the binomial and quasibinomial families", row: nil)
            }
            if let row = successes.indices.first(where: { successes[$0] < 0 || failures[$0] < 0 }) {
                throw domainError("cbind() counts must not be negative", row: row)
            }
            if kind == .binomial,
               successes.indices.contains(where: { abs(successes[$0] - successes[$0].rounded()) > 1e-3 || abs(failures[$0] - failures[$0].rounded()) > 1e-3 }) {
                warnings.append("non-integer counts in a binomial glm!")
            }
            var proportions = [Double](repeating: 0, count: rowCount)
            var totals = [Double](repeating: 0, count: rowCount)
            var start = [Double](repeating: 0, count: rowCount)
            for row in 0..<rowCount {
                let total = successes[row] + failures[row]
                totals[row] = total
                proportions[row] = total == 0 ? 0 : successes[row] / total
                weights[row] *= total
                start[row] = (total * proportions[row] + 0.5) / (total + 1)
            }
            return PreparedResponse(y: proportions, priorWeights: weights, binomialTotals: totals, startingMu: start, warnings: warnings)
        }

        // Without prior weights, `weights` is already all ones: share it.
        let ones = frame.priorWeights == nil ? weights : [Double](repeating: 1, count: rowCount)
        var start = y
        switch kind {
        case .binomial, .quasibinomial:
            if weights.contains(0) {
                for row in 0..<rowCount where weights[row] == 0 { y[row] = 0 }
            }
            // The checks and the starting means in one sweep on all cores.
            let response = y, priorWeights = weights
            let (starts, parts) = ParallelRows.array(count: rowCount) { base, rows in
                var outOfRange: Int?
                var nonInteger = false
                for row in rows {
                    let value = response[row], weight = priorWeights[row]
                    if outOfRange == nil, value < 0 || value > 1 { outOfRange = row }
                    (base + row).initialize(to: (weight * value + 0.5) / (weight + 1))
                    let successes = weight * value
                    nonInteger = nonInteger || abs(successes - successes.rounded()) > 1e-3
                }
                return (outOfRange, nonInteger)
            }
            if let row = parts.lazy.compactMap(\.0).first {
                throw domainError("y values must be 0 <= y <= 1 (found \(RFormat.format(y[row], digits: 7)))", row: row)
            }
            start = starts
            if kind == .binomial, parts.contains(where: \.1) {
                warnings.append("non-integer #successes in a binomial glm!")
            }
        case .poisson, .quasipoisson:
            if let row = y.indices.first(where: { y[$0] < 0 }) {
                let name = kind == .poisson ? "Poisson" : "quasiPoisson"
                throw domainError("negative values not allowed for the '\(name)' family", row: row)
            }
            start = ParallelRows.map(y) { $0 + 0.1 }
        case .gamma:
            if let row = y.indices.first(where: { y[$0] <= 0 }) {
                throw domainError("non-positive values not allowed for the 'Gamma' family", row: row)
            }
        case .inverseGaussian:
            if let row = y.indices.first(where: { y[$0] <= 0 }) {
                throw domainError("positive values only are allowed for the 'inverse.gaussian' family", row: row)
            }
        case .gaussian:
            if link == .inverse, let row = y.indices.first(where: { y[$0] == 0 }) {
                throw domainError("cannot find valid starting values: y = 0 with the inverse link", row: row)
            }
            if link == .log, let row = y.indices.first(where: { y[$0] <= 0 }) {
                throw domainError("cannot find valid starting values: y <= 0 with the log link", row: row)
            }
        case .negativeBinomial:
            if let row = y.indices.first(where: { y[$0] < 0 }) {
                throw domainError("negative values not allowed for the negative binomial family", row: row)
            }
            start = ParallelRows.map(y) { $0 + ($0 == 0 ? 1.0 / 6.0 : 0) }
        case .tweedie:
            if varPower > 0, let row = y.indices.first(where: { y[$0] < 0 }) {
                throw domainError("negative values not allowed for the Tweedie family with var.power > 0", row: row)
            }
            if varPower > 2, let row = y.indices.first(where: { y[$0] == 0 }) {
                throw domainError("zeros are not allowed for the Tweedie family with var.power > 2 (the deviance is infinite)", row: row)
            }
            start = ParallelRows.map(y) { $0 + ($0 == 0 ? 0.1 : 0) }
        }
        return PreparedResponse(y: y, priorWeights: weights, binomialTotals: ones, startingMu: start, warnings: warnings)
    }
}
