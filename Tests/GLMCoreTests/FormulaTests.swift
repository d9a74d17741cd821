import Foundation
import Testing
@testable import GLMCore

@Suite("Formula parsing and terms")
struct FormulaTests {
    static func labels(_ formula: String, columns: [String] = ["y", "a", "b", "c", "d", "x", "z"]) throws -> [String] {
        try Terms(formula: try Formula.parse(formula), columnNames: columns).termLabels
    }

    static func intercept(_ formula: String) throws -> Bool {
        try Terms(formula: try Formula.parse(formula), columnNames: ["y", "a", "b", "x"]).hasIntercept
    }

    /// Term labels and their order as R's terms() gives them (checked in R 4.2.2).
    @Test func termsExpandAsInR() throws {
        #expect(try Self.labels("y ~ a*b") == ["a", "b", "a:b"])
        #expect(try Self.labels("y ~ (a+b+c)^2 - a:b + b %in% a") == ["a", "b", "c", "a:c", "b:c", "a:b"])
        #expect(try Self.labels("y ~ a/b + c/(d+x)") == ["a", "c", "a:b", "c:d", "c:x"])
        #expect(try Self.labels("y ~ b:a + a + x:a") == ["a", "b:a", "a:x"])
        #expect(try Self.labels("y ~ a*b*c - a:b:c") == ["a", "b", "c", "a:b", "a:c", "b:c"])
        #expect(try Self.labels("y ~ .", columns: ["y", "a", "b"]) == ["a", "b"])
        #expect(try Self.labels("cbind(y, a) ~ .", columns: ["y", "a", "b", "x"]) == ["b", "x"])
        #expect(try Self.labels("log(y) ~ . - b", columns: ["y", "a", "b", "x"]) == ["a", "x"])
        #expect(try Self.labels("y ~ log(x) + I(x^2) + I(x * 2) + I(x/2)") == ["log(x)", "I(x^2)", "I(x * 2)", "I(x/2)"])
        #expect(try Self.labels("y ~ a + offset(log(x))") == ["a"])
        #expect(try Self.labels("y ~ `my var` + a", columns: ["y", "my var", "a"]) == ["`my var`", "a"])
    }

    @Test func interceptRules() throws {
        #expect(try Self.intercept("y ~ a"))
        #expect(try !Self.intercept("y ~ a - 1"))
        #expect(try !Self.intercept("y ~ 0 + a"))
        #expect(try !Self.intercept("y ~ -1 + a"))
        #expect(try Self.intercept("y ~ 0 + a + 1"))
    }

    @Test func contrastsFollowRsRule() throws {
        let terms = try Terms(formula: try Formula.parse("y ~ b:a + a + x:a"), columnNames: ["y", "a", "b", "x"])
        // Variables in order of appearance: b, a, x. Terms: a, b:a, a:x.
        let a = 1, b = 0, x = 2
        #expect(terms.usesContrasts(variable: a, inTerm: 0))
        #expect(terms.usesContrasts(variable: b, inTerm: 1))   // b:a without b is a, present
        #expect(!terms.usesContrasts(variable: a, inTerm: 1))  // b:a without a is b, absent
        #expect(!terms.usesContrasts(variable: a, inTerm: 2))
        #expect(terms.usesContrasts(variable: x, inTerm: 2))
    }

    @Test func syntaxErrorsPointAtTheFault() {
        let cases: [(String, Int)] = [
            ("y ~ x +", 7), ("y ~ (x + z", 10), ("y x", 2), ("~", 1), ("y ~ x ~ z", 6), ("y ~ x $ z", 6),
            ("y ~ log(x", 9), ("y ~ x + 2", 8), ("y ~ (a + b)^x", 11), ("", 0), ("y ~ `x", 4), ("y ~ x %o% z", 6),
        ]
        for (formula, position) in cases {
            do {
                let parsed = try Formula.parse(formula)
                _ = try Terms(formula: parsed, columnNames: ["y", "x", "z"])
                Issue.record("'\(formula)' parsed")
            } catch let GLMError.formulaSyntax(text, at, message) {
                #expect(text == formula)
                #expect(at == position, "'\(formula)': \(message)")
            } catch {
                Issue.record("'\(formula)': \(error)")
            }
        }
    }

    @Test func caretMessageShowsTheFormula() {
        let error = GLMError.formulaSyntax(formula: "y ~ x +", position: 7, message: "expected a term after '+'")
        #expect(error.message == "invalid formula: expected a term after '+'\n  y ~ x +\n         ^")
        #expect(error.exitStatus == 64)
    }

    /// Deparsing a parsed formula and parsing it again gives the same formula.
    @Test func deparseRoundTrips() throws {
        for text in ["y ~ a*b + log(x + 1) - 1", "cbind(k, n - k) ~ I((x - 1)^2) + offset(log(z))",
                     "Menarche/Total ~ Age", "y ~ (a + b + c)^3", "y ~ -1 + a:b"] {
            let once = try Formula.parse(text)
            let twice = try Formula.parse(once.deparsed)
            #expect(once == Formula(text: once.text, response: twice.response, predictors: twice.predictors))
        }
    }
}

/// Issue 23: one depth limit, checked while parsing; long `+` runs between terms; named
/// arguments carried in the tree and refused by name; missing columns all named.
@Suite("Formula depth, length and named arguments")
struct FormulaLimitTests {
    static let limit = FormulaParser.maximumDepth

    static func nested(_ open: String, _ inner: String, _ close: String, _ depth: Int) -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    /// The shapes that build deep trees, each `depth` levels below the formula's top.
    static func deepShapes(_ depth: Int) -> [String] {
        [
            "y ~ " + nested("(", "x", ")", depth),
            "y ~ " + nested("I(", "x", ")", depth),
            "y ~ I(" + String(repeating: "-", count: depth) + "x)",
            "y ~ I(" + Array(repeating: "x", count: depth).joined(separator: " + ") + ")",
            "y ~ I(" + Array(repeating: "x", count: depth).joined(separator: "^") + ")",
            nested("(", "y", ")", depth) + " ~ x",
        ]
    }

    static func isDepthError(_ error: Error) -> Bool {
        guard case let GLMError.formulaSyntax(_, _, message) = error else { return false }
        return message.hasPrefix("nested deeper than 500 levels")
    }

    @Test func deepFormulasAreRefusedWhileParsing() {
        for depth in [Self.limit + 5, 30_000] {
            for formula in Self.deepShapes(depth) {
                let start = Date()
                #expect(throws: GLMError.self) { _ = try Formula.parse(formula) }
                do {
                    _ = try Formula.parse(formula)
                } catch {
                    #expect(Self.isDepthError(error), "\(formula.prefix(40)): \(error)")
                    #expect((error as? GLMError)?.exitStatus == 64)
                    // The message shows the formula around the fault, not all of it.
                    #expect((error as? GLMError)?.message.utf8.count ?? 0 < 1_000)
                }
                #expect(Date().timeIntervalSince(start) < 10)
            }
        }
        #expect(throws: GLMError.self) { _ = try Formula.parse("y ~ " + String(repeating: "-", count: 100_000) + "x") }
    }

    /// The deepest formulas accepted, through every walk glmfit makes (terms, model
    /// frame, design, deparse, saved text, equality, hashing, destruction), on a thread
    /// with the stack glmfit's main thread has by default (8 MB), where these stages run;
    /// this debug build's frames are larger than the release build's. A stack overflow
    /// would kill the test process.
    @Test func deepestFormulasOnASmallStack() throws {
        let depth = Self.limit - 10
        let table = Table(
            source: "t.csv", columnNames: ["y", "x"], columns: [.numeric([1, 2, 3, 4]), .numeric([0.5, 0.25, 0.75, 0.125])],
            rowCount: 4)
        /// Written by the thread before it signals, read after the wait.
        final class Failures: @unchecked Sendable { var list: [String] = [] }
        let failures = Failures()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            for formula in Self.deepShapes(depth) {
                do {
                    let parsed = try Formula.parse(formula)
                    let frame = try ModelFrame(table: table, formula: parsed)
                    _ = try Design(frame: frame)
                    let labels = frame.terms.variableLabels + [parsed.deparsed]
                    for variable in frame.terms.variables { _ = try variable.savedText() }
                    if parsed != (try Formula.parse(formula)) || labels.isEmpty { failures.list.append(formula) }
                    _ = Set([parsed.predictors])
                } catch {
                    failures.list.append("\(formula.prefix(30)): \(error)")
                }
            }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        done.wait()
        #expect(failures.list == [])
    }

    /// `y ~ x1 + ... + x5000`, a generated formula, is not limited by the depth: its run of
    /// `+` is built balanced, with the terms in the order written.
    @Test func longRunsOfTermsExpandInOrder() throws {
        let names = (1...5_000).map { "x\($0)" }
        let text = "y ~ " + names.joined(separator: " + ")
        let formula = try Formula.parse(text)
        #expect(formula.deparsed == text)
        let start = Date()
        let terms = try Terms(formula: formula, columnNames: ["y"] + names)
        #expect(terms.termLabels == names)
        let minus = try Terms(formula: try Formula.parse(text + " - x17 - 1 + x17:x18"), columnNames: ["y"] + names)
        #expect(minus.termLabels == names.filter { $0 != "x17" } + ["x17:x18"])
        #expect(!minus.hasIntercept)
        let wide = try Terms(formula: try Formula.parse("y ~ ."), columnNames: ["y"] + names)
        #expect(wide.termLabels == names)
        #expect(Date().timeIntervalSince(start) < 10)
        // Inside a call, `+` is arithmetic and stays left-nested, as R adds.
        let sum = try Formula.parse("y ~ I(a + b + c)").predictors
        #expect(sum == .call("I", [.binary("+", .binary("+", .name("a"), .name("b")), .name("c"))]))
    }

    @Test func namedArgumentsAreReadAndRefusedByName() throws {
        let formula = try Formula.parse("y ~ log(x, base = 2) + poly(x, 2, raw = TRUE)")
        guard case let .binary("+", log, poly) = formula.predictors, let sqrtFormula = try? Formula.parse("y ~ sqrt(x, base = 2)") else {
            Issue.record("\(formula.predictors)")
            return
        }
        #expect(log == .call("log", [.name("x"), .argument("base", .number(2, "2"))]))
        #expect(poly == .call("poly", [.name("x"), .number(2, "2"), .argument("raw", .logical(true))]))
        #expect(log.deparsed == "log(x, base = 2)")
        #expect(poly.deparsed == "poly(x, 2, raw = TRUE)")
        // log() takes base (the expression language); sqrt() takes no named argument.
        #expect(throws: GLMError.unsupportedArgument(function: "sqrt", argument: "base")) {
            _ = try Terms(formula: sqrtFormula, columnNames: ["y", "x"])
        }
        #expect(GLMError.unsupportedArgument(function: "log", argument: "base").message
            == "log(): argument 'base' is not supported")
        #expect(throws: GLMError.unsupportedArgument(function: "offset", argument: "scale")) {
            _ = try Terms(formula: try Formula.parse("y ~ x + offset(x, scale = 2)"), columnNames: ["y", "x"])
        }
        // Not an argument: '=' anywhere else is a syntax error at the '='.
        for (text, position) in [("y ~ x = 2", 6), ("y ~ log(x, = 2)", 11), ("y ~ log(x = = 2)", 12)] {
            do {
                _ = try Formula.parse(text)
                Issue.record("\(text) parsed")
            } catch let GLMError.formulaSyntax(_, at, _) {
                #expect(at == position, "\(text)")
            }
        }
    }

    @Test func everyMissingColumnIsNamedInFormulaOrder() throws {
        let formula = try Formula.parse("y ~ q3 + offset(log(q1)) + x:q2 + q3:q4")
        let columns = ["y", "x", "abcdef"]
        let suggestions = ["q3", "q1", "q2", "q4"].map { NameSuggestions.nearest(to: $0, in: columns) }
        #expect(throws: GLMError.unknownColumns(names: ["q3", "q1", "q2", "q4"], suggestions: suggestions)) {
            _ = try ModelFrame.requiredColumns(formula: formula, columnNames: columns, weightsColumn: nil)
        }
        #expect(throws: GLMError.unknownColumn(name: "qqqq", suggestions: [])) {
            _ = try ModelFrame.requiredColumns(formula: try Formula.parse("y ~ qqqq + x"), columnNames: columns,
                                               weightsColumn: nil)
        }
        let many = GLMError.unknownColumns(names: (1...25).map { "m\($0)" }, suggestions: [["x"]])
        #expect(many.message == "25 names in the formula are not columns of the data: 'm1' (did you mean 'x'?), "
            + (2...10).map { "'m\($0)'" }.joined(separator: ", ") + ", and 15 more")
    }

    @Test func restrictionsRefuseNonFiniteNumbersAndDeepNesting() throws {
        let names = ["(Intercept)", "x1", "x2"]
        for text in ["1e400*x1 = 0", "x1 = -1e999", "1e300*1e300*x1", "x1/1e-320 = 0"] {
            do {
                _ = try LinearHypothesis.parse(text, coefficientNames: names)
                Issue.record("\(text) parsed")
            } catch let GLMError.invalidRestriction(_, message) {
                #expect(message.contains("not finite"), "\(text): \(message)")
            }
        }
        let fine = try LinearHypothesis.parse(Self.nested("(", "x1", ")", Self.limit - 5) + " = "
            + String(repeating: "-", count: Self.limit - 5) + "x2", coefficientNames: names)
        // An odd number of minus signs on the right: -x2 there, +x2 in Lβ - r.
        let sign: Double = (Self.limit - 5) % 2 == 1 ? -1 : 1
        #expect(fine.restrictions.first?.coefficients == [0, 1, -sign])
        for text in [Self.nested("(", "x1", ")", 30_000), String(repeating: "-", count: 100_000) + "x1"] {
            let start = Date()
            do {
                _ = try LinearHypothesis.parse(text, coefficientNames: names)
                Issue.record("deep restriction parsed")
            } catch let GLMError.invalidRestriction(restriction, message) {
                #expect(message.hasPrefix("nested deeper than 500 levels"))
                #expect(GLMError.invalidRestriction(restriction: restriction, message: message).message.utf8.count < 1_000)
            }
            #expect(Date().timeIntervalSince(start) < 10)
        }
    }

    /// Every message that echoes a name, a level, a value or a formula stays short when
    /// that text is a million characters long (a 200 MB column name was printed whole).
    @Test func messagesEchoingLabelsAreBounded() {
        let long = String(repeating: "n", count: 1_000_000)
        let errors: [GLMError] = [
            .unknownColumn(name: long, suggestions: [long]), .unknownColumns(names: [long, long], suggestions: [[long]]),
            .nonNumericValue(source: "d.csv", line: 2, column: long, value: long),
            .duplicateColumnName(source: "d.csv", name: long, firstColumn: 1, secondColumn: 2),
            .invalidTerm(term: long, message: "m"), .nonFiniteValue(variable: long, line: 2),
            .noCompleteRows(variables: [long, long]), .singleLevelFactor(variable: long, level: long),
            .unsupportedArgument(function: "log", argument: long), .formulaSyntax(formula: long, position: 500_000, message: "m"),
            .invalidRestriction(restriction: long, message: "m"), .unknownCoefficient(name: long, suggestions: [long]),
            .aliasedCoefficient(name: long), .redundantRestriction(restriction: long, earlier: [long]),
            .profileFoundBetterFit(coefficient: long), .singleCluster(column: long, value: long),
            .repeatedWave(column: long, wave: long, idColumn: long, cluster: long, lines: [2, 3]),
            .invalidCluster(column: long, line: 2, message: "m"), .invalidWeights(column: long, line: 2, value: -1, message: "m"),
            .missingColumn(source: "d.csv", name: long, suggestions: []),
            .unseenLevel(source: "d.csv", line: 2, column: long, level: long, known: [long]),
            .missingValue(source: "d.csv", line: 2, column: long, term: long),
        ]
        for error in errors {
            #expect(error.message.utf8.count < 2_500, "\(error.message.prefix(80))")
            #expect(error.message.contains("…(1,000,000 characters)") || error.message.contains("…"))
        }
    }

    @Test func longTextIsElided() {
        #expect(TextElision.elided("short") == "short")
        let long = String(repeating: "é", count: 57_000)
        #expect(TextElision.elided(long) == String(repeating: "é", count: 200) + "…(57,000 characters)")
        #expect(TextElision.elided(String(repeating: "a", count: 200)) == String(repeating: "a", count: 200))
        #expect(TextElision.groupedInteger(57_000_000) == "57,000,000")
        #expect(TextElision.groupedInteger(999) == "999")
        let window = TextElision.window(String(repeating: "a", count: 1_000) + "^" + String(repeating: "b", count: 1_000),
                                        around: 1_000)
        #expect(window.text.count == 2 * 80 + 2)
        #expect(Array(window.text)[window.position] == "^")
    }
}

/// Random formulas from the grammar and random byte-level mutations of them: parsing
/// either succeeds or throws a formula syntax error; it never traps or hangs.
@Suite("Formula parser property tests")
struct FormulaPropertyTests {
    typealias SeededGenerator = SplitMix64

    static func randomTerm(_ depth: Int, _ rng: inout SeededGenerator) -> String {
        let names = ["a", "b", "x", "y", "`q r`", ".", "1", "0", "2"]
        if depth <= 0 { return names.randomElement(using: &rng) ?? "a" }
        switch Int.random(in: 0..<9, using: &rng) {
        case 0: return "(" + randomTerm(depth - 1, &rng) + ")"
        case 1: return ["log", "I", "factor", "offset", "sqrt", "cbind"].randomElement(using: &rng)! + "(" + randomTerm(depth - 1, &rng) + ")"
        case 2: return "-" + randomTerm(depth - 1, &rng)
        case 3: return randomTerm(depth - 1, &rng) + "^" + ["2", "3", "x", "0"].randomElement(using: &rng)!
        default:
            let op = ["+", "-", "*", "/", ":", "%in%"].randomElement(using: &rng)!
            return randomTerm(depth - 1, &rng) + " " + op + " " + randomTerm(depth - 1, &rng)
        }
    }

    /// A formula built of deep and long pieces, random in kind and size: wrappers
    /// (parentheses, calls, I(), unary signs) nested up to 3,000 deep around a core (a name,
    /// a long backquoted name, `.`, a chain of `+` or `^` up to 3,000 long), beside a chain
    /// of up to 3,000 terms.
    static func deepFormula(_ rng: inout SeededGenerator) -> String {
        let wrappers: [(String, String)] = [("(", ")"), ("I(", ")"), ("log(", ")"), ("-", ""), ("+", ""), ("I(-", ")"),
                                            ("factor(", ")"), ("offset(", ")"), ("exp(", " + 1)")]
        let depth = [0, 1, 10, 490, 510, 990, 3_000].randomElement(using: &rng) ?? 0
        var prefix = ""
        var suffix = ""
        for _ in 0..<Int.random(in: 0...depth, using: &rng) {
            let (open, close) = wrappers.randomElement(using: &rng) ?? ("(", ")")
            prefix += open
            suffix = close + suffix
        }
        let length = [1, 2, 100, 999, 1_001, 3_000].randomElement(using: &rng) ?? 1
        let core: String
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: core = (0..<length).map { "x\($0 % 7)" }.joined(separator: " + ")
        case 1: core = Array(repeating: "x1", count: min(length, 1_200)).joined(separator: "^")
        case 2: core = "`" + String(repeating: "n", count: length * 10) + "`"
        case 3: core = "."
        default: core = "x0"
        }
        let terms = (0..<Int.random(in: 0...3_000, using: &rng)).map { "x\($0 % 7)" }
        return "y ~ " + prefix + core + suffix + terms.map { " + " + $0 }.joined()
    }

    /// Deep and long formulas end in terms or a usage error, in time linear in their length
    /// (`I(` 8,000 deep took 22 s before: quadratic).
    @Test func deepAndLongFormulasEndInTermsOrAnError() {
        var rng = SeededGenerator(seed: 20261206)
        let columns = ["y"] + (0..<7).map { "x\($0)" }
        var outcomes = [0, 0]
        for _ in 0..<150 {
            let formula = Self.deepFormula(&rng)
            let start = Date()
            do {
                let parsed = try Formula.parse(formula)
                let terms = try Terms(formula: parsed, columnNames: columns)
                _ = terms.termLabels.count + parsed.deparsed.count
                outcomes[0] += 1
            } catch let error as GLMError {
                #expect(error.exitStatus == 64, "\(formula.prefix(60)): \(error)")
                #expect(error.message.utf8.count < 2_000)
                outcomes[1] += 1
            } catch {
                Issue.record("\(formula.prefix(60)): unexpected \(error)")
            }
            let seconds = Date().timeIntervalSince(start)
            #expect(seconds < 0.5 + 1e-4 * Double(formula.utf8.count), "\(formula.utf8.count) characters: \(seconds) s")
        }
        #expect(outcomes[0] > 10 && outcomes[1] > 10, "\(outcomes)")
    }

    /// The same for --wald restrictions: parentheses and signs up to 3,000 deep around
    /// chains of up to 3,000 coefficients and numbers (some not finite).
    @Test func deepAndLongRestrictionsEndInAHypothesisOrAnError() {
        var rng = SeededGenerator(seed: 20261207)
        let names = ["(Intercept)", "x1", "x2", "g:x1"]
        for _ in 0..<150 {
            let depth = [0, 5, 490, 510, 3_000].randomElement(using: &rng) ?? 0
            var prefix = ""
            var suffix = ""
            for _ in 0..<Int.random(in: 0...depth, using: &rng) {
                if Bool.random(using: &rng) {
                    prefix += "("
                    suffix = ")" + suffix
                } else {
                    prefix += ["-", "+", "2*"].randomElement(using: &rng) ?? "-"
                }
            }
            let pieces = ["x1", "x2", "g:x1", "3", "1e400", "0.5*x2", "x1/1e-320", "(Intercept)"]
            let chain = (0..<Int.random(in: 1...3_000, using: &rng)).map { _ in pieces.randomElement(using: &rng) ?? "x1" }
            let text = prefix + chain.joined(separator: [" + ", " - "].randomElement(using: &rng) ?? " + ") + suffix
                + (Bool.random(using: &rng) ? " = 1" : ", x2 = g:x1")
            let start = Date()
            do {
                _ = try LinearHypothesis.parse(text, coefficientNames: names)
            } catch let error as GLMError {
                #expect([64, 65].contains(error.exitStatus), "\(text.prefix(60)): \(error)")
                #expect(error.message.utf8.count < 2_000)
            } catch {
                Issue.record("\(text.prefix(60)): unexpected \(error)")
            }
            let seconds = Date().timeIntervalSince(start)
            #expect(seconds < 0.5 + 1e-4 * Double(text.utf8.count), "\(text.utf8.count) characters: \(seconds) s")
        }
    }

    @Test func randomAndMutatedFormulasNeverTrap() {
        var rng = SeededGenerator(seed: 20261122)
        let alphabet = Array("~+-*/:^()%,.` abxy01I\u{0}é\n")
        for _ in 0..<5000 {
            var formula = "y ~ " + Self.randomTerm(Int.random(in: 0...4, using: &rng), &rng)
            if Bool.random(using: &rng) {
                var characters = Array(formula)
                for _ in 0..<Int.random(in: 1...3, using: &rng) where !characters.isEmpty {
                    let index = Int.random(in: 0..<characters.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: characters.remove(at: index)
                    case 1: characters.insert(alphabet.randomElement(using: &rng)!, at: index)
                    default: characters[index] = alphabet.randomElement(using: &rng)!
                    }
                }
                formula = String(characters)
            }
            do {
                let parsed = try Formula.parse(formula)
                _ = try Terms(formula: parsed, columnNames: ["y", "a", "b", "x", "q r"])
            } catch let error as GLMError {
                #expect(error.exitStatus == 64, "\(formula): \(error)")
            } catch {
                Issue.record("\(formula): unexpected \(error)")
            }
        }
    }
}
