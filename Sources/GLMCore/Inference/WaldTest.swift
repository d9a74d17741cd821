import Foundation

/// One linear restriction Σ cⱼ βⱼ = r on a model's coefficients.
public struct LinearRestriction: Sendable, Equatable {
    /// The restriction as written.
    public let text: String
    /// cⱼ for every design column (aliased ones included, always 0 there).
    public let coefficients: [Double]
    public let rightHandSide: Double
}

/// A set of linear restrictions L β = r over a model's coefficients, parsed from text
/// such as `"x1, x2"` (each = 0), `"x1 = x2"`, `"x1 + x2 = 1"` or `"2*x1 - x2 = 0"`.
public struct LinearHypothesis: Sendable, Equatable {
    public let restrictions: [LinearRestriction]
    /// The model's coefficient names (R's), one per design column.
    public let coefficientNames: [String]

    /// Each restriction in a canonical form, e.g. `2*ldose - sexM:ldose = 1`.
    public var descriptions: [String] {
        restrictions.map { restriction in
            var parts: [String] = []
            for (column, value) in restriction.coefficients.enumerated() where value != 0 {
                let name = coefficientNames[column]
                let magnitude = abs(value)
                let term = magnitude == 1 ? name : "\(RFormat.format(magnitude, digits: 7))*\(name)"
                if parts.isEmpty {
                    parts.append(value < 0 ? "-" + term : term)
                } else {
                    parts.append((value < 0 ? "- " : "+ ") + term)
                }
            }
            return parts.joined(separator: " ") + " = " + RFormat.format(restriction.rightHandSide, digits: 7)
        }
    }

    /// Parses comma-separated restrictions over `coefficientNames`.
    ///
    /// Each restriction is `expression [= expression]` (no `=` means `= 0`), linear in the
    /// coefficients: numbers, coefficient names (R's, e.g. `(Intercept)`, `sexM:ldose`,
    /// `agegp75+`; or in backquotes), `+`, `-`, `*` and `/` by numbers, parentheses, and
    /// a number written before a name (`2x1`). Names are matched longest first, so names
    /// containing `-`, `+`, `/` or `,` need no quoting.
    ///
    /// - Throws: `unknownCoefficient` (with the nearest names), `aliasedCoefficient`,
    ///   `invalidRestriction`, or `redundantRestriction` when a restriction is a linear
    ///   combination of earlier ones (redundant or contradictory).
    public static func parse(_ text: String, coefficientNames: [String], aliased: [Bool]? = nil) throws -> LinearHypothesis {
        let tokens = try RestrictionLexer(text: text, names: coefficientNames).tokens()
        var groups: [[RestrictionToken]] = [[]]
        for token in tokens {
            if token.kind == .comma { groups.append([]) } else { groups[groups.count - 1].append(token) }
        }
        let characters = Array(text)
        var restrictions: [LinearRestriction] = []
        for group in groups {
            let source: String
            if let first = group.first, let last = group.last {
                source = String(characters[first.start..<last.end]).trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                source = ""
            }
            guard !group.isEmpty else {
                throw GLMError.invalidRestriction(
                    restriction: text, message: "an empty restriction (two commas in a row, or a comma at either end)")
            }
            var parser = RestrictionParser(tokens: group, text: source, columnCount: coefficientNames.count)
            let (lhs, rhs) = try parser.parseRestriction()
            var row = [Double](repeating: 0, count: coefficientNames.count)
            for (column, value) in lhs.coefficients { row[column] += value }
            for (column, value) in rhs.coefficients { row[column] -= value }
            if let column = row.firstIndex(where: { !$0.isFinite }) {
                throw GLMError.invalidRestriction(
                    restriction: source, message: "the multiplier of '\(coefficientNames[column])' is not finite (it overflows)")
            }
            guard (rhs.constant - lhs.constant).isFinite else {
                throw GLMError.invalidRestriction(restriction: source, message: "its constant is not finite (it overflows)")
            }
            guard row.contains(where: { $0 != 0 }) else {
                throw GLMError.invalidRestriction(restriction: source, message: "it involves no coefficient (or they cancel)")
            }
            if let aliased {
                for (column, value) in row.enumerated() where value != 0 && column < aliased.count && aliased[column] {
                    throw GLMError.aliasedCoefficient(name: coefficientNames[column])
                }
            }
            restrictions.append(LinearRestriction(text: source, coefficients: row, rightHandSide: rhs.constant - lhs.constant))
        }
        try checkIndependent(restrictions)
        return LinearHypothesis(restrictions: restrictions, coefficientNames: coefficientNames)
    }

    /// Throws `redundantRestriction` for the first restriction whose row of L is a
    /// linear combination of the rows before it, naming the ones it combines.
    static func checkIndependent(_ restrictions: [LinearRestriction]) throws {
        var basis: [[Double]] = []
        for (index, restriction) in restrictions.enumerated() {
            // Scaled by its largest multiplier first: the test must not depend on the scale
            // (the squares of 1e200 overflowed and of 1e-200 underflowed, and a lone
            // restriction was called a combination of none).
            let largest = restriction.coefficients.reduce(0) { max($0, abs($1)) }
            let row = largest > 0 ? restriction.coefficients.map { $0 / largest } : restriction.coefficients
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            var residual = row
            for vector in basis {
                let projection = zip(residual, vector).reduce(0) { $0 + $1.0 * $1.1 }
                for j in residual.indices { residual[j] -= projection * vector[j] }
            }
            let residualNorm = residual.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if residualNorm <= 1e-9 * norm {
                let earlier = Array(restrictions[..<index])
                let weights = combination(of: restriction.coefficients, from: earlier.map(\.coefficients))
                let involved = zip(earlier, weights).filter { abs($0.1) > 1e-9 }.map(\.0.text)
                throw GLMError.redundantRestriction(restriction: restriction.text, earlier: involved.isEmpty ? earlier.map(\.text) : involved)
            }
            basis.append(residual.map { $0 / residualNorm })
        }
    }

    /// The least-squares weights w with Σ wᵢ rowsᵢ ≈ target (rows independent).
    private static func combination(of target: [Double], from rows: [[Double]]) -> [Double] {
        let count = rows.count
        guard count > 0 else { return [] }
        var gram = [[Double]](repeating: [Double](repeating: 0, count: count), count: count)
        var right = [Double](repeating: 0, count: count)
        for i in 0..<count {
            right[i] = zip(rows[i], target).reduce(0) { $0 + $1.0 * $1.1 }
            for j in 0..<count { gram[i][j] = zip(rows[i], rows[j]).reduce(0) { $0 + $1.0 * $1.1 } }
        }
        return (try? SmallMatrix.solve(gram, right)) ?? [Double](repeating: 1, count: count)
    }
}

/// The joint Wald test of a linear hypothesis (car's `linearHypothesis` for a glm).
public struct WaldTestResult: Sendable {
    public let hypothesis: LinearHypothesis
    public let test: DevianceTest
    /// Number of restrictions q.
    public let df: Int
    /// The fit's residual degrees of freedom (the F test's denominator); car prints
    /// `Res.Df` as (df_residual + q, df_residual).
    public let residualDf: Int
    /// W = (Lβ̂ − r)ᵀ (L V Lᵀ)⁻¹ (Lβ̂ − r) for χ², W / q for F.
    public let statistic: Double
    public let pValue: Double
    /// Lβ̂ − r, one per restriction.
    public let estimates: [Double]
    /// L V Lᵀ, q × q.
    public let covariance: [[Double]]
    /// The dispersion V was scaled by.
    public let dispersion: Double
}

/// Wald tests of several coefficients at once.
public enum WaldTest {
    /// Tests `hypothesis` (see `LinearHypothesis.parse`) on `fit`, as
    /// `car::linearHypothesis(fit, ..., test = "Chisq"/"F")`: with V = φ (XᵀWX)⁻¹
    /// (R's `vcov`), W = (Lβ̂ − r)ᵀ (L V Lᵀ)⁻¹ (Lβ̂ − r) ~ χ²_q, or F = W/q ~ F(q, df_residual).
    ///
    /// - Parameter test: nil picks χ² for fixed and F for estimated dispersion.
    public static func test(fit: GLMFit, hypothesis text: String, test: DevianceTest? = nil) throws -> WaldTestResult {
        let hypothesis = try LinearHypothesis.parse(text, coefficientNames: fit.coefficientNames, aliased: fit.aliased)
        return try self.test(summary: try GLMSummary(fit: fit), hypothesis: hypothesis, test: test)
    }

    /// A joint Wald χ² test of linear restrictions on named parameters with covariance `v`
    /// (the plug-in model kinds: W = (Lθ̂ − r)ᵀ (L V Lᵀ)⁻¹ (Lθ̂ − r) ~ χ²_q).
    static func chiSquare(_ text: String, names: [String], estimates: [Double], covariance v: [[Double]]) throws -> WaldTestResult {
        let hypothesis = try LinearHypothesis.parse(text, coefficientNames: names)
        let q = hypothesis.restrictions.count
        guard q > 0 else { throw GLMError.invalidRestriction(restriction: text, message: "no restriction given") }
        let l = hypothesis.restrictions.map(\.coefficients)
        let order = estimates.count
        let values = hypothesis.restrictions.map { restriction in
            zip(restriction.coefficients, estimates).reduce(0) { $0 + $1.0 * $1.1 } - restriction.rightHandSide
        }
        let lv = l.map { row in (0..<order).map { j in (0..<order).reduce(0) { $0 + row[$1] * v[$1][j] } } }
        let lvl = l.indices.map { i in l.indices.map { k in zip(lv[i], l[k]).reduce(0) { $0 + $1.0 * $1.1 } } }
        let solved = try SmallMatrix.solve(lvl, values)
        let wald = zip(values, solved).reduce(0) { $0 + $1.0 * $1.1 }
        return WaldTestResult(
            hypothesis: hypothesis, test: .chisq, df: q, residualDf: 0, statistic: wald,
            pValue: Distributions.pchisq(wald, df: Double(q), lowerTail: false), estimates: values,
            covariance: lvl, dispersion: 1)
    }

    /// Tests an already parsed hypothesis with the summary's covariance matrix.
    public static func test(summary: GLMSummary, hypothesis: LinearHypothesis, test: DevianceTest? = nil) throws -> WaldTestResult {
        let fit = summary.fit
        let test = test ?? .automatic(for: fit.family)
        let kept = (0..<fit.design.columnCount).filter { !fit.aliased[$0] }
        for restriction in hypothesis.restrictions {
            for (column, value) in restriction.coefficients.enumerated() where value != 0 && fit.aliased[column] {
                throw GLMError.aliasedCoefficient(name: fit.coefficientNames[column])
            }
        }
        let q = hypothesis.restrictions.count
        guard q > 0 else { throw GLMError.invalidRestriction(restriction: "", message: "no restriction given") }
        // L over the coefficients the restrictions involve (a few of a model with thousands).
        let involved = kept.filter { column in hypothesis.restrictions.contains { $0.coefficients[column] != 0 } }
        let l = hypothesis.restrictions.map { restriction in involved.map { restriction.coefficients[$0] } }
        let beta = involved.map { fit.coefficients[$0] }
        let v = summary.covariance(columns: involved)
        let estimates = hypothesis.restrictions.indices.map { i in
            zip(l[i], beta).reduce(0) { $0 + $1.0 * $1.1 } - hypothesis.restrictions[i].rightHandSide
        }
        let lv = l.map { row in involved.indices.map { j in involved.indices.reduce(0) { $0 + row[$1] * v[$1][j] } } }
        let covariance = l.indices.map { i in l.indices.map { k in zip(lv[i], l[k]).reduce(0) { $0 + $1.0 * $1.1 } } }
        let solved = try SmallMatrix.solve(covariance, estimates)
        let wald = zip(estimates, solved).reduce(0) { $0 + $1.0 * $1.1 }
        let residualDf = fit.dfResidual
        let statistic: Double
        let pValue: Double
        switch test {
        case .chisq:
            statistic = wald
            pValue = Distributions.pchisq(wald, df: Double(q), lowerTail: false)
        case .f:
            guard residualDf > 0 else {
                throw GLMError.fitFailed(message: "the F test needs residual degrees of freedom, and this fit has none")
            }
            statistic = wald / Double(q)
            pValue = Distributions.pf(statistic, df1: Double(q), df2: Double(residualDf), lowerTail: false)
        }
        return WaldTestResult(
            hypothesis: hypothesis, test: test, df: q, residualDf: residualDf, statistic: statistic, pValue: pValue,
            estimates: estimates, covariance: covariance, dispersion: summary.dispersion)
    }
}

// MARK: - Parsing

struct RestrictionToken: Equatable {
    enum Kind: Equatable {
        case number(Double)
        case name(Int)
        case plus, minus, times, divide, equals, comma, open, close
    }

    let kind: Kind
    /// Character offsets into the text, [start, end).
    let start: Int
    let end: Int
}

/// Splits restriction text into tokens, matching coefficient names longest first.
struct RestrictionLexer {
    let text: [Character]
    let source: String
    let names: [[Character]]
    let nameStrings: [String]

    init(text: String, names: [String]) {
        self.source = text
        self.text = Array(text)
        self.nameStrings = names
        self.names = names.map(Array.init)
    }

    static func isIdentifier(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "." || character == "_"
    }

    static let operators: Set<Character> = ["+", "-", "*", "/", "=", ",", "(", ")"]

    /// The longest coefficient name at `position` that does not end in the middle of an
    /// identifier (so `x1` is not read from `x10`).
    func name(at position: Int) -> (index: Int, length: Int)? {
        var best: (index: Int, length: Int)?
        for (index, name) in names.enumerated() where !name.isEmpty && position + name.count <= text.count {
            guard text[position..<(position + name.count)].elementsEqual(name) else { continue }
            let after = position + name.count
            if let last = name.last, RestrictionLexer.isIdentifier(last), after < text.count,
               RestrictionLexer.isIdentifier(text[after]) {
                continue
            }
            if best == nil || name.count > best!.length { best = (index, name.count) }
        }
        return best
    }

    func unknown(_ name: String) -> GLMError {
        var suggestions = NameSuggestions.nearest(to: name, in: nameStrings)
        let bare = name.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "()"))
        if bare == "intercept", nameStrings.contains("(Intercept)"), !suggestions.contains("(Intercept)") {
            suggestions.insert("(Intercept)", at: 0)
        }
        return .unknownCoefficient(name: name, suggestions: suggestions)
    }

    /// A run of characters up to whitespace or an operator outside parentheses.
    func chunk(from start: Int) -> Int {
        var position = start
        var depth = 0
        while position < text.count {
            let character = text[position]
            if character == "(" { depth += 1 } else if character == ")" {
                if depth == 0 { break }
                depth -= 1
            } else if depth == 0 && (character.isWhitespace || RestrictionLexer.operators.contains(character)) {
                break
            }
            position += 1
        }
        return position
    }

    func number(at start: Int) -> (Double, Int)? {
        var position = start
        var sawDigit = false
        while position < text.count, text[position].isASCII, text[position].isNumber { position += 1; sawDigit = true }
        if position < text.count, text[position] == "." {
            position += 1
            while position < text.count, text[position].isASCII, text[position].isNumber { position += 1; sawDigit = true }
        }
        guard sawDigit else { return nil }
        if position < text.count, text[position] == "e" || text[position] == "E" {
            var exponent = position + 1
            if exponent < text.count, text[exponent] == "+" || text[exponent] == "-" { exponent += 1 }
            let digitsStart = exponent
            while exponent < text.count, text[exponent].isASCII, text[exponent].isNumber { exponent += 1 }
            if exponent > digitsStart { position = exponent }
        }
        guard let value = Double(String(text[start..<position])) else { return nil }
        return (value, position)
    }

    func tokens() throws -> [RestrictionToken] {
        var tokens: [RestrictionToken] = []
        var position = 0
        while position < text.count {
            let character = text[position]
            if character.isWhitespace {
                position += 1
                continue
            }
            if character == "`" {
                guard let close = text[(position + 1)...].firstIndex(of: "`") else {
                    throw GLMError.invalidRestriction(restriction: source, message: "a backquote is never closed")
                }
                let quoted = String(text[(position + 1)..<close])
                guard let index = nameStrings.firstIndex(of: quoted) else { throw unknown(quoted) }
                tokens.append(RestrictionToken(kind: .name(index), start: position, end: close + 1))
                position = close + 1
                continue
            }
            if let match = name(at: position) {
                tokens.append(RestrictionToken(kind: .name(match.index), start: position, end: position + match.length))
                position += match.length
                continue
            }
            if let (value, end) = number(at: position) {
                guard value.isFinite else {
                    throw GLMError.invalidRestriction(
                        restriction: source,
                        message: "the number \(String(text[position..<end])) is not finite (beyond ±1.8e308)")
                }
                // A number glued to letters (`2x1` is fine, `3rd` is not a name) is checked by the parser.
                tokens.append(RestrictionToken(kind: .number(value), start: position, end: end))
                position = end
                continue
            }
            let single: RestrictionToken.Kind? = switch character {
            case "+": .plus
            case "-": .minus
            case "*": .times
            case "/": .divide
            case "=": .equals
            case ",": .comma
            case ")": .close
            default: nil
            }
            if let single {
                tokens.append(RestrictionToken(kind: single, start: position, end: position + 1))
                position += 1
                continue
            }
            if character == "(" {
                // "(name)" that is no coefficient reads as a misspelt name, e.g. "(Intercpt)".
                // Only the run up to the next parenthesis, space or operator is looked at, so
                // that deeply nested parentheses cost linear time.
                var close = position + 1
                while close < text.count, !text[close].isWhitespace, !RestrictionLexer.operators.contains(text[close]) {
                    close += 1
                }
                let after = close + 1
                if close > position + 1, close < text.count, text[close] == ")",
                   after == text.count || text[after].isWhitespace || RestrictionLexer.operators.contains(text[after]) {
                    let inner = String(text[(position + 1)..<close])
                    if !nameStrings.contains(inner), Double(inner) == nil {
                        throw unknown(String(text[position..<after]))
                    }
                }
                tokens.append(RestrictionToken(kind: .open, start: position, end: position + 1))
                position += 1
                continue
            }
            let end = max(chunk(from: position), position + 1)
            throw unknown(String(text[position..<end]))
        }
        return tokens
    }
}

/// A linear form Σ cⱼ βⱼ + constant.
struct LinearForm {
    var coefficients: [Int: Double] = [:]
    var constant: Double = 0

    var isConstant: Bool { coefficients.values.allSatisfy { $0 == 0 } }

    func scaled(by factor: Double) -> LinearForm {
        LinearForm(coefficients: coefficients.mapValues { $0 * factor }, constant: constant * factor)
    }

    static func + (lhs: LinearForm, rhs: LinearForm) -> LinearForm {
        var result = lhs
        for (column, value) in rhs.coefficients { result.coefficients[column, default: 0] += value }
        result.constant += rhs.constant
        return result
    }
}

/// Recursive descent over one restriction's tokens:
/// restriction := sum ['=' sum]; sum := term (('+'|'-') term)*;
/// term := unary (('*'|'/') unary | juxtaposed primary)*; unary := ('+'|'-') unary | primary;
/// primary := number | name | '(' sum ')'.
struct RestrictionParser {
    let tokens: [RestrictionToken]
    let text: String
    let columnCount: Int
    var index = 0
    /// Nested parentheses and signs being parsed; bounded as a formula's depth is.
    private var depth = 0

    init(tokens: [RestrictionToken], text: String, columnCount: Int) {
        self.tokens = tokens
        self.text = text
        self.columnCount = columnCount
    }

    func error(_ message: String) -> GLMError { .invalidRestriction(restriction: text, message: message) }

    var current: RestrictionToken? { index < tokens.count ? tokens[index] : nil }

    mutating func parseRestriction() throws -> (LinearForm, LinearForm) {
        let lhs = try parseSum()
        var rhs = LinearForm()
        if current?.kind == .equals {
            index += 1
            rhs = try parseSum()
            if current?.kind == .equals { throw error("more than one '='") }
        }
        if current != nil { throw error("unexpected '\(describe(current!))'") }
        return (lhs, rhs)
    }

    func describe(_ token: RestrictionToken) -> String {
        switch token.kind {
        case let .number(value): return RFormat.format(value, digits: 15)
        case .name: return "coefficient name"
        case .plus: return "+"
        case .minus: return "-"
        case .times: return "*"
        case .divide: return "/"
        case .equals: return "="
        case .comma: return ","
        case .open: return "("
        case .close: return ")"
        }
    }

    mutating func parseSum() throws -> LinearForm {
        var result = try parseTerm()
        while let token = current, token.kind == .plus || token.kind == .minus {
            index += 1
            let term = try parseTerm()
            result = result + (token.kind == .plus ? term : term.scaled(by: -1))
        }
        return result
    }

    mutating func parseTerm() throws -> LinearForm {
        var result = try parseUnary()
        var previousWasNumber = false
        if index > 0, case .number = tokens[index - 1].kind { previousWasNumber = true }
        while let token = current {
            switch token.kind {
            case .times:
                index += 1
                result = try multiply(result, try parseUnary())
            case .divide:
                index += 1
                let divisor = try parseUnary()
                guard divisor.isConstant else { throw error("division by a coefficient is not linear") }
                guard divisor.constant != 0 else { throw error("division by zero") }
                result = result.scaled(by: 1 / divisor.constant)
            case .name where previousWasNumber, .open where previousWasNumber:
                // "2x1" or "2 (x1 - x2)": a number written before a name multiplies it.
                result = try multiply(result, try parsePrimary())
            case .number:
                throw error("two numbers in a row; write '*' between them")
            case .name:
                throw error("two coefficient names in a row; join them with '+', '-' or ','")
            default:
                return result
            }
            previousWasNumber = false
        }
        return result
    }

    func multiply(_ lhs: LinearForm, _ rhs: LinearForm) throws -> LinearForm {
        if lhs.isConstant { return rhs.scaled(by: lhs.constant) }
        if rhs.isConstant { return lhs.scaled(by: rhs.constant) }
        throw error("a product of two coefficients is not linear")
    }

    /// Counts one level of nesting, refusing input deeper than formulas may be.
    mutating func enter() throws {
        depth += 1
        guard depth <= FormulaParser.maximumDepth else {
            throw error("nested deeper than \(TextElision.groupedInteger(FormulaParser.maximumDepth)) levels of "
                + "parentheses and signs; write it with fewer")
        }
    }

    mutating func parseUnary() throws -> LinearForm {
        try enter()
        defer { depth -= 1 }
        guard let token = current else { throw error("it ends where a number or coefficient name was expected") }
        switch token.kind {
        case .plus:
            index += 1
            return try parseUnary()
        case .minus:
            index += 1
            return try parseUnary().scaled(by: -1)
        default:
            return try parsePrimary()
        }
    }

    mutating func parsePrimary() throws -> LinearForm {
        guard let token = current else { throw error("it ends where a number or coefficient name was expected") }
        switch token.kind {
        case let .number(value):
            index += 1
            return LinearForm(coefficients: [:], constant: value)
        case let .name(column):
            index += 1
            return LinearForm(coefficients: [column: 1], constant: 0)
        case .open:
            index += 1
            let inner = try parseSum()
            guard current?.kind == .close else { throw error("a '(' is never closed") }
            index += 1
            return inner
        default:
            throw error("unexpected '\(describe(token))' where a number or coefficient name was expected")
        }
    }
}
