import Foundation
import Testing

/// Issue 23, items 2 and 7, through the binary: deep and long formulas, restrictions and
/// labels end in a message naming the limit or in a bounded report; option values and
/// formula arguments glmfit does not take are named. Each case: message, exit status,
/// nothing on standard output.
@Suite("Deep and long input, option values and arguments: message and exit status")
struct DeepInputEndToEndTests {
    static let data = "y,x,x1,x2\n1,2,0.5,3\n2,3,0.25,1\n3,5,0.75,2\n5,4,0.5,7\n4,7,1.5,5\n6,6,1.25,4\n"
    static let depthMessage = "nested deeper than 500 levels"

    static func nested(_ open: String, _ inner: String, _ close: String, _ depth: Int) -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    static let cases: [ErrorTests.Case] = [
        // Item 2: depth, each refused while parsing (SIGSEGV before).
        .init("parentheses_30000", csv: data, ["-f", "y ~ " + nested("(", "x", ")", 30_000)], status: 64, depthMessage),
        .init("identity_calls_30000", csv: data, ["-f", "y ~ " + nested("I(", "x", ")", 30_000)], status: 64, depthMessage),
        .init("unary_minus_100000", csv: data, ["-f", "y ~ " + String(repeating: "-", count: 100_000) + "x"], status: 64,
              depthMessage),
        .init("sum_of_30000_inside_I", csv: data,
              ["-f", "y ~ I(" + Array(repeating: "x", count: 30_000).joined(separator: "+") + ")"], status: 64, depthMessage),
        .init("deep_response", csv: data, ["-f", nested("(", "y", ")", 5_000) + " ~ x"], status: 64, depthMessage),
        .init("deep_compare", csv: data, ["-f", "y ~ x + x1", "--compare", "y ~ " + nested("(", "x", ")", 30_000)],
              status: 64, depthMessage),
        .init("deep_wald_parentheses", csv: data, ["-f", "y ~ x + x1", "--wald", nested("(", "x1", ")", 30_000)],
              status: 64, "nested deeper than 500 levels of parentheses and signs"),
        // (`--wald=...`: swift-argument-parser reads any separate argument starting "--" as an option.)
        .init("deep_wald_signs", csv: data, ["-f", "y ~ x + x1", "--wald=" + String(repeating: "-", count: 100_000) + "x1"],
              status: 64, "nested deeper than 500 levels of parentheses and signs"),
        // Item 2: a long name is elided where a message echoes it.
        .init("long_unknown_name", csv: data, ["-f", "y ~ " + String(repeating: "q", count: 5_000)], status: 64,
              "no column named '" + String(repeating: "q", count: 200) + "…(5,000 characters)' in the data"),
        // Item 7: negative option values reach glmfit's own checks.
        .init("negative_epsilon", csv: data, ["-f", "y ~ x", "--epsilon", "-1"], status: 64,
              "--epsilon: must be a positive number (got -1.0)"),
        .init("negative_theta", csv: data, ["-f", "y ~ x", "--family", "negative-binomial", "--theta", "-1"], status: 64,
              "--theta: must be a positive number (got -1.0)"),
        .init("negative_chunk_rows", csv: data, ["-f", "y ~ x", "--chunk-rows", "-5"], status: 64,
              "--chunk-rows: must be at least 1 (got -5)"),
        .init("negative_conf_level", csv: data, ["-f", "y ~ x", "--conf-level", "-0.5"], status: 64,
              "--conf-level: must be between 0 and 1, exclusive (got -0.5)"),
        .init("negative_maxit", csv: data, ["-f", "y ~ x", "--maxit", "-3"], status: 64, "--maxit: must be at least 1 (got -3)"),
        // Item 7: a non-finite number in a restriction.
        .init("wald_infinite_multiplier", csv: data, ["-f", "y ~ x + x1", "--wald", "1e400*x1 = 0"], status: 64,
              "invalid restriction '1e400*x1 = 0': the number 1e400 is not finite"),
        .init("wald_infinite_constant", csv: data, ["-f", "y ~ x + x1", "--wald", "x1 = 1e999"], status: 64,
              "the number 1e999 is not finite"),
        .init("wald_overflowing_product", csv: data, ["-f", "y ~ x + x1", "--wald", "1e300*1e300*x1 = 0"], status: 64,
              "the multiplier of 'x1' is not finite"),
        // Item 7: every missing column, in formula order.
        .init("several_missing_columns", csv: data, ["-f", "y ~ q1 + offset(q2) + log(q3) + x"], status: 64,
              "3 names in the formula are not columns of the data: 'q1' (did you mean 'x1'"),
        // Item 7: named arguments are named.
        .init("sqrt_base_argument", csv: data, ["-f", "y ~ sqrt(x, base = 2)"], status: 64,
              "sqrt(): argument 'base' is not supported"),
        .init("poly_coefs_argument", csv: data, ["-f", "y ~ poly(x, 2, coefs = 1)"], status: 64,
              "poly(): argument 'coefs' is not supported"),
        .init("argument_in_response", csv: data, ["-f", "sqrt(y, base = 10) ~ x"], status: 64,
              "sqrt(): argument 'base' is not supported"),
    ]

    @Test(arguments: cases)
    func failsClearly(_ item: ErrorTests.Case) throws {
        try ErrorTests().failsClearly(item)
    }

    /// `glmfit predict --conf-level -0.5` reaches predict's own check too.
    @Test func predictNamesANegativeConfidenceLevel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-predict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data.csv")
        let model = folder.appendingPathComponent("model.json")
        try Data(Self.data.utf8).write(to: data)
        let fit = try Glmfit.run([data.path, "-f", "y ~ x", "--save", model.path])
        #expect(fit.status == 0, "\(fit.standardError)")
        let result = try Glmfit.run(["predict", model.path, data.path, "--interval", "confidence", "--conf-level", "-0.5"])
        #expect(result.status == 64)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError == "glmfit: error: --conf-level: must be between 0 and 1, exclusive (got -0.5)\n")
    }

    /// The order of the missing names is the formula's, the same on every run (it was a
    /// Set's order, which varies with the process's hash seed).
    @Test func missingColumnsInFormulaOrder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-deep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("data.csv")
        try Data(Self.data.utf8).write(to: file)
        for _ in 0..<4 {
            let result = try Glmfit.run([file.path, "-f", "y ~ zz3 + x + zz1 + zz2:x"])
            #expect(result.status == 64)
            #expect(result.standardOutput.isEmpty)
            let message = result.standardError
            let positions = ["'zz3'", "'zz1'", "'zz2'"].compactMap { message.range(of: $0)?.lowerBound }
            #expect(positions.count == 3 && positions == positions.sorted(), "\(message)")
        }
    }

    /// `y ~ x1 + ... + x5000` written out fits as far as the rows allow, and fast: the
    /// design stage was quadratic in the number of terms (22-29 s on 5,000 columns).
    @Test func longGeneratedFormulaReachesTheRowCheckFast() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-wide-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let columns = 5_000
        var text = "y," + (1...columns).map { "x\($0)" }.joined(separator: ",") + "\n"
        for row in 0..<20 {
            text += (0...columns).map { String(($0 * 7 + row * 13) % 10) }.joined(separator: ",") + "\n"
        }
        let file = folder.appendingPathComponent("wide.csv")
        try Data(text.utf8).write(to: file)
        let formula = "y ~ " + (1...columns).map { "x\($0)" }.joined(separator: " + ")
        for arguments in [["-f", formula], ["-f", "y ~ ."]] {
            let start = Date()
            let result = try Glmfit.run([file.path] + arguments)
            let seconds = Date().timeIntervalSince(start)
            #expect(result.status == 65)
            #expect(result.standardOutput.isEmpty)
            #expect(result.standardError.contains("20 observations are too few to estimate 5001 coefficients"))
            #expect(seconds < 10, "took \(seconds) s")
        }
        // Enough rows for a long written-out formula: it fits, with every term named.
        let rows = 60
        let narrow = 40
        var small = "y," + (1...narrow).map { "x\($0)" }.joined(separator: ",") + "\n"
        var state: UInt64 = 7
        for _ in 0..<rows {
            let fields = (0...narrow).map { _ -> String in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return String(Double(state >> 33) / Double(1 << 31))
            }
            small += fields.joined(separator: ",") + "\n"
        }
        let smallFile = folder.appendingPathComponent("narrow.csv")
        try Data(small.utf8).write(to: smallFile)
        let result = try Glmfit.run([smallFile.path, "-f", "y ~ " + (1...narrow).map { "x\($0)" }.joined(separator: " + "),
                                     "--format", "csv"])
        #expect(result.status == 0, "\(result.standardError)")
        let terms = result.standardOutput.split(separator: "\n").dropFirst().map { $0.split(separator: ",").first.map(String.init) }
        #expect(terms == ["(Intercept)"] + (1...narrow).map { "x\($0)" })
    }

    /// A 100,000-character factor level: the text and CSV reports print its first 200
    /// characters and its length; JSON keeps it whole.
    @Test func longLevelIsElidedInTextAndCSVButNotJSON() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-label-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Sorted after "a" (byte order), so that it is a coefficient's level, not the reference.
        let level = String(repeating: "z", count: 100_000)
        var text = "y,x,g\n"
        for row in 0..<12 { text += "\(row % 5 + row / 3),\(row),\(row % 2 == 0 ? "a" : level)\n" }
        let file = folder.appendingPathComponent("labels.csv")
        try Data(text.utf8).write(to: file)
        let shown = "g" + String(repeating: "z", count: 199) + "…(100,001 characters)"
        for format in ["text", "csv"] {
            let result = try Glmfit.run([file.path, "-f", "y ~ x + g", "--format", format])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains(shown))
            #expect(!result.standardOutput.contains(level))
            #expect(result.standardOutput.utf8.count < 10_000)
        }
        let json = try Glmfit.run([file.path, "-f", "y ~ x + g", "--format", "json"])
        #expect(json.status == 0)
        #expect(json.standardOutput.contains("\"g" + level + "\""))
    }
}
