import Foundation
import Testing
@testable import GLMCore

// Fixtures: Reference/inference_reference.json, made by make_inference_reference.R from
// cases.tsv + inference_cases.tsv (models), comparisons.tsv and hypotheses.tsv, with
// R 4.2.2, MASS 7.3-58.2 and car 3.1-1. NA/NaN are null.

struct ProfileGridFixture: Decodable, Sendable {
    let x: [Double]
    let z: [Double]
}

struct ProfileFixture: Decodable, Sendable {
    let level: Double
    let low: [Double?]?
    let high: [Double?]?
    let warnings: [String]?
    let grids: [ProfileGridFixture?]?
    let error: String?
}

struct AnovaFixture: Decodable, Sendable {
    let test: String?
    let terms: [String]?
    let df: [Double?]?
    let deviance: [Double?]?
    let resid_df: [Double?]?
    let resid_deviance: [Double?]?
    let statistic: [Double?]?
    let p_value: [Double?]?
    let dispersion: Double?
    let warnings: [String]?
    let error: String?
}

struct DropOneFixture: Decodable, Sendable {
    let test: String?
    let terms: [String]?
    let df: [Double?]?
    let deviance: [Double?]?
    let aic: [Double?]?
    let statistic_name: String?
    let statistic: [Double?]?
    let p_value: [Double?]?
    let warnings: [String]?
    let error: String?
}

struct InferenceModelFixture: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let data: String
    let formula: String
    let family: String
    let link: String
    let weights: String?
    let coef_names: [String]
    let coefficients: [Double?]
    let deviance: Double
    let dispersion: Double?
    let profiles: [ProfileFixture]
    let anova_chisq: AnovaFixture
    let anova_f: AnovaFixture
    let drop1_lrt: DropOneFixture
    let drop1_f: DropOneFixture

    var testDescription: String { id }
}

struct ComparisonFixture: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let `case`: String
    let reduced: String
    let test: String
    let resid_df: [Double]
    let resid_deviance: [Double]
    let df: [Double?]
    let deviance: [Double?]
    let statistic: [Double?]
    let p_value: [Double?]
    let dispersion: Double
    let warnings: [String]

    var testDescription: String { id }
}

struct HypothesisFixture: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let `case`: String
    let restrictions: String
    let test: String
    let res_df: [Double]
    let df: Double
    let statistic: Double
    let p_value: Double
    let value: [Double]
    let vcov: [Double]

    var testDescription: String { id }
}

private struct InferenceReferenceFile: Decodable {
    let models: [InferenceModelFixture]
    let comparisons: [ComparisonFixture]
    let hypotheses: [HypothesisFixture]
}

enum InferenceFixtures {
    private static let file: InferenceReferenceFile? = {
        let path = Repository.path("Tests/GLMCoreTests/Reference/inference_reference.json")
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(InferenceReferenceFile.self, from: data)
    }()

    static let models: [InferenceModelFixture] = file?.models ?? []
    static let comparisons: [ComparisonFixture] = file?.comparisons ?? []
    static let hypotheses: [HypothesisFixture] = file?.hypotheses ?? []

    static func model(_ id: String) -> InferenceModelFixture? { models.first { $0.id == id } }

    static func table(_ model: InferenceModelFixture) throws -> Table { try loadExample(model.data) }

    static func fit(_ model: InferenceModelFixture) throws -> GLMFit {
        try fit(formula: model.formula, family: model.family, link: model.link, weights: model.weights,
                table: try table(model))
    }

    static func fit(formula: String, family: String, link: String, weights: String?, table: Table) throws -> GLMFit {
        let frame = try ModelFrame(table: table, formula: try Formula.parse(formula), weightsColumn: weights)
        let design = try Design(frame: frame)
        guard let kind = Family.Kind(name: family), let link = Link(name: link) else {
            throw GLMError.unknownFamily(name: family, known: [])
        }
        return try GLMFit.fit(design: design, family: try Family(kind: kind, link: link))
    }
}

@Suite("Profile-likelihood intervals match MASS")
struct ProfileReferenceTests {
    // Intervals: following MASS's grid, spline and interpolation exactly gives agreement
    // to ~1e-10 relative (the issue asks for 1e-4); 1e-9 is asserted. The uncentred cubic
    // in Year (condition number 7e17, see README.md) agrees to 2e-8 and gets 1e-7.
    static let intervalTolerance = 1e-9
    static let illConditionedTolerance: [String: Double] = ["gaussian_longley_cubic": 1e-7]
    // Grid points: the refitted deviances agree to IRLS precision.
    static let gridTolerance = 1e-7

    /// Profiles whose refits do not converge in R or here (a separated factor level: the
    /// deviance after 25 iterations depends on every rounding along the way). The other
    /// coefficients of the same fit still match.
    static let nonConvergedProfiles: [String: Set<String>] = [
        "binomial_snails_separated": ["factor(Exposure)2", "factor(Exposure)4"],
    ]

    @Test func fixtureLoaded() {
        #expect(InferenceFixtures.models.count >= 60)
    }

    @Test(arguments: InferenceFixtures.models)
    func matchesMASS(_ model: InferenceModelFixture) throws {
        let fit = try InferenceFixtures.fit(model)
        for reference in model.profiles {
            let id = "\(model.id) @\(reference.level)"
            if let error = reference.error {
                #expect(throws: GLMError.self, "\(id): R failed with \(error)") {
                    _ = try ProfileLikelihood.intervals(fit: fit, level: reference.level)
                }
                continue
            }
            let result = try ProfileLikelihood.intervals(fit: fit, level: reference.level)
            let low = reference.low ?? []
            let high = reference.high ?? []
            #expect(result.intervals.count == low.count, "\(id): count")
            let skipped = Self.nonConvergedProfiles[model.id] ?? []
            // R's warnings (glm.fit's, approx's), except the one glm.fit's initialisation
            // repeats for every refit of a non-integer binomial response.
            let rWarnings = Set((reference.warnings ?? []).filter { !$0.hasPrefix("non-integer") })
            #expect(Set(result.warnings) == rWarnings, "\(id): warnings \(result.warnings) vs R \(rWarnings)")
            let tolerance = Self.illConditionedTolerance[model.id] ?? Self.intervalTolerance
            for (index, interval) in result.intervals.enumerated() where index < low.count && !skipped.contains(interval.term) {
                // Bounds near 0 are compared against the interval's width.
                let scale = max(abs(low[index] ?? 0), abs(high[index] ?? 0), 1e-12)
                expectClose(interval.low, low[index], relative: tolerance, absolute: 1e-12 * scale,
                            "\(id) \(interval.term) low")
                expectClose(interval.high, high[index], relative: tolerance, absolute: 1e-12 * scale,
                            "\(id) \(interval.term) high")
            }
            for (index, grid) in (reference.grids ?? []).enumerated() {
                let profile = result.profile.profiles[index]
                guard let grid else {
                    #expect(profile == nil, "\(id): profile \(index) should be absent")
                    continue
                }
                guard let profile else {
                    Issue.record("\(id): no profile for \(model.coef_names[index])")
                    continue
                }
                if skipped.contains(profile.term) { continue }
                compareGrid(profile, grid, maximumZ: result.profile.maximumZ, id: id)
            }
        }
    }

    /// Compares a profile with MASS's grid point by point outwards from the estimate.
    /// A grid may be one point longer on a side where the last common point sits on
    /// zmax itself: there the stopping test |z| < zmax is decided by the last bit of the
    /// deviance (Gaussian identity fits, where z is exactly linear in the coefficient).
    func compareGrid(_ profile: CoefficientProfile, _ grid: ProfileGridFixture, maximumZ: Double, id: String) {
        guard let ourCenter = profile.z.firstIndex(of: 0), let theirCenter = grid.z.firstIndex(of: 0) else {
            Issue.record("\(id) \(profile.term): no estimate in the grid")
            return
        }
        for direction in [-1, 1] {
            var offset = 0
            while true {
                let ours = ourCenter + direction * offset
                let theirs = theirCenter + direction * offset
                let haveOurs = ours >= 0 && ours < profile.z.count
                let haveTheirs = theirs >= 0 && theirs < grid.z.count
                if !haveOurs && !haveTheirs { break }
                if haveOurs != haveTheirs {
                    let previous = offset - 1
                    let lastZ = profile.z[ourCenter + direction * previous]
                    #expect(abs(abs(lastZ) - maximumZ) <= 1e-6 * maximumZ,
                            "\(id) \(profile.term): grid ends differ (ours \(profile.z.count) points, MASS \(grid.z.count))")
                    break
                }
                expectClose(profile.values[ours], grid.x[theirs], relative: Self.gridTolerance, absolute: 1e-12,
                            "\(id) \(profile.term) grid x[\(theirs)]")
                expectClose(profile.z[ours], grid.z[theirs], relative: Self.gridTolerance, absolute: 1e-7,
                            "\(id) \(profile.term) grid z[\(theirs)]")
                offset += 1
            }
        }
    }
}

/// Shared assertions for deviance tables: deviances to 1e-8 relative, statistics and
/// p-values to 1e-6 relative. Deviance differences get an absolute floor of 1e-9 × the
/// residual deviance they are differences of (cancellation), statistics the same floor
/// scaled by the dispersion; a difference within the floor may have no statistic.
enum DevianceAssertions {
    static let devianceTolerance = 1e-8
    static let statisticTolerance = 1e-6

    static func int(_ value: Double?) -> Int? { value.map { Int($0.rounded()) } }

    static func checkRow(
        id: String, df: Int?, deviance: Double?, statistic: Double?, pValue: Double?,
        rDf: Double?, rDeviance: Double?, rStatistic: Double?, rPValue: Double?, scale: Double, dispersion: Double,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(df == int(rDf), "\(id): df \(String(describing: df)) vs R \(String(describing: rDf))", sourceLocation: sourceLocation)
        let floor = 1e-9 * scale
        expectClose(deviance, rDeviance, relative: devianceTolerance, absolute: floor, "\(id) deviance",
                    sourceLocation: sourceLocation)
        // A difference within the floor is zero up to rounding, and its sign depends on the
        // BLAS kernels: R's rule (stat.anova) drops the statistic and p-value of a negative one,
        // so either both left out or R's values are right.
        if let rDeviance, abs(rDeviance) <= floor, statistic == nil, pValue == nil { return }
        expectClose(statistic, rStatistic, relative: statisticTolerance, absolute: floor / dispersion,
                    "\(id) statistic", sourceLocation: sourceLocation)
        expectClose(pValue, rPValue, relative: statisticTolerance, absolute: 1e-12, "\(id) p-value",
                    sourceLocation: sourceLocation)
    }

    /// R's warnings, without the one glm.fit repeats for non-integer binomial counts
    /// when glmfit does not refit (R warns from every glm.fit call).
    static func checkWarnings(_ ours: [String], _ theirs: [String]?, id: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Set(ours) == Set(theirs ?? []), "\(id): warnings \(ours) vs R \(theirs ?? [])", sourceLocation: sourceLocation)
    }
}

@Suite("Analysis of deviance matches R's anova.glm and drop1.glm")
struct AnovaReferenceTests {
    @Test(arguments: InferenceFixtures.models)
    func sequentialMatchesR(_ model: InferenceModelFixture) throws {
        let fit = try InferenceFixtures.fit(model)
        for (test, reference) in [(DevianceTest.chisq, model.anova_chisq), (.f, model.anova_f)] {
            let id = "\(model.id) anova \(test.rawValue)"
            let table = try AnalysisOfDeviance.sequential(fit: fit, test: test)
            #expect(table.rows.map(\.term) == reference.terms ?? [], "\(id): terms")
            expectClose(table.dispersion, reference.dispersion, relative: 1e-6, "\(id) dispersion")
            DevianceAssertions.checkWarnings(table.warnings, reference.warnings, id: id)
            for (index, row) in table.rows.enumerated() where index < (reference.terms?.count ?? 0) {
                let rowId = "\(id) \(row.term)"
                #expect(row.residualDf == DevianceAssertions.int(reference.resid_df?[index]), "\(rowId): resid df")
                expectClose(row.residualDeviance, reference.resid_deviance?[index], relative: DevianceAssertions.devianceTolerance,
                            absolute: 1e-10, "\(rowId) resid deviance")
                let previous: Double = index > 0 ? (reference.resid_deviance?[index - 1] ?? nil) ?? 0 : 0
                DevianceAssertions.checkRow(
                    id: rowId, df: row.df, deviance: row.deviance, statistic: row.statistic, pValue: row.pValue,
                    rDf: reference.df?[index] ?? nil, rDeviance: reference.deviance?[index] ?? nil,
                    rStatistic: reference.statistic?[index] ?? nil, rPValue: reference.p_value?[index] ?? nil,
                    scale: previous, dispersion: table.dispersion)
            }
        }
    }

    @Test(arguments: InferenceFixtures.models)
    func dropOneMatchesR(_ model: InferenceModelFixture) throws {
        let fit = try InferenceFixtures.fit(model)
        for (test, reference) in [(DevianceTest.chisq, model.drop1_lrt), (.f, model.drop1_f)] {
            let id = "\(model.id) drop1 \(test.rawValue)"
            let table = try AnalysisOfDeviance.dropOne(fit: fit, test: test)
            #expect(table.rows.map(\.term) == reference.terms ?? [], "\(id): terms")
            #expect(table.statisticName == reference.statistic_name, "\(id): statistic name")
            DevianceAssertions.checkWarnings(table.warnings, reference.warnings, id: id)
            let fullDeviance = fit.deviance
            for (index, row) in table.rows.enumerated() where index < (reference.terms?.count ?? 0) {
                let rowId = "\(id) \(row.term)"
                expectClose(row.deviance, reference.deviance?[index] ?? nil, relative: DevianceAssertions.devianceTolerance,
                            absolute: 1e-10, "\(rowId) deviance")
                expectClose(row.aic, reference.aic?[index] ?? nil, relative: DevianceAssertions.devianceTolerance, "\(rowId) AIC")
                DevianceAssertions.checkRow(
                    id: rowId, df: row.df, deviance: nil, statistic: row.statistic, pValue: row.pValue,
                    rDf: reference.df?[index] ?? nil, rDeviance: nil, rStatistic: reference.statistic?[index] ?? nil,
                    rPValue: reference.p_value?[index] ?? nil, scale: fullDeviance,
                    dispersion: fit.family.kind == .gaussian ? fullDeviance / Double(fit.design.rowCount) : table.dispersion)
            }
        }
    }

    @Test(arguments: InferenceFixtures.comparisons)
    func nestedComparisonMatchesR(_ reference: ComparisonFixture) throws {
        let model = try #require(InferenceFixtures.model(reference.case))
        let table = try InferenceFixtures.table(model)
        let full = try InferenceFixtures.fit(formula: model.formula, family: model.family, link: model.link,
                                             weights: model.weights, table: table)
        let test = try #require(DevianceTest(rawValue: reference.test))
        let comparison = try AnalysisOfDeviance.compare(full: full, reducedFormula: reference.reduced, table: table, test: test)
        let id = reference.id
        #expect(comparison.rows.count == 2)
        expectClose(comparison.dispersion, reference.dispersion, relative: 1e-6, "\(id) dispersion")
        DevianceAssertions.checkWarnings(comparison.warnings, reference.warnings, id: id)
        for (index, row) in comparison.rows.enumerated() {
            #expect(row.residualDf == Int(reference.resid_df[index]), "\(id): resid df")
            expectClose(row.residualDeviance, reference.resid_deviance[index], relative: DevianceAssertions.devianceTolerance,
                        absolute: 1e-10, "\(id) resid deviance")
            DevianceAssertions.checkRow(
                id: "\(id) row \(index + 1)", df: row.df, deviance: row.deviance, statistic: row.statistic,
                pValue: row.pValue, rDf: reference.df[index], rDeviance: reference.deviance[index],
                rStatistic: reference.statistic[index], rPValue: reference.p_value[index],
                scale: reference.resid_deviance[0], dispersion: comparison.dispersion)
        }
    }
}

@Suite("Wald tests of linear hypotheses match car::linearHypothesis")
struct WaldReferenceTests {
    static let tolerance = 1e-6

    @Test(arguments: InferenceFixtures.hypotheses)
    func matchesCar(_ reference: HypothesisFixture) throws {
        let model = try #require(InferenceFixtures.model(reference.case))
        let fit = try InferenceFixtures.fit(model)
        let test = try #require(DevianceTest(rawValue: reference.test))
        let result = try WaldTest.test(fit: fit, hypothesis: reference.restrictions, test: test)
        let id = reference.id
        #expect(result.df == Int(reference.df), "\(id): df")
        #expect([result.residualDf + result.df, result.residualDf] == reference.res_df.map { Int($0) }, "\(id): Res.Df")
        // Statistics near 0 (a restriction that holds exactly in the data) are rounding noise in both.
        let scale = reference.vcov.map(abs).max() ?? 1
        expectClose(result.statistic, reference.statistic, relative: Self.tolerance, absolute: 1e-12, "\(id) statistic")
        expectClose(result.pValue, reference.p_value, relative: Self.tolerance, absolute: 1e-12, "\(id) p-value")
        for (index, value) in reference.value.enumerated() where index < result.estimates.count {
            expectClose(result.estimates[index], value, relative: Self.tolerance, absolute: 1e-9 * scale.squareRoot(), "\(id) L b - r [\(index)]")
        }
        let q = result.df
        for (index, value) in reference.vcov.enumerated() where index < q * q {
            // R stores the q × q matrix column by column.
            expectClose(result.covariance[index % q][index / q], value, relative: Self.tolerance, absolute: 1e-12 * scale,
                        "\(id) L V L' [\(index)]")
        }
    }
}
