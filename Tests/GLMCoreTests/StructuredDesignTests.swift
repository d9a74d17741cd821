import Foundation
import Testing
@testable import GLMCore

/// The fit by blocks (factor terms as codes) against the fit on X as values, on real data with
/// factors of 27 to 537 levels: every number and every downstream result the same.
@Suite("Fits by blocks equal fits on X as values")
struct StructuredDesignTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let data: String
        let formula: String
        let family: Family.Kind
        let link: Link
        var testDescription: String { "\(data): \(formula)" }
    }

    static let cases: [Case] = [
        Case(data: "Examples/epil.csv", formula: "y ~ V4 + factor(period) + factor(subject)", family: .poisson, link: .log),
        Case(data: "Examples/dietox.csv", formula: "Weight ~ Time + factor(Pig) + factor(Pig):Time", family: .gaussian, link: .identity),
        Case(data: "Examples/cbpp.csv", formula: "cbind(incidence, size - incidence) ~ factor(period) + factor(herd)", family: .binomial, link: .logit),
        Case(data: "Examples/orthodont.csv", formula: "distance ~ Sex + age + Subject", family: .gamma, link: .log),
        Case(data: "Examples/dietox.csv", formula: "Feed ~ Time + factor(Litter) + factor(Pig)", family: .gaussian, link: .log),
        Case(data: "Examples/chickweight.csv", formula: "weight ~ Time + factor(Chick):Time", family: .poisson, link: .log),
    ]

    static func fits(_ test: Case, control: FitControl = FitControl()) throws -> (dense: GLMFit, blocks: GLMFit) {
        let table = try loadExample(test.data)
        let frame = try ModelFrame(table: table, formula: try Formula.parse(test.formula))
        let family = try Family(kind: test.family, link: test.link)
        let dense = try GLMFit.fit(design: try Design(frame: frame), family: family, control: control)
        let structured = try Design(frame: frame, layout: .structured)
        #expect(structured.isStructured)
        #expect(structured.columns.isEmpty)
        let blocks = try GLMFit.fit(design: structured, family: family, control: control)
        return (dense, blocks)
    }

    static func close(_ a: Double?, _ b: Double?, _ tolerance: Double = 1e-7, _ what: String) {
        switch (a, b) {
        case (nil, nil): return
        case let (a?, b?):
            if a.isNaN && b.isNaN { return }
            #expect(abs(a - b) <= tolerance * max(abs(a), abs(b), 1e-12) + 1e-12, "\(what): \(a) vs \(b)")
        default:
            Issue.record("\(what): \(String(describing: a)) vs \(String(describing: b))")
        }
    }

    @Test(arguments: cases)
    func estimatesAndStandardErrors(_ test: Case) throws {
        let (dense, blocks) = try Self.fits(test)
        #expect(dense.coefficientNames == blocks.coefficientNames)
        #expect(dense.aliased == blocks.aliased)
        #expect(dense.rank == blocks.rank)
        #expect(dense.irls.iterations == blocks.irls.iterations)
        #expect(blocks.irls.solution?.blockFactor != nil || blocks.aliased.contains(true))
        Self.close(dense.deviance, blocks.deviance, 1e-10, "deviance")
        Self.close(dense.aic, blocks.aic, 1e-10, "AIC")
        let denseSummary = try GLMSummary(fit: dense)
        let blocksSummary = try GLMSummary(fit: blocks)
        for (a, b) in zip(denseSummary.coefficients, blocksSummary.coefficients) {
            Self.close(a.estimate, b.estimate, 1e-7, "\(a.term) estimate")
            Self.close(a.standardError, b.standardError, 1e-7, "\(a.term) std. error")
        }
        Self.close(denseSummary.dispersion, blocksSummary.dispersion, 1e-9, "dispersion")
        for (i, row) in denseSummary.vcov.enumerated() where i < blocksSummary.vcov.count {
            for (j, value) in row.enumerated() {
                Self.close(value, blocksSummary.vcov[i][j], 1e-6, "vcov[\(i),\(j)]")
            }
        }
        let denseHat = Influence.hatValues(dense), blocksHat = Influence.hatValues(blocks)
        for row in denseHat.indices { Self.close(denseHat[row], blocksHat[row], 1e-7, "hat[\(row)]") }
    }

    @Test(arguments: cases.prefix(3))
    func analysesOfDevianceAndRobustCovariances(_ test: Case) throws {
        let (dense, blocks) = try Self.fits(test)
        let sequentialDense = try AnalysisOfDeviance.sequential(fit: dense)
        let sequentialBlocks = try AnalysisOfDeviance.sequential(fit: blocks)
        for (a, b) in zip(sequentialDense.rows, sequentialBlocks.rows) {
            #expect(a.term == b.term && a.df == b.df && a.residualDf == b.residualDf)
            Self.close(a.residualDeviance, b.residualDeviance, 1e-9, "anova \(a.term)")
        }
        let dropDense = try AnalysisOfDeviance.dropOne(fit: dense)
        let dropBlocks = try AnalysisOfDeviance.dropOne(fit: blocks)
        for (a, b) in zip(dropDense.rows, dropBlocks.rows) {
            #expect(a.term == b.term && a.df == b.df)
            Self.close(a.deviance, b.deviance, 1e-9, "drop1 \(a.term)")
        }
        for type in [SandwichType.hc0, .hc3] {
            let robustDense = try Sandwich.vcovHC(dense, type: type)
            let robustBlocks = try Sandwich.vcovHC(blocks, type: type)
            for (i, row) in robustDense.matrix.enumerated() {
                for (j, value) in row.enumerated() { Self.close(value, robustBlocks.matrix[i][j], 1e-6, "\(type) [\(i),\(j)]") }
            }
        }
        // Profile intervals of the numeric terms (a few refits each).
        let columns = [1, 2].filter { !dense.aliased[$0] }
        let profileDense = try ProfileLikelihood.intervals(fit: dense, columns: columns)
        let profileBlocks = try ProfileLikelihood.intervals(fit: blocks, columns: columns)
        for (a, b) in zip(profileDense.intervals, profileBlocks.intervals) {
            Self.close(a.low, b.low, 1e-6, "profile \(a.term) low")
            Self.close(a.high, b.high, 1e-6, "profile \(a.term) high")
        }
    }

    /// Aliasing decided by the blocks alone (QR fallback off): a factor nested in another
    /// (Litter within Pig's litters), levels of the eliminated term aliased with the terms
    /// before it, and a numeric column equal to a level's indicator.
    @Test func blockAliasingFollowsRsInOrderRule() throws {
        var control = FitControl()
        control.nearSingularBlocksByQR = false
        for test in [Self.cases[4], Self.cases[3]] {
            let (dense, blocks) = try Self.fits(test, control: control)
            #expect(dense.aliased == blocks.aliased, "\(test.formula)")
            #expect(dense.aliased.contains(true) || test.formula.contains("Sex"))
            Self.close(dense.deviance, blocks.deviance, 1e-9, "deviance")
            for column in dense.coefficients.indices where !dense.aliased[column] {
                Self.close(dense.coefficients[column], blocks.coefficients[column], 1e-6, dense.coefficientNames[column])
            }
        }
    }

    @Test func modelsBeyondTheCovarianceLimitGiveEveryStandardErrorWithoutTheMatrix() throws {
        let (dense, blocks) = try Self.fits(Self.cases[2])
        let full = try GLMSummary(fit: blocks)
        let limited = try GLMSummary(fit: blocks, covarianceLimit: 10)
        #expect(!full.vcovOmitted && full.vcov.count == dense.rank)
        #expect(limited.vcovOmitted && limited.vcov.isEmpty && limited.vcovNames.count == dense.rank)
        for (a, b) in zip(full.coefficients, limited.coefficients) { Self.close(a.standardError, b.standardError, 1e-12, a.term) }
        // Entries from the blocks equal the matrix's.
        let kept = blocks.aliased.indices.filter { !blocks.aliased[$0] }
        let some = [kept[0], kept[1], kept[kept.count / 2], kept[kept.count - 1]]
        let fromBlocks = limited.covariance(columns: some)
        let fromMatrix = full.covariance(columns: some)
        for i in some.indices { for j in some.indices { Self.close(fromBlocks[i][j], fromMatrix[i][j], 1e-12, "[\(i),\(j)]") } }
    }
}
