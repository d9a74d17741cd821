import Foundation
import Testing
@testable import GLMCore

/// `--chunk-rows` with a factor term of `Design.structuredBlockWidth` columns or more: each
/// chunk's design is held by blocks and its block normal equations added up, and the fit is
/// the in-memory fit by blocks (every coefficient, standard error, deviance, AIC, iteration).
@Suite("Chunked fits by blocks equal in-memory fits")
struct ChunkedBlockFitTests {
    /// 3,000 rows: a 150-level factor f (and a level L150 only on rows with a missing x1, so
    /// never used), a group g of three that f is nested in, numeric x1 and x2, prior weights
    /// w, an exposure t, a Poisson count y and a Gaussian response yg.
    static func data() -> String {
        var state: UInt64 = 20_261_207
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Double(state >> 11) + 0.5) / 9_007_199_254_740_992
        }
        func poisson(_ mean: Double) -> Int {
            let limit = exp(-mean)
            var count = 0
            var product = uniform()
            while product > limit, count < 1000 {
                count += 1
                product *= uniform()
            }
            return count
        }
        var lines = ["y,yg,x1,x2,w,t,f,g"]
        for row in 0..<3000 {
            let level = row % 151 == 150 ? 150 : Int(uniform() * 150) % 150
            let effect = sin(Double(level)) * 0.5
            let x1 = uniform() * 2 - 1, x2 = uniform() * 3
            let w = 0.5 + uniform() * 1.5, t = 0.5 + uniform()
            let slope = Double(level % 7) * 0.05
            let mean = t * exp(0.2 + 0.3 * x1 - 0.2 * x2 + effect + slope * x2)
            let noise = (uniform() + uniform() + uniform() - 1.5) * 2
            let gaussian = 1 + x1 - 0.5 * x2 + effect + noise / w.squareRoot()
            let name = String(format: "L%03d", level)
            let group = ["a", "b", "c"][min(level / 50, 2)]
            lines.append("\(poisson(mean)),\(gaussian),\(level == 150 ? "NA" : "\(x1)"),\(x2),\(w),\(t),\(name),\(group)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let formula: String
        let family: String
        var weights: String? = nil
        /// `--contrasts`: sum or Helmert coding holds the factors as codes times C.
        var contrasts: DefaultContrasts = .r
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "poisson", formula: "y ~ x1 + x2 + f", family: "poisson"),
        Case(name: "weighted gaussian", formula: "yg ~ x1 + x2 + f", family: "gaussian", weights: "w"),
        Case(name: "offset", formula: "y ~ x1 + f + offset(log(t))", family: "poisson"),
        Case(name: "factor x numeric slope", formula: "y ~ x1 + f + f:x2", family: "poisson"),
        Case(name: "aliased levels (f nested in g)", formula: "y ~ x1 + g + f", family: "poisson"),
        Case(name: "weighted gamma, offset", formula: "yg + 10 ~ x1 + f + offset(0.01 * t)", family: "gamma", weights: "w"),
        Case(name: "sum contrasts, offset", formula: "y ~ x1 + f + offset(log(t))", family: "poisson",
             contrasts: DefaultContrasts(unordered: .sum)),
        Case(name: "Helmert contrasts, f nested in g", formula: "yg ~ x1 + g + f", family: "gaussian", weights: "w",
             contrasts: DefaultContrasts(unordered: .helmert)),
    ]

    static func request(path: String, _ item: Case, chunkRows: Int?) -> FitRequest {
        var request = FitRequest(path: path, formula: item.formula, family: item.family, weightsColumn: item.weights)
        request.chunkRows = chunkRows
        request.collation = .bytes
        request.defaultContrasts = item.contrasts
        return request
    }

    @Test(arguments: cases)
    func matchesInMemoryFit(_ item: Case) throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("blocks.csv", Self.data())
        let memory = try Pipeline.fit(Self.request(path: path, item, chunkRows: nil))
        let chunked = try Pipeline.fit(Self.request(path: path, item, chunkRows: 700))
        let id = item.name
        // Both by blocks: the chunked fit never holds the factor's indicator columns.
        #expect(memory.fit.design.isStructured, "\(id): the in-memory design is by blocks")
        #expect(chunked.fit.irls.solution?.blockFactor != nil, "\(id): the chunked steps are solved by blocks")
        #expect(!chunked.fit.coefficientNames.contains("fL150"), "\(id): a level of dropped rows only is no column")
        // An estimate near 0 is compared on the scale of its standard error.
        ChunkedFitTests.expectSameFit(chunked, memory, id, estimateSlackInSE: 1e-10)
    }

    /// The nested factor's aliased levels are R's: the last level of f in each group but the
    /// first (g's columns come first), as `glm` reports them.
    @Test func nestedLevelsAreAliasedInOrder() throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("blocks.csv", Self.data())
        let chunked = try Pipeline.fit(Self.request(path: path, Self.cases[4], chunkRows: 500))
        let aliased = zip(chunked.fit.coefficientNames, chunked.fit.aliased).filter(\.1).map(\.0)
        #expect(aliased == ["fL099", "fL149"])
    }

    /// A factor below `Design.structuredBlockWidth` columns keeps the dense chunked fit.
    @Test func narrowFactorKeepsTheDensePath() throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("narrow.csv", Self.data())
        let item = Case(name: "narrow", formula: "y ~ x1 + g", family: "poisson")
        let chunked = try Pipeline.fit(Self.request(path: path, item, chunkRows: 700))
        #expect(chunked.fit.irls.solution?.blockFactor == nil)
        #expect(chunked.fit.irls.solution?.rFactor.isEmpty == false)
    }

    /// Columns beyond 2^±400 are scaled by powers of two before the normal equations are added
    /// up, by blocks too; the estimates and standard errors are scaled back (here against the
    /// same fit of the column at an ordinary scale: the coefficients scale by 2^-430).
    @Test func hugeSlopeColumnsAreScaledAndBack() throws {
        let scratch = try ScratchDirectory()
        let base = Self.data()
        var lines = base.split(separator: "\n").map(String.init)
        lines[0] += ",big"
        let huge = Double(sign: .plus, exponent: 430, significand: 1)
        for index in 1..<lines.count {
            let fields = lines[index].split(separator: ",", omittingEmptySubsequences: false)
            lines[index] += ",\(Double(fields[3]).map { $0 * huge } ?? .nan)"
        }
        let path = try scratch.write("huge.csv", lines.joined(separator: "\n") + "\n")
        let ordinary = try Pipeline.fit(Self.request(
            path: path, Case(name: "x2", formula: "y ~ x1 + f + f:x2", family: "poisson"), chunkRows: 700))
        let scaled = try Pipeline.fit(Self.request(
            path: path, Case(name: "big", formula: "y ~ x1 + f + f:big", family: "poisson"), chunkRows: 700))
        #expect(scaled.fit.irls.solution?.blockFactor != nil)
        for (a, b) in zip(scaled.summary.coefficients, ordinary.summary.coefficients) {
            let factor = a.term.hasSuffix(":big") ? 1 / huge : 1
            expectClose(a.estimate, b.estimate.map { $0 * factor }, relative: 1e-8, absolute: 1e-11 * factor, "\(a.term)")
            expectClose(a.standardError, b.standardError.map { $0 * factor }, relative: 1e-8, "\(a.term) se")
        }
        expectClose(scaled.fit.deviance, ordinary.fit.deviance, relative: 1e-9, "deviance")
    }
}
