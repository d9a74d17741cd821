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
                // Also at 2^±600, where the variance (2^∓1200 times the ordinary one) is no double.
                expectClose(a.standardError, b.standardError.map { $0 * scale }, relative: 1e-8, "\(id) \(name) \(a.term) se")
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
        for (a, b) in zip(Influence.hatValues(memory.fit), Influence.hatValues(ordinary.fit)) {
            expectClose(a, b, relative: 1e-8, absolute: 1e-12, "\(id) hat value")
        }
    }

    /// What is computed from the fit by blocks afterwards: the sandwich, the refits of anova
    /// and drop1, and the covariance blocks a model file stores (`vcov_blocks`), each the
    /// ordinary column's with the extreme column's entries times its scale. A variance beyond
    /// 2^±1022 is no double: the stored variances are compared where they are (the standard
    /// errors, s·√v' from the scaled column's v', everywhere).
    @Test(arguments: [430, -430, 600, -600])
    func downstreamIsTheOrdinaryOneScaled(_ exponent: Int) throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("scaled.csv", Self.data(exponent: exponent))
        func report(_ formula: String) throws -> ModelReport {
            var request = Self.request(path: path, formula: formula)
            request.vcov = "HC0"
            request.anova = true
            request.dropOne = true
            return try Pipeline.fit(request)
        }
        let ordinary = try report(Self.slope.ordinary)
        let extreme = try report(Self.slope.extreme)
        let factor = Double(sign: .plus, exponent: -exponent, significand: 1)
        let representable = abs(exponent) < 500
        func scale(_ name: String) -> Double { name.hasSuffix("scaled") ? factor : 1 }
        #expect(extreme.summary.standardErrors != .model)
        for (a, b) in zip(extreme.summary.coefficients, ordinary.summary.coefficients) {
            expectClose(a.standardError, b.standardError.map { $0 * scale(a.term) }, relative: 1e-8, "2^\(exponent) HC0 \(a.term)")
        }
        let anova = try #require(extreme.anova), ordinaryAnova = try #require(ordinary.anova)
        #expect(anova.rows.count == ordinaryAnova.rows.count)
        for (a, b) in zip(anova.rows, ordinaryAnova.rows) {
            expectClose(a.residualDeviance, b.residualDeviance, relative: 1e-8, "2^\(exponent) anova \(a.term)")
        }
        let dropOne = try #require(extreme.dropOne), ordinaryDropOne = try #require(ordinary.dropOne)
        #expect(dropOne.rows.count == ordinaryDropOne.rows.count)
        for (a, b) in zip(dropOne.rows, ordinaryDropOne.rows) {
            expectClose(a.deviance, b.deviance, relative: 1e-8, "2^\(exponent) drop1 \(a.term)")
            expectClose(a.aic, b.aic, relative: 1e-8, "2^\(exponent) drop1 AIC \(a.term)")
        }

        func blocks(_ fit: GLMFit) throws -> SavedModel.CovarianceBlocks {
            let factor = try #require(fit.irls.solution?.blockFactor)
            let covariance = try BlockCovariance(factor: factor, columnCount: fit.design.columnCount)
            return SavedModel.CovarianceBlocks(covariance, dispersion: 1, names: fit.coefficientNames, termLabel: "f")
        }
        let stored = try blocks(extreme.fit), ordinaryStored = try blocks(ordinary.fit)
        let plain = { (name: String) in name.replacingOccurrences(of: "scaled", with: "x2") }
        #expect(stored.eliminated.map(plain) == ordinaryStored.eliminated)
        #expect(stored.others.map(plain) == ordinaryStored.others)
        for (index, name) in stored.eliminated.enumerated() where representable || scale(name) == 1 {
            expectClose(stored.variances[index], ordinaryStored.variances[index] * scale(name) * scale(name),
                        relative: 1e-8, "2^\(exponent) stored variance \(name)")
        }
        let k = stored.others.count
        for (index, value) in stored.othersCovariance.enumerated() {
            let product = scale(stored.others[index % k]) * scale(stored.others[index / k])
            guard representable || product == 1 || product == factor else { continue }
            expectClose(value, ordinaryStored.othersCovariance[index] * product, relative: 1e-8,
                        absolute: 1e-12 * product, "2^\(exponent) stored S⁻¹ [\(index)]")
        }
        for (position, row) in stored.cross.enumerated() {
            let ordinaryRow = ordinaryStored.cross[position]
            #expect(row.indices == ordinaryRow.indices)
            let levelScale = scale(stored.eliminated[position])
            for (index, value) in zip(row.indices, row.values) {
                let expected = ordinaryRow.values[row.indices.firstIndex(of: index) ?? 0] * levelScale / scale(stored.others[index])
                expectClose(value, expected, relative: 1e-7, absolute: 1e-12 * abs(levelScale / scale(stored.others[index])),
                            "2^\(exponent) stored A [\(position), \(index)]")
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
