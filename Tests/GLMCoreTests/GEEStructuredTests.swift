import Foundation
import Testing
@testable import GLMCore

/// GEE on a design whose large factor is held as codes (one entry per row) against the same
/// GEE on the design with every column as values: the same numbers to 1e-10.
@Suite("GEE on the design's structure equals GEE on X as values")
struct GEEStructuredTests {
    /// 2,400 rows in 300 clusters of 8; `g` has 120 levels crossing the clusters; `w` prior
    /// weights; responses for the three families from one linear predictor.
    static let table: Table = {
        var random = SplitMix64(seed: 25)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        let n = 2400
        var x = [Double](), g = [Double](), id = [Double](), w = [Double](), y = [Double](), count = [Double](),
            success = [Double]()
        for row in 0..<n {
            let cluster = Double(row / 8)
            let level = Double((row * 7 + row / 8) % 120)
            let xi = uniform() * 2 - 1
            // A cluster effect makes the rows of a cluster correlated.
            let clusterEffect = 0.4 * sin(cluster * 1.7)
            let eta = 0.3 + 0.5 * xi + 0.3 * sin(level) + clusterEffect
            x.append(xi)
            g.append(level)
            id.append(cluster)
            w.append(0.5 + uniform())
            y.append(eta + (uniform() - 0.5))
            count.append(Double(min(Int((exp(eta) * (0.5 + uniform())).rounded()), 20)))
            success.append(uniform() < 1 / (1 + exp(-eta)) ? 1 : 0)
        }
        return numericTable(["x": x, "g": g, "id": id, "w": w, "y": y, "count": count, "success": success])
    }()

    struct Case: Sendable, CustomTestStringConvertible {
        let formula: String
        let family: Family.Kind
        let structure: CorrelationStructure
        let weights: String?
        var testDescription: String { "\(family) \(structure.rawValue) \(formula)\(weights.map { " weights \($0)" } ?? "")" }
    }

    static let cases: [Case] = {
        var cases: [Case] = []
        for structure in [CorrelationStructure.independence, .exchangeable, .ar1] {
            cases.append(Case(formula: "y ~ x + factor(g)", family: .gaussian, structure: structure, weights: nil))
            cases.append(Case(formula: "success ~ x + factor(g)", family: .binomial, structure: structure, weights: nil))
            cases.append(Case(formula: "count ~ factor(g) + x", family: .poisson, structure: structure, weights: "w"))
        }
        // A factor times a numeric variable: codes with multipliers.
        cases.append(Case(formula: "y ~ factor(g) + factor(g):x", family: .gaussian, structure: .exchangeable, weights: "w"))
        cases.append(Case(formula: "success ~ factor(g) + x", family: .binomial, structure: .unstructured, weights: "w"))
        // Contrast-coded factors: codes times C, every row's entries read through C.
        cases.append(Case(formula: "count ~ C(factor(g), sum) + x", family: .poisson, structure: .exchangeable, weights: "w"))
        cases.append(Case(formula: "y ~ x + C(factor(g), helmert)", family: .gaussian, structure: .ar1, weights: nil))
        return cases
    }()

    static func fits(_ test: Case) throws -> (dense: GEEFit, structured: GEEFit) {
        let frame = try ModelFrame(table: table, formula: try Formula.parse(test.formula), weightsColumn: test.weights)
        let family = try Family(kind: test.family)
        let clusters = try GEE.keys(of: "id", in: table, rows: frame.rowIndices)
        let control = GEEControl(epsilon: 1e-10, maxIterations: 100)
        let dense = try Design(frame: frame, layout: .dense)
        let structured = try Design(frame: frame, layout: .structured)
        #expect(!dense.isStructured)
        #expect(structured.isStructured)
        return (
            try GEE.fit(design: dense, family: family, clusters: clusters, structure: test.structure, control: control),
            try GEE.fit(design: structured, family: family, clusters: clusters, structure: test.structure, control: control)
        )
    }

    static func expectSame(_ a: GEEFit, _ b: GEEFit, _ what: String) {
        let tolerance = 1e-10
        #expect(a.coefficientNames == b.coefficientNames, "\(what): names")
        #expect(a.iterations == b.iterations, "\(what): iterations")
        #expect(a.converged && b.converged, "\(what): converged")
        for index in a.coefficients.indices {
            expectClose(b.coefficients[index], a.coefficients[index], relative: tolerance,
                        absolute: 1e-12 * a.robustCovariance[0][0].squareRoot(), "\(what) \(a.coefficientNames[index])")
        }
        for (name, first, second) in [("robust", a.robustCovariance, b.robustCovariance),
                                      ("naive", a.naiveCovariance, b.naiveCovariance)] {
            #expect(first.count == second.count, "\(what): \(name) order")
            for i in first.indices where i < second.count {
                for j in first.indices {
                    let scale = (first[i][i] * first[j][j]).squareRoot()
                    expectClose(second[i][j], first[i][j], relative: tolerance, absolute: 1e-12 * scale,
                                "\(what) \(name)[\(i),\(j)]")
                }
            }
        }
        expectClose(b.scale, a.scale, relative: tolerance, "\(what) scale")
        expectClose(b.scaleStandardError, a.scaleStandardError, relative: tolerance, "\(what) scale SE")
        #expect(a.correlation.count == b.correlation.count, "\(what): alpha count")
        for (first, second) in zip(a.correlation, b.correlation) {
            expectClose(second.estimate, first.estimate, relative: tolerance, absolute: 1e-13, "\(what) \(first.label)")
            expectClose(second.standardError, first.standardError, relative: tolerance, "\(what) \(first.label) SE")
        }
        for row in a.fittedValues.indices {
            expectClose(b.fittedValues[row], a.fittedValues[row], relative: tolerance, "\(what) fitted[\(row)]")
            expectClose(b.linearPredictors[row], a.linearPredictors[row], relative: tolerance, absolute: 1e-13,
                        "\(what) eta[\(row)]")
        }
        switch (a.qic, b.qic) {
        case let (first?, second?):
            expectClose(second.qic, first.qic, relative: tolerance, "\(what) QIC")
            expectClose(second.cic, first.cic, relative: tolerance, "\(what) CIC")
            expectClose(second.quasiLikelihood, first.quasiLikelihood, relative: tolerance, "\(what) quasi-likelihood")
        case (nil, nil):
            break
        default:
            Issue.record("\(what): QIC on one side only")
        }
    }

    @Test(arguments: cases)
    func structuredEqualsDense(_ test: Case) throws {
        let (dense, structured) = try Self.fits(test)
        #expect(dense.coefficientNames.count >= 120)
        Self.expectSame(dense, structured, test.testDescription)
    }

    /// The information matrix held as sparse on the codes: the same fit as dense on X.
    @Test(arguments: cases)
    func sparseEqualsDense(_ test: Case) throws {
        let (dense, _) = try Self.fits(test)
        let frame = try ModelFrame(table: Self.table, formula: try Formula.parse(test.formula), weightsColumn: test.weights)
        let design = try Design(frame: frame, layout: .structured)
        let sparse = try GEE.fit(
            design: design, family: try Family(kind: test.family), clusters: try GEE.keys(of: "id", in: Self.table, rows: frame.rowIndices),
            structure: test.structure, control: GEEControl(epsilon: 1e-10, maxIterations: 100, information: .sparse))
        Self.expectSame(dense, sparse, "sparse " + test.testDescription)
    }

    /// The table path (what `--id` runs) holds a factor of 100 or more columns as codes and
    /// gives the same fit.
    @Test func tablePathHoldsTheFactorAsCodes() throws {
        let test = Case(formula: "count ~ factor(g) + x", family: .poisson, structure: .exchangeable, weights: "w")
        let (dense, _) = try Self.fits(test)
        let frame = try ModelFrame(table: Self.table, formula: try Formula.parse(test.formula), weightsColumn: "w")
        #expect(try Design(frame: frame, layout: .automatic).isStructured)
        let fit = try GEE.fit(
            table: Self.table, formula: try Formula.parse(test.formula), family: try Family(kind: .poisson, link: .log),
            weightsColumn: "w", idColumn: "id", structure: .exchangeable,
            control: GEEControl(epsilon: 1e-10, maxIterations: 100))
        Self.expectSame(dense, fit, "table path")
    }

    /// A column aliased with another (2x beside x) is dropped on both layouts, and the rest
    /// agree.
    @Test func aliasedColumnOnBothLayouts() throws {
        let test = Case(formula: "y ~ x + I(2 * x) + factor(g)", family: .gaussian, structure: .exchangeable, weights: nil)
        let (dense, structured) = try Self.fits(test)
        #expect(structured.coefficients[2].isNaN)
        #expect(structured.covarianceNames.count == structured.coefficientNames.count - 1)
        Self.expectSame(dense, structured, "aliased")
    }

    /// A p × p the memory cannot hold is refused before the fit, naming p.
    @Test func coefficientMatricesOverTheBudget() throws {
        let frame = try ModelFrame(table: Self.table, formula: try Formula.parse("y ~ x + factor(g)"))
        let design = try Design(frame: frame, layout: .structured)
        let clusters = try GEE.keys(of: "id", in: Self.table, rows: frame.rowIndices)
        // 121 coefficients: ten 121 × 121 matrices are about 1.2 MB.
        #expect {
            try MemoryBudget.$limitForTesting.withValue(600_000) {
                _ = try GEE.fit(
                    design: design, family: try Family(kind: .gaussian, link: .identity), clusters: clusters,
                    structure: .exchangeable)
            }
        } throws: { error in
            guard case let .insufficientMemory(what, _, _, _)? = error as? GLMError else { return false }
            return what.contains("121 coefficients") && what.contains("121 × 121")
        }
    }
}

/// geeglm on a real dataset with a large factor: lme4's InstEval, the 145 instructors with
/// at least 150 ratings as a factor (144 columns, held as codes), students as clusters
/// (Reference/gee_insteval_reference.json, made by make_gee_insteval_reference.R).
@Suite("GEE with a large factor matches geepack's geeglm on InstEval")
struct GEEInstEvalReferenceTests {
    private struct File: Decodable {
        let min_ratings: Int
        let levels: [String]
        let cases: [GEEReferenceCase]
    }

    private static let file: File? = {
        let path = Repository.path("Tests/GLMCoreTests/Reference/gee_insteval_reference.json")
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(File.self, from: data)
    }()

    static let cases: [GEEReferenceCase] = file?.cases ?? []
    private static let table = Result { try loadExample("Examples/insteval.csv.gz") }

    /// The instructors with at least `min_ratings` ratings, counted here, are R's.
    static func instructors(_ table: Table, minimum: Int) throws -> [String] {
        guard let index = table.index(of: "d"), case let .categorical(column)? = table.columns[index] else {
            throw GLMError.unknownColumn(name: "d", suggestions: [])
        }
        var counts = [Int](repeating: 0, count: column.levels.count)
        for code in column.codes where code >= 0 && Int(code) < counts.count { counts[Int(code)] += 1 }
        return column.levels.indices.filter { counts[$0] >= minimum }.map { column.levels[$0] }.sorted()
    }

    @Test func fixtureLoaded() throws {
        let file = try #require(Self.file)
        #expect(file.cases.count == 3)
        #expect(try Self.instructors(try Self.table.get(), minimum: file.min_ratings) == file.levels)
        #expect(file.levels.count >= 101)
    }

    @Test(arguments: cases)
    func matchesGeeglm(_ reference: GEEReferenceCase) throws {
        let file = try #require(Self.file)
        let table = try Self.table.get()
        let subset = try Subset("d %in% c(" + file.levels.map { "\"\($0)\"" }.joined(separator: ", ") + ")")
        let formula = try Formula.parse(reference.formula)
        let frame = try ModelFrame(table: table, formula: formula, weightsColumn: reference.weights, subset: subset)
        #expect(try Design(frame: frame, layout: .automatic).isStructured)
        for (label, result) in [("default", reference.default), ("tight", reference.tight)] {
            let fit = try GEE.fit(
                table: table, formula: formula, family: try GEEReferenceFixtures.family(reference),
                weightsColumn: reference.weights, idColumn: reference.id_column,
                structure: try #require(CorrelationStructure(name: reference.corstr)),
                control: GEEControl(epsilon: result.epsilon, maxIterations: result.maxit), subset: subset)
            // vcov holds the leading 12 × 12 block; fitted values the first 50 rows.
            expectMatchesGeeglm(fit, reference, result, label: label, checkIterations: label == "default")
        }
    }
}

/// A logical response is TRUE = 1 in a GEE, also when every row is TRUE (its only level is
/// then TRUE, not FALSE).
@Suite("GEE reads a logical response by its values")
struct GEELogicalResponseTests {
    static func fit(_ response: Column, _ x: [Double], _ id: [Double]) throws -> GEEFit {
        let table = Table(
            source: "logical.csv", columnNames: ["y", "x", "id"], columns: [response, .numeric(x), .numeric(id)],
            rowCount: x.count)
        return try GEE.fit(
            table: table, formula: try Formula.parse("y ~ x"), family: try Family(kind: .gaussian), idColumn: "id",
            structure: .independence)
    }

    @Test func allTrueIsOnes() throws {
        let x = (0..<24).map { Double($0 % 7) + 0.5 }
        let id = (0..<24).map { Double($0 / 4) }
        let logical = try Self.fit(.categorical(CategoricalColumn(codes: [Int32](repeating: 0, count: 24), levels: ["TRUE"], isLogical: true)), x, id)
        let numeric = try Self.fit(.numeric([Double](repeating: 1, count: 24)), x, id)
        expectClose(logical.coefficients[0], 1, relative: 1e-12, "intercept")
        #expect(logical.fittedValues.allSatisfy { abs($0 - 1) < 1e-12 })
        #expect(logical.coefficients == numeric.coefficients)
    }

    @Test func mixedIsZerosAndOnes() throws {
        let x = (0..<24).map { Double($0 % 7) + 0.5 }
        let id = (0..<24).map { Double($0 / 4) }
        let values = (0..<24).map { $0 % 3 == 0 ? 0.0 : 1.0 }
        let logical = try Self.fit(
            .categorical(CategoricalColumn(codes: values.map { $0 == 1 ? 1 : 0 }, levels: ["FALSE", "TRUE"], isLogical: true)),
            x, id)
        let numeric = try Self.fit(.numeric(values), x, id)
        #expect(logical.coefficients == numeric.coefficients)
        #expect(logical.robustCovariance == numeric.robustCovariance)
    }
}
