import Foundation
import Testing
@testable import GLMCore

/// A GEE geepack cannot fit, from Reference/gee_extra_reference.json (made by
/// make_gee_extra_reference.R): independence fits of other families and links (glm +
/// cluster sandwich) and an unstructured fit with skipped waves (geepack's algorithm
/// written out in R).
struct GEEExtraCase: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let data: String
    let formula: String
    let family: String
    let link: String
    let theta: Double?
    let id_column: String
    let waves: String?
    let corstr: String
    let method: String
    let n_obs: Int
    let coef_names: [String]
    let coefficients: [Double]
    let std_errors: [Double]
    let naive_std_errors: [Double]
    let scale: Double
    let alpha: [Double]
    let n_clusters: Int
    let max_cluster_size: Int

    var testDescription: String { id }
}

private struct GEEExtraFile: Decodable {
    let cases: [GEEExtraCase]
}

enum GEEExtraFixtures {
    static let cases: [GEEExtraCase] = {
        let path = Repository.path("Tests/GLMCoreTests/Reference/gee_extra_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? JSONDecoder().decode(GEEExtraFile.self, from: data) else { return [] }
        return file.cases
    }()
}

/// Rows of `table` in a new order.
func reorder(_ table: Table, rows: [Int]) -> Table {
    let columns: [Column?] = table.columns.map { column in
        switch column {
        case let .numeric(values)?:
            return .numeric(rows.map { values[$0] })
        case let .categorical(categorical)?:
            return .categorical(CategoricalColumn(
                codes: rows.map { categorical.codes[$0] }, levels: categorical.levels, isLogical: categorical.isLogical))
        case nil:
            return nil
        }
    }
    return Table(source: table.source, columnNames: table.columnNames, columns: columns, rowCount: rows.count)
}

/// A small table from numeric columns.
func numericTable(_ columns: KeyValuePairs<String, [Double]>) -> Table {
    Table(
        source: "test.csv", columnNames: columns.map(\.key), columns: columns.map { .numeric($0.value) },
        rowCount: columns.first?.value.count ?? 0)
}

@Suite("GEE behaviour")
struct GEETests {
    static let ohio = try! loadExample("Examples/ohio.csv")

    static func ohioFit(
        _ formula: String = "resp ~ age + smoke + age:smoke", table: Table = ohio, structure: CorrelationStructure,
        waves: String? = nil, epsilon: Double = 1e-10
    ) throws -> GEEFit {
        try GEE.fit(
            table: table, formula: try Formula.parse(formula), family: try Family(kind: .binomial), idColumn: "id",
            wavesColumn: waves, structure: structure, control: GEEControl(epsilon: epsilon, maxIterations: 100))
    }

    // MARK: Families and links geepack does not have, and skipped waves

    /// Coefficients, robust and naive SEs, scale and alpha to 1e-8 relative; both sides are
    /// iterated to near the floating-point fixed point (R: 200 glm iterations or epsilon
    /// 1e-13; here epsilon 1e-13), since Fisher scoring converges only linearly for
    /// non-canonical links.
    @Test(arguments: GEEExtraFixtures.cases)
    func matchesExtraReference(_ reference: GEEExtraCase) throws {
        let kind = try #require(Family.Kind(name: reference.family))
        let link = try #require(Link(name: reference.link))
        let family = try Family(kind: kind, link: link, theta: reference.theta ?? 1)
        let fit = try GEE.fit(
            table: try loadExample(reference.data), formula: try Formula.parse(reference.formula), family: family,
            idColumn: reference.id_column, wavesColumn: reference.waves,
            structure: try #require(CorrelationStructure(name: reference.corstr)),
            control: GEEControl(epsilon: 1e-13, maxIterations: 200))
        let id = reference.id
        #expect(fit.coefficientNames == reference.coef_names, "\(id): names")
        #expect(fit.observationCount == reference.n_obs, "\(id): n")
        #expect(fit.clusterCount == reference.n_clusters, "\(id): clusters")
        #expect(fit.maxClusterSize == reference.max_cluster_size, "\(id): max cluster size")
        #expect(fit.converged, "\(id): converged")
        for index in reference.coef_names.indices {
            let name = reference.coef_names[index]
            expectClose(fit.coefficients[index], reference.coefficients[index], relative: 1e-8,
                        absolute: 1e-10 * reference.std_errors[index], "\(id) \(name) estimate")
            expectClose(fit.robustCovariance[index][index].squareRoot(), reference.std_errors[index], relative: 1e-8,
                        "\(id) \(name) robust SE")
            expectClose(fit.naiveCovariance[index][index].squareRoot(), reference.naive_std_errors[index],
                        relative: 1e-8, "\(id) \(name) naive SE")
        }
        expectClose(fit.scale, reference.scale, relative: 1e-8, "\(id) scale")
        #expect(fit.correlation.count == reference.alpha.count, "\(id): alpha count")
        for (parameter, expected) in zip(fit.correlation, reference.alpha) {
            expectClose(parameter.estimate, expected, relative: 1e-8, "\(id) \(parameter.label)")
        }
        // geepack's QIC knows gaussian, binomial, poisson and Gamma only.
        #expect((fit.qic != nil) == [.gaussian, .binomial, .poisson, .gamma].contains(kind), "\(id): QIC")
    }

    /// An unstructured parameter is labelled by wave numbers and carries the waves' values.
    @Test func unstructuredLabelsCarryWaveValues() throws {
        let reference = try #require(GEEExtraFixtures.cases.first { $0.id == "muscatine_unstructured_skipped_waves" })
        let fit = try GEE.fit(
            table: try loadExample(reference.data), formula: try Formula.parse(reference.formula),
            family: try Family(kind: .binomial), idColumn: "id", wavesColumn: "occasion", structure: .unstructured)
        #expect(fit.correlation.map(\.label) == ["alpha.1:2", "alpha.1:3", "alpha.2:3"])
        #expect(fit.correlation.map(\.waves) == [[.number(1), .number(2)], [.number(1), .number(3)], [.number(2), .number(3)]])
    }

    // MARK: Cluster order in the file

    /// Clusters scattered through the file give geeglm's result on the data sorted by id.
    @Test(arguments: ["ohio_exchangeable", "ohio_ar1", "ohio_unstructured", "respiratory_ar1", "respiratory_unstructured",
                      "epil_unstructured"])
    func clustersNeedNotBeContiguous(_ id: String) throws {
        let reference = try #require(GEEReferenceFixtures.cases.first { $0.id == id })
        let table = try loadExample(reference.data)
        // All first rows of each cluster, then all second rows, …: no cluster is contiguous,
        // file order inside each cluster is kept. With a waves column, rows inside a
        // cluster are also reversed, since glmfit orders them by wave.
        let idValues: [Double]
        guard case let .numeric(values)? = table.column(named: reference.id_column) else {
            Issue.record("\(id): numeric id expected")
            return
        }
        idValues = values
        var seen: [Double: Int] = [:]
        var position = [Int](repeating: 0, count: table.rowCount)
        for row in 0..<table.rowCount {
            position[row] = seen[idValues[row], default: 0]
            seen[idValues[row], default: 0] += 1
        }
        var rows = Array(0..<table.rowCount)
        if reference.waves != nil {
            rows.sort { (position[$0], -idValues[$0], -$0) < (position[$1], -idValues[$1], -$1) }
            rows.reverse()
        } else {
            rows.sort { (position[$0], -idValues[$0]) < (position[$1], -idValues[$1]) }
        }
        let shuffled = reorder(table, rows: rows)
        let fit = try GEEReferenceFixtures.fit(reference, result: reference.tight, table: shuffled)
        let original = try GEEReferenceFixtures.fit(reference, result: reference.tight)
        // Fitted values come back in the shuffled file's row order.
        for (newRow, oldRow) in rows.enumerated() {
            #expect(abs(fit.fittedValues[newRow] - original.fittedValues[oldRow]) <= 1e-12 * abs(original.fittedValues[oldRow]))
        }
        let table2 = fit.coefficientTable()
        for index in reference.coef_names.indices {
            expectClose(fit.coefficients[index], reference.tight.coefficients[index], relative: 1e-8, "\(id) shuffled estimate")
            expectClose(table2[index].standardError, reference.tight.std_errors[index], relative: 1e-8, "\(id) shuffled SE")
        }
        for (parameter, expected) in zip(fit.correlation, reference.tight.alpha) {
            expectClose(parameter.estimate, expected, relative: 1e-8, "\(id) shuffled \(parameter.label)")
        }
        for (parameter, expected) in zip(fit.correlation, reference.tight.alpha_std_errors) {
            expectClose(parameter.standardError, expected, relative: 1e-8, "\(id) shuffled \(parameter.label) SE")
        }
        expectClose(fit.scale, reference.tight.scale, relative: 1e-8, "\(id) shuffled scale")
        #expect(fit.clusterCount == reference.tight.n_clusters)
    }

    /// Text ids group like numbers; clusters sort in byte order.
    @Test func textIds() throws {
        let reference = try #require(GEEReferenceFixtures.cases.first { $0.id == "orthodont_unstructured" })
        let fit = try GEEReferenceFixtures.fit(reference, result: reference.tight)
        #expect(fit.clusterCount == 27)
        expectMatchesGeeglm(fit, reference, reference.tight, label: "text ids", checkIterations: false)
    }

    // MARK: Errors

    @Test func missingIdColumn() throws {
        #expect(throws: GLMError.unknownColumn(name: "ID", suggestions: ["id"])) {
            try GEE.fit(
                table: Self.ohio, formula: try Formula.parse("resp ~ age"), family: try Family(kind: .binomial),
                idColumn: "ID", structure: .exchangeable)
        }
        #expect(throws: GLMError.unknownColumn(name: "visit", suggestions: [])) {
            try GEE.fit(
                table: Self.ohio, formula: try Formula.parse("resp ~ age"), family: try Family(kind: .binomial),
                idColumn: "id", wavesColumn: "visit", structure: .ar1)
        }
    }

    @Test func singleCluster() throws {
        let table = numericTable(["y": [1, 2, 4, 3, 5], "x": [1, 2, 3, 4, 5], "g": [7, 7, 7, 7, 7]])
        let error = GLMError.singleCluster(column: "g", value: "7")
        #expect(throws: error) {
            try GEE.fit(
                table: table, formula: try Formula.parse("y ~ x"), family: try Family(kind: .gaussian), idColumn: "g",
                structure: .independence)
        }
        #expect(error.exitStatus == 65)
        #expect(error.message.contains("needs two or more clusters"))
    }

    @Test func repeatedWaves() throws {
        // smoke is constant inside each child: every cluster repeats it.
        let error = GLMError.repeatedWave(column: "smoke", wave: "0", idColumn: "id", cluster: "0", lines: [2, 3])
        #expect(throws: error) { try Self.ohioFit(structure: .ar1, waves: "smoke") }
        #expect(throws: error) { try Self.ohioFit(structure: .unstructured, waves: "smoke") }
        #expect(error.message == "wave 0 of 'smoke' occurs twice in cluster 0 of 'id' (lines 2 and 3); ar1 and unstructured correlations need each wave at most once per cluster")
        // Exchangeable and independence ignore the waves.
        let exchangeable = try Self.ohioFit(structure: .exchangeable, waves: "smoke")
        let plain = try Self.ohioFit(structure: .exchangeable)
        expectClose(exchangeable.correlation[0].estimate, plain.correlation[0].estimate, relative: 1e-12, "alpha")
    }

    @Test func clustersTooSmall() throws {
        let table = numericTable(["y": [1, 2, 4, 3, 5], "x": [1, 2, 3, 4, 5], "g": [1, 2, 3, 4, 5]])
        for structure in [CorrelationStructure.exchangeable, .ar1, .unstructured] {
            #expect(throws: GLMError.clustersTooSmall(structure: structure.rawValue, column: "g")) {
                try GEE.fit(
                    table: table, formula: try Formula.parse("y ~ x"), family: try Family(kind: .gaussian),
                    idColumn: "g", structure: structure)
            }
        }
        // Independence needs no pairs.
        let fit = try GEE.fit(
            table: table, formula: try Formula.parse("y ~ x"), family: try Family(kind: .gaussian), idColumn: "g",
            structure: .independence)
        #expect(fit.clusterCount == 5)
    }

    @Test func unobservedWavePair() throws {
        // Clusters observed at waves {1, 2}, {2, 3}, {1, 2}, {2, 3}: waves 1 and 3 never meet.
        let table = numericTable([
            "y": [1, 2, 2, 4, 3, 3, 5, 6], "x": [1, 2, 3, 4, 2, 1, 5, 3], "g": [1, 1, 2, 2, 3, 3, 4, 4],
            "t": [1, 2, 2, 3, 1, 2, 2, 3],
        ])
        #expect(throws: GLMError.unobservedWavePair(column: "t", first: "1", second: "3")) {
            try GEE.fit(
                table: table, formula: try Formula.parse("y ~ x"), family: try Family(kind: .gaussian), idColumn: "g",
                wavesColumn: "t", structure: .unstructured)
        }
        #expect(GLMError.unobservedWavePair(column: "t", first: "1", second: "3").message
            == "waves 1 and 3 of 't' never occur together in one cluster, so their unstructured correlation cannot be estimated; every pair of waves needs a cluster observed at both")
    }

    /// Rows with a missing id or wave are dropped, as geeglm's model.frame drops them.
    @Test func missingIdDropsRows() throws {
        guard case let .numeric(ids)? = Self.ohio.column(named: "id") else { Issue.record("numeric id"); return }
        var withMissing = ids
        for row in 0..<8 { withMissing[row] = .nan }  // children 0 and 1
        var columns = Self.ohio.columns
        columns[Self.ohio.index(of: "id")!] = .numeric(withMissing)
        let table = Table(source: "ohio", columnNames: Self.ohio.columnNames, columns: columns, rowCount: Self.ohio.rowCount)
        let fit = try Self.ohioFit(table: table, structure: .exchangeable)
        let subset = try Self.ohioFit(table: reorder(Self.ohio, rows: Array(8..<Self.ohio.rowCount)), structure: .exchangeable)
        #expect(fit.observationCount == Self.ohio.rowCount - 8)
        #expect(fit.clusterCount == 535)
        for index in fit.coefficients.indices {
            expectClose(fit.coefficients[index], subset.coefficients[index], relative: 1e-12, "estimate \(index)")
        }
    }

    // MARK: Aliasing, options, summaries

    /// geeglm stops on a rank-deficient model matrix; glmfit drops the aliased column as glm
    /// does and says so.
    @Test func aliasedColumnsAreDropped() throws {
        let aliased = try Self.ohioFit("resp ~ age + smoke + I(2 * smoke)", structure: .exchangeable)
        let plain = try Self.ohioFit("resp ~ age + smoke", structure: .exchangeable)
        #expect(aliased.aliased == [false, false, false, true])
        #expect(aliased.covarianceNames == ["(Intercept)", "age", "smoke"])
        #expect(aliased.warnings.contains { $0.hasPrefix("coefficients not defined because of singularities: I(2 * smoke)") })
        for index in 0..<3 {
            expectClose(aliased.coefficients[index], plain.coefficients[index], relative: 1e-12, "estimate \(index)")
            expectClose(aliased.robustCovariance[index][index], plain.robustCovariance[index][index], relative: 1e-12, "var")
        }
        let table = aliased.coefficientTable()
        #expect(table[3].estimate == nil && table[3].standardError == nil)
    }

    /// cbind(successes, failures) weights each row by its trials, as geeglm does (geeglm
    /// gives the same as the 0/1 response here).
    @Test func twoColumnResponse() throws {
        let binary = try Self.ohioFit("resp ~ age + smoke", structure: .exchangeable)
        let counts = try Self.ohioFit("cbind(resp, 1 - resp) ~ age + smoke", structure: .exchangeable)
        for index in binary.coefficients.indices {
            expectClose(counts.coefficients[index], binary.coefficients[index], relative: 1e-12, "estimate \(index)")
            expectClose(counts.robustCovariance[index][index], binary.robustCovariance[index][index], relative: 1e-12, "var")
        }
        expectClose(counts.correlation[0].estimate, binary.correlation[0].estimate, relative: 1e-12, "alpha")
    }

    /// A text response counts its first level as failure, as glm does (geeglm cannot fit a
    /// factor response at all).
    @Test func factorResponse() throws {
        let table = try loadExample("Examples/muscatine.csv")
        func fit(_ formula: String) throws -> GEEFit {
            try GEE.fit(
                table: table, formula: try Formula.parse(formula), family: try Family(kind: .binomial),
                idColumn: "id", wavesColumn: "occasion", structure: .ar1)
        }
        let text = try fit("obese ~ gender + age")
        let numeric = try fit("numobese ~ gender + age")
        #expect(text.observationCount == 9856 && text.droppedCount == 14568 - 9856)
        for index in text.coefficients.indices {
            expectClose(text.coefficients[index], numeric.coefficients[index], relative: 1e-12, "estimate \(index)")
        }
    }

    @Test func notConvergedIsReported() throws {
        let fit = try Self.ohioFit(structure: .ar1, epsilon: 1e-10).converged
        #expect(fit)
        let short = try GEE.fit(
            table: Self.ohio, formula: try Formula.parse("resp ~ age + smoke"), family: try Family(kind: .binomial),
            idColumn: "id", structure: .ar1, control: GEEControl(epsilon: 1e-12, maxIterations: 2))
        #expect(!short.converged)
        #expect(short.iterations == 2)
        #expect(short.warnings.contains { $0.hasPrefix("the GEE did not converge in 2 iterations") })
    }

    @Test func structureNames() {
        #expect(CorrelationStructure(name: "exch") == .exchangeable)
        #expect(CorrelationStructure(name: "unstr") == .unstructured)
        #expect(CorrelationStructure(name: "ar1") == .ar1)
        #expect(CorrelationStructure(name: "ind") == .independence)
        #expect(CorrelationStructure(name: "") == nil)
        #expect(CorrelationStructure(name: "toeplitz") == nil)
    }

    /// Wald intervals use the normal quantile and the chosen covariance.
    @Test func coefficientTable() throws {
        let fit = try Self.ohioFit(structure: .exchangeable)
        let robust = fit.coefficientTable()
        let naive = fit.coefficientTable(covariance: .naive, confidenceLevel: 0.9)
        let z95 = Distributions.qnorm(0.975)
        let z90 = Distributions.qnorm(0.95)
        for index in robust.indices {
            let se = fit.robustCovariance[index][index].squareRoot()
            let estimate = fit.coefficients[index]
            expectClose(robust[index].confidenceLow, estimate - z95 * se, relative: 1e-14, "low")
            expectClose(robust[index].confidenceHigh, estimate + z95 * se, relative: 1e-14, "high")
            expectClose(robust[index].ratio, exp(estimate), relative: 1e-14, "odds ratio")
            let naiveSE = fit.naiveCovariance[index][index].squareRoot()
            expectClose(naive[index].standardError, naiveSE, relative: 1e-14, "naive SE")
            expectClose(naive[index].confidenceHigh, estimate + z90 * naiveSE, relative: 1e-14, "naive high")
            expectClose(naive[index].statistic, (estimate / naiveSE) * (estimate / naiveSE), relative: 1e-14, "Wald")
        }
        #expect(fit.ratioLabel == "Odds ratio")
    }

    /// The solution is a fixed point of the iterations (a family and link geepack lacks,
    /// ar1 by waves): tightening epsilon from 1e-12 to 1e-14 moves nothing.
    @Test func solutionIsAFixedPoint() throws {
        let table = try loadExample("Examples/dietox.csv")
        let family = try Family(kind: .inverseGaussian, link: .log)
        let fit = try GEE.fit(
            table: table, formula: try Formula.parse("Weight ~ Time + Cu"), family: family, idColumn: "Pig",
            wavesColumn: "Time", structure: .ar1, control: GEEControl(epsilon: 1e-12, maxIterations: 100))
        #expect(fit.converged)
        // One more Fisher step from the solution moves nothing.
        let again = try GEE.fit(
            table: table, formula: try Formula.parse("Weight ~ Time + Cu"), family: family, idColumn: "Pig",
            wavesColumn: "Time", structure: .ar1, control: GEEControl(epsilon: 1e-14, maxIterations: 100))
        for index in fit.coefficients.indices {
            expectClose(again.coefficients[index], fit.coefficients[index], relative: 1e-10, "estimate \(index)")
        }
        #expect(fit.correlation[0].estimate > 0 && fit.correlation[0].estimate < 1)
        #expect(fit.qic == nil)
    }
}
