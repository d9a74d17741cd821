import Foundation
import Testing
@testable import GLMCore

/// One negative binomial model fitted by R, from Reference/negbin_reference.json (made by
/// make_negbin_sandwich_reference.R): `glm.nb` ("glm.nb"), `glm(family =
/// negative.binomial(theta))` ("fixed"), or a glm.nb call that fails ("error").
struct NegativeBinomialCase: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let kind: String
    let data: String
    let formula: String
    let link: String
    let weights: String?
    let theta_fixed: Double?
    let init_theta: Double?
    /// glm.control(maxit =).
    let maxit: Int
    let error: String?

    let coef_names: [String]?
    let aliased: [Bool]?
    let coefficients: [Double?]?
    let std_errors: [Double?]?
    let statistic_name: String?
    let statistics: [Double?]?
    let p_values: [Double?]?
    let dispersion: Double?
    let vcov_names: [String]?
    let vcov: [[Double]]?
    let n_obs: Int?
    let deviance: Double?
    let null_deviance: Double?
    let df_residual: Int?
    let df_null: Int?
    let rank: Int?
    let aic: Double?
    let bic: Double?
    let log_likelihood: Double?
    let log_likelihood_df: Int?
    let iterations: Int?
    let converged: Bool?
    let family_name: String?
    let fitted_values: [Double]?
    let working_weights: [Double]?
    let warnings: [String]?
    // glm.nb only
    let theta: Double?
    let theta_std_error: Double?
    let two_log_likelihood: Double?
    let theta_warning: String?
    let outer_iterations: Int?
    let call_init_theta: Double?
    let trace_messages: [String]?
    // fixed theta only: summary(fit, dispersion = 1)
    let std_errors_dispersion1: [Double?]?
    let statistic_name_dispersion1: String?
    let statistics_dispersion1: [Double?]?
    let p_values_dispersion1: [Double?]?
    let dispersion_dispersion1: Double?

    var testDescription: String { id }
}

private struct NegativeBinomialFile: Decodable {
    let cases: [NegativeBinomialCase]
}

enum NegativeBinomialFixtures {
    static let cases: [NegativeBinomialCase] = {
        let path = Repository.path("Tests/GLMCoreTests/Reference/negbin_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? JSONDecoder().decode(NegativeBinomialFile.self, from: data) else { return [] }
        return file.cases
    }()

    static func cases(kind: String) -> [NegativeBinomialCase] { cases.filter { $0.kind == kind } }

    static func design(data: String, formula: String, weights: String?) throws -> Design {
        let table = try loadExample(data)
        let frame = try ModelFrame(table: table, formula: try Formula.parse(formula), weightsColumn: weights)
        return try Design(frame: frame)
    }
}

/// Compares a summary's coefficient table, covariance and fit figures with R's.
func expectSummaryMatches(
    _ summary: GLMSummary, _ reference: NegativeBinomialCase, standardErrors: [Double?], statistics: [Double?],
    pValues: [Double?], statisticName: String, dispersion: Double?, tolerance: Double,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let id = reference.id
    let fit = summary.fit
    #expect(fit.coefficientNames == reference.coef_names, "\(id): names", sourceLocation: sourceLocation)
    #expect(fit.aliased == reference.aliased, "\(id): aliased", sourceLocation: sourceLocation)
    #expect(summary.usesTStatistic == (statisticName == "t value"), "\(id): statistic", sourceLocation: sourceLocation)
    expectClose(summary.dispersion, dispersion, relative: tolerance, "\(id) dispersion", sourceLocation: sourceLocation)
    let coefficients = reference.coefficients ?? []
    for (index, row) in summary.coefficients.enumerated() where index < coefficients.count {
        let floor = 1e-9 * (standardErrors[index] ?? 0)
        expectClose(row.estimate, coefficients[index], relative: tolerance, absolute: floor, "\(id) \(row.term) estimate",
                    sourceLocation: sourceLocation)
        expectClose(row.standardError, standardErrors[index], relative: tolerance, "\(id) \(row.term) std. error",
                    sourceLocation: sourceLocation)
        expectClose(row.statistic, statistics[index], relative: tolerance, absolute: 1e-9, "\(id) \(row.term) statistic",
                    sourceLocation: sourceLocation)
        expectClose(row.pValue, pValues[index], relative: tolerance, absolute: 1e-300, "\(id) \(row.term) p-value",
                    sourceLocation: sourceLocation)
    }
}

@Suite("Negative binomial matches MASS")
struct NegativeBinomialTests {
    // Tolerances: theta to 1e-6 relative, SE.theta and 2·log-likelihood to 1e-6 relative,
    // deviances and AIC to 1e-8 relative, coefficients and standard errors to 1e-6.
    // Cases where theta.ml hit its iteration limit (theta ≈ 5e4 and 4e5 with standard
    // errors ten times larger: a flat likelihood) use `flatTolerance` for theta, SE.theta
    // and the quantities that depend on them.
    static let thetaTolerance = 1e-6
    static let coefficientTolerance = 1e-6
    static let devianceTolerance = 1e-8
    static let flatTolerance = 1e-5

    @Test func fixtureLoaded() {
        #expect(NegativeBinomialFixtures.cases(kind: "glm.nb").count >= 10)
        #expect(NegativeBinomialFixtures.cases(kind: "fixed").count >= 3)
        #expect(NegativeBinomialFixtures.cases(kind: "error").count >= 1)
    }

    @Test(arguments: NegativeBinomialFixtures.cases(kind: "glm.nb"))
    func glmNB(_ reference: NegativeBinomialCase) throws {
        let design = try NegativeBinomialFixtures.design(data: reference.data, formula: reference.formula, weights: reference.weights)
        let link = try #require(Link(name: reference.link))
        let fit = try NegativeBinomial.fit(
            design: design, link: link, control: FitControl(maxIterations: reference.maxit),
            initialTheta: reference.init_theta, traceLevel: 3)
        let id = reference.id
        let flat = reference.theta_warning == "iteration limit reached"
        let thetaTolerance = flat ? Self.flatTolerance : Self.thetaTolerance

        expectClose(fit.theta, reference.theta, relative: thetaTolerance, "\(id) theta")
        expectClose(fit.thetaStandardError, reference.theta_std_error, relative: thetaTolerance, "\(id) SE.theta")
        expectClose(fit.twoLogLikelihood, reference.two_log_likelihood, relative: 1e-6, "\(id) twologlik")
        expectClose(fit.aic, reference.aic, relative: Self.devianceTolerance, "\(id) AIC")
        expectClose(fit.glm.aic, reference.aic, relative: Self.devianceTolerance, "\(id) glm AIC")
        expectClose(fit.logLikelihood, reference.log_likelihood, relative: Self.devianceTolerance, "\(id) logLik")
        expectClose(fit.bic, reference.bic, relative: Self.devianceTolerance, "\(id) BIC")
        #expect(fit.parameterCount == reference.log_likelihood_df, "\(id): logLik df")
        expectClose(fit.deviance, reference.deviance, relative: Self.devianceTolerance, "\(id) deviance")
        expectClose(fit.nullDeviance, reference.null_deviance, relative: Self.devianceTolerance, "\(id) null deviance")
        #expect(fit.glm.dfResidual == reference.df_residual, "\(id): df residual")
        #expect(fit.glm.dfNull == reference.df_null, "\(id): df null")
        #expect(fit.glm.rank == reference.rank, "\(id): rank")
        #expect(fit.glm.irls.iterations == reference.iterations, "\(id): IRLS iterations of the last fit")
        #expect(fit.glm.irls.converged == reference.converged, "\(id): converged")
        #expect(fit.outerIterations == reference.outer_iterations, "\(id): alternations")
        #expect(fit.thetaWarning == reference.theta_warning, "\(id): th.warn")
        #expect(fit.warnings == reference.warnings, "\(id): warnings")
        if flat {
            // theta differs from R's in the 7th digit here, and so do the printed values.
            #expect(fit.trace.count == reference.trace_messages?.count, "\(id): trace lines")
        } else {
            #expect(fit.glm.family.displayName == reference.family_name, "\(id): family name")
            #expect(fit.trace == reference.trace_messages, "\(id): trace")
        }
        expectClose(RFormat.signif(fit.theta, digits: 10), reference.call_init_theta, relative: thetaTolerance, "\(id) init.theta")

        let summary = try fit.summary()
        expectSummaryMatches(
            summary, reference, standardErrors: reference.std_errors ?? [], statistics: reference.statistics ?? [],
            pValues: reference.p_values ?? [], statisticName: reference.statistic_name ?? "", dispersion: reference.dispersion,
            tolerance: Self.coefficientTolerance)
        expectClose(summary.logLikelihood, reference.log_likelihood, relative: Self.devianceTolerance, "\(id) summary logLik")
        expectClose(summary.bic, reference.bic, relative: Self.devianceTolerance, "\(id) summary BIC")
        #expect(summary.vcovNames == reference.vcov_names, "\(id): vcov names")
        expectMatrixClose(summary.vcov, reference.vcov ?? [], relative: Self.coefficientTolerance, "\(id) vcov")
        for (row, value) in (reference.fitted_values ?? []).enumerated() {
            expectClose(fit.glm.irls.fittedValues[row], value, relative: Self.coefficientTolerance, "\(id) fitted[\(row)]")
        }
        for (row, value) in (reference.working_weights ?? []).enumerated() {
            expectClose(fit.glm.irls.workingWeights[row], value, relative: Self.coefficientTolerance, "\(id) working weight[\(row)]")
        }
    }

    @Test(arguments: NegativeBinomialFixtures.cases(kind: "fixed"))
    func fixedTheta(_ reference: NegativeBinomialCase) throws {
        let design = try NegativeBinomialFixtures.design(data: reference.data, formula: reference.formula, weights: reference.weights)
        let link = try #require(Link(name: reference.link))
        let theta = try #require(reference.theta_fixed)
        let fit = try NegativeBinomial.fit(design: design, theta: theta, link: link)
        let id = reference.id
        expectClose(fit.deviance, reference.deviance, relative: Self.devianceTolerance, "\(id) deviance")
        expectClose(fit.nullDeviance, reference.null_deviance, relative: Self.devianceTolerance, "\(id) null deviance")
        expectClose(fit.aic, reference.aic, relative: Self.devianceTolerance, "\(id) AIC")
        #expect(fit.irls.iterations == reference.iterations, "\(id): iterations")
        #expect(fit.warnings == reference.warnings, "\(id): warnings")
        #expect(fit.family.displayName == reference.family_name, "\(id): family name")

        // R's summary.glm estimates a dispersion for negative.binomial(theta): t tests.
        let summary = try GLMSummary(fit: fit)
        expectSummaryMatches(
            summary, reference, standardErrors: reference.std_errors ?? [], statistics: reference.statistics ?? [],
            pValues: reference.p_values ?? [], statisticName: reference.statistic_name ?? "", dispersion: reference.dispersion,
            tolerance: Self.coefficientTolerance)
        expectClose(summary.logLikelihood, reference.log_likelihood, relative: Self.devianceTolerance, "\(id) logLik")
        expectClose(summary.bic, reference.bic, relative: Self.devianceTolerance, "\(id) BIC")
        expectMatrixClose(summary.vcov, reference.vcov ?? [], relative: Self.coefficientTolerance, "\(id) vcov")

        // summary(fit, dispersion = 1): z tests.
        let known = try GLMSummary(fit: fit, dispersion: 1)
        expectSummaryMatches(
            known, reference, standardErrors: reference.std_errors_dispersion1 ?? [],
            statistics: reference.statistics_dispersion1 ?? [], pValues: reference.p_values_dispersion1 ?? [],
            statisticName: reference.statistic_name_dispersion1 ?? "", dispersion: reference.dispersion_dispersion1,
            tolerance: Self.coefficientTolerance)
    }

    @Test(arguments: NegativeBinomialFixtures.cases(kind: "error"))
    func failsAsR(_ reference: NegativeBinomialCase) throws {
        let design = try NegativeBinomialFixtures.design(data: reference.data, formula: reference.formula, weights: reference.weights)
        let link = try #require(Link(name: reference.link))
        // R's words, then glmfit's option for what R asks for (R's "please supply starting
        // values" names an argument; glmfit's message names --start).
        let rMessage = reference.error ?? ""
        do {
            _ = try NegativeBinomial.fit(design: design, link: link)
            Issue.record("\(reference.id): fitted where R fails")
        } catch let GLMError.fitFailed(message) {
            #expect(message.hasPrefix(rMessage), "\(message)")
            #expect(message == rMessage || message.contains("--start"), "\(message)")
        }
    }

    @Test func thetaMLMatchesNewtonFixedPoint() {
        // With means fixed, theta.ml's answer zeroes the score; a second call started at
        // it converges immediately to the same value.
        let y: [Double] = [0, 1, 1, 2, 3, 5, 8, 13, 0, 4, 7, 2]
        let mu = [Double](repeating: y.reduce(0, +) / Double(y.count), count: y.count)
        let estimate = NegativeBinomial.thetaML(y: y, mu: mu, limit: 25)
        #expect(estimate.warning == nil)
        #expect(estimate.theta > 0)
        #expect(estimate.standardError > 0)
        let loglik = { (theta: Double) in
            NegativeBinomial.logLikelihood(theta: theta, y: y, mu: mu, weights: [Double](repeating: 1, count: y.count))
        }
        #expect(loglik(estimate.theta) >= loglik(estimate.theta * 1.01))
        #expect(loglik(estimate.theta) >= loglik(estimate.theta * 0.99))
    }

    @Test func thetaMLIterationLimit() {
        // Equidispersed counts drive theta to infinity: the limit is reached.
        let y: [Double] = [2, 3, 2, 3, 2, 3, 2, 3]
        let mu = [Double](repeating: 2.5, count: y.count)
        let estimate = NegativeBinomial.thetaML(y: y, mu: mu, limit: 5)
        #expect(estimate.warning == "iteration limit reached")
        #expect(estimate.iterations == 4)
    }

    @Test func rejectsLinksMASSDoesNotAllow() throws {
        let design = try NegativeBinomialFixtures.design(data: "Examples/quine.csv", formula: "Days ~ Eth", weights: nil)
        #expect(throws: GLMError.self) { try NegativeBinomial.fit(design: design, link: .logit) }
        #expect(throws: GLMError.self) { try NegativeBinomial.fit(design: design, theta: 0) }
    }
}

/// Compares a k × k matrix with R's, relative to the geometric mean of the diagonals.
func expectMatrixClose(
    _ actual: [[Double]], _ expected: [[Double]], relative: Double, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) rows vs R \(expected.count)", sourceLocation: sourceLocation)
    for (i, row) in expected.enumerated() where i < actual.count {
        #expect(actual[i].count == row.count, "\(what): row \(i) length", sourceLocation: sourceLocation)
        for (j, value) in row.enumerated() where j < actual[i].count {
            let scale = (abs(expected[i][i]) * abs(expected[j][j])).squareRoot()
            expectClose(actual[i][j], value, relative: relative, absolute: 1e-9 * scale, "\(what)[\(i),\(j)]",
                        sourceLocation: sourceLocation)
        }
    }
}
