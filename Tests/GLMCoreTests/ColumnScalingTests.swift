import Foundation
import Testing
@testable import GLMCore

/// Columns of extreme magnitude in a fit by blocks (issue 25): the normal equations hold
/// squares of the values, which overflow or underflow a double near 2^±512, so the fits by
/// blocks (in memory and in chunks) scale such columns by powers of two and scale the fit
/// back (`ColumnScaling`). The fit of a column x·2^e is the fit of x with its coefficients
/// times 2^-e and everything else the same.
@Suite("Columns of extreme magnitude in fits by blocks")
struct ColumnScalingTests {
    /// `ChunkedBlockFitTests.data()` (150-level f, numeric x1 and x2, a Poisson count y) with
    /// `scaled` = x2·2^exponent.
    static func data(exponent: Int) -> String {
        let factor = Double(sign: .plus, exponent: exponent, significand: 1)
        var lines = ChunkedBlockFitTests.data().split(separator: "\n").map(String.init)
        lines[0] += ",scaled"
        for index in 1..<lines.count {
            let fields = lines[index].split(separator: ",", omittingEmptySubsequences: false)
            lines[index] += ",\(Double(fields[3]).map { $0 * factor } ?? .nan)"
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func request(path: String, formula: String, chunkRows: Int? = nil) -> FitRequest {
        var request = FitRequest(path: path, formula: formula, family: "poisson")
        request.chunkRows = chunkRows
        request.collation = .bytes
        return request
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let exponent: Int
        /// The model with x2 and the same model with `scaled` in its place.
        let ordinary: String
        let extreme: String
        var testDescription: String { "\(extreme) at 2^\(exponent)" }
    }

    static let slope = (ordinary: "y ~ x1 + f + f:x2", extreme: "y ~ x1 + f + f:scaled")
    static let numeric = (ordinary: "y ~ x1 + x2 + f", extreme: "y ~ x1 + scaled + f")
    static let cases: [Case] = [600, -600, 430, -430].flatMap { exponent in
        [Case(exponent: exponent, ordinary: slope.ordinary, extreme: slope.extreme),
         Case(exponent: exponent, ordinary: numeric.ordinary, extreme: numeric.extreme)]
    }

    /// Whether a variance of this term's coefficient, 2^(2·exponent) times the ordinary
    /// one, is a normal double (its square root, the standard error, is then right too).
    static func varianceIsRepresentable(_ exponent: Int) -> Bool { abs(2 * exponent) < 1000 }

    /// The in-memory fit by blocks, the fit on X as values (QR, as R) and the chunked fit by
    /// blocks, against the ordinary column's in-memory fit.
    @Test(arguments: cases)
    func extremeColumnIsTheOrdinaryOneScaled(_ item: Case) throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("scaled.csv", Self.data(exponent: item.exponent))
        let ordinary = try Pipeline.fit(Self.request(path: path, formula: item.ordinary))
        let memory = try Pipeline.fit(Self.request(path: path, formula: item.extreme))
        let chunked = try Pipeline.fit(Self.request(path: path, formula: item.extreme, chunkRows: 700))
        #expect(memory.fit.design.isStructured && memory.fit.irls.solution?.blockFactor != nil)
        #expect(chunked.fit.irls.solution?.blockFactor != nil)
        let family = try Pipeline.resolveFamily(Self.request(path: path, formula: item.extreme))
        let denseFit = try GLMFit.fit(
            design: try Design(frame: memory.fit.design.frame, layout: .dense), family: family)
        #expect(denseFit.irls.solution?.blockFactor == nil)
        let dense = try GLMSummary(fit: denseFit)

        let factor = Double(sign: .plus, exponent: -item.exponent, significand: 1)
        let id = item.testDescription
        #expect(memory.fit.aliased == ordinary.fit.aliased, "\(id) aliased")
        #expect(memory.summary.coefficients.count == ordinary.summary.coefficients.count)
        for (fit, name) in [(memory, "in memory"), (chunked, "chunked")] {
            for (a, b) in zip(fit.summary.coefficients, ordinary.summary.coefficients) {
                let extreme = a.term.hasSuffix("scaled")
                let scale = extreme ? factor : 1
                expectClose(a.estimate, b.estimate.map { $0 * scale }, relative: 1e-8,
                            absolute: 1e-10 * (b.standardError ?? 0) * scale, "\(id) \(name) \(a.term)")
                if !extreme || Self.varianceIsRepresentable(item.exponent) {
                    expectClose(a.standardError, b.standardError.map { $0 * scale }, relative: 1e-8, "\(id) \(name) \(a.term) se")
                }
            }
            expectClose(fit.fit.deviance, ordinary.fit.deviance, relative: 1e-8, "\(id) \(name) deviance")
            expectClose(fit.fit.aic, ordinary.fit.aic, relative: 1e-8, "\(id) \(name) AIC")
        }
        // The chunked and the in-memory fits of the extreme column agree as closely as their
        // ordinary twins do (`ChunkedBlockFitTests`).
        for (a, b) in zip(chunked.summary.coefficients, memory.summary.coefficients) {
            expectClose(a.estimate, b.estimate, relative: 1e-9, absolute: 1e-10 * (b.standardError ?? 0), "\(id) chunked \(a.term)")
            expectClose(a.standardError, b.standardError, relative: 1e-9, "\(id) chunked \(a.term) se")
        }
        expectClose(chunked.fit.deviance, memory.fit.deviance, relative: 1e-9, "\(id) chunked deviance")
        // QR on X (R's way) needs no scaling: the fit by blocks is its fit.
        for (a, b) in zip(memory.summary.coefficients, dense.coefficients) {
            expectClose(a.estimate, b.estimate, relative: 1e-8, absolute: 1e-10 * (b.standardError ?? 0), "\(id) dense \(a.term)")
        }
        expectClose(denseFit.deviance, memory.fit.deviance, relative: 1e-8, "\(id) dense deviance")
        // Leverages do not depend on a column's scale.
        if Self.varianceIsRepresentable(item.exponent) {
            for (a, b) in zip(Influence.hatValues(memory.fit), Influence.hatValues(ordinary.fit)) {
                expectClose(a, b, relative: 1e-7, absolute: 1e-12, "\(id) hat value")
            }
        }
    }

    /// Columns of ordinary magnitude have scales of exactly 1 (the design is fitted as it is);
    /// an extreme one a power of two that brings its largest value into [1/2, 2).
    @Test func scalesArePowersOfTwoOnlyForExtremeColumns() throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("scaled.csv", Self.data(exponent: 600))
        let ordinary = try Pipeline.fit(Self.request(path: path, formula: Self.slope.ordinary))
        #expect(ColumnScaling.columnScales(ordinary.fit.design.structure).allSatisfy { $0 == 1 })
        let extreme = try Pipeline.fit(Self.request(path: path, formula: Self.slope.extreme))
        let structure = extreme.fit.design.structure
        let scales = ColumnScaling.columnScales(structure)
        let scaled = ColumnScaling.scaled(structure, by: scales)
        for (column, name) in extreme.fit.coefficientNames.enumerated() {
            if name.hasSuffix(":scaled") {
                #expect(scales[column].significandWidth == 0 && scales[column] < 0x1p-590, "\(name) \(scales[column])")
            } else {
                #expect(scales[column] == 1, "\(name)")
            }
        }
        let largest = scaled.blocks.compactMap { $0.multipliers?.map(abs).max() }.max() ?? 0
        #expect(largest >= 0.5 && largest < 2)
    }
}
