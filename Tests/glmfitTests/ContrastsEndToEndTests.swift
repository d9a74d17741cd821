import Foundation
import Testing

/// Factor functions, contrasts and bases through the binary: the report's contrast names,
/// `--contrasts`, errors that name what is unsupported, and `predict` with `cut()`.
@Suite("Contrasts and bases end to end")
struct ContrastsEndToEndTests {
    static let data = "y,x,g\n1.2,1,a\n2.3,2,b\n2.9,3,c\n4.1,4,a\n5.2,5,b\n5.8,6,c\n7.1,7,a\n8.3,8,b\n"

    static let errors: [ErrorTests.Case] = [
        .init("contrasts_option_one_name", csv: data, ["-f", "y ~ g", "--contrasts", "contr.sum"], status: 64,
              "--contrasts: expected two names, UNORDERED,ORDERED"),
        .init("contrasts_option_unknown", csv: data, ["-f", "y ~ g", "--contrasts", "contr.sum,contr.bogus"], status: 64,
              "--contrasts: unknown contrasts 'contr.bogus'"),
        .init("contrasts_unknown_function", csv: data, ["-f", "y ~ C(g, contr.bogus)"], status: 65,
              "unknown contrasts 'contr.bogus'; glmfit knows contr.treatment, contr.sum"),
        .init("contrasts_matrix_call", csv: data, ["-f", "y ~ C(g, contr.treatment(3))"], status: 65,
              "the contrasts must be named, as in C(f, contr.sum)"),
        .init("ns_unknown_argument", csv: data, ["-f", "y ~ ns(x, weights = 2)"], status: 64,
              "ns(): argument 'weights' is not supported"),
        .init("cut_labels_argument", csv: data, ["-f", "y ~ cut(x, 3, labels = FALSE)"], status: 64,
              "cut(): argument 'labels' is not supported"),
        .init("base_with_sum", csv: data, ["-f", "y ~ C(g, contr.sum, base = 2)"], status: 64,
              "C(): argument 'base' is not supported"),
        .init("relevel_unknown_level", csv: data, ["-f", "y ~ relevel(g, ref = \"z\")"], status: 65,
              "term 'relevel(g, ref = \"z\")': 'ref' must be an existing level; the levels are a, b, c"),
        .init("relevel_ordered", csv: data, ["-f", "y ~ relevel(ordered(g), ref = \"b\")"], status: 65,
              "'relevel' only for unordered factors"),
        .init("poly_degree_unique_points", csv: "y,x\n1,1\n2,2\n3,1\n4,2\n", ["-f", "y ~ poly(x, 2)"], status: 65,
              "'degree' must be less than number of unique points"),
        .init("labels_count", csv: data, ["-f", "y ~ factor(g, labels = c(\"p\", \"q\"))"], status: 65,
              "'labels' has 2 names for 3 levels"),
        .init("unterminated_string", csv: data, ["-f", "y ~ relevel(g, ref = \"b)"], status: 64, "unterminated string"),
        .init("unknown_function_named", csv: data, ["-f", "y ~ splines::periodic(x)"], status: 65,
              "unknown function 'splines::periodic'"),
        .init("save_relabelled_text", csv: data,
              ["-f", "y ~ factor(g, labels = c(\"p\", \"q\", \"r\"))", "--save", NSTemporaryDirectory() + "glmfit-never-written.json"],
              status: 65, "cannot be saved for predict: the text column 'g' must enter as f, factor(f)"),
        .init("chunked_basis", csv: data, ["-f", "y ~ poly(x, 2)", "--chunk-rows", "3"], status: 64,
              "--chunk-rows: cannot fit poly(x, 2): poly() needs the whole input in memory"),
        .init("chunked_contrasts_of_factor", csv: data, ["-f", "y ~ C(factor(x), contr.sum)", "--chunk-rows", "3"], status: 64,
              "cannot fit C(factor(x), contr.sum): C() needs the whole input in memory"),
    ]

    @Test(arguments: errors)
    func failsClearly(_ item: ErrorTests.Case) throws {
        try ErrorTests().failsClearly(item)
    }

    /// The text report's reference line names non-treatment contrasts; JSON gives R's names.
    @Test func reportsNameTheContrasts() throws {
        let path = Glmfit.example("mtcars.csv")
        let formula = "mpg ~ C(factor(cyl), contr.sum) + C(factor(gear), SAS) + ordered(carb) + factor(am)"
        let text = try Glmfit.run([path, "-f", formula])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains(
            "Reference levels: C(factor(cyl), contr.sum) = none (contr.sum); C(factor(gear), SAS) = 5 (contr.SAS); "
                + "ordered(carb) = none (contr.poly); factor(am) = 0\n"))
        let json = try Glmfit.run([path, "-f", formula, "--format", "json"])
        let output = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let factors = try #require(output["factors"] as? [[String: Any]])
        #expect(factors.map { $0["contrasts"] as? String } == ["contr.sum", "contr.SAS", "contr.poly", "contr.treatment"])
        #expect(factors.map { $0["reference"] as? String } == [nil, "5", nil, "0"])
    }

    /// `--contrasts contr.sum,contr.treatment` is R's options(contrasts =): names as R's.
    @Test func contrastsOptionSetsTheDefaults() throws {
        let result = try Glmfit.run([
            Glmfit.example("mtcars.csv"), "-f", "mpg ~ factor(cyl) + ordered(gear)", "--contrasts", "contr.sum,contr.treatment",
            "--format", "csv",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let names = result.standardOutput.split(separator: "\n").dropFirst().map { $0.split(separator: ",").first.map(String.init) ?? "" }
        #expect(names == ["(Intercept)", "factor(cyl)1", "factor(cyl)2", "ordered(gear)4", "ordered(gear)5"])
    }

    /// `--contrasts` reaches a fit in chunks: the same coefficients as in memory.
    @Test func contrastsOptionInChunks() throws {
        let arguments = [
            Glmfit.example("warpbreaks.csv"), "-f", "breaks ~ tension * wool", "--family", "poisson",
            "--contrasts", "contr.helmert,contr.poly", "--format", "csv",
        ]
        let whole = try Glmfit.run(arguments)
        let chunked = try Glmfit.run(arguments + ["--chunk-rows", "7"])
        #expect(whole.status == 0 && chunked.status == 0, "\(whole.standardError)\(chunked.standardError)")
        func table(_ output: String) -> [[String]] {
            output.split(separator: "\n").map { $0.split(separator: ",").prefix(3).map(String.init) }
        }
        #expect(table(whole.standardOutput).map(\.first) == [
            "term", "(Intercept)", "tension1", "tension2", "wool1", "tension1:wool1", "tension2:wool1",
        ])
        for (lhs, rhs) in zip(table(whole.standardOutput).dropFirst(), table(chunked.standardOutput).dropFirst()) {
            #expect(lhs[0] == rhs[0])
            if let a = Double(lhs[1]), let b = Double(rhs[1]) { #expect(abs(a - b) <= 1e-8 * abs(a), "\(lhs[0])") }
        }
    }

    /// A model with cut(hp, 3) predicts new rows at the fit's breaks: the first rows alone
    /// get the fit's linear predictor (R's own predict() fails on them).
    @Test func predictCutsNewRowsAtTheFitBreaks() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-cut-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("model.json").path
        let fit = try Glmfit.run([Glmfit.example("mtcars.csv"), "-f", "mpg ~ cut(hp, 3) + wt", "--save", model])
        #expect(fit.status == 0, "\(fit.standardError)")
        let head = Glmfit.repositoryRoot.appendingPathComponent("Tests/GLMCoreTests/Reference/bases_data/mtcars_head.csv").path
        let result = try Glmfit.run(["predict", model, head])
        #expect(result.status == 0, "\(result.standardError)")
        let fitted = result.standardOutput.split(separator: "\n").dropFirst().compactMap { line in
            line.split(separator: ",").last.flatMap { Double($0) }
        }
        // R: fit$linear.predictors[1:5] of glm(mpg ~ cut(hp, 3) + wt, data = mtcars)
        // (Reference/bases_reference.json, case cut_count_C).
        let expected = [24.131735620544138, 22.984974568840535, 25.480866269607198, 21.45595983323573, 18.467353140456925]
        #expect(fitted.count == expected.count)
        for (actual, value) in zip(fitted, expected) {
            #expect(abs(actual - value) <= 1e-8 * abs(value), "\(actual) vs R \(value)")
        }
    }
}
