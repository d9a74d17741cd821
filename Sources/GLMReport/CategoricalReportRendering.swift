import Foundation
import GLMCore

/// The multinomial kind's text is `print(summary(multinom(...)))`'s layout and the ordinal
/// kind's `print(summary(polr(...)))`'s, each followed by what R leaves out: z tests with
/// p-values, Wald intervals, relative-risk or odds ratios, the log-likelihood and BIC.
extension TextReport {
    public static func render(_ report: CategoricalReport, dataName: String) -> String {
        let fit = report.fit
        var arguments = ["formula = \(fit.design.frame.terms.formula.deparsed)", "data = \(dataName)"]
        if let weights = fit.design.frame.weightsColumn { arguments.append("weights = \(weights)") }
        if let counts = fit.design.frame.frequencyWeightsColumn { arguments.append("frequency.weights = \(counts)") }
        if let link = fit.link { arguments.append("method = \"\(link.polrMethod)\"") }
        var lines = ["Call:"] + wrappedCall(fit.kind == .multinomial ? "multinom" : "polr", arguments)
        lines += fit.kind == .multinomial ? multinomialTables(fit) : ordinalTables(fit)
        lines.append("")
        lines.append("Residual Deviance: \(RFormat.format([fit.deviance], digits: 7, nsmall: 2)[0]) ")
        lines.append("AIC: \(RFormat.format([fit.aic], digits: 7, nsmall: 2)[0]) ")
        if fit.droppedCount > 0 {
            lines.append("(\(fit.droppedCount) observation\(fit.droppedCount == 1 ? "" : "s") deleted due to missingness)")
        }
        lines.append("")
        lines += responseLines(fit)
        lines.append("")
        lines.append("Wald z tests:")
        let rows = report.coefficients
        lines += RFormat.coefficientTable(
            rowNames: rows.map(\.term), estimate: rows.map(\.estimate), stdError: rows.map(\.standardError),
            statistic: rows.map(\.statistic), pValue: rows.map(\.pValue), statisticLabel: "z value",
            pValueLabel: "Pr(>|z|)")
        lines.append("")
        lines += intervalLines(rows: rows, level: report.confidenceLevel, method: "Wald", ratioLabel: fit.ratioLabel, note: nil)
        lines.append("")
        lines.append("Log-likelihood: \(RFormat.format(fit.logLikelihood, digits: 7)) (df = \(fit.parameterCount))   "
            + "BIC: \(RFormat.format(fit.bic, digits: 7))")
        lines.append("Newton iterations: \(fit.iterations)\(fit.converged ? "" : " (did not converge)")")
        if let comparison = report.comparison {
            lines.append("")
            lines += comparisonLines(comparison, fit: fit)
        }
        for result in report.waldTests {
            lines.append("")
            lines += AnalysisReport.wald(result)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// summary.multinom: the coefficients and standard errors as level × column matrices,
    /// each column formatted on its own with 7 significant digits (print of a matrix).
    static func multinomialTables(_ fit: CategoricalFit) -> [String] {
        let levels = Array(fit.levels.dropFirst())
        let p = fit.columnNames.count
        let errors = fit.covariance.indices.map { fit.covariance[$0][$0].squareRoot() }
        if levels.count == 1 {
            // Two levels: multinom's binomial layout, one row per column.
            let columns = [fit.estimates, errors].map { RFormat.format($0.map { Optional($0) }, digits: 7) }
            let cells = (0..<p).map { j in columns.map { $0[j] } }
            return ["", "Coefficients:"]
                + RFormat.matrix(rowNames: fit.columnNames, columnNames: ["Values", "Std. Err."], cells: cells)
        }
        func table(_ values: [Double]) -> [String] {
            let columns = (0..<p).map { j in RFormat.format(levels.indices.map { values[$0 * p + j] }, digits: 7) }
            let cells = levels.indices.map { k in (0..<p).map { columns[$0][k] } }
            return RFormat.matrix(rowNames: levels, columnNames: fit.columnNames, cells: cells)
        }
        return ["", "Coefficients:"] + table(fit.estimates) + ["", "Std. Errors:"] + table(errors)
    }

    /// summary.polr: the location coefficients as a numeric matrix printed with 4 digits;
    /// the intercepts (thresholds) rounded to 4 decimals, formatted together and printed
    /// as a left-aligned character matrix.
    static func ordinalTables(_ fit: CategoricalFit) -> [String] {
        let p = fit.columnNames.count
        let errors = fit.covariance.indices.map { fit.covariance[$0][$0].squareRoot() }
        let statistics = zip(fit.estimates, errors).map { $0 / $1 }
        var lines: [String] = []
        if p > 0 {
            let columns = [fit.estimates, errors, statistics].map { column in
                RFormat.format(Array(column[0..<p]).map { Optional($0) }, digits: 4)
            }
            let cells = (0..<p).map { i in columns.map { $0[i] } }
            lines += ["", "Coefficients:"]
                + RFormat.matrix(rowNames: Array(fit.terms[0..<p]), columnNames: ["Value", "Std. Error", "t value"], cells: cells)
        } else {
            lines += ["", "No coefficients"]
        }
        let thresholds = p..<fit.estimates.count
        let rounded = thresholds.flatMap { i in [fit.estimates[i], errors[i], statistics[i]] }.map { RFormat.round($0, digits: 4) }
        let formatted = RFormat.format(rounded.map { Optional($0) }, digits: 7)
        let names = ["Value", "Std. Error", "t value"]
        let cells = (0..<thresholds.count).map { r in (0..<3).map { formatted[r * 3 + $0] } }
        let rowNames = Array(fit.terms[thresholds])
        let labelWidth = rowNames.map(\.count).max() ?? 0
        let widths = (0..<3).map { j in max(names[j].count, cells.map { $0[j].count }.max() ?? 0) }
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        lines += ["", "Intercepts:"]
        lines.append(([String(repeating: " ", count: labelWidth)] + (0..<3).map { pad(names[$0], widths[$0]) }).joined(separator: " "))
        for (r, name) in rowNames.enumerated() {
            lines.append(([pad(name, labelWidth)] + (0..<3).map { pad(cells[r][$0], widths[$0]) }).joined(separator: " "))
        }
        return lines
    }

    static func responseLines(_ fit: CategoricalFit) -> [String] {
        let name = fit.design.frame.responseLabel
        let levels = fit.levels.joined(separator: ", ")
        var lines: [String] = []
        switch fit.kind {
        case .ordinal:
            let link = fit.link ?? .logit
            lines.append("Response: \(name), ordered \(fit.levels.joined(separator: " < ")); "
                + "P(\(name) <= k) = F(zeta_k - eta), \(link.polrMethod) F")
        default:
            lines.append("Response: \(name), levels \(levels); baseline \(fit.levels.first ?? "")")
        }
        let codings = fit.design.factorCodings
        if !codings.isEmpty {
            lines.append("Reference levels: " + codings.map { "\($0.variable) = \($0.reference ?? "none (every level has a column)")" }
                .joined(separator: "; "))
        }
        return lines
    }

    /// anova(reduced, full) for multinom and polr fits: R's "Likelihood ratio tests" table.
    static func comparisonLines(_ comparison: CategoricalComparison, fit: CategoricalFit) -> [String] {
        let title = fit.kind == .multinomial ? "Likelihood ratio tests of Multinomial Models"
            : "Likelihood ratio tests of ordinal regression models"
        let columnNames = ["Resid. df", "Resid. Dev", "Test", "Df", "LR stat.", "Pr(Chi)"]
        let df = RFormat.format([comparison.reducedResidualDf, comparison.fullResidualDf].map { Optional($0) }, digits: 7)
        let deviance = RFormat.format([comparison.reducedDeviance, comparison.fullDeviance].map { Optional($0) }, digits: 7)
        let statistic = RFormat.format(comparison.statistic, digits: 7)
        let p = RFormat.format(comparison.pValue, digits: 7)
        let cells = [
            [comparison.reducedFormula, df[0], deviance[0], "", "", "", ""],
            [comparison.fullFormula, df[1], deviance[1], "1 vs 2", String(comparison.df), statistic, p],
        ]
        return [title, "", "Response: \(fit.design.frame.responseLabel)"]
            + RFormat.matrix(rowNames: ["1", "2"], columnNames: ["Model"] + columnNames, cells: cells)
    }
}

extension JSONReport {
    public static func value(_ report: CategoricalReport) -> JSONValue {
        let fit = report.fit
        let coefficients: [JSONValue] = report.coefficients.enumerated().map { index, row in
            guard case let .object(members) = coefficientObject(row) else { return .null }
            // `term` is the column name (or `a|b`); the text's row name adds the level.
            return .object([("component", .string(fit.components[index])), ("term", .string(fit.terms[index]))]
                + members.filter { $0.0 != "term" })
        }
        var members: [(String, JSONValue)] = [
            ("model", .string(fit.kind.rawValue)),
            ("formula", .string(fit.design.frame.terms.formula.deparsed)),
            ("family", .string(fit.kind.rawValue)),
            ("link", .string(fit.link?.rawValue ?? "logit")),
            ("weights", .string(fit.design.frame.weightsColumn)),
            ("response", .string(fit.design.frame.responseLabel)),
            ("levels", .array(fit.levels.map { .string($0) })),
            ("n_obs", .integer(fit.observationCount)),
            ("n_dropped", .integer(fit.droppedCount)),
            ("sum_weights", .number(fit.weightSum)),
            ("df", .integer(fit.parameterCount)),
            ("log_likelihood", .number(fit.logLikelihood)),
            ("deviance", .number(fit.deviance)),
            ("aic", .number(fit.aic)),
            ("bic", .number(fit.bic)),
            ("converged", .bool(fit.converged)),
            ("iterations", .integer(fit.iterations)),
            ("statistic_type", .string("z")),
            ("conf_level", .number(report.confidenceLevel)),
            ("ci_method", .string("wald")),
            ("exp_label", .string(fit.ratioLabel)),
            ("coefficients", .array(coefficients)),
            ("factors", factors(fit.design.factorCodings)),
            ("vcov", .object([
                ("terms", .array(fit.parameterNames.map { .string($0) })),
                ("matrix", .array(fit.covariance.map { row in .array(row.map { .number($0) }) })),
            ])),
        ]
        if let comparison = report.comparison {
            members.append(("comparison", .object([
                ("reduced", .string(comparison.reducedFormula)), ("full", .string(comparison.fullFormula)),
                ("reduced_deviance", .number(comparison.reducedDeviance)), ("full_deviance", .number(comparison.fullDeviance)),
                ("df", .integer(comparison.df)), ("statistic", .number(comparison.statistic)),
                ("p_value", .number(comparison.pValue)),
            ])))
        }
        if !report.waldTests.isEmpty {
            members.append(("wald_tests", JSONReport.chiSquareWaldTests(report.waldTests)))
        }
        if let column = fit.design.frame.frequencyWeightsColumn {
            // Only with --frequency-weights: n_obs then counts the observations the rows stand for.
            members.append(("frequency_weights", .string(column)))
            members.append(("n_rows", .integer(fit.design.rowCount)))
        }
        members.append(("warnings", .array(report.warnings.map { .string($0) })))
        return .object(members)
    }

    public static func render(_ report: CategoricalReport) -> String {
        value(report).rendered(indent: 2) + "\n"
    }
}

extension CSVReport {
    /// One row per coefficient, with its `component` first.
    public static func render(_ report: CategoricalReport) -> String {
        let table = rows(report.coefficients).split(separator: "\n", omittingEmptySubsequences: false)
        var lines = ["component," + (table.first.map(String.init) ?? "")]
        let fit = report.fit
        for (index, line) in table.dropFirst().enumerated() where index < fit.components.count {
            // The row's first field is the text's row name (`level:term`); the CSV has the term.
            let shown = field(report.coefficients[index].term)
            let rest = line.hasPrefix(shown) ? line.dropFirst(shown.count) : line
            lines.append(field(fit.components[index]) + "," + field(fit.terms[index]) + rest)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
