import Foundation
import GLMCore

/// The default report: R's `summary.glm` layout (R ≥ 4.3, without the deviance-residual
/// quantiles), followed by what R does not print: the confidence intervals with the
/// exp'd ratios, the log-likelihood and BIC.
///
/// Labels from the data (coefficient and term names, which hold factor levels and column
/// names) are printed elided past `TextElision.labelLimit` characters, as
/// `abc…(57,000,000 characters)`; the JSON report keeps them whole.
public enum TextReport {
    /// The characters of the formula the Call line shows (a generated formula can be long).
    static let formulaLimit = 2_000

    /// R's significance legend, as printed in a UTF-8 locale.
    public static func render(_ report: ModelReport, dataName: String) -> String {
        let summary = report.summary
        var lines: [String] = [""]
        lines.append("Call:")
        lines.append(contentsOf: callLines(summary, dataName: dataName))
        lines.append("")
        if let note = standardErrorNote(summary.standardErrors) { lines.append(note) }
        lines.append(contentsOf: coefficientSection(summary))
        let levels = levelLines(
            factors: summary.fit.design.factorCodings, response: summary.fit.design.responseLevels,
            family: summary.fit.family.kind)
        if !levels.isEmpty { lines.append(contentsOf: [""] + levels) }
        lines.append("")
        lines.append(contentsOf: devianceSection(summary))
        lines.append("")
        lines.append("Number of Fisher Scoring iterations: \(summary.fit.irls.iterations)")
        lines.append("")
        if let negativeBinomial = report.negativeBinomial {
            lines.append(contentsOf: thetaSection(negativeBinomial))
            lines.append("")
        }
        lines.append(contentsOf: intervalSection(summary))
        lines.append("")
        lines.append(contentsOf: likelihoodSection(summary))
        if let test = report.dispersionTest {
            lines.append("")
            lines.append(contentsOf: dispersionTestSection(test))
        }
        for result in report.waldTests {
            lines.append("")
            lines.append(contentsOf: AnalysisReport.wald(result))
        }
        if let anova = report.anova {
            lines.append("")
            lines.append(contentsOf: AnalysisReport.sequential(anova, fit: report.fit))
        }
        if let dropOne = report.dropOne {
            lines.append("")
            lines.append(contentsOf: AnalysisReport.dropOne(dropOne, fit: report.fit))
        }
        if let comparison = report.comparison {
            lines.append("")
            lines.append(contentsOf: AnalysisReport.comparison(comparison, reduced: report.comparedFormula ?? "", fit: report.fit))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func standardErrorNote(_ source: StandardErrorSource) -> String? {
        switch source {
        case .model:
            return nil
        case let .sandwich(type):
            return "Standard errors: robust, sandwich \(type.rawValue) (sandwich::vcovHC); z tests (lmtest::coeftest)"
        case let .clustered(type, column, clusters, adjusted):
            let adjustment = adjusted ? ", G/(G-1) adjusted" : ""
            return "Standard errors: cluster-robust by \(column), \(clusters) clusters, \(type.rawValue)\(adjustment) "
                + "(sandwich::vcovCL); z tests (lmtest::coeftest)"
        }
    }

    /// `print.summary.negbin`'s lines: theta and its standard error rounded to the same
    /// decimals, then twice the log-likelihood.
    static func thetaSection(_ fit: NegativeBinomialFit) -> [String] {
        // An infinite or zero standard error has no decimal exponent: R's digits then.
        let exponent = log10(fit.thetaStandardError).rounded(.down)
        let decimals = exponent.isFinite ? max(2 - Int(Swift.min(Swift.max(exponent, -400), 400)), 0) : 2
        func rounded(_ value: Double) -> String {
            RFormat.format([RFormat.round(value, digits: decimals)], digits: 7, nsmall: decimals)[0]
        }
        var lines = [
            "",
            "              Theta:  \(rounded(fit.theta)) ",
            "          Std. Err.:  \(rounded(fit.thetaStandardError)) ",
        ]
        if let warning = fit.thetaWarning { lines.append("Warning while fitting theta: \(warning) ") }
        lines += ["", " 2 x log-likelihood:  \(rounded(fit.twoLogLikelihood)) "]
        return lines
    }

    /// As R prints an `htest` from `AER::dispersiontest`.
    static func dispersionTestSection(_ test: DispersionTestResult) -> [String] {
        let relation: String
        switch test.alternative {
        case .greater: relation = "greater than"
        case .less: relation = "less than"
        case .twoSided: relation = "not equal to"
        }
        let pValue = RFormat.formatPValues([test.pValue], digits: 4, eps: Double.ulpOfOne)[0]
        let pText = pValue.hasPrefix("<") ? "p-value \(pValue)" : "p-value = \(pValue)"
        return [
            "\(test.method) (Cameron & Trivedi, as AER::dispersiontest\(test.trafo.map { ", trafo = \(RFormat.format($0))" } ?? "")):",
            "z = \(RFormat.format(test.statistic, digits: 5)), \(pText)",
            "alternative hypothesis: true \(test.estimateLabel) is \(relation) \(RFormat.format(test.nullValue))",
            "estimated \(test.estimateLabel): \(RFormat.format(test.estimate, digits: 6))",
        ]
    }

    /// `glmfit(formula = …, family = poisson(link = "log"), data = …)`, wrapped as R's
    /// deparse wraps a long call: continuation lines indented by four spaces.
    static func callLines(_ summary: GLMSummary, dataName: String) -> [String] {
        let fit = summary.fit
        var arguments = [
            "formula = \(TextElision.elided(fit.design.frame.terms.formula.deparsed, limit: TextReport.formulaLimit))",
            "family = \(fit.family.kind.rawValue)(link = \"\(fit.family.link.name)\")",
            "data = \(dataName)",
        ]
        if let weights = fit.design.frame.weightsColumn { arguments.append("weights = \(TextElision.elided(weights))") }
        if let counts = fit.design.frame.frequencyWeightsColumn {
            arguments.append("frequency.weights = \(TextElision.elided(counts))")
        }
        return wrappedCall("glmfit", arguments)
    }

    /// `name(arg, arg, ...)` wrapped at about 70 characters, continuation lines indented by
    /// four spaces, as R's deparse wraps a call.
    static func wrappedCall(_ name: String, _ arguments: [String]) -> [String] {
        var lines: [String] = []
        var current = name + "("
        for (index, argument) in arguments.enumerated() {
            let piece = argument + (index + 1 < arguments.count ? ", " : ")")
            if current.count + piece.count > 70, current.trimmingCharacters(in: .whitespaces) != name + "(" {
                lines.append(String(current.dropLast(current.hasSuffix(" ") ? 1 : 0)))
                current = "    "
            }
            current += piece
        }
        lines.append(current)
        return lines
    }

    static func coefficientSection(_ summary: GLMSummary) -> [String] {
        let rows = summary.coefficients
        guard !rows.isEmpty else { return ["No Coefficients"] }
        let singular = rows.filter { $0.estimate == nil }.count
        var lines = [singular > 0 ? "Coefficients: (\(singular) not defined because of singularities)" : "Coefficients:"]
        let letter = summary.usesTStatistic ? "t" : "z"
        lines.append(contentsOf: RFormat.coefficientTable(
            rowNames: rows.map { TextElision.elided($0.term) }, estimate: rows.map(\.estimate), stdError: rows.map(\.standardError),
            statistic: rows.map(\.statistic), pValue: rows.map(\.pValue), statisticLabel: "\(letter) value",
            pValueLabel: "Pr(>|\(letter)|)"))
        return lines
    }

    /// What R leaves unsaid: each factor's reference level (the base of its treatment
    /// contrasts, which depends on the locale's collation), and which level of a factor
    /// response is modelled.
    static func levelLines(factors codings: [FactorCoding], response: ResponseLevels?, family: Family.Kind) -> [String] {
        var lines: [String] = []
        if !codings.isEmpty {
            let parts = codings.map { coding -> String in
                guard coding.contrasted else { return "\(coding.variable) = none (every level has a column)" }
                switch (coding.reference, coding.contrasts) {
                case let (reference?, "contr.treatment"): return "\(coding.variable) = \(reference)"
                case let (reference?, contrasts): return "\(coding.variable) = \(reference) (\(contrasts))"
                case let (nil, contrasts): return "\(coding.variable) = none (\(contrasts))"
                }
            }
            lines.append("Reference levels: " + parts.joined(separator: "; "))
        }
        if let response, response.levels.count >= 2 {
            let name = response.variable
            if family == .binomial || family == .quasibinomial {
                let event = response.levels.count == 2 ? "\(name) = \(response.levels[1])" : "\(name) != \(response.failure)"
                lines.append("Response: \(name), modelling P(\(event))")
            } else {
                lines.append("Response: \(name), coded 0 for \(response.failure) and 1 for \(response.success.joined(separator: ", "))")
            }
        }
        return lines
    }

    static func devianceSection(_ summary: GLMSummary) -> [String] {
        let fit = summary.fit
        var lines = [
            "(Dispersion parameter for \(fit.family.displayName) family taken to be \(RFormat.format(summary.dispersion, digits: 7)))",
            "",
        ]
        let deviances = RFormat.format([fit.nullDeviance, fit.deviance], digits: 5)
        let degrees = RFormat.format([Double(fit.dfNull), Double(fit.dfResidual)], digits: 7)
        lines.append("    Null deviance: \(deviances[0])  on \(degrees[0])  degrees of freedom")
        lines.append("Residual deviance: \(deviances[1])  on \(degrees[1])  degrees of freedom")
        let dropped = fit.design.frame.droppedCount
        if dropped > 0 {
            lines.append("  (\(dropped) observation\(dropped == 1 ? "" : "s") deleted due to missingness)")
        }
        let excluded = fit.design.frame.subsetExcludedCount
        if excluded > 0 {
            lines.append("  (\(excluded) observation\(excluded == 1 ? "" : "s") excluded by --subset)")
        }
        lines.append("AIC: \(fit.aic.map { RFormat.format($0, digits: 5) } ?? "NA")")
        return lines
    }

    static func intervalSection(_ summary: GLMSummary) -> [String] {
        intervalLines(
            rows: summary.coefficients, level: summary.confidenceLevel,
            method: summary.intervalMethod == .wald ? "Wald" : "Profile-likelihood", ratioLabel: summary.ratioLabel,
            note: nil)
    }

    /// The confidence-interval table, with exp(estimate) and its interval when there is a
    /// ratio to report.
    static func intervalLines(
        rows: [CoefficientSummary], level: Double, method: String, ratioLabel: String?, note: String?
    ) -> [String] {
        guard !rows.isEmpty else { return [] }
        let lowLabel = percentLabel((1 - level) / 2)
        let highLabel = percentLabel((1 + level) / 2)
        var title = "\(method) \(RFormat.format(level * 100, digits: 7))% confidence intervals"
        if let note { title += " (\(note) standard errors)" }
        var columnNames = [lowLabel, highLabel]
        var columns: [[String]] = [
            RFormat.format(rows.map(\.confidenceLow), digits: 5),
            RFormat.format(rows.map(\.confidenceHigh), digits: 5),
        ]
        if let ratio = ratioLabel {
            title += ", with \(ratio.lowercased())s exp(estimate)"
            columnNames += [ratio, lowLabel, highLabel]
            columns += [
                RFormat.format(rows.map(\.ratio), digits: 5),
                RFormat.format(rows.map(\.ratioLow), digits: 5),
                RFormat.format(rows.map(\.ratioHigh), digits: 5),
            ]
        }
        let cells = rows.indices.map { index in columns.map { $0[index] } }
        return [title + ":"] + RFormat.matrix(
            rowNames: rows.map { TextElision.elided($0.term) }, columnNames: columnNames, cells: cells)
    }

    /// "2.5 %" as R's confint labels its columns.
    static func percentLabel(_ probability: Double) -> String {
        RFormat.format(probability * 100, digits: 3) + " %"
    }

    static func likelihoodSection(_ summary: GLMSummary) -> [String] {
        guard let logLikelihood = summary.logLikelihood, let bic = summary.bic else {
            return ["Log-likelihood, AIC and BIC are not defined for the \(summary.fit.family.kind.rawValue) family."]
        }
        return [
            "Log-likelihood: \(RFormat.format(logLikelihood, digits: 7)) (df = \(summary.logLikelihoodDegreesOfFreedom))   BIC: \(RFormat.format(bic, digits: 7))",
        ]
    }
}
