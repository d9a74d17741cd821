import Foundation
import GLMCore

/// The `--format json` object, per the JSON contract in DESIGN.md.
public enum JSONReport {
    /// The `wald_tests` member of a plug-in model kind's report (χ² tests only, so no
    /// residual degrees of freedom).
    static func chiSquareWaldTests(_ results: [WaldTestResult]) -> JSONValue {
        .array(results.map { result in
            .object([
                ("hypothesis", .array(result.hypothesis.descriptions.map { .string($0) })),
                ("test", .string(result.test.rawValue)), ("df", .integer(result.df)),
                ("statistic", .number(result.statistic)), ("p_value", .number(result.pValue)),
            ])
        })
    }

    public static func value(_ report: ModelReport) -> JSONValue {
        let summary = report.summary
        let fit = summary.fit
        let coefficients: [JSONValue] = summary.coefficients.map { coefficientObject($0) }
        var members: [(String, JSONValue)] = [
            ("formula", .string(fit.design.frame.terms.formula.deparsed)),
            ("family", .string(fit.family.kind.cliName)),
            ("link", .string(fit.family.link.name)),
            ("weights", .string(fit.design.frame.weightsColumn)),
            ("n_obs", .integer(fit.representedRowCount)),
            ("n_dropped", .integer(fit.design.frame.droppedCount)),
            ("df_residual", .integer(fit.dfResidual)),
            ("df_null", .integer(fit.dfNull)),
            ("rank", .integer(fit.rank)),
            ("converged", .bool(fit.irls.converged)),
            ("iterations", .integer(fit.irls.iterations)),
            ("dispersion", .number(summary.dispersion)),
            ("dispersion_estimated", .bool(summary.dispersionEstimated)),
            ("deviance", .number(fit.deviance)),
            ("null_deviance", .number(fit.nullDeviance)),
            ("aic", .number(fit.aic)),
            ("bic", .number(summary.bic)),
            ("log_likelihood", .number(summary.logLikelihood)),
            ("statistic_type", .string(summary.usesTStatistic ? "t" : "z")),
            ("conf_level", .number(summary.confidenceLevel)),
            ("ci_method", .string(summary.intervalMethod.rawValue)),
            ("exp_label", .string(summary.ratioLabel)),
            ("coefficients", .array(coefficients)),
            ("factors", factors(fit.design.factorCodings)),
            ("response_levels", responseLevels(fit.design.responseLevels)),
            ("vcov", summary.vcovOmitted ? .null : .object([
                ("terms", .array(summary.vcovNames.map { .string($0) })),
                ("matrix", .array(summary.vcov.map { row in .array(row.map { .number($0) }) })),
            ])),
            ("se_type", .string(summary.standardErrors.name)),
        ]
        if let column = fit.design.frame.frequencyWeightsColumn {
            // Only with --frequency-weights: n_obs then counts the observations the rows stand for.
            members.append(("frequency_weights", .string(column)))
            members.append(("n_rows", .integer(fit.design.rowCount)))
        }
        if summary.vcovOmitted {
            members.append(("vcov_omitted", .string(
                "the model has \(summary.vcovNames.count) estimated coefficients, more than "
                    + "\(GLMSummary.covarianceLimit): the covariance matrix is not written (every standard error is); "
                    + "--full-covariance writes it")))
        }
        if fit.design.frame.subsetExcludedCount > 0 {
            // Only with --subset, so that other reports keep their members.
            members.append(("n_excluded_by_subset", .integer(fit.design.frame.subsetExcludedCount)))
        }
        if case let .clustered(_, column, clusters, adjusted) = summary.standardErrors {
            members.append(("cluster", .object([
                ("column", .string(column)), ("n_clusters", .integer(clusters)), ("adjusted", .bool(adjusted)),
            ])))
        }
        if fit.family.kind == .negativeBinomial {
            let estimated = report.negativeBinomial
            members.append(("theta", .number(estimated?.theta ?? fit.family.theta)))
            members.append(("theta_std_error", .number(estimated?.thetaStandardError)))
            members.append(("theta_estimated", .bool(estimated != nil)))
            if let estimated {
                members.append(("two_log_likelihood", .number(estimated.twoLogLikelihood)))
                members.append(("theta_warning", .string(estimated.thetaWarning)))
            }
        }
        if let test = report.dispersionTest {
            members.append(("dispersion_test", .object([
                ("method", .string(test.method)),
                ("statistic", .number(test.statistic)),
                ("p_value", .number(test.pValue)),
                ("estimate", .number(test.estimate)),
                ("estimate_label", .string(test.estimateLabel)),
                ("null_value", .number(test.nullValue)),
                ("alternative", .string(test.alternative.rawValue)),
                ("trafo", .number(test.trafo)),
            ])))
        }
        if let anova = report.anova {
            members.append(("anova_test", .string(anova.test.rawValue)))
            members.append(("anova", .array(anova.rows.map { row in
                .object([
                    ("term", .string(row.term)), ("df", row.df.map { .integer($0) } ?? .null),
                    ("deviance", .number(row.deviance)), ("resid_df", .integer(row.residualDf)),
                    ("resid_deviance", .number(row.residualDeviance)), ("statistic", .number(row.statistic)),
                    ("p_value", .number(row.pValue)),
                ])
            })))
        }
        if let dropOne = report.dropOne {
            members.append(("drop1_test", .string(dropOne.test.rawValue)))
            members.append(("drop1", .array(dropOne.rows.map { row in
                .object([
                    ("term", .string(row.term)), ("df", row.df.map { .integer($0) } ?? .null),
                    ("deviance", .number(row.deviance)), ("aic", .number(row.aic)),
                    ("statistic", .number(row.statistic)), ("p_value", .number(row.pValue)),
                ])
            })))
        }
        if let comparison = report.comparison {
            members.append(("comparison", .object([
                ("test", .string(comparison.test.rawValue)),
                ("models", .array(comparison.rows.map { row in
                    .object([
                        ("formula", .string(row.model)), ("resid_df", .integer(row.residualDf)),
                        ("resid_deviance", .number(row.residualDeviance)), ("df", row.df.map { .integer($0) } ?? .null),
                        ("deviance", .number(row.deviance)), ("statistic", .number(row.statistic)),
                        ("p_value", .number(row.pValue)),
                    ])
                })),
            ])))
        }
        if !report.waldTests.isEmpty {
            members.append(("wald_tests", .array(report.waldTests.map { result in
                .object([
                    ("hypothesis", .array(result.hypothesis.descriptions.map { .string($0) })),
                    ("test", .string(result.test.rawValue)), ("df", .integer(result.df)),
                    ("resid_df", result.test == .f ? .integer(result.residualDf) : .null),
                    ("statistic", .number(result.statistic)), ("p_value", .number(result.pValue)),
                ])
            })))
        }
        members.append(("diverging_terms", .array(fit.divergingTerms.map { .string($0) })))
        members.append(("warnings", .array(report.warnings.map { .string($0) })))
        return .object(members)
    }

    public static func render(_ report: ModelReport) -> String {
        value(report).rendered(indent: 2) + "\n"
    }

    /// `factors`: each factor's levels in the order fitted and its reference level.
    static func factors(_ codings: [FactorCoding]) -> JSONValue {
        .array(codings.map { coding in
            .object([
                ("variable", .string(coding.variable)),
                ("levels", .array(coding.levels.map { .string($0) })),
                ("reference", .string(coding.reference)),
                ("contrasts", .string(coding.contrasts)),
            ])
        })
    }

    /// `response_levels`: a factor response's levels, its failure (0) and success (1) levels.
    static func responseLevels(_ response: ResponseLevels?) -> JSONValue {
        guard let response else { return .null }
        return .object([
            ("variable", .string(response.variable)),
            ("levels", .array(response.levels.map { .string($0) })),
            ("failure", .string(response.failure)),
            ("success", .array(response.success.map { .string($0) })),
        ])
    }

    /// One entry of `coefficients`, per the JSON contract, with any extra members after.
    static func coefficientObject(_ row: CoefficientSummary, extra: [(String, JSONValue)] = []) -> JSONValue {
        .object([
            ("term", .string(row.term)),
            ("estimate", .number(row.estimate)),
            ("std_error", .number(row.standardError)),
            ("statistic", .number(row.statistic)),
            ("p_value", .number(row.pValue)),
            ("conf_low", .number(row.confidenceLow)),
            ("conf_high", .number(row.confidenceHigh)),
            ("exp_estimate", .number(row.ratio)),
            ("exp_conf_low", .number(row.ratioLow)),
            ("exp_conf_high", .number(row.ratioHigh)),
        ] + extra)
    }
}

/// The `--format csv` table: one row per coefficient, full precision, NA as an empty field.
public enum CSVReport {
    public static let header = [
        "term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high", "exp_estimate", "exp_conf_low",
        "exp_conf_high",
    ]

    public static func render(_ report: ModelReport) -> String {
        rows(report.summary.coefficients)
    }

    static func rows(_ coefficients: [CoefficientSummary]) -> String {
        var lines = [header.joined(separator: ",")]
        for row in coefficients {
            let numbers = [
                row.estimate, row.standardError, row.statistic, row.pValue, row.confidenceLow, row.confidenceHigh,
                row.ratio, row.ratioLow, row.ratioHigh,
            ].map { value -> String in
                guard let value, value.isFinite else { return value.map { $0.isNaN ? "NaN" : ($0 > 0 ? "Inf" : "-Inf") } ?? "" }
                return JSONValue.format(value)
            }
            // A label past TextElision.labelLimit characters is elided, as in the text report.
            lines.append(([field(TextElision.elided(row.term))] + numbers).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 quoting for a field that holds a comma, quote or line break.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
