import Foundation

/// A response of categories for the multinomial and ordinal kinds: each used row's level
/// (0-based, in R's level order) and its case weight.
struct CategoricalResponse: Sendable {
    let codes: [Int32]
    let levels: [String]
    /// Case weights (R's `weights =` for multinom and polr); ones when none were given.
    let weights: [Double]
    /// The sum of the case weights: R's number of observations for BIC.
    let weightSum: Double

    var levelCount: Int { levels.count }

    /// The frame's response as categories: a text or logical column as its levels, a
    /// numeric one as `factor(y)` (levels in numeric order).
    ///
    /// - Throws: `responseOutOfDomain` for a cbind() response, fewer levels than
    ///   `minimumLevels`, or a level whose rows all have weight zero (an empty category);
    ///   `invalidWeights` for a negative or non-finite weight.
    init(frame: ModelFrame, kind: ModelKind, minimumLevels: Int) throws {
        let name = kind.rawValue
        let codes: [Int32]
        let levels: [String]
        switch frame.response {
        case let .factor(factorCodes, factorLevels, _):
            codes = factorCodes
            levels = factorLevels
        case let .numeric(values):
            guard case let .factor(factorCodes, factorLevels, _) = ExpressionEvaluator.factor(fromNumbers: values) else {
                throw GLMError.fitFailed(message: "internal error: factor() of a numeric response is not a factor")
            }
            codes = factorCodes
            levels = factorLevels
        case .twoColumn:
            throw GLMError.responseOutOfDomain(
                family: name, line: nil, message: "cbind() responses are only for the binomial and quasibinomial families")
        case .matrix:
            throw GLMError.responseOutOfDomain(
                family: name, line: nil, message: "the response '\(frame.responseLabel)' has several columns; \(kind.withArticle) model needs one categorical response")
        }
        guard levels.count >= minimumLevels else {
            let found = levels.map { "'\($0)'" }.joined(separator: ", ")
            throw GLMError.responseOutOfDomain(
                family: name, line: nil,
                message: "the response '\(frame.responseLabel)' has \(levels.count) level\(levels.count == 1 ? "" : "s") "
                    + "(\(found)) in the rows used; \(kind.withArticle) model needs \(minimumLevels) or more")
        }
        var weights = frame.priorWeights ?? [Double](repeating: 1, count: codes.count)
        if let column = frame.weightsColumn, let row = weights.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
            throw GLMError.invalidWeights(
                column: column, line: frame.line(ofUsedRow: row), value: weights[row],
                message: "case weights must be finite and not negative")
        }
        if let frequencies = frame.frequencyWeights {
            // A row standing for f observations adds f times its log-likelihood.
            weights = zip(weights, frequencies).map { $0 * $1 }
        }
        var totals = [Double](repeating: 0, count: levels.count)
        for (code, weight) in zip(codes, weights) where code >= 0 && Int(code) < totals.count {
            totals[Int(code)] += weight
        }
        if let empty = totals.firstIndex(where: { $0 <= 0 }) {
            throw GLMError.responseOutOfDomain(
                family: name, line: nil,
                message: "response level '\(levels[empty])' of '\(frame.responseLabel)' has no rows with positive weight "
                    + "(an empty category); its coefficients would be infinite: drop the level or merge it with another")
        }
        self.codes = codes
        self.levels = levels
        self.weights = weights
        self.weightSum = totals.reduce(0, +)
    }
}
