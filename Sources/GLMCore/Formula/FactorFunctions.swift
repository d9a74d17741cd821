import Foundation

/// A constant argument of a call (`levels = c("b", "a")`, `ref = 2`, `raw = TRUE`).
enum ConstantValue: Equatable {
    case number(Double)
    case string(String)
    case logical(Bool)

    /// As R's `as.character` writes it (numbers as `factor()` labels them).
    var text: String {
        switch self {
        case let .number(value): return RFormat.deparse(value)
        case let .string(value): return value
        case let .logical(value): return value ? "TRUE" : "FALSE"
        }
    }
}

/// The arguments of a call matched to a function's formals, as R matches them: by exact
/// name first, then the unnamed ones in order.
struct MatchedArguments {
    let function: String
    let label: String
    private var values: [String: FormulaExpression] = [:]

    init(function: String, arguments: [FormulaExpression], formals: [String], label: String) throws {
        self.function = function
        self.label = label
        var positional: [FormulaExpression] = []
        for argument in arguments {
            if case let .argument(name, value) = argument {
                guard formals.contains(name) else { throw GLMError.unsupportedArgument(function: function, argument: name) }
                guard values[name] == nil else {
                    throw GLMError.invalidTerm(term: label, message: "argument '\(name)' is given twice")
                }
                values[name] = value
            } else {
                positional.append(argument)
            }
        }
        var open = formals.filter { values[$0] == nil }[...]
        for argument in positional {
            guard let name = open.popFirst() else {
                throw GLMError.invalidTerm(term: label, message: "\(function)() takes at most \(formals.count) arguments here")
            }
            values[name] = argument
        }
    }

    subscript(_ name: String) -> FormulaExpression? { values[name] }

    func required(_ name: String) throws -> FormulaExpression {
        guard let value = values[name] else {
            throw GLMError.invalidTerm(term: label, message: "\(function)() needs its argument '\(name)'")
        }
        return value
    }

    /// The constants an argument holds: a literal, a negated number, or `c(...)` of those.
    func constants(_ name: String) throws -> [ConstantValue]? {
        guard let expression = values[name] else { return nil }
        return try MatchedArguments.constants(of: expression, label: label, argument: name)
    }

    static func constants(of expression: FormulaExpression, label: String, argument: String) throws -> [ConstantValue] {
        switch expression {
        case let .number(value, _): return [.number(value)]
        case let .string(value): return [.string(value)]
        case let .logical(value): return [.logical(value)]
        case let .unary(op, .number(value, _)): return [.number(op == "-" ? -value : value)]
        case let .parenthesized(inner): return try constants(of: inner, label: label, argument: argument)
        case let .binary(":", from, to):
            // R's `4:8`: whole steps of one from `from` towards `to`.
            let ends = try constants(of: from, label: label, argument: argument) + constants(of: to, label: label, argument: argument)
            guard ends.count == 2, case let .number(start) = ends[0], case let .number(end) = ends[1],
                  start.isFinite, end.isFinite, abs(end - start) <= 100_000 else {
                throw GLMError.invalidTerm(term: label, message: "'\(argument)': a range a:b needs two numbers at most 100000 apart")
            }
            let steps = Int(abs(end - start).rounded(.down))
            return (0...steps).map { .number(start + Double(end >= start ? $0 : -$0)) }
        case let .call("c", items):
            return try items.flatMap { item -> [ConstantValue] in
                if case .argument = item {
                    throw GLMError.invalidTerm(term: label, message: "'\(argument)' takes c() of unnamed constants")
                }
                return try constants(of: item, label: label, argument: argument)
            }
        default:
            throw GLMError.invalidTerm(
                term: label, message: "'\(argument)' must be a constant such as 2, \"b\", TRUE or c(...) of them (got \(expression.deparsed))")
        }
    }

    func numbers(_ name: String) throws -> [Double]? {
        guard let values = try constants(name) else { return nil }
        return try values.map { value in
            guard case let .number(number) = value else {
                throw GLMError.invalidTerm(term: label, message: "'\(name)' must be numbers (got \(value.text))")
            }
            return number
        }
    }

    func number(_ name: String) throws -> Double? {
        guard let values = try numbers(name) else { return nil }
        guard values.count == 1 else { throw GLMError.invalidTerm(term: label, message: "'\(name)' must be one number") }
        return values[0]
    }

    /// A whole number in `range`.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = try number(name) else { return nil }
        guard value == value.rounded(), value >= Double(range.lowerBound), value <= Double(range.upperBound) else {
            throw GLMError.invalidTerm(
                term: label, message: "'\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(value)
    }

    func flag(_ name: String) throws -> Bool? {
        guard let values = try constants(name) else { return nil }
        guard values.count == 1, case let .logical(flag) = values[0] else {
            throw GLMError.invalidTerm(term: label, message: "'\(name)' must be TRUE or FALSE")
        }
        return flag
    }
}

extension ExpressionEvaluator {
    /// The functions whose results carry attributes or data-dependent parameters, evaluated
    /// here rather than as plain arithmetic.
    static let modelFunctions: Set<String> = [
        "factor", "as.factor", "ordered", "as.ordered", "relevel", "C",
        "poly", "ns", "bs", "splines::ns", "splines::bs", "scale", "cut",
    ]

    /// The named arguments of the model functions (`ExpressionEvaluator.supportedArguments`).
    static let modelFunctionArguments: [String: Set<String>] = [
        "factor": ["x", "levels", "labels", "ordered"],
        "ordered": ["x", "levels", "labels"],
        "relevel": ["x", "ref"],
        "C": ["object", "contr", "base"],
        "poly": ["x", "degree", "raw"],
        "ns": ["x", "df", "knots", "intercept", "Boundary.knots"],
        "splines::ns": ["x", "df", "knots", "intercept", "Boundary.knots"],
        "bs": ["x", "df", "knots", "degree", "intercept", "Boundary.knots"],
        "splines::bs": ["x", "df", "knots", "degree", "intercept", "Boundary.knots"],
        "scale": ["x", "center", "scale"],
        "cut": ["x", "breaks", "right", "include.lowest", "dig.lab"],
    ]

    /// A variable's values and the attributes R would give it (ordered, contrasts).
    func evaluateWithAttributes(_ expression: FormulaExpression) throws -> (values: VariableValues, attributes: VariableAttributes) {
        switch expression {
        case let .parenthesized(inner):
            return try evaluateWithAttributes(inner)
        case let .call(function, arguments) where ExpressionEvaluator.modelFunctions.contains(function):
            return try evaluateModelFunction(function, arguments, label: expression.deparsed)
        default:
            return (try evaluate(expression), VariableAttributes())
        }
    }

    func evaluateModelFunction(
        _ function: String, _ arguments: [FormulaExpression], label: String
    ) throws -> (values: VariableValues, attributes: VariableAttributes) {
        switch function {
        case "factor", "as.factor", "ordered", "as.ordered":
            let formals = function.hasPrefix("as.") ? ["x"] : (function == "factor" ? ["x", "levels", "labels", "ordered"] : ["x", "levels", "labels"])
            let matched = try MatchedArguments(function: function, arguments: arguments, formals: formals, label: label)
            return try makeFactor(matched, ordered: function.hasSuffix("ordered") ? true : nil)
        case "relevel":
            let matched = try MatchedArguments(function: function, arguments: arguments, formals: ["x", "ref"], label: label)
            return try relevel(matched)
        case "C":
            let matched = try MatchedArguments(function: function, arguments: arguments, formals: ["object", "contr", "base"], label: label)
            return try withContrasts(matched)
        default:
            return (try evaluateBasis(function, arguments, label: label), VariableAttributes())
        }
    }

    /// `factor(x, levels =, labels =, ordered =)`, `ordered(x, ...)`, `as.factor(x)`.
    private func makeFactor(_ matched: MatchedArguments, ordered: Bool?) throws -> (values: VariableValues, attributes: VariableAttributes) {
        let label = matched.label
        let (inner, innerAttributes) = try evaluateWithAttributes(try matched.required("x"))
        // R: as.factor() of a factor, and as.ordered() of an ordered one, return it as it is.
        if case .factor = inner, matched.function == "as.factor" || (matched.function == "as.ordered" && innerAttributes.isOrdered) {
            return (inner, innerAttributes)
        }
        let isOrdered = try ordered ?? matched.flag("ordered") ?? innerAttributes.isOrdered
        var codes: [Int32]
        var levels: [String]
        var isLogical = false
        switch inner {
        case let .factor(innerCodes, innerLevels, innerIsLogical):
            (codes, levels, isLogical) = (innerCodes, innerLevels, innerIsLogical)
        case let .numeric(values):
            guard case let .factor(numberCodes, numberLevels, _) = ExpressionEvaluator.factor(fromNumbers: values) else {
                throw GLMError.invalidTerm(term: label, message: "cannot make a factor of these values")
            }
            (codes, levels) = (numberCodes, numberLevels)
        case .twoColumn, .matrix:
            throw GLMError.invalidTerm(term: label, message: "cannot make a factor of a value with several columns")
        }
        if let wanted = try matched.constants("levels") {
            let names = wanted.map(\.text)
            guard Set(names).count == names.count else {
                throw GLMError.invalidTerm(term: label, message: "'levels' has a level twice")
            }
            var position: [String: Int32] = [:]
            for (index, name) in names.enumerated() { position[name] = Int32(truncatingIfNeeded: index) }
            // Values outside the given levels become missing, as in R.
            let map = levels.map { position[$0] ?? -1 }
            codes = codes.map { $0 >= 0 && Int($0) < map.count ? map[Int($0)] : -1 }
            levels = names
            isLogical = false
        }
        if let labels = try matched.constants("labels")?.map(\.text) {
            if labels.count == 1, levels.count > 1 {
                levels = levels.indices.map { labels[0] + String($0 + 1) }
            } else {
                guard labels.count == levels.count else {
                    throw GLMError.invalidTerm(
                        term: label, message: "'labels' has \(labels.count) names for \(levels.count) levels")
                }
                guard Set(labels).count == labels.count else {
                    throw GLMError.invalidTerm(term: label, message: "'labels' names two levels alike; glmfit needs distinct labels")
                }
                levels = labels
            }
            isLogical = false
        }
        return (.factor(codes: codes, levels: levels, isLogical: isLogical), VariableAttributes(isOrdered: isOrdered))
    }

    /// `relevel(f, ref = "b")`: the level moves to the front, the others keep their order.
    private func relevel(_ matched: MatchedArguments) throws -> (values: VariableValues, attributes: VariableAttributes) {
        let label = matched.label
        let (inner, attributes) = try evaluateWithAttributes(try matched.required("x"))
        guard case let .factor(codes, levels, isLogical) = inner, !isLogical else {
            throw GLMError.invalidTerm(term: label, message: "'relevel' only for (unordered) factors; make one with factor()")
        }
        guard !attributes.isOrdered else {
            throw GLMError.invalidTerm(term: label, message: "'relevel' only for unordered factors")
        }
        guard let reference = try matched.constants("ref"), reference.count == 1 else {
            throw GLMError.invalidTerm(term: label, message: "'ref' must be one level")
        }
        // New data: the saved levels, not the new rows' own, decide the coding, and the
        // reference need not occur in a few new rows.
        if bases.fixed != nil {
            return (inner, VariableAttributes())
        }
        let position: Int
        switch reference[0] {
        case let .number(value) where value == value.rounded() && value >= 1 && value <= Double(levels.count):
            position = Int(value) - 1
        case let .string(name):
            guard let index = levels.firstIndex(of: name) else {
                let shown = levels.prefix(20).joined(separator: ", ")
                throw GLMError.invalidTerm(term: label, message: "'ref' must be an existing level; the levels are \(shown)")
            }
            position = index
        default:
            throw GLMError.invalidTerm(term: label, message: "ref = \(reference[0].text) is not a level or a level's position")
        }
        var newCode = [Int32](repeating: 0, count: levels.count)
        for old in levels.indices {
            newCode[old] = Int32(truncatingIfNeeded: old == position ? 0 : (old < position ? old + 1 : old))
        }
        var reordered = levels
        reordered.remove(at: position)
        reordered.insert(levels[position], at: 0)
        let recoded = codes.map { $0 >= 0 && Int($0) < newCode.count ? newCode[Int($0)] : $0 }
        return (.factor(codes: recoded, levels: reordered, isLogical: false), VariableAttributes())
    }

    /// `C(f, contr.sum)`: the factor with its contrasts set, as R's `C()`.
    private func withContrasts(_ matched: MatchedArguments) throws -> (values: VariableValues, attributes: VariableAttributes) {
        let label = matched.label
        var (values, attributes) = try evaluateWithAttributes(try matched.required("object"))
        switch values {
        case .factor:
            break
        case let .numeric(numbers):
            values = ExpressionEvaluator.factor(fromNumbers: numbers)
        case .twoColumn, .matrix:
            throw GLMError.invalidTerm(term: label, message: "C() needs a factor")
        }
        let base = try matched.integer("base", in: 1...Int(Int32.max))
        guard let contr = matched["contr"] else {
            // R: the default contrasts for the factor's kind.
            attributes.contrasts = nil
            return (values, attributes)
        }
        let kind: ContrastSpec.Kind
        var numbered: Bool
        switch contr {
        case let .name(name):
            guard let known = ContrastSpec.kind(named: name) else {
                throw GLMError.invalidTerm(
                    term: label, message: "unknown contrasts '\(name)'; glmfit knows "
                        + ContrastSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            kind = known
            // R calls a contrast function given by name with the number of levels (columns
            // numbered); the short names (sum, SAS...) and strings are called with the levels.
            numbered = name.hasPrefix("contr.") || name.hasPrefix("stats::")
        case let .string(name):
            guard let known = ContrastSpec.Kind(rawValue: name) else {
                throw GLMError.invalidTerm(term: label, message: "unknown contrasts \"\(name)\"")
            }
            kind = known
            numbered = false
        default:
            throw GLMError.invalidTerm(
                term: label, message: "the contrasts must be named, as in C(f, contr.sum); \(contr.deparsed) is not supported")
        }
        if base != nil {
            guard kind == .treatment else { throw GLMError.unsupportedArgument(function: "C", argument: "base") }
            numbered = true
        }
        attributes.contrasts = ContrastSpec(kind: kind, base: base, numbered: numbered)
        return (values, attributes)
    }
}

extension ExpressionEvaluator {
    /// The first factor function or basis (`C`, `relevel`, `poly`, `cut`...) the expression
    /// calls, in reading order: what a fit in chunks cannot evaluate chunk by chunk.
    static func firstModelFunction(in expression: FormulaExpression) -> String? {
        switch expression {
        case let .call(function, arguments):
            if modelFunctions.contains(function) { return function }
            for argument in arguments {
                if let found = firstModelFunction(in: argument) { return found }
            }
            return nil
        case let .binary(_, lhs, rhs):
            return firstModelFunction(in: lhs) ?? firstModelFunction(in: rhs)
        case let .unary(_, operand), let .parenthesized(operand), let .argument(_, operand):
            return firstModelFunction(in: operand)
        case .name, .number, .string, .logical, .dot:
            return nil
        }
    }

    /// The data column whose values a factor variable recodes (`f`, `factor(f)`,
    /// `relevel(factor(f), ref = "b")`, `C(f, contr.sum)`), so that new data's text in that
    /// column is read against the fit's levels; nil for anything else (`cut(x, 3)`, or
    /// `factor(f, labels =)`, whose levels are not the column's values).
    static func factorColumn(of expression: FormulaExpression) -> String? {
        switch expression {
        case let .name(name):
            return name
        case let .parenthesized(inner):
            return factorColumn(of: inner)
        case let .call(function, arguments) where ["factor", "as.factor", "ordered", "as.ordered", "relevel", "C"].contains(function):
            var first: FormulaExpression?
            for argument in arguments {
                switch argument {
                case let .argument(name, value) where name == "x" || name == "object":
                    first = value
                case let .argument(name, _) where name == "labels":
                    return nil
                case .argument:
                    continue
                default:
                    if first == nil { first = argument }
                }
            }
            return first.flatMap(factorColumn(of:))
        default:
            return nil
        }
    }
}
