import Foundation
import Testing
@testable import GLMCore

/// R's glm on an InstEval subset whose instructor × student-age interaction has 118 empty
/// cells (Reference/make_heavy_aliasing_reference.R and what it printed): the aliased columns,
/// rank, deviance, coefficients and standard errors, fitted by blocks with each near-singular
/// step by QR on X and by QR on the design's cells (the path of designs too large for X).
@Suite("Heavy aliasing against R")
struct HeavyAliasingReferenceTests {
    struct Model: Sendable {
        let formula: String
        let rank: Int
        let deviance: Double
        let aliased: [String]
        /// name → (estimate, standard error) of the non-aliased coefficients.
        let coefficients: [String: (Double, Double)]
    }

    static func models() throws -> [Model] {
        let text = try String(contentsOfFile: Repository.path("Tests/glmfitTests/Reference/heavy_aliasing_subset_reference.txt"), encoding: .utf8)
        return ReferenceModelBlock.parse(text).map { block in
            Model(
                formula: block.header["formula"] ?? "", rank: Int(block.header["rank"] ?? "") ?? -1,
                deviance: Double(block.header["deviance"] ?? "") ?? .nan,
                aliased: (block.header["aliased_names"] ?? "").split(separator: "\t").map(String.init),
                coefficients: block.coefficients)
        }
    }

    /// The treatment-coded model by QR on the cells, the sum-coded one by QR on X (each path
    /// on both would double the suite's slowest test for little).
    @Test(arguments: [(0, true), (1, false)])
    func aliasedColumnsAndNumbersAreRs(_ setting: (model: Int, onCells: Bool)) throws {
        let models = try Self.models()
        #expect(models.count == 2)
        let table = try loadExample("Tests/glmfitTests/Reference/heavy_aliasing_subset.csv")
        let onCells = setting.onCells
        for model in [models[setting.model]] {
            let frame = try ModelFrame(table: table, formula: try Formula.parse(model.formula))
            let design = try Design(frame: frame, layout: .structured)
            #expect(design.isStructured)
            var control = FitControl()
            control.nearSingularQROnCells = onCells
            let fit = try GLMFit.fit(design: design, family: try Family(kind: .binomial, link: .logit), control: control)
            let aliased = fit.coefficientNames.indices.filter { fit.aliased[$0] }.map { fit.coefficientNames[$0] }
            #expect(aliased == model.aliased, "\(model.formula)")
            #expect(fit.rank == model.rank)
            #expect(abs(fit.deviance - model.deviance) <= 1e-8 * model.deviance, "\(fit.deviance) vs \(model.deviance)")
            let summary = try GLMSummary(fit: fit)
            let estimated = summary.coefficients.filter { $0.estimate != nil }
            #expect(estimated.count == model.coefficients.count)
            for coefficient in estimated {
                guard let (estimate, error) = model.coefficients[coefficient.term],
                      let fitted = coefficient.estimate, let fittedError = coefficient.standardError else {
                    Issue.record("\(coefficient.term) is not in R's coefficients")
                    continue
                }
                // Separated cells (standard errors in the thousands) diverge: their values
                // depend on the iterations' last digits, as R's do; the others to 1e-6.
                guard error < 10 else { continue }
                #expect(abs(fitted - estimate) <= 1e-6 * max(abs(estimate), 1e-3), "\(coefficient.term)")
                #expect(abs(fittedError - error) <= 1e-6 * error, "\(coefficient.term) SE")
            }
        }
    }
}
