/// A formula expanded as R's `terms()` expands it: the variables, the terms built from
/// them in R's order, the intercept, the offsets and the response.
public struct Terms: Sendable {
    public let formula: Formula
    /// The response expression, nil for a one-sided formula.
    public let response: FormulaExpression?
    /// Predictor variables in order of first appearance (R's variable order).
    public let variables: [FormulaExpression]
    /// Each term as the sorted indices of its variables; terms sorted by order, then appearance.
    public let terms: [[Int]]
    public let hasIntercept: Bool
    /// `offset(...)` arguments, in order.
    public let offsets: [FormulaExpression]
    /// Where R's terms would list the response when it also appears alone on the right-hand
    /// side (1-based, as R numbers terms in its warning); glmfit drops that term.
    public let droppedResponseTerm: Int?

    /// The label of each variable: its deparsed expression (computed once: the design
    /// stage reads it for every column).
    public let variableLabels: [String]

    /// R's term labels: variable labels joined by ":".
    public let termLabels: [String]

    /// The position of each term in `terms`.
    private let termPositions: [[Int]: Int]

    /// Expands `formula` against the data's column names (needed for `.`).
    ///
    /// - Throws: `unsupportedArgument` for a named argument no function here takes (before
    ///   any data is read), `formulaSyntax` for what cannot be a term.
    public init(formula: Formula, columnNames: [String]) throws {
        for expression in [formula.response, formula.predictors].compactMap({ $0 }) {
            if let (function, argument) = expression.firstUnsupportedArgument() {
                throw GLMError.unsupportedArgument(function: function, argument: argument)
            }
        }
        var encoder = TermEncoder(formula: formula)
        let responseNames = Set(formula.response?.columnNames ?? [])
        encoder.dotColumns = columnNames.filter { !responseNames.contains($0) }
        let encoded = try encoder.encode(formula.predictors)
        // R drops a term identical to the response variable.
        var kept = encoded
        var droppedResponseTerm: Int?
        if let response = formula.response, let responseIndex = encoder.variableIndices[response],
           let position = encoded.firstIndex(of: [responseIndex]) {
            droppedResponseTerm = 1 + encoded[..<position].count { $0.count == 1 }
            kept.removeAll { $0 == [responseIndex] }
        }
        self.droppedResponseTerm = droppedResponseTerm
        // Sort by order (number of variables), stable.
        let ordered = kept.enumerated().sorted { lhs, rhs in
            lhs.element.count != rhs.element.count ? lhs.element.count < rhs.element.count : lhs.offset < rhs.offset
        }.map(\.element)
        self.formula = formula
        self.response = formula.response
        self.variables = encoder.variables
        self.terms = ordered
        self.hasIntercept = encoder.intercept
        self.offsets = encoder.offsets
        let labels = encoder.variables.map(\.deparsed)
        self.variableLabels = labels
        self.termLabels = ordered.map { term in term.map { labels[$0] }.joined(separator: ":") }
        var termPositions: [[Int]: Int] = [:]
        for (index, term) in ordered.enumerated() where termPositions[term] == nil { termPositions[term] = index }
        self.termPositions = termPositions
    }

    /// Whether a factor variable in a term is coded by contrasts (true) or by one
    /// indicator per level (false), by R's rule: contrasts when the term without that
    /// variable is empty or is contained in an earlier term.
    public func usesContrasts(variable: Int, inTerm termIndex: Int) -> Bool {
        let reduced = terms[termIndex].filter { $0 != variable }
        if reduced.isEmpty { return true }
        // The usual case, found without a scan: the reduced term is itself an earlier term.
        if let position = termPositions[reduced], position < termIndex { return true }
        for earlier in terms[..<termIndex] where reduced.allSatisfy(earlier.contains) {
            return true
        }
        return false
    }
}

/// Turns a formula's right-hand side into a list of terms (R's `EncodeVars`).
struct TermEncoder {
    let formula: Formula
    var variables: [FormulaExpression] = []
    /// The position of each expression in `variables`.
    var variableIndices: [FormulaExpression: Int] = [:]
    var offsets: [FormulaExpression] = []
    var intercept = true
    var dotColumns: [String] = []
    /// Inside the right operand of `-`, `1` removes the intercept and `0` restores it.
    private var deleting = false

    init(formula: Formula) {
        self.formula = formula
    }

    /// A syntax error with the caret under the first occurrence of `fragment`.
    private func syntaxError(_ message: String, at fragment: String) -> GLMError {
        var position = 0
        if let range = formula.text.range(of: fragment) {
            position = formula.text.distance(from: formula.text.startIndex, to: range.lowerBound)
        }
        return .formulaSyntax(formula: formula.text, position: position, message: message)
    }

    private mutating func variableIndex(_ expression: FormulaExpression) -> Int {
        if let existing = variableIndices[expression] { return existing }
        variables.append(expression)
        variableIndices[expression] = variables.count - 1
        return variables.count - 1
    }

    /// Removes repeated and empty terms, keeping the first occurrence.
    private static func trimRepeats(_ terms: [[Int]]) -> [[Int]] {
        var seen = Set<[Int]>()
        var result: [[Int]] = []
        for term in terms where !term.isEmpty && seen.insert(term).inserted {
            result.append(term)
        }
        return result
    }

    private static func union(_ lhs: [Int], _ rhs: [Int]) -> [Int] {
        Array(Set(lhs).union(rhs)).sorted()
    }

    private static func interact(_ lhs: [[Int]], _ rhs: [[Int]]) -> [[Int]] {
        var result: [[Int]] = []
        for left in lhs {
            for right in rhs { result.append(union(left, right)) }
        }
        return trimRepeats(result)
    }

    mutating func encode(_ expression: FormulaExpression) throws -> [[Int]] {
        switch expression {
        case .name:
            return [[variableIndex(expression)]]
        case let .call(function, arguments):
            if function == "offset" {
                guard arguments.count == 1 else { throw syntaxError("offset() takes exactly one argument", at: "offset") }
                offsets.append(arguments[0])
                return []
            }
            return [[variableIndex(expression)]]
        case let .number(value, text):
            if value == 1 {
                intercept = !deleting
                return []
            }
            if value == 0 {
                intercept = deleting
                return []
            }
            throw syntaxError("the number \(text) cannot be a term; only 0, 1 and -1 control the intercept", at: text)
        case .dot:
            return TermEncoder.trimRepeats(dotColumns.map { [variableIndex(.name($0))] })
        case let .string(value):
            throw syntaxError("a string cannot be a term; compare with it inside I(), as in I(x == \(FormulaExpression.quoted(value)))",
                              at: FormulaExpression.quoted(value))
        case .logical:
            throw syntaxError("TRUE or FALSE cannot be a term", at: expression.deparsed)
        case let .argument(name, _):
            throw syntaxError("'\(name) = ...' is a named argument; it belongs inside a function call", at: name)
        case let .parenthesized(inner):
            return try encode(inner)
        case let .unary(op, operand):
            // R's terms() treats anything but its formula operators as a variable (`!x`).
            if op == "!" { return [[variableIndex(expression)]] }
            if op == "+" { return try encode(operand) }
            deleting.toggle()
            _ = try encode(operand)
            deleting.toggle()
            return []
        case let .binary(op, lhs, rhs):
            switch op {
            case "+":
                let left = try encode(lhs)
                let right = try encode(rhs)
                return TermEncoder.trimRepeats(left + right)
            case ":":
                let left = try encode(lhs)
                let right = try encode(rhs)
                try TermEncoder.checkMemory(interacting: left.count, with: right.count)
                return TermEncoder.interact(left, right)
            case "*":
                let left = try encode(lhs)
                let right = try encode(rhs)
                try TermEncoder.checkMemory(interacting: left.count, with: right.count)
                return TermEncoder.trimRepeats(left + right + TermEncoder.interact(left, right))
            case "/":
                let left = try encode(lhs)
                let right = try encode(rhs)
                let allLeft = left.reduce([], TermEncoder.union)
                return TermEncoder.trimRepeats(left + right.map { TermEncoder.union($0, allLeft) })
            case "%in%":
                let left = try encode(lhs)
                let right = try encode(rhs)
                let allRight = right.reduce([], TermEncoder.union)
                return TermEncoder.trimRepeats(left.map { TermEncoder.union($0, allRight) })
            case "^":
                let left = try encode(lhs)
                guard case let .number(power, _) = rhs, power >= 1, power == power.rounded(), power < 64 else {
                    throw syntaxError(
                        "the exponent of '^' in a formula must be a positive whole number, as in (a + b + c)^2", at: "^")
                }
                var result = left
                var step = 1
                while step < Int(power) {
                    try TermEncoder.checkMemory(interacting: left.count, with: result.count)
                    result = TermEncoder.interact(left, result)
                    step += 1
                }
                return result
            case "-":
                let left = try encode(lhs)
                deleting.toggle()
                let right = try encode(rhs)
                deleting.toggle()
                let removed = Set(right)
                return left.filter { !removed.contains($0) }
            default:
                // A comparison, logic or `%%` between terms is one variable, as in R's terms().
                return [[variableIndex(expression)]]
            }
        }
    }
}

extension TermEncoder {
    /// Bytes of one product term while an interaction is expanded (its variable list, its
    /// slot, and the copy `trimRepeats` keeps).
    static let bytesPerProductTerm = 128

    /// An interaction of `left` terms with `right` terms lists every product before repeats
    /// are removed: `y ~ .^2` on 10,000 columns is 10⁸ of them. Checked against the memory
    /// budget before any is made.
    static func checkMemory(interacting left: Int, with right: Int) throws {
        let products = MemoryBudget.bytes(of: 1, times: [left, right])
        try MemoryBudget.current().require(
            products.flatMap { MemoryBudget.bytes(of: bytesPerProductTerm, times: [$0]) },
            for: "the formula interacts \(MemoryBudget.describe(count: left)) terms with "
                + "\(MemoryBudget.describe(count: right)): expanding the \(products.map { MemoryBudget.describe(count: $0) } ?? "too many") products",
            remedy: "interact fewer terms")
    }
}
