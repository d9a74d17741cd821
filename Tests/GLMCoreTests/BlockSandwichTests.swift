import Foundation
import Testing
@testable import GLMCore

/// Sandwich and cluster covariances of fits by blocks (issue 25): against R's sandwich on
/// InstEval's 150 most rated instructors (Reference/block_sandwich_reference.json, made by
/// make_block_sandwich_reference.R), and against the same covariances from X as values.
@Suite("Sandwich and cluster SEs by blocks")
struct BlockSandwichTests {
    struct ReferenceCase: Decodable, Sendable, CustomTestStringConvertible {
        let id: String
        let formula: String
        let family: String
        let weights: String?
        let frequency_weights: String?
        let coef_names: [String]
        let picked: [String]
        let se_HC0: [Double]
        let se_HC1: [Double]
        let se_HC2: [Double]
        let se_HC3: [Double]
        let se_CL_s: [Double]
        let se_CL_d_HC1: [Double]
        let vcov_HC0_picked: [[Double]]
        let vcov_HC3_picked: [[Double]]
        let vcov_CL_s_picked: [[Double]]

        var testDescription: String { id }
    }

    struct ReferenceFile: Decodable {
        let cases: [ReferenceCase]
    }

    static let dataPath = "Tests/GLMCoreTests/Reference/block_sandwich_data/insteval_top150.csv.gz"

    static let referenceCases: [ReferenceCase] = {
        let url = URL(fileURLWithPath: Repository.path("Tests/GLMCoreTests/Reference/block_sandwich_reference.json"))
        guard let data = try? Data(contentsOf: url),
              let file = try? JSONDecoder().decode(ReferenceFile.self, from: data) else { return [] }
        return file.cases
    }()

    /// R's tolerance for sandwich covariances (as SandwichTests).
    static let referenceTolerance = 1e-6
    /// Blocks against X as values, on the same data: the two fits and the two sandwiches.
    static let blocksTolerance = 1e-9

    static func request(_ test: ReferenceCase, vcov: String? = nil, cluster: String? = nil) -> FitRequest {
        var request = FitRequest(
            path: dataPath, formula: test.formula, family: test.family, weightsColumn: test.weights, vcov: vcov,
            clusterColumn: cluster)
        request.frequencyWeightsColumn = test.frequency_weights
        request.collation = .bytes
        return request
    }

    static func table() throws -> Table { try loadExample(dataPath) }

    @Test func referenceCasesAreRead() {
        #expect(Self.referenceCases.count == 3)
    }

    @Test(arguments: referenceCases)
    func standardErrorsMatchRsSandwich(_ test: ReferenceCase) throws {
        let table = try Self.table()
        let runs: [(vcov: String?, cluster: String?, expected: [Double], picked: [[Double]]?)] = [
            ("HC0", nil, test.se_HC0, test.vcov_HC0_picked), ("HC1", nil, test.se_HC1, nil),
            ("HC2", nil, test.se_HC2, nil), ("HC3", nil, test.se_HC3, test.vcov_HC3_picked),
            (nil, "s", test.se_CL_s, test.vcov_CL_s_picked), ("HC1", "d", test.se_CL_d_HC1, nil),
        ]
        for run in runs {
            let what = "\(test.id) \(run.vcov ?? "") \(run.cluster.map { "cluster \($0)" } ?? "")"
            let report = try Pipeline.fit(Self.request(test, vcov: run.vcov, cluster: run.cluster), table: table)
            // The fit is by blocks (d has 150 levels): the sandwich is too.
            #expect(report.fit.irls.solution?.blockFactor != nil, "\(what): fitted by blocks")
            #expect(report.summary.robust?.blocks != nil, "\(what): sandwich by blocks")
            let byName = Dictionary(uniqueKeysWithValues: report.summary.coefficients.map { ($0.term, $0.standardError) })
            #expect(report.summary.coefficients.compactMap(\.standardError).count == test.coef_names.count)
            for (name, expected) in zip(test.coef_names, run.expected) {
                expectClose(byName[name] ?? nil, expected, relative: Self.referenceTolerance, "\(what) \(name)")
            }
            if let picked = run.picked {
                let columns = test.picked.compactMap { report.fit.coefficientNames.firstIndex(of: $0) }
                #expect(columns.count == test.picked.count)
                expectMatrixClose(report.summary.covariance(columns: columns), picked, relative: Self.referenceTolerance, what)
            }
        }
    }

    /// The students S0001–S0299 (2,797 ratings of all 150 instructors), so that the dense
    /// sandwiches (k² per row) stay quick. For the logistic model, without the instructors
    /// whose ratings there are all good or all bad: their coefficients run off to ±∞
    /// (separation), and the two fits stop at different points along that ray.
    static func someStudents(_ table: Table, separatedLevelsOf response: String?) throws -> Subset {
        let students = (1..<300).map { String(format: "S%04d", $0) }
        var text = "s %in% c(" + students.map { "\"\($0)\"" }.joined(separator: ", ") + ")"
        if let response,
           case let .categorical(s)? = table.index(of: "s").flatMap({ table.columns[$0] }),
           case let .categorical(d)? = table.index(of: "d").flatMap({ table.columns[$0] }),
           case let .numeric(y)? = table.index(of: response).flatMap({ table.columns[$0] }) {
            let chosen = Set(students)
            var outcomes: [String: Set<Double>] = [:]
            for row in y.indices where s.codes[row] >= 0 && d.codes[row] >= 0 && chosen.contains(s.levels[Int(s.codes[row])]) {
                outcomes[d.levels[Int(d.codes[row])], default: []].insert(y[row])
            }
            let separated = outcomes.filter { $0.value.count == 1 }.keys.sorted()
            #expect(!separated.isEmpty && separated.count < 50)
            text += " & !(d %in% c(" + separated.map { "\"\($0)\"" }.joined(separator: ", ") + "))"
        }
        return try Subset(text)
    }

    /// The same model fitted on X as values and by blocks, each sandwich from its own fit.
    static func fits(_ test: ReferenceCase, table: Table) throws -> (dense: GLMFit, blocks: GLMFit, frame: ModelFrame) {
        let subset = try someStudents(table, separatedLevelsOf: test.family == "binomial" ? "good" : nil)
        let frame = try ModelFrame(
            table: table, formula: try Formula.parse(test.formula), weightsColumn: test.weights,
            frequencyWeightsColumn: test.frequency_weights, subset: subset)
        #expect(frame.rowCount > 2_000)
        let family = try Pipeline.resolveFamily(Self.request(test))
        // Converged well past R's 1e-8, so that the two fits agree beyond the tolerance.
        let control = FitControl(epsilon: 1e-13, maxIterations: 50)
        let dense = try GLMFit.fit(design: try Design(frame: frame, layout: .dense), family: family, control: control)
        let blocks = try GLMFit.fit(design: try Design(frame: frame, layout: .structured), family: family, control: control)
        #expect(dense.irls.solution?.blockFactor == nil)
        #expect(blocks.irls.solution?.blockFactor != nil)
        #expect(dense.coefficientNames == blocks.coefficientNames && dense.aliased == blocks.aliased)
        return (dense, blocks, frame)
    }

    static func expectSame(_ dense: RobustCovariance, _ blocks: RobustCovariance, _ what: String) {
        #expect(dense.blocks == nil && blocks.blocks != nil, "\(what): paths")
        #expect(dense.names == blocks.names && !blocks.matrixOmitted)
        for (index, variance) in dense.variances.enumerated() where index < blocks.variances.count {
            expectClose(blocks.variances[index], variance, relative: blocksTolerance, "\(what) variance \(dense.names[index])")
        }
        expectMatrixClose(blocks.matrix, dense.matrix, relative: blocksTolerance, what)
    }

    @Test(arguments: referenceCases)
    func heteroskedasticityConsistentByBlocksEqualsDense(_ test: ReferenceCase) throws {
        let (dense, blocks, _) = try Self.fits(test, table: try Self.table())
        for type in SandwichType.allCases {
            Self.expectSame(
                try Sandwich.vcovHC(dense, type: type), try Sandwich.vcovHC(blocks, type: type), "\(test.id) \(type.rawValue)")
        }
    }

    /// Clusters by instructor (nested in the eliminated factor: the meat in blocks), by
    /// student and by student age (crossing it: one solve per cluster).
    @Test(arguments: referenceCases)
    func clusteredByBlocksEqualsDense(_ test: ReferenceCase) throws {
        let table = try Self.table()
        let (dense, blocks, frame) = try Self.fits(test, table: table)
        for column in ["d", "s", "studage"] {
            let clusters = try Sandwich.clusters(table: table, column: column, frame: frame)
            for (type, adjust) in [(SandwichType.hc0, true), (.hc1, true), (.hc0, false)] {
                Self.expectSame(
                    try Sandwich.vcovCL(dense, clusters: clusters, type: type, adjust: adjust),
                    try Sandwich.vcovCL(blocks, clusters: clusters, type: type, adjust: adjust),
                    "\(test.id) cluster \(column) \(type.rawValue) adjust \(adjust)")
            }
        }
    }

    /// Sum- and Helmert-coded factors held as codes times their contrast matrix beside the
    /// eliminated factor: their rows read through C, the same sandwiches as from X as values.
    @Test func contrastCodedTermsByBlocksEqualDense() throws {
        let table = try Self.table()
        let frame = try ModelFrame(
            table: table, formula: try Formula.parse("y ~ service + C(factor(studage), helmert) + C(factor(lectage), sum) + d"),
            weightsColumn: "w", subset: try Self.someStudents(table, separatedLevelsOf: nil))
        let family = try Family(kind: .gaussian)
        let control = FitControl(epsilon: 1e-13, maxIterations: 50)
        let blocksDesign = try Design(frame: frame, layout: .structured)
        #expect(blocksDesign.structure.contrastBlocks.count == 2)
        let dense = try GLMFit.fit(design: try Design(frame: frame, layout: .dense), family: family, control: control)
        let blocks = try GLMFit.fit(design: blocksDesign, family: family, control: control)
        #expect(blocks.irls.solution?.blockFactor != nil)
        for type in [SandwichType.hc0, .hc3] {
            Self.expectSame(try Sandwich.vcovHC(dense, type: type), try Sandwich.vcovHC(blocks, type: type), "contrasts \(type.rawValue)")
        }
        for column in ["d", "s"] {
            let clusters = try Sandwich.clusters(table: table, column: column, frame: frame)
            Self.expectSame(
                try Sandwich.vcovCL(dense, clusters: clusters, type: .hc0, adjust: true),
                try Sandwich.vcovCL(blocks, clusters: clusters, type: .hc0, adjust: true), "contrasts cluster \(column)")
        }
    }

    /// Above the covariance limit: every variance, no matrix; entries (and so Wald tests)
    /// from the blocks equal the matrix's.
    @Test func beyondTheLimitEveryVarianceAndTheEntriesAskedFor() throws {
        let test = try #require(Self.referenceCases.first)
        let table = try Self.table()
        let (_, blocks, frame) = try Self.fits(test, table: table)
        let clusters = try Sandwich.clusters(table: table, column: "s", frame: frame)
        let pairs: [(RobustCovariance, RobustCovariance)] = [
            (try Sandwich.vcovHC(blocks, type: .hc1), try Sandwich.vcovHC(blocks, type: .hc1, covarianceLimit: 10)),
            (try Sandwich.vcovCL(blocks, clusters: clusters), try Sandwich.vcovCL(blocks, clusters: clusters, covarianceLimit: 10)),
        ]
        // A numeric term, two levels of the eliminated factor, one level alone.
        let hypothesis = try LinearHypothesis.parse(
            "service = 0, \(test.picked[3]) = \(test.picked[4]), \(test.picked[5]) = 0",
            coefficientNames: blocks.coefficientNames, aliased: blocks.aliased)
        for (full, limited) in pairs {
            #expect(!full.matrixOmitted && full.matrix.count == blocks.rank)
            #expect(limited.matrixOmitted && limited.matrix.isEmpty && limited.variances.count == blocks.rank)
            #expect(full.variances == limited.variances)
            let some = [0, 1, 7, 8, blocks.rank / 2, blocks.rank - 1].map { full.columns[$0] }
            let fromBlocks = limited.covariance(columns: some)
            let fromMatrix = full.covariance(columns: some)
            expectMatrixClose(fromBlocks, fromMatrix, relative: 1e-12, "entries")
            let fullSummary = try GLMSummary(fit: blocks, robust: full)
            let limitedSummary = try GLMSummary(fit: blocks, robust: limited)
            #expect(!fullSummary.vcovOmitted && limitedSummary.vcovOmitted && limitedSummary.vcov.isEmpty)
            #expect(fullSummary.coefficients == limitedSummary.coefficients)
            let a = try WaldTest.test(summary: fullSummary, hypothesis: hypothesis, test: .chisq)
            let b = try WaldTest.test(summary: limitedSummary, hypothesis: hypothesis, test: .chisq)
            expectClose(b.statistic, a.statistic, relative: 1e-12, "Wald statistic")
            #expect(a.statistic > 0)
        }
    }
}

extension BlockSandwichTests {
    /// Where the memory is not there, a clean error naming the sizes, not a crash.
    @Test func refusedWithinTheMemoryBudget() throws {
        let test = try #require(Self.referenceCases.first)
        let table = try Self.table()
        let (_, blocks, frame) = try Self.fits(test, table: table)
        let clusters = try Sandwich.clusters(table: table, column: "s", frame: frame)
        let attempts: [() throws -> RobustCovariance] = [
            { try Sandwich.vcovHC(blocks, type: .hc0) }, { try Sandwich.vcovCL(blocks, clusters: clusters) },
        ]
        for attempt in attempts {
            do {
                _ = try MemoryBudget.$limitForTesting.withValue(4_096) { try attempt() }
                Issue.record("expected a memory refusal")
            } catch let GLMError.insufficientMemory(what, needed, available, _) {
                #expect(what.contains("levels") && what.contains("other coefficients"), "\(what)")
                #expect((needed ?? 0) > available && available == 4_096)
            }
        }
    }
}
