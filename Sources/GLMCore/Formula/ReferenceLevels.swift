/// `--ref COLUMN=LEVEL`: the reference level of a factor chosen on the command line, as
/// R's `relevel(f, ref = LEVEL)` on the data column before the fit: LEVEL moves to the
/// front and the other levels keep their order. It applies wherever the column is a factor
/// of the model: `f` (a text column), `factor(f)` or `as.factor(f)` (a text or numeric
/// column), and the response (whose first level a binomial model counts as failure).
public enum ReferenceLevels {
    /// Parses the values of `--ref` (`COLUMN=LEVEL`, split at the first `=`; a column named
    /// twice is an error).
    public static func parse(_ values: [String]) throws -> [String: String] {
        var levels: [String: String] = [:]
        for value in values {
            guard let equals = value.firstIndex(of: "="), equals != value.startIndex else {
                throw GLMError.invalidOption(name: "--ref", message: "expected COLUMN=LEVEL (got '\(value)')")
            }
            let column = String(value[..<equals])
            let level = String(value[value.index(after: equals)...])
            if let earlier = levels[column], earlier != level {
                throw GLMError.invalidOption(
                    name: "--ref", message: "column '\(column)' is given two reference levels, '\(earlier)' and '\(level)'")
            }
            levels[column] = level
        }
        return levels
    }

    /// The column whose factor `expression` is: `f`, `factor(f)` or `as.factor(f)`.
    static func column(of expression: FormulaExpression) -> String? {
        switch expression {
        case let .name(name):
            return name
        case let .call(function, arguments) where (function == "factor" || function == "as.factor") && arguments.count == 1:
            if case let .name(name) = arguments[0] { return name }
            return nil
        case let .parenthesized(inner):
            return column(of: inner)
        default:
            return nil
        }
    }

    /// `values` with `level` moved to the front of its levels (R's `relevel`), when
    /// `expression` is the factor of a column in `references`; `applied` collects the
    /// columns so releveled.
    static func apply(
        _ references: [String: String], to values: VariableValues, expression: FormulaExpression, applied: inout Set<String>
    ) throws -> VariableValues {
        guard !references.isEmpty, let column = column(of: expression), let level = references[column],
              case let .factor(codes, levels, isLogical) = values else { return values }
        if isLogical {
            throw GLMError.invalidOption(
                name: "--ref",
                message: "'\(column)' is a logical column (TRUE/FALSE), coded as R codes it with FALSE as the reference; "
                    + "--ref is for factors")
        }
        guard let position = levels.firstIndex(of: level) else {
            let shown = levels.prefix(20).joined(separator: ", ") + (levels.count > 20 ? ", ... (\(levels.count) levels)" : "")
            throw GLMError.invalidOption(
                name: "--ref", message: "column '\(column)' has no level '\(level)'; its levels are: \(shown)")
        }
        applied.insert(column)
        if position == 0 { return values }
        // Old code -> new code: the reference becomes 0, the levels before it move up one.
        var newCode = [Int32](repeating: 0, count: levels.count)
        for old in levels.indices {
            newCode[old] = Int32(truncatingIfNeeded: old == position ? 0 : (old < position ? old + 1 : old))
        }
        let recoded = codes.map { $0 >= 0 && Int($0) < newCode.count ? newCode[Int($0)] : $0 }
        var reordered = levels
        reordered.remove(at: position)
        reordered.insert(level, at: 0)
        return .factor(codes: recoded, levels: reordered, isLogical: false)
    }

    /// Throws for a `--ref` column the model frame did not relevel: one the data does not
    /// have, or one that is not a factor of the model.
    public static func checkApplied(_ references: [String: String], frame: ModelFrame, columnNames: [String]) throws {
        for column in references.keys.sorted() where !frame.referenceLevels.keys.contains(column) {
            guard columnNames.contains(column) else {
                let unknown = GLMError.unknownColumn(
                    name: column, suggestions: NameSuggestions.nearest(to: column, in: columnNames))
                throw GLMError.invalidOption(name: "--ref", message: unknown.message)
            }
            let used = (frame.terms.variables + [frame.terms.formula.response].compactMap { $0 })
                .contains { $0.columnNames.contains(column) }
            throw GLMError.invalidOption(
                name: "--ref",
                message: used
                    ? "'\(column)' is not a factor of the model; write factor(\(column)) in the formula to make it one"
                    : "'\(column)' is not in the formula")
        }
    }
}
