/// An R expression as it appears in a formula.
///
/// Trees are never deeper than `FormulaParser.maximumDepth` (the parser refuses deeper
/// input before building it), so the recursive walks below and Swift's own recursive
/// destruction of an indirect enum stay within a small stack.
public indirect enum FormulaExpression: Hashable, Sendable {
    case name(String)
    /// A numeric constant with its source text.
    case number(Double, String)
    /// A string constant (`"F"`, `'F'`), unescaped.
    case string(String)
    /// `TRUE` or `FALSE`.
    case logical(Bool)
    case call(String, [FormulaExpression])
    case binary(String, FormulaExpression, FormulaExpression)
    case unary(String, FormulaExpression)
    case parenthesized(FormulaExpression)
    /// `.`: every column not used in the response.
    case dot
    /// A named argument `name = value`; only ever an argument of a `.call` (R keeps the
    /// names in the call's argument list). Which functions accept which names is decided
    /// where the call is evaluated (`ExpressionEvaluator.supportedArguments`).
    case argument(String, FormulaExpression)

    /// The expression as R's `deparse()` prints it; this is the variable's name in
    /// term labels and coefficient names (`log(wbc)`, `I(x^2)`, `cbind(k, n - k)`).
    public var deparsed: String {
        var text = ""
        appendDeparsed(to: &text)
        return text
    }

    /// Appends to one string (linear in the output, however deep the tree).
    private func appendDeparsed(to text: inout String) {
        switch self {
        case let .name(name):
            text += FormulaExpression.isSyntacticName(name) ? name : "`\(name)`"
        case let .number(value, _):
            text += RFormat.deparse(value)
        case let .string(value):
            text += FormulaExpression.quoted(value)
        case let .logical(value):
            text += value ? "TRUE" : "FALSE"
        case let .call(function, arguments):
            text += function
            text += "("
            for (index, argument) in arguments.enumerated() {
                if index > 0 { text += ", " }
                argument.appendDeparsed(to: &text)
            }
            text += ")"
        case let .binary(op, lhs, rhs):
            lhs.appendDeparsed(to: &text)
            switch op {
            case "/", "^", ":", "%%", "%/%": text += op
            default: text += " \(op) "
            }
            rhs.appendDeparsed(to: &text)
        case let .unary(op, operand):
            text += op
            operand.appendDeparsed(to: &text)
        case let .parenthesized(inner):
            text += "("
            inner.appendDeparsed(to: &text)
            text += ")"
        case .dot:
            text += "."
        case let .argument(name, value):
            text += FormulaExpression.isSyntacticName(name) ? name : "`\(name)`"
            text += " = "
            value.appendDeparsed(to: &text)
        }
    }

    /// Every column name the expression refers to (R's `all.vars`), in order of appearance.
    public var columnNames: [String] {
        var names: [String] = []
        var seen = Set<String>()
        collectNames(into: &names, seen: &seen)
        return names
    }

    private func collectNames(into names: inout [String], seen: inout Set<String>) {
        switch self {
        case let .name(name):
            if seen.insert(name).inserted { names.append(name) }
        case .number, .string, .logical, .dot:
            break
        case let .call(function, arguments):
            for (index, argument) in arguments.enumerated() {
                // C(f, contr.sum): the contrasts are a function's name, not a column.
                if function == "C", index > 0, FormulaExpression.isContrastName(argument) { continue }
                argument.collectNames(into: &names, seen: &seen)
            }
        case let .binary(_, lhs, rhs):
            lhs.collectNames(into: &names, seen: &seen)
            rhs.collectNames(into: &names, seen: &seen)
        case let .unary(_, operand), let .parenthesized(operand), let .argument(_, operand):
            operand.collectNames(into: &names, seen: &seen)
        }
    }

    /// A contrast function named as `C()`'s second argument (`contr.sum`, `sum`, `contr = helmert`).
    static func isContrastName(_ expression: FormulaExpression) -> Bool {
        switch expression {
        // Any contr.* name: an unknown one is then refused as contrasts, not sought as a column.
        case let .name(name): return ContrastSpec.kind(named: name) != nil || name.hasPrefix("contr.")
        case let .argument("contr", value): return isContrastName(value)
        default: return false
        }
    }

    /// The first named argument of a call in the expression (in reading order) that
    /// `isSupported(function, name)` refuses: `("log", "base")` for `log(x, base = 2)`.
    func firstUnsupportedArgument(
        isSupported: (String, String) -> Bool = ExpressionEvaluator.supportsArgument
    ) -> (function: String, argument: String)? {
        switch self {
        case .name, .number, .string, .logical, .dot:
            return nil
        case let .call(function, arguments):
            for argument in arguments {
                if case let .argument(name, _) = argument, !isSupported(function, name) { return (function, name) }
                if let found = argument.firstUnsupportedArgument(isSupported: isSupported) { return found }
            }
            return nil
        case let .binary(_, lhs, rhs):
            return lhs.firstUnsupportedArgument(isSupported: isSupported)
                ?? rhs.firstUnsupportedArgument(isSupported: isSupported)
        case let .unary(_, operand), let .parenthesized(operand), let .argument(_, operand):
            return operand.firstUnsupportedArgument(isSupported: isSupported)
        }
    }

    /// A string as R's `deparse` writes it: in double quotes, with `\\`, `"`, newline and tab escaped.
    static func quoted(_ value: String) -> String {
        var text = "\""
        for character in value {
            switch character {
            case "\\": text += "\\\\"
            case "\"": text += "\\\""
            case "\n": text += "\\n"
            case "\t": text += "\\t"
            default: text.append(character)
            }
        }
        return text + "\""
    }

    private static let reservedWords: Set<String> = [
        "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE",
        "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "in",
    ]

    /// R's rule for a name that needs no backquotes: letters, digits, `.` and `_`,
    /// starting with a letter or a `.` not followed by a digit, and not a reserved word.
    static func isSyntacticName(_ name: String) -> Bool {
        // ASCII names (nearly all) by their bytes: Character properties cost ~100 ns each,
        // which a 200 MB column name turns into 20 s.
        let bytes = name.utf8
        if let first = bytes.first, bytes.allSatisfy({ $0 < 0x80 }) {
            if reservedWords.contains(name) { return false }
            func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
            func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
            guard isLetter(first) || first == UInt8(ascii: ".") else { return false }
            if first == UInt8(ascii: "."), let second = bytes.dropFirst().first, isDigit(second) { return false }
            return bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") }
        }
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

extension FormulaExpression {
    /// Parses one expression (a variable or an offset's argument) as it appears inside a
    /// call, where `+` is arithmetic: its runs are kept left-nested, as written.
    static func parseArgument(_ text: String) throws -> FormulaExpression {
        let formula = "~" + text
        let tokens = try FormulaLexer(formula: formula).tokens()
        var parser = FormulaParser(formula: formula, tokens: tokens)
        parser.balancesTermSums = false
        return try parser.parseFormula().predictors
    }
}

/// A Pratt parser with R's operator precedence (?Syntax):
/// `^` > unary `-`/`+` > `:` > `%in%` `%%` `%/%` > `*` `/` > binary `+` `-` >
/// `<` `>` `<=` `>=` `==` `!=` > `!` > `&` > `|` > `~`.
///
/// Depth: the parser refuses input whose tree would be deeper than `maximumDepth` levels
/// (each parenthesis, call, unary sign and binary operator adds one), counting while it
/// parses, so that no deep tree is ever built and its own recursion stays as shallow. A run
/// of `+` between terms (`y ~ x1 + x2 + ... + x5000`, a generated formula) is built as a
/// balanced tree instead of a left-nested one: term expansion gives the same terms in the
/// same order either way, and the run then adds only log2(length) levels. Inside a call
/// (`I(a + b + c)`), where `+` is arithmetic, runs stay left-nested so that sums are added
/// in R's order.
struct FormulaParser {
    /// The deepest expression tree glmfit accepts (README, Formulas). Every walk of the
    /// tree recurses once per level, on the main thread (8 MB of stack by default). The
    /// deepest walk, evaluating nested calls, takes about 1.7 KB of stack a level in the
    /// release build (measured: `I(` nested 300 deep overflows a 512 KB stack, 990 deep
    /// needs 2 MB), so 500 levels need under 1 MB: an eighth of the main thread's stack.
    static let maximumDepth = 500

    let formula: String
    let tokens: [FormulaToken]
    var index = 0
    /// False while parsing the response or a single argument expression: their `+` is arithmetic.
    var balancesTermSums = true
    /// How many call argument lists enclose the current token.
    private var callDepth = 0
    /// How many `parseExpression` calls are active.
    private var recursionDepth = 0

    init(formula: String, tokens: [FormulaToken]) {
        self.formula = formula
        self.tokens = tokens
    }

    /// An expression and the height of its tree (a leaf is 1).
    private struct Parsed {
        let expression: FormulaExpression
        let height: Int
    }

    private var current: FormulaToken {
        index < tokens.count ? tokens[index] : FormulaToken(kind: .end, position: formula.count)
    }

    private func error(_ message: String, at token: FormulaToken? = nil) -> GLMError {
        GLMError.formulaSyntax(formula: formula, position: (token ?? current).position, message: message)
    }

    private func depthError(at token: FormulaToken) -> GLMError {
        error("nested deeper than \(TextElision.groupedInteger(FormulaParser.maximumDepth)) levels (each parenthesis, "
            + "function call, unary sign and operator adds one); write it with fewer levels", at: token)
    }

    /// A node over `children`, refused when it would be deeper than the limit.
    private func node(_ expression: FormulaExpression, over heights: Int..., at token: FormulaToken) throws -> Parsed {
        let height = (heights.max() ?? 0) + 1
        guard height <= FormulaParser.maximumDepth else { throw depthError(at: token) }
        return Parsed(expression: expression, height: height)
    }

    mutating func parseFormula() throws -> Formula {
        if case .end = current.kind { throw error("the formula is empty; write it as 'response ~ predictors'") }
        var response: FormulaExpression?
        if current.kind != .op("~") {
            let balances = balancesTermSums
            balancesTermSums = false
            response = try parseExpression(minimumPower: 2).expression
            balancesTermSums = balances
        }
        guard current.kind == .op("~") else {
            throw error("expected '~' between the response and the predictors")
        }
        index += 1
        if case .end = current.kind { throw error("expected predictors after '~'") }
        let predictors = try parseExpression(minimumPower: 2).expression
        guard case .end = current.kind else {
            if current.kind == .op("~") { throw error("a formula has only one '~'") }
            throw error("unexpected \(describe(current)) here")
        }
        return Formula(text: formula, response: response, predictors: predictors)
    }

    private static func bindingPower(_ op: String) -> (left: Int, right: Int)? {
        switch op {
        case "|": return (3, 4)
        case "&": return (5, 6)
        case "<", ">", "<=", ">=", "==", "!=": return (8, 9)
        case "+", "-": return (10, 11)
        case "*", "/": return (20, 21)
        case "%in%", "%%", "%/%": return (25, 26)
        case ":": return (30, 31)
        case "^": return (50, 50)  // right-associative
        default: return nil
        }
    }

    private static let unaryPower = 40
    /// `!` binds looser than comparisons and tighter than `&` (`!a == b` is `!(a == b)`).
    private static let notPower = 7

    private mutating func parseExpression(minimumPower: Int) throws -> Parsed {
        recursionDepth += 1
        defer { recursionDepth -= 1 }
        guard recursionDepth <= FormulaParser.maximumDepth else { throw depthError(at: current) }
        var lhs = try parsePrefix()
        // The operands of a run of `+` between terms, built balanced when the run ends.
        var run: [Parsed] = []
        var runToken = current
        while case let .op(op) = current.kind, let power = FormulaParser.bindingPower(op), power.left >= minimumPower {
            let operatorToken = current
            index += 1
            if case .end = current.kind { throw error("expected a term after '\(op)'") }
            if case .rightParen = current.kind { throw error("expected a term after '\(op)'", at: operatorToken) }
            let rhs = try parseExpression(minimumPower: power.right)
            if op == "+", balancesTermSums, callDepth == 0 {
                if run.isEmpty {
                    run = [lhs]
                    runToken = operatorToken
                }
                run.append(rhs)
                continue
            }
            if !run.isEmpty {
                lhs = try balancedSum(run[...], at: runToken)
                run = []
            }
            lhs = try node(.binary(op, lhs.expression, rhs.expression), over: lhs.height, rhs.height, at: operatorToken)
        }
        if !run.isEmpty { lhs = try balancedSum(run[...], at: runToken) }
        return lhs
    }

    /// `a + b + c + d` as `(a + b) + (c + d)`: log2(count) levels, the operands in order.
    private func balancedSum(_ operands: ArraySlice<Parsed>, at token: FormulaToken) throws -> Parsed {
        guard operands.count > 1, let first = operands.first else {
            return operands.first ?? Parsed(expression: .dot, height: 1)
        }
        if operands.count == 2, let last = operands.last {
            return try node(.binary("+", first.expression, last.expression), over: first.height, last.height, at: token)
        }
        let middle = operands.startIndex + operands.count / 2
        let lhs = try balancedSum(operands[..<middle], at: token)
        let rhs = try balancedSum(operands[middle...], at: token)
        return try node(.binary("+", lhs.expression, rhs.expression), over: lhs.height, rhs.height, at: token)
    }

    private mutating func parsePrefix() throws -> Parsed {
        let token = current
        switch token.kind {
        case let .name(name):
            index += 1
            if case .leftParen = current.kind {
                index += 1
                callDepth += 1
                defer { callDepth -= 1 }
                var arguments: [FormulaExpression] = []
                var height = 0
                if case .rightParen = current.kind {
                    index += 1
                    return try node(.call(name, arguments), over: height, at: token)
                }
                while true {
                    let argument = try parseArgument(of: name)
                    arguments.append(argument.expression)
                    height = max(height, argument.height)
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
                return try node(.call(name, arguments), over: height, at: token)
            }
            return Parsed(expression: name == "." ? .dot : .name(name), height: 1)
        case let .number(value, text):
            index += 1
            return Parsed(expression: .number(value, text), height: 1)
        case let .string(value):
            index += 1
            return Parsed(expression: .string(value), height: 1)
        case let .logical(value):
            index += 1
            return Parsed(expression: .logical(value), height: 1)
        case .op("!"):
            index += 1
            if case .end = current.kind { throw error("expected an expression after '!'") }
            let operand = try parseExpression(minimumPower: FormulaParser.notPower)
            return try node(.unary("!", operand.expression), over: operand.height, at: token)
        case .leftParen:
            index += 1
            let inner = try parseExpression(minimumPower: 2)
            guard case .rightParen = current.kind else {
                throw error("expected ')' to close the '(' at position \(token.position + 1)")
            }
            index += 1
            return try node(.parenthesized(inner.expression), over: inner.height, at: token)
        case .op("-"), .op("+"):
            index += 1
            guard case let .op(op) = token.kind else { throw error("unexpected operator", at: token) }
            let operand = try parseExpression(minimumPower: FormulaParser.unaryPower)
            return try node(.unary(op, operand.expression), over: operand.height, at: token)
        case .end:
            throw error("the formula ends where a term was expected")
        default:
            throw error("unexpected \(describe(token)) where a term was expected", at: token)
        }
    }

    /// One argument of a call: an expression, or `name = expression` (R's named argument).
    private mutating func parseArgument(of function: String) throws -> Parsed {
        let token = current
        if case let .name(name) = token.kind, index + 1 < tokens.count, tokens[index + 1].kind == .equals {
            index += 2
            if case .end = current.kind { throw error("expected a value after '\(name) =' in \(function)(") }
            let value = try parseExpression(minimumPower: 2)
            return try node(.argument(name, value.expression), over: value.height, at: token)
        }
        return try parseExpression(minimumPower: 2)
    }

    private func describe(_ token: FormulaToken) -> String {
        switch token.kind {
        case let .name(name): return "name '\(name)'"
        case let .number(_, text): return "number '\(text)'"
        case let .string(value): return "string \(FormulaExpression.quoted(value))"
        case let .logical(value): return value ? "TRUE" : "FALSE"
        case let .op(op): return "'\(op)'"
        case .leftParen: return "'('"
        case .rightParen: return "')'"
        case .comma: return "','"
        case .equals: return "'='"
        case .end: return "end of formula"
        }
    }
}
