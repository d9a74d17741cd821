import Foundation
import Testing
@testable import GLMCore

/// Fits whose second factor term is held apart from the dense remainder and solved as sparse
/// (`SparseBlockSolver`), forced on small designs: the same aliased columns, numbers and hat
/// values as glm's QR on X (whose numbers the R reference tests check).
@Suite("Several factors of many levels solved as sparse")
struct SparseSolverTests {
    static func sparseControl() -> FitControl {
        var control = FitControl()
        control.denseRestLimit = 0
        control.secondaryMinimumWidth = 2
        return control
    }

    static let cases: [StructuredDesignTests.Case] = [
        StructuredDesignTests.cases[2], StructuredDesignTests.cases[4],
        StructuredDesignTests.Case(
            data: "Examples/epil.csv", formula: "y ~ V4 + factor(subject) + factor(period)", family: .poisson, link: .log),
        StructuredDesignTests.Case(
            data: "Examples/dietox.csv", formula: "Weight ~ factor(Litter) + Time + factor(Pig) + factor(Pig):Time",
            family: .gaussian, link: .identity),
        StructuredDesignTests.Case(
            data: "Examples/epil.csv", formula: "y ~ trt * factor(period) + V4 + factor(subject)", family: .poisson, link: .log),
    ]

    @Test(arguments: cases)
    func sparseEqualsQROnX(_ test: StructuredDesignTests.Case) throws {
        var control = Self.sparseControl()
        // The sparse rule decides the aliased columns itself, not QR.
        control.nearSingularBlocksByQR = false
        let (dense, sparse) = try StructuredDesignTests.fits(test, control: control)
        #expect(sparse.irls.solution?.sparseFactor != nil)
        #expect(dense.aliased == sparse.aliased, "\(test.formula)")
        #expect(dense.rank == sparse.rank)
        StructuredDesignTests.close(dense.deviance, sparse.deviance, 1e-10, "deviance")
        let denseSummary = try GLMSummary(fit: dense)
        let sparseSummary = try GLMSummary(fit: sparse)
        for (a, b) in zip(denseSummary.coefficients, sparseSummary.coefficients) {
            StructuredDesignTests.close(a.estimate, b.estimate, 1e-7, "\(a.term) estimate")
            StructuredDesignTests.close(a.standardError, b.standardError, 1e-7, "\(a.term) std. error")
        }
        for (i, row) in denseSummary.vcov.enumerated() where i < sparseSummary.vcov.count {
            for (j, value) in row.enumerated() {
                StructuredDesignTests.close(value, sparseSummary.vcov[i][j], 1e-6, "vcov[\(i),\(j)]")
            }
        }
        let denseHat = Influence.hatValues(dense), sparseHat = Influence.hatValues(sparse)
        for row in denseHat.indices { StructuredDesignTests.close(denseHat[row], sparseHat[row], 1e-7, "hat[\(row)]") }
    }
}
