import Foundation
import Testing

/// The expression language, --subset and links through the binary: the reports, the
/// saved constants, and each refusal's message and exit status.
@Suite("Expression language and --subset end to end")
struct ExpressionLanguageEndToEndTests {
    static let data = "y,x,g,n\n1,2,a,1\n3,4,b,2\n2,5,a,NA\n5,7,b,4\n4,8,a,5\n7,9,b,6\n"

    static let errorCases: [ErrorTests.Case] = [
        .init("text_ordering", csv: data, ["-f", "y ~ I(g > \"a\")"], status: 65,
              "'>' compares text by the locale's collation; glmfit compares text only with == and != (or %in%)"),
        .init("in_needs_constants", csv: data, ["-f", "y ~ I(x %in% c(n, 2))"], status: 65,
              "the right of %in% must be constants"),
        .init("unknown_function", csv: data, ["-f", "y ~ I(cummax(x))"], status: 65, "unknown function 'cummax'"),
        .init("unsupported_argument", csv: data, ["-f", "y ~ round(x, places = 1)"], status: 64,
              "round(): argument 'places' is not supported"),
        .init("string_as_term", csv: data, ["-f", "y ~ x + \"a\""], status: 64, "a string cannot be a term"),
        .init("assignment", csv: data, ["-f", "y ~ I(x<-1)"], status: 64, "'<-' is R's assignment"),
        .init("unterminated_string", csv: data, ["-f", "y ~ I(g == \"a)"], status: 64, "unterminated string"),
        .init("subset_not_logical", csv: data, ["-f", "y ~ x", "--subset", "x + 1"], status: 64,
              "--subset: 'x + 1' must be TRUE or FALSE for each row"),
        .init("subset_syntax", csv: data, ["-f", "y ~ x", "--subset", "x > "], status: 64, "x > "),
        .init("subset_unknown_column", csv: data, ["-f", "y ~ x", "--subset", "z > 1"], status: 64,
              "'z'"),
        .init("subset_excludes_everything", csv: data, ["-f", "y ~ x", "--subset", "x > 100"], status: 64,
              "--subset: 'x > 100' is TRUE in no row; nothing is left to fit"),
        .init("mean_with_chunk_rows", csv: data, ["-f", "y ~ I(x - mean(x))", "--chunk-rows", "2"], status: 64,
              "--chunk-rows: cannot evaluate mean(x): it needs the whole input in memory"),
        .init("binomial_log_no_valid_coefficients", csv: nil,
              ["Examples/birthwt.csv", "-f", "low ~ smoke + ht + ui", "--family", "binomial", "--link", "log"],
              status: 65, "no valid set of coefficients has been found: please supply starting values"),
        .init("gaussian_sqrt_invalid_start", csv: "y,x\n-1,1\n2,2\n3,3\n", ["-f", "y ~ x", "--link", "sqrt"], status: 65,
              "cannot find valid starting values: please specify some"),
        .init("unknown_link", csv: data, ["-f", "y ~ x", "--link", "logitt"], status: 64, "logitt"),
    ]

    @Test(arguments: errorCases)
    func failsClearly(_ item: ErrorTests.Case) throws {
        try ErrorTests().failsClearly(item)
    }

    private func withFiles<T>(_ body: (URL) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-language-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        return try body(folder)
    }

    /// --subset: FALSE rows are counted apart, NA rows with the missing ones (as R's `[`
    /// makes them rows of NA); a column only the subset reads is read.
    @Test func subsetIsCountedInTheReports() throws {
        try withFiles { folder in
            let data = folder.appendingPathComponent("d.csv")
            try Data(Self.data.utf8).write(to: data)
            // n is NA in row 3: that row's subset is NA; rows 1 (n = 1) and 2 (n = 2) are FALSE.
            let text = try Glmfit.run([data.path, "-f", "y ~ x", "--subset", "n > 2 | g == 'zzz'"])
            #expect(text.status == 0, "\(text.standardError)")
            #expect(text.standardOutput.contains("(1 observation deleted due to missingness)"), "\(text.standardOutput)")
            #expect(text.standardOutput.contains("(2 observations excluded by --subset)"), "\(text.standardOutput)")
            #expect(text.standardOutput.contains("on 2  degrees of freedom"), "\(text.standardOutput)")
            let json = try Glmfit.run([data.path, "-f", "y ~ x", "--subset", "n > 2", "--format", "json"])
            #expect(json.status == 0, "\(json.standardError)")
            #expect(json.standardOutput.contains("\"n_excluded_by_subset\": 2"), "\(json.standardOutput)")
            #expect(json.standardOutput.contains("\"n_obs\": 3"), "\(json.standardOutput)")
            // The same rows in chunks of 2 records.
            let chunked = try Glmfit.run([data.path, "-f", "y ~ x", "--subset", "n > 2", "--format", "json", "--chunk-rows", "2"])
            #expect(chunked.status == 0, "\(chunked.standardError)")
            #expect(chunked.standardOutput.contains("\"n_excluded_by_subset\": 2"), "\(chunked.standardOutput)")
            #expect(chunked.standardOutput.contains("\"n_obs\": 3"), "\(chunked.standardOutput)")
            #expect(chunked.standardOutput.contains("\"n_dropped\": 1"), "\(chunked.standardOutput)")
        }
    }

    /// The subset's rows give the same fit as a file holding only those rows.
    @Test func subsetFitsTheSelectedRows() throws {
        try withFiles { folder in
            let data = folder.appendingPathComponent("d.csv")
            try Data(Self.data.utf8).write(to: data)
            let selected = folder.appendingPathComponent("s.csv")
            try Data("y,x,g,n\n1,2,a,1\n3,4,b,2\n4,8,a,5\n7,9,b,6\n".utf8).write(to: selected)
            let subset = try Glmfit.run([data.path, "-f", "y ~ x", "--subset", "x != 5 & !(x == 7)", "--format", "csv"])
            let direct = try Glmfit.run([selected.path, "-f", "y ~ x", "--format", "csv"])
            #expect(subset.status == 0 && direct.status == 0, "\(subset.standardError) \(direct.standardError)")
            #expect(subset.standardOutput == direct.standardOutput)
            #expect(subset.standardOutput.contains("x,"))
            // --compare fits the smaller model on the same rows.
            let compared = try Glmfit.run([data.path, "-f", "y ~ x", "--subset", "x != 5 & !(x == 7)", "--compare", "y ~ 1",
                                           "--format", "json"])
            let comparedDirect = try Glmfit.run([selected.path, "-f", "y ~ x", "--compare", "y ~ 1", "--format", "json"])
            #expect(compared.status == 0, "\(compared.standardError)")
            let comparison = { (text: String) in text.range(of: "\"comparison\"").map { String(text[$0.lowerBound...].prefix(400)) } }
            #expect(comparison(compared.standardOutput) != nil, "\(compared.standardOutput)")
            #expect(comparison(compared.standardOutput) == comparison(comparedDirect.standardOutput))
            // A GEE fit takes the subset too.
            let gee = try Glmfit.run([data.path, "-f", "y ~ x", "--id", "g", "--subset", "x != 5 & !(x == 7)", "--format", "json"])
            #expect(gee.status == 0, "\(gee.standardError)")
            #expect(gee.standardOutput.contains("\"n_obs\": 4"), "\(gee.standardOutput)")
            #expect(gee.standardOutput.contains("\"n_excluded_by_subset\": 2"), "\(gee.standardOutput)")
        }
    }

    /// predict uses the fit's mean, kept in the model file, and reads a compared text
    /// column's values whatever they are.
    @Test func predictUsesTheFitsConstants() throws {
        try withFiles { folder in
            let data = folder.appendingPathComponent("d.csv")
            try Data("y,x,g\n1,1,a\n3,2,b\n2,3,a\n5,4,b\n4,5,c\n".utf8).write(to: data)
            let model = folder.appendingPathComponent("m.json")
            let fit = try Glmfit.run([data.path, "-f", "y ~ I(x - mean(x)) + I(g == \"b\")", "--save", model.path])
            #expect(fit.status == 0, "\(fit.standardError)")
            let saved = try String(contentsOf: model, encoding: .utf8)
            #expect(saved.contains("\"call\": \"mean(x)\""), "\(saved)")
            #expect(saved.contains("\"value\": 3"), "\(saved)")
            // One new row at x = 3 (the fit's mean) and g = "z" (never seen): the prediction is
            // the intercept, whatever the new rows' own mean.
            let newData = folder.appendingPathComponent("new.csv")
            try Data("x,g\n3,z\n100,z\n".utf8).write(to: newData)
            let predicted = try Glmfit.run(["predict", model.path, newData.path])
            #expect(predicted.status == 0, "\(predicted.standardError)")
            let json = try Glmfit.run([data.path, "-f", "y ~ I(x - mean(x)) + I(g == \"b\")", "--format", "json"])
            let intercept = try #require(Self.firstEstimate(json.standardOutput))
            let lines = predicted.standardOutput.split(separator: "\n")
            #expect(lines.count == 3, "\(predicted.standardOutput)")
            if lines.count == 3, let value = Double(lines[1].split(separator: ",").last ?? "") {
                #expect(abs(value - intercept) <= 1e-12 * abs(intercept), "\(value) vs \(intercept)")
            }
        }
    }

    static func firstEstimate(_ json: String) -> Double? {
        guard let range = json.range(of: "\"estimate\": ") else { return nil }
        let rest = json[range.upperBound...]
        return Double(rest.prefix { "0123456789.-e+E".contains($0) })
    }

    /// Any link for any family: the binomial identity link (risk differences) is fitted.
    @Test func anyLinkForAnyFamily() throws {
        let result = try Glmfit.run(["Examples/birthwt.csv", "-f", "low ~ smoke + ht", "--family", "binomial", "--link", "identity"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("smoke"))
        #expect(result.standardOutput.contains("family: binomial") || result.standardOutput.contains("binomial(link = \"identity\")"),
                "\(result.standardOutput)")
    }
}
