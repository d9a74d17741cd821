import Testing
@testable import GLMCore

@Suite("Diverging estimates are named")
struct DivergenceTests {
    static func diverging(_ reference: ReferenceCase) throws -> [String] {
        try ReferenceFixtures.summary(for: reference).fit.divergingTerms
    }

    /// mtcars: every 8-cylinder car has a V engine (quasi-complete separation, which R does
    /// not warn about); qsec and wt separate manual from automatic completely; Dobson's
    /// design with an all-zero count drives the intercept to -infinity.
    @Test func separatedAndZeroCountFitsNameTheirDivergingTerms() throws {
        let expected: [String: [String]] = [
            "quasi_separation": ["factor(cyl)8"],
            "quasi_separation_covariate": ["factor(cyl)8"],
            "complete_separation": ["(Intercept)", "qsec", "wt"],
            "all_zero_response_poisson": ["(Intercept)"],
        ]
        for reference in ReferenceFixtures.edgeCases {
            #expect(try Self.diverging(reference) == expected[reference.id, default: []], "\(reference.id)")
        }
    }

    /// No false alarm on any ordinary fit, including those with fitted values near 0 or 1.
    @Test func ordinaryFitsHaveNone() throws {
        for reference in ReferenceFixtures.cases {
            #expect(try Self.diverging(reference) == [], "\(reference.id)")
        }
    }

    /// Thousands of diverging levels: the warning names the first 20 and counts the rest.
    @Test func aLongListIsCut() throws {
        let terms = (1...2_345).map { "dI\($0)" }
        let warning = Divergence.warning(for: terms, family: try Family(kind: .binomial, link: .logit))
        #expect(warning.hasSuffix("dI19, dI20 and 2,325 more (JSON's diverging_terms lists them all)"))
        #expect(!warning.contains("dI21"))
        let short = Divergence.warning(for: ["x", "z"], family: try Family(kind: .poisson, link: .log))
        #expect(short.hasSuffix("not meaningful: x, z"))
    }
}
