import Foundation
import Testing

/// A scratch directory for one test, removed when the value goes away.
private final class Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// R's numbers for one model of Tests/GLMCoreTests/Reference/prediction_reference.json.
private func reference(_ id: String) throws -> [String: Any] {
    let url = Glmfit.repositoryRoot.appendingPathComponent("Tests/GLMCoreTests/Reference/prediction_reference.json")
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
    let cases = object?["cases"] as? [[String: Any]] ?? []
    return try #require(cases.first { $0["id"] as? String == id })
}

private func numbers(_ value: Any?) -> [Double?] {
    (value as? [Any] ?? []).map { $0 as? Double }
}

private func close(_ a: Double?, _ b: Double?, relative: Double = 1e-8) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case let (a?, b?): return abs(a - b) <= relative * abs(b) + 1e-14
    default: return false
    }
}

/// Runs glmfit with standard input from a pipe (not a file), as `cat x | glmfit ...`.
private func runWithPipe(_ arguments: [String], input: Data) throws -> CommandResult {
    let binary = try #require(Glmfit.binary)
    let scratch = try Scratch()
    let outputURL = URL(fileURLWithPath: scratch.path("stdout"))
    let errorURL = URL(fileURLWithPath: scratch.path("stderr"))
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.currentDirectoryURL = Glmfit.repositoryRoot
    let pipe = Pipe()
    process.standardInput = pipe
    process.standardOutput = try FileHandle(forWritingTo: outputURL)
    process.standardError = try FileHandle(forWritingTo: errorURL)
    try process.run()
    let writer = pipe.fileHandleForWriting
    let thread = Thread {
        writer.write(input)
        try? writer.close()
    }
    thread.start()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus,
        standardOutput: String(decoding: try Data(contentsOf: outputURL), as: UTF8.self),
        standardError: String(decoding: try Data(contentsOf: errorURL), as: UTF8.self))
}

@Suite("glmfit --save, --residuals and glmfit predict, end to end")
struct PredictEndToEndTests {
    let shipsFit = ["Examples/ships.csv", "--family", "poisson", "--formula",
                    "incidents ~ type + factor(year) + factor(period) + offset(log(service))"]
    let shipsNew = "Tests/GLMCoreTests/Reference/prediction_data/ships_offset.csv"

    private func saveShips(_ scratch: Scratch) throws -> String {
        let model = scratch.path("ships.json")
        let result = try Glmfit.run(shipsFit + ["--save", model])
        #expect(result.status == 0)
        #expect(result.standardError == "")
        return model
    }

    @Test func saveThenPredictFromAFile() throws {
        let scratch = try Scratch()
        let plain = try Glmfit.run(shipsFit)
        let model = scratch.path("ships.json")
        let saved = try Glmfit.run(shipsFit + ["--save", model])
        #expect(saved.standardOutput == plain.standardOutput, "--save does not change the report")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as? [String: Any]
        #expect(json?["format"] as? String == "glmfit-model")
        #expect(json?["glmfit_version"] as? String == "0.1.0")
        #expect(json?["offsets"] as? [String] == ["log(service)"])

        let result = try Glmfit.run(["predict", model, shipsNew, "--type", "response", "--se", "--interval", "confidence"])
        #expect(result.status == 0)
        #expect(result.standardError == "")
        let input = try String(contentsOfFile: Glmfit.repositoryRoot.appendingPathComponent(shipsNew).path, encoding: .utf8)
        let inputLines = input.split(separator: "\n")
        let outputLines = result.standardOutput.split(separator: "\n")
        #expect(outputLines.count == inputLines.count)
        #expect(outputLines.first == "\"type\",\"year\",\"period\",\"service\",\"note\",fit,se_fit,conf_low,conf_high")
        let r = try reference("ships_offset")
        let fit = numbers(r["response_fit"])
        let se = numbers(r["response_se"])
        let low = numbers(r["response_conf_low"])
        let high = numbers(r["response_conf_high"])
        for (index, (line, original)) in zip(outputLines.dropFirst(), inputLines.dropFirst()).enumerated() {
            // The input record, byte for byte, then four fields.
            #expect(line.hasPrefix(original + ","), "line \(index + 2) is echoed")
            let appended = line.dropFirst(original.count + 1).split(separator: ",").map { Double($0) }
            #expect(appended.count == 4)
            #expect(close(appended[0], fit[index]), "fit \(index)")
            #expect(close(appended[1], se[index]), "se \(index)")
            #expect(close(appended[2], low[index]), "low \(index)")
            #expect(close(appended[3], high[index]), "high \(index)")
        }
    }

    @Test func predictsFromStandardInputAsFromTheFile() throws {
        let scratch = try Scratch()
        let model = try saveShips(scratch)
        let data = try Data(contentsOf: Glmfit.repositoryRoot.appendingPathComponent(shipsNew))
        let fromFile = try Glmfit.run(["predict", model, shipsNew, "--se"])
        let fromRedirect = try Glmfit.run(["predict", model, "-", "--se"], input: data)
        let fromPipe = try runWithPipe(["predict", model, "-", "--se"], input: data)
        #expect(fromFile.status == 0)
        #expect(fromRedirect.status == 0)
        #expect(fromPipe.status == 0)
        #expect(fromRedirect.standardOutput == fromFile.standardOutput)
        #expect(fromPipe.standardOutput == fromFile.standardOutput)
        let r = try reference("ships_offset")
        let fit = numbers(r["link_fit"])
        let first = fromFile.standardOutput.split(separator: "\n")[1].split(separator: ",")
        #expect(close(Double(first[first.count - 2]), fit[0]))
    }

    @Test func linkScaleRoundTripOnTheTrainingData() throws {
        let scratch = try Scratch()
        let model = scratch.path("budworm.json")
        let fit = try Glmfit.run(["Examples/budworm.csv", "--family", "binomial", "--formula",
                                  "cbind(numdead, 20 - numdead) ~ sex*ldose", "--save", model, "--residuals",
                                  scratch.path("res.csv")])
        #expect(fit.status == 0)
        let predicted = try Glmfit.run(["predict", model, "Examples/budworm.csv", "--type", "response"])
        let residuals = try String(contentsOfFile: scratch.path("res.csv"), encoding: .utf8).split(separator: "\n")
        let header = residuals[0].split(separator: ",").map(String.init)
        let fittedColumn = try #require(header.firstIndex(of: "fitted"))
        for (line, row) in zip(predicted.standardOutput.split(separator: "\n").dropFirst(), residuals.dropFirst()) {
            let prediction = Double(line.split(separator: ",").last ?? "")
            let fitted = Double(row.split(separator: ",", omittingEmptySubsequences: false)[fittedColumn])
            #expect(close(prediction, fitted, relative: 1e-12))
        }
    }

    @Test func residualsFileContent() throws {
        let scratch = try Scratch()
        let path = scratch.path("pima.csv")
        let result = try Glmfit.run(["Examples/pima_missing.csv", "--family", "binomial", "--formula",
                                     "type ~ npreg + glu + bmi + age", "--residuals", path])
        #expect(result.status == 0)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "row,line,dropped,response,prior_weight,fitted,linear_predictor,resid_deviance,resid_pearson,resid_working,resid_response,hat,cooks_distance,rstandard")
        #expect(lines.count == 301)
        let r = try reference("pima_missing")
        let usedRows = numbers(r["used_rows"]).compactMap { $0 }.map { Int($0) }
        let columns: [(Int, String)] = [(7, "resid_deviance"), (8, "resid_pearson"), (9, "resid_working"),
                                        (10, "resid_response"), (11, "hat"), (12, "cooks_distance"), (13, "rstandard")]
        var used = 0
        var dropped: [Int] = []
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            let row = Int(fields[0]) ?? 0
            if fields[2] == "true" {
                dropped.append(row)
                #expect(fields[3...].allSatisfy { $0.isEmpty })
                continue
            }
            #expect(row == usedRows[used])
            for (column, key) in columns {
                #expect(close(Double(fields[column]), numbers(r[key])[used]), "\(key) row \(row)")
            }
            used += 1
        }
        #expect(used == 297)
        #expect(dropped.count == 3)
    }

    @Test func unseenLevelExits65WithNothingWritten() throws {
        let scratch = try Scratch()
        let model = try saveShips(scratch)
        let input = try scratch.write("new.csv", "type,year,period,service\nA,60,60,100\nZ,60,60,100\n")
        for run in [try Glmfit.run(["predict", model, input]),
                    try runWithPipe(["predict", model, "-"], input: Data(try String(contentsOfFile: input, encoding: .utf8).utf8))] {
            #expect(run.status == 65)
            #expect(run.standardOutput == "")
            #expect(run.standardError.hasPrefix("glmfit: error: "))
            #expect(run.standardError.contains("line 3, column 'type': level 'Z' was not in the data the model was fitted to"))
        }
    }

    @Test func missingColumnExits64() throws {
        let scratch = try Scratch()
        let model = try saveShips(scratch)
        let input = try scratch.write("new.csv", "type,year,period\nA,60,60\n")
        let result = try Glmfit.run(["predict", model, input])
        #expect(result.status == 64)
        #expect(result.standardOutput == "")
        #expect(result.standardError == "glmfit: error: \(input), line 1: no column named 'service', which the model needs\n")
    }

    @Test func missingValueExits65UnlessPassed() throws {
        let scratch = try Scratch()
        let model = try saveShips(scratch)
        let input = try scratch.write("new.csv", "type,year,period,service\nA,60,60,100\nB,NA,60,100\n")
        let failing = try Glmfit.run(["predict", model, input])
        #expect(failing.status == 65)
        #expect(failing.standardOutput == "")
        #expect(failing.standardError.contains("line 3: column 'year' has a missing value"))
        let passing = try Glmfit.run(["predict", model, input, "--na", "pass", "--se"])
        #expect(passing.status == 0)
        #expect(passing.standardOutput.hasSuffix("\nB,NA,60,100,,\n"))
    }

    @Test func badModelFiles() throws {
        let scratch = try Scratch()
        let notJSON = try scratch.write("a.json", "{ not json")
        let foreign = try scratch.write("b.json", "{\"formula\": \"y ~ x\"}")
        let model = try saveShips(scratch)
        let newer = try scratch.write("c.json", try String(contentsOfFile: model, encoding: .utf8)
            .replacingOccurrences(of: "\"format_version\": 2", with: "\"format_version\": 7"))
        let cases: [(String, Int32, String)] = [
            (notJSON, 65, "is not a usable glmfit model: it is not valid JSON"),
            (foreign, 65, "it is JSON but not a glmfit model"),
            (newer, 65, "in model format 7; this glmfit (0.1.0) reads model format 2 and older"),
            (scratch.path("none.json"), 66, "no such file"),
        ]
        for (path, status, message) in cases {
            let result = try Glmfit.run(["predict", path, shipsNew])
            #expect(result.status == status, "\(path)")
            #expect(result.standardOutput == "")
            #expect(result.standardError.contains(message), "\(result.standardError)")
        }
    }

    @Test func outputFilesNeedAWritableDirectoryAndASuccessfulFit() throws {
        let scratch = try Scratch()
        let unwritable = try Glmfit.run(shipsFit + ["--save", "/nonexistent-directory/m.json"])
        #expect(unwritable.status == 73)
        #expect(unwritable.standardOutput == "")
        #expect(unwritable.standardError == "glmfit: error: cannot write '/nonexistent-directory/m.json': directory '/nonexistent-directory' does not exist\n")

        // A fit that fails --strict writes no file.
        let model = scratch.path("m.json")
        let residuals = scratch.path("r.csv")
        let strict = try Glmfit.run(["Examples/mtcars.csv", "--family", "binomial", "--link", "probit", "--formula",
                                     "am ~ hp + wt", "--strict", "--save", model, "--residuals", residuals])
        #expect(strict.status == 3)
        #expect(!FileManager.default.fileExists(atPath: model))
        #expect(!FileManager.default.fileExists(atPath: residuals))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }

    @Test func predictHelpAndUsage() throws {
        let help = try Glmfit.run(["predict", "--help"])
        #expect(help.status == 0)
        for word in ["--type", "--se", "--interval", "--conf-level", "--na", "se_fit", "conf_low"] {
            #expect(help.standardOutput.contains(word), "help lacks \(word)")
        }
        let usage = try Glmfit.run(["predict", "model.json"])
        #expect(usage.status == 64)
        #expect(usage.standardError.contains("glmfit predict --help"))
        let fitHelp = try Glmfit.run(["--help"])
        #expect(fitHelp.standardOutput.contains("--save"))
        #expect(fitHelp.standardOutput.contains("--residuals"))
        let badLevel = try Glmfit.run(["predict", "m.json", shipsNew, "--conf-level", "1.5"])
        #expect(badLevel.status == 64)
    }
}
