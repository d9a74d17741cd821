import Foundation
import Testing
@testable import GLMCore

/// One model from Reference/bases_reference.json (made by make_bases_reference.R): factor
/// functions, contrasts and bases fitted by R under one collation, and R's predictions on
/// the data's first five rows alone.
struct BasesCase: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let data: String
    let formula: String
    let family: String
    let contrasts: String
    let collate: String
    let newdata: String
    let prediction_source: String
    let coef_names: [String]
    let coefficients: [Double?]
    let std_errors: [Double?]
    let deviance: Double
    let aic: Double
    let n_obs: Int
    let predictions: [Double?]
    /// Rows with hp, disp and wt beyond the fit's range, and R's predictions there (mtcars
    /// models without cut()).
    let outside_newdata: String?
    let outside_predictions: [Double?]?

    var testDescription: String { id }

    static let all: [BasesCase] = {
        struct File: Decodable { let cases: [BasesCase] }
        let path = Repository.path("Tests/GLMCoreTests/Reference/bases_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? JSONDecoder().decode(File.self, from: data) else { return [] }
        return file.cases
    }()

    func report() throws -> ModelReport {
        let link = ["gaussian": "identity", "poisson": "log", "binomial": "logit"][family] ?? "identity"
        var request = FitRequest(path: Repository.path(data), formula: formula, family: family, link: link, weightsColumn: nil)
        request.collation = collate == "C" ? .bytes : .icu(locale: collate)
        if !contrasts.isEmpty { request.defaultContrasts = try DefaultContrasts.parse(contrasts) }
        return try Pipeline.fit(request)
    }
}

@Suite("Factor functions, contrasts and bases match R")
struct BasesReferenceTests {
    // Tolerances as the issue asks: coefficients and standard errors 1e-6 relative,
    // deviance and AIC 1e-8; predictions 1e-8 relative (absolute floor 1e-9 × the largest).
    static let coefficientTolerance = 1e-6
    static let devianceTolerance = 1e-8

    @Test func fixturesLoaded() {
        #expect(BasesCase.all.count >= 80)
        #expect(Set(BasesCase.all.map(\.collate)) == ["C", "C.UTF-8"])
    }

    @Test(arguments: BasesCase.all)
    func fitMatchesR(_ reference: BasesCase) throws {
        let report = try reference.report()
        let summary = report.summary
        let fit = report.fit
        let id = reference.id
        #expect(fit.coefficientNames == reference.coef_names, "\(id): names")
        #expect(fit.design.rowCount == reference.n_obs, "\(id): n_obs")
        for (index, row) in summary.coefficients.enumerated() where index < reference.coefficients.count {
            let floor = 1e-9 * (reference.std_errors[index] ?? 0)
            expectClose(row.estimate, reference.coefficients[index], relative: Self.coefficientTolerance, absolute: floor,
                        "\(id) \(row.term) estimate")
            expectClose(row.standardError, reference.std_errors[index], relative: Self.coefficientTolerance,
                        "\(id) \(row.term) std. error")
        }
        expectClose(fit.deviance, reference.deviance, relative: Self.devianceTolerance, absolute: 1e-10, "\(id) deviance")
        expectClose(fit.aic, reference.aic, relative: Self.devianceTolerance, "\(id) AIC")
    }

    /// The model saved and read back, then `predict` on the first five rows alone: each
    /// basis keeps the fit's parameters (R's makepredictcall), so the rows get R's values
    /// (NA where a value falls outside `factor(x, levels =)`'s levels, as in R).
    @Test(arguments: BasesCase.all)
    func predictionsOnFirstRowsMatchR(_ reference: BasesCase) throws {
        let report = try reference.report()
        let text = try SavedModel(report: report).jsonText()
        let model = try SavedModel(jsonBytes: Array(text.utf8), path: "\(reference.id).json")
        let predictions = try PredictPipeline.predictions(
            model: model, path: Repository.path(reference.newdata), options: PredictionOptions(scale: .link, missing: .pass))
        #expect(predictions.count == reference.predictions.count, "\(reference.id): rows")
        let floor = 1e-9 * (reference.predictions.compactMap { $0 }.map(abs).max() ?? 0)
        for (index, expected) in reference.predictions.enumerated() where index < predictions.fit.count {
            expectClose(predictions.fit[index], expected, relative: 1e-8, absolute: floor, "\(reference.id) row \(index + 1)")
        }
    }

    /// Beyond the fit's range: ns() continues linearly, bs() by R's Taylor expansion about a
    /// pivot, poly() by its recurrence, scale() by the fit's centre and scale.
    @Test(arguments: BasesCase.all.filter { $0.outside_newdata != nil })
    func predictionsBeyondTheFitRangeMatchR(_ reference: BasesCase) throws {
        guard let newdata = reference.outside_newdata, let expected = reference.outside_predictions else { return }
        let report = try reference.report()
        let model = try SavedModel(jsonBytes: Array(try SavedModel(report: report).jsonText().utf8), path: "model.json")
        let predictions = try PredictPipeline.predictions(
            model: model, path: Repository.path(newdata), options: PredictionOptions(scale: .link, missing: .pass))
        #expect(predictions.count == expected.count, "\(reference.id): rows")
        let floor = 1e-9 * (expected.compactMap { $0 }.map(abs).max() ?? 0)
        for (index, value) in expected.enumerated() where index < predictions.fit.count {
            expectClose(predictions.fit[index], value, relative: 1e-8, absolute: floor, "\(reference.id) outside row \(index + 1)")
        }
    }
}
