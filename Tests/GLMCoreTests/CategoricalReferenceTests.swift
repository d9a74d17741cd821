import Foundation
import Testing
@testable import GLMCore

/// One multinomial (nnet::multinom) or ordinal (MASS::polr) fit by R, from
/// Reference/multinomial_reference.json (made by make_multinomial_reference.R).
struct CategoricalCase: Decodable, Sendable, CustomTestStringConvertible {
    struct Coefficient: Decodable, Sendable {
        let component: String
        let term: String
        let estimate: Double
        let std_error: Double
    }

    let name: String
    let kind: String
    let file: String
    let formula: String
    let weights: String?
    let link: String?
    let levels: [String]
    let coefficients: [Coefficient]
    let log_likelihood: Double
    let deviance: Double
    let aic: Double
    let bic: Double
    let df: Int
    let vcov_terms: [String]
    let vcov: [[Double]]
    let newdata: String?
    let probs: [[Double]]?
    let `class`: [String]?

    var testDescription: String { name }

    static let all: [CategoricalCase] = {
        struct Document: Decodable { let cases: [CategoricalCase] }
        let path = Repository.path("Tests/GLMCoreTests/Reference/multinomial_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let document = try? JSONDecoder().decode(Document.self, from: data) else { return [] }
        return document.cases
    }()

    func request() -> FitRequest {
        FitRequest(path: file, formula: formula, family: kind, link: link, weightsColumn: weights)
    }

    func fit() throws -> CategoricalReport {
        try Pipeline.fitCategorical(request(), table: try loadExample("Examples/" + file))
    }
}

@Suite("Multinomial and ordinal fits against nnet::multinom and MASS::polr")
struct CategoricalReferenceTests {
    @Test func referenceIsPresent() {
        #expect(CategoricalCase.all.count >= 10)
    }

    /// Coefficients to 1e-6 relative, log-likelihood to 1e-8, standard errors and the
    /// covariance to 1e-4 (R's Hessians are numerical; glmfit's analytic).
    @Test(arguments: CategoricalCase.all)
    func matchesR(_ reference: CategoricalCase) throws {
        let report = try fit(reference)
        let fit = report.fit
        #expect(fit.converged)
        #expect(fit.levels == reference.levels)
        #expect(fit.parameterCount == reference.df)
        #expect(fit.components == reference.coefficients.map(\.component))
        #expect(fit.terms == reference.coefficients.map(\.term))
        #expect(fit.parameterNames == reference.vcov_terms)
        for (index, expected) in reference.coefficients.enumerated() where index < fit.estimates.count {
            let name = "\(expected.component):\(expected.term)"
            expectClose(fit.estimates[index], expected.estimate, relative: 1e-6, absolute: 1e-9, "\(name) estimate")
            expectClose(report.coefficients[index].standardError, expected.std_error, relative: 1e-4, "\(name) std. error")
        }
        expectClose(fit.logLikelihood, reference.log_likelihood, relative: 1e-8, "log-likelihood")
        expectClose(fit.deviance, reference.deviance, relative: 1e-8, "deviance")
        expectClose(fit.aic, reference.aic, relative: 1e-8, "AIC")
        expectClose(fit.bic, reference.bic, relative: 1e-8, "BIC")
        for i in reference.vcov.indices where i < fit.covariance.count {
            for j in reference.vcov[i].indices {
                let scale = (reference.vcov[i][i] * reference.vcov[j][j]).squareRoot()
                expectClose(fit.covariance[i][j], reference.vcov[i][j], relative: 0, absolute: 1e-4 * scale, "vcov[\(i)][\(j)]")
            }
        }
    }

    private func fit(_ reference: CategoricalCase) throws -> CategoricalReport {
        try reference.fit()
    }
}

@Suite("Multinomial and ordinal predictions against R's predict(type = \"probs\")")
struct CategoricalPredictionTests {
    static let cases = CategoricalCase.all.filter { $0.newdata != nil }

    /// Fitted, saved to model-file text, read back and scored on rows not in the fit.
    @Test(arguments: cases)
    func probabilitiesMatchR(_ reference: CategoricalCase) throws {
        let report = try reference.fit()
        let text = try SavedModel(report: report).jsonText()
        let model = try SavedModel(jsonBytes: Array(text.utf8), path: "model.json")
        #expect(model.categorical?.levels == reference.levels)
        let path = Repository.path("Tests/GLMCoreTests/Reference/multinomial_data/" + (reference.newdata ?? ""))
        let probabilities = try PredictPipeline.predictions(
            model: model, path: path, options: PredictionOptions(scale: .probs)).probabilities ?? []
        let expected = reference.probs ?? []
        #expect(probabilities.count == expected.count)
        for (row, (actual, wanted)) in zip(probabilities, expected).enumerated() {
            #expect(actual.count == wanted.count)
            expectClose(actual.reduce(0, +), 1, relative: 1e-12, "row \(row + 1): the probabilities' sum")
            for (k, (a, w)) in zip(actual, wanted).enumerated() {
                expectClose(a, w, relative: 1e-6, absolute: 1e-9, "row \(row + 1), prob_\(reference.levels[k])")
            }
        }
        let classes = try PredictPipeline.predictions(
            model: model, path: path, options: PredictionOptions(scale: .class)).classes ?? []
        #expect(classes == (reference.class ?? []).map { Optional($0) })
    }

    @Test func glmScalesAreRefusedForACategoricalModel() throws {
        guard let reference = CategoricalCase.all.first(where: { $0.kind == "ordinal" }) else {
            Issue.record("no ordinal reference case")
            return
        }
        let model = try SavedModel(report: try reference.fit())
        #expect(throws: GLMError.invalidOption(name: "--type", message: "an ordinal model predicts --type probs or --type class")) {
            try PredictPipeline.predictions(
                model: model, path: Repository.path("Examples/" + reference.file), options: PredictionOptions(scale: .response))
        }
    }
}
