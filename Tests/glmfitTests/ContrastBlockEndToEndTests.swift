import Foundation
import Testing

/// A sum-coded factor of 150 levels through the binary (`--contrasts`): held as codes (149
/// columns), it gives R's glm on InstEval's 150 busiest instructors
/// (GLMCoreTests/Reference/make_contrast_block_reference.R), at the reference tolerances.
@Suite("Sum-coded factors as codes end to end")
struct ContrastBlockEndToEndTests {
    struct Reference: Decodable {
        let data: String
        let coefficients: [Double]
        let std_errors: [Double]
        let deviance: Double
        let aic: Double
    }

    struct Report: Decodable {
        struct Coefficient: Decodable {
            let term: String
            let estimate: Double?
            let std_error: Double?
        }
        let deviance: Double
        let aic: Double
        let coefficients: [Coefficient]
    }

    @Test func sumContrastsOptionMatchesR() throws {
        let referenceURL = Glmfit.repositoryRoot.appendingPathComponent("Tests/GLMCoreTests/Reference/contrast_block_reference.json")
        let reference = try JSONDecoder().decode(Reference.self, from: try Data(contentsOf: referenceURL))
        let result = try Glmfit.run([
            reference.data, "--family", "binomial", "--formula", "good ~ service + d",
            "--contrasts", "contr.sum,contr.poly", "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.standardOutput.utf8))
        // R's names with contrasts = list(d = "contr.sum"): d1 … d149.
        #expect(report.coefficients.map(\.term) == ["(Intercept)", "service"] + (1...149).map { "d\($0)" })
        #expect(report.coefficients.count == reference.coefficients.count)
        for (index, row) in report.coefficients.enumerated() where index < reference.coefficients.count {
            let estimate = try #require(row.estimate), error = try #require(row.std_error)
            #expect(abs(estimate - reference.coefficients[index])
                <= 1e-6 * abs(reference.coefficients[index]) + 1e-9 * reference.std_errors[index], "\(row.term) estimate")
            #expect(abs(error - reference.std_errors[index]) <= 1e-6 * reference.std_errors[index], "\(row.term) std. error")
        }
        #expect(abs(report.deviance - reference.deviance) <= 1e-8 * reference.deviance)
        #expect(abs(report.aic - reference.aic) <= 1e-8 * reference.aic)
    }
}
