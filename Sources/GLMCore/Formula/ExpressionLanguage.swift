import Foundation

#if arch(x86_64) || arch(i386)
/// R's LDOUBLE: the x87 extended type where the platform has it.
typealias LongDouble = Float80
#else
typealias LongDouble = Double
#endif

/// The values of data-dependent calls (`mean(x)`, `sd(x)`, …) in a model's expressions,
/// by the call as R deparses it.
///
/// A fit computes them on its data and records them; predict is given the recorded values
/// (`fixed`) and uses them instead of computing them on the new rows, so that
/// `I(x - mean(x))` centres new data by the fit's mean (unlike R's `predict`).
final class ExpressionConstants: @unchecked Sendable {
    let fixed: [String: Double]
    private(set) var computed: [String: Double] = [:]

    init(fixed: [String: Double] = [:]) {
        self.fixed = fixed
    }

    func record(_ key: String, _ value: Double) {
        computed[key] = value
    }
}

/// R's expression language inside a formula: comparisons, logic, `%in%`, `%%`, `%/%`,
/// string and logical constants, the elementwise functions and the data-dependent ones.
/// A logical value is a factor with levels FALSE/TRUE (`isLogical`), as R codes a logical
/// variable in a model matrix (`I(cyl == 4)TRUE`); NA is code -1.
extension ExpressionEvaluator {
    static let comparisonOperators: Set<String> = ["<", ">", "<=", ">=", "==", "!="]
    static let languageOperators: Set<String> = comparisonOperators.union(["&", "|", "&&", "||", "%in%"])

    /// The named arguments of the functions the expression language adds, in R's order
    /// (the order positional arguments fill them).
    static let languageFormals: [String: [String]] = [
        "log": ["x", "base"], "round": ["x", "digits"], "signif": ["x", "digits"],
        "ifelse": ["test", "yes", "no"],
        "mean": ["x", "na.rm"], "median": ["x", "na.rm"], "sd": ["x", "na.rm"], "var": ["x", "na.rm"],
        "sum": ["x", "na.rm"], "min": ["x", "na.rm"], "max": ["x", "na.rm"], "length": ["x"],
        "pmin": ["na.rm"], "pmax": ["na.rm"],
    ]

    /// Functions of a whole column whose value is one number (kept in a saved model).
    static let dataDependentFunctions: Set<String> = ["mean", "median", "sd", "var", "sum", "min", "max", "length"]

    static let roundingFunctions: [String: @Sendable (Double) -> Double] = [
        "floor": { $0.rounded(.down) }, "ceiling": { $0.rounded(.up) }, "trunc": { $0.rounded(.towardZero) },
    ]

    static var languageFunctions: [String] {
        ["ifelse", "pmin", "pmax", "round", "signif"] + roundingFunctions.keys.sorted() + dataDependentFunctions.sorted()
    }

    static func isLanguageFunction(_ function: String) -> Bool {
        languageFormals[function] != nil || roundingFunctions[function] != nil
    }

    private static func logical(_ codes: [Int32]) -> VariableValues {
        .factor(codes: codes, levels: ["FALSE", "TRUE"], isLogical: true)
    }

    // MARK: - Constants and logical values

    func evaluateLogicalConstant(_ value: Bool) -> VariableValues {
        ExpressionEvaluator.logical([Int32](repeating: value ? 1 : 0, count: table.rowCount))
    }

    /// An expression as TRUE (1), FALSE (0) or NA (-1) per row: numbers are TRUE when not 0.
    func logicalCodes(_ expression: FormulaExpression, context: FormulaExpression) throws -> [Int32] {
        switch try evaluate(expression) {
        case let .factor(codes, _, true):
            return codes
        case let .numeric(values):
            return values.map { $0.isNaN ? -1 : ($0 != 0 ? 1 : 0) }
        case .factor:
            throw GLMError.invalidTerm(
                term: context.deparsed, message: "'\(expression.deparsed)' is text, not TRUE/FALSE; compare it, as in \(expression.deparsed) == \"a\"")
        case .twoColumn:
            throw GLMError.invalidTerm(term: context.deparsed, message: "cbind() cannot be used inside an expression")
        case .matrix:
            throw GLMError.invalidTerm(term: context.deparsed, message: "'\(expression.deparsed)' has several columns, not one TRUE/FALSE value per row")
        }
    }

    // MARK: - Operators

    func evaluateNot(_ operand: FormulaExpression, context: FormulaExpression) throws -> VariableValues {
        ExpressionEvaluator.logical(try logicalCodes(operand, context: context).map { $0 < 0 ? -1 : 1 - $0 })
    }

    /// `&`, `|`, comparisons and `%in%`.
    func evaluateLanguageOperator(
        _ op: String, _ lhs: FormulaExpression, _ rhs: FormulaExpression, context: FormulaExpression
    ) throws -> VariableValues {
        switch op {
        case "&", "&&", "|", "||":
            let left = try logicalCodes(lhs, context: context)
            let right = try logicalCodes(rhs, context: context)
            let isAnd = op.hasPrefix("&")
            var result = [Int32](repeating: -1, count: left.count)
            for row in 0..<left.count {
                let (a, b) = (left[row], right[row])
                // R: FALSE & NA is FALSE, TRUE | NA is TRUE; otherwise NA in, NA out.
                if isAnd {
                    result[row] = (a == 0 || b == 0) ? 0 : ((a < 0 || b < 0) ? -1 : 1)
                } else {
                    result[row] = (a == 1 || b == 1) ? 1 : ((a < 0 || b < 0) ? -1 : 0)
                }
            }
            return ExpressionEvaluator.logical(result)
        case "%in%":
            return try membership(lhs, rhs, context: context)
        default:
            return try compare(op, lhs, rhs, context: context)
        }
    }

    /// One side of a comparison: numbers (a logical as 0/1), text per row, or a string constant.
    private enum Operand {
        case numbers([Double])
        case text(codes: [Int32], levels: [String])
        case constant(String)
    }

    private func operand(_ expression: FormulaExpression, context: FormulaExpression) throws -> Operand {
        if case let .string(value) = expression { return .constant(value) }
        switch try evaluate(expression) {
        case let .numeric(values): return .numbers(values)
        case let .factor(codes, _, true): return .numbers(codes.map { $0 < 0 ? .nan : Double($0) })
        case let .factor(codes, levels, false): return .text(codes: codes, levels: levels)
        case .twoColumn:
            throw GLMError.invalidTerm(term: context.deparsed, message: "cbind() cannot be used inside an expression")
        case .matrix:
            throw GLMError.invalidTerm(term: context.deparsed, message: "'\(expression.deparsed)' has several columns and cannot be compared")
        }
    }

    /// Each row's text (nil when missing); numbers as R's `as.character` writes them.
    private func texts(_ operand: Operand, count: Int) -> [String?] {
        switch operand {
        case let .numbers(values): return values.map { $0.isNaN ? nil : RFormat.deparse($0) }
        case let .text(codes, levels):
            return codes.map { $0 >= 0 && Int($0) < levels.count ? levels[Int($0)] : nil }
        case let .constant(value): return [String?](repeating: value, count: count)
        }
    }

    private func compare(
        _ op: String, _ lhs: FormulaExpression, _ rhs: FormulaExpression, context: FormulaExpression
    ) throws -> VariableValues {
        let left = try operand(lhs, context: context)
        let right = try operand(rhs, context: context)
        let count = table.rowCount
        var result = [Int32](repeating: -1, count: count)
        if case let .numbers(a) = left, case let .numbers(b) = right {
            let test: (Double, Double) -> Bool
            switch op {
            case "<": test = (<)
            case ">": test = (>)
            case "<=": test = (<=)
            case ">=": test = (>=)
            case "==": test = (==)
            default: test = (!=)
            }
            for row in 0..<count where !a[row].isNaN && !b[row].isNaN { result[row] = test(a[row], b[row]) ? 1 : 0 }
            return ExpressionEvaluator.logical(result)
        }
        // Text: R compares the level (or the string) itself; an order of text depends on
        // the locale's collation, which a formula should not, so only equality is offered.
        guard op == "==" || op == "!=" else {
            throw GLMError.invalidTerm(
                term: context.deparsed,
                message: "'\(op)' compares text by the locale's collation; glmfit compares text only with == and != (or %in%)")
        }
        // A text column against a constant: one comparison per level, not per row.
        if case let .text(codes, levels) = left, case let .constant(value) = right {
            return ExpressionEvaluator.logical(ExpressionEvaluator.levelTest(codes, levels) { ($0 == value) == (op == "==") })
        }
        if case let .constant(value) = left, case let .text(codes, levels) = right {
            return ExpressionEvaluator.logical(ExpressionEvaluator.levelTest(codes, levels) { ($0 == value) == (op == "==") })
        }
        let a = texts(left, count: count)
        let b = texts(right, count: count)
        for row in 0..<count {
            guard let x = a[row], let y = b[row] else { continue }
            result[row] = (x == y) == (op == "==") ? 1 : 0
        }
        return ExpressionEvaluator.logical(result)
    }

    private static func levelTest(_ codes: [Int32], _ levels: [String], _ test: (String) -> Bool) -> [Int32] {
        let byLevel: [Int32] = levels.map { test($0) ? 1 : 0 }
        return codes.map { $0 >= 0 && Int($0) < byLevel.count ? byLevel[Int($0)] : -1 }
    }

    /// The constants of `c(...)` or a single constant: R's `%in%` table.
    private func constantSet(_ expression: FormulaExpression, context: FormulaExpression) throws -> [Operand] {
        func element(_ item: FormulaExpression) throws -> Operand {
            switch item {
            case let .number(value, _): return .numbers([value])
            case let .unary("-", .number(value, _)): return .numbers([-value])
            case let .string(value): return .constant(value)
            case let .logical(value): return .numbers([value ? 1 : 0])
            case let .parenthesized(inner): return try element(inner)
            default:
                throw GLMError.invalidTerm(
                    term: context.deparsed,
                    message: "the right of %in% must be constants, as in c(4, 6) or c(\"a\", \"b\"); '\(item.deparsed)' is not one")
            }
        }
        if case let .call("c", items) = expression {
            return try items.map { item in
                if case let .argument(name, _) = item {
                    throw GLMError.unsupportedArgument(function: "c", argument: name)
                }
                return try element(item)
            }
        }
        return [try element(expression)]
    }

    /// `x %in% c(...)`: never NA (R's `match`); a missing value is in no set of constants.
    private func membership(_ lhs: FormulaExpression, _ rhs: FormulaExpression, context: FormulaExpression) throws -> VariableValues {
        let set = try constantSet(rhs, context: context)
        var numbers = Set<Double>()
        var strings = Set<String>()
        for item in set {
            switch item {
            case let .numbers(values): numbers.formUnion(values); strings.formUnion(values.map(RFormat.deparse))
            case let .constant(value): strings.insert(value)
            case .text: break
            }
        }
        let hasStrings = set.contains { if case .constant = $0 { return true } else { return false } }
        switch try operand(lhs, context: context) {
        case let .numbers(values) where !hasStrings:
            return ExpressionEvaluator.logical(values.map { numbers.contains($0) ? 1 : 0 })
        case let .text(codes, levels):
            let byLevel: [Int32] = levels.map { strings.contains($0) ? 1 : 0 }
            return ExpressionEvaluator.logical(codes.map { $0 >= 0 && Int($0) < byLevel.count ? byLevel[Int($0)] : 0 })
        case let left:
            return ExpressionEvaluator.logical(texts(left, count: table.rowCount).map { text in
                text.map { strings.contains($0) ? 1 : 0 } ?? 0
            })
        }
    }

    /// R's `%%` and `%/%` on doubles (arithmetic.c's myfmod and myfloor).
    static func modulo(_ x: Double, _ y: Double) -> Double {
        if y == 0 { return .nan }
        let quotient = x / y
        let remainder = x - quotient.rounded(.down) * y
        return remainder - (remainder / y).rounded(.down) * y
    }

    static func integerDivision(_ x: Double, _ y: Double) -> Double {
        let quotient = x / y
        if y == 0 || !quotient.isFinite || Swift.abs(quotient) * Double.ulpOfOne > 1 { return quotient }
        let remainder = x - quotient.rounded(.down) * y
        return quotient.rounded(.down) + (remainder / y).rounded(.down)
    }

    // MARK: - Functions

    /// R's argument matching for `function`'s formals: exact names first, then the unnamed
    /// arguments in order. `variadic` functions (pmin, pmax) take any number of unnamed ones.
    func matchArguments(
        _ function: String, _ arguments: [FormulaExpression], context: FormulaExpression, variadic: Bool = false
    ) throws -> (named: [String: FormulaExpression], rest: [FormulaExpression]) {
        let formals = ExpressionEvaluator.languageFormals[function] ?? ["x"]
        var named: [String: FormulaExpression] = [:]
        var positional: [FormulaExpression] = []
        for argument in arguments {
            if case let .argument(name, value) = argument {
                guard formals.contains(name) else { throw GLMError.unsupportedArgument(function: function, argument: name) }
                guard named[name] == nil else {
                    throw GLMError.invalidTerm(term: context.deparsed, message: "argument '\(name)' given twice")
                }
                named[name] = value
            } else {
                positional.append(argument)
            }
        }
        if variadic { return (named, positional) }
        var rest = positional[...]
        for formal in formals where named[formal] == nil {
            guard let next = rest.first else { break }
            named[formal] = next
            rest = rest.dropFirst()
        }
        guard rest.isEmpty else {
            throw GLMError.invalidTerm(
                term: context.deparsed, message: "\(function)() takes at most \(formals.count) argument\(formals.count == 1 ? "" : "s") (\(formals.joined(separator: ", ")))")
        }
        return (named, [])
    }

    /// A constant argument (`digits = 1`, `na.rm = TRUE`) as a number.
    private func constantNumber(_ expression: FormulaExpression, _ name: String, context: FormulaExpression) throws -> Double {
        switch expression {
        case let .number(value, _): return value
        case let .unary("-", .number(value, _)): return -value
        case let .logical(value): return value ? 1 : 0
        case let .parenthesized(inner): return try constantNumber(inner, name, context: context)
        default:
            throw GLMError.invalidTerm(term: context.deparsed, message: "'\(name)' must be a constant, not '\(expression.deparsed)'")
        }
    }

    /// The functions this file adds; nil when `function` is not one of them.
    func evaluateLanguageCall(
        _ function: String, _ arguments: [FormulaExpression], context: FormulaExpression
    ) throws -> VariableValues? {
        if let rounding = ExpressionEvaluator.roundingFunctions[function] {
            let (named, _) = try matchArguments(function, arguments, context: context)
            guard let x = named["x"] else { throw GLMError.invalidTerm(term: context.deparsed, message: "\(function)() needs an argument") }
            return .numeric(try numeric(x, context: context).map(rounding))
        }
        switch function {
        case "log":
            let (named, _) = try matchArguments(function, arguments, context: context)
            guard let x = named["x"] else { throw GLMError.invalidTerm(term: context.deparsed, message: "log() needs an argument") }
            let values = try numeric(x, context: context)
            guard let baseExpression = named["base"] else { return .numeric(values.map { Foundation.log($0) }) }
            let base = try numeric(baseExpression, context: context)
            var result = [Double](repeating: .nan, count: values.count)
            // R: log(x, base) is log(x) / log(base), except for base 10 and 2 (R_log).
            for row in 0..<values.count {
                switch base[row] {
                case 10: result[row] = Foundation.log10(values[row])
                case 2: result[row] = Foundation.log2(values[row])
                default: result[row] = Foundation.log(values[row]) / Foundation.log(base[row])
                }
            }
            return .numeric(result)
        case "round", "signif":
            let (named, _) = try matchArguments(function, arguments, context: context)
            guard let x = named["x"] else { throw GLMError.invalidTerm(term: context.deparsed, message: "\(function)() needs an argument") }
            let digitsValue = try named["digits"].map { try constantNumber($0, "digits", context: context) } ?? (function == "round" ? 0 : 6)
            guard digitsValue.isFinite, Swift.abs(digitsValue) < 1_000 else {
                throw GLMError.invalidTerm(term: context.deparsed, message: "'digits' must be a whole number below 1000")
            }
            let digits = Int(digitsValue.rounded(.towardZero))
            let values = try numeric(x, context: context)
            return .numeric(function == "round" ? values.map { RFormat.round($0, digits: digits) }
                                                : values.map { RFormat.signif($0, digits: Swift.max(1, digits)) })
        case "ifelse":
            let (named, _) = try matchArguments(function, arguments, context: context)
            guard let test = named["test"], let yes = named["yes"], let no = named["no"] else {
                throw GLMError.invalidTerm(term: context.deparsed, message: "ifelse() needs test, yes and no")
            }
            let condition = try logicalCodes(test, context: context)
            let yesValue = try evaluate(yes)
            let noValue = try evaluate(no)
            if case let .factor(yesCodes, _, true) = yesValue, case let .factor(noCodes, _, true) = noValue {
                return ExpressionEvaluator.logical(condition.indices.map { row in
                    condition[row] < 0 ? -1 : (condition[row] == 1 ? yesCodes[row] : noCodes[row])
                })
            }
            let yesNumbers = try numeric(yesValue, of: yes, context: context)
            let noNumbers = try numeric(noValue, of: no, context: context)
            return .numeric(condition.indices.map { row in
                condition[row] < 0 ? .nan : (condition[row] == 1 ? yesNumbers[row] : noNumbers[row])
            })
        case "pmin", "pmax":
            let (named, rest) = try matchArguments(function, arguments, context: context, variadic: true)
            guard let first = rest.first else {
                throw GLMError.invalidTerm(term: context.deparsed, message: "\(function)() needs at least one argument")
            }
            let removeMissing = try named["na.rm"].map { try constantNumber($0, "na.rm", context: context) != 0 } ?? false
            var result = try numeric(first, context: context)
            let isMin = function == "pmin"
            for other in rest.dropFirst() {
                let values = try numeric(other, context: context)
                for row in 0..<result.count {
                    let (a, b) = (result[row], values[row])
                    if a.isNaN || b.isNaN {
                        result[row] = removeMissing ? (a.isNaN ? b : a) : .nan
                    } else {
                        result[row] = isMin ? Swift.min(a, b) : Swift.max(a, b)
                    }
                }
            }
            return .numeric(result)
        default:
            guard ExpressionEvaluator.dataDependentFunctions.contains(function) else { return nil }
            let key = context.deparsed
            let value: Double
            if let fixed = constants.fixed[key] {
                value = fixed
            } else {
                value = try summaryValue(function, arguments, context: context)
                constants.record(key, value)
            }
            return .numeric([Double](repeating: value, count: table.rowCount))
        }
    }

    /// `mean(x)`, `sd(x)`, … over every row of the table, as R computes them (sums in long
    /// double); NA when a value is missing unless `na.rm = TRUE`.
    private func summaryValue(_ function: String, _ arguments: [FormulaExpression], context: FormulaExpression) throws -> Double {
        let (named, _) = try matchArguments(function, arguments, context: context)
        guard let x = named["x"] else { throw GLMError.invalidTerm(term: context.deparsed, message: "\(function)() needs an argument") }
        let all = try numeric(x, context: context)
        if function == "length" { return Double(all.count) }
        let removeMissing = try named["na.rm"].map { try constantNumber($0, "na.rm", context: context) != 0 } ?? false
        let values = removeMissing ? all.filter { !$0.isNaN } : all
        if values.contains(where: \.isNaN) { return .nan }
        return ExpressionEvaluator.summary(function, values)
    }

    static func summary(_ function: String, _ values: [Double]) -> Double {
        let n = values.count
        switch function {
        case "sum":
            return Double(values.reduce(LongDouble(0)) { $0 + LongDouble($1) })
        case "mean":
            return longDoubleMean(values)
        case "min":
            return values.min() ?? .infinity
        case "max":
            return values.max() ?? -.infinity
        case "median":
            guard n > 0 else { return .nan }
            let sorted = values.sorted()
            let half = (n + 1) / 2
            if n % 2 == 1 { return sorted[half - 1] }
            return longDoubleMean([sorted[half - 1], sorted[half]])
        default:  // var, sd: R's cov.c (the mean rounded to double, the squares summed in long double)
            guard n > 1 else { return .nan }
            let mean = longDoubleMean(values)
            var squares = LongDouble(0)
            for value in values {
                let deviation = value - mean
                squares += LongDouble(deviation * deviation)
            }
            let variance = Double(squares / LongDouble(n - 1))
            return function == "sd" ? variance.squareRoot() : variance
        }
    }

    /// R's `mean.default` (summary.c): the long double sum over n, then one correction pass.
    static func longDoubleMean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let n = LongDouble(values.count)
        var sum = LongDouble(0)
        for value in values { sum += LongDouble(value) }
        var mean = sum / n
        if mean.isFinite {
            var correction = LongDouble(0)
            for value in values { correction += LongDouble(value) - mean }
            mean += correction / n
        }
        return Double(mean)
    }
}

extension FormulaExpression {
    /// The first call of a data-dependent function (`mean(x)`), deparsed, in reading order.
    var firstDataDependentCall: String? {
        switch self {
        case .name, .number, .string, .logical, .dot:
            return nil
        case let .call(function, arguments):
            if ExpressionEvaluator.dataDependentFunctions.contains(function) { return deparsed }
            for argument in arguments { if let found = argument.firstDataDependentCall { return found } }
            return nil
        case let .binary(_, lhs, rhs):
            return lhs.firstDataDependentCall ?? rhs.firstDataDependentCall
        case let .unary(_, operand), let .parenthesized(operand), let .argument(_, operand):
            return operand.firstDataDependentCall
        }
    }
}
