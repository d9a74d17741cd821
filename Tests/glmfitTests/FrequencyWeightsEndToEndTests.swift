import Foundation
import Testing

/// `--frequency-weights`: a table aggregated by its covariates and response with a count
/// (made by DuckDB, Reference/frequency_weights/make_aggregates.py) fits exactly as the
/// rows it was made from: every number of the JSON report.
@Suite("Frequency weights, end to end: aggregated tables fit as their rows")
struct FrequencyWeightsEndToEndTests {
    static func fixture(_ name: String) -> String {
        Glmfit.repositoryRoot.appendingPathComponent("Tests/glmfitTests/Reference/frequency_weights/\(name)").path
    }

    /// One model: the row-level file, its aggregate (count column `n`), the formula and
    /// the family options.
    struct Case: CustomTestStringConvertible, Sendable {
        let rows: String
        let aggregated: String
        let formula: String
        let options: [String]
        var testDescription: String { "\(formula) \(options.joined(separator: " "))" }
    }

    static let cases: [Case] = [
        Case(rows: Glmfit.example("insectsprays.csv"), aggregated: fixture("insectsprays_aggregated.csv"),
             formula: "count ~ spray", options: ["--family", "gaussian"]),
        Case(rows: Glmfit.example("warpbreaks.csv"), aggregated: fixture("warpbreaks_aggregated.csv"),
             formula: "breaks ~ wool * tension", options: ["--family", "gaussian"]),
        Case(rows: fixture("esoph_people.csv"), aggregated: fixture("esoph_aggregated.csv"),
             formula: "case ~ agegp + alcgp + tobgp", options: ["--family", "binomial"]),
        Case(rows: fixture("esoph_people.csv"), aggregated: fixture("esoph_aggregated.csv"),
             formula: "case ~ alcgp + tobgp", options: ["--family", "binomial", "--link", "probit"]),
        Case(rows: Glmfit.example("insectsprays.csv"), aggregated: fixture("insectsprays_aggregated.csv"),
             formula: "count ~ spray", options: ["--family", "poisson"]),
        Case(rows: Glmfit.example("quine.csv"), aggregated: fixture("quine_aggregated.csv"),
             formula: "Days ~ Eth + Sex + Age + Lrn", options: ["--family", "poisson"]),
        Case(rows: Glmfit.example("warpbreaks.csv"), aggregated: fixture("warpbreaks_aggregated.csv"),
             formula: "breaks ~ wool + tension", options: ["--family", "gamma"]),
        Case(rows: Glmfit.example("warpbreaks.csv"), aggregated: fixture("warpbreaks_aggregated.csv"),
             formula: "breaks ~ wool + tension", options: ["--family", "inverse-gaussian"]),
        Case(rows: Glmfit.example("quine.csv"), aggregated: fixture("quine_aggregated.csv"),
             formula: "Days ~ Eth + Sex + Age + Lrn", options: ["--family", "negative-binomial", "--theta", "1.3"]),
        Case(rows: Glmfit.example("quine.csv"), aggregated: fixture("quine_aggregated.csv"),
             formula: "Days ~ Eth + Sex + Age + Lrn", options: ["--family", "quasipoisson"]),
        Case(rows: Glmfit.example("quine.csv"), aggregated: fixture("quine_aggregated.csv"),
             formula: "Days ~ Eth + Sex + Age + Lrn", options: ["--family", "tweedie", "--var-power", "1.5"]),
    ]

    static func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try Glmfit.run(arguments + ["--format", "json"])
        #expect(result.status == 0, "\(arguments): \(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    }

    /// Members only the aggregated fit has (what it was given, and its row count).
    static let aggregateOnly: Set<String> = ["frequency_weights", "n_rows"]

    /// Every number, string, flag and null of `actual` equals `expected`'s, numbers to
    /// `relative` (and `absolute` near zero), at the same paths.
    static func expectSame(
        _ actual: Any?, _ expected: Any?, path: String, relative: Double, absolute: Double = 1e-12,
        skipping: Set<String> = aggregateOnly
    ) {
        switch (actual, expected) {
        case let (a as [String: Any], e as [String: Any]):
            #expect(Set(a.keys).subtracting(skipping) == Set(e.keys), "\(path): members differ")
            for (key, value) in e { expectSame(a[key], value, path: "\(path).\(key)", relative: relative, absolute: absolute) }
        case let (a as [Any], e as [Any]):
            #expect(a.count == e.count, "\(path): lengths differ")
            for (index, (x, y)) in zip(a, e).enumerated() {
                expectSame(x, y, path: "\(path)[\(index)]", relative: relative, absolute: absolute)
            }
        case let (a as NSNumber, e as NSNumber):
            // JSON booleans and numbers both arrive as NSNumber; compare as doubles.
            let x = a.doubleValue, y = e.doubleValue
            #expect(abs(x - y) <= relative * max(abs(x), abs(y)) + absolute, "\(path): \(x) vs \(y)")
        case let (a as String, e as String):
            #expect(a == e, "\(path)")
        case (is NSNull, is NSNull):
            break
        default:
            Issue.record("\(path): \(String(describing: actual)) vs \(String(describing: expected))")
        }
    }

    @Test(arguments: cases)
    func aggregatedFitIsTheRowsFit(_ model: Case) throws {
        let arguments = ["--formula", model.formula] + model.options
        let rows = try Self.json([model.rows] + arguments)
        let aggregated = try Self.json([model.aggregated] + arguments + ["--frequency-weights", "n"])
        Self.expectSame(aggregated, rows, path: model.testDescription, relative: 1e-9)
        // The counts that differ from the aggregate's rows, checked by name too.
        let rowCount = try String(contentsOfFile: model.rows, encoding: .utf8).split(separator: "\n").count - 1
        let aggregateRows = try String(contentsOfFile: model.aggregated, encoding: .utf8).split(separator: "\n").count - 1
        #expect(aggregated["n_obs"] as? Int == rowCount)
        #expect(aggregated["n_rows"] as? Int == aggregateRows)
        #expect(aggregateRows < rowCount)
        #expect(aggregated["frequency_weights"] as? String == "n")
    }

    /// The bounded-memory fit reads the counts chunk by chunk (7 rows at a time here).
    @Test(arguments: cases)
    func chunkedAggregatedFitIsTheRowsFit(_ model: Case) throws {
        let arguments = ["--formula", model.formula] + model.options
        let rows = try Self.json([model.rows] + arguments)
        let chunked = try Self.json([model.aggregated] + arguments + ["--frequency-weights", "n", "--chunk-rows", "7"])
        // The streamed fit solves the normal equations (the in-memory one R's QR): the
        // tolerance of ChunkedFitTests.
        Self.expectSame(chunked, rows, path: "chunked " + model.testDescription, relative: 1e-8, absolute: 1e-10)
    }

    /// glm.nb's theta is estimated from the same likelihood sums.
    @Test func negativeBinomialThetaIsTheRowsTheta() throws {
        let arguments = ["--formula", "Days ~ Eth + Sex + Age + Lrn", "--family", "negative-binomial"]
        let rows = try Self.json([Glmfit.example("quine.csv")] + arguments)
        let aggregated = try Self.json([Self.fixture("quine_aggregated.csv")] + arguments + ["--frequency-weights", "n"])
        Self.expectSame(aggregated, rows, path: "glm.nb", relative: 1e-8, absolute: 1e-10)
        #expect((rows["theta"] as? Double ?? 0) > 1)
    }

    /// Analyses on top of the fit: anova, drop1, a nested comparison, profile intervals, a
    /// Wald test, robust and clustered standard errors and the dispersion test.
    @Test(arguments: [
        ["--family", "gaussian", "--anova", "--drop1", "--compare", "~ wool"],
        ["--family", "gamma", "--anova", "--drop1", "--ci", "profile", "--wald", "tensionL, tensionM"],
        ["--family", "poisson", "--anova", "--drop1", "--dispersion-test", "--ci", "profile"],
        ["--family", "poisson", "--vcov", "HC0"], ["--family", "poisson", "--vcov", "HC1"],
        ["--family", "gaussian", "--vcov", "HC2"], ["--family", "gamma", "--vcov", "HC3"],
        // Clusters by a column the table is grouped by (so constant within a row), not in the model.
        ["--family", "poisson", "--cluster", "tension", "--formula", "breaks ~ wool"],
        ["--family", "gaussian", "--cluster", "tension", "--vcov", "HC1", "--formula", "breaks ~ wool"],
    ])
    func analysesAreTheRows(options: [String]) throws {
        let arguments = (options.contains("--formula") ? [] : ["--formula", "breaks ~ wool + tension"]) + options
        let rows = try Self.json([Glmfit.example("warpbreaks.csv")] + arguments)
        let aggregated = try Self.json([Self.fixture("warpbreaks_aggregated.csv")] + arguments + ["--frequency-weights", "n"])
        Self.expectSame(aggregated, rows, path: options.joined(separator: " "), relative: 1e-8, absolute: 1e-10)
    }

    /// MASS's housing table: 72 covariate patterns with their counts (Freq) of 1681
    /// householders; the multinomial and ordinal fits of the table (polr's and multinom's
    /// classic `weights = Freq`) with --frequency-weights Freq are those of the 1681 rows.
    @Test(arguments: [["--family", "ordinal"], ["--family", "ordinal", "--link", "probit"], ["--family", "multinomial"]])
    func categoricalModelsOfHousingAreTheRows(options: [String]) throws {
        let text = try String(contentsOfFile: Glmfit.example("housing.csv"), encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        var rows = [lines[0]]
        for line in lines.dropFirst() {
            let count = try #require(line.split(separator: ",").last.flatMap { Int($0) })
            rows += Array(repeating: line, count: count)
        }
        #expect(rows.count == 1682)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-fw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let expanded = directory.appendingPathComponent("housing_rows.csv").path
        try rows.joined(separator: "\n").write(toFile: expanded, atomically: true, encoding: .utf8)
        let arguments = ["--formula", "Sat ~ Infl + Type + Cont", "--compare", "~ Infl + Type"] + options
        let expected = try Self.json([expanded] + arguments)
        let aggregated = try Self.json([Glmfit.example("housing.csv")] + arguments + ["--frequency-weights", "Freq"])
        Self.expectSame(aggregated, expected, path: options.joined(separator: " "), relative: 1e-7, absolute: 1e-10)
        #expect(aggregated["n_obs"] as? Int == 1681)
        #expect(aggregated["n_rows"] as? Int == 72)
        #expect(aggregated["frequency_weights"] as? String == "Freq")
    }

    /// The saved model (n_obs, df_residual, the dispersion and covariance predict uses) is
    /// the rows' saved model.
    @Test func savedModelIsTheRowsModel() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-fw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let arguments = ["--formula", "breaks ~ wool + tension", "--family", "gamma"]
        let rowsModel = directory.appendingPathComponent("rows.json").path
        let countsModel = directory.appendingPathComponent("counts.json").path
        #expect(try Glmfit.run([Glmfit.example("warpbreaks.csv")] + arguments + ["--save", rowsModel]).status == 0)
        let counted = try Glmfit.run(
            [Self.fixture("warpbreaks_aggregated.csv")] + arguments + ["--frequency-weights", "n", "--save", countsModel])
        #expect(counted.status == 0, "\(counted.standardError)")
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: rowsModel)))
        let actual = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: countsModel)))
        Self.expectSame(actual, expected, path: "saved model", relative: 1e-9)
        #expect((actual as? [String: Any])?["n_obs"] as? Int == 54)
    }

    /// The two-part count models are refused: their Vuong test and counts are per row.
    @Test func twoPartModelsAreRefused() throws {
        let result = try Glmfit.run(
            [Self.fixture("quine_aggregated.csv"), "--formula", "Days ~ Eth | 1", "--family", "poisson", "--hurdle",
             "--frequency-weights", "n"])
        #expect(result.status == 64)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.contains("--frequency-weights") && result.standardError.contains("hurdle"), "\(result.standardError)")
    }

    /// Prior weights multiply the counts in the likelihood: rows with weights w, each
    /// written twice, fit as the rows written once with w and a count of 2.
    @Test func priorWeightsMultiplyTheCounts() throws {
        let lines = try String(contentsOfFile: Glmfit.example("warpbreaks.csv"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var doubled = ["breaks,wool,tension,w"]
        var counted = ["breaks,wool,tension,w,n"]
        for (index, line) in lines.dropFirst().enumerated() {
            let weight = Double(index % 5 + 1) / 2
            doubled += [line + ",\(weight)", line + ",\(weight)"]
            counted.append(line + ",\(weight),2")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-fw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let doubledPath = directory.appendingPathComponent("doubled.csv").path
        let countedPath = directory.appendingPathComponent("counted.csv").path
        try doubled.joined(separator: "\n").write(toFile: doubledPath, atomically: true, encoding: .utf8)
        try counted.joined(separator: "\n").write(toFile: countedPath, atomically: true, encoding: .utf8)
        for family in ["gaussian", "poisson", "gamma"] {
            let arguments = ["--formula", "breaks ~ wool + tension", "--family", family, "--weights", "w"]
            let expanded = try Self.json([doubledPath] + arguments)
            let aggregated = try Self.json([countedPath] + arguments + ["--frequency-weights", "n"])
            Self.expectSame(aggregated, expanded, path: "weights w, \(family)", relative: 1e-9)
        }
    }

    /// A count of 0 drops the row as a prior weight of 0 does: the fit is the fit without it.
    @Test func zeroCountsDropTheRow() throws {
        let text = "y,x,n\n1,1,2\n3,2,1\n2,3,0\n5,4,3\n4,5,1\n7,6,2\n"
        let withZero = try Glmfit.run(["-", "--formula", "y ~ x", "--frequency-weights", "n", "--format", "json"], input: Data(text.utf8))
        let without = "y,x,n\n1,1,2\n3,2,1\n5,4,3\n4,5,1\n7,6,2\n"
        let dropped = try Glmfit.run(["-", "--formula", "y ~ x", "--frequency-weights", "n", "--format", "json"], input: Data(without.utf8))
        #expect(withZero.status == 0, "\(withZero.standardError)")
        let a = try #require(try JSONSerialization.jsonObject(with: Data(withZero.standardOutput.utf8)) as? [String: Any])
        let b = try #require(try JSONSerialization.jsonObject(with: Data(dropped.standardOutput.utf8)) as? [String: Any])
        for key in ["deviance", "null_deviance", "aic", "bic", "dispersion", "df_residual", "df_null", "n_obs"] {
            Self.expectSame(a[key], b[key], path: key, relative: 1e-12)
        }
        #expect(a["n_obs"] as? Int == 9)
        #expect(a["df_residual"] as? Int == 7)
    }

    /// Counts that are not whole numbers from 0 up: status 65, the line, column and value
    /// named, nothing on standard output.
    @Test(arguments: [
        ("y,x,n\n1,1,2\n3,2,-1\n5,4,3\n", "line 3", "'-1' is negative"),
        ("y,x,n\n1,1,2\n3,2,1.5\n5,4,3\n", "line 3", "'1.5' is not a whole number"),
        ("y,x,n\n1,1,2\n3,2,1\n5,4,three\n", "line 4", "'three' is not a number"),
        ("y,x,n\n1,1,2\n3,2,NA\n5,4,3\n", "line 3", "the count is missing"),
        ("y,x,n\n1,1,2\n3,2,\n5,4,3\n", "line 3", "the count is missing"),
        ("y,x,n\n1,1,2\n3,2,Inf\n5,4,3\n", "line 3", "is too large"),
        ("y,x,n\n1,1,1e300\n3,2,1\n5,4,3\n", "line 2", "is too large"),
    ])
    func invalidCountsAreErrors(input: String, line: String, message: String) throws {
        for chunked in [false, true] {
            let result = try Glmfit.run(
                ["-", "--formula", "y ~ x", "--frequency-weights", "n"] + (chunked ? ["--chunk-rows", "2"] : []),
                input: Data(input.utf8))
            #expect(result.status == 65, "\(result.standardError)")
            #expect(result.standardOutput.isEmpty)
            #expect(result.standardError.contains("frequency weights column 'n'"), "\(result.standardError)")
            #expect(result.standardError.contains(line), "\(result.standardError)")
            #expect(result.standardError.contains(message), "\(result.standardError)")
        }
    }

    /// Models whose aggregated fit would not be the rows' fit are refused, saying why.
    @Test(arguments: [
        (["--id", "tension"], "--frequency-weights", "GEE"),
        (["--residuals", "/tmp/glmfit-fw-residuals.csv"], "--residuals", "aggregated row"),
        (["--plot", "/tmp/glmfit-fw-plot.svg"], "--plot", "aggregated row"),
    ])
    func inexactAnalysesAreRefused(options: [String], option: String, reason: String) throws {
        let result = try Glmfit.run(
            [Self.fixture("warpbreaks_aggregated.csv"), "--formula", "breaks ~ wool + tension", "--family", "poisson",
             "--frequency-weights", "n"] + options)
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.contains(option), "\(result.standardError)")
        #expect(result.standardError.contains(reason), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/glmfit-fw-residuals.csv"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/glmfit-fw-plot.svg"))
    }

    /// The DuckDB recipe of the README (Reference/frequency_weights/make_aggregates.py) run
    /// for real when duckdb is importable: the table it makes fits as the rows. Skipped
    /// otherwise; the committed aggregates are tested above either way.
    @Test func duckDBRecipeWhenAvailable() throws {
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import duckdb"]
        python.standardError = FileHandle.nullDevice
        python.standardOutput = FileHandle.nullDevice
        guard (try? python.run()) != nil else { return }
        python.waitUntilExit()
        guard python.terminationStatus == 0 else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-duckdb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let aggregate = directory.appendingPathComponent("agg.csv").path
        let query = """
            import duckdb
            duckdb.sql(\"\"\"COPY (SELECT agegp, alcgp, tobgp, "case", count(*) AS n
                FROM read_csv('\(Self.fixture("esoph_people.csv"))')
                GROUP BY ALL) TO '\(aggregate)' (HEADER)\"\"\")
            """
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        run.arguments = ["python3", "-c", query]
        try run.run()
        run.waitUntilExit()
        #expect(run.terminationStatus == 0)
        let arguments = ["--formula", "case ~ agegp + alcgp + tobgp", "--family", "binomial"]
        let rows = try Self.json([Self.fixture("esoph_people.csv")] + arguments)
        let aggregated = try Self.json([aggregate] + arguments + ["--frequency-weights", "n"])
        Self.expectSame(aggregated, rows, path: "duckdb", relative: 1e-9)
    }
}
