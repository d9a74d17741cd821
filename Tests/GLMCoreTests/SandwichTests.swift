import Foundation
import Testing
@testable import GLMCore

/// One fit with its sandwich covariances from R, from Reference/sandwich_reference.json
/// (made by make_negbin_sandwich_reference.R).
struct SandwichCase: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let data: String
    let formula: String
    let family: String
    let link: String
    let weights: String?
    let cluster: String?
    let n_obs: Int
    /// The HC types to compare (R's HC2/HC3 are wrong with zero prior weights).
    let compared_types: [String]
    let coef_names: [String]
    let aliased: [Bool]
    let vcov_names: [String]
    let hat_values: [Double]
    let coeftest_statistic_name: String
    let coeftest_hc0_p_values: [Double]
    let vcov_HC0: [[Double?]]
    let vcov_HC1: [[Double?]]
    let vcov_HC2: [[Double?]]
    let vcov_HC3: [[Double?]]
    let warnings_HC0: [String]
    let warnings_HC1: [String]
    let warnings_HC2: [String]
    let warnings_HC3: [String]
    let n_clusters: Int?
    let vcovCL_default: [[Double?]]?
    let vcovCL_HC1: [[Double?]]?
    let vcovCL_HC0_no_cadjust: [[Double?]]?

    var testDescription: String { id }

    /// R's matrix; NaN where R has NaN (null in the JSON).
    func vcov(_ type: SandwichType) -> [[Double]] {
        switch type {
        case .hc0: return Self.matrix(vcov_HC0)
        case .hc1: return Self.matrix(vcov_HC1)
        case .hc2: return Self.matrix(vcov_HC2)
        case .hc3: return Self.matrix(vcov_HC3)
        }
    }

    static func matrix(_ values: [[Double?]]?) -> [[Double]] {
        (values ?? []).map { $0.map { $0 ?? .nan } }
    }

    func warnings(_ type: SandwichType) -> [String] {
        switch type {
        case .hc0: return warnings_HC0
        case .hc1: return warnings_HC1
        case .hc2: return warnings_HC2
        case .hc3: return warnings_HC3
        }
    }
}

private struct SandwichFile: Decodable {
    let cases: [SandwichCase]
}

enum SandwichFixtures {
    static let cases: [SandwichCase] = {
        let path = Repository.path("Tests/GLMCoreTests/Reference/sandwich_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? JSONDecoder().decode(SandwichFile.self, from: data) else { return [] }
        return file.cases
    }()

    static var clustered: [SandwichCase] { cases.filter { $0.cluster != nil } }

    /// Fits the case as R did (glm, or glm.nb for "negative-binomial"), with its table.
    static func fit(_ reference: SandwichCase) throws -> (fit: GLMFit, table: Table) {
        let table = try loadExample(reference.data)
        let frame = try ModelFrame(table: table, formula: try Formula.parse(reference.formula), weightsColumn: reference.weights)
        let design = try Design(frame: frame)
        guard let kind = Family.Kind(name: reference.family), let link = Link(name: reference.link) else {
            throw GLMError.unknownFamily(name: reference.family, known: [])
        }
        if kind == .negativeBinomial {
            return (try NegativeBinomial.fit(design: design, link: link).glm, table)
        }
        return (try GLMFit.fit(design: design, family: try Family(kind: kind, link: link)), table)
    }
}

@Suite("Sandwich covariances match R's sandwich package")
struct SandwichTests {
    // Robust covariances to 1e-6 relative (off-diagonal entries relative to the geometric
    // mean of their diagonal entries, with a 1e-9 floor); hat values to 1e-6 relative.
    static let tolerance = 1e-6

    @Test func fixtureLoaded() {
        #expect(SandwichFixtures.cases.count >= 8)
        #expect(SandwichFixtures.clustered.count >= 3)
    }

    @Test(arguments: SandwichFixtures.cases)
    func vcovHC(_ reference: SandwichCase) throws {
        let (fit, _) = try SandwichFixtures.fit(reference)
        let id = reference.id
        #expect(fit.coefficientNames == reference.coef_names, "\(id): names")
        #expect(fit.aliased == reference.aliased, "\(id): aliased")
        #expect(fit.design.rowCount == reference.n_obs, "\(id): n")
        for type in SandwichType.allCases where reference.compared_types.contains(type.rawValue) {
            let robust = try Sandwich.vcovHC(fit, type: type)
            #expect(robust.names == reference.vcov_names, "\(id) \(type.rawValue): names")
            #expect(robust.type == type)
            #expect(robust.warnings == reference.warnings(type), "\(id) \(type.rawValue): warnings")
            expectMatrixClose(robust.matrix, reference.vcov(type), relative: Self.tolerance, "\(id) \(type.rawValue)")
        }
        // lmtest::coeftest(fit, vcov. = vcovHC(fit, "HC0")): z tests for every glm family.
        #expect(reference.coeftest_statistic_name == "z value")
        let table = try Sandwich.vcovHC(fit, type: .hc0).coefficientTable(for: fit)
        let pValues = table.compactMap(\.pValue)
        #expect(pValues.count == reference.coeftest_hc0_p_values.count, "\(id): coeftest rows")
        for (index, value) in reference.coeftest_hc0_p_values.enumerated() where index < pValues.count {
            expectClose(pValues[index], value, relative: Self.tolerance, absolute: 1e-300, "\(id) coeftest p[\(index)]")
        }
    }

    @Test(arguments: SandwichFixtures.cases)
    func hatValues(_ reference: SandwichCase) throws {
        let (fit, _) = try SandwichFixtures.fit(reference)
        // R returns hat values only for rows with non-zero prior weight; glmfit gives 0 for
        // the others.
        let hat = zip(Influence.hatValues(fit), fit.response.priorWeights).filter { $0.1 != 0 }.map(\.0)
        #expect(hat.count == reference.hat_values.count, "\(reference.id): hat count")
        for (row, value) in reference.hat_values.enumerated() where row < hat.count {
            expectClose(hat[row], value, relative: Self.tolerance, absolute: 1e-12, "\(reference.id) hat[\(row)]")
        }
    }

    @Test(arguments: SandwichFixtures.clustered)
    func vcovCL(_ reference: SandwichCase) throws {
        let (fit, table) = try SandwichFixtures.fit(reference)
        let id = reference.id
        let column = try #require(reference.cluster)
        let clusters = try Sandwich.clusters(table: table, column: column, frame: fit.design.frame)
        #expect(clusters.count == reference.n_clusters, "\(id): G")
        // vcovCL's default for a glm: type HC0 with the G/(G − 1) adjustment.
        let standard = try Sandwich.vcovCL(fit, clusters: clusters)
        #expect(standard.names == reference.vcov_names, "\(id): names")
        #expect(standard.clusterCount == reference.n_clusters)
        expectMatrixClose(standard.matrix, SandwichCase.matrix(reference.vcovCL_default), relative: Self.tolerance, "\(id) vcovCL")
        let hc1 = try Sandwich.vcovCL(fit, clusters: clusters, type: .hc1)
        expectMatrixClose(hc1.matrix, SandwichCase.matrix(reference.vcovCL_HC1), relative: Self.tolerance, "\(id) vcovCL HC1")
        let plain = try Sandwich.vcovCL(fit, clusters: clusters, type: .hc0, adjust: false)
        expectMatrixClose(plain.matrix, SandwichCase.matrix(reference.vcovCL_HC0_no_cadjust), relative: Self.tolerance, "\(id) vcovCL HC0 no cadjust")
    }

    @Test func everyRowItsOwnClusterIsHC0TimesAdjustment() throws {
        let reference = try #require(SandwichFixtures.cases.first { $0.id == "sw_epil_poisson" })
        let (fit, _) = try SandwichFixtures.fit(reference)
        let n = fit.design.rowCount
        let clusters = ClusterAssignment(groups: Array(0..<n))
        let clustered = try Sandwich.vcovCL(fit, clusters: clusters, adjust: false)
        expectMatrixClose(clustered.matrix, reference.vcov(.hc0), relative: 1e-12, "singleton clusters")
    }

    @Test func zeroWeightRowsHaveZeroLeverage() throws {
        let reference = try #require(SandwichFixtures.cases.first { $0.id == "sw_quine_zero_weights" })
        let (fit, _) = try SandwichFixtures.fit(reference)
        let hat = Influence.hatValues(fit)
        #expect(hat.count == fit.design.rowCount)
        for (value, weight) in zip(hat, fit.response.priorWeights) where weight == 0 { #expect(value == 0) }
        // The hat values sum to the rank.
        #expect(abs(hat.reduce(0, +) - Double(fit.rank)) < 1e-10)
    }

    @Test func rejectsMissingClusterValues() throws {
        let table = try loadExample("Examples/quine.csv")
        let frame = try ModelFrame(table: table, formula: try Formula.parse("Days ~ Eth"))
        let numeric = Table(
            source: "test", columnNames: ["g"], columns: [.numeric([Double](repeating: 1, count: table.rowCount - 1) + [.nan])],
            rowCount: table.rowCount)
        #expect(throws: GLMError.self) { try Sandwich.clusters(table: numeric, column: "g", frame: frame) }
        #expect(throws: GLMError.self) { try Sandwich.clusters(table: table, column: "nope", frame: frame) }
    }

    @Test func typeNames() {
        #expect(SandwichType(name: "hc3") == .hc3)
        #expect(SandwichType(name: "HC") == .hc0)
        #expect(SandwichType(name: "HC4") == nil)
    }
}
