import Foundation
import Testing
@testable import GLMCore

/// A scratch directory for one test, removed when the value goes away.
final class ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-predict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

enum Models {
    static func fit(_ data: String, _ formula: String, family: String = "gaussian", weights: String? = nil) throws -> SavedModel {
        var request = FitRequest(path: Repository.path(data), formula: formula, family: family, weightsColumn: weights)
        request.collation = .bytes
        let report = try Pipeline.fit(request)
        return try SavedModel(jsonBytes: Array(try SavedModel(report: report).jsonText().utf8), path: "model.json")
    }

    static let budworm = try! fit("Examples/budworm.csv", "cbind(numdead, 20 - numdead) ~ sex*ldose", family: "binomial")
    static let ships = try! fit(
        "Examples/ships.csv", "incidents ~ type + factor(year) + factor(period) + offset(log(service))", family: "poisson")
    static let leuk = try! fit("Examples/leuk.csv", "time ~ log(wbc) + ag", family: "gamma")
}

/// Runs `glmfit predict`'s pipeline on a file and returns the output (nil when nothing was
/// written), or the error.
private func runPredict(
    _ model: SavedModel, _ path: String, options: PredictionOptions = PredictionOptions(), blockSize: Int = 1 << 20,
    directory: ScratchDirectory
) throws -> String {
    let modelPath = try directory.write("model-\(UUID().uuidString).json", model.jsonText())
    var output: [UInt8] = []
    _ = try PredictPipeline.run(PredictRequest(modelPath: modelPath, inputPath: path, options: options), blockSize: blockSize) {
        output.append(contentsOf: $0)
    }
    return String(decoding: output, as: UTF8.self)
}

private func expectError(
    _ expected: GLMError, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(expected)", sourceLocation: sourceLocation)
    } catch let error as GLMError {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("glmfit predict: new data, errors and streaming")
struct PredictionTests {
    @Test func unseenFactorLevelNamesLineAndColumn() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "ldose,sex\n1,M\n2,X\n3,F\n")
        let error = GLMError.unseenLevel(source: path, line: 3, column: "sex", level: "X", known: ["F", "M"])
        expectError(error) { _ = try runPredict(Models.budworm, path, directory: directory) }
        #expect(error.exitStatus == 65)
        #expect(error.message == "\(path), line 3, column 'sex': level 'X' was not in the data the model was fitted to (its levels: 'F', 'M'); the model cannot predict it")
    }

    @Test func unseenLevelOfAFactorMadeFromNumbers() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "type,year,period,service\nA,60,60,100\nB,61,75,200\n")
        expectError(.unseenLevel(source: path, line: 3, column: "year", level: "61", known: ["60", "65", "70", "75"])) {
            _ = try runPredict(Models.ships, path, directory: directory)
        }
    }

    @Test func missingColumnIsAUsageError() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "dose,sex\n1,M\n")
        let error = GLMError.missingColumn(source: path, name: "ldose", suggestions: ["dose"])
        expectError(error) { _ = try runPredict(Models.budworm, path, directory: directory) }
        #expect(error.exitStatus == 64)
        #expect(error.message == "\(path), line 1: no column named 'ldose', which the model needs; did you mean 'dose'?")
    }

    @Test func missingValueFailsUnlessPassed() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "ldose,sex\n1,M\n2,F\nNA,M\n3,\n")
        let error = GLMError.missingValue(source: path, line: 4, column: "ldose", term: "ldose")
        expectError(error) { _ = try runPredict(Models.budworm, path, directory: directory) }
        #expect(error.exitStatus == 65)
        #expect(error.message.contains("line 4: column 'ldose' has a missing value"))
        #expect(error.message.contains("--na pass"))

        let output = try runPredict(Models.budworm, path, options: PredictionOptions(standardErrors: true, missing: .pass),
                                    directory: directory)
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 6)
        #expect(lines[0] == "ldose,sex,fit,se_fit")
        #expect(lines[3] == "NA,M,,")
        #expect(lines[4] == "3,,,")
        #expect(lines[5] == "")
        #expect(lines[1].hasPrefix("1,M,-1.5596055431"))
    }

    @Test func offsetsAreReadFromTheNewData() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "type,year,period,service\nA,60,60,100\nA,60,60,200\nA,60,60,NA\n")
        let predictions = try PredictPipeline.predictions(
            model: Models.ships, path: path, options: PredictionOptions(missing: .pass))
        #expect(abs(predictions.fit[1] - predictions.fit[0] - log(2)) < 1e-14)
        #expect(predictions.fit[2].isNaN)
        expectError(.missingValue(source: path, line: 4, column: "service", term: "offset(log(service))")) {
            _ = try PredictPipeline.predictions(model: Models.ships, path: path, options: PredictionOptions())
        }
    }

    @Test func notANumberFromATransformation() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "wbc,ag\n1000,present\n-5,absent\n")
        let error = GLMError.missingValue(source: path, line: 3, column: nil, term: "log(wbc)")
        expectError(error) { _ = try runPredict(Models.leuk, path, directory: directory) }
        #expect(error.message.contains("'log(wbc)' is not a number (NaN)"))
    }

    @Test func textInANumericColumn() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "ldose,sex\n1,M\nlots,F\n")
        expectError(.nonNumericValue(source: path, line: 3, column: "ldose", value: "lots")) {
            _ = try runPredict(Models.budworm, path, directory: directory)
        }
    }

    /// The first bad row in input order is reported, whatever kind of error it has.
    @Test func errorsAreReportedInInputOrder() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "ldose,sex\n1,M\nNA,F\n2,X\n")
        expectError(.missingValue(source: path, line: 3, column: "ldose", term: "ldose")) {
            _ = try runPredict(Models.budworm, path, directory: directory)
        }
        let ragged = try directory.write("ragged.csv", "ldose,sex\n1,M\nNA,F\n2\n")
        expectError(.missingValue(source: ragged, line: 3, column: "ldose", term: "ldose")) {
            _ = try runPredict(Models.budworm, ragged, directory: directory)
        }
        expectError(.raggedRow(source: ragged, line: 4, expected: 2, found: 1)) {
            _ = try runPredict(Models.budworm, ragged, options: PredictionOptions(missing: .pass), directory: directory)
        }
    }

    /// Nothing is written when a row fails, even far into the file.
    @Test func nothingIsWrittenWhenALateRowFails() throws {
        let directory = try ScratchDirectory()
        var text = "ldose,sex\n"
        for i in 0..<20_000 { text += "\(i % 6),\(i % 2 == 0 ? "M" : "F")\n" }
        text += "1,Z\n"
        let path = try directory.write("new.csv", text)
        let modelPath = try directory.write("model.json", Models.budworm.jsonText())
        var written = 0
        expectError(.unseenLevel(source: path, line: 20_002, column: "sex", level: "Z", known: ["F", "M"])) {
            _ = try PredictPipeline.run(PredictRequest(modelPath: modelPath, inputPath: path), blockSize: 4096) {
                written += $0.count
            }
        }
        #expect(written == 0)
    }

    /// Records are echoed byte for byte: quotes, doubled quotes, commas and line breaks
    /// inside quotes, CRLF line ends, spaces, blank lines skipped; the output is the same
    /// whatever the size of the blocks the input is read in.
    @Test func recordsAreEchoedExactlyWhateverTheBlockSize() throws {
        let directory = try ScratchDirectory()
        let text = "\u{FEFF}\"note\",ldose,\"sex\"\r\n\"a, \"\"quoted\"\"\nline\",1,\"M\"\r\n\r\nplain ,2.5,F\r\n\"\",  \"3\"  ,M"
        let path = try directory.write("new.csv", text)
        let options = PredictionOptions(scale: .response, standardErrors: true, confidenceInterval: true)
        let reference = try runPredict(Models.budworm, path, options: options, directory: directory)
        let lines = reference.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 6)
        #expect(lines[0] == "\"note\",ldose,\"sex\",fit,se_fit,conf_low,conf_high")
        #expect(lines[1] == "\"a, \"\"quoted\"\"")
        #expect(lines[2].hasPrefix("line\",1,\"M\","))
        #expect(lines[3].hasPrefix("plain ,2.5,F,"))
        #expect(lines[4].hasPrefix("\"\",  \"3\"  ,M,"))
        let expected = try PredictPipeline.predictions(model: Models.budworm, path: path, options: options)
        #expect(expected.lines == [2, 5, 6])
        #expect(lines[4] == Substring("\"\",  \"3\"  ,M," + expected.fields(2).map(NumberText.csvField).joined(separator: ",")))
        for blockSize in [1, 2, 3, 7, 16, 64] {
            #expect(try runPredict(Models.budworm, path, options: options, blockSize: blockSize, directory: directory) == reference,
                    "block size \(blockSize)")
            let small = try PredictPipeline.predictions(model: Models.budworm, path: path, options: options, blockSize: blockSize)
            #expect(small.fit == expected.fit)
            #expect(small.lines == expected.lines)
        }
    }

    /// Many rows in many batches: the same predictions as one evaluation in memory.
    @Test func manyBatchesMatchOneEvaluation() throws {
        let directory = try ScratchDirectory()
        var text = "sex,ldose,extra\n"
        for i in 0..<10_000 { text += "\(i % 3 == 0 ? "F" : "M"),\(Double(i % 57) / 9),\"x,\(i)\"\n" }
        let path = try directory.write("new.csv", text)
        let predictions = try PredictPipeline.predictions(
            model: Models.budworm, path: path, options: PredictionOptions(scale: .response), blockSize: 1000)
        #expect(predictions.count == 10_000)
        let table = try CSVReader.read(path: path)
        guard case let .numeric(doses)? = table.column(named: "ldose"),
              case let .categorical(sex)? = table.column(named: "sex") else {
            Issue.record("columns")
            return
        }
        let beta = Models.budworm.coefficients.compactMap(\.estimate)
        for row in stride(from: 0, to: 10_000, by: 997) {
            let male = sex.levels[Int(sex.codes[row])] == "M" ? 1.0 : 0.0
            var eta = 0.0
            for (j, x) in [1, male, doses[row], male * doses[row]].enumerated() { eta += x * beta[j] }
            expectClose(predictions.fit[row], Link.logit.linkinv(eta), relative: 1e-14, "row \(row)")
            #expect(predictions.lines[row] == row + 2)
        }
    }

    /// Input that cannot be read twice (a pipe) is held back in a spool until every row
    /// has succeeded.
    @Test func aPipeIsSpooledAndNothingIsWrittenOnError() throws {
        let directory = try ScratchDirectory()
        let modelPath = try directory.write("model.json", Models.budworm.jsonText())
        for (text, fails) in [("ldose,sex\n1,M\n2,F\n", false), ("ldose,sex\n1,M\n2,Q\n", true)] {
            let fifo = directory.path("fifo-\(UUID().uuidString)")
            #expect(mkfifo(fifo, 0o600) == 0)
            let writer = Thread {
                let handle = FileHandle(forWritingAtPath: fifo)
                handle?.write(Data(text.utf8))
                try? handle?.close()
            }
            writer.start()
            var output: [UInt8] = []
            do {
                _ = try PredictPipeline.run(PredictRequest(modelPath: modelPath, inputPath: fifo)) { output += $0 }
                #expect(!fails)
                #expect(String(decoding: output, as: UTF8.self).hasPrefix("ldose,sex,fit\n1,M,-1.5596055431"))
            } catch let error as GLMError {
                #expect(fails, "\(error)")
                #expect(output.isEmpty)
            }
        }
    }

    @Test func headerOnlyInputWritesTheHeader() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "ldose,sex\n")
        #expect(try runPredict(Models.budworm, path, options: PredictionOptions(standardErrors: true), directory: directory)
                == "ldose,sex,fit,se_fit\n")
    }

    @Test func rankDeficientModelWarnsAsR() throws {
        let model = try Models.fit("Examples/cats.csv", "Hwt ~ Bwt + I(2*Bwt) + Sex")
        let directory = try ScratchDirectory()
        let path = try directory.write("new.csv", "Bwt,Sex\n2.5,F\n")
        let modelPath = try directory.write("model.json", model.jsonText())
        let outcome = try PredictPipeline.run(PredictRequest(modelPath: modelPath, inputPath: path)) { _ in }
        #expect(outcome.warnings == ["prediction from a rank-deficient fit may be misleading"])
        #expect(outcome.rows == 1)
    }
}

@Suite("Saved model files")
struct SavedModelTests {
    @Test func roundTripsThroughJSON() throws {
        for model in [Models.budworm, Models.ships, Models.leuk] {
            let text = model.jsonText()
            let read = try SavedModel(jsonBytes: Array(text.utf8), path: "m.json")
            #expect(read == model)
            #expect(read.jsonText() == text)
        }
        #expect(Models.ships.offsets == ["log(service)"])
        #expect(Models.ships.variables.map(\.expression) == ["type", "factor(year)", "factor(period)"])
        #expect(Models.ships.columns.map(\.name) == ["type", "year", "period", "service"])
        #expect(Models.ships.columns.map(\.type) == [.text, .numeric, .numeric, .numeric])
        #expect(Models.budworm.glmfitVersion == GLMFitVersion)
    }

    @Test func numbersInExpressionsKeepEveryDigit() throws {
        let expression = try FormulaExpression.parse("I(x * 0.12345678901234567) + log(y, 2)")
        #expect(try FormulaExpression.parse(expression.sourceText) == expression)
        #expect(expression.deparsed != expression.sourceText)
    }

    @Test func notJSON() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("model.json", "this is not json")
        do {
            _ = try SavedModel.load(path: path)
            Issue.record("expected an error")
        } catch let error as GLMError {
            guard case let .invalidModelFile(errorPath, reason) = error else { Issue.record("\(error)"); return }
            #expect(errorPath == path)
            #expect(reason.hasPrefix("it is not valid JSON (unexpected character at line 1, column 1)"))
            #expect(error.exitStatus == 65)
        }
    }

    @Test func notAGlmfitModel() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("model.json", "{\"coefficients\": [1, 2]}")
        #expect(throws: GLMError.invalidModelFile(
            path: path, reason: "it is JSON but not a glmfit model (no \"format\": \"glmfit-model\"); write one with glmfit --save")) {
            _ = try SavedModel.load(path: path)
        }
    }

    @Test func incompatibleVersion() throws {
        let directory = try ScratchDirectory()
        let text = Models.budworm.jsonText()
            .replacingOccurrences(of: "\"format_version\": \(SavedModel.formatVersion)", with: "\"format_version\": \(SavedModel.formatVersion + 1)")
            .replacingOccurrences(of: "\"glmfit_version\": \"\(GLMFitVersion)\"", with: "\"glmfit_version\": \"9.0.0\"")
        let path = try directory.write("model.json", text)
        let expected = GLMError.incompatibleModelFile(
            path: path, writtenBy: "9.0.0", formatVersion: SavedModel.formatVersion + 1, supported: SavedModel.formatVersion)
        #expect(throws: expected) { _ = try SavedModel.load(path: path) }
        #expect(expected.exitStatus == 65)
        #expect(expected.message.contains("saved by glmfit 9.0.0 in model format \(SavedModel.formatVersion + 1); this glmfit"))
    }

    @Test func inconsistentModelIsRefused() throws {
        let directory = try ScratchDirectory()
        let text = Models.budworm.jsonText().replacingOccurrences(of: "\"level\": \"M\"", with: "\"level\": \"Q\"")
        let path = try directory.write("model.json", text)
        #expect(throws: GLMError.invalidModelFile(
            path: path, reason: "coefficient 'sexM': part 0 does not match variable 'sex'")) {
            _ = try SavedModel.load(path: path)
        }
    }

    @Test func missingModelFileIsUnreadable() throws {
        #expect(throws: GLMError.fileNotFound(path: "/nonexistent/model.json")) {
            _ = try SavedModel.load(path: "/nonexistent/model.json")
        }
    }

    @Test func jsonNumbersRoundTripExactly() throws {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0.1, 1e-300, 5e-324, 1.7976931348623157e308, -2.5, 123456789012345678, 1e15, 0.30000000000000004]
        for _ in 0..<2000 {
            values.append(Double(bitPattern: generator.next() & 0x7FEF_FFFF_FFFF_FFFF) * (Bool.random() ? 1 : -1))
        }
        let text = JSONText.array(values.map { .number($0) }).rendered()
        guard case let .array(read) = try JSONText.parse(Array(text.utf8)) else {
            Issue.record("not an array")
            return
        }
        #expect(read.count == values.count)
        for (value, item) in zip(values, read) {
            guard case let .number(number) = item else { Issue.record("not a number"); continue }
            #expect(number.bitPattern == value.bitPattern || (number == 0 && value == 0), "\(value)")
        }
    }

    @Test func jsonStringsAndSyntaxErrors() throws {
        let value = try JSONText.parse(Array("{\"a\\u00e9\\ud83d\\ude00\": [true, null, \"x\\n\\\"y\"], \"b\": {}}".utf8))
        #expect(value == .object([("aé😀", .array([.bool(true), .null, .string("x\n\"y")])), ("b", .object([]))]))
        #expect(try JSONText.parse(Array(value.rendered().utf8)) == value)
        for bad in ["", "[1,]", "{\"a\" 1}", "01", "[1] 2", "\"\\x\"", "nul", "[\"\u{01}\"]"] {
            #expect(throws: JSONText.SyntaxError.self, "\(bad)") { _ = try JSONText.parse(Array(bad.utf8)) }
        }
    }
}

@Suite("Atomic output files")
struct AtomicFileTests {
    @Test func replacesOnlyOnCommit() throws {
        let directory = try ScratchDirectory()
        let path = try directory.write("out.txt", "old")
        let file = try AtomicFile(path: path)
        try file.write("new contents")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
        try file.commit()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new contents")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["out.txt"])
    }

    @Test func abortLeavesNothing() throws {
        let directory = try ScratchDirectory()
        do {
            let file = try AtomicFile(path: directory.path("out.txt"))
            try file.write("partial")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
    }

    @Test func unwritablePlacesAreFoundFirst() throws {
        #expect(throws: GLMError.cannotWriteFile(path: "/nonexistent-dir/m.json", reason: "directory '/nonexistent-dir' does not exist")) {
            try AtomicFile.checkWritable("/nonexistent-dir/m.json")
        }
        let directory = try ScratchDirectory()
        #expect(throws: GLMError.cannotWriteFile(path: directory.url.path, reason: "it is a directory")) {
            try AtomicFile.checkWritable(directory.url.path)
        }
        #expect(GLMError.cannotWriteFile(path: "x", reason: "y").exitStatus == 73)
    }
}
