import Foundation
import Testing
@testable import GLMCore

/// One model fitted by R, from Reference/glm_reference.json (made by make_reference.R).
struct ReferenceCase: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let data: String
    let formula: String
    let family: String
    let link: String
    let weights: String?
    let maxit: Int?
    let epsilon: Double?
    let n_obs: Int
    let n_dropped: Int
    let coef_names: [String]
    let aliased: [Bool]
    let coefficients: [Double?]
    let std_errors: [Double?]
    let statistics: [Double?]
    let p_values: [Double?]
    let conf_low: [Double?]
    let conf_high: [Double?]
    let statistic_name: String
    let dispersion: Double?
    let deviance: Double
    let null_deviance: Double
    let df_residual: Int
    let df_null: Int
    let aic: Double?
    let bic: Double?
    let log_likelihood: Double?
    let iterations: Int
    let converged: Bool
    let rank: Int
    let vcov_names: [String]
    let vcov: [[Double]]
    let fitted_values: [Double]
    let working_weights: [Double]
    let warnings: [String]
    /// Set when the fixture holds only the leading block of a large covariance matrix
    /// (`vcov_max` in the case list): how many coefficients the whole matrix has.
    let vcov_full_size: Int?

    var testDescription: String { id }
}

private struct ReferenceFile: Decodable {
    let cases: [ReferenceCase]
}

enum ReferenceFixtures {
    static let cases = load("glm_reference.json")
    static let edgeCases = load("edge_reference.json")

    static func load(_ name: String) -> [ReferenceCase] {
        let path = Repository.path("Tests/GLMCoreTests/Reference/\(name)")
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? JSONDecoder().decode(ReferenceFile.self, from: data) else { return [] }
        return file.cases
    }

    static func summary(for reference: ReferenceCase, solver: StepSolver = .automatic) throws -> GLMSummary {
        let table = try loadExample(reference.data)
        let formula = try Formula.parse(reference.formula)
        let frame = try ModelFrame(table: table, formula: formula, weightsColumn: reference.weights)
        // As the command line holds it: factor terms of 100 or more columns as codes, and all
        // as codes for the block solver.
        let design = try Design(frame: frame, layout: solver == .blocks ? .structured : .automatic)
        guard let kind = Family.Kind(name: reference.family), let link = Link(name: reference.link) else {
            throw GLMError.unknownFamily(name: reference.family, known: [])
        }
        var control = FitControl(solver: solver)
        if let maxit = reference.maxit { control.maxIterations = maxit }
        if let epsilon = reference.epsilon { control.epsilon = epsilon }
        let fit = try GLMFit.fit(design: design, family: try Family(kind: kind, link: link), control: control)
        return try GLMSummary(fit: fit)
    }
}

@Suite("Fits match R's glm")
struct ReferenceTests {
    // Tolerances: coefficients and standard errors to 1e-6 relative; deviance and AIC to
    // 1e-8 relative. The absolute floor (1e-9 × the standard error) only matters for
    // coefficients that are zero in exact arithmetic, which R prints as ±1e-16.
    static let coefficientTolerance = 1e-6
    static let devianceTolerance = 1e-8

    @Test func fixturesLoaded() {
        #expect(ReferenceFixtures.cases.count >= 50)
        #expect(ReferenceFixtures.edgeCases.count >= 15)
    }

    @Test(arguments: ReferenceFixtures.cases)
    func matchesR(_ reference: ReferenceCase) throws {
        try Self.check(reference)
    }

    /// Zero weights, huge and tiny magnitudes, constant columns, an all-zero response,
    /// p close to n, separation, non-convergence (Reference/edge_cases.tsv).
    @Test(arguments: ReferenceFixtures.edgeCases)
    func edgeCaseMatchesR(_ reference: ReferenceCase) throws {
        try Self.check(reference)
    }

    /// The same cases with every step on the normal equations (the large-data path; steps too
    /// ill-conditioned for Cholesky still go to QR), at the same tolerances.
    @Test(arguments: ReferenceFixtures.cases + ReferenceFixtures.edgeCases)
    func normalEquationsMatchR(_ reference: ReferenceCase) throws {
        try Self.check(reference, solver: .cholesky)
    }

    /// The same cases with every step solved by blocks (factor terms as codes, the widest one
    /// eliminated), at the same tolerances: the path of high-cardinality factors.
    @Test(arguments: ReferenceFixtures.cases + ReferenceFixtures.edgeCases)
    func blocksMatchR(_ reference: ReferenceCase) throws {
        try Self.check(reference, solver: .blocks)
    }

    static func check(_ reference: ReferenceCase, solver: StepSolver = .automatic) throws {
        let summary = try ReferenceFixtures.summary(for: reference, solver: solver)
        let fit = summary.fit
        let id = reference.id
        #expect(fit.coefficientNames == reference.coef_names, "\(id): names")
        #expect(fit.aliased == reference.aliased, "\(id): aliased")
        #expect(fit.design.rowCount == reference.n_obs, "\(id): n_obs")
        #expect(fit.design.frame.droppedCount == reference.n_dropped, "\(id): n_dropped")
        #expect(fit.rank == reference.rank, "\(id): rank")
        #expect(fit.dfResidual == reference.df_residual, "\(id): df_residual")
        #expect(fit.dfNull == reference.df_null, "\(id): df_null")
        #expect(fit.irls.iterations == reference.iterations, "\(id): iterations")
        #expect(fit.irls.converged == reference.converged, "\(id): converged")
        #expect(summary.usesTStatistic == (reference.statistic_name == "t value"), "\(id): statistic")
        #expect(fit.warnings == reference.warnings, "\(id): warnings")
        let tolerance = Self.coefficientTolerance
        for (index, row) in summary.coefficients.enumerated() where index < reference.coefficients.count {
            let floor = 1e-9 * (reference.std_errors[index] ?? 0)
            expectClose(row.estimate, reference.coefficients[index], relative: tolerance, absolute: floor, "\(id) \(row.term) estimate")
            expectClose(row.standardError, reference.std_errors[index], relative: tolerance, "\(id) \(row.term) std. error")
            expectClose(row.statistic, reference.statistics[index], relative: tolerance, absolute: 1e-9, "\(id) \(row.term) statistic")
            expectClose(row.pValue, reference.p_values[index], relative: tolerance, absolute: 1e-300, "\(id) \(row.term) p-value")
            expectClose(row.confidenceLow, reference.conf_low[index], relative: tolerance, absolute: floor, "\(id) \(row.term) conf. low")
            expectClose(row.confidenceHigh, reference.conf_high[index], relative: tolerance, absolute: floor, "\(id) \(row.term) conf. high")
        }
        expectClose(summary.dispersion, reference.dispersion, relative: tolerance, "\(id) dispersion")
        expectClose(fit.deviance, reference.deviance, relative: Self.devianceTolerance, absolute: 1e-10, "\(id) deviance")
        expectClose(fit.nullDeviance, reference.null_deviance, relative: Self.devianceTolerance, "\(id) null deviance")
        expectClose(fit.aic, reference.aic, relative: Self.devianceTolerance, "\(id) AIC")
        expectClose(summary.bic, reference.bic, relative: Self.devianceTolerance, "\(id) BIC")
        expectClose(summary.logLikelihood, reference.log_likelihood, relative: Self.devianceTolerance, "\(id) log-likelihood")
        if let fullSize = reference.vcov_full_size {
            #expect(summary.vcovNames.count == fullSize, "\(id): vcov size")
            #expect(Array(summary.vcovNames.prefix(reference.vcov_names.count)) == reference.vcov_names, "\(id): vcov names")
        } else {
            #expect(summary.vcovNames == reference.vcov_names, "\(id): vcov names")
        }
        for (i, row) in reference.vcov.enumerated() where i < summary.vcov.count {
            for (j, value) in row.enumerated() where j < summary.vcov[i].count {
                let scale = (abs(reference.vcov[i][i]) * abs(reference.vcov[j][j])).squareRoot()
                expectClose(summary.vcov[i][j], value, relative: tolerance, absolute: 1e-9 * scale, "\(id) vcov[\(i),\(j)]")
            }
        }
        for (row, value) in reference.fitted_values.enumerated() {
            expectClose(fit.irls.fittedValues[row], value, relative: tolerance, "\(id) fitted[\(row)]")
        }
        for (row, value) in reference.working_weights.enumerated() {
            expectClose(fit.irls.workingWeights[row], value, relative: tolerance, "\(id) working weight[\(row)]")
        }
    }
}
