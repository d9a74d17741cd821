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
