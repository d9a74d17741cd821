import Foundation
import GLMCore

/// geeglm's `print(summary(fit))` layout, then glmfit's intervals and QIC.
extension TextReport {
    public static func render(_ report: GEEReport, dataName: String) -> String {
        let fit = report.fit
        var arguments = [
            "formula = \(report.formula.deparsed)",
            "family = \(fit.family.kind.rawValue)(link = \"\(fit.family.link.name)\")",
            "data = \(dataName)", "id = \(report.idColumn)",
        ]
        if let waves = report.wavesColumn { arguments.append("waves = \(waves)") }
        if let weights = report.weightsColumn { arguments.append("weights = \(weights)") }
        arguments.append("corstr = \"\(fit.structure.rawValue)\"")
        var lines = ["", "Call:"] + wrappedCall("geeglm", arguments) + [""]
        if report.covariance == .naive { lines.append("Standard errors: naive (model-based), not the sandwich") }
        lines.append(" Coefficients:")
        let rows = report.coefficients
        lines += RFormat.printCoefmat(
            rowNames: rows.map { TextElision.elided($0.term) }, columnNames: ["Estimate", "Std.err", "Wald", "Pr(>|W|)"],
            columns: [rows.map(\.estimate), rows.map(\.standardError), rows.map(\.statistic), rows.map(\.pValue)],
            digits: 4, coefficientColumns: [0, 1], testColumns: [2], hasPValue: true, naPrint: "NA")
        let levels = levelLines(factors: fit.factorCodings, response: fit.responseLevels, family: fit.family.kind)
        if !levels.isEmpty { lines += [""] + levels }
        lines += ["", "Correlation structure = \(fit.structure.rawValue) ", "Estimated Scale Parameters:", ""]
        lines += parameterTable(rowNames: ["(Intercept)"], estimates: [fit.scale], errors: [fit.scaleStandardError])
        if fit.structure != .independence {
            lines.append("  Link = identity ")
            lines += ["", "Estimated Correlation Parameters:"]
            lines += parameterTable(
                rowNames: fit.correlation.map(\.label), estimates: fit.correlation.map(\.estimate),
                errors: fit.correlation.map(\.standardError))
        }
        lines.append("Number of clusters:   \(fit.clusterCount)  Maximum cluster size: \(fit.maxClusterSize) ")
        if fit.droppedCount > 0 {
            lines.append("  (\(fit.droppedCount) observation\(fit.droppedCount == 1 ? "" : "s") deleted due to missingness)")
        }
        if fit.subsetExcludedCount > 0 {
            lines.append("  (\(fit.subsetExcludedCount) observation\(fit.subsetExcludedCount == 1 ? "" : "s") excluded by --subset)")
        }
        lines.append("Iterations: \(fit.iterations)\(fit.converged ? "" : " (did not converge)")")
        lines.append("")
        lines += intervalLines(
            rows: rows, level: report.confidenceLevel, method: "Wald", ratioLabel: fit.ratioLabel,
            note: report.covariance == .robust ? "robust" : "naive")
        if let qic = fit.qic {
            lines.append("")
            lines += namedVector(
                names: ["QIC", "QICu", "Quasi Lik", "CIC", "params", "QICC"],
                values: RFormat.format(
                    [qic.qic, qic.qicu, qic.quasiLikelihood, qic.cic, Double(qic.parameterCount), qic.qicc], digits: 4))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// print() of a named numeric vector: names right-aligned over their values.
    static func namedVector(names: [String], values: [String]) -> [String] {
        let widths = zip(names, values).map { max($0.count, $1.count) }
        func line(_ texts: [String]) -> String {
            zip(texts, widths).map { String(repeating: " ", count: $1 - $0.count) + $0 }.joined(separator: " ")
        }
        return [line(names), line(values)]
    }

    /// print() of a data frame of estimates and standard errors, each column formatted alone.
    static func parameterTable(rowNames: [String], estimates: [Double], errors: [Double]) -> [String] {
        let estimateText = RFormat.format(estimates.map { $0 }, digits: 4)
        let errorText = RFormat.format(errors.map { $0 }, digits: 4)
        return RFormat.matrix(
            rowNames: rowNames, columnNames: ["Estimate", "Std.err"],
            cells: rowNames.indices.map { [estimateText[$0], errorText[$0]] })
    }
}

extension JSONReport {
    public static func value(_ report: GEEReport) -> JSONValue {
        let fit = report.fit
        let coefficients: [JSONValue] = report.coefficients.enumerated().map { index, row in
            let other = index < report.otherStandardErrors.count ? report.otherStandardErrors[index] : nil
            return coefficientObject(row, extra: [
                ("robust_std_error", .number(report.covariance == .robust ? row.standardError : other)),
                ("naive_std_error", .number(report.covariance == .naive ? row.standardError : other)),
            ])
        }
        func matrix(_ rows: [[Double]]) -> JSONValue {
            guard !report.covarianceOmitted else { return .null }
            return .object([
                ("terms", .array(fit.covarianceNames.map { .string($0) })),
                ("matrix", .array(rows.map { row in .array(row.map { .number($0) }) })),
            ])
        }
        var members: [(String, JSONValue)] = [
            ("formula", .string(report.formula.deparsed)),
            ("family", .string(fit.family.kind.cliName)),
            ("link", .string(fit.family.link.name)),
            ("weights", .string(report.weightsColumn)),
            ("model", .string("gee")),
            ("n_obs", .integer(fit.observationCount)),
            ("n_dropped", .integer(fit.droppedCount)),
            ("n_clusters", .integer(fit.clusterCount)),
            ("max_cluster_size", .integer(fit.maxClusterSize)),
            ("id", .string(report.idColumn)),
            ("waves", .string(report.wavesColumn)),
            ("converged", .bool(fit.converged)),
            ("iterations", .integer(fit.iterations)),
            ("scale", .number(fit.scale)),
            ("scale_std_error", .number(fit.scaleStandardError)),
            ("correlation", .object([
                ("structure", .string(fit.structure.rawValue)),
                ("alpha", .array(fit.correlation.map { .number($0.estimate) })),
                ("labels", .array(fit.correlation.map { .string($0.label) })),
                ("std_errors", .array(fit.correlation.map { .number($0.standardError) })),
            ])),
            ("se_type", .string(report.covariance.rawValue)),
            ("statistic_type", .string("wald_chisq")),
            ("conf_level", .number(report.confidenceLevel)),
            ("ci_method", .string("wald")),
            ("exp_label", .string(fit.ratioLabel)),
            ("coefficients", .array(coefficients)),
            ("factors", factors(fit.factorCodings)),
            ("response_levels", responseLevels(fit.responseLevels)),
            ("vcov", matrix(fit.covariance(report.covariance))),
            ("vcov_robust", matrix(fit.robustCovariance)),
            ("vcov_naive", matrix(fit.naiveCovariance)),
        ]
        if let qic = fit.qic {
            members.append(("qic", .object([
                ("qic", .number(qic.qic)), ("qicu", .number(qic.qicu)), ("quasi_likelihood", .number(qic.quasiLikelihood)),
                ("cic", .number(qic.cic)), ("params", .integer(qic.parameterCount)), ("qicc", .number(qic.qicc)),
            ])))
        } else {
            members.append(("qic", .null))
        }
        if report.covarianceOmitted {
            members.append(("vcov_omitted", .string(
                "the model has \(fit.covarianceNames.count) estimated coefficients, more than "
                    + "\(GLMSummary.covarianceLimit): the covariance matrices are not written (every standard error is); "
                    + "--full-covariance writes them")))
        }
        if fit.subsetExcludedCount > 0 {
            members.append(("n_excluded_by_subset", .integer(fit.subsetExcludedCount)))
        }
        members.append(("warnings", .array(fit.warnings.map { .string($0) })))
        return .object(members)
    }

    public static func render(_ report: GEEReport) -> String {
        value(report).rendered(indent: 2) + "\n"
    }
}

extension CSVReport {
    public static func render(_ report: GEEReport) -> String {
        rows(report.coefficients)
    }
}
