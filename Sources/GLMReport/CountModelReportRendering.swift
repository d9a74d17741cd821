import Foundation
import GLMCore

/// The zero-inflated and hurdle kinds' text is `print(summary(zeroinfl(...)))`'s and
/// `print(summary(hurdle(...)))`'s layout, followed by what pscl leaves out: Wald intervals,
/// rate and odds ratios, AIC and BIC, and the Vuong test when asked for.
extension TextReport {
    public static func render(_ report: CountModelReport, dataName: String) -> String {
        let fit = report.fit
        let isHurdle = fit.kind == .hurdle
        var arguments = ["formula = \(report.formulaText)", "data = \(dataName)"]
        if let weights = fit.countDesign.frame.weightsColumn { arguments.append("weights = \(weights)") }
        if fit.distribution != .poisson { arguments.append("dist = \"\(fit.distribution.psclName)\"") }
        if fit.zeroLink != .logit { arguments.append("link = \"\(fit.zeroLink.rawValue)\"") }
        var lines = ["", "Call:"] + wrappedCall(isHurdle ? "hurdle" : "zeroinfl", arguments)
        lines.append("")
        lines.append("Pearson residuals:")
        let quantiles = typeSevenQuantiles(fit.pearsonResiduals(), at: [0, 0.25, 0.5, 0.75, 1])
        let texts = RFormat.format(quantiles.map { Optional($0) }, digits: 4)
        let names = ["Min", "1Q", "Median", "3Q", "Max"]
        let width = max(texts.map(\.count).max() ?? 0, 6)
        func padded(_ items: [String]) -> String {
            items.map { String(repeating: " ", count: max(0, width - $0.count)) + $0 }.joined(separator: " ") + " "
        }
        lines += [padded(names), padded(texts)]
        let rows = report.coefficients
        let countRows = Array(rows[0..<fit.countColumnCount])
        let zeroRows = Array(rows[fit.countColumnCount...])
        var countTable: [(String, Double?, Double?, Double?, Double?)] = countRows.map {
            ($0.term, $0.estimate, $0.standardError, $0.statistic, $0.pValue)
        }
        if let logTheta = fit.logTheta, let se = fit.logThetaStandardError {
            let z = logTheta / se
            countTable.append(("Log(theta)", logTheta, se, z, 2 * Distributions.pnorm(-abs(z))))
        }
        func table(_ entries: [(String, Double?, Double?, Double?, Double?)]) -> [String] {
            let printed = RFormat.coefficientTable(
                rowNames: entries.map(\.0), estimate: entries.map(\.1), stdError: entries.map(\.2),
                statistic: entries.map(\.3), pValue: entries.map(\.4), statisticLabel: "z value", pValueLabel: "Pr(>|z|)")
            // pscl prints the significance legend once, after both tables.
            guard let rule = printed.firstIndex(of: "---") else { return printed }
            return Array(printed[..<rule])
        }
        let countName = (isHurdle ? "truncated " : "") + fit.distribution.psclName
        lines.append("")
        lines.append("Count model coefficients (\(countName) with log link):")
        lines += table(countTable)
        lines.append("")
        lines.append(isHurdle
            ? "Zero hurdle model coefficients (binomial with \(fit.zeroLink.rawValue) link):"
            : "Zero-inflation model coefficients (binomial with \(fit.zeroLink.rawValue) link):")
        lines += table(zeroRows.map { ($0.term, $0.estimate, $0.standardError, $0.statistic, $0.pValue) })
        if (countTable.map(\.4) + zeroRows.map(\.pValue)).contains(where: { ($0 ?? 1) < 0.1 }) {
            lines.append("---")
            lines.append("Signif. codes:  0 \u{2018}***\u{2019} 0.001 \u{2018}**\u{2019} 0.01 \u{2018}*\u{2019} 0.05 \u{2018}.\u{2019} 0.1 \u{2018} \u{2019} 1 ")
        }
        lines.append("")
        if let theta = fit.theta {
            // paste("Theta =", round(theta, 4)): as.character, up to 15 significant digits.
            lines.append("Theta = \(RFormat.format(RFormat.round(theta, digits: 4), digits: 15)) ")
        }
        lines.append("Number of iterations in Newton optimization: \(fit.iterations) ")
        // formatC(loglik, digits = 4): C's %.4g.
        lines.append("Log-likelihood: \(String(format: "%.4g", fit.logLikelihood)) on \(fit.parameterCount) Df")
        if fit.droppedCount > 0 {
            lines.append("(\(fit.droppedCount) observation\(fit.droppedCount == 1 ? "" : "s") deleted due to missingness)")
        }
        lines.append("")
        let codings = fit.countDesign.factorCodings + fit.zeroDesign.factorCodings.filter { coding in
            !fit.countDesign.factorCodings.contains { $0.variable == coding.variable }
        }
        if !codings.isEmpty {
            lines.append("Reference levels: " + codings.map { "\($0.variable) = \($0.reference ?? "none (every level has a column)")" }
                .joined(separator: "; "))
            lines.append("")
        }
        let level = report.confidenceLevel
        lines += intervalLines(rows: countRows, level: level, method: "Count model: Wald", ratioLabel: "rate ratio", note: nil)
        lines.append("")
        lines += intervalLines(
            rows: zeroRows, level: level, method: "Zero model: Wald", ratioLabel: fit.zeroLink == .logit ? "odds ratio" : nil,
            note: nil)
        lines.append("")
        var summary = "Log-likelihood: \(RFormat.format(fit.logLikelihood, digits: 7)) (df = \(fit.parameterCount))   "
            + "AIC: \(RFormat.format(fit.aic, digits: 7))   BIC: \(RFormat.format(fit.bic, digits: 7))"
        if let theta = fit.theta, let se = fit.thetaStandardError {
            summary += "\nTheta: \(RFormat.format(theta, digits: 7)) (std. error \(RFormat.format(se, digits: 5)))"
        }
        lines.append(summary)
        lines.append("Newton iterations: \(fit.iterations)\(fit.converged ? "" : " (did not converge)")")
        if let vuong = report.vuong {
            lines.append("")
            lines += vuongLines(vuong)
        }
        if let comparison = report.comparison {
            lines.append("")
            lines.append("Likelihood ratio test of nested \(fit.kind.rawValue) models")
            let cells = [
                [comparison.reducedFormula, RFormat.format(-comparison.reducedDeviance / 2, digits: 7),
                 String(comparison.reducedParameters), "", "", ""],
                [comparison.fullFormula, RFormat.format(-comparison.fullDeviance / 2, digits: 7),
                 String(comparison.fullParameters), String(comparison.df), RFormat.format(comparison.statistic, digits: 5),
                 RFormat.formatPValues([comparison.pValue], digits: 4, eps: 2.220446e-16)[0]],
            ]
            lines += RFormat.matrix(
                rowNames: ["1", "2"], columnNames: ["Model", "LogLik", "#Df", "Df", "Chisq", "Pr(>Chisq)"], cells: cells)
        }
        for result in report.waldTests {
            lines.append("")
            lines += AnalysisReport.wald(result)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// pscl::vuong's printed table.
    static func vuongLines(_ vuong: VuongTest) -> [String] {
        let statistics = vuong.rows.map { RFormat.format($0.statistic, digits: 7) }
        let pValues = vuong.rows.map { RFormat.format(RFormat.signif($0.pValue, digits: 5), digits: 5) }
        let cells = vuong.rows.indices.map { [statistics[$0], vuong.rows[$0].favours, pValues[$0]] }
        return [
            "Vuong Non-Nested Hypothesis Test-Statistic: (model1 = this fit, model2 = its plain count model)",
            "(test-statistic is asymptotically distributed N(0,1) under the",
            " null that the models are indistinguishible)",
            "-------------------------------------------------------------",
        ] + RFormat.matrix(rowNames: vuong.rows.map(\.label), columnNames: ["Vuong z-statistic", "H_A", "p-value"], cells: cells)
    }

    /// R's quantile(type = 7).
    static func typeSevenQuantiles(_ values: [Double], at probabilities: [Double]) -> [Double] {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else { return probabilities.map { _ in .nan } }
        return probabilities.map { p in
            let h = Double(sorted.count - 1) * p
            let lower = Int(h.rounded(.down))
            let upper = min(lower + 1, sorted.count - 1)
            return sorted[lower] + (h - Double(lower)) * (sorted[upper] - sorted[lower])
        }
    }
}

extension CountModelReport {
    /// The formula as given, with its two parts (pscl's call).
    public var formulaText: String {
        let count = fit.countDesign.frame.terms.formula.deparsed
        let zero = fit.zeroDesign.frame.terms.formula.predictors.deparsed
        let countSide = fit.countDesign.frame.terms.formula.predictors.deparsed
        return countSide == zero ? count : "\(count) | \(zero)"
    }
}

extension JSONReport {
    public static func value(_ report: CountModelReport) -> JSONValue {
        let fit = report.fit
        let components = fit.components
        let coefficients: [JSONValue] = report.coefficients.enumerated().map { index, row in
            guard case let .object(members) = coefficientObject(row) else { return .null }
            return .object([("component", .string(components[index]))] + members)
        }
        let members: [(String, JSONValue)] = [
            ("model", .string(fit.kind.rawValue)),
            ("formula", .string(report.formulaText)),
            ("family", .string(fit.distribution == .negativeBinomial ? "negative-binomial" : fit.distribution.rawValue)),
            ("link", .string("log")),
            ("zero_link", .string(fit.zeroLink.rawValue)),
            ("weights", .string(fit.countDesign.frame.weightsColumn)),
            ("response", .string(fit.countDesign.frame.responseLabel)),
            ("n_obs", .integer(fit.observationCount)),
            ("n_dropped", .integer(fit.droppedCount)),
            ("df", .integer(fit.parameterCount)),
            ("log_likelihood", .number(fit.logLikelihood)),
            ("aic", .number(fit.aic)),
            ("bic", .number(fit.bic)),
            ("theta", fit.theta.map { .number($0) } ?? .null),
            ("theta_std_error", fit.thetaStandardError.map { .number($0) } ?? .null),
            ("log_theta_std_error", fit.logThetaStandardError.map { .number($0) } ?? .null),
            ("converged", .bool(fit.converged)),
            ("iterations", .integer(fit.iterations)),
            ("statistic_type", .string("z")),
            ("conf_level", .number(report.confidenceLevel)),
            ("ci_method", .string("wald")),
            ("coefficients", .array(coefficients)),
            ("factors", factors(fit.countDesign.factorCodings)),
            ("vcov", .object([
                ("terms", .array(fit.parameterNames.map { .string($0) })),
                ("matrix", .array(fit.covariance.map { row in .array(row.map { .number($0) }) })),
            ])),
        ] + optionalMembers(report)
        return .object(members + [("warnings", .array(report.warnings.map { .string($0) }))])
    }

    static func optionalMembers(_ report: CountModelReport) -> [(String, JSONValue)] {
        var members: [(String, JSONValue)] = []
        if let vuong = report.vuong {
            members.append(("vuong", .array(vuong.rows.map { row in
                .object([
                    ("correction", .string(row.label)), ("statistic", .number(row.statistic)),
                    ("favours", .string(row.statistic > 0 ? "model1" : "model2")), ("p_value", .number(row.pValue)),
                ])
            })))
        }
        if let comparison = report.comparison {
            members.append(("comparison", .object([
                ("reduced", .string(comparison.reducedFormula)), ("full", .string(comparison.fullFormula)),
                ("reduced_log_likelihood", .number(-comparison.reducedDeviance / 2)),
                ("full_log_likelihood", .number(-comparison.fullDeviance / 2)),
                ("df", .integer(comparison.df)), ("statistic", .number(comparison.statistic)),
                ("p_value", .number(comparison.pValue)),
            ])))
        }
        if !report.waldTests.isEmpty {
            members.append(("wald_tests", JSONReport.chiSquareWaldTests(report.waldTests)))
        }
        return members
    }

    public static func render(_ report: CountModelReport) -> String {
        value(report).rendered(indent: 2) + "\n"
    }
}

extension CSVReport {
    /// One row per coefficient, with its `component` first.
    public static func render(_ report: CountModelReport) -> String {
        let table = rows(report.coefficients).split(separator: "\n", omittingEmptySubsequences: false)
        let components = report.fit.components
        var lines = ["component," + (table.first.map(String.init) ?? "")]
        for (index, line) in table.dropFirst().enumerated() where index < report.coefficients.count {
            lines.append(field(components[index]) + "," + line)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
