import Foundation
import Testing
import GLMCore
@testable import GLMReport

/// The whole text report (R's block plus glmfit's intervals, ratios and likelihood lines)
/// against reviewed golden files. Set GLMFIT_UPDATE_GOLDEN=1 to rewrite them after a
/// deliberate change, then review the diff.
@Suite("Text report golden files")
struct GoldenReportTests {
    struct Model: Sendable, CustomTestStringConvertible {
        let name: String
        let request: FitRequest
        var testDescription: String { name }
    }

    static func example(_ file: String) -> String {
        PrintedCases.root.appendingPathComponent("Examples/\(file)").path
    }

    static let models: [Model] = [
        Model(name: "dobson_poisson", request: FitRequest(
            path: example("dobson.csv"), formula: "counts ~ outcome + treatment", family: "poisson")),
        Model(name: "budworm_logit_interaction", request: FitRequest(
            path: example("budworm.csv"), formula: "cbind(numdead, 20 - numdead) ~ sex*ldose", family: "binomial")),
        Model(name: "cats_gaussian_aliased", request: FitRequest(
            path: example("cats.csv"), formula: "Hwt ~ Bwt + I(2*Bwt) + Sex")),
        Model(name: "pima_missing_logit_90", request: FitRequest(
            path: example("pima_missing.csv"), formula: "type ~ npreg + glu + bp + bmi + age", family: "binomial",
            confidenceLevel: 0.9)),
        Model(name: "menarche_quasibinomial_weights", request: FitRequest(
            path: example("menarche.csv"), formula: "Menarche/Total ~ Age", family: "quasibinomial", link: "cauchit",
            weightsColumn: "Total")),
        Model(name: "leuk_gamma_log", request: FitRequest(
            path: example("leuk.csv"), formula: "time ~ log(wbc) + ag", family: "gamma", link: "log")),
    ]

    @Test(arguments: models)
    func reportMatchesGolden(_ model: Model) throws {
        let report = try Pipeline.fit(inCLocale(model.request))
        let rendered = TextReport.render(report, dataName: "\(model.name).csv")
        let url = PrintedCases.root.appendingPathComponent("Tests/GLMReportTests/Golden/\(model.name).txt")
        if ProcessInfo.processInfo.environment["GLMFIT_UPDATE_GOLDEN"] == "1" {
            try rendered.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(GoldenText.maskingRoundingNoise(rendered) == GoldenText.maskingRoundingNoise(golden))
    }
}

enum GoldenText {
    /// The text with every number below 1e-12 in scientific notation, and the sign or pad
    /// before it, replaced by " ≈0": an estimate that is zero in exact arithmetic (Dobson's
    /// treatment effects) prints as rounding noise whose digits and sign depend on the BLAS
    /// kernels the CPU gets.
    static func maskingRoundingNoise(_ text: String) -> String {
        text.replacing(/[ -]?\d\.\d+e-(1[3-9]|[2-9]\d|\d{3})/, with: " ≈0")
    }
}
