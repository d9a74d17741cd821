import Foundation
import Testing

/// Level order as R's in the same environment, said out loud, and `--ref` (issue 24):
/// the binary run under explicit collation environments against R's fits of the same
/// models (Tests/glmfitTests/Reference/make_collation_reference.R).
@Suite("Level order, reference levels and --ref")
struct CollationEndToEndTests {
    /// The environment of each of R's runs, for glmfit. R's en_US.UTF-8 run used a compiled
    /// en_US.UTF-8 locale; glmfit gets the same ICU collator from R_ICU_LOCALE, which needs
    /// no locale installed (a test must not depend on the machine's locales).
    static let environments: [String: [String: String]] = [
        "C": ["LC_ALL": "C"],
        "C.UTF-8": ["LC_ALL": "C.UTF-8"],
        "en_US.UTF-8": ["LC_ALL": "C.UTF-8", "R_ICU_LOCALE": "en_US"],
    ]

    struct Fit: Decodable, Sendable, CustomTestStringConvertible {
        struct Factor: Decodable, Sendable {
            let variable: String
            let levels: [String]
        }

        let id: String
        let collation: String
        let data: String
        let formula: String
        let family: String
        let ref: [String]
        let coef_names: [String]
        let coefficients: [Double?]
        let std_errors: [Double?]
        let deviance: Double
        let aic: Double
        let factors: [Factor]
        let response_levels: [String]?

        var testDescription: String { "\(id) under \(collation)" }
    }

    struct ReferenceFile: Decodable {
        let fits: [Fit]
    }

    static let fits: [Fit] = {
        let url = Glmfit.repositoryRoot.appendingPathComponent("Tests/glmfitTests/Reference/collation_reference.json")
        guard let data = try? Data(contentsOf: url),
              let file = try? JSONDecoder().decode(ReferenceFile.self, from: data) else { return [] }
        return file.fits
    }()

    static func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    @Test func referenceFileIsRead() {
        #expect(Self.fits.count == 36)
    }

    @Test(arguments: fits)
    func matchesR(_ fit: Fit) throws {
        let environment = try #require(Self.environments[fit.collation])
        let arguments = [fit.data, "--formula", fit.formula, "--family", fit.family, "--format", "json"]
            + fit.ref.flatMap { ["--ref", $0] }
        let result = try Glmfit.run(arguments, locale: environment)
        #expect(result.status == 0, "\(result.standardError)")
        let output = try #require(Self.json(result.standardOutput))
        let coefficients = try #require(output["coefficients"] as? [[String: Any]])
        #expect(coefficients.map { $0["term"] as? String } == fit.coef_names)
        for (index, row) in coefficients.enumerated() where index < fit.coef_names.count {
            for (key, expected) in [("estimate", fit.coefficients[index]), ("std_error", fit.std_errors[index])] {
                let actual = row[key] as? Double
                if let expected, let actual {
                    #expect(abs(actual - expected) <= 1e-6 * abs(expected), "\(fit.coef_names[index]) \(key)")
                } else {
                    #expect(actual == nil && expected == nil, "\(fit.coef_names[index]) \(key)")
                }
            }
        }
        let deviance = try #require(output["deviance"] as? Double)
        let aic = try #require(output["aic"] as? Double)
        #expect(abs(deviance - fit.deviance) <= 1e-8 * abs(fit.deviance))
        #expect(abs(aic - fit.aic) <= 1e-8 * abs(fit.aic))

        // Each factor's levels in R's order; the first is the reference.
        let factors = try #require(output["factors"] as? [[String: Any]])
        #expect(factors.map { $0["variable"] as? String } == fit.factors.map(\.variable))
        #expect(factors.map { $0["levels"] as? [String] } == fit.factors.map(\.levels))
        #expect(factors.map { $0["reference"] as? String } == fit.factors.map(\.levels.first))
        #expect(factors.allSatisfy { $0["contrasts"] as? String == "contr.treatment" })
        if let levels = fit.response_levels {
            let response = try #require(output["response_levels"] as? [String: Any])
            #expect(response["levels"] as? [String] == levels)
            #expect(response["failure"] as? String == levels.first)
            #expect(response["success"] as? [String] == Array(levels.dropFirst()))
        } else {
            #expect(output["response_levels"] is NSNull)
        }
    }

    /// Cars93's `Origin ~ Price + MPG.city`: the text report says which level is modelled,
    /// and it is the one R models in that environment.
    @Test func textReportSaysWhatIsModelled() throws {
        let arguments = ["Examples/cars93.csv", "--formula", "Origin ~ Price + MPG.city + Type", "--family", "binomial"]
        let icu = try Glmfit.run(arguments, locale: ["LC_ALL": "C.UTF-8"])
        #expect(icu.status == 0)
        #expect(icu.standardOutput.contains("\nReference levels: Type = Compact\nResponse: Origin, modelling P(Origin = USA)\n"))
        let bytes = try Glmfit.run(arguments, locale: ["LC_ALL": "C"])
        #expect(bytes.standardOutput.contains("\nReference levels: Type = Compact\nResponse: Origin, modelling P(Origin = non-USA)\n"))
        let releveled = try Glmfit.run(arguments + ["--ref", "Origin=USA", "--ref", "Type=Van"], locale: ["LC_ALL": "C.UTF-8"])
        #expect(releveled.standardOutput.contains("\nReference levels: Type = Van\nResponse: Origin, modelling P(Origin = non-USA)\n"))
        // More than two levels: every level but the first is a success.
        let type = try Glmfit.run(["Examples/cars93.csv", "--formula", "Type ~ Price", "--family", "binomial"],
                                  locale: ["LC_ALL": "C.UTF-8"])
        #expect(type.standardOutput.contains("\nResponse: Type, modelling P(Type != Compact)\n"))
        // Without an intercept the first factor has a column for every level.
        let noIntercept = try Glmfit.run(["Examples/cars93.csv", "--formula", "Price ~ 0 + Type + Origin"],
                                         locale: ["LC_ALL": "C.UTF-8"])
        #expect(noIntercept.standardOutput.contains(
            "\nReference levels: Type = none (every level has a column); Origin = non-USA\n"))
    }

    /// The locale rule: LC_ALL over LC_COLLATE over LANG; C and POSIX are byte order, and a
    /// locale the machine cannot load is C (as R falls back to C).
    @Test func environmentDecidesTheOrder() throws {
        let arguments = ["Examples/cars93.csv", "--formula", "Origin ~ Price", "--family", "binomial", "--format", "json"]
        func response(_ locale: [String: String]) throws -> [String]? {
            let result = try Glmfit.run(arguments, locale: locale)
            return (Self.json(result.standardOutput)?["response_levels"] as? [String: Any])?["levels"] as? [String]
        }
        let icu = ["non-USA", "USA"], bytes = ["USA", "non-USA"]
        #expect(try response(["LANG": "C.UTF-8"]) == icu)
        #expect(try response(["LANG": "C.UTF-8", "LC_COLLATE": "C"]) == bytes)
        #expect(try response(["LC_ALL": "C.UTF-8", "LC_COLLATE": "C"]) == icu)
        #expect(try response(["LANG": "POSIX"]) == bytes)
        #expect(try response([:]) == bytes)
        #expect(try response(["LC_ALL": "C", "R_ICU_LOCALE": "en_US"]) == bytes)
        #expect(try response(["LC_ALL": "xx_NOWHERE.UTF-8"]) == bytes)
    }

    /// A saved model keeps the order it was fitted with: predictions do not depend on the
    /// locale predict runs in.
    @Test func savedModelKeepsItsOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-collation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.appendingPathComponent("model.json").path
        let fit = try Glmfit.run(
            ["Examples/mtcars_labels.csv", "--formula", "engine ~ mpg + cylinders", "--family", "binomial", "--save", model],
            locale: ["LC_ALL": "C.UTF-8"])
        #expect(fit.status == 0)
        let saved = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as? [String: Any])
        let variables = try #require(saved["variables"] as? [[String: Any]])
        let cylinders = variables.first { $0["label"] as? String == "cylinders" }
        #expect(cylinders?["levels"] as? [String] == ["<6 cyl", "≥8 cyl", "6 cyl"])
        let predict = ["predict", model, "Examples/mtcars_labels.csv", "--type", "response"]
        let underICU = try Glmfit.run(predict, locale: ["LC_ALL": "C.UTF-8"])
        let underC = try Glmfit.run(predict, locale: ["LC_ALL": "C"])
        #expect(underICU.status == 0)
        #expect(!underICU.standardOutput.isEmpty)
        #expect(underC.standardOutput == underICU.standardOutput)
        // And they are the fit's own fitted values (P(engine = V-shaped)), not the C order's.
        let report = try Glmfit.run(
            ["Examples/mtcars_labels.csv", "--formula", "engine ~ mpg + cylinders", "--family", "binomial", "--format", "json"],
            locale: ["LC_ALL": "C"])
        let response = (Self.json(report.standardOutput)?["response_levels"] as? [String: Any])?["levels"] as? [String]
        #expect(response == ["V-shaped", "straight"])
    }

    /// `--chunk-rows` orders the levels as the in-memory fit does, and applies --ref.
    @Test func chunkedFitUsesTheSameOrder() throws {
        let arguments = ["Examples/cars93.csv", "--formula", "Price ~ Type + AirBags + Origin", "--format", "csv",
                         "--ref", "AirBags=None"]
        let memory = try Glmfit.run(arguments, locale: ["LC_ALL": "C.UTF-8"])
        let chunked = try Glmfit.run(arguments + ["--chunk-rows", "10"], locale: ["LC_ALL": "C.UTF-8"])
        #expect(memory.status == 0)
        #expect(chunked.status == 0)
        let terms = { (text: String) in text.split(separator: "\n").map { $0.split(separator: ",").first.map(String.init) ?? "" } }
        #expect(terms(chunked.standardOutput) == terms(memory.standardOutput))
        #expect(terms(memory.standardOutput).contains("AirBagsDriver only"))
        #expect(terms(memory.standardOutput).contains("OriginUSA"))
    }

    /// A text binomial response read in chunks: a chunk without the input's first level
    /// must not count its own first level as failure (the null deviance's mean).
    @Test func chunkedTextResponse() throws {
        for extra in [[], ["--ref", "Origin=USA"]] {
            let arguments = ["Examples/cars93.csv", "--formula", "Origin ~ Price", "--family", "binomial", "--format", "json"] + extra
            let memory = Self.json(try Glmfit.run(arguments, locale: ["LC_ALL": "C.UTF-8"]).standardOutput)
            let chunked = Self.json(try Glmfit.run(arguments + ["--chunk-rows", "3"], locale: ["LC_ALL": "C.UTF-8"]).standardOutput)
            let memoryNull = try #require(memory?["null_deviance"] as? Double)
            let chunkedNull = try #require(chunked?["null_deviance"] as? Double)
            #expect(abs(chunkedNull - memoryNull) <= 1e-10 * memoryNull, "\(extra)")
            #expect((chunked?["response_levels"] as? [String: Any])?["levels"] as? [String]
                    == (memory?["response_levels"] as? [String: Any])?["levels"] as? [String])
        }
    }

    @Test(arguments: [
        (["--ref", "Origni=USA"], "glmfit: error: --ref: no column named 'Origni' in the data; did you mean 'Origin'?"),
        (["--ref", "Price=10"], "glmfit: error: --ref: 'Price' is not a factor of the model; write factor(Price) in the formula to make it one"),
        (["--ref", "Make=Acura Integra"], "glmfit: error: --ref: 'Make' is not in the formula"),
        (["--ref", "Origin=usa"], "glmfit: error: --ref: column 'Origin' has no level 'usa'; its levels are: non-USA, USA"),
        (["--ref", "Origin"], "glmfit: error: --ref: expected COLUMN=LEVEL (got 'Origin')"),
        (["--ref", "Origin=USA", "--ref", "Origin=non-USA"],
         "glmfit: error: --ref: column 'Origin' is given two reference levels, 'USA' and 'non-USA'"),
    ])
    func refErrors(_ extra: [String], _ message: String) throws {
        let result = try Glmfit.run(
            ["Examples/cars93.csv", "--formula", "Origin ~ Price + Type", "--family", "binomial"] + extra,
            locale: ["LC_ALL": "C.UTF-8"])
        #expect(result.status == 64)
        #expect(result.standardOutput == "")
        #expect(result.standardError == message + "\n")
    }

    /// A GEE fit says the same and takes --ref too.
    @Test func geeReportsAndReleveling() throws {
        let arguments = ["Examples/ohio.csv", "--formula", "resp ~ age + factor(smoke)", "--family", "binomial", "--id", "id"]
        let plain = try Glmfit.run(arguments, locale: ["LC_ALL": "C.UTF-8"])
        #expect(plain.standardOutput.contains("\nReference levels: factor(smoke) = 0\n"))
        let releveled = try Glmfit.run(arguments + ["--ref", "smoke=1", "--format", "json"], locale: ["LC_ALL": "C.UTF-8"])
        #expect(releveled.status == 0)
        let output = try #require(Self.json(releveled.standardOutput))
        let factors = output["factors"] as? [[String: Any]]
        #expect(factors?.map { $0["reference"] as? String } == ["1"])
        #expect(factors?.map { $0["levels"] as? [String] } == [["1", "0"]])
        #expect(output["response_levels"] is NSNull)
        let terms = (output["coefficients"] as? [[String: Any]])?.map { $0["term"] as? String }
        #expect(terms == ["(Intercept)", "age", "factor(smoke)0"])
    }

    @Test func refOnALogicalColumnIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-collation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("logical.csv").path
        try Data("y,flag\n1,TRUE\n2,FALSE\n4,TRUE\n3,FALSE\n".utf8).write(to: URL(fileURLWithPath: path))
        let result = try Glmfit.run([path, "--formula", "y ~ flag", "--ref", "flag=TRUE"])
        #expect(result.status == 64)
        #expect(result.standardOutput == "")
        #expect(result.standardError.hasPrefix("glmfit: error: --ref: 'flag' is a logical column"))
        // A logical response is 0/1 by R's coding; the report says which is which.
        let gaussian = try Glmfit.run([path, "--formula", "flag ~ y"])
        #expect(gaussian.standardOutput.contains("\nResponse: flag, coded 0 for FALSE and 1 for TRUE\n"))
        let binomial = try Glmfit.run([path, "--formula", "flag ~ y", "--family", "binomial"])
        #expect(binomial.standardOutput.contains("\nResponse: flag, modelling P(flag = TRUE)\n"))
    }
}
