/// An R expression as it appears in a formula.
public indirect enum FormulaExpression: Equatable, Sendable {
    case name(String)
    /// A numeric constant with its source text.
    case number(Double, String)
    case call(String, [FormulaExpression])
    case binary(String, FormulaExpression, FormulaExpression)
    case unary(String, FormulaExpression)
    case parenthesized(FormulaExpression)
    /// `.`: every column not used in the response.
    case dot

    /// The expression as R's `deparse()` prints it; this is the variable's name in
    /// term labels and coefficient names (`log(wbc)`, `I(x^2)`, `cbind(k, n - k)`).
    public var deparsed: String {
        switch self {
        case let .name(name):
            return FormulaExpression.isSyntacticName(name) ? name : "`\(name)`"
        case let .number(value, _):
            return RFormat.deparse(value)
        case let .call(function, arguments):
            return "\(function)(\(arguments.map(\.deparsed).joined(separator: ", ")))"
        case let .binary(op, lhs, rhs):
            switch op {
            case "/", "^", ":":
                return "\(lhs.deparsed)\(op)\(rhs.deparsed)"
            default:
                return "\(lhs.deparsed) \(op) \(rhs.deparsed)"
            }
        case let .unary(op, operand):
            return "\(op)\(operand.deparsed)"
        case let .parenthesized(inner):
            return "(\(inner.deparsed))"
        case .dot:
            return "."
        }
    }

    /// Every column name the expression refers to (R's `all.vars`), in order of appearance.
    public var columnNames: [String] {
        var names: [String] = []
        collectNames(into: &names)
        return names
    }

    private func collectNames(into names: inout [String]) {
        switch self {
        case let .name(name):
            if !names.contains(name) { names.append(name) }
        case .number, .dot:
            break
        case let .call(_, arguments):
            for argument in arguments { argument.collectNames(into: &names) }
        case let .binary(_, lhs, rhs):
            lhs.collectNames(into: &names)
            rhs.collectNames(into: &names)
        case let .unary(_, operand), let .parenthesized(operand):
            operand.collectNames(into: &names)
        }
    }

    private static let reservedWords: Set<String> = [
        "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE",
        "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "in",
    ]

    /// R's rule for a name that needs no backquotes: letters, digits, `.` and `_`,
    /// starting with a letter or a `.` not followed by a digit, and not a reserved word.
    static func isSyntacticName(_ name: String) -> Bool {
        guard let first = name.first, !reservedWords.contains(name) else { return false }
        if !(first.isLetter || first == ".") { return false }
        if first == ".", name.count > 1 {
            let second = name[name.index(after: name.startIndex)]
            if second.isASCII && second.isNumber { return false }
        }
        return name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" }
    }
}

/// A parsed formula `response ~ predictors`.
public struct Formula: Equatable, Sendable {
    public let text: String
    public let response: FormulaExpression?
    public let predictors: FormulaExpression

    /// Parses an R model formula; syntax errors carry the character position at fault.
    public static func parse(_ text: String) throws -> Formula {
        let tokens = try FormulaLexer(formula: text).tokens()
        var parser = FormulaParser(formula: text, tokens: tokens)
        return try parser.parseFormula()
    }

    /// The formula as R deparses it: `counts ~ outcome + treatment`.
    public var deparsed: String {
        if let response { return "\(response.deparsed) ~ \(predictors.deparsed)" }
        return "~\(predictors.deparsed)"
    }
}

/// A Pratt parser with R's operator precedence:
/// `^` > unary `-`/`+` > `:` > `%in%` > `*` `/` > binary `+` `-` > `~`.
struct FormulaParser {
    let formula: String
    let tokens: [FormulaToken]
    var index = 0

    init(formula: String, tokens: [FormulaToken]) {
        self.formula = formula
        self.tokens = tokens
    }

    private var current: FormulaToken {
        index < tokens.count ? tokens[index] : FormulaToken(kind: .end, position: formula.count)
    }

    private func error(_ message: String, at token: FormulaToken? = nil) -> GLMError {
        GLMError.formulaSyntax(formula: formula, position: (token ?? current).position, message: message)
    }

    mutating func parseFormula() throws -> Formula {
        if case .end = current.kind { throw error("the formula is empty; write it as 'response ~ predictors'") }
        var response: FormulaExpression?
        if current.kind != .op("~") {
            response = try parseExpression(minimumPower: 2)
        }
        guard current.kind == .op("~") else {
            throw error("expected '~' between the response and the predictors")
        }
        index += 1
        if case .end = current.kind { throw error("expected predictors after '~'") }
        let predictors = try parseExpression(minimumPower: 2)
        guard case .end = current.kind else {
            if current.kind == .op("~") { throw error("a formula has only one '~'") }
            throw error("unexpected \(describe(current)) here")
        }
        return Formula(text: formula, response: response, predictors: predictors)
    }

    private static func bindingPower(_ op: String) -> (left: Int, right: Int)? {
        switch op {
        case "+", "-": return (10, 11)
        case "*", "/": return (20, 21)
        case "%in%": return (25, 26)
        case ":": return (30, 31)
        case "^": return (50, 50)  // right-associative
        default: return nil
        }
    }

    private static let unaryPower = 40

    mutating func parseExpression(minimumPower: Int) throws -> FormulaExpression {
        var lhs = try parsePrefix()
        while case let .op(op) = current.kind, let power = FormulaParser.bindingPower(op), power.left >= minimumPower {
            let operatorToken = current
            index += 1
            if case .end = current.kind { throw error("expected a term after '\(op)'") }
            if case .rightParen = current.kind { throw error("expected a term after '\(op)'", at: operatorToken) }
            let rhs = try parseExpression(minimumPower: power.right)
            lhs = .binary(op, lhs, rhs)
        }
        return lhs
    }

    private mutating func parsePrefix() throws -> FormulaExpression {
        let token = current
        switch token.kind {
        case let .name(name):
            index += 1
            if case .leftParen = current.kind {
                index += 1
                var arguments: [FormulaExpression] = []
                if case .rightParen = current.kind {
                    index += 1
                    return .call(name, arguments)
                }
                while true {
                    arguments.append(try parseExpression(minimumPower: 2))
                    if case .comma = current.kind {
                        index += 1
                        continue
                    }
                    guard case .rightParen = current.kind else {
                        throw error("expected ',' or ')' in the arguments of \(name)(")
                    }
                    index += 1
                    break
                }
                return .call(name, arguments)
            }
            return name == "." ? .dot : .name(name)
        case let .number(value, text):
            index += 1
            return .number(value, text)
        case .leftParen:
            index += 1
            let inner = try parseExpression(minimumPower: 2)
            guard case .rightParen = current.kind else {
                throw error("expected ')' to close the '(' at position \(token.position + 1)")
            }
            index += 1
            return .parenthesized(inner)
        case .op("-"), .op("+"):
            index += 1
            guard case let .op(op) = token.kind else { throw error("unexpected operator", at: token) }
            let operand = try parseExpression(minimumPower: FormulaParser.unaryPower)
            return .unary(op, operand)
        case .end:
            throw error("the formula ends where a term was expected")
        default:
            throw error("unexpected \(describe(token)) where a term was expected", at: token)
        }
    }

    private func describe(_ token: FormulaToken) -> String {
        switch token.kind {
        case let .name(name): return "name '\(name)'"
        case let .number(_, text): return "number '\(text)'"
        case let .op(op): return "'\(op)'"
        case .leftParen: return "'('"
        case .rightParen: return "')'"
        case .comma: return "','"
        case .end: return "end of formula"
        }
    }
}
