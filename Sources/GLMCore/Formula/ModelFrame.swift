import Foundation

/// The rows a model uses and its variables evaluated on them (R's `model.frame` with
/// `na.omit` and `drop.unused.levels = TRUE`).
public struct ModelFrame: Sendable {
    public let terms: Terms
    /// The response over the used rows: numeric, a factor, or cbind's two columns.
    public let response: VariableValues
    public let responseLabel: String
    /// Predictor variables over the used rows, in `terms.variables` order; factors keep
    /// only the levels present.
    public let variables: [VariableValues]
    /// The sum of the offsets, or nil when the formula has none.
    public let offset: [Double]?
    /// Prior weights, or nil when none were given.
    public let priorWeights: [Double]?
    public let weightsColumn: String?
    /// `--frequency-weights`: how many observations each used row stands for (whole numbers,
    /// checked), or nil when none were given; see `FrequencyWeights`.
    public let frequencyWeights: [Double]?
    public let frequencyWeightsColumn: String?
    /// The observations the used rows stand for: Σ frequency weights, or nil without them.
    public let frequencyTotal: Int?
    /// The table row (0-based) of each used row.
    public let rowIndices: [Int]
    public let droppedCount: Int
    /// Rows left out by `--subset` (FALSE there; a row where it is NA counts as missing, as
    /// in R, whose `[` makes such a row all NA for `na.omit` to drop).
    public let subsetExcludedCount: Int
    /// The values of the data-dependent calls in the formula (`mean(x)`), for saving.
    public let constants: [String: Double]
    public let source: String
    /// Warnings R would print while building the frame (e.g. "NaNs produced").
    public let warnings: [String]
    /// When the response is a text column that holds numbers and some other text (a
    /// numeric column with a typo, most likely), its first non-numeric field.
    public let responseNonNumericField: GLMError?
    /// The `--ref` reference levels applied, by column (see `ReferenceLevels`).
    public let referenceLevels: [String: String]
    /// Each predictor variable's attributes (ordered, contrasts set by `C()`), in `variables` order.
    public let attributes: [VariableAttributes]
    /// The contrasts of factors that set none (`--contrasts`, R's `options(contrasts =)`).
    public let defaultContrasts: DefaultContrasts
    /// The parameters the data gave each data-dependent basis (`poly`, `ns`, `scale`...), by call.
    public let bases: [String: BasisParameters]
    private let recordLines: [Int]?

    /// The rows used (`rowIndices.count`, or the whole input's for a streamed fit's frame).
    public let rowCount: Int

    /// The input line of used row `row`.
    public func line(ofUsedRow row: Int) -> Int {
        guard row >= 0, row < rowIndices.count else { return 0 }
        let tableRow = rowIndices[row]
        if let recordLines, tableRow < recordLines.count { return recordLines[tableRow] }
        return tableRow + 2
    }

    /// The columns a formula needs from the table (with `weightsColumn`), for the reader.
    ///
    /// - Throws: `unknownColumn` when one name is not in `columnNames`, `unknownColumns`
    ///   naming every missing one, in the order the formula names them, when several are not.
    public static func requiredColumns(
        formula: Formula, columnNames: [String], weightsColumn: String?, frequencyWeightsColumn: String? = nil
    ) throws -> Set<Int> {
        let terms = try Terms(formula: formula, columnNames: columnNames)
        // The formula's names in reading order (R's all.vars), then those `.` stands for.
        var names: [String] = []
        var seen = Set<String>()
        var all = (formula.response?.columnNames ?? []) + formula.predictors.columnNames
        for variable in terms.variables { all += variable.columnNames }
        for offset in terms.offsets { all += offset.columnNames }
        if let weightsColumn { all.append(weightsColumn) }
        if let frequencyWeightsColumn { all.append(frequencyWeightsColumn) }
        for name in all where seen.insert(name).inserted { names.append(name) }
        var positions: [String: Int] = [:]
        positions.reserveCapacity(columnNames.count)
        for (index, name) in columnNames.enumerated() where positions[name] == nil { positions[name] = index }
        var indices = Set<Int>()
        var missing: [String] = []
        for name in names {
            if let index = positions[name] { indices.insert(index) } else { missing.append(name) }
        }
        if missing.count == 1, let name = missing.first {
            throw GLMError.unknownColumn(name: name, suggestions: NameSuggestions.nearest(to: name, in: columnNames))
        }
        if !missing.isEmpty {
            // Suggestions only for the names the message shows.
            let shown = missing.prefix(GLMError.unknownColumnsShown)
            throw GLMError.unknownColumns(
                names: missing, suggestions: shown.map { NameSuggestions.nearest(to: $0, in: columnNames) })
        }
        return indices
    }

    /// - Parameter requiredColumns: further columns (e.g. a GEE's cluster id and waves)
    ///   whose missing values also drop a row, as `model.frame` drops rows with a missing
    ///   `id` in geepack's `geeglm`.
    /// - Parameter dropUnusedLevels: keep only the levels a factor has in the rows used, as
    ///   glm does; false keeps the table's levels (a chunk of a larger input, whose levels
    ///   are the whole input's).
    /// - Parameter referenceLevels: `--ref`'s levels by column, moved to the front of the
    ///   levels of the factors that are those columns (R's `relevel`).
    /// - Parameter frequencyWeightsColumn: `--frequency-weights`: counts checked on the rows
    ///   used (a missing one is an error, not a dropped row).
    public init(
        table: Table, formula: Formula, weightsColumn: String? = nil, frequencyWeightsColumn: String? = nil,
        requiredColumns: [String] = [],
        dropUnusedLevels: Bool = true, referenceLevels: [String: String] = [:],
        defaultContrasts: DefaultContrasts = .r, knownBases: [String: BasisParameters] = [:], subset: Subset? = nil
    ) throws {
        let terms = try Terms(formula: formula, columnNames: table.columnNames)
        guard let responseExpression = formula.response else {
            throw GLMError.formulaSyntax(formula: formula.text, position: 0, message: "the formula needs a response on the left of '~'")
        }
        var evaluator = ExpressionEvaluator(table: table)
        // A nested model of an anova reuses the full model's bases (R compares model matrices).
        evaluator.bases = BasisStore(known: knownBases)
        var warnings: [String] = []
        if let term = terms.droppedResponseTerm {
            // R's terms() and model.matrix() warn, in this order, for `y ~ y + ...`.
            warnings.append("the response appeared on the right-hand side and was dropped")
            warnings.append("problem with term \(term) in model.matrix: no columns are assigned")
        }

        var appliedReferences = Set<String>()
        let response = try ReferenceLevels.apply(
            referenceLevels, to: try evaluator.evaluate(responseExpression, allowTwoColumns: true),
            expression: responseExpression, applied: &appliedReferences)
        var responseNonNumericField: GLMError?
        if case let .name(name) = responseExpression, let responseColumn = evaluator.columnIndex(named: name),
           case let .categorical(column)? = table.columns[responseColumn],
           !column.isLogical, column.levels.contains(where: { Double($0.trimmingCharacters(in: .whitespaces)) != nil }),
           let row = column.firstNonNumericRow, row < column.codes.count, column.codes[row] >= 0,
           Int(column.codes[row]) < column.levels.count {
            responseNonNumericField = .nonNumericValue(
                source: table.source, line: table.line(ofRow: row), column: name, value: column.levels[Int(column.codes[row])])
        }
        var variables: [VariableValues] = []
        var attributes: [VariableAttributes] = []
        for variable in terms.variables {
            let (evaluated, variableAttributes) = try evaluator.evaluateWithAttributes(variable)
            attributes.append(variableAttributes)
            let values = try ReferenceLevels.apply(
                referenceLevels, to: evaluated, expression: variable, applied: &appliedReferences)
            if case .twoColumn = values {
                throw GLMError.invalidTerm(term: variable.deparsed, message: "cbind() is only allowed as the response")
            }
            variables.append(values)
        }
        let offsetValues = try terms.offsets.map { expression in
            try evaluator.numeric(expression, context: .call("offset", [expression]))
        }
        let offsetSum: [Double]? = offsetValues.isEmpty ? nil : offsetValues.dropFirst().reduce(offsetValues[0]) { sum, values in
            zip(sum, values).map { $0 + $1 }
        }
        var weights: [Double]?
        if let weightsColumn {
            weights = try evaluator.numeric(.name(weightsColumn), context: .name(weightsColumn))
        }

        // Rows with a missing value in any used variable are dropped (R's na.omit);
        // NaN from log() of a negative number counts as missing, as in R, with R's warning.
        var allValues: [(label: String, values: VariableValues)] = [(responseExpression.deparsed, response)]
        var expressions: [FormulaExpression] = [responseExpression]
        for (index, variable) in variables.enumerated() {
            allValues.append((terms.variableLabels[index], variable))
            expressions.append(terms.variables[index])
        }
        if let offsetSum { allValues.append(("offset", .numeric(offsetSum))) }
        for (expression, values) in zip(terms.offsets, offsetValues) {
            if let warning = ModelFrame.nanWarning(expression, values: values, evaluator: evaluator) { warnings.append(warning) }
        }
        if let weights, let weightsColumn { allValues.append((weightsColumn, .numeric(weights))) }
        for name in requiredColumns {
            allValues.append((name, try evaluator.evaluate(.name(name))))
        }
        // R evaluates the variables on every row, then subsets, then drops missing values.
        let subsetCodes = try subset.map { try $0.codes(evaluator) }
        if let subset, let subsetCodes, !subsetCodes.contains(1), table.rowCount > 0 {
            throw GLMError.invalidOption(name: "--subset", message: "'\(TextElision.elided(subset.text))' is TRUE in no row; nothing is left to fit")
        }
        if let subsetCodes {
            allValues.append(("--subset", .numeric(subsetCodes.map { $0 < 0 ? .nan : 0 })))
        }
        for (expression, entry) in zip(expressions, allValues) {
            guard case let .numeric(numbers) = entry.values else { continue }
            if let warning = ModelFrame.nanWarning(expression, values: numbers, evaluator: evaluator) { warnings.append(warning) }
        }

        // One scan per column (on all cores) finds the few columns with any NaN or infinity;
        // only those are looked at row by row. A bare column that the reader found all finite
        // is not scanned again.
        let nonFinite = ParallelRows.map(items: allValues.count, parallel: table.rowCount >= ParallelRows.minimumRows) {
            index in
            if index < expressions.count, case let .name(name) = expressions[index],
               let column = evaluator.columnIndex(named: name), table.finiteColumns.contains(column) {
                return false
            }
            return ModelFrame.hasNonFinite(allValues[index].values)
        }
        var rowIndices = ModelFrame.completeRows(
            allValues.indices.filter { nonFinite[$0] }.map { allValues[$0].values }, rowCount: table.rowCount)
        var subsetExcludedCount = 0
        if let subsetCodes {
            subsetExcludedCount = subsetCodes.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
            rowIndices.removeAll { subsetCodes[$0] == 0 }
        }
        if rowIndices.isEmpty {
            throw GLMError.noCompleteRows(variables: allValues.map(\.label))
        }
        for (index, (label, values)) in allValues.enumerated() where nonFinite[index] {
            try ModelFrame.checkFinite(label: label, values: values, rows: rowIndices, table: table)
        }
        let frequencies = try frequencyWeightsColumn.map {
            try FrequencyWeights.values(table: table, column: $0, rows: rowIndices)
        }

        self.terms = terms
        self.response = ModelFrame.restrict(response, to: rowIndices, dropUnusedLevels: dropUnusedLevels)
        self.responseLabel = responseExpression.deparsed
        self.variables = variables.map { ModelFrame.restrict($0, to: rowIndices, dropUnusedLevels: dropUnusedLevels) }
        let allRows = rowIndices.count == table.rowCount
        self.offset = offsetSum.map { values in allRows ? values : rowIndices.map { values[$0] } }
        self.priorWeights = weights.map { values in allRows ? values : rowIndices.map { values[$0] } }
        self.weightsColumn = weightsColumn
        self.frequencyWeights = frequencies?.values
        self.frequencyWeightsColumn = frequencyWeightsColumn
        self.frequencyTotal = frequencies?.total
        self.rowIndices = rowIndices
        self.droppedCount = table.rowCount - subsetExcludedCount - rowIndices.count
        self.subsetExcludedCount = subsetExcludedCount
        self.constants = evaluator.constants.computed
        self.source = table.source
        self.recordLines = table.recordLines
        self.warnings = warnings
        self.responseNonNumericField = responseNonNumericField
        self.referenceLevels = referenceLevels.filter { appliedReferences.contains($0.key) }
        self.rowCount = rowIndices.count
        self.attributes = attributes
        self.defaultContrasts = defaultContrasts
        self.bases = evaluator.bases.computed

    }

    private init(
        copying frame: ModelFrame, rowCount: Int, droppedCount: Int, subsetExcludedCount: Int, frequencyTotal: Int?,
        warnings: [String]
    ) {
        terms = frame.terms
        response = frame.response
        responseLabel = frame.responseLabel
        variables = frame.variables
        offset = frame.offset
        priorWeights = frame.priorWeights
        weightsColumn = frame.weightsColumn
        frequencyWeights = frame.frequencyWeights
        frequencyWeightsColumn = frame.frequencyWeightsColumn
        self.frequencyTotal = frequencyTotal
        rowIndices = []
        self.droppedCount = droppedCount
        self.subsetExcludedCount = subsetExcludedCount
        constants = frame.constants
        source = frame.source
        self.warnings = warnings
        responseNonNumericField = nil
        referenceLevels = frame.referenceLevels
        attributes = frame.attributes
        defaultContrasts = frame.defaultContrasts
        bases = frame.bases
        recordLines = nil
        self.rowCount = rowCount
    }

    /// This frame's model for a whole input that was read in chunks: the counts of the whole
    /// input, no per-row values.
    func summarizing(
        rowCount: Int, droppedCount: Int, subsetExcludedCount: Int = 0, frequencyTotal: Int? = nil, warnings: [String]
    ) -> ModelFrame {
        ModelFrame(copying: self, rowCount: rowCount, droppedCount: droppedCount, subsetExcludedCount: subsetExcludedCount,
                   frequencyTotal: frequencyTotal, warnings: warnings)
    }

    /// The rows where none of `columns` is missing, in order. Column by column over a mask,
    /// so that each column is scanned once as a contiguous array.
    static func completeRows(_ columns: [VariableValues], rowCount: Int) -> [Int] {
        var missing = [Bool](repeating: false, count: rowCount)
        var anyMissing = false
        missing.withUnsafeMutableBufferPointer { mask in
            func mark(_ values: [Double]) {
                values.withUnsafeBufferPointer { numbers in
                    for row in 0..<min(numbers.count, mask.count) where numbers[row].isNaN {
                        mask[row] = true
                        anyMissing = true
                    }
                }
            }
            for column in columns {
                switch column {
                case let .numeric(values):
                    mark(values)
                case let .twoColumn(first, second):
                    mark(first)
                    mark(second)
                case let .matrix(matrixColumns, _):
                    matrixColumns.forEach(mark)
                case let .factor(codes, _, _):
                    codes.withUnsafeBufferPointer { codes in
                        for row in 0..<min(codes.count, mask.count) where codes[row] < 0 {
                            mask[row] = true
                            anyMissing = true
                        }
                    }
                }
            }
        }
        guard anyMissing else { return ParallelRows.rowNumbers(count: rowCount) }
        var rows: [Int] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount where !missing[row] { rows.append(row) }
        return rows
    }

    /// True when some row of `values` is missing or infinite (a factor: missing).
    static func hasNonFinite(_ values: VariableValues) -> Bool {
        switch values {
        case let .numeric(numbers):
            return numbers.withUnsafeBufferPointer(hasNonFinite)
        case let .twoColumn(first, second):
            return first.withUnsafeBufferPointer(hasNonFinite) || second.withUnsafeBufferPointer(hasNonFinite)
        case let .matrix(columns, _):
            return columns.contains { $0.withUnsafeBufferPointer(hasNonFinite) }
        case let .factor(codes, _, _):
            return codes.contains { $0 < 0 }
        }
    }

    /// True when some value is NaN or infinite: a branch-free scan of the exponent bits,
    /// so that the usual column, all finite, costs one vectorised read.
    static func hasNonFinite(_ numbers: UnsafeBufferPointer<Double>) -> Bool {
        let exponentMask: UInt64 = 0x7FF0_0000_0000_0000
        var found: UInt64 = 0
        for value in numbers {
            found |= value.bitPattern & exponentMask == exponentMask ? 1 : 0
        }
        return found != 0
    }

    /// R warns "NaNs produced" when a function such as log() makes NaN from numbers that
    /// were not missing; those rows are then dropped as missing.
    private static func nanWarning(_ expression: FormulaExpression, values: [Double], evaluator: ExpressionEvaluator) -> String? {
        // A bare column name is its own input: its NaN are all missing values.
        if case .name = expression { return nil }
        let table = evaluator.table
        let inputs: [[Double]] = expression.columnNames.compactMap { name in
            guard let index = evaluator.columnIndex(named: name), case let .numeric(column)? = table.columns[index] else { return nil }
            return column
        }
        var produced = 0
        var firstRow: Int?
        for row in values.indices where values[row].isNaN && !inputs.contains(where: { $0[row].isNaN }) {
            produced += 1
            if firstRow == nil { firstRow = row }
        }
        guard produced > 0, let firstRow else { return nil }
        let rows = produced == 1 ? "1 row" : "\(produced) rows"
        return "In \(expression.deparsed): NaNs produced (first at line \(table.line(ofRow: firstRow))); \(rows) dropped as missing"
    }

    private static func checkFinite(label: String, values: VariableValues, rows: [Int], table: Table) throws {
        func firstInfinite(_ numbers: [Double]) -> Int? {
            numbers.withUnsafeBufferPointer { numbers in
                rows.withUnsafeBufferPointer { rows in
                    for row in rows where row < numbers.count && numbers[row].isInfinite { return row }
                    return nil
                }
            }
        }
        switch values {
        case let .numeric(numbers):
            if let row = firstInfinite(numbers) {
                throw GLMError.nonFiniteValue(variable: label, line: table.line(ofRow: row))
            }
        case let .twoColumn(first, second):
            if let row = [firstInfinite(first), firstInfinite(second)].compactMap({ $0 }).min() {
                throw GLMError.nonFiniteValue(variable: label, line: table.line(ofRow: row))
            }
        case let .matrix(columns, _):
            if let row = columns.compactMap(firstInfinite).min() {
                throw GLMError.nonFiniteValue(variable: label, line: table.line(ofRow: row))
            }
        case .factor:
            break
        }
    }

    /// Keeps the used rows; a factor keeps only the levels that occur in them.
    static func restrict(_ values: VariableValues, to rows: [Int], dropUnusedLevels: Bool = true) -> VariableValues {
        // Every row used (the usual case): numeric values are shared, not copied.
        let allRows = rows.count == values.count && rows.last == rows.count - 1
        switch values {
        case let .numeric(numbers) where allRows:
            return .numeric(numbers)
        case let .twoColumn(first, second) where allRows:
            return .twoColumn(first, second)
        case let .numeric(numbers):
            return .numeric(rows.map { numbers[$0] })
        case let .twoColumn(first, second):
            return .twoColumn(rows.map { first[$0] }, rows.map { second[$0] })
        case let .matrix(columns, suffixes):
            return .matrix(columns: allRows ? columns : columns.map { column in rows.map { column[$0] } }, suffixes: suffixes)
        case let .factor(codes, levels, isLogical) where !dropUnusedLevels:
            return .factor(codes: allRows ? codes : rows.map { codes[$0] }, levels: levels, isLogical: isLogical)
        case let .factor(codes, levels, isLogical):
            var used = [Bool](repeating: false, count: levels.count)
            for row in rows {
                let code = Int(codes[row])
                if code >= 0, code < levels.count { used[code] = true }
            }
            var newCode = [Int32](repeating: -1, count: levels.count)
            var newLevels: [String] = []
            for (index, level) in levels.enumerated() where used[index] {
                newCode[index] = Int32(newLevels.count)
                newLevels.append(level)
            }
            // Every row and every level used (the usual case): the codes are shared, not mapped.
            if allRows, newLevels.count == levels.count {
                return .factor(codes: codes, levels: levels, isLogical: isLogical)
            }
            let restricted = rows.map { row -> Int32 in
                let code = Int(codes[row])
                return code >= 0 && code < newCode.count ? newCode[code] : -1
            }
            return .factor(codes: restricted, levels: newLevels, isLogical: isLogical)
        }
    }
}
