import Foundation
import Testing

/// `--family multinomial` and `--family ordinal` run as a user runs them: reports, saved
/// models and predictions, and the bad inputs each kind refuses.
@Suite("Multinomial and ordinal fits end to end")
struct CategoricalEndToEndTests {
    private func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    @Test func multinomialTextReport() throws {
        let result = try Glmfit.run([
            Glmfit.example("housing.csv"), "--family", "multinomial", "--formula", "Sat ~ Infl + Type + Cont",
            "--weights", "Freq",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.isEmpty)
        let output = result.standardOutput
        #expect(output.contains("multinom(formula = Sat ~ Infl + Type + Cont"))
        #expect(output.contains("\nStd. Errors:\n"))
        #expect(output.contains("Residual Deviance: 3470.084 \nAIC: 3498.084 \n"))
        #expect(output.contains("with relative risk ratios exp(estimate)"))
        #expect(output.contains("Response: Sat, levels High, Low, Medium; baseline High"))
        #expect(output.contains("Log-likelihood: -1735.042 (df = 14)   BIC: 3574.064"))
    }

    @Test func ordinalJSONContract() throws {
        let result = try Glmfit.run([
            Glmfit.example("housing.csv"), "--family", "ordinal", "--link", "probit", "--formula",
            "satisfaction ~ Infl + Type + Cont", "--weights", "Freq", "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try json(result.standardOutput)
        #expect(object["model"] as? String == "ordinal")
        #expect(object["link"] as? String == "probit")
        #expect(object["levels"] as? [String] == ["1", "2", "3"])
        #expect(object["df"] as? Int == 8)
        #expect(object["n_obs"] as? Int == 72)
        #expect(object["converged"] as? Bool == true)
        let logLikelihood = try #require(object["log_likelihood"] as? Double)
        #expect(object["deviance"] as? Double == -2 * logLikelihood)
        let coefficients = try #require(object["coefficients"] as? [[String: Any]])
        #expect(coefficients.map { $0["component"] as? String } == Array(repeating: "location", count: 6) + ["threshold", "threshold"])
        #expect(coefficients.suffix(2).map { $0["term"] as? String } == ["1|2", "2|3"])
        // A probit model has no odds ratios.
        #expect(coefficients.allSatisfy { $0["exp_estimate"] is NSNull })
        let vcov = try #require(object["vcov"] as? [String: Any])
        #expect((vcov["matrix"] as? [[Double]])?.count == 8)
    }

    @Test func multinomialCSVHasAComponentColumn() throws {
        let result = try Glmfit.run([
            Glmfit.example("birthwt.csv"), "--family", "multinomial", "--formula", "race ~ age + smoke", "--format", "csv",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.first?.hasPrefix("component,term,estimate,std_error,") == true)
        #expect(lines.count == 7)
        #expect(lines.dropFirst().map { $0.split(separator: ",").first.map(String.init) } == ["2", "2", "2", "3", "3", "3"])
        #expect(lines.dropFirst().map { $0.split(separator: ",").dropFirst().first.map(String.init) }
            == ["(Intercept)", "age", "smoke", "(Intercept)", "age", "smoke"])
    }

    @Test func compareAndWald() throws {
        let result = try Glmfit.run([
            Glmfit.example("housing.csv"), "--family", "ordinal", "--formula", "satisfaction ~ Infl + Type + Cont",
            "--weights", "Freq", "--compare", "satisfaction ~ Infl + Type", "--wald", "InflLow = InflMedium",
            "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try json(result.standardOutput)
        let comparison = try #require(object["comparison"] as? [String: Any])
        // R: anova(polr(... ~ Infl + Type), polr(... ~ Infl + Type + Cont)): LR stat. 14.30621, Pr(Chi) 0.0001553519.
        #expect(comparison["df"] as? Int == 1)
        #expect(abs((comparison["statistic"] as? Double ?? 0) - 14.30621) < 1e-5)
        #expect(abs((comparison["p_value"] as? Double ?? 0) - 0.0001553519) < 1e-9)
        let wald = try #require((object["wald_tests"] as? [[String: Any]])?.first)
        #expect(wald["df"] as? Int == 1)
    }

    @Test func saveThenPredictProbabilitiesAndClasses() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-cat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.appendingPathComponent("model.json").path
        let fit = try Glmfit.run([
            Glmfit.example("fgl.csv"), "--family", "multinomial", "--formula", "type ~ RI + Na + Mg + Al", "--save", model,
        ])
        #expect(fit.status == 0, "\(fit.standardError)")
        let newData = Glmfit.repositoryRoot.appendingPathComponent("Tests/GLMCoreTests/Reference/multinomial_data/fgl_new.csv").path
        let probs = try Glmfit.run(["predict", model, newData, "--type", "probs"])
        #expect(probs.status == 0, "\(probs.standardError)")
        let lines = probs.standardOutput.split(separator: "\n")
        #expect(lines.first == "\"RI\",\"Na\",\"Mg\",\"Al\",prob_Con,prob_Head,prob_Tabl,prob_Veh,prob_WinF,prob_WinNF")
        #expect(lines.count == 4)
        let classes = try Glmfit.run(["predict", model, newData, "--type", "class"])
        #expect(classes.status == 0, "\(classes.standardError)")
        #expect(classes.standardOutput.split(separator: "\n").first?.hasSuffix(",class") == true)
        // Without --type, R's default for multinom: the class.
        let plain = try Glmfit.run(["predict", model, newData])
        #expect(plain.status == 0, "\(plain.standardError)")
        #expect(plain.standardOutput == classes.standardOutput)
        let link = try Glmfit.run(["predict", model, newData, "--type", "link"])
        #expect(link.status == 64)
        #expect(link.standardOutput.isEmpty)
        #expect(link.standardError == "glmfit: error: --type: a multinomial model predicts --type probs or --type class\n")
    }

    /// `--ref` on the response moves the multinomial baseline, as R's relevel() does.
    @Test func referenceLevelOfTheResponseIsTheBaseline() throws {
        let result = try Glmfit.run([
            Glmfit.example("housing.csv"), "--family", "multinomial", "--formula", "Sat ~ Infl", "--weights", "Freq",
            "--ref", "Sat=Low", "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try json(result.standardOutput)
        #expect(object["levels"] as? [String] == ["Low", "High", "Medium"])
        let components = (object["coefficients"] as? [[String: Any]] ?? []).compactMap { $0["component"] as? String }
        #expect(Set(components) == ["High", "Medium"])
    }

    /// Separated levels: the iterations stop at --maxit with a warning, which --strict makes an error.
    @Test func separationWarnsAndStrictRefuses() throws {
        let csv = Data("y,x\na,1\na,2\na,3\nb,4\nb,5\nb,6\nc,7\nc,8\nc,9\n".utf8)
        let plain = try Glmfit.run(["-", "--family", "multinomial", "-f", "y ~ x"], input: csv)
        #expect(plain.status == 0)
        #expect(plain.standardError.contains("glmfit: warning: the Newton iterations did not converge in 25 steps (--maxit)"))
        let strict = try Glmfit.run(["-", "--family", "multinomial", "-f", "y ~ x", "--strict"], input: csv)
        #expect(strict.status == 3)
        #expect(strict.standardOutput.isEmpty)
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        let name: String
        let csv: String
        let arguments: [String]
        let status: Int32
        let message: String
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "multinomial_one_level", csv: "y,x\na,1\na,2\na,3\n", arguments: ["--family", "multinomial", "-f", "y ~ x"],
                 status: 65, message: "the response 'y' has 1 level ('a') in the rows used; a multinomial model needs 2 or more"),
        BadInput(name: "ordinal_two_levels", csv: "y,x\na,1\nb,2\na,3\nb,4\n", arguments: ["--family", "ordinal", "-f", "y ~ x"],
                 status: 65, message: "the response 'y' has 2 levels ('a', 'b') in the rows used; an ordinal model needs 3 or more"),
        BadInput(name: "ordinal_empty_category", csv: "y,x,w\n1,1,1\n2,2,1\n3,3,0\n1,4,1\n2,5,2\n3,6,0\n",
                 arguments: ["--family", "ordinal", "-f", "y ~ x", "--weights", "w"],
                 status: 65, message: "response level '3' of 'y' has no rows with positive weight (an empty category)"),
        BadInput(name: "negative_case_weight", csv: "y,x,w\na,1,1\nb,2,-1\nc,3,1\na,4,1\n",
                 arguments: ["--family", "multinomial", "-f", "y ~ x", "--weights", "w"],
                 status: 65, message: "weights column 'w', line 3: case weights must be finite and not negative"),
        BadInput(name: "multinomial_cbind", csv: "s,f,x\n1,2,1\n2,1,2\n",
                 arguments: ["--family", "multinomial", "-f", "cbind(s, f) ~ x"],
                 status: 65, message: "cbind() responses are only for the binomial and quasibinomial families"),
        BadInput(name: "multinomial_numeric_response",
                 csv: "y,x\n" + (0..<2100).map { "\($0).5,\($0 % 7)" }.joined(separator: "\n") + "\n",
                 arguments: ["--family", "multinomial", "-f", "y ~ x"],
                 status: 65, message: "term 'y': a multinomial model of 'y' with 2100 levels and 2 model-matrix columns has 4198 coefficients, more than the 2000 glmfit fits"),
        BadInput(name: "multinomial_anova", csv: "y,x\na,1\nb,2\nc,3\n", arguments: ["--family", "multinomial", "-f", "y ~ x", "--anova"],
                 status: 64, message: "--anova: does not apply to a multinomial model"),
        BadInput(name: "multinomial_probit", csv: "y,x\na,1\nb,2\nc,3\n", arguments: ["--family", "multinomial", "-f", "y ~ x", "--link", "probit"],
                 status: 64, message: "--link: does not apply to a multinomial model"),
        BadInput(name: "ordinal_identity_link", csv: "y,x\na,1\nb,2\nc,3\n", arguments: ["--family", "ordinal", "-f", "y ~ x", "--link", "identity"],
                 status: 64, message: "link 'identity' is not available for the ordinal family; allowed links: logit, probit, cloglog, loglog, cauchit"),
        BadInput(name: "ordinal_robust", csv: "y,x\na,1\nb,2\nc,3\n", arguments: ["--family", "ordinal", "-f", "y ~ x", "--vcov", "HC0"],
                 status: 64, message: "--vcov: does not apply to an ordinal model"),
        BadInput(name: "ordinal_residuals", csv: "y,x\na,1\nb,2\nc,3\n", arguments: ["--family", "ordinal", "-f", "y ~ x", "--residuals", "r.csv"],
                 status: 64, message: "--residuals: does not apply to an ordinal model"),
    ]

    @Test(arguments: badInputs)
    func refused(_ bad: BadInput) throws {
        let result = try Glmfit.run(["-"] + bad.arguments, input: Data(bad.csv.utf8))
        #expect(result.status == bad.status, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.hasPrefix("glmfit: error: " + bad.message), "\(result.standardError)")
    }
}
