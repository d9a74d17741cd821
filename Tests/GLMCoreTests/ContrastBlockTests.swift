import Foundation
import Testing
@testable import GLMCore

/// Factor terms coded by sum, Helmert and polynomial contrasts held as codes plus their
/// contrast matrix (`DesignStructure.ContrastBlock`): the fit by blocks against the same
/// design with those columns as values, alone, times a numeric variable and beside a large
/// treatment-coded factor that is eliminated; and R's glm on InstEval's 150 busiest
/// instructors, sum-coded (Reference/make_contrast_block_reference.R).
@Suite("Contrast-coded factors as codes")
struct ContrastBlockTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let data: String
        let formula: String
        let family: Family.Kind
        let link: Link
        /// Whether a treatment-coded factor term is eliminated beside the contrast terms.
        let eliminates: Bool
        var testDescription: String { "\(data): \(formula)" }
    }

    static let cases: [Case] = [
        Case(data: "Examples/dietox.csv", formula: "Weight ~ Time + C(factor(Pig), sum)", family: .gaussian, link: .identity, eliminates: false),
        Case(data: "Examples/dietox.csv", formula: "Weight ~ Time + C(factor(Pig), helmert)", family: .gamma, link: .log, eliminates: false),
        // poly: R allows at most 95 levels, but its high degrees are nearly collinear (72
        // levels: standard errors of 30 to 50, so that any two summation orders differ
        // beyond 1e-9); 22 levels here.
        Case(data: "Examples/dietox.csv", formula: "Weight ~ Time + C(factor(Litter), poly)", family: .gaussian, link: .log, eliminates: false),
        // Alone and times a numeric variable.
        Case(data: "Examples/dietox.csv", formula: "Weight ~ Time * C(factor(Pig), sum)", family: .gaussian, link: .log, eliminates: false),
        Case(data: "Examples/dietox.csv", formula: "Weight ~ Time * C(factor(Litter), helmert)", family: .gaussian, link: .identity, eliminates: false),
        // Beside a large treatment-coded factor (eliminated), alone and times a numeric.
        Case(data: "Examples/dietox.csv", formula: "Weight ~ factor(Pig) + C(factor(Time), helmert)", family: .gaussian, link: .log, eliminates: true),
        Case(data: "Examples/cbpp.csv", formula: "cbind(incidence, size - incidence) ~ factor(herd) + C(factor(period), sum)", family: .binomial, link: .logit, eliminates: true),
        Case(data: "Examples/epil.csv", formula: "y ~ factor(subject) + C(factor(period), poly) * lage", family: .poisson, link: .log, eliminates: true),
        Case(data: "Examples/chickweight.csv", formula: "weight ~ factor(Chick) + C(factor(Time), sum) + C(factor(Diet), sum):Time", family: .poisson, link: .log, eliminates: true),
        // Interactions: the combination of levels as the code, C the Kronecker product of the
        // factors' rows (sum × sum, Helmert × a treatment-coded factor, times a numeric).
        Case(data: "Examples/dietox.csv", formula: "Weight ~ Time + C(factor(Evit), sum) * C(factor(Cu), sum)", family: .gaussian, link: .log, eliminates: false),
        Case(data: "Examples/dietox.csv", formula: "Weight ~ C(factor(Litter), helmert) * factor(Cu) + Time", family: .gaussian, link: .identity, eliminates: true),
        Case(data: "Examples/epil.csv", formula: "y ~ factor(subject) + C(factor(period), sum) * trt + C(factor(period), sum):lage", family: .poisson, link: .log, eliminates: true),
        Case(data: "Examples/chickweight.csv", formula: "weight ~ factor(Chick) + C(factor(Time), sum) * C(factor(Diet), helmert)", family: .gaussian, link: .log, eliminates: true),
    ]

    /// The design with the contrast terms as values and the same design as codes, both
    /// fitted by blocks to the end (the same normal equations, so the numbers agree to
    /// rounding; no QR for near-singular steps, so that aliasing is decided by the blocks),
    /// and the dense fit and the fit of the codes as the command line makes them (QR where
    /// a step is near singular).
    static func fits(_ test: Case) throws -> (values: GLMFit, codes: GLMFit, dense: GLMFit, codesByDefault: GLMFit) {
        let table = try loadExample(test.data)
        let frame = try ModelFrame(table: table, formula: try Formula.parse(test.formula))
        let family = try Family(kind: test.family, link: test.link)
        let denseDesign = try Design(frame: frame)
        #expect(denseDesign.structure.contrastBlocks.isEmpty)
        let structured = try Design(frame: frame, layout: .structured)
        #expect(structured.isStructured)
        #expect(!structured.structure.contrastBlocks.isEmpty, "the contrast terms are held as codes")
        #expect(structured.structure.blocks.isEmpty != test.eliminates)
        let contrastWidth = structured.structure.contrastBlocks.reduce(0) { $0 + $1.width }
        #expect(structured.structure.denseColumns.count + contrastWidth
            + structured.structure.blocks.reduce(0) { $0 + $1.width } == structured.columnCount)
        var blocksControl = FitControl(solver: .blocks)
        blocksControl.nearSingularBlocksByQR = false
        let values = try GLMFit.fit(design: denseDesign, family: family, control: blocksControl)
        let codes = try GLMFit.fit(design: structured, family: family, control: blocksControl)
        let dense = try GLMFit.fit(design: denseDesign, family: family)
        let codesByDefault = try GLMFit.fit(design: structured, family: family)
        return (values, codes, dense, codesByDefault)
    }

    static func close(_ a: Double?, _ b: Double?, _ tolerance: Double, _ what: String) {
        switch (a, b) {
        case (nil, nil): return
        case let (a?, b?):
            if a.isNaN && b.isNaN { return }
            #expect(abs(a - b) <= tolerance * max(abs(a), abs(b)) + 1e-14, "\(what): \(a) vs \(b)")
        default:
            Issue.record("\(what): \(String(describing: a)) vs \(String(describing: b))")
        }
    }

    static func compare(_ a: GLMFit, _ b: GLMFit, tolerance: Double, _ label: String) throws {
        #expect(a.coefficientNames == b.coefficientNames, "\(label)")
        #expect(a.aliased == b.aliased, "\(label): aliased")
        #expect(a.rank == b.rank, "\(label): rank")
        close(a.deviance, b.deviance, tolerance, "\(label) deviance")
        close(a.aic, b.aic, tolerance, "\(label) AIC")
        let summaryA = try GLMSummary(fit: a), summaryB = try GLMSummary(fit: b)
        for (x, y) in zip(summaryA.coefficients, summaryB.coefficients) {
            close(x.estimate, y.estimate, tolerance, "\(label) \(x.term) estimate")
            close(x.standardError, y.standardError, tolerance, "\(label) \(x.term) std. error")
        }
        let hatA = Influence.hatValues(a), hatB = Influence.hatValues(b)
        #expect(hatA.count == hatB.count)
        for row in hatA.indices { close(hatA[row], hatB[row], tolerance, "\(label) hat[\(row)]") }
    }

    @Test(arguments: cases)
    func codesEqualValues(_ test: Case) throws {
        let (values, codes, dense, codesByDefault) = try Self.fits(test)
        #expect(codes.irls.solution?.blockFactor != nil)
        #expect(values.irls.iterations == codes.irls.iterations)
        try Self.compare(values, codes, tolerance: 1e-9, "codes vs values")
        // The dense fit (QR) as StructuredDesignTests holds the indicator blocks to it.
        try Self.compare(dense, codesByDefault, tolerance: 1e-7, "codes vs dense")
        #expect(codesByDefault.irls.solution?.blockFactor != nil || codesByDefault.aliased.contains(true))
    }

    @Test(arguments: cases)
    func analysesOfDevianceEqualValues(_ test: Case) throws {
        let (values, codes, _, _) = try Self.fits(test)
        let sequentialValues = try AnalysisOfDeviance.sequential(fit: values)
        let sequentialCodes = try AnalysisOfDeviance.sequential(fit: codes)
        #expect(sequentialValues.rows.count == sequentialCodes.rows.count)
        for (a, b) in zip(sequentialValues.rows, sequentialCodes.rows) {
            #expect(a.term == b.term && a.df == b.df && a.residualDf == b.residualDf)
            Self.close(a.residualDeviance, b.residualDeviance, 1e-9, "anova \(a.term)")
        }
        let dropValues = try AnalysisOfDeviance.dropOne(fit: values)
        let dropCodes = try AnalysisOfDeviance.dropOne(fit: codes)
        #expect(dropValues.rows.count == dropCodes.rows.count)
        for (a, b) in zip(dropValues.rows, dropCodes.rows) {
            #expect(a.term == b.term && a.df == b.df)
            Self.close(a.deviance, b.deviance, 1e-9, "drop1 \(a.term)")
        }
    }

    /// Selecting columns (refits, aliasing): a whole term, a term less one column (kept as
    /// codes with C's columns selected), and columns out of order (the term's kept columns
    /// become values) give X's columns exactly; so do the sums of squares.
    @Test func selectingColumnsOfAContrastTerm() throws {
        let table = try loadExample("Examples/dietox.csv")
        let frame = try ModelFrame(table: table, formula: try Formula.parse("Weight ~ Time * C(factor(Litter), helmert)"))
        let dense = try Design(frame: frame)
        let structured = try Design(frame: frame, layout: .structured)
        #expect(structured.structure.contrastBlocks.count == 2)
        let n = dense.rowCount
        for column in 0..<dense.columnCount {
            #expect(structured.structure.column(column, rowCount: n) == dense.columns[column], "column \(column)")
        }
        let sumsDense = dense.structure.columnSumsOfSquares(rowCount: n)
        let sumsCodes = structured.structure.columnSumsOfSquares(rowCount: n)
        for column in sumsDense.indices { Self.close(sumsDense[column], sumsCodes[column], 1e-12, "Σx² \(column)") }
        let p = dense.columnCount
        let selections: [[Int]] = [
            Array(0..<p).filter { dense.assign[$0] != 2 },
            Array(0..<p).filter { $0 != 5 },
            [0, 1] + Array((2..<p).reversed()),
        ]
        for selected in selections {
            let subset = structured.structure.selecting(columns: selected)
            #expect(subset.columnCount == selected.count)
            for (position, column) in selected.enumerated() {
                #expect(subset.column(position, rowCount: n) == dense.columns[column], "selected \(column) at \(position)")
            }
        }
        #expect(structured.structure.selecting(columns: selections[1]).contrastBlocks.count == 2, "a term less a column stays codes")
        #expect(structured.structure.selecting(columns: selections[2]).contrastBlocks.isEmpty, "columns out of order become values")
    }

    /// An interaction with a contrast-coded factor is one block: the combination of levels
    /// (the first factor varying fastest) and C's rows the Kronecker products, so that each
    /// row's values are X's (as the design built as values has them).
    @Test func interactionIsOneBlockOfCombinedLevels() throws {
        let table = try loadExample("Examples/chickweight.csv")
        let frame = try ModelFrame(
            table: table, formula: try Formula.parse("weight ~ C(factor(Time), sum) * C(factor(Diet), helmert)"))
        let structured = try Design(frame: frame, layout: .structured)
        let blocks = structured.structure.contrastBlocks
        #expect(blocks.map(\.width) == [11, 3, 33])
        #expect(blocks.map(\.levelCount) == [12, 4, 48])
        let values = try Design(frame: frame).matrix()
        let rowCount = structured.rowCount
        for block in blocks {
            for local in 0..<block.width {
                let column = block.firstColumn + local
                #expect(block.values(local: local, rowCount: rowCount) == Array(values[(column * rowCount)..<((column + 1) * rowCount)]),
                        "column \(structured.columnNames[column])")
            }
        }
    }

    /// A design is laid out by `.automatic` as the command line does: a contrast term of
    /// 100 or more columns is held as codes (and makes the design structured on its own); a
    /// narrower one stays values.
    @Test func automaticLayoutHoldsWideContrastTermsAsCodes() throws {
        let reference = try Self.reference()
        let wide = try ModelFrame(table: try loadExample(reference.data), formula: try Formula.parse(reference.formula))
        let design = try Design(frame: wide, layout: .automatic)
        #expect(design.isStructured)
        #expect(design.structure.contrastBlocks.map(\.width) == [149])
        #expect(design.structure.blocks.isEmpty)
        let narrow = try ModelFrame(
            table: try loadExample("Examples/dietox.csv"), formula: try Formula.parse("Weight ~ Time + C(factor(Pig), sum)"))
        #expect(!(try Design(frame: narrow, layout: .automatic)).isStructured)
    }

    struct Reference: Decodable {
        let data: String
        let formula: String
        let n_obs: Int
        let coef_names: [String]
        let coefficients: [Double]
        let std_errors: [Double]
        let deviance: Double
        let null_deviance: Double
        let aic: Double
        let iterations: Int
        let hat_first: [Double]
        let hat_sum: Double
        let hat_max: Double
        let drop1_terms: [String]
        let drop1_deviance: [Double]
        let drop1_df: [Int]
    }

    static func reference() throws -> Reference {
        let path = Repository.path("Tests/GLMCoreTests/Reference/contrast_block_reference.json")
        let data = try #require(FileManager.default.contents(atPath: path))
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    /// R's glm(good ~ service + d, binomial, contrasts = list(d = "contr.sum")) on InstEval's
    /// 150 busiest instructors (34,545 ratings), fitted as the command line lays it out (the
    /// 149 sum-coded columns as codes), at ReferenceTests' tolerances.
    @Test func instEvalSumCodedMatchesR() throws {
        let reference = try Self.reference()
        let frame = try ModelFrame(table: try loadExample(reference.data), formula: try Formula.parse(reference.formula))
        let design = try Design(frame: frame, layout: .automatic)
        #expect(design.structure.contrastBlocks.count == 1)
        let fit = try GLMFit.fit(design: design, family: try Family(kind: .binomial, link: .logit))
        #expect(fit.irls.solution?.blockFactor != nil)
        #expect(fit.design.rowCount == reference.n_obs)
        #expect(fit.coefficientNames == reference.coef_names)
        #expect(fit.irls.iterations == reference.iterations)
        let summary = try GLMSummary(fit: fit)
        for (index, row) in summary.coefficients.enumerated() where index < reference.coefficients.count {
            expectClose(row.estimate, reference.coefficients[index], relative: ReferenceTests.coefficientTolerance,
                        absolute: 1e-9 * reference.std_errors[index], "\(row.term) estimate")
            expectClose(row.standardError, reference.std_errors[index], relative: ReferenceTests.coefficientTolerance,
                        "\(row.term) std. error")
        }
        expectClose(fit.deviance, reference.deviance, relative: ReferenceTests.devianceTolerance, "deviance")
        expectClose(fit.nullDeviance, reference.null_deviance, relative: ReferenceTests.devianceTolerance, "null deviance")
        expectClose(fit.aic, reference.aic, relative: ReferenceTests.devianceTolerance, "AIC")
        let hat = Influence.hatValues(fit)
        for (row, value) in reference.hat_first.enumerated() {
            expectClose(hat[row], value, relative: ReferenceTests.coefficientTolerance, "hat[\(row)]")
        }
        expectClose(hat.reduce(0, +), reference.hat_sum, relative: ReferenceTests.coefficientTolerance, "Σ hat")
        expectClose(hat.max(), reference.hat_max, relative: ReferenceTests.coefficientTolerance, "max hat")
        let drop = try AnalysisOfDeviance.dropOne(fit: fit)
        let dropped = drop.rows.filter { $0.term != "<none>" }
        #expect(dropped.map(\.term) == reference.drop1_terms)
        for (row, (deviance, df)) in zip(dropped, zip(reference.drop1_deviance, reference.drop1_df)) {
            #expect(row.df == df, "drop1 \(row.term) df")
            expectClose(row.deviance, deviance, relative: ReferenceTests.devianceTolerance, "drop1 \(row.term) deviance")
        }
    }
}
