import Foundation
import Testing
@testable import GLMCore

/// One fit of Reference/vocabulary_reference.json (made by make_vocabulary_reference.R):
/// the expression language, --subset and every link, under R's default collation here
/// (C.UTF-8: ICU's root collation) and under C.
struct VocabularyCase: Decodable, Sendable, CustomTestStringConvertible {
    struct Coefficient: Decodable, Sendable {
        let name: String
        let estimate: Double?
        let std_error: Double?
    }

    let id: String
    let collation: String
    let data: String
    let formula: String
    let family: String
    let link: String
    let subset: String?
    let coefficients: [Coefficient]
    let deviance: Double
    let null_deviance: Double
    let aic: Double?
    let df_residual: Int
    let n_obs: Int
    let n_dropped: Int
    let predict_rows: Int?
    let predictions: [Double]?

    var testDescription: String { "\(id) (\(collation))" }

    var levelCollation: LevelCollation { collation == "C" ? .bytes : .icu(locale: collation) }

    func request() -> FitRequest {
        var request = FitRequest(path: Repository.path("Examples/\(data)"), formula: formula, family: family, link: link)
        request.collation = levelCollation
        request.subset = subset
        return request
    }
}

enum VocabularyFixtures {
    static let cases: [VocabularyCase] = {
        let path = Repository.path("Tests/GLMCoreTests/Reference/vocabulary_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let cases = try? JSONDecoder().decode([VocabularyCase].self, from: data) else { return [] }
        return cases
    }()
}

@Suite struct VocabularyReferenceTests {
    @Test func fixturesLoaded() {
        #expect(VocabularyFixtures.cases.count >= 60)
        #expect(Set(VocabularyFixtures.cases.map(\.collation)) == ["C", "C.UTF-8"])
    }

    /// Coefficients and SEs to 1e-6 relative, deviance and AIC to 1e-8, as issue 24 asks.
    @Test(arguments: VocabularyFixtures.cases)
    func matchesR(_ reference: VocabularyCase) throws {
        let report = try Pipeline.fit(reference.request())
        let summary = report.summary
        let fit = summary.fit
        let id = reference.testDescription
        #expect(fit.coefficientNames == reference.coefficients.map(\.name), "\(id): names")
        #expect(fit.design.rowCount == reference.n_obs, "\(id): n_obs")
        #expect(fit.design.frame.droppedCount == reference.n_dropped, "\(id): n_dropped")
        #expect(fit.dfResidual == reference.df_residual, "\(id): df_residual")
        #expect(fit.family.link.name == reference.link, "\(id): link")
        for (row, expected) in zip(summary.coefficients, reference.coefficients) {
            let floor = 1e-9 * (expected.std_error ?? 0)
            expectClose(row.estimate, expected.estimate, relative: 1e-6, absolute: floor, "\(id) \(row.term) estimate")
            expectClose(row.standardError, expected.std_error, relative: 1e-6, "\(id) \(row.term) std. error")
        }
        expectClose(fit.deviance, reference.deviance, relative: 1e-8, absolute: 1e-10, "\(id) deviance")
        expectClose(fit.nullDeviance, reference.null_deviance, relative: 1e-8, "\(id) null deviance")
        expectClose(fit.aic, reference.aic, relative: 1e-8, "\(id) AIC")
    }

    /// R's precedence (?Syntax) and R's deparse, as R 4 printed them for these inputs
    /// (deparse(str2lang(...)) in Rscript).
    @Test func precedenceAndDeparseAsR() throws {
        let deparsed: [(String, String)] = [
            ("I(x>2)", "I(x > 2)"), ("I(cyl %in% c(4,6))", "I(cyl %in% c(4, 6))"), ("I(x%%2)", "I(x%%2)"),
            ("I(x%/%2)", "I(x%/%2)"), ("I(!x)", "I(!x)"), ("I(a&b|c)", "I(a & b | c)"), ("I(a == 'F')", "I(a == \"F\")"),
            ("I(!a==b)", "I(!a == b)"), ("I(-x^2)", "I(-x^2)"), ("I(x %in% 'a')", "I(x %in% \"a\")"),
            ("log(x, base=2)", "log(x, base = 2)"), ("I(x-mean(x))", "I(x - mean(x))"),
        ]
        for (text, expected) in deparsed {
            #expect(try FormulaExpression.parseArgument(text).deparsed == expected, "\(text)")
        }
        let a = FormulaExpression.name("a"), b = FormulaExpression.name("b"), c = FormulaExpression.name("c")
        #expect(try FormulaExpression.parseArgument("!a == b") == .unary("!", .binary("==", a, b)))
        #expect(try FormulaExpression.parseArgument("a & b | c") == .binary("|", .binary("&", a, b), c))
        #expect(try FormulaExpression.parseArgument("a | b & c") == .binary("|", a, .binary("&", b, c)))
        #expect(try FormulaExpression.parseArgument("!a & b") == .binary("&", .unary("!", a), b))
        #expect(try FormulaExpression.parseArgument("a + 1 > b * 2") == .binary(
            ">", .binary("+", a, .number(1, "1")), .binary("*", b, .number(2, "2"))))
        #expect(try FormulaExpression.parseArgument("a %% 2 == 0") == .binary(
            "==", .binary("%%", a, .number(2, "2")), .number(0, "0")))
        // TRUE is a constant; a backquoted `TRUE` is a column name.
        #expect(try FormulaExpression.parseArgument("TRUE") == .logical(true))
        #expect(try FormulaExpression.parseArgument("`TRUE`") == .name("TRUE"))
        #expect(FormulaExpression.logical(false).deparsed == "FALSE")
        // The response side: a comparison binds tighter than '~'.
        let formula = try Formula.parse("y > 0 ~ x")
        #expect(formula.response == .binary(">", .name("y"), .number(0, "0")))
    }

    /// R's NA rules: NA in, NA out, except FALSE & NA (FALSE), TRUE | NA (TRUE) and %in% (never NA).
    @Test func missingValuesFollowRsLogic() throws {
        let table = Table(
            source: "t.csv", columnNames: ["a", "b", "g"],
            columns: [.numeric([1, 0, .nan, 1, 0]), .numeric([.nan, .nan, .nan, 1, 0]),
                      .categorical(CategoricalColumn(codes: [0, 1, -1, 0, 1], levels: ["m", "f"]))],
            rowCount: 5)
        let evaluator = ExpressionEvaluator(table: table)
        func codes(_ text: String) throws -> [Int32] {
            guard case let .factor(codes, levels, true) = try evaluator.evaluate(try FormulaExpression.parseArgument(text)),
                  levels == ["FALSE", "TRUE"] else {
                Issue.record("\(text) is not logical")
                return []
            }
            return codes
        }
        #expect(try codes("a == 1 & b == 1") == [-1, 0, -1, 1, 0])
        #expect(try codes("a == 1 | b == 1") == [1, -1, -1, 1, 0])
        #expect(try codes("!(b == 1)") == [-1, -1, -1, 0, 1])
        #expect(try codes("b %in% c(1, 2)") == [0, 0, 0, 1, 0])
        #expect(try codes("g == 'f'") == [0, 1, -1, 0, 1])
        #expect(try codes("g != \"f\"") == [1, 0, -1, 1, 0])
        #expect(try codes("g %in% c('m', 'x')") == [1, 0, 0, 1, 0])
        #expect(try codes("TRUE | b == 1") == [1, 1, 1, 1, 1])
        #expect(try codes("FALSE & b == 1") == [0, 0, 0, 0, 0])
        // Data-dependent calls see every row: NA unless na.rm = TRUE.
        guard case let .numeric(mean) = try evaluator.evaluate(try FormulaExpression.parseArgument("mean(a)")),
              case let .numeric(meanKept) = try evaluator.evaluate(try FormulaExpression.parseArgument("mean(a, na.rm = TRUE)")) else {
            Issue.record("mean is not numeric")
            return
        }
        let allMissing = mean.allSatisfy { $0.isNaN }
        #expect(allMissing)
        #expect(meanKept == [Double](repeating: 0.5, count: 5))
        #expect(evaluator.constants.computed["mean(a, na.rm = TRUE)"] == 0.5)
    }

    /// Nested calls evaluate each argument once (linear time): I() and ifelse() nested
    /// near the depth limit in every argument position.
    @Test func nestedCallsEvaluateEachArgumentOnce() throws {
        let table = Table(
            source: "t.csv", columnNames: ["y", "x"], columns: [.numeric([1, 2, 3, 4]), .numeric([0.5, 2, 0.75, 3])],
            rowCount: 4)
        var yes = "x", no = "x"
        for _ in 0..<160 {
            yes = "ifelse(x > 1, \(yes), 0)"
            no = "ifelse(x > 1, 0, \(no))"
        }
        let nestedI = String(repeating: "I(", count: 480) + "x > 1" + String(repeating: ")", count: 480)
        let start = Date()
        for formula in ["y ~ I(\(yes))", "y ~ I(\(no))", "y ~ \(nestedI)"] {
            let frame = try ModelFrame(table: table, formula: try Formula.parse(formula))
            #expect(frame.rowCount == 4)
        }
        let yesFrame = try ModelFrame(table: table, formula: try Formula.parse("y ~ I(\(yes))"))
        if case let .numeric(values) = yesFrame.variables[0] {
            #expect(values == [0, 2, 0, 3])
        } else {
            Issue.record("not numeric")
        }
        let logical = try ModelFrame(table: table, formula: try Formula.parse("y ~ \(nestedI)"))
        if case let .factor(codes, levels, isLogical) = logical.variables[0] {
            #expect(codes == [0, 1, 0, 1] && levels == ["FALSE", "TRUE"] && isLogical)
        } else {
            Issue.record("not logical")
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    /// Predictions on the first rows alone (not the training set): data-dependent calls
    /// use the fit's values kept in the saved model, not the new rows' own.
    @Test(arguments: VocabularyFixtures.cases.filter { $0.predictions != nil })
    func predictsNewRowsAsR(_ reference: VocabularyCase) throws {
        let report = try Pipeline.fit(reference.request())
        let model = try SavedModel(jsonBytes: Array(try SavedModel(report: report).jsonText().utf8), path: "model.json")
        let rows = reference.predict_rows ?? 5
        let lines = try String(contentsOfFile: Repository.path("Examples/\(reference.data)"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).prefix(rows + 1)
        let scratch = try ScratchDirectory()
        let path = try scratch.write("first.csv", lines.joined(separator: "\n") + "\n")
        let predictions = try PredictPipeline.predictions(model: model, path: path, options: PredictionOptions())
        let expected = reference.predictions ?? []
        #expect(predictions.count == expected.count, "\(reference.testDescription): rows")
        for (row, (actual, value)) in zip(predictions.fit, expected).enumerated() {
            expectClose(actual, value, relative: 1e-10, "\(reference.testDescription) prediction[\(row)]")
        }
    }
}
