import Foundation
import Testing

/// `--save` of zero-inflated and hurdle fits and `glmfit predict --type response|zero|count`
/// from the saved file, against R's `predict(fit, newdata, type = ...)` of pscl's fits
/// (Tests/GLMCoreTests/Reference/countmodels_reference.json, made by
/// make_countmodels_reference.R), and the model files and options predict refuses.
@Suite("Zero-inflated and hurdle --save and predict end to end")
struct CountModelPredictEndToEndTests {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let kind: String
        let file: String
        let formula: String
        let family: String
        let zero_link: String
        let weights: String?
        let newdata: String?
        let response: [Double]?
        let zero: [Double]?
        let count: [Double]?
        var testDescription: String { name }

        var fitArguments: [String] {
            let path = file.contains("/") ? file : "Examples/" + file
            return [path, "--family", family == "negbin" ? "negative-binomial" : family,
                    kind == "hurdle" ? "--hurdle" : "--zero-inflated", "--zero-link", zero_link, "--formula", formula]
                + (weights.map { ["--weights", $0] } ?? [])
        }
    }

    static let cases: [Case] = {
        struct Document: Decodable { let cases: [Case] }
        let url = Glmfit.repositoryRoot.appendingPathComponent("Tests/GLMCoreTests/Reference/countmodels_reference.json")
        guard let data = try? Data(contentsOf: url), let document = try? JSONDecoder().decode(Document.self, from: data) else {
            return []
        }
        return document.cases.filter { $0.newdata != nil }
    }()

    static let newBiochemists = "Tests/GLMCoreTests/Reference/countmodel_data/biochemists_new.csv"

    private func scratchPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-cmpredict-\(UUID().uuidString)-\(name)").path
    }

    /// Fits and saves; the report on stdout as without --save.
    private func save(_ arguments: [String]) throws -> String {
        let model = scratchPath("model.json")
        let result = try Glmfit.run(arguments + ["--save", model])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(!result.standardOutput.isEmpty)
        return model
    }

    /// The `fit` column of predict's output.
    private func fitColumn(_ output: String) throws -> [Double] {
        let lines = output.split(separator: "\n")
        let header = try #require(lines.first).split(separator: ",", omittingEmptySubsequences: false)
        let column = try #require(header.firstIndex(of: "fit"))
        return try lines.dropFirst().map { line in
            try #require(Double(String(line.split(separator: ",", omittingEmptySubsequences: false)[column])))
        }
    }

    @Test func referenceCoversEveryDistributionAndKind() {
        let covered = Set(CountModelPredictEndToEndTests.cases.filter { $0.file.hasPrefix("biochemists") }.map { "\($0.kind) \($0.family)" })
        for kind in ["zero-inflated", "hurdle"] {
            for family in ["poisson", "negbin", "geometric"] {
                #expect(covered.contains("\(kind) \(family)"), "no bioChemists predict reference for \(kind) \(family)")
            }
        }
        // A separate zero formula and a weighted fit among them.
        #expect(CountModelPredictEndToEndTests.cases.contains { $0.formula.contains("|") })
        #expect(CountModelPredictEndToEndTests.cases.contains { $0.weights != nil })
    }

    /// save → predict for each type gives R's predict(type = ...) to 1e-6 relative (the
    /// tolerance of the in-process prediction test: pscl's estimates stop at reltol, glmfit's
    /// at the exact maximum).
    @Test(arguments: CountModelPredictEndToEndTests.cases)
    func savedModelPredictsAsR(_ reference: Case) throws {
        let model = try save(reference.fitArguments)
        defer { try? FileManager.default.removeItem(atPath: model) }
        let newdata = "Tests/GLMCoreTests/Reference/countmodel_data/" + (reference.newdata ?? "")
        let expected: [(String, [Double]?)] = [("response", reference.response), ("zero", reference.zero), ("count", reference.count)]
        for (type, values) in expected {
            let want = try #require(values)
            let result = try Glmfit.run(["predict", model, newdata, "--type", type])
            #expect(result.status == 0, "\(type): \(result.standardError)")
            let got = try fitColumn(result.standardOutput)
            #expect(got.count == want.count)
            for (row, (a, b)) in zip(got, want).enumerated() {
                #expect(abs(a - b) <= 1e-6 * abs(b), "\(reference.name) --type \(type) row \(row + 1): \(a) vs R \(b)")
            }
        }
        // Without --type: the expected count, pscl's default.
        let plain = try Glmfit.run(["predict", model, newdata])
        #expect(try fitColumn(plain.standardOutput) == fitColumn(try Glmfit.run(["predict", model, newdata, "--type", "response"]).standardOutput))
    }

    /// The model file names the kind, the distribution, the zero link and holds the zero
    /// part as a binomial GLM of its own (format version 2, which older glmfits refuse).
    @Test func modelFileLayout() throws {
        let model = try save([
            "Examples/biochemists.csv", "--family", "negative-binomial", "--hurdle", "--zero-link", "cloglog",
            "--formula", "art ~ fem + kid5 + ment | ment",
        ])
        defer { try? FileManager.default.removeItem(atPath: model) }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as? [String: Any])
        #expect(object["model"] as? String == "hurdle")
        #expect(object["format_version"] as? Int == 2)
        #expect(object["family"] as? String == "negative-binomial")
        #expect(object["formula"] as? String == "art ~ fem + kid5 + ment | ment")
        let twoPart = try #require(object["two_part"] as? [String: Any])
        #expect(twoPart["distribution"] as? String == "negbin")
        #expect(twoPart["zero_link"] as? String == "cloglog")
        let theta = try #require(twoPart["theta"] as? Double)
        #expect(object["theta"] as? Double == theta)
        let zero = try #require(twoPart["zero"] as? [String: Any])
        #expect(zero["family"] as? String == "binomial")
        #expect(zero["link"] as? String == "cloglog")
        let zeroNames = (zero["coefficients"] as? [[String: Any]] ?? []).map { $0["name"] as? String }
        #expect(zeroNames == ["(Intercept)", "ment"])
        let countNames = (object["coefficients"] as? [[String: Any]] ?? []).map { $0["name"] as? String }
        #expect(countNames == ["(Intercept)", "femWomen", "kid5", "ment"])
    }

    /// Each part reads only its own columns, and new data needs the columns of both.
    @Test func newDataNeedsTheColumnsOfBothParts() throws {
        let model = try save([
            "Examples/biochemists.csv", "--family", "poisson", "--zero-inflated", "--formula", "art ~ fem + kid5 | ment",
        ])
        defer { try? FileManager.default.removeItem(atPath: model) }
        let onlyCount = scratchPath("count-only.csv")
        try Data("fem,kid5\nMen,0\n".utf8).write(to: URL(fileURLWithPath: onlyCount))
        defer { try? FileManager.default.removeItem(atPath: onlyCount) }
        let result = try Glmfit.run(["predict", model, onlyCount])
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.contains("'ment'"), "\(result.standardError)")

        let missingZeroValue = scratchPath("na.csv")
        try Data("fem,kid5,ment\nMen,0,3\nWomen,1,NA\n".utf8).write(to: URL(fileURLWithPath: missingZeroValue))
        defer { try? FileManager.default.removeItem(atPath: missingZeroValue) }
        let failing = try Glmfit.run(["predict", model, missingZeroValue])
        #expect(failing.status == 65, "\(failing.standardError)")
        #expect(failing.standardOutput.isEmpty)
        #expect(failing.standardError.contains("line 3"), "\(failing.standardError)")
        let passing = try Glmfit.run(["predict", model, missingZeroValue, "--na", "pass"])
        #expect(passing.status == 0, "\(passing.standardError)")
        #expect(passing.standardOutput.hasSuffix("Women,1,NA,\n"), "\(passing.standardOutput)")
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        /// Arguments after `predict MODEL NEWDATA`.
        let arguments: [String]
        /// Fit arguments; nil: the zero-inflated model.
        let fit: [String]?
        let message: String
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(name: "link_for_zero_inflated", arguments: ["--type", "link"], fit: nil,
                message: "--type: a zero-inflated model predicts --type response (the expected count), zero or count"),
        Refusal(name: "probs_for_zero_inflated", arguments: ["--type", "probs"], fit: nil,
                message: "--type: a zero-inflated model predicts --type response"),
        Refusal(name: "se_for_zero_inflated", arguments: ["--type", "zero", "--se"], fit: nil,
                message: "--se: is not available for a zero-inflated model's predictions"),
        Refusal(name: "interval_for_hurdle", arguments: ["--interval", "confidence"],
                fit: ["Examples/biochemists.csv", "--family", "poisson", "--hurdle", "-f", "art ~ ment"],
                message: "--interval: is not available for a hurdle model's predictions"),
        Refusal(name: "zero_for_glm", arguments: ["--type", "zero"],
                fit: ["Examples/biochemists.csv", "--family", "poisson", "-f", "art ~ ment"],
                message: "--type: zero is for zero-inflated and hurdle models; a GLM predicts link or response"),
        Refusal(name: "count_for_multinomial", arguments: ["--type", "count"],
                fit: ["Examples/biochemists.csv", "--family", "multinomial", "-f", "fem ~ ment"],
                message: "--type: count is for zero-inflated and hurdle models; a multinomial model predicts probs or class"),
    ]

    @Test(arguments: refusals)
    func predictRefusesATypeTheKindDoesNotHave(_ refusal: Refusal) throws {
        let model = try save(refusal.fit ?? [
            "Examples/biochemists.csv", "--family", "poisson", "--zero-inflated", "-f", "art ~ fem + ment | ment",
        ])
        defer { try? FileManager.default.removeItem(atPath: model) }
        let result = try Glmfit.run(["predict", model, CountModelPredictEndToEndTests.newBiochemists] + refusal.arguments)
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.contains(refusal.message), "\(result.standardError)")
    }

    /// A hand-edited model file whose parts do not agree is refused (65), naming the fault.
    @Test func inconsistentModelFilesAreRefused() throws {
        let model = try save([
            "Examples/biochemists.csv", "--family", "geometric", "--hurdle", "-f", "art ~ fem + ment | ment",
        ])
        defer { try? FileManager.default.removeItem(atPath: model) }
        let text = try String(contentsOfFile: model, encoding: .utf8)
        let edits: [(String, String, String)] = [
            ("\"distribution\": \"geometric\"", "\"distribution\": \"weibull\"", "needs a 'distribution'"),
            ("\"zero_link\": \"logit\"", "\"zero_link\": \"probit\"", "binomial model with the zero link 'probit'"),
            ("\"model\": \"hurdle\"", "\"model\": \"hurdles\"", "unknown model kind 'hurdles'"),
            ("\"two_part\":", "\"two_parts\":", "member 'two_part' is missing"),
        ]
        for (from, to, message) in edits {
            #expect(text.contains(from), "the saved file has no \(from)")
            let edited = scratchPath("edited.json")
            try Data(text.replacingOccurrences(of: from, with: to).utf8).write(to: URL(fileURLWithPath: edited))
            defer { try? FileManager.default.removeItem(atPath: edited) }
            let result = try Glmfit.run(["predict", edited, CountModelPredictEndToEndTests.newBiochemists])
            #expect(result.status == 65, "\(to): \(result.standardError)")
            #expect(result.standardOutput.isEmpty)
            #expect(result.standardError.contains(message), "\(to): \(result.standardError)")
        }
    }
}
