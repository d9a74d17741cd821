import Foundation

/// A variable of the model evaluated over every row of the table.
public enum VariableValues: Sendable {
    /// NaN marks a missing value.
    case numeric([Double])
    /// Codes into `levels` (in R's order, see `LevelCollation`); -1 marks a missing value.
    case factor(codes: [Int32], levels: [String], isLogical: Bool)
    /// `cbind(successes, failures)`: only as a response.
    case twoColumn([Double], [Double])
    /// A variable of several columns (`poly(x, 2)`, `ns(x, df = 3)`, `scale(x)`), each named
    /// by the variable's label and its suffix (`1`, `2`; empty for `scale`).
    case matrix(columns: [[Double]], suffixes: [String])

    /// The number of rows.
    var count: Int {
        switch self {
        case let .numeric(values): return values.count
        case let .factor(codes, _, _): return codes.count
        case let .twoColumn(first, _): return first.count
        case let .matrix(columns, _): return columns.first?.count ?? 0
        }
    }
}

/// Evaluates formula expressions (`log(x)`, `I(x^2)`, `factor(dose)`, `cbind(k, n - k)`)
/// against the table's columns, as R's `model.frame` does.
struct ExpressionEvaluator {
    let table: Table
    /// Each column's position by name: one lookup per variable, not a scan of the header.
    private let columnIndices: [String: Int]
    /// The parameters of data-dependent bases (`poly`, `ns`, `scale`...): learnt from this
    /// table when fitting, the saved model's when predicting.
    var bases = BasisStore()
    /// The values of data-dependent calls (`mean(x)`): recorded by a fit, fixed by predict.
    let constants: ExpressionConstants

    init(table: Table, constants: ExpressionConstants = ExpressionConstants()) {
        self.table = table
        self.constants = constants
        var indices: [String: Int] = [:]
        indices.reserveCapacity(table.columnNames.count)
        for (index, name) in table.columnNames.enumerated() where indices[name] == nil { indices[name] = index }
        columnIndices = indices
    }

    /// The position of the column called `name`, if any.
    func columnIndex(named name: String) -> Int? {
        columnIndices[name]
    }

    /// The named arguments each function takes (`log(x, base = 2)` would be "log": ["base"]);
    /// any other named argument is refused, naming the function and the argument.
    static let supportedArguments: [String: Set<String>] = modelFunctionArguments

    static func supportsArgument(_ function: String, _ argument: String) -> Bool {
        (supportedArguments[function]?.contains(argument) ?? false)
            || (languageFormals[function]?.contains(argument) ?? false)
    }

    static let mathFunctions: [String: @Sendable (Double) -> Double] = [
        "log": { Foundation.log($0) }, "log2": { Foundation.log2($0) }, "log10": { Foundation.log10($0) },
        "log1p": { Foundation.log1p($0) }, "exp": { Foundation.exp($0) }, "sqrt": { $0.squareRoot() },
        "abs": { Swift.abs($0) },
    ]

    static var supportedFunctions: String {
        (["I", "offset", "cbind"] + modelFunctions.sorted() + mathFunctions.keys.sorted() + languageFunctions).joined(separator: ", ")
    }

    func evaluate(_ expression: FormulaExpression, allowTwoColumns: Bool = false) throws -> VariableValues {
        switch expression {
        case let .name(name):
            guard let index = columnIndices[name] else {
                throw GLMError.unknownColumn(name: name, suggestions: NameSuggestions.nearest(to: name, in: table.columnNames))
            }
            guard let column = table.columns[index] else {
                throw GLMError.invalidTerm(term: name, message: "column was not read")
            }
            switch column {
            case let .numeric(values):
                return .numeric(values)
            case let .categorical(categorical):
                return .factor(codes: categorical.codes, levels: categorical.levels, isLogical: categorical.isLogical)
            }
        case let .number(value, _):
            return .numeric([Double](repeating: value, count: table.rowCount))
        case let .logical(value):
            return evaluateLogicalConstant(value)
        case let .string(value):
            throw GLMError.invalidTerm(
                term: value, message: "a string can only be compared, as in I(x == \(FormulaExpression.quoted(value)))")
        case let .parenthesized(inner):
            return try evaluate(inner)
        case let .call(function, arguments):
            return try evaluateCall(function, arguments, expression: expression, allowTwoColumns: allowTwoColumns)
        case let .unary("!", operand):
            return try evaluateNot(operand, context: expression)
        case let .binary(op, lhs, rhs) where ExpressionEvaluator.languageOperators.contains(op):
            return try evaluateLanguageOperator(op, lhs, rhs, context: expression)
        case let .unary(op, operand):
            let values = try numeric(operand, context: expression)
            return .numeric(op == "-" ? values.map { -$0 } : values)
        case let .binary(op, lhs, rhs):
            let left = try numeric(lhs, context: expression)
            let right = try numeric(rhs, context: expression)
            let operation: (Double, Double) -> Double
            switch op {
            case "+": operation = (+)
            case "-": operation = (-)
            case "*": operation = (*)
            case "/": operation = (/)
            case "^": operation = { Foundation.pow($0, $1) }
            case "%%": operation = ExpressionEvaluator.modulo
            case "%/%": operation = ExpressionEvaluator.integerDivision
            default:
                throw GLMError.invalidTerm(
                    term: expression.deparsed,
                    message: "'\(op)' is a formula operator; wrap arithmetic in I(), as in I(a \(op) b)")
            }
            var result = [Double](repeating: .nan, count: left.count)
            for row in 0..<left.count { result[row] = operation(left[row], right[row]) }
            return .numeric(result)
        case .dot:
            throw GLMError.invalidTerm(term: ".", message: "'.' can only stand for the other columns on the right of '~'")
        case let .argument(name, _):
            throw GLMError.invalidTerm(term: expression.deparsed, message: "'\(name) = ...' is a named argument; it belongs inside a function call")
        }
    }

    private func evaluateCall(_ function: String, _ arguments: [FormulaExpression], expression: FormulaExpression,
                              allowTwoColumns: Bool) throws -> VariableValues {
        for argument in arguments {
            if case let .argument(name, _) = argument, !ExpressionEvaluator.supportsArgument(function, name) {
                throw GLMError.unsupportedArgument(function: function, argument: name)
            }
        }
        let label = expression.deparsed
        if ExpressionEvaluator.modelFunctions.contains(function) {
            return try evaluateModelFunction(function, arguments, label: label).values
        }
        switch function {
        case "I":
            guard arguments.count == 1 else { throw GLMError.invalidTerm(term: label, message: "I() takes one argument") }
            // I() keeps a logical a logical (coded FALSE/TRUE, as R codes I(x > 2)). The argument
            // is evaluated once: nested I() must cost linear time, not 2^depth.
            let inner = try evaluate(arguments[0])
            if case .factor(_, _, true) = inner { return inner }
            return .numeric(try numeric(inner, of: arguments[0], context: expression))
        case "cbind":
            guard allowTwoColumns else {
                throw GLMError.invalidTerm(term: label, message: "cbind() is only allowed as the response of a binomial model")
            }
            guard arguments.count == 2 else {
                throw GLMError.invalidTerm(term: label, message: "cbind() takes two columns: successes and failures")
            }
            return .twoColumn(try numeric(arguments[0], context: expression), try numeric(arguments[1], context: expression))
        default:
            if let value = try evaluateLanguageCall(function, arguments, context: expression) { return value }
            guard let operation = ExpressionEvaluator.mathFunctions[function] else {
                throw GLMError.invalidTerm(
                    term: label, message: "unknown function '\(function)'; glmfit knows \(ExpressionEvaluator.supportedFunctions)")
            }
            guard arguments.count == 1 else {
                throw GLMError.invalidTerm(term: label, message: "\(function)() takes one argument")
            }
            return .numeric(try numeric(arguments[0], context: expression).map(operation))
        }
    }

    /// Evaluates an expression that must be numeric: a text column here is an error naming
    /// its first non-numeric value.
    func numeric(_ expression: FormulaExpression, context: FormulaExpression) throws -> [Double] {
        try numeric(try evaluate(expression), of: expression, context: context)
    }

    /// `expression`'s value, already evaluated, as numbers (see above).
    func numeric(_ value: VariableValues, of expression: FormulaExpression, context: FormulaExpression) throws -> [Double] {
        switch value {
        case let .numeric(values):
            return values
        case let .factor(codes, _, isLogical):
            if isLogical {
                // R coerces logicals to 0/1 in arithmetic.
                return codes.map { $0 < 0 ? .nan : Double($0) }
            }
            if case let .name(name) = expression, let index = columnIndices[name],
               case let .categorical(column)? = table.columns[index], let row = column.firstNonNumericRow,
               row < column.codes.count, column.codes[row] >= 0, Int(column.codes[row]) < column.levels.count {
                throw GLMError.nonNumericValue(
                    source: table.source, line: table.line(ofRow: row), column: name,
                    value: column.levels[Int(column.codes[row])])
            }
            throw GLMError.invalidTerm(
                term: context.deparsed, message: "'\(expression.deparsed)' is a factor (text), not a number")
        case .twoColumn:
            throw GLMError.invalidTerm(term: context.deparsed, message: "cbind() cannot be used inside an expression")
        case let .matrix(columns, _):
            guard columns.count == 1, let only = columns.first else {
                throw GLMError.invalidTerm(
                    term: context.deparsed, message: "'\(expression.deparsed)' has \(columns.count) columns; it cannot be used inside an expression")
            }
            return only
        }
    }

    /// R's `factor()` of a numeric vector: levels are the distinct values in numeric
    /// order, labelled as `as.character` prints them.
    static func factor(fromNumbers values: [Double]) -> VariableValues {
        let distinct = Array(Set(values.filter { !$0.isNaN })).sorted()
        var codeOf: [Double: Int32] = [:]
        for (code, value) in distinct.enumerated() { codeOf[value] = Int32(code) }
        let codes = values.map { value in value.isNaN ? -1 : (codeOf[value] ?? -1) }
        return .factor(codes: codes, levels: distinct.map { RFormat.deparse($0) }, isLogical: false)
    }
}

/// Suggests column names close to a misspelt one (edit distance, then prefix).
public enum NameSuggestions {
    /// Names longer than this (in UTF-8 bytes) are neither given nor offered suggestions:
    /// the edit distance costs the product of the lengths.
    static let longestComparedName = 1_000

    public static func nearest(to name: String, in candidates: [String], limit: Int = 3) -> [String] {
        guard name.utf8.count <= longestComparedName else { return [] }
        let target = Array(name.lowercased())
        let scored = candidates.filter { $0.utf8.count <= longestComparedName }.map { candidate -> (String, Int) in
            (candidate, editDistance(target, Array(candidate.lowercased())))
        }
        let threshold = max(2, target.count / 3)
        return scored.filter { $0.1 <= threshold || $0.0.lowercased().hasPrefix(name.lowercased()) }
            .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .prefix(limit).map(\.0)
    }

    static func editDistance(_ lhs: [Character], _ rhs: [Character]) -> Int {
        if lhs.isEmpty { return rhs.count }
        if rhs.isEmpty { return lhs.count }
        var previous = Array(0...rhs.count)
        var current = [Int](repeating: 0, count: rhs.count + 1)
        for i in 1...lhs.count {
            current[0] = i
            for j in 1...rhs.count {
                let cost = lhs[i - 1] == rhs[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[rhs.count]
    }
}
