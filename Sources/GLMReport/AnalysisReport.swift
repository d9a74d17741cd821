import GLMCore

/// The text of R's `print()` of anova, drop1 and model-comparison tables, and glmfit's
/// Wald-test lines.
enum AnalysisReport {
    /// print.anova's printCoefmat call: 5 significant digits, blank NA cells, test
    /// statistics rounded, deviance-like columns zapped, Df columns as they are.
    static func table(rowNames: [String], columnNames: [String], columns: [[Double?]]) -> [String] {
        let testColumns = columnNames.indices.filter { ["F", "F value", "Chisq"].contains(columnNames[$0]) }
        let pColumn = columnNames.count - 1
        let zapColumns = columnNames.indices.filter {
            $0 != pColumn && !testColumns.contains($0) && !columnNames[$0].hasSuffix("Df")
        }
        return RFormat.printCoefmat(
            rowNames: rowNames.map { TextElision.elided($0) }, columnNames: columnNames, columns: columns, digits: 5, coefficientColumns: [],
            testColumns: testColumns, zapColumns: zapColumns, hasPValue: true, naPrint: "")
    }

    static func sequential(_ table: DevianceTable, fit: GLMFit) -> [String] {
        var names = ["Df", "Deviance", "Resid. Df", "Resid. Dev"]
        var columns: [[Double?]] = [
            table.rows.map { $0.df.map(Double.init) }, table.rows.map(\.deviance),
            table.rows.map { Double($0.residualDf) }, table.rows.map { $0.residualDeviance },
        ]
        if table.test == .f {
            names.append("F")
            columns.append(table.rows.map(\.statistic))
        }
        names.append(table.pValueName)
        columns.append(table.rows.map(\.pValue))
        return [
            "Analysis of Deviance Table", "", "Model: \(fit.family.kind.rawValue), link: \(fit.family.link.name)", "",
            "Response: \(fit.design.frame.responseLabel)", "", "Terms added sequentially (first to last)", "", "",
        ] + self.table(rowNames: table.rows.map(\.term), columnNames: names, columns: columns)
    }

    static func dropOne(_ table: DropOneTable, fit: GLMFit) -> [String] {
        var names = ["Df", "Deviance"]
        var columns: [[Double?]] = [table.rows.map { $0.df.map(Double.init) }, table.rows.map { $0.deviance }]
        if table.rows.contains(where: { $0.aic != nil }) {
            names.append("AIC")
            columns.append(table.rows.map(\.aic))
        }
        names += [table.statisticName, table.pValueName]
        columns += [table.rows.map(\.statistic), table.rows.map(\.pValue)]
        return ["Single term deletions", "", "Model:", TextElision.elided(fit.design.frame.terms.formula.deparsed, limit: TextReport.formulaLimit)]
            + self.table(rowNames: table.rows.map(\.term), columnNames: names, columns: columns)
    }

    static func comparison(_ comparison: ModelComparison, reduced: String, fit: GLMFit) -> [String] {
        var names = ["Resid. Df", "Resid. Dev", "Df", "Deviance"]
        var columns: [[Double?]] = [
            comparison.rows.map { Double($0.residualDf) }, comparison.rows.map { $0.residualDeviance },
            comparison.rows.map { $0.df.map(Double.init) }, comparison.rows.map(\.deviance),
        ]
        if comparison.test == .f {
            names.append("F")
            columns.append(comparison.rows.map(\.statistic))
        }
        names.append(comparison.pValueName)
        columns.append(comparison.rows.map(\.pValue))
        let labels = comparison.rows.map(\.model)
        return ["Analysis of Deviance Table", ""]
            + labels.enumerated().map { "Model \($0.offset + 1): \(TextElision.elided($0.element, limit: TextReport.formulaLimit))" }
            + self.table(rowNames: labels.indices.map { String($0 + 1) }, columnNames: names, columns: columns)
    }

    static func wald(_ result: WaldTestResult) -> [String] {
        let pValue = RFormat.formatPValues([result.pValue], digits: 4, eps: Double.ulpOfOne)[0]
        let pText = pValue.hasPrefix("<") ? "p-value \(pValue)" : "p-value = \(pValue)"
        let statistic: String
        switch result.test {
        case .chisq:
            statistic = "Chisq = \(RFormat.format(result.statistic, digits: 5)) on \(result.df) df"
        case .f:
            statistic = "F = \(RFormat.format(result.statistic, digits: 5)) on \(result.df) and \(result.residualDf) df"
        }
        return ["Wald test (as car::linearHypothesis) of " + result.hypothesis.descriptions.map { TextElision.elided($0) }.joined(separator: ", ") + ":",
                "  \(statistic), \(pText)"]
    }
}
