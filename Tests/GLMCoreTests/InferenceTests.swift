import Foundation
import Testing
@testable import GLMCore

/// Behaviour R has no fixture for: parsing restrictions, typed errors, nesting checks,
/// and the visible gap between Wald and profile intervals in small logistic samples.
@Suite("Inference: restrictions, errors and nesting")
struct InferenceTests {
    static let names = ["(Intercept)", "sexM", "ldose", "sexM:ldose", "agegp75+", "agegp65-74", "x1", "x10", "I(pmin(x, 3))"]

    static func row(_ hypothesis: LinearHypothesis, _ index: Int) -> [String: Double] {
        var result: [String: Double] = [:]
        for (column, value) in hypothesis.restrictions[index].coefficients.enumerated() where value != 0 {
            result[names[column]] = value
        }
        return result
    }

    @Test func parsesEachForm() throws {
        let h = try LinearHypothesis.parse(
            "sexM, ldose = sexM:ldose, x1 + x10 = 1, 2*x1 - x10 = 0, 3x1 = -(I(pmin(x, 3)) - 2)/4, `agegp75+` - agegp65-74, (Intercept) = 0.5e1",
            coefficientNames: Self.names)
        #expect(h.restrictions.count == 7)
        #expect(Self.row(h, 0) == ["sexM": 1] && h.restrictions[0].rightHandSide == 0)
        #expect(Self.row(h, 1) == ["ldose": 1, "sexM:ldose": -1])
        #expect(Self.row(h, 2) == ["x1": 1, "x10": 1] && h.restrictions[2].rightHandSide == 1)
        #expect(Self.row(h, 3) == ["x1": 2, "x10": -1])
        #expect(Self.row(h, 4) == ["x1": 3, "I(pmin(x, 3))": 0.25] && h.restrictions[4].rightHandSide == 0.5)
        #expect(Self.row(h, 5) == ["agegp75+": 1, "agegp65-74": -1])
        #expect(Self.row(h, 6) == ["(Intercept)": 1] && h.restrictions[6].rightHandSide == 5)
        #expect(h.restrictions.map(\.text)[1] == "ldose = sexM:ldose")
        #expect(h.descriptions[3] == "2*x1 - x10 = 0")
        // A name containing a comma is read whole.
        let comma = try LinearHypothesis.parse("I(pmin(x, 3)) = 1, x1", coefficientNames: Self.names)
        #expect(comma.restrictions.count == 2)
        #expect(Self.row(comma, 0) == ["I(pmin(x, 3))": 1])
    }

    @Test func unknownNamesSuggestNearOnes() {
        #expect(throws: GLMError.unknownCoefficient(name: "sexm:ldose", suggestions: ["sexM:ldose"])) {
            _ = try LinearHypothesis.parse("sexm:ldose", coefficientNames: Self.names)
        }
        #expect(throws: GLMError.unknownCoefficient(name: "(Intercpt)", suggestions: ["(Intercept)"])) {
            _ = try LinearHypothesis.parse("(Intercpt) = 0", coefficientNames: Self.names)
        }
        do {
            _ = try LinearHypothesis.parse("x1 + x2", coefficientNames: Self.names)
            Issue.record("x2 should be unknown")
        } catch let GLMError.unknownCoefficient(name, suggestions) {
            #expect(name == "x2")
            #expect(suggestions.contains("x1"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func malformedRestrictions() {
        for text in ["x1 * x10", "x1 = x10 = 0", "x1 / x10", "x1 / 0", "x1,,x10", "x1 = x1", "(x1 + x10", "x1 x10", "2 3"] {
            #expect(throws: GLMError.self, "\(text)") {
                _ = try LinearHypothesis.parse(text, coefficientNames: Self.names)
            }
        }
    }

    @Test func redundantAndContradictoryRestrictions() {
        #expect(throws: GLMError.redundantRestriction(restriction: "x1 = x10", earlier: ["x1", "x10"])) {
            _ = try LinearHypothesis.parse("x1, x10, sexM, x1 = x10", coefficientNames: Self.names)
        }
        #expect(throws: GLMError.redundantRestriction(restriction: "x1 = 1", earlier: ["x1 = 0"])) {
            _ = try LinearHypothesis.parse("x1 = 0, sexM, x1 = 1", coefficientNames: Self.names)
        }
    }

    @Test func aliasedCoefficientIsAnError() throws {
        let table = try loadExample("Examples/cats.csv")
        let fit = try InferenceFixtures.fit(formula: "Hwt ~ Bwt + I(2*Bwt) + Sex", family: "gaussian", link: "identity",
                                            weights: nil, table: table)
        #expect(throws: GLMError.aliasedCoefficient(name: "I(2 * Bwt)")) {
            _ = try WaldTest.test(fit: fit, hypothesis: "Bwt, I(2 * Bwt)")
        }
        // Restrictions on the estimable coefficients still work (car's singular.ok = TRUE).
        let result = try WaldTest.test(fit: fit, hypothesis: "Bwt, SexM")
        #expect(result.test == .f && result.df == 2)
        // Profiles skip aliased coefficients, as MASS does.
        let intervals = try ProfileLikelihood.intervals(fit: fit)
        #expect(intervals.intervals[2].low == nil && intervals.intervals[2].high == nil)
    }

    @Test func unnestedModelsAreRejected() throws {
        let table = try loadExample("Examples/budworm.csv")
        let full = try InferenceFixtures.fit(formula: "cbind(numdead, 20 - numdead) ~ sex + ldose", family: "binomial",
                                             link: "logit", weights: nil, table: table)
        // A different term, a bigger model, and a different response.
        for reduced in ["cbind(numdead, 20 - numdead) ~ I(ldose^2)", "cbind(numdead, 20 - numdead) ~ sex * ldose",
                        "cbind(numdead, 19 - numdead) ~ ldose"] {
            #expect(throws: GLMError.self, "\(reduced)") {
                _ = try AnalysisOfDeviance.compare(full: full, reducedFormula: reduced, table: table)
            }
        }
        do {
            _ = try AnalysisOfDeviance.compare(full: full, reducedFormula: "~ I(ldose^2)", table: table)
            Issue.record("not nested")
        } catch let GLMError.modelsNotNested(_, _, reason) {
            #expect(reason.contains("'I(ldose^2)'"))
        }
        // A one-sided formula takes the full model's response; the same model is nested in itself.
        let same = try AnalysisOfDeviance.compare(full: full, reducedFormula: "~ ldose + sex", table: table)
        #expect(same.rows[1].df == 0 && same.rows[1].pValue == nil)
        let offset = try AnalysisOfDeviance.compare(full: full, reducedFormula: "~ sex + offset(ldose)", table: table)
        #expect(offset.rows[1].df == 1)
    }

    @Test func droppableTermsRespectMarginality() throws {
        let formula = try Formula.parse("y ~ a*b + c + a:b:d + d")
        let terms = try Terms(formula: formula, columnNames: ["y", "a", "b", "c", "d"])
        let labels = terms.termLabels
        #expect(AnalysisOfDeviance.droppableTerms(terms).map { labels[$0] } == ["c", "a:b:d"])
    }

    /// esoph by age group (logit; the youngest group has 1 case, the next 4): the Wald
    /// interval is symmetric about the estimate and includes 0, the profile interval is
    /// skewed and excludes it, both as R computes them.
    @Test func profileDiffersVisiblyFromWald() throws {
        let model = try #require(InferenceFixtures.model("binomial_esoph_agegp"))
        let fit = try InferenceFixtures.fit(model)
        let wald = try GLMSummary(fit: fit)
        let profile = try ProfileLikelihood.intervals(fit: fit)
        let row = 1 // agegp35-44: one case among 116
        let waldRow = wald.coefficients[row]
        let interval = profile.intervals[row]
        let low = try #require(interval.low)
        let high = try #require(interval.high)
        let estimate = try #require(waldRow.estimate)
        // MASS: 0.004650076, 4.616199; Wald: -0.383766, 3.774031.
        #expect(abs(low - 0.004650076) < 1e-8 && abs(high - 4.616199) < 1e-6)
        #expect(try #require(waldRow.confidenceLow) < 0 && low > 0)
        #expect(abs((high - estimate) - (estimate - low)) > 1)
    }

    @Test func notReachingTheCutoffGivesNil() throws {
        let model = try #require(InferenceFixtures.model("binomial_birthwt_ptl"))
        let fit = try InferenceFixtures.fit(model)
        let intervals = try ProfileLikelihood.intervals(fit: fit)
        // factor(ptl)3: no low-birth-weight case, the estimate is -13.5 ± 883: the profile
        // is flat below it and never reaches the lower cutoff (MASS: NA).
        #expect(intervals.intervals[3].low == nil)
        #expect(intervals.intervals[3].high != nil)
    }
}
