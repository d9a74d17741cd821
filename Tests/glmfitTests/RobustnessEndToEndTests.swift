import Foundation
import Testing

/// Issue 23, end to end: each case is one clear error (message, exit status, nothing on
/// standard output) or a fit with R's warnings, never a crash, an abort at a memory limit or
/// a silently wrong table.
@Suite("Robustness end to end: memory, degenerate fits, scaled columns, predict")
struct RobustnessEndToEndTests {
    /// A folder for one test's files, removed at the end of `body`.
    static func withFolder<T>(_ body: (URL) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-robust-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        return try body(folder)
    }

    static func write(_ text: String, to folder: URL, _ name: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// glmfit under `env NAME=value ...` (the test runner shares one environment).
    static func run(_ arguments: [String], environment: [String: String]) throws -> CommandResult {
        let binary = try #require(Glmfit.binary)
        let settings = environment.map { "\($0.key)=\($0.value)" }.sorted()
        return try withFolder { folder in
            let outputURL = folder.appendingPathComponent("stdout")
            let errorURL = folder.appendingPathComponent("stderr")
            _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
            _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = settings + [binary.path] + arguments
            process.currentDirectoryURL = Glmfit.repositoryRoot
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = try FileHandle(forWritingTo: outputURL)
            process.standardError = try FileHandle(forWritingTo: errorURL)
            try process.run()
            process.waitUntilExit()
            return CommandResult(
                status: process.terminationStatus,
                standardOutput: String(decoding: try Data(contentsOf: outputURL), as: UTF8.self),
                standardError: String(decoding: try Data(contentsOf: errorURL), as: UTF8.self))
        }
    }

    static func expectError(_ result: CommandResult, status: Int32, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, "\(result.standardError)", sourceLocation: sourceLocation)
        #expect(result.standardOutput.isEmpty, "wrote to standard output", sourceLocation: sourceLocation)
        #expect(result.standardError.hasPrefix("glmfit: error: "), "\(result.standardError)", sourceLocation: sourceLocation)
        #expect(result.standardError.contains(message), "\(result.standardError)", sourceLocation: sourceLocation)
        #expect(!result.standardError.contains("Fatal error"), sourceLocation: sourceLocation)
    }

    /// 600 rows and a 300-level factor, read under a 1 MB budget.
    static func manyLevels(rows: Int = 600, levels: Int = 300) -> String {
        "y,x,g\n" + (0..<rows).map { "\(Double($0 % 9) / 2),\(Double($0 % 11) / 3),L\($0 % levels)" }.joined(separator: "\n") + "\n"
    }

    // MARK: Memory

    @Test func designOverTheBudgetIsAnErrorNamingTheSizes() throws {
        try Self.withFolder { folder in
            let path = try Self.write(Self.manyLevels(rows: 20_000, levels: 20), to: folder, "levels.csv")
            let result = try Self.run([path, "-f", "y ~ x + g"], environment: ["GLMFIT_MEMORY_LIMIT": "2M"])
            // 20 columns built (x is its own column) × 20,000 rows × 8 bytes, and 21 names.
            Self.expectError(result, status: 65, "the model has 21 columns × 20,000 rows: its design needs 3.2 MB; available 2.1 MB")
            #expect(result.standardError.contains("(use fewer levels, or --chunk-rows)"))
            // Under the same limit, the chunked fit holds 500 rows of X at a time and fits.
            let chunked = try Self.run([path, "-f", "y ~ x + g", "--chunk-rows", "500", "--format", "json"],
                                       environment: ["GLMFIT_MEMORY_LIMIT": "2M"])
            #expect(chunked.status == 0, "\(chunked.standardError)")
            #expect(chunked.standardOutput.contains("\"n_obs\": 20000"), "\(chunked.standardOutput.prefix(300))")
            // A chunk as large as the input has the input's problem, and says so.
            let large = try Self.run([path, "-f", "y ~ x + g", "--chunk-rows", "20000"], environment: ["GLMFIT_MEMORY_LIMIT": "2M"])
            Self.expectError(large, status: 65, "its design needs 3.2 MB; available 2.1 MB (use fewer levels, or a smaller --chunk-rows)")
        }
    }

    @Test func crossProductsOverTheBudgetAreAnErrorWithOrWithoutChunks() throws {
        try Self.withFolder { folder in
            let path = try Self.write(Self.manyLevels(rows: 1_500, levels: 1_500), to: folder, "wide.csv")
            // In memory the factor is held as codes (a diagonal, no 1,500² matrix): it fits.
            let inMemory = try Self.run([path, "-f", "y ~ g", "--format", "json"], environment: ["GLMFIT_MEMORY_LIMIT": "20M"])
            #expect(inMemory.status == 0, "\(inMemory.standardError)")
            #expect(inMemory.standardOutput.contains("\"vcov_omitted\""))
            // In chunks too: each chunk's factor is codes, the block normal equations added up.
            let chunked = try Self.run(
                [path, "-f", "y ~ g", "--format", "json", "--chunk-rows", "100"], environment: ["GLMFIT_MEMORY_LIMIT": "20M"])
            #expect(chunked.status == 0, "\(chunked.standardError)")
            #expect(chunked.standardOutput.contains("\"vcov_omitted\""))
            // Two crossed 1,500-level factors: the 1,500 × 1,500 matrix besides the eliminated
            // one is over the budget, in chunks or not, and said so.
            let rows = (0..<3_000).map { "\(Double($0 % 9) / 2),L\($0 % 1_500),M\(($0 * 7) % 1_500)" }
            let crossed = try Self.write("y,g,h\n" + rows.joined(separator: "\n") + "\n", to: folder, "crossed.csv")
            let over = try Self.run([crossed, "-f", "y ~ g + h", "--chunk-rows", "100"], environment: ["GLMFIT_MEMORY_LIMIT": "20M"])
            Self.expectError(over, status: 65, "the model has 2,999 columns")
            #expect(over.standardError.contains("(use fewer levels or terms)"), "\(over.standardError)")
        }
    }

    @Test func oneHugeGEEClusterIsAnError() throws {
        try Self.withFolder { folder in
            let rows = (0..<4_000).map { "\(Double($0 % 7) / 2),\(Double($0 % 5)),\($0 < 3_990 ? 1 : 2)" }
            let path = try Self.write("y,x,id\n" + rows.joined(separator: "\n") + "\n", to: folder, "gee.csv")
            let result = try Self.run([path, "-f", "y ~ x", "--id", "id", "--corstr", "exchangeable"],
                                      environment: ["GLMFIT_MEMORY_LIMIT": "64M"])
            Self.expectError(result, status: 65, "the largest cluster of 'id' has 3,990 rows: its 3,990 × 3,990 working correlation")
        }
    }

    @Test func wideInteractionIsAnErrorBeforeItIsExpanded() throws {
        try Self.withFolder { folder in
            let names = (0..<300).map { "x\($0)" }
            let rows = (0..<4).map { row in "\(row)," + names.indices.map { "\(($0 * 7 + row) % 10)" }.joined(separator: ",") }
            let path = try Self.write("y," + names.joined(separator: ",") + "\n" + rows.joined(separator: "\n") + "\n", to: folder, "wide.csv")
            let result = try Self.run([path, "-f", "y ~ .^2"], environment: ["GLMFIT_MEMORY_LIMIT": "8M"])
            Self.expectError(result, status: 65, "the formula interacts 300 terms with 300: expanding the 90,000 products needs 12 MB")
            #expect(result.standardError.hasSuffix("(interact fewer terms)\n"), "\(result.standardError)")
        }
    }

    @Test func aMemoryLimitThatCannotBeReadIsIgnored() throws {
        try Self.withFolder { folder in
            let path = try Self.write(Self.manyLevels(rows: 60, levels: 3), to: folder, "small.csv")
            let result = try Self.run([path, "-f", "y ~ x + g", "--format", "json"], environment: ["GLMFIT_MEMORY_LIMIT": "plenty"])
            #expect(result.status == 0, "\(result.standardError)")
        }
    }

    // MARK: Degenerate fits

    @Test func negativeBinomialOfZerosIsAnErrorInEveryFormat() throws {
        try Self.withFolder { folder in
            let path = try Self.write("y,x\n" + (0..<10).map { "0,\($0)" }.joined(separator: "\n") + "\n", to: folder, "zeros.csv")
            for format in ["text", "json"] {
                let result = try Glmfit.run([path, "-f", "y ~ x", "--family", "negative-binomial", "--format", format])
                Self.expectError(result, status: 65, "the negative binomial theta cannot be estimated: every count is 0")
            }
        }
    }

    @Test func zeroWeightsAreAnError() throws {
        try Self.withFolder { folder in
            let rows = (0..<8).map { "\($0 % 3 + 1),\(Double($0) / 2),0" }
            let path = try Self.write("y,x,w\n" + rows.joined(separator: "\n") + "\n", to: folder, "w.csv")
            let result = try Glmfit.run([path, "-f", "y ~ x", "--weights", "w"])
            Self.expectError(result, status: 65, "weights column 'w': no row has a positive weight, so there is nothing to fit")
        }
    }

    @Test func responseOnBothSidesWarnsAsR() throws {
        try Self.withFolder { folder in
            let path = try Self.write("y,x\n1,2\n3,1\n2,4\n5,3\n4,6\n6,5\n", to: folder, "yy.csv")
            let result = try Glmfit.run([path, "-f", "y ~ y"])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardError == "glmfit: warning: the response appeared on the right-hand side and was dropped\n"
                + "glmfit: warning: problem with term 1 in model.matrix: no columns are assigned\n")
            #expect(result.standardOutput.contains("(Intercept)   3.5000"), "\(result.standardOutput)")
        }
    }

    @Test func scaledColumnsAreEstimatedNotAliased() throws {
        let data = "Tests/GLMCoreTests/Reference/scaled/mtcars_scaled.csv"
        for extra in [[], ["--chunk-rows", "6"]] {
            let result = try Glmfit.run([data, "-f", "mpg ~ wt + hpBig + qsecTiny"] + extra)
            #expect(result.status == 0, "\(result.standardError)")
            #expect(!result.standardOutput.contains("singularities"), "\(result.standardOutput)")
            // R: hpBig -1.782e-162, qsecTiny 5.108e+209 (make_scaled_reference.R).
            #expect(result.standardOutput.contains("hpBig       -1.782e-162"), "\(result.standardOutput)")
            #expect(result.standardOutput.contains("qsecTiny     5.108e+209"), "\(result.standardOutput)")
        }
    }

    // MARK: predict trusts nothing

    /// A model of mtcars saved by glmfit, changed by `edit`, then used by predict.
    static func predictWithEditedModel(
        _ edit: (inout [String: Any]) -> Void, newData: String = "mpg,wt,hp\n21,2.6,110\n"
    ) throws -> CommandResult {
        try withFolder { folder in
            let model = folder.appendingPathComponent("model.json").path
            let fit = try Glmfit.run([Glmfit.example("mtcars.csv"), "-f", "mpg ~ wt + hp", "--save", model])
            #expect(fit.status == 0, "\(fit.standardError)")
            var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as? [String: Any])
            edit(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: model))
            let input = try write(newData, to: folder, "new.csv")
            return try Glmfit.run(["predict", model, input, "--se"])
        }
    }

    static func editMatrix(_ object: inout [String: Any], _ change: (inout [[Any]]) -> Void) {
        guard var vcov = object["vcov"] as? [String: Any], var matrix = vcov["matrix"] as? [[Any]] else {
            Issue.record("no vcov.matrix in the saved model")
            return
        }
        change(&matrix)
        vcov["matrix"] = matrix
        object["vcov"] = vcov
    }

    @Test func predictAcceptsTheUnchangedModel() throws {
        let result = try Self.predictWithEditedModel { _ in }
        #expect(result.status == 0, "\(result.standardError)")
    }

    @Test func predictRefusesANegativeVariance() throws {
        let result = try Self.predictWithEditedModel { Self.editMatrix(&$0) { $0[1][1] = -0.5 } }
        Self.expectError(result, status: 65, "the covariance matrix has a negative variance for 'wt' (-0.5)")
    }

    @Test func predictRefusesANullCovariance() throws {
        let result = try Self.predictWithEditedModel { Self.editMatrix(&$0) { $0[0][2] = NSNull() } }
        Self.expectError(result, status: 65, "the covariance matrix entry ('(Intercept)', 'hp') is null or not a number")
    }

    @Test func predictRefusesAnAsymmetricCovariance() throws {
        let result = try Self.predictWithEditedModel { Self.editMatrix(&$0) { $0[2][1] = 0.25 } }
        Self.expectError(result, status: 65, "the covariance matrix is not symmetric: entry ('wt', 'hp')")
    }

    @Test func predictRefusesAnInfiniteEstimate() throws {
        // JSON has no Inf: a number beyond the double range reads as one.
        let result = try Self.withFolder { folder -> CommandResult in
            let model = folder.appendingPathComponent("model.json").path
            _ = try Glmfit.run([Glmfit.example("mtcars.csv"), "-f", "mpg ~ wt + hp", "--save", model])
            var text = try String(contentsOfFile: model, encoding: .utf8)
            let pattern = try #require(text.range(of: #""estimate": ?-?[0-9.eE+-]+"#, options: .regularExpression))
            text.replaceSubrange(pattern, with: "\"estimate\": 1e400")
            try Data(text.utf8).write(to: URL(fileURLWithPath: model))
            let input = try Self.write("wt,hp\n2.6,110\n", to: folder, "new.csv")
            return try Glmfit.run(["predict", model, input])
        }
        Self.expectError(result, status: 65, "the estimate of '(Intercept)' is not a finite number")
    }

    @Test(arguments: ["Inf", "1e400", "-inf"])
    func predictRefusesInfiniteNewData(_ spelling: String) throws {
        let result = try Self.predictWithEditedModel({ _ in }, newData: "mpg,wt,hp\n21,2.6,110\n19,\(spelling),95\n")
        Self.expectError(result, status: 65, "new.csv, line 3: column 'wt' holds an infinite number")
    }
}

@Suite("--start end to end")
struct StartEndToEndTests {
    @Test func logBinomialFitsFromAStartAndWithoutOneSaysWhatToDo() throws {
        let arguments = [Glmfit.example("menarche.csv"), "-f", "cbind(Menarche, Total - Menarche) ~ Age", "--family", "binomial",
                         "--link", "log"]
        let without = try Glmfit.run(arguments)
        #expect(without.status == 65)
        #expect(without.standardOutput.isEmpty)
        #expect(without.standardError == "glmfit: error: no valid set of coefficients has been found: please supply "
            + "starting values with --start (one per coefficient, as R's start =), or try another --link\n")
        // R: -3.4482210547644927, 0.19614454235186951 (make_start_reference.R).
        let with = try Glmfit.run(arguments + ["--start", "-3,0.1", "--format", "csv"])
        #expect(with.status == 0, "\(with.standardError)")
        #expect(with.standardOutput.contains("(Intercept),-3.448221054"), "\(with.standardOutput)")
        let wrong = try Glmfit.run(arguments + ["--start", "-3"])
        #expect(wrong.status == 64)
        #expect(wrong.standardError.contains("--start: needs 2 values, one per coefficient ((Intercept), Age), got 1"))
    }
}
