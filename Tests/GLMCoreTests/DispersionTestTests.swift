import Foundation
import Testing
@testable import GLMCore

/// A poisson fit and AER::dispersiontest results on it, from
/// Reference/dispersiontest_reference.json (made by make_negbin_sandwich_reference.R).
struct DispersionTestCase: Decodable, Sendable, CustomTestStringConvertible {
    struct Result: Decodable, Sendable {
        let trafo: Double?
        let alternative: String
        let statistic: Double
        let p_value: Double
        let estimate: Double
        let estimate_name: String
        let null_value: Double
        let method: String
    }

    let id: String
    let data: String
    let formula: String
    let tests: [Result]

    var testDescription: String { id }
}

private struct DispersionTestFile: Decodable {
    let cases: [DispersionTestCase]
}

enum DispersionTestFixtures {
    static let cases: [DispersionTestCase] = {
        let path = Repository.path("Tests/GLMCoreTests/Reference/dispersiontest_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? JSONDecoder().decode(DispersionTestFile.self, from: data) else { return [] }
        return file.cases
    }()
}

@Suite("Dispersion test matches AER::dispersiontest")
struct DispersionTestTests {
    // Statistic, estimate and p-value to 1e-8 relative.
    static let tolerance = 1e-8

    @Test func fixtureLoaded() {
        #expect(DispersionTestFixtures.cases.count >= 3)
    }

    @Test(arguments: DispersionTestFixtures.cases)
    func matchesAER(_ reference: DispersionTestCase) throws {
        let table = try loadExample(reference.data)
        let design = try Design(frame: try ModelFrame(table: table, formula: try Formula.parse(reference.formula)))
        let fit = try GLMFit.fit(design: design, family: try Family(kind: .poisson))
        for expected in reference.tests {
            let alternative = try #require(DispersionAlternative(rawValue: expected.alternative))
            let result = try DispersionTest.test(fit, trafo: expected.trafo, alternative: alternative)
            let what = "\(reference.id) trafo=\(expected.trafo.map { "\($0)" } ?? "NULL") \(expected.alternative)"
            expectClose(result.statistic, expected.statistic, relative: Self.tolerance, "\(what) statistic")
            expectClose(result.pValue, expected.p_value, relative: Self.tolerance, absolute: 1e-300, "\(what) p-value")
            expectClose(result.estimate, expected.estimate, relative: Self.tolerance, "\(what) estimate")
            #expect(result.estimateLabel == expected.estimate_name, "\(what): label")
            #expect(result.nullValue == expected.null_value, "\(what): null value")
            #expect(result.method == expected.method, "\(what): method")
        }
    }

    @Test func onlyPoisson() throws {
        let table = try loadExample("Examples/quine.csv")
        let design = try Design(frame: try ModelFrame(table: table, formula: try Formula.parse("Days ~ Eth")))
        let fit = try GLMFit.fit(design: design, family: try Family(kind: .quasipoisson))
        #expect(throws: GLMError.self) { try DispersionTest.test(fit) }
    }
}
