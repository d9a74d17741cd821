import Foundation
import Testing

/// `--save` and `predict --se` for a fit by blocks with more than 1,000 coefficients
/// (InstEval's 1,128 instructors), against R's predict.glm(se.fit = TRUE) from
/// Tests/glmfitTests/Reference/make_blocks_prediction_reference.R, and the file stored by
/// blocks against the dense one (`--full-covariance`).
@Suite("glmfit predict from a fit by blocks, end to end")
struct BlockPredictEndToEndTests {
    static let directory = "Tests/glmfitTests/Reference/blocks_prediction/"
    static let train = directory + "insteval_train.csv"
    static let new = directory + "insteval_new.csv"

    static func reference(_ id: String) throws -> [String: Any] {
        let url = Glmfit.repositoryRoot.appendingPathComponent("Tests/glmfitTests/Reference/blocks_prediction_reference.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let cases = object?["cases"] as? [String: Any]
        return try #require(cases?[id] as? [String: Any])
    }

    static func numbers(_ value: Any?) -> [Double] {
        (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue }
    }

    /// The last two fields of each record of predict's output: fit and se_fit.
    static func fitAndSE(_ output: String) -> (fit: [Double], se: [Double]) {
        var fit: [Double] = [], se: [Double] = []
        for line in output.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { continue }
            fit.append(Double(fields[fields.count - 2]) ?? .nan)
            se.append(Double(fields[fields.count - 1]) ?? .nan)
        }
        return (fit, se)
    }

    /// `absolute`: a floor for values that are zero in exact arithmetic (R's logistic fit
    /// prints 8.6e-16 for a level whose ratings are half good, glmfit -1.4e-17).
    static func expectClose(_ actual: [Double], _ expected: [Double], relative: Double, absolute: Double = 0, _ what: String) {
        #expect(actual.count == expected.count, "\(what): \(actual.count) values vs \(expected.count)")
        for (index, (a, e)) in zip(actual, expected).enumerated() {
            #expect(abs(a - e) <= relative * abs(e) + absolute, "\(what)[\(index)]: \(a) vs \(e)")
        }
    }

    /// Fits `formula` twice (blocks; --full-covariance), returns the two model files.
    static func save(_ formula: String, family: String, in scratch: URL) throws -> (blocks: String, dense: String) {
        let blocks = scratch.appendingPathComponent("blocks.json").path
        let dense = scratch.appendingPathComponent("dense.json").path
        for (path, extra) in [(blocks, [String]()), (dense, ["--full-covariance"])] {
            let result = try Glmfit.run(
                [train, "--formula", formula, "--family", family, "--format", "json", "--save", path] + extra)
            #expect(result.status == 0, "\(result.standardError)")
        }
        return (blocks, dense)
    }

    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-blocks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test(arguments: [("gaussian", "gaussian"), ("logistic", "binomial")])
    func predictionsMatchR(_ id: String, _ family: String) throws {
        let reference = try Self.reference(id)
        let formula = try #require(reference["formula"] as? String)
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (blocks, dense) = try Self.save(formula, family: family, in: scratch)

        let blocksText = try String(contentsOfFile: blocks, encoding: .utf8)
        let denseText = try String(contentsOfFile: dense, encoding: .utf8)
        #expect(blocksText.contains("\"vcov_blocks\": {") && !blocksText.contains("\"vcov\": {"))
        #expect(denseText.contains("\"vcov\": {") && !denseText.contains("\"vcov_blocks\""))
        // 1,131 coefficients: the dense matrix is 1.28 million numbers, the blocks far fewer.
        #expect(blocksText.utf8.count * 10 < denseText.utf8.count)

        var scales = [("link", "fit", "se_fit")]
        if id == "logistic" { scales.append(("response", "response_fit", "response_se_fit")) }
        for (scale, fitKey, seKey) in scales {
            let fromBlocks = try Glmfit.run(["predict", blocks, Self.new, "--se", "--type", scale])
            let fromDense = try Glmfit.run(["predict", dense, Self.new, "--se", "--type", scale])
            #expect(fromBlocks.status == 0, "\(fromBlocks.standardError)")
            #expect(fromDense.status == 0, "\(fromDense.standardError)")
            let a = Self.fitAndSE(fromBlocks.standardOutput)
            let b = Self.fitAndSE(fromDense.standardOutput)
            #expect(a.fit.count == 207)
            Self.expectClose(a.fit, b.fit, relative: 1e-10, "\(id) \(scale) fit, blocks vs dense")
            Self.expectClose(a.se, b.se, relative: 1e-10, "\(id) \(scale) se_fit, blocks vs dense")
            Self.expectClose(a.fit, Self.numbers(reference[fitKey]), relative: 1e-8, absolute: 1e-12, "\(id) \(scale) fit vs R")
            Self.expectClose(a.se, Self.numbers(reference[seKey]), relative: 1e-8, "\(id) \(scale) se_fit vs R")
        }
    }

    @Test func hostileBlocksExit65() throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let blocks = scratch.appendingPathComponent("blocks.json").path
        let fit = try Glmfit.run([Self.train, "--formula", "y ~ factor(d) + service", "--format", "json", "--save", blocks])
        #expect(fit.status == 0, "\(fit.standardError)")
        let text = try String(contentsOfFile: blocks, encoding: .utf8)
        // The first variance made negative.
        let marker = "\"variances\": ["
        let start = try #require(text.range(of: marker))
        let hostile = text.replacingCharacters(in: start.upperBound..<start.upperBound, with: "-")
        let path = scratch.appendingPathComponent("hostile.json").path
        try Data(hostile.utf8).write(to: URL(fileURLWithPath: path))
        let result = try Glmfit.run(["predict", path, Self.new, "--se"])
        #expect(result.status == 65)
        #expect(result.standardOutput == "")
        #expect(result.standardError.contains("the covariance blocks have a negative variance for 'factor(d)"), "\(result.standardError)")
    }
}
