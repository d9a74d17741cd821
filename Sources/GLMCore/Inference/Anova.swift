import Foundation

/// The test of an analysis of deviance.
public enum DevianceTest: String, Sendable, CaseIterable {
    /// Likelihood-ratio χ² test: deviance differences, divided by the dispersion, on
    /// their degrees of freedom (R's `test = "Chisq"`, `"LRT"` in `drop1`).
    case chisq = "Chisq"
    /// F test: (deviance difference / df) / dispersion on (df, residual df) (R's `test = "F"`).
    case f = "F"

    /// χ² when the family's dispersion is fixed (binomial, Poisson, negative binomial),
    /// F when it is estimated: the test R ≥ 4.4 picks by default.
    public static func automatic(for family: Family) -> DevianceTest {
        family.kind.hasFixedDispersion ? .chisq : .f
    }

    /// The heading of the statistic in `anova` tables: "F", or "Chi" for the scaled deviance
    /// (R prints no column for it: with dispersion 1 it is the Deviance column).
    public var statisticName: String { self == .f ? "F" : "Chi" }
    /// R's p-value heading.
    public var pValueName: String { self == .f ? "Pr(>F)" : "Pr(>Chi)" }
}

/// One row of a sequential analysis-of-deviance table. The first row ("NULL") is the
/// null model and has no df, deviance or test.
public struct DevianceTableRow: Sendable, Equatable {
    /// "NULL", then R's term labels in order.
    public let term: String
    /// Degrees of freedom the term adds (0 when all its columns are aliased).
    public let df: Int?
    /// Deviance explained by the term: the drop in residual deviance (R clamps it at 0).
    public let deviance: Double?
    public let residualDf: Int
    public let residualDeviance: Double
    /// The test statistic: deviance / dispersion for χ², the F ratio for F; nil where R
    /// gives no p-value (first row, df 0).
    public let statistic: Double?
    public let pValue: Double?
}

/// R's `anova(fit, test = ...)`: terms added sequentially, first to last.
public struct DevianceTable: Sendable {
    public let rows: [DevianceTableRow]
    public let test: DevianceTest
    /// The dispersion the deviances are divided by (1 for binomial and Poisson).
    public let dispersion: Double
    /// The F test's denominator degrees of freedom; nil when the dispersion is taken as
    /// known (R's `df.dispersion = Inf`).
    public let dispersionDf: Int?
    /// The headings of `statistic` and the p-value (see `DevianceTest`).
    public var statisticName: String { test.statisticName }
    public var pValueName: String { test.pValueName }
    /// R's warnings, each once.
    public let warnings: [String]
}

/// One row of R's `drop1` table. The first row ("<none>") is the full model.
public struct DropOneRow: Sendable, Equatable {
    /// "<none>", then each term that can be dropped.
    public let term: String
    /// Degrees of freedom lost by dropping the term (rank difference); nil for "<none>".
    public let df: Int?
    /// Residual deviance without the term (the full model's for "<none>").
    public let deviance: Double
    /// AIC without the term; nil for quasi families (R drops the column).
    public let aic: Double?
    /// LRT (or scaled deviance) or F value; nil for "<none>".
    public let statistic: Double?
    public let pValue: Double?
}

/// R's `drop1(fit, test = ...)`: each term that no higher-order term contains, dropped in turn.
public struct DropOneTable: Sendable {
    public let rows: [DropOneRow]
    public let test: DevianceTest
    /// R's column heading for `statistic`: "LRT" (dispersion 1), "scaled dev." (estimated
    /// dispersion) or "F value".
    public let statisticName: String
    public var pValueName: String { test.pValueName }
    public let dispersion: Double
    public let warnings: [String]
}

/// One model of a nested comparison.
public struct ModelComparisonRow: Sendable, Equatable {
    /// The model's formula as R deparses it.
    public let model: String
    public let residualDf: Int
    public let residualDeviance: Double
    /// Change from the row before (nil on the first row).
    public let df: Int?
    public let deviance: Double?
    public let statistic: Double?
    public let pValue: Double?
}

/// R's `anova(reduced, full, test = ...)`.
public struct ModelComparison: Sendable {
    /// The reduced model, then the full model.
    public let rows: [ModelComparisonRow]
    public let test: DevianceTest
    public let dispersion: Double
    public let dispersionDf: Int?
    public var statisticName: String { test.statisticName }
    public var pValueName: String { test.pValueName }
    public let warnings: [String]
}

/// Analysis of deviance for GLM fits, as R's `anova.glm`, `drop1.glm` and `anova.glmlist`.
public enum AnalysisOfDeviance {
    // MARK: Sequential

    /// The sequential analysis of deviance (R's `anova(fit, test = ...)`): the models
    /// with terms 1…k for k = 0…K, each refitted from the family's starting values;
    /// the dispersion is the full model's.
    ///
    /// χ²: p = P(χ²_df > Deviance/φ). F: F = (Deviance/df)/φ on (df, df_residual), or on
    /// (df, ∞) when φ = 1.
    ///
    /// - Parameter test: nil picks χ² for fixed and F for estimated dispersion.
    public static func sequential(fit: GLMFit, test: DevianceTest? = nil) throws -> DevianceTable {
        let test = test ?? .automatic(for: fit.family)
        let design = fit.design
        let termCount = design.assign.max() ?? 0
        var warnings = Warnings()
        var residualDfs = [fit.dfNull]
        var residualDeviances = [fit.nullDeviance]
        if termCount > 1 {
            warnings.add(subModelStartWarning(fit))
            for term in 1..<termCount {
                let columns = design.assign.indices.filter { design.assign[$0] <= term }
                let sub = try refit(fit, columns: columns)
                warnings.add(sub.warnings)
                residualDfs.append(fit.observationCount - sub.rank)
                residualDeviances.append(sub.deviance)
            }
        }
        residualDfs.append(fit.dfResidual)
        residualDeviances.append(fit.deviance)
        if design.termLabels.isEmpty {
            residualDfs = [residualDfs[0]]
            residualDeviances = [residualDeviances[0]]
        }

        let dispersion = try GLMSummary(fit: fit).dispersion
        let dispersionDf: Int? = dispersion == 1 ? nil : fit.dfResidual
        if test == .f && dispersionDf == nil { warnings.add(fTestWarning(fit.family)) }
        var rows: [DevianceTableRow] = []
        for (index, residualDf) in residualDfs.enumerated() {
            let residualDeviance = residualDeviances[index]
            guard index > 0 else {
                rows.append(DevianceTableRow(
                    term: "NULL", df: nil, deviance: nil, residualDf: residualDf, residualDeviance: residualDeviance,
                    statistic: nil, pValue: nil))
                continue
            }
            let df = residualDfs[index - 1] - residualDf
            let deviance = max(0, residualDeviances[index - 1] - residualDeviance)
            let (statistic, pValue) = testStatistic(
                test, df: df, deviance: deviance, dispersion: dispersion, dispersionDf: dispersionDf)
            rows.append(DevianceTableRow(
                term: design.termLabels[index - 1], df: df, deviance: deviance, residualDf: residualDf,
                residualDeviance: residualDeviance, statistic: statistic, pValue: pValue))
        }
        return DevianceTable(
            rows: rows, test: test, dispersion: dispersion, dispersionDf: dispersionDf, warnings: warnings.list)
    }

    /// R's `stat.anova` for one row with the χ² or F test.
    static func testStatistic(
        _ test: DevianceTest, df: Int, deviance: Double, dispersion: Double, dispersionDf: Int?
    ) -> (Double?, Double?) {
        guard df != 0 else { return (nil, nil) }
        switch test {
        case .chisq:
            let value = deviance / dispersion * (df > 0 ? 1 : -1)
            guard !value.isNaN, value >= 0 else { return (nil, nil) }
            return (value, Distributions.pchisq(value, df: Double(abs(df)), lowerTail: false))
        case .f:
            let value = (deviance / Double(df)) / dispersion
            guard !value.isNaN, value >= 0 else { return (nil, nil) }
            let denominator = dispersionDf.map(Double.init) ?? .infinity
            return (value, Distributions.pf(value, df1: Double(abs(df)), df2: denominator, lowerTail: false))
        }
    }

    static func fTestWarning(_ family: Family) -> String {
        switch family.kind {
        case .binomial, .poisson:
            return "using F test with a '\(family.kind.rawValue)' family is inappropriate"
        default:
            return "using F test with a fixed dispersion is inappropriate"
        }
    }

    // MARK: Drop one term

    /// The terms `drop1` considers by default (R's `drop.scope`): those whose variables
    /// are not all contained in another term, as term indices into `design.termLabels`.
    public static func droppableTerms(_ terms: Terms) -> [Int] {
        let all = terms.terms
        guard all.count > 1 else { return Array(all.indices) }
        return all.indices.filter { index in
            let variables = Set(all[index])
            return !all.indices.contains { other in other != index && variables.isSubset(of: all[other]) }
        }
    }

    /// Single-term deletions (R's `drop1(fit, test = ...)`): the model refitted without
    /// each droppable term (from the family's starting values).
    ///
    /// χ² ("LRT"): the scaled deviance increase ΔD/φ, or n·log(D₋/D) for Gaussian fits,
    /// on the rank difference. F: (ΔD/df) / (D/df_residual) on (df, df_residual); the
    /// denominator is the residual mean deviance, not the Pearson dispersion.
    ///
    /// - Parameter test: nil picks χ² for fixed and F for estimated dispersion.
    public static func dropOne(fit: GLMFit, test: DevianceTest? = nil) throws -> DropOneTable {
        let test = test ?? .automatic(for: fit.family)
        let design = fit.design
        let scope = droppableTerms(design.frame.terms)
        var warnings = Warnings()
        var ranks = [fit.rank]
        var deviances = [fit.deviance]
        if !scope.isEmpty { warnings.add(subModelStartWarning(fit)) }
        for term in scope {
            let columns = design.assign.indices.filter { design.assign[$0] != term + 1 }
            let sub = try refit(fit, columns: columns)
            warnings.add(sub.warnings)
            ranks.append(sub.rank)
            deviances.append(sub.deviance)
        }
        let dispersion = try GLMSummary(fit: fit).dispersion
        let n = Double(fit.representedRowCount)
        let logLikelihoods: [Double] = deviances.map { deviance in
            fit.family.kind == .gaussian ? n * log(deviance / n) : deviance / dispersion
        }
        var aics: [Double?] = Array(repeating: nil, count: ranks.count)
        if let aic = fit.aic {
            let raw = zip(logLikelihoods, ranks).map { $0 + 2 * Double($1) }
            let shift = aic - raw[0]
            aics = raw.map { $0 + shift }
        }
        let dfs: [Int?] = ranks.enumerated().map { $0.offset == 0 ? nil : ranks[0] - $0.element }
        var statistics = [Double?](repeating: nil, count: ranks.count)
        var pValues = [Double?](repeating: nil, count: ranks.count)
        let statisticName: String
        switch test {
        case .chisq:
            statisticName = dispersion == 1 ? "LRT" : "scaled dev."
            for index in 1..<max(ranks.count, 1) {
                let value = max(0, logLikelihoods[index] - logLikelihoods[0])
                statistics[index] = value
                if let df = dfs[index], df > 0 {
                    pValues[index] = Distributions.pchisq(value, df: Double(df), lowerTail: false)
                }
            }
        case .f:
            statisticName = "F value"
            if fit.family.kind == .binomial || fit.family.kind == .poisson {
                warnings.add("F test assumes 'quasi\(fit.family.kind.rawValue)' family")
            }
            let residualDf = Double(fit.dfResidual)
            let meanDeviance = deviances[0] / residualDf
            for index in 1..<max(ranks.count, 1) {
                guard let df = dfs[index], Double(df) >= 1e-4 else { continue }
                let value = (max(0, deviances[index] - deviances[0]) / Double(df)) / meanDeviance
                statistics[index] = value
                if !value.isNaN {
                    pValues[index] = Distributions.pf(value, df1: Double(df), df2: residualDf, lowerTail: false)
                }
            }
        }
        var rows: [DropOneRow] = []
        for index in ranks.indices {
            rows.append(DropOneRow(
                term: index == 0 ? "<none>" : design.termLabels[scope[index - 1]], df: dfs[index],
                deviance: deviances[index], aic: aics[index], statistic: statistics[index], pValue: pValues[index]))
        }
        return DropOneTable(
            rows: rows, test: test, statisticName: statisticName, dispersion: dispersion, warnings: warnings.list)
    }

    // MARK: Nested comparison

    /// Compares a reduced model with the full model it is nested in (R's
    /// `anova(reduced, full, test = ...)`), after checking that both were fitted to the
    /// same rows, response, weights and family, and that the reduced model is nested:
    /// every column of its design, and the difference of the offsets, lies in the
    /// column space of the full design. This accepts more than a subset of terms:
    /// `y ~ x + g` is nested in `y ~ g/x - 1`, and `y ~ g + offset(x)` in `y ~ g + x`.
    ///
    /// The dispersion is the full model's; F uses (df, df_residual(full)), or ∞ when
    /// the dispersion is 1.
    public static func compare(reduced: GLMFit, full: GLMFit, test: DevianceTest? = nil) throws -> ModelComparison {
        let test = test ?? .automatic(for: full.family)
        try checkNested(reduced: reduced, full: full)
        let fits = [reduced, full]
        let residualDfs = fits.map(\.dfResidual)
        let residualDeviances = fits.map(\.deviance)
        // R takes the dispersion from the model with the fewest residual df, the first on ties.
        let big = full.dfResidual < reduced.dfResidual ? full : reduced
        let dispersion = try GLMSummary(fit: big).dispersion
        let dispersionDf: Int? = dispersion == 1 ? nil : residualDfs.min()
        var warnings = Warnings()
        if test == .f && dispersionDf == nil { warnings.add(fTestWarning(big.family)) }
        var rows: [ModelComparisonRow] = []
        for (index, fit) in fits.enumerated() {
            let label = fit.design.frame.terms.formula.deparsed
            guard index > 0 else {
                rows.append(ModelComparisonRow(
                    model: label, residualDf: residualDfs[0], residualDeviance: residualDeviances[0], df: nil,
                    deviance: nil, statistic: nil, pValue: nil))
                continue
            }
            let df = residualDfs[index - 1] - residualDfs[index]
            let deviance = residualDeviances[index - 1] - residualDeviances[index]
            let (statistic, pValue) = testStatistic(
                test, df: df, deviance: deviance, dispersion: dispersion, dispersionDf: dispersionDf)
            rows.append(ModelComparisonRow(
                model: label, residualDf: residualDfs[index], residualDeviance: residualDeviances[index], df: df,
                deviance: deviance, statistic: statistic, pValue: pValue))
        }
        return ModelComparison(
            rows: rows, test: test, dispersion: dispersion, dispersionDf: dispersionDf, warnings: warnings.list)
    }

    /// Fits `reducedFormula` to exactly the rows `full` used (from the same `table`),
    /// with the full fit's weights column, family and control, then compares the two.
    /// A formula without a response (`~ x1 + x2`) takes the full model's.
    public static func compare(
        full: GLMFit, reducedFormula: String, table: Table, test: DevianceTest? = nil
    ) throws -> ModelComparison {
        let reduced = try fitReduced(full: full, formula: reducedFormula, table: table)
        return try compare(reduced: reduced, full: full, test: test)
    }

    /// The reduced model of `compare(full:reducedFormula:table:)`, fitted on the full fit's rows.
    public static func fitReduced(full: GLMFit, formula text: String, table: Table) throws -> GLMFit {
        var formula = try Formula.parse(text)
        let fullFormula = full.design.frame.terms.formula
        if formula.response == nil, let response = fullFormula.response {
            formula = Formula(
                text: response.deparsed + " " + text.trimmingCharacters(in: .whitespaces), response: response,
                predictors: formula.predictors)
        }
        let rows = full.design.frame.rowIndices
        let subset = table.selecting(rows: rows)
        let frame = try ModelFrame(
            table: subset, formula: formula, weightsColumn: full.design.frame.weightsColumn,
            frequencyWeightsColumn: full.design.frame.frequencyWeightsColumn, referenceLevels: full.design.frame.referenceLevels, defaultContrasts: full.design.frame.defaultContrasts,
            knownBases: full.design.frame.bases)
        guard frame.rowCount == rows.count else {
            throw GLMError.modelsNotNested(
                reduced: formula.deparsed, full: fullFormula.deparsed,
                reason: "the reduced model has missing values in \(rows.count - frame.rowCount) of the \(rows.count) rows the full model uses, so they would not be fitted to the same data")
        }
        let design = try Design(frame: frame, layout: full.design.isStructured ? .structured : .dense)
        return try GLMFit.fit(design: design, family: full.family, control: full.control)
    }

    /// Throws `modelsNotNested` unless `reduced` is nested in `full` (see `compare`).
    public static func checkNested(reduced: GLMFit, full: GLMFit) throws {
        let reducedLabel = reduced.design.frame.terms.formula.deparsed
        let fullLabel = full.design.frame.terms.formula.deparsed
        func fail(_ reason: String) -> GLMError {
            .modelsNotNested(reduced: reducedLabel, full: fullLabel, reason: reason)
        }
        let rowCount = full.design.rowCount
        guard reduced.design.rowCount == rowCount else {
            throw fail("the models were fitted to different numbers of rows (\(reduced.design.rowCount) and \(rowCount))")
        }
        guard reduced.family.kind == full.family.kind, reduced.family.link == full.family.link,
              reduced.family.theta == full.family.theta else {
            throw fail("the models have different families or links")
        }
        guard reduced.response.y == full.response.y else {
            throw fail("the models have different responses")
        }
        guard reduced.response.priorWeights == full.response.priorWeights else {
            throw fail("the models have different prior weights")
        }
        let used = (0..<rowCount).filter { full.response.priorWeights[$0] > 0 }
        let keptFull = (0..<full.design.columnCount).filter { !full.aliased[$0] }
        try MemoryBudget.current().require(
            MemoryBudget.sum(
                MemoryBudget.bytes(doubles: rowCount, full.design.columnCount),
                MemoryBudget.bytes(doubles: used.count, keptFull.count)),
            for: "comparing the models: the QR of the larger model's \(MemoryBudget.describe(count: full.design.columnCount)) "
                + "columns × \(MemoryBudget.describe(count: rowCount)) rows",
            remedy: "use fewer levels or terms")
        let space = ColumnSpace(x: try full.design.matrix(), rowCount: rowCount, columns: keptFull, rows: used)
        var outside: [String] = []
        for column in 0..<reduced.design.columnCount where !reduced.aliased[column] {
            let reducedColumn = reduced.design.structure.column(column, rowCount: rowCount)
            let values = used.map { reducedColumn[$0] }
            if !(try space.contains(values)) { outside.append(reduced.coefficientNames[column]) }
        }
        if !outside.isEmpty {
            let list = outside.map { "'\($0)'" }.joined(separator: ", ")
            throw fail("the reduced model is not nested in the full model: its column\(outside.count == 1 ? "" : "s") \(list) \(outside.count == 1 ? "is" : "are") not in the full model's column space")
        }
        let offsetDifference = used.map { reduced.offset[$0] - full.offset[$0] }
        if offsetDifference.contains(where: { $0 != 0 }), !(try space.contains(offsetDifference)) {
            throw fail("the reduced model is not nested in the full model: the difference of their offsets is not in the full model's column space")
        }
    }

    // MARK: Refits

    /// Refits `fit` on a subset of its design columns, from the starting values
    /// `glm.fit` computes for the fit's (vector) response and prior weights, as
    /// `anova.glm` and `drop1.glm` do.
    static func refit(_ fit: GLMFit, columns: [Int]) throws -> IRLSResult {
        let irls = IRLS(family: fit.family, control: fit.control)
        return try irls.fit(
            design: fit.design.selecting(columns: columns), y: fit.response.y,
            priorWeights: fit.response.priorWeights, offset: fit.offset, startingMu: subModelStart(fit))
    }

    /// Starting means of `glm.fit` given `fit$y` and `fit$prior.weights`: for binomial
    /// families (w·y + ½)/(w + 1) (with the total count folded into w), otherwise the
    /// family's usual start.
    static func subModelStart(_ fit: GLMFit) -> [Double] {
        guard fit.family.kind.isBinomialLike else { return fit.response.startingMu }
        let y = fit.response.y
        return y.indices.map { row in
            let weight = fit.response.observationWeight(row)
            return (weight * y[row] + 0.5) / (weight + 1)
        }
    }

    /// The warning `glm.fit`'s binomial initialisation gives for a proportion response
    /// whose counts w·y are not whole numbers.
    static func subModelStartWarning(_ fit: GLMFit) -> String? {
        guard fit.family.kind == .binomial else { return nil }
        let y = fit.response.y
        let nonInteger = y.indices.contains { row in
            let count = fit.response.observationWeight(row) * y[row]
            return abs(count - count.rounded()) > 1e-3
        }
        return nonInteger ? "non-integer #successes in a binomial glm!" : nil
    }
}

/// Warnings collected once each, in order of first appearance.
struct Warnings {
    private(set) var list: [String] = []

    mutating func add(_ warning: String?) {
        guard let warning, !list.contains(warning) else { return }
        list.append(warning)
    }

    mutating func add(_ warnings: [String]) {
        for warning in warnings { add(warning) }
    }
}

/// The column space of some design columns over some rows, for nesting checks: a
/// vector is in it when its least-squares residual is negligible against its norm.
struct ColumnSpace {
    private let factor: [Double]
    private let tau: [Double]
    private let rowCount: Int
    private let columnCount: Int
    static let tolerance = 1e-7

    /// Columns are scaled to unit length first, so ill-scaled designs do not blur the test.
    init(x: [Double], rowCount totalRows: Int, columns: [Int], rows: [Int]) {
        var factor: [Double] = []
        factor.reserveCapacity(rows.count * columns.count)
        var keptColumns = 0
        for column in columns {
            let values = rows.map { x[column * totalRows + $0] }
            let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { continue }
            factor.append(contentsOf: values.map { $0 / norm })
            keptColumns += 1
        }
        self.rowCount = rows.count
        self.columnCount = min(keptColumns, rows.count)
        var tau: [Double] = []
        if keptColumns > 0 && !rows.isEmpty {
            tau = (try? LinearAlgebra.householderQR(&factor, rows: rows.count, columns: keptColumns)) ?? []
        }
        self.factor = factor
        self.tau = tau
    }

    func contains(_ vector: [Double]) throws -> Bool {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { return true }
        guard columnCount > 0, !tau.isEmpty else { return false }
        var projected = vector
        try LinearAlgebra.applyQTranspose(
            factor: factor, tau: tau, rows: rowCount, vector: &projected)
        let residual = projected[columnCount...].reduce(0) { $0 + $1 * $1 }.squareRoot()
        return residual <= Self.tolerance * norm
    }
}

extension Table {
    /// The table restricted to `rows` (in that order), keeping each row's input line
    /// for messages; categorical columns keep all their levels.
    func selecting(rows: [Int]) -> Table {
        let columns: [Column?] = self.columns.map { column in
            guard let column else { return nil }
            switch column {
            case let .numeric(values):
                return .numeric(rows.map { values[$0] })
            case let .categorical(categorical):
                var position: [Int: Int] = [:]
                for (index, row) in rows.enumerated() where position[row] == nil { position[row] = index }
                let firstNonNumeric = categorical.firstNonNumericRow.flatMap { position[$0] }
                return .categorical(CategoricalColumn(
                    codes: rows.map { categorical.codes[$0] }, levels: categorical.levels,
                    isLogical: categorical.isLogical, firstNonNumericRow: firstNonNumeric))
            }
        }
        return Table(
            source: source, columnNames: columnNames, columns: columns, rowCount: rows.count,
            recordLines: rows.map { line(ofRow: $0) })
    }
}
