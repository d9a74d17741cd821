import Foundation
import Testing
@testable import GLMCore

/// One R glm fit with statmod::tweedie(var.power, link.power), from
/// Reference/countmodels_reference.json (made by make_countmodels_reference.R with
/// glm.control(epsilon = 1e-12)).
struct TweedieCase: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let file: String
    let formula: String
    let var_power: Double
    let link: String
    let terms: [String]
    let estimate: [Double]
    let std_error: [Double]
    let dispersion: Double
    let deviance: Double
    let null_deviance: Double
    let df_residual: Int

    var testDescription: String { name }

    static let all: [TweedieCase] = {
        struct Document: Decodable { let tweedie: [TweedieCase] }
        let path = Repository.path("Tests/GLMCoreTests/Reference/countmodels_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let document = try? JSONDecoder().decode(Document.self, from: data) else { return [] }
        return document.tweedie
    }()
}

@Suite("Tweedie GLMs against statmod::tweedie")
struct TweedieReferenceTests {
    @Test func referenceIsPresent() {
        #expect(TweedieCase.all.count >= 8)
        #expect(Set(TweedieCase.all.map(\.var_power)) == [0, 1, 1.2, 1.5, 1.8, 2, 3])
    }

    /// Coefficients to 1e-6 relative, deviances to 1e-8, standard errors and the Pearson
    /// dispersion to 1e-6 (both fits are IRLS: R's numbers are not numerical here); AIC
    /// null as R's NA.
    @Test(arguments: TweedieCase.all)
    func matchesR(_ reference: TweedieCase) throws {
        var request = FitRequest(
            path: reference.file, formula: reference.formula, family: "tweedie", link: reference.link,
            control: FitControl(epsilon: 1e-12, maxIterations: 100))
        request.varPower = reference.var_power
        let report = try Pipeline.fit(request, table: try loadExample("Examples/" + reference.file))
        let summary = report.summary
        #expect(summary.fit.family.kind == .tweedie)
        #expect(summary.usesTStatistic)
        #expect(summary.coefficients.map(\.term) == reference.terms)
        for (index, row) in summary.coefficients.enumerated() where index < reference.estimate.count {
            expectClose(row.estimate, reference.estimate[index], relative: 1e-6, absolute: 1e-10, "\(row.term) estimate")
            expectClose(row.standardError, reference.std_error[index], relative: 1e-6, "\(row.term) std. error")
        }
        expectClose(summary.dispersion, reference.dispersion, relative: 1e-6, "dispersion")
        expectClose(summary.fit.deviance, reference.deviance, relative: 1e-8, "deviance")
        expectClose(summary.fit.nullDeviance, reference.null_deviance, relative: 1e-8, "null deviance")
        #expect(summary.fit.dfResidual == reference.df_residual)
        #expect(summary.fit.aic == nil)
        #expect(summary.logLikelihood == nil)
    }

    /// statmod's unit deviance at p = 1 and p = 2 is poisson's and Gamma's (y > 0).
    @Test func unitDevianceReducesToPoissonAndGamma() throws {
        let poisson = try Family(kind: .poisson)
        let gamma = try Family(kind: .gamma, link: .log)
        let tweedieOne = try Family(kind: .tweedie, varPower: 1)
        let tweedieTwo = try Family(kind: .tweedie, varPower: 2)
        for (y, mu) in [(3.0, 2.5), (0.4, 1.7), (12.0, 9.0)] {
            expectClose(tweedieOne.unitDeviance(y: y, mu: mu, weight: 1), poisson.unitDeviance(y: y, mu: mu, weight: 1),
                        relative: 1e-12, "p = 1 at y = \(y)")
            expectClose(tweedieTwo.unitDeviance(y: y, mu: mu, weight: 1), gamma.unitDeviance(y: y, mu: mu, weight: 1),
                        relative: 1e-12, "p = 2 at y = \(y)")
        }
    }

    @Test func varPowerIsCheckedBeforeReading() {
        var between = FitRequest(path: "x.csv", formula: "y ~ x", family: "tweedie")
        between.varPower = 0.5
        #expect(throws: GLMError.self) { try Pipeline.resolveFamily(between) }
        var missing = FitRequest(path: "x.csv", formula: "y ~ x", family: "tweedie")
        missing.varPower = nil
        #expect(throws: GLMError.self) { try Pipeline.resolveFamily(missing) }
        var notTweedie = FitRequest(path: "x.csv", formula: "y ~ x", family: "poisson")
        notTweedie.varPower = 1.5
        #expect(throws: GLMError.self) { try Pipeline.resolveFamily(notTweedie) }
    }
}
