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
    /// The whole of InstEval with the sum-coded instructor factor (1,127 columns, held as
    /// codes) nested in the department: the columns R's glm reports as NA, its rank and its
    /// deviance (Reference/make_contrast_nested_reference.R and what it printed).
    @Test func nestedSumCodedFactorIsAliasedAsR() throws {
        let referenceURL = Glmfit.repositoryRoot.appendingPathComponent("Tests/glmfitTests/Reference/contrast_nested_reference.txt")
        let lines = try String(contentsOf: referenceURL, encoding: .utf8).split(separator: "\n")
        let first = try #require(lines.first).split(separator: " ")
        let deviance = try #require(Double(String(first[0])))
        let rank = try #require(Int(String(first[1])))
        // print()'s lines of quoted names, each after its "[n]" index.
        let aliased = lines.dropFirst().flatMap { line in
            line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        }
        #expect(aliased.count == 13)
        let result = try Glmfit.run([
            "Examples/insteval.csv.gz", "--family", "binomial", "--formula", "good ~ service + dept + C(factor(d), sum)",
            "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        struct Full: Decodable {
            let deviance: Double
            let rank: Int
            let coefficients: [Report.Coefficient]
        }
        let report = try JSONDecoder().decode(Full.self, from: Data(result.standardOutput.utf8))
        #expect(report.coefficients.filter { $0.estimate == nil }.map(\.term) == aliased)
        #expect(report.rank == rank)
        #expect(abs(report.deviance - deviance) <= 1e-8 * deviance)
    }
}
