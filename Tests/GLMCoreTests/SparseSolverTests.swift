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

    /// Sandwich and clustered covariances from the sparse factor (a solve a column, a pass
    /// over the rows) equal those of glm's QR on X (which the R reference tests check), every
    /// entry: HC0, HC1, HC3, and clusters of the data's first factor of many levels.
    @Test(arguments: cases)
    func sandwichEqualsQROnX(_ test: StructuredDesignTests.Case) throws {
        var control = Self.sparseControl()
        control.nearSingularBlocksByQR = false
        let (dense, sparse) = try StructuredDesignTests.fits(test, control: control)
        try #require(sparse.irls.solution?.sparseFactor != nil)
        // The model-based variances: the scale of a robust entry whose meat is 0 but for
        // rounding (a level whose rows' scores add up to 0 in its clusters, or a row fitted
        // exactly), where entries agree to 1e-9 of it; the others to 1e-7 of their own.
        let modelVariances = try GLMSummary(fit: dense).coefficients.compactMap(\.standardError).map { $0 * $0 }
        func compare(_ a: RobustCovariance, _ b: RobustCovariance, _ what: String) {
            #expect(a.columns == b.columns)
            #expect(!b.matrixOmitted, "\(what)")
            #expect(modelVariances.count == a.columns.count)
            func tolerance(_ i: Int, _ j: Int) -> Double {
                1e-7 * abs(a.matrix[i][i] * a.matrix[j][j]).squareRoot()
                    + 1e-9 * (modelVariances[i] * modelVariances[j]).squareRoot()
            }
            for (i, (x, y)) in zip(a.variances, b.variances).enumerated() where !(x.isNaN && y.isNaN) {
                #expect(abs(x - y) <= tolerance(i, i), "\(what) variance \(x) vs \(y)")
            }
            for (i, row) in a.matrix.enumerated() where i < b.matrix.count {
                for (j, value) in row.enumerated() where !(value.isNaN && b.matrix[i][j].isNaN) {
                    let tolerance = tolerance(i, j)
                    #expect(abs(value - b.matrix[i][j]) <= tolerance, "\(what) [\(i),\(j)]")
                }
            }
        }
        for type in [SandwichType.hc0, .hc1, .hc3] {
            compare(try Sandwich.vcovHC(dense, type: type), try Sandwich.vcovHC(sparse, type: type), "\(type)")
        }
        let table = try loadExample(test.data)
        let frame = try ModelFrame(table: table, formula: try Formula.parse(test.formula))
        // Clusters across the pigs (each pig's own slope and level make its rows' scores sum
        // to 0, so clusters of pigs would leave only rounding).
        let column = ["Examples/dietox.csv": "Time", "Examples/cbpp.csv": "herd"][test.data] ?? "subject"
        let clusters = try Sandwich.clusters(table: table, column: column, frame: frame)
        compare(try Sandwich.vcovCL(dense, clusters: clusters), try Sandwich.vcovCL(sparse, clusters: clusters), "cluster")

        // Beyond the covariance limit: the levels' variances in batches, the matrix over the
        // columns besides the levels only.
        let whole = try Sandwich.vcovCL(dense, clusters: clusters)
        let batched = try Sandwich.vcovCL(sparse, clusters: clusters, covarianceLimit: 5)
        #expect(batched.matrixOmitted && batched.matrix.isEmpty)
        #expect(batched.columns == whole.columns)
        let largest = modelVariances.max() ?? 0
        for (i, (x, y)) in zip(whole.variances, batched.variances).enumerated() {
            #expect(abs(x - y) <= 1e-7 * abs(x) + 1e-9 * modelVariances[i], "batched variance \(i): \(x) vs \(y)")
        }
        let levels = Set(sparse.design.structure.blocks.flatMap { Array($0.columns) })
        let others = whole.columns.filter { !levels.contains($0) }
        #expect(!others.isEmpty)
        let fromBatches = batched.covariance(columns: others), fromWhole = whole.covariance(columns: others)
        for (i, row) in fromWhole.enumerated() {
            for (j, value) in row.enumerated() {
                #expect(abs(value - fromBatches[i][j]) <= 1e-7 * abs(value) + 1e-9 * largest, "batched [\(i),\(j)]")
            }
        }

        // Past the cost limit: the columns besides the levels only, and a warning saying so.
        let factor = try #require(sparse.irls.solution?.sparseFactor)
        let cheap = try SparseSandwich.compute(
            factor: factor, structure: sparse.design.structure, kept: whole.columns,
            rowFactors: [Double](repeating: 1, count: sparse.design.rowCount), groups: nil, scale: 1, allColumns: false,
            multiplyAddLimit: 0)
        #expect(cheap.columns == others)
        #expect(cheap.omittedLevels == whole.columns.count - others.count)
        #expect(cheap.entry(whole.columns.first { levels.contains($0) } ?? -1, others[0]).isNaN)
        #expect(cheap.warnings(sparse).first?.contains("besides the factors' levels") == true)
        // The summary shows those levels' estimates with NA standard errors, tests and intervals.
        let robust = RobustCovariance(
            names: whole.names, columns: whole.columns, sparse: cheap, type: .hc0, clusterCount: nil,
            clusterAdjusted: false, warnings: [])
        let summary = try GLMSummary(fit: sparse, robust: robust)
        for (column, coefficient) in zip(sparse.coefficientNames.indices, summary.coefficients) where !sparse.aliased[column] {
            #expect(coefficient.estimate != nil)
            #expect((coefficient.standardError == nil) == levels.contains(column), "\(coefficient.term)")
            #expect((coefficient.pValue == nil) == levels.contains(column), "\(coefficient.term)")
        }
    }
}

/// Factors whose levels meet at random fill the sparse factor in nearly dense: when the dense
/// way does not fit either, the fit is refused before it starts, naming the cost.
@Suite("A sparse factor too costly is refused")
struct SparseCostLimitTests {
    @Test func randomlyCrossedFactorsBeyondTheDenseMemoryAreRefused() throws {
        var generator = SplitMix64(seed: 25)
        var lines = ["y,a,b"]
        for _ in 0..<150_000 {
            let a = Int.random(in: 0..<8_000, using: &generator), b = Int.random(in: 0..<8_000, using: &generator)
            lines.append("\(Double.random(in: 0..<1, using: &generator)),a\(a),b\(b)")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-crossed-\(UUID().uuidString).csv")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let table = try CSVReader.read(path: file.path, options: CSVOptions(collation: .bytes), select: { _ in nil })
        let design = try Design(frame: try ModelFrame(table: table, formula: try Formula.parse("y ~ a + b")), layout: .structured)
        // The dense way (8,000 columns besides a factor of 8,000) needs some 5 GB; 3 GB are
        // given, in which the sparse factor's entries would fit.
        let outcome = MemoryBudget.$limitForTesting.withValue(3_000_000_000) {
            Result { try GLMFit.fit(design: design, family: try Family(kind: .gaussian, link: .identity), control: FitControl()) }
        }
        guard case let .failure(error) = outcome else {
            Issue.record("the fit was not refused")
            return
        }
        let message = "\(error)"
        #expect(message.contains("multiply-adds a step"), "\(message)")
        #expect(message.contains("15,999 coefficients"), "\(message)")
    }
}

/// R's glm on small two-way fixed-effects panels whose workers and firms fall into many
/// connected sets (Reference/make_two_way_fixed_effects_reference.R, and
/// make_two_way_fixed_effects_weighted_reference.R with weights over six orders of magnitude
/// and workers whose effects diverge; what they printed): the aliased columns R's in-order
/// rule picks, rank, deviance, coefficients and standard errors, with the second factor
/// solved as sparse.
@Suite("Two-way fixed effects solved as sparse against R")
struct TwoWayFixedEffectsReferenceTests {
    struct Model: Sendable, CustomTestStringConvertible {
        let data: String
        let formula: String
        let family: String
        let weights: String?
        let rank: Int
        let deviance: Double
        let aic: Double
        let aliased: [String]
        let coefficients: [String: (Double, Double)]
        var testDescription: String { "\(formula) (\(family)\(weights.map { ", weights \($0)" } ?? ""))" }
    }

    static func models(
        panels: [String] = ["two_way_fixed_effects", "two_way_fixed_effects_weighted"]
    ) throws -> [Model] {
        try panels.flatMap { panel in
            let text = try String(
                contentsOfFile: Repository.path("Tests/glmfitTests/Reference/\(panel)_reference.txt"), encoding: .utf8)
            return ReferenceModelBlock.parse(text).map { block in
                let header = block.header
                return Model(
                    data: "Tests/glmfitTests/Reference/\(panel).csv", formula: header["formula"] ?? "",
                    family: header["family"] ?? "", weights: header["weights"].flatMap { $0 == "none" ? nil : $0 },
                    rank: Int(header["rank"] ?? "") ?? -1, deviance: Double(header["deviance"] ?? "") ?? .nan,
                    aic: Double(header["aic"] ?? "") ?? .nan, aliased: block.aliased, coefficients: block.coefficients)
            }
        }
    }

    @Test func everyModelIsRead() throws {
        #expect(try Self.models().count == 6)
    }

    /// A model's fit with `control` and `layout`.
    static func fit(_ model: Model, layout: Design.Layout, control: FitControl) throws -> GLMFit {
        let table = try loadExample(model.data)
        let frame = try ModelFrame(table: table, formula: try Formula.parse(model.formula), weightsColumn: model.weights)
        let family = model.family == "poisson" ? try Family(kind: .poisson, link: .log) : try Family(kind: .gaussian, link: .identity)
        return try GLMFit.fit(design: try Design(frame: frame, layout: layout), family: family, control: control)
    }

    /// R's aliased columns, rank, deviance and AIC (1e-8); every coefficient as `check` says
    /// (fitted estimate and SE, R's): true when it was compared. Returns how many were.
    @discardableResult
    static func expectRs(
        _ fit: GLMFit, _ model: Model,
        check: (_ term: String, _ fitted: (Double, Double), _ r: (Double, Double)) -> Bool
    ) throws -> Int {
        let aliased = fit.coefficientNames.indices.filter { fit.aliased[$0] }.map { fit.coefficientNames[$0] }
        #expect(aliased.count == model.aliased.count)
        #expect(aliased == model.aliased, "\(model.formula)")
        #expect(fit.rank == model.rank)
        #expect(abs(fit.deviance - model.deviance) <= 1e-8 * model.deviance, "\(fit.deviance) vs \(model.deviance)")
        let aic = try #require(fit.aic)
        #expect(abs(aic - model.aic) <= 1e-8 * abs(model.aic), "\(aic) vs \(model.aic)")
        let estimated = try GLMSummary(fit: fit).coefficients.filter { $0.estimate != nil }
        #expect(estimated.count == model.coefficients.count)
        var checked = 0
        for coefficient in estimated {
            guard let r = model.coefficients[coefficient.term],
                  let fitted = coefficient.estimate, let fittedError = coefficient.standardError else {
                Issue.record("\(coefficient.term) is not in R's coefficients")
                continue
            }
            if check(coefficient.term, (fitted, fittedError), r) { checked += 1 }
        }
        return checked
    }

    /// Estimate to 1e-6 relative (or of 10⁻³ when smaller) and SE to 1e-6 relative.
    static func expectClose(_ term: String, _ fitted: (Double, Double), _ r: (Double, Double)) {
        #expect(abs(fitted.0 - r.0) <= 1e-6 * max(abs(r.0), 1e-3), "\(term): \(fitted.0) vs \(r.0)")
        #expect(abs(fitted.1 - r.1) <= 1e-6 * r.1, "\(term) SE: \(fitted.1) vs \(r.1)")
    }

    @Test(arguments: 0..<6)
    func aliasedColumnsAndNumbersAreRs(_ index: Int) throws {
        let models = try Self.models()
        try #require(models.count == 6)
        var control = SparseSolverTests.sparseControl()
        control.nearSingularBlocksByQR = false
        let fit = try Self.fit(models[index], layout: .structured, control: control)
        #expect(fit.irls.solution?.sparseFactor != nil)
        try Self.expectRs(fit, models[index]) { term, fitted, r in
            // A standard error over 10⁵ (a level whose rows' working weights add up to some
            // 10⁻¹²: weight 10⁻⁶ and a fitted count near 0) is past what normal equations
            // resolve: their condition is the square of QR's (R's), here ~10¹⁴, so such an
            // entry of the inverse is good to ~10⁻² (LAPACK's dense inverse of the same XᵀWX is
            // no better); the estimate still to 10⁻⁷ of its standard error.
            if r.1 > 1e5 {
                #expect(abs(fitted.0 - r.0) <= 1e-7 * r.1, "\(term): \(fitted.0) vs \(r.0)")
                #expect(abs(fitted.1 - r.1) <= 1e-2 * r.1, "\(term) SE: \(fitted.1) vs \(r.1)")
            } else {
                Self.expectClose(term, fitted, r)
            }
            return true
        }
    }

    /// The light panel (Reference/make_two_way_fixed_effects_weighted_reference.R: its
    /// reference worker and a third of the others at weight 10⁻⁶) by blocks with no QR, as a
    /// design too large for QR is fitted: the aliased columns decided once on XᵀX with unit
    /// weights (on XᵀWX the in-order rule kept exactly dependent firms, then failed, on the
    /// separated 40,000-row panel this stands for). Coefficients with standard errors under
    /// 10 to 1e-6 (the others: see the end-to-end test of this panel). Not its third model:
    /// there the reference worker has weight 10⁻⁶ and only zero counts, its working weights
    /// reach 10⁻¹⁹, and the intercept's remaining squared norm (10⁻²² of its own) is past what
    /// normal equations hold: the fit ends in an error saying so (R's QR on √W X still
    /// resolves it).
    @Test(arguments: 0..<2)
    func lightPanelByBlocksIsRs(_ index: Int) throws {
        let models = try Self.models(panels: ["two_way_fixed_effects_light"])
        try #require(models.count == 3)
        var control = FitControl()
        control.nearSingularBlocksByQR = false
        let fit = try Self.fit(models[index], layout: .structured, control: control)
        #expect(fit.irls.solution?.blockFactor != nil)
        let checked = try Self.expectRs(fit, models[index]) { term, fitted, r in
            guard r.1 < 10 else { return false }
            Self.expectClose(term, fitted, r)
            return true
        }
        #expect(checked > 40)
    }

    /// The light panel's third model (working weights down to 10⁻¹⁹) is past normal equations
    /// by blocks and as sparse: an error saying so, naming the coefficient on the sparse path.
    @Test func lightPanelPastNormalEquationsEndsInAnError() throws {
        let models = try Self.models(panels: ["two_way_fixed_effects_light"])
        try #require(models.count == 3)
        var blocks = FitControl()
        blocks.nearSingularBlocksByQR = false
        var sparse = SparseSolverTests.sparseControl()
        sparse.nearSingularBlocksByQR = false
        for (control, message) in [(blocks, "not positive definite"), (sparse, "lost positive definiteness at coefficient '")] {
            #expect {
                _ = try Self.fit(models[2], layout: .structured, control: control)
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }
}
