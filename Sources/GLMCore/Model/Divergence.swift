/// Finds estimates that are infinite in truth: under complete or quasi-complete separation
/// (binomial) or a count response that is zero wherever a term is non-zero (Poisson),
/// the likelihood keeps rising as some coefficients grow without bound, and IRLS stops
/// only because the deviance changes too little. R warns at most that fitted
/// probabilities are 0 or 1 (and not at all for quasi-complete separation).
public enum Divergence {
    /// Fitted means closer than this to the edge of their range trigger the check.
    static let boundaryMargin = 1e-8
    /// Iterations run past the fit's own stopping point.
    static let extraIterations = 30

    /// Names of the coefficients that move on when IRLS keeps iterating from the fit: a
    /// coefficient diverges when, over 30 more iterations, it shifts the linear predictor
    /// of a typical row (its root-mean-square column value) by more than 1. Converged
    /// estimates move by rounding error only; diverging ones move by about one unit per
    /// iteration, so the rule has a wide margin either way.
    public static func divergingTerms(
        design: Design, family: Family, control: FitControl, response: PreparedResponse, offset: [Double],
        result: IRLSResult
    ) -> [String] {
        let mu = result.fittedValues
        let nearBoundary: Bool
        switch family.kind {
        case .binomial, .quasibinomial:
            nearBoundary = mu.contains { $0 < boundaryMargin || $0 > 1 - boundaryMargin }
        case .poisson, .quasipoisson, .negativeBinomial:
            nearBoundary = mu.contains { $0 < boundaryMargin }
        default:
            nearBoundary = false
        }
        guard nearBoundary, design.columnCount > 0 else { return [] }
        var probeControl = control
        probeControl.maxIterations = extraIterations
        guard let probe = try? IRLS(family: family, control: probeControl).fit(
            design: design, y: response.y, priorWeights: response.priorWeights, offset: offset, startingMu: mu,
            runAllIterations: true)
        else { return [] }
        var diverging: [String] = []
        let rowCount = design.rowCount
        let sumsOfSquares = design.isStructured || control.solver == .blocks
            ? design.structure.columnSumsOfSquares(rowCount: rowCount)
            : design.columns.map { column in column.reduce(0.0) { $0 + $1 * $1 } }
        for column in 0..<design.columnCount {
            let before = result.coefficients[column]
            let after = probe.coefficients[column]
            guard before.isFinite, after.isFinite else { continue }
            let sumSquares = sumsOfSquares[column]
            let typicalValue = (sumSquares / Double(max(rowCount, 1))).squareRoot()
            if abs(after - before) * typicalValue > 1 { diverging.append(design.columnNames[column]) }
        }
        return diverging
    }

    /// Diverging terms named in the warning; the others are counted.
    static let listedTerms = 20

    /// The warning glmfit adds when some estimates diverge.
    public static func warning(for terms: [String], family: Family) -> String {
        let cause = family.kind == .binomial || family.kind == .quasibinomial
            ? "separation: the response is perfectly predicted in some direction"
            : "the fitted means go to 0 in some direction"
        // A model of thousands of levels can have thousands: the first few, and the count.
        let shown = terms.prefix(listedTerms).map { TextElision.elided($0) }.joined(separator: ", ")
        let more = terms.count > listedTerms
            ? " and \(MemoryBudget.describe(count: terms.count - listedTerms)) more (JSON's diverging_terms lists them all)" : ""
        return "\(cause); these estimates diverge (they keep growing if the iterations continue), "
            + "so they, their standard errors and tests are not meaningful: \(shown)\(more)"
    }
}
