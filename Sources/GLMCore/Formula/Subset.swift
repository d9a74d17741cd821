/// `--subset EXPR`: the rows a model is fitted to, chosen by an expression in the formula
/// language (R's `subset =` argument of `glm`).
///
/// As R's `model.frame` does, the formula's variables are evaluated on every row first
/// (so `mean(x)` is the mean of every row), then the subset is taken, then rows with a
/// missing value are dropped. A row where the subset is NA is dropped as missing (R's `[`
/// makes it a row of NA) and counted with them; a row where it is FALSE is left out and
/// counted apart (`subsetExcludedCount`).
public struct Subset: Sendable, Equatable {
    public let text: String
    public let expression: FormulaExpression

    /// Parses `text`; a syntax error points into `text` itself.
    public init(_ text: String) throws {
        do {
            expression = try FormulaExpression.parseArgument(text)
        } catch let GLMError.formulaSyntax(_, position, message) {
            // parseArgument reads "~" + text: one character before the subset's own.
            throw GLMError.formulaSyntax(formula: text, position: Swift.max(0, position - 1), message: message)
        }
        if let (function, argument) = expression.firstUnsupportedArgument() {
            throw GLMError.unsupportedArgument(function: function, argument: argument)
        }
        self.text = text
    }

    /// The header positions of the columns the subset reads.
    public func requiredColumns(header: [String]) throws -> Set<Int> {
        var indices = Set<Int>()
        for name in expression.columnNames {
            guard let index = header.firstIndex(of: name) else {
                throw GLMError.unknownColumn(name: name, suggestions: NameSuggestions.nearest(to: name, in: header))
            }
            indices.insert(index)
        }
        return indices
    }

    /// Each row: 1 kept, 0 left out, -1 NA.
    func codes(_ evaluator: ExpressionEvaluator) throws -> [Int32] {
        switch try evaluator.evaluate(expression) {
        case let .factor(codes, _, true):
            return codes
        default:
            throw GLMError.invalidOption(
                name: "--subset",
                message: "'\(expression.deparsed)' must be TRUE or FALSE for each row, as in --subset \"age > 30 & sex == 'F'\"")
        }
    }
}
