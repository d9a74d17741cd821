import Foundation
import Testing
@testable import GLMCore

/// `--chunk-rows`: the bounded-memory fit gives the in-memory fit's numbers.
@Suite("Chunked fits equal in-memory fits")
struct ChunkedFitTests {
    static func request(_ reference: ReferenceCase, chunkRows: Int?) -> FitRequest {
        var request = FitRequest(
            path: Repository.path(reference.data), formula: reference.formula, family: reference.family,
            link: reference.link, weightsColumn: reference.weights)
        request.chunkRows = chunkRows
        request.collation = .bytes  // as the R references were made, under LC_COLLATE=C
        return request
    }

    /// Every reference model that needs no whole-input step (factor() of a number, an
    /// aliased or too ill-conditioned design), read 7 rows at a time, to 1e-9 relative.
    @Test(arguments: ReferenceFixtures.cases)
    func matchesInMemoryFit(_ reference: ReferenceCase) throws {
        let chunked: ModelReport
        do {
            chunked = try Pipeline.fit(Self.request(reference, chunkRows: 7))
        } catch let error as GLMError {
            // The refusals are typed and say what to do instead.
            #expect(error.message.contains("--chunk-rows") || error.message.contains("factor()"), "\(reference.id): \(error)")
            #expect(reference.formula.contains("factor(") || reference.aliased.contains(true) || reference.id.contains("longley"),
                    "\(reference.id) refused: \(error)")
            return
        }
        let memory = try Pipeline.fit(Self.request(reference, chunkRows: nil))
        Self.expectSameFit(chunked, memory, reference.id, estimateSlackInSE: 1e-12)
    }

    /// A chunked fit equals the in-memory fit: names, rows, iterations, every estimate and
    /// standard error, deviances, AIC, BIC, dispersion to 1e-9 relative (an estimate near 0
    /// also within `estimateSlackInSE` of its standard error), and R's warnings.
    static func expectSameFit(_ chunked: ModelReport, _ memory: ModelReport, _ id: String, estimateSlackInSE: Double) {
        #expect(chunked.fit.coefficientNames == memory.fit.coefficientNames, "\(id) names")
        #expect(chunked.fit.aliased == memory.fit.aliased, "\(id) aliased")
        #expect(chunked.fit.design.rowCount == memory.fit.design.rowCount, "\(id) rows")
        #expect(chunked.fit.design.frame.droppedCount == memory.fit.design.frame.droppedCount, "\(id) dropped")
        #expect(chunked.fit.irls.iterations == memory.fit.irls.iterations, "\(id) iterations")
        #expect(chunked.fit.dfResidual == memory.fit.dfResidual, "\(id) df")
        #expect(chunked.summary.coefficients.count == memory.summary.coefficients.count, "\(id) coefficients")
        for (a, b) in zip(chunked.summary.coefficients, memory.summary.coefficients) {
            #expect(a.term == b.term)
            expectClose(a.estimate, b.estimate, relative: 1e-9, absolute: estimateSlackInSE * (b.standardError ?? 0), "\(id) \(a.term)")
            expectClose(a.standardError, b.standardError, relative: 1e-9, "\(id) \(a.term) se")
        }
        expectClose(chunked.fit.deviance, memory.fit.deviance, relative: 1e-9, absolute: 1e-10, "\(id) deviance")
        expectClose(chunked.fit.nullDeviance, memory.fit.nullDeviance, relative: 1e-9, "\(id) null deviance")
        expectClose(chunked.fit.aic, memory.fit.aic, relative: 1e-9, "\(id) AIC")
        expectClose(chunked.summary.dispersion, memory.summary.dispersion, relative: 1e-9, "\(id) dispersion")
        expectClose(chunked.summary.bic, memory.summary.bic, relative: 1e-9, "\(id) BIC")
        // R's warnings are the same; chunked fits add a note where the in-memory fit runs its
        // divergence check (which needs the data in memory).
        let rWarnings = chunked.fit.warnings.filter { !$0.contains("checked only without --chunk-rows") }
        #expect(Set(rWarnings) == Set(memory.fit.warnings), "\(id) warnings")
    }

    @Test func standardInputIsBufferedAndOptionsNeedingMemoryAreRefused() throws {
        var request = FitRequest(path: Repository.path("Examples/dobson.csv"), formula: "counts ~ outcome", family: "poisson")
        request.chunkRows = 3
        request.anova = true
        #expect(throws: GLMError.self) { try Pipeline.fit(request) }
    }

    /// The file is read again for every pass: one cut short or appended to after the first
    /// iteration must stop the fit with an error naming it, not mix two inputs.
    @Test(arguments: ["append", "truncate"])
    func inputChangedBetweenPassesIsAnError(change: String) throws {
        let scratch = try ScratchDirectory()
        let lines = ["y,x"] + (0..<400).map { row in "\(row % 7),\(Double(row % 23) / 10)" }
        let path = try scratch.write("changing.csv", lines.joined(separator: "\n") + "\n")
        // At a line's end, so that the shorter file is still well formed.
        let cut = Int(lines.prefix(101).joined(separator: "\n").utf8.count + 1)
        var request = FitRequest(path: path, formula: "y ~ x", family: "poisson")
        request.chunkRows = 50
        request.observer = { event in
            guard case .iteration(number: 1, _) = event else { return }
            if change == "append" {
                if let handle = FileHandle(forWritingAtPath: path) {
                    _ = try? handle.seekToEnd()
                    try? handle.write(contentsOf: Data("3,0.5\n4,0.7\n".utf8))
                    try? handle.close()
                }
            } else {
                _ = truncate(path, cut)
            }
        }
        #expect {
            try Pipeline.fit(request)
        } throws: { error in
            guard let error = error as? GLMError, case .unreadableInput = error else { return false }
            return error.exitStatus == 66 && error.message.contains("cannot read '\(path)': it changed while it was being read")
        }
    }
}
