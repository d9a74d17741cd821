import Foundation
import Testing

@Suite("The glmfit binary, end to end")
struct EndToEndTests {
    let dobsonArguments = ["Examples/dobson.csv", "--family", "poisson", "--formula", "counts ~ outcome + treatment"]

    @Test func fitsAFileAsTheGoldenReport() throws {
        let result = try Glmfit.run(dobsonArguments)
        #expect(result.status == 0)
        #expect(result.standardError == "")
        let golden = try String(
            contentsOf: Glmfit.repositoryRoot.appendingPathComponent("Tests/glmfitTests/Golden/dobson_poisson.txt"),
            encoding: .utf8)
        // An estimate that is zero in exact arithmetic (Dobson's treatment effects) prints as
        // rounding noise whose digits and sign (a minus or a pad) depend on the BLAS kernels the CPU gets.
        let noise = /[ -]?\d\.\d+e-(1[3-9]|[2-9]\d|\d{3})/
        #expect(result.standardOutput.replacing(noise, with: " ≈0") == golden.replacing(noise, with: " ≈0"))
    }

    @Test func readsStandardInput() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Glmfit.example("dobson.csv")))
        var arguments = dobsonArguments
        arguments[0] = "-"
        let fromStdin = try Glmfit.run(arguments, input: data)
        let fromFile = try Glmfit.run(dobsonArguments)
        #expect(fromStdin.status == 0)
        #expect(fromStdin.standardOutput == fromFile.standardOutput.replacingOccurrences(of: "data = Examples/dobson.csv", with: "data = stdin"))
    }

    @Test func writesTheJSONContract() throws {
        let result = try Glmfit.run(dobsonArguments + ["--format", "json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        for key in ["formula", "family", "link", "n_obs", "n_dropped", "df_residual", "df_null", "converged", "iterations",
                    "dispersion", "deviance", "null_deviance", "aic", "bic", "log_likelihood", "conf_level", "ci_method",
                    "coefficients", "vcov", "warnings"] {
            #expect(object[key] != nil, "missing key \(key)")
        }
        #expect(object["family"] as? String == "poisson")
        #expect(object["n_obs"] as? Int == 9)
        let deviance = try #require(object["deviance"] as? Double)
        #expect(abs(deviance - 5.1291410770011461) < 1e-12)
        let coefficients = try #require(object["coefficients"] as? [[String: Any]])
        #expect(coefficients.map { $0["term"] as? String } == ["(Intercept)", "outcomeo2", "outcomeo3", "treatmentt2", "treatmentt3"])
        let first = coefficients[0]
        for key in ["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high", "exp_estimate", "exp_conf_low", "exp_conf_high"] {
            #expect(first[key] is Double, "coefficient key \(key)")
        }
    }

    @Test func writesOneCSVRowPerCoefficient() throws {
        let result = try Glmfit.run(dobsonArguments + ["--format", "csv"])
        #expect(result.status == 0)
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines.first == "term,estimate,std_error,statistic,p_value,conf_low,conf_high,exp_estimate,exp_conf_low,exp_conf_high")
        #expect(lines[1].hasPrefix("(Intercept),3.04452243772342"))
    }

    @Test func aliasedCoefficientIsNullInJSON() throws {
        let result = try Glmfit.run(["Examples/cats.csv", "--formula", "Hwt ~ Bwt + I(2*Bwt) + Sex", "--format", "json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let coefficients = try #require(object["coefficients"] as? [[String: Any]])
        let aliased = try #require(coefficients.first { $0["term"] as? String == "I(2 * Bwt)" })
        #expect(aliased["estimate"] is NSNull)
        #expect(aliased["std_error"] is NSNull)
    }

    @Test func helpListsFamiliesLinksFormatsAndExamples() throws {
        let result = try Glmfit.run(["--help"])
        #expect(result.status == 0)
        for word in ["gaussian", "binomial", "poisson", "gamma", "inverse-gaussian", "quasipoisson", "quasibinomial",
                     "identity", "logit", "probit", "cloglog", "cauchit", "inverse", "1/mu^2", "sqrt",
                     "text", "json", "csv", "EXAMPLES", "glmfit Examples/dobson.csv"] {
            #expect(result.standardOutput.contains(word), "help lacks \(word)")
        }
    }

    @Test func missingFileExits66WithNothingOnStandardOutput() throws {
        let result = try Glmfit.run(["no-such-file.csv", "--formula", "y ~ x"])
        #expect(result.status == 66)
        #expect(result.standardOutput == "")
        #expect(result.standardError.hasPrefix("glmfit: error: cannot open 'no-such-file.csv'"))
    }

    @Test func unknownFamilyIsAUsageError() throws {
        let result = try Glmfit.run(dobsonArguments + ["--family", "poison"])
        #expect(result.status == 64)
        #expect(result.standardOutput == "")
        #expect(result.standardError.contains("unknown family 'poison'"))
    }

    @Test func missingFormulaIsAUsageError() throws {
        let result = try Glmfit.run(["Examples/dobson.csv"])
        #expect(result.status == 64)
        #expect(result.standardError.hasPrefix("glmfit: error:"))
        #expect(result.standardError.contains("--formula"))
    }

    @Test func warningsGoToStandardErrorWithStatusZero() throws {
        let result = try Glmfit.run(["Examples/mtcars.csv", "--family", "binomial", "--link", "probit", "--formula", "am ~ hp + wt"])
        #expect(result.status == 0)
        #expect(result.standardError == "glmfit: warning: glm.fit: fitted probabilities numerically 0 or 1 occurred\n")
        #expect(result.standardOutput.contains("Coefficients:"))
    }
}

@Suite("Standard output stays clean")
struct CleanOutputTests {
    /// libRmath prints its own warnings with printf(); a poisson fit of non-integer counts
    /// made dpois() write "non-integer x = ..." into the report. Now the warning is R's,
    /// on standard error, once, and standard output holds only the report.
    @Test func nonIntegerCountsWarnOnStandardError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-clean-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("counts.csv")
        try Data("y,x\n1.5,1\n2,2\n3.25,3\n4,4\n5,5\n".utf8).write(to: file)
        let result = try Glmfit.run([file.path, "-f", "y ~ x", "--family", "poisson", "--format", "json"])
        #expect(result.status == 0)
        #expect(result.standardError == "glmfit: warning: non-integer x = 1.500000 (and 1 more non-integer counts)\n")
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        #expect(object?["aic"] is NSNull)
    }
}

@Suite("--chunk-rows from the command line")
struct ChunkedEndToEndTests {
    /// The same report in memory and in chunks of 3 rows, from a file and from standard input.
    @Test func chunkedFitPrintsTheSameCoefficients() throws {
        let arguments = ["-f", "cbind(numdead, 20 - numdead) ~ sex*ldose", "--family", "binomial", "--format", "csv"]
        let memory = try Glmfit.run(["Examples/budworm.csv"] + arguments)
        let chunked = try Glmfit.run(["Examples/budworm.csv", "--chunk-rows", "3"] + arguments)
        let piped = try Glmfit.run(["-", "--chunk-rows", "3"] + arguments,
                                   input: try Data(contentsOf: URL(fileURLWithPath: Glmfit.example("budworm.csv"))))
        #expect(memory.status == 0 && chunked.status == 0 && piped.status == 0)
        #expect(chunked.standardOutput == piped.standardOutput)
        let numbers = { (text: String) in text.split(separator: "\n").dropFirst().map { $0.split(separator: ",").dropFirst().compactMap { Double($0) } } }
        for (a, b) in zip(numbers(memory.standardOutput), numbers(chunked.standardOutput)) {
            for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-9 * max(abs(x), 1e-300), "\(x) vs \(y)") }
        }
    }

    @Test func optionsThatNeedTheDataInMemoryAreRefused() throws {
        let result = try Glmfit.run(["Examples/dobson.csv", "--chunk-rows", "3", "-f", "counts ~ outcome", "--family", "poisson",
                                     "--anova"])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--anova: needs the data in memory and is not available with --chunk-rows"))
    }
}
