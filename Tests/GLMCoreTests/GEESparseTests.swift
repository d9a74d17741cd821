import Foundation
import Testing
@testable import GLMCore

/// A GEE with two terms of many levels: a slope in x for each worker (1,100 levels, two
/// workers to a team, the clusters) and the firms they work at (150 levels, a worker at one
/// or two), 1,250 coefficients. (Worker effects themselves would sum each team's residuals
/// to zero, which drives an exchangeable correlation to its singular −1/(n − 1).) The information
/// matrix held as sparse gives the dense fit's numbers, is what the automatic choice takes
/// when the dense p × p matrices do not fit, and leaves out only what it says it does.
@Suite("GEE with its information matrix sparse")
struct GEESparseTests {
    /// 4,400 rows, 4 per worker; `w` prior weights; counts from firm, team and worker-slope effects.
    static let table: Table = {
        var random = SplitMix64(seed: 71)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        var x = [Double](), firm = [Double](), worker = [Double](), team = [Double](), w = [Double](),
            count = [Double]()
        for person in 0..<1100 {
            let firstFirm = Double(random.next() % 150)
            let secondFirm = uniform() < 0.5 ? firstFirm : Double(random.next() % 150)
            for visit in 0..<4 {
                let firmLevel = visit < 2 ? firstFirm : secondFirm
                let xi = uniform() * 2 - 1
                let eta = 0.5 + (0.4 + 0.3 * sin(Double(person))) * xi + 0.2 * cos(firmLevel) + 0.3 * sin(Double(person / 2))
                x.append(xi)
                firm.append(firmLevel)
                worker.append(Double(person))
                team.append(Double(person / 2))
                w.append(0.5 + uniform())
                count.append(Double(min(Int((exp(eta) * (0.5 + uniform())).rounded()), 30)))
            }
        }
        return numericTable(["x": x, "firm": firm, "worker": worker, "team": team, "w": w, "count": count])
    }()

    static func fit(
        _ structure: CorrelationStructure, information: GEEInformationChoice, covarianceLimit: Int = GLMSummary.covarianceLimit,
        robustMultiplyAddLimit: Double = SparseSandwich.multiplyAddLimit, memoryLimit: Int? = nil
    ) throws -> GEEFit {
        var control = GEEControl(
            epsilon: 1e-10, maxIterations: 100, information: information, covarianceLimit: covarianceLimit)
        control.robustMultiplyAddLimit = robustMultiplyAddLimit
        return try MemoryBudget.$limitForTesting.withValue(memoryLimit) {
            try GEE.fit(
                table: table, formula: try Formula.parse("count ~ factor(firm) + factor(worker):x"),
                family: try Family(kind: .poisson, link: .log), weightsColumn: "w", idColumn: "team", structure: structure,
                control: control)
        }
    }

    static let dense = Result { try fit(.exchangeable, information: .dense) }

    /// Every robust and naive variance, alpha, scale and QIC of the sparse fit against the
    /// dense one.
    static func expectSameVariances(_ sparse: GEEFit, _ dense: GEEFit, _ what: String) {
        #expect(sparse.iterations == dense.iterations, "\(what): iterations")
        #expect(sparse.covarianceNames == dense.covarianceNames, "\(what): names")
        for index in dense.coefficients.indices where !dense.coefficients[index].isNaN {
            expectClose(sparse.coefficients[index], dense.coefficients[index], relative: 1e-9,
                        absolute: 1e-12, "\(what) \(dense.coefficientNames[index])")
        }
        for index in dense.robustVariances.indices {
            let name = dense.covarianceNames[index]
            if !sparse.robustVariances[index].isNaN {
                expectClose(sparse.robustVariances[index], dense.robustVariances[index], relative: 1e-9, "\(what) robust \(name)")
            }
            expectClose(sparse.naiveVariances[index], dense.naiveVariances[index], relative: 1e-9, "\(what) naive \(name)")
            // The dense variances are the matrices' diagonals.
            #expect(dense.robustVariances[index] == dense.robustCovariance[index][index])
        }
        expectClose(sparse.scale, dense.scale, relative: 1e-10, "\(what) scale")
        expectClose(sparse.scaleStandardError, dense.scaleStandardError, relative: 1e-9, "\(what) scale SE")
        for (first, second) in zip(sparse.correlation, dense.correlation) {
            expectClose(first.estimate, second.estimate, relative: 1e-10, "\(what) alpha")
            expectClose(first.standardError, second.standardError, relative: 1e-9, "\(what) alpha SE")
        }
        if let denseQIC = dense.qic, let sparseQIC = sparse.qic {
            expectClose(sparseQIC.cic, denseQIC.cic, relative: 1e-9, "\(what) CIC")
            expectClose(sparseQIC.qic, denseQIC.qic, relative: 1e-10, "\(what) QIC")
        }
    }

    /// Dense p × p matrices (10 × 1,250² doubles, 125 MB) past a 60 MB budget: the automatic
    /// choice holds the information as sparse, gives every SE and leaves the matrices out.
    @Test func automaticChoiceWhenDenseDoesNotFit() throws {
        let dense = try Self.dense.get()
        #expect(dense.covarianceNames.count == 1250)
        #expect(dense.qic != nil)
        #expect {
            try Self.fit(.exchangeable, information: .dense, memoryLimit: 60_000_000)
        } throws: { error in
            guard case let .insufficientMemory(what, _, _, _)? = error as? GLMError else { return false }
            return what.contains("1,250 coefficients")
        }
        let sparse = try Self.fit(.exchangeable, information: .automatic, memoryLimit: 60_000_000)
        #expect(sparse.robustCovariance.isEmpty && sparse.naiveCovariance.isEmpty)
        #expect(sparse.qic != nil)
        #expect(sparse.robustVariances.allSatisfy { $0 > 0 })
        Self.expectSameVariances(sparse, dense, "automatic")
    }

    /// Asked for (--full-covariance), the sparse fit forms both matrices: the dense fit's.
    @Test func matricesWhenAskedFor() throws {
        let dense = try Self.dense.get()
        let sparse = try Self.fit(.exchangeable, information: .sparse, covarianceLimit: .max)
        Self.expectSameVariances(sparse, dense, "matrices")
        let p = dense.covarianceNames.count
        #expect(sparse.robustCovariance.count == p && sparse.naiveCovariance.count == p)
        for i in stride(from: 0, to: p, by: 37) {
            for j in stride(from: 0, to: p, by: 41) {
                let robustScale = (dense.robustVariances[i] * dense.robustVariances[j]).squareRoot()
                expectClose(sparse.robustCovariance[i][j], dense.robustCovariance[i][j], relative: 1e-8,
                            absolute: 1e-10 * robustScale, "robust[\(i),\(j)]")
                let naiveScale = (dense.naiveVariances[i] * dense.naiveVariances[j]).squareRoot()
                expectClose(sparse.naiveCovariance[i][j], dense.naiveCovariance[i][j], relative: 1e-8,
                            absolute: 1e-10 * naiveScale, "naive[\(i),\(j)]")
            }
        }
    }

    /// Independence (pairs sharing a row only) and ar1, against their dense fits.
    @Test(arguments: [CorrelationStructure.independence, .ar1])
    func otherStructures(_ structure: CorrelationStructure) throws {
        let dense = try Self.fit(structure, information: .dense)
        let sparse = try Self.fit(structure, information: .sparse)
        Self.expectSameVariances(sparse, dense, structure.rawValue)
    }

    /// Past the robust cost limit the levels' robust SEs are left out (NA, with a warning and
    /// no QIC); the intercept's and the firms' are still the dense fit's, and every naive SE is there.
    @Test func levelsRobustVariancesLeftOutPastTheLimit() throws {
        let dense = try Self.dense.get()
        let sparse = try Self.fit(.exchangeable, information: .sparse, robustMultiplyAddLimit: 0)
        Self.expectSameVariances(sparse, dense, "limited")
        #expect(sparse.robustVariances.filter(\.isNaN).count == 1249)
        #expect(!sparse.robustVariances[0].isNaN)
        #expect(sparse.qic == nil)
        #expect(sparse.warnings.contains { $0.contains("the 1,249 levels' would take a solve") })
        #expect(sparse.warnings.contains { $0.contains("QIC is not given") })
        let table = sparse.coefficientTable()
        #expect(table[0].standardError != nil)
        #expect(table[5].estimate != nil && table[5].standardError == nil)
        let naive = sparse.coefficientTable(covariance: .naive)
        #expect(naive.allSatisfy { $0.estimate == nil || $0.standardError != nil })
    }
}

/// geeglm on a real dataset with two factors of many levels: InstEval's instructors (138)
/// and students (450, also the clusters), 588 coefficients
/// (Reference/gee_two_factor_reference.json, made by make_gee_two_factor_reference.R). The
/// default way (dense, under 1,000 coefficients) and the sparse information matrix both give
/// geeglm's numbers.
@Suite("GEE with two large factors matches geepack's geeglm on InstEval")
struct GEETwoFactorReferenceTests {
    private struct File: Decodable {
        let instructors: [String]
        let students: [String]
        let cases: [GEEReferenceCase]
    }

    private static let file: File? = {
        let path = Repository.path("Tests/GLMCoreTests/Reference/gee_two_factor_reference.json")
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(File.self, from: data)
    }()

    static let cases: [GEEReferenceCase] = file?.cases ?? []
    private static let table = Result { try loadExample("Examples/insteval.csv.gz") }

    @Test func fixtureLoaded() throws {
        let file = try #require(Self.file)
        #expect(file.cases.count == 3)
        #expect(file.instructors.count == 138 && file.students.count == 450)
    }

    @Test(arguments: cases)
    func matchesGeeglm(_ reference: GEEReferenceCase) throws {
        let file = try #require(Self.file)
        let table = try Self.table.get()
        func quoted(_ levels: [String]) -> String { levels.map { "\"\($0)\"" }.joined(separator: ", ") }
        let subset = try Subset("d %in% c(\(quoted(file.instructors))) & s %in% c(\(quoted(file.students)))")
        let formula = try Formula.parse(reference.formula)
        for information in [GEEInformationChoice.automatic, .sparse] {
            for (label, result) in [("default", reference.default), ("tight", reference.tight)] {
                let fit = try GEE.fit(
                    table: table, formula: formula, family: try GEEReferenceFixtures.family(reference),
                    weightsColumn: reference.weights, idColumn: reference.id_column,
                    structure: try #require(CorrelationStructure(name: reference.corstr)),
                    control: GEEControl(epsilon: result.epsilon, maxIterations: result.maxit, information: information),
                    subset: subset)
                #expect(fit.coefficientNames.count == 588)
                // vcov holds the leading 12 × 12 block; fitted values the first 50 rows.
                expectMatchesGeeglm(
                    fit, reference, result, label: "\(information) \(label)", checkIterations: label == "default")
            }
        }
    }
}
