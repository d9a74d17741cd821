/// The model matrix of new data for a saved model, as R's `predict.glm(newdata =)` builds
/// it: the variables evaluated on the new rows (`log(wbc)`, `factor(year)`), each factor
/// coded with the levels and contrasts it had in the fit (`xlevels`), the columns computed
/// by the saved recipes, and the offsets evaluated anew.
///
/// Unlike R's `model.frame`, new data is typed by the model, not by its own contents: a
/// column that was numeric in the fit must hold numbers, a factor's column must hold
/// levels the fit saw. So a batch of rows is typed on its own, the same whatever the
/// other rows hold, and a file can be scored in pieces.
struct NewDataDesign {
    let model: SavedModel
    let variables: [FormulaExpression]
    let offsets: [FormulaExpression]
    /// The data columns the model reads, with their types in the fit.
    let columns: [SavedModel.DataColumn]
    /// The levels a text column can take: those of the factor that is that column.
    let textLevels: [String: [String]]
    /// The same levels' codes by name.
    let textLevelCodes: [String: [String: Int32]]
    /// For each factor variable, its saved levels' codes by name.
    private let levelCodes: [[String: Int32]?]
    /// The non-aliased coefficients (design order) and their estimates.
    let kept: [Int]
    let estimates: [Double]
    /// A zero-inflated or hurdle model's zero part, built from the same rows.
    var zeroPart: NewDataDesign? { zeroPartBox.first }
    /// Empty or one design: the array gives the nested design its indirection.
    private let zeroPartBox: [NewDataDesign]
    /// The kept columns by term, with how a row finds the ones its levels select.
    private let columnGroups: [ColumnGroup]

    init(model: SavedModel) throws {
        self.model = model
        variables = try model.variables.map { try FormulaExpression.parse($0.expression) }
        offsets = try model.offsets.map { try FormulaExpression.parse($0) }
        zeroPartBox = try model.twoPart.map { [try NewDataDesign(model: $0.zero)] } ?? []
        // The columns either part reads, each typed once (both parts were read from one table).
        var columns = model.columns
        for column in zeroPartBox.first?.columns ?? [] where !columns.contains(where: { $0.name == column.name }) {
            columns.append(column)
        }
        self.columns = columns
        var levels: [String: [String]] = [:]
        for (variable, expression) in zip(model.variables, variables) {
            guard case let .factor(factorLevels, _) = variable.kind else { continue }
            if let column = ExpressionEvaluator.factorColumn(of: expression), levels[column] == nil { levels[column] = factorLevels }
        }
        textLevels = levels.merging(zeroPartBox.first?.textLevels ?? [:]) { count, _ in count }
        textLevelCodes = textLevels.mapValues { levels in
            var codes: [String: Int32] = [:]
            for (code, level) in levels.enumerated() { codes[level] = Int32(truncatingIfNeeded: code) }
            return codes
        }
        levelCodes = model.variables.map { variable in
            guard case let .factor(factorLevels, _) = variable.kind else { return nil }
            var codes: [String: Int32] = [:]
            for (code, level) in factorLevels.enumerated() { codes[level] = Int32(code) }
            return codes
        }
        // A categorical model's estimates are in `model.categorical`, over every column.
        kept = model.coefficients.indices.filter { model.categorical != nil || model.coefficients[$0].estimate != nil }
        estimates = kept.map { model.coefficients[$0].estimate ?? .nan }
        columnGroups = ColumnGroup.groups(model: model, kept: kept, levelCodes: levelCodes)
    }

    /// The header positions of the columns the model reads.
    ///
    /// - Throws: `GLMError.missingColumn` for a column the header lacks.
    func columnIndices(header: [String], source: String) throws -> [Int] {
        try columns.map { column in
            guard let index = header.firstIndex(of: column.name) else {
                throw GLMError.missingColumn(
                    source: source, name: column.name, suggestions: NameSuggestions.nearest(to: column.name, in: header))
            }
            return index
        }
    }

    /// The rows of a batch, ready to predict.
    struct Rows {
        let count: Int
        /// A multinomial, ordinal or two-part model's rows, row-major `count × kept.count`:
        /// the non-aliased model-matrix columns. Empty for a GLM, whose rows are `entries`.
        var x: [Double]
        /// A GLM's rows by the entries that are not zero by construction (nil for the
        /// other kinds): a row of a model with a 100,000-level factor has one entry for
        /// that factor, not 100,000.
        var entries: SparseRows? = nil
        /// The summed offsets, or nil when the model has none.
        var offset: [Double]?
        /// Rows with a missing value in a variable or offset (kept only with `--na pass`).
        var missing: [Bool]
        /// A two-part model's zero part: its model-matrix rows (as `x`) and summed offsets.
        var zeroX: [Double]? = nil
        var zeroOffset: [Double]? = nil
    }

    /// Evaluates the variables and offsets on `table` (a batch typed by `NewDataTyper`) and
    /// builds the model-matrix rows.
    ///
    /// - Parameter passMissing: mark rows with missing values instead of failing.
    /// - Throws: for the first row (in input order) with a factor level the fit did not see,
    ///   or, unless `passMissing`, with a missing value: `GLMError.unseenLevel` or
    ///   `GLMError.missingValue`, naming the line and column.
    /// - Parameter dense: every row as the kept columns' values (`x`), as the multinomial,
    ///   ordinal and two-part predictors read them; else a GLM's rows by their entries.
    func rows(_ table: Table, passMissing: Bool, dense: Bool = false) throws -> Rows {
        let n = table.rowCount
        var evaluator = ExpressionEvaluator(table: table, constants: ExpressionConstants(fixed: model.constants))
        evaluator.bases = BasisStore(fixed: model.bases)
        var numericValues: [[Double]?] = []
        var factorCodes: [[Int32]?] = []
        var matrixColumns: [[[Double]]?] = []
        for (index, expression) in variables.enumerated() {
            let value = try evaluator.evaluate(expression)
            switch (model.variables[index].kind, value) {
            case let (.numeric, .numeric(values)):
                numericValues.append(values)
                factorCodes.append(nil)
                matrixColumns.append(nil)
            case let (.matrix(suffixes), .matrix(columns, _)) where columns.count == suffixes.count:
                // Missing when any column is (the first column stands for the row's missingness).
                numericValues.append(columns.count == 1 ? columns[0] : (0..<n).map { row in
                    columns.contains { $0[row].isNaN } ? .nan : 0
                })
                factorCodes.append(nil)
                matrixColumns.append(columns)
            case let (.factor, .factor(codes, levels, _)):
                let saved = levelCodes[index] ?? [:]
                // -2: a level the fit did not see.
                let map = levels.map { saved[$0] ?? -2 }
                numericValues.append(nil)
                factorCodes.append(codes.map { $0 >= 0 && Int($0) < map.count ? map[Int($0)] : -1 })
                matrixColumns.append(nil)
            case (.factor, .numeric):
                throw GLMError.invalidTerm(term: model.variables[index].label, message: "was a factor in the fit but is numeric in the new data")
            default:
                throw GLMError.invalidTerm(term: model.variables[index].label, message: "was numeric in the fit but is a factor in the new data")
            }
        }
        let offsetValues = try offsets.map { expression in
            try evaluator.numeric(expression, context: .call("offset", [expression]))
        }

        var missing = [Bool](repeating: false, count: n)
        for row in 0..<n {
            for index in variables.indices {
                if let codes = factorCodes[index] {
                    let code = codes[row]
                    if code == -2 {
                        let expression = variables[index]
                        // The batch code of this row, for the level's name.
                        let original = try evaluator.evaluate(expression)
                        var level = "?"
                        if case let .factor(batchCodes, batchLevels, _) = original, batchCodes[row] >= 0 {
                            level = batchLevels[Int(batchCodes[row])]
                        }
                        throw GLMError.unseenLevel(
                            source: table.source, line: table.line(ofRow: row),
                            column: expression.columnNames.first ?? model.variables[index].label, level: level,
                            known: model.variables[index].kind.levels)
                    }
                    if code < 0 { try markMissing(row, variable: index, table: table, pass: passMissing, missing: &missing) }
                } else if let values = numericValues[index], values[row].isNaN {
                    try markMissing(row, variable: index, table: table, pass: passMissing, missing: &missing)
                }
            }
            for (index, values) in offsetValues.enumerated() where values[row].isNaN {
                try markMissing(row, expression: offsets[index], term: "offset(\(offsets[index].deparsed))", table: table,
                                pass: passMissing, missing: &missing)
            }
        }

        // The sum of the offsets, added in order as the fit added them.
        let offsetSum: [Double]? = offsetValues.isEmpty ? nil : offsetValues.dropFirst().reduce(offsetValues[0]) { sum, values in
            zip(sum, values).map { $0 + $1 }
        }

        if !dense, model.categorical == nil, zeroPart == nil {
            let entries = sparseRows(
                count: n, missing: missing, numericValues: numericValues, factorCodes: factorCodes, matrixColumns: matrixColumns)
            return Rows(count: n, x: [], entries: entries, offset: offsetSum, missing: missing)
        }

        // Each kept column: the product of its parts (1 for the intercept), as Design multiplies.
        let width = kept.count
        var x = [Double](repeating: .nan, count: n * width)
        let recipes = kept.map { model.coefficients[$0].parts }
        let partCodes: [[(values: [Double]?, codes: [Int32]?, level: Int32, contrast: [Double]?)]] = recipes.map { parts in
            parts.map { part in
                var level: Int32 = -1
                if let name = part.level, let codes = levelCodes[part.variable], let code = codes[name] { level = code }
                if let column = part.column, let columns = matrixColumns[part.variable], column < columns.count {
                    return (columns[column], nil, level, nil)
                }
                return (numericValues[part.variable], factorCodes[part.variable], level, part.contrast)
            }
        }
        for row in 0..<n where !missing[row] {
            let base = row * width
            for (column, parts) in partCodes.enumerated() {
                var value = 1.0
                for part in parts {
                    if let values = part.values {
                        value *= values[row]
                    } else if let codes = part.codes, let contrast = part.contrast {
                        let code = Int(codes[row])
                        value *= code >= 0 && code < contrast.count ? contrast[code] : .nan
                    } else if let codes = part.codes, codes[row] != part.level {
                        value = 0
                    }
                }
                x[base + column] = value
            }
        }
        var rows = Rows(count: n, x: x, offset: offsetSum, missing: missing)
        if let zeroPart {
            // A row is missing when either part misses a value (pscl's model frame of both).
            let zeroRows = try zeroPart.rows(table, passMissing: passMissing, dense: true)
            for row in 0..<n where zeroRows.missing[row] { rows.missing[row] = true }
            rows.zeroX = zeroRows.x
            rows.zeroOffset = zeroRows.offset
        }
        return rows
    }

    /// The entries of the kept columns for each row that is not missing: per term, only
    /// the columns whose indicator parts match the row's levels (looked up by level code),
    /// each the product of its parts as `Design` multiplies them; in column order, so that
    /// η adds them in the fit's order.
    private func sparseRows(
        count n: Int, missing: [Bool], numericValues: [[Double]?], factorCodes: [[Int32]?], matrixColumns: [[[Double]]?]
    ) -> SparseRows {
        typealias Source = (values: [Double]?, codes: [Int32]?, contrast: [Double]?)
        let sources: [[Source]] = kept.map { column in
            model.coefficients[column].parts.map { part in
                if part.level != nil { return (nil, nil, nil) }  // matched by the lookup
                if let column = part.column, let columns = matrixColumns[part.variable], column < columns.count {
                    return (columns[column], nil, nil)
                }
                return (numericValues[part.variable], factorCodes[part.variable], part.contrast)
            }
        }
        // Every numeric value a kept column multiplies: an infinite one makes the row unusable,
        // also where its column is zero by an indicator (0 × ∞), as with dense rows.
        var multiplied: [[Double]] = []
        var seen = Set<[Int]>()
        for column in kept {
            for part in model.coefficients[column].parts where part.level == nil && part.contrast == nil {
                // Each variable (or column of one) once, however many columns multiply it.
                guard seen.insert([part.variable, part.column ?? -1]).inserted else { continue }
                if let index = part.column, let columns = matrixColumns[part.variable], index < columns.count {
                    multiplied.append(columns[index])
                } else if let values = numericValues[part.variable] {
                    multiplied.append(values)
                }
            }
        }
        var rows = SparseRows(starts: [0], positions: [], values: [], nonFinite: [Bool](repeating: false, count: n))
        rows.positions.reserveCapacity(n * max(1, model.terms.count + 1))
        rows.values.reserveCapacity(n * max(1, model.terms.count + 1))
        var key: [Int32] = []
        for row in 0..<n {
            defer { rows.starts.append(rows.positions.count) }
            if missing[row] { continue }
            let first = rows.positions.count
            for group in columnGroups {
                let candidates: [Int]
                switch group.lookup {
                case .all:
                    candidates = group.columns
                case let .level(variable, columnsByLevel):
                    let code = Int(factorCodes[variable]?[row] ?? -1)
                    guard code >= 0, code < columnsByLevel.count else { continue }
                    candidates = columnsByLevel[code]
                case let .levels(variables, columnsByLevels):
                    key.removeAll(keepingCapacity: true)
                    for variable in variables { key.append(factorCodes[variable]?[row] ?? -1) }
                    guard let found = columnsByLevels[key] else { continue }
                    candidates = found
                }
                for position in candidates {
                    var value = 1.0
                    for source in sources[position] {
                        if let values = source.values {
                            value *= values[row]
                        } else if let codes = source.codes, let contrast = source.contrast {
                            let code = Int(codes[row])
                            value *= code >= 0 && code < contrast.count ? contrast[code] : .nan
                        }
                    }
                    // A zero (a contrast's zero for this level, a numeric 0) adds nothing to η
                    // or to xᵀVx: a sum-coded factor's row is one entry, not one per column.
                    guard value != 0 else { continue }
                    rows.positions.append(position)
                    rows.values.append(value)
                }
            }
            if !rows.positions[first...].isSorted() {
                let sorted = zip(rows.positions[first...], rows.values[first...]).sorted { $0.0 < $1.0 }
                rows.positions.replaceSubrange(first..., with: sorted.map(\.0))
                rows.values.replaceSubrange(first..., with: sorted.map(\.1))
            }
            rows.nonFinite[row] = multiplied.contains { !$0[row].isFinite }
        }
        return rows
    }

    private func markMissing(
        _ row: Int, variable index: Int, table: Table, pass: Bool, missing: inout [Bool]
    ) throws {
        try markMissing(row, expression: variables[index], term: model.variables[index].label, table: table, pass: pass,
                        missing: &missing)
    }

    private func markMissing(
        _ row: Int, expression: FormulaExpression, term: String, table: Table, pass: Bool, missing: inout [Bool]
    ) throws {
        if pass {
            missing[row] = true
            return
        }
        // The column whose value is missing; none when a function made NaN (log(-1)).
        let column = expression.columnNames.first { name in
            switch table.column(named: name) {
            case let .numeric(values)?: return values[row].isNaN
            case let .categorical(categorical)?: return categorical.codes[row] < 0
            case nil: return false
            }
        }
        throw GLMError.missingValue(source: table.source, line: table.line(ofRow: row), column: column, term: term)
    }
}

/// Rows of a model matrix by their entries: row i's are `positions[starts[i]..<starts[i + 1]]`
/// (kept columns, ascending) and the same range of `values`.
struct SparseRows {
    var starts: [Int]
    var positions: [Int]
    var values: [Double]
    /// Rows with an infinite value in a numeric variable a kept column multiplies.
    var nonFinite: [Bool]

    func range(ofRow row: Int) -> Range<Int> { starts[row]..<starts[row + 1] }
}

/// The kept columns of one term (positions among the kept columns, ascending), and how a
/// row's level codes select the ones that are not zero: all of them (no indicator part),
/// those of one level of one factor, or those of a combination of levels.
private struct ColumnGroup {
    enum Lookup {
        case all
        case level(variable: Int, columnsByLevel: [[Int]])
        case levels(variables: [Int], columnsByLevels: [[Int32]: [Int]])
    }

    let columns: [Int]
    let lookup: Lookup

    static func groups(model: SavedModel, kept: [Int], levelCodes: [[String: Int32]?]) -> [ColumnGroup] {
        // Columns grouped by term and indicator variables, in order of their first column.
        var order: [[Int]] = []
        var members: [[Int]: [Int]] = [:]
        for (position, column) in kept.enumerated() {
            let coefficient = model.coefficients[column]
            let key = [coefficient.term] + coefficient.parts.filter { $0.level != nil }.map(\.variable)
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(position)
        }
        return order.map { key in
            let columns = members[key] ?? []
            let variables = Array(key.dropFirst())
            // Each column's level codes for the group's indicator variables, in their order.
            func codes(_ position: Int) -> [Int32] {
                model.coefficients[kept[position]].parts.filter { $0.level != nil }.map { part in
                    part.level.flatMap { levelCodes[part.variable]?[$0] } ?? -1
                }
            }
            if variables.isEmpty { return ColumnGroup(columns: columns, lookup: .all) }
            if variables.count == 1 {
                let levelCount = model.variables[variables[0]].kind.levels.count
                var byLevel = [[Int]](repeating: [], count: levelCount)
                for position in columns {
                    let code = Int(codes(position)[0])
                    if code >= 0, code < levelCount { byLevel[code].append(position) }
                }
                return ColumnGroup(columns: columns, lookup: .level(variable: variables[0], columnsByLevel: byLevel))
            }
            var byLevels: [[Int32]: [Int]] = [:]
            for position in columns { byLevels[codes(position), default: []].append(position) }
            return ColumnGroup(columns: columns, lookup: .levels(variables: variables, columnsByLevels: byLevels))
        }
    }
}

private extension ArraySlice where Element: Comparable {
    func isSorted() -> Bool { zip(self, self.dropFirst()).allSatisfy { $0 <= $1 } }
}

extension SavedModel.VariableKind {
    /// A factor's levels; empty for a numeric variable.
    var levels: [String] {
        if case let .factor(levels, _) = self { return levels }
        return []
    }
}

/// Types the fields of streamed records as the model needs them: numbers for numeric
/// columns, saved levels for text columns, R's logical spellings for logical ones.
/// Text columns are interned (one hash lookup per field) across batches.
final class NewDataTyper {
    private let design: NewDataDesign
    private let header: [String]
    private let source: String
    private let na: NATokenSet
    /// Header index of each column the model reads, in `design.columns` order.
    let indices: [Int]
    private var tables: [LevelTable]
    /// Per text column: table index → saved level code, or -2 for a level the fit did not see.
    private var maps: [[Int32]]
    /// Per text column that is not a factor's: the values seen so far.
    private var openLevels: [[String]]

    init(design: NewDataDesign, header: [String], source: String) throws {
        self.design = design
        self.header = header
        self.source = source
        na = NATokenSet(design.model.naTokens)
        indices = try design.columnIndices(header: header, source: source)
        tables = design.columns.map { _ in LevelTable() }
        maps = design.columns.map { _ in [] }
        openLevels = design.columns.map { _ in [] }
    }

    deinit {
        for table in tables { table.release() }
    }

    /// The batch as a table over the header, with the model's columns typed and the others
    /// absent, and the error of the first field that cannot be typed (a non-number in a
    /// numeric column, a text value the fit did not see): the table then holds only the
    /// rows before that field's row, so errors are reported in input order.
    func table(from batch: CSVRecordBatch) -> (table: Table, failure: GLMError?) {
        let columns = design.columns
        var numbers: [[Double]] = columns.map { _ in [] }
        var codes: [[Int32]] = columns.map { _ in [] }
        for k in columns.indices {
            if columns[k].type == .numeric { numbers[k].reserveCapacity(batch.count) } else { codes[k].reserveCapacity(batch.count) }
        }
        var failure: GLMError?
        var rows = 0
        rowLoop: for i in 0..<batch.count {
            for k in columns.indices {
                let column = columns[k]
                let problem: GLMError? = batch.withField(i, k) { start, length in
                    switch column.type {
                    case .numeric:
                        if na.matches(start, length) || isBlankField(start, length) {
                            numbers[k].append(.nan)
                        } else if let value = FastFloat.parseNumber(start, length) {
                            numbers[k].append(value)
                        } else {
                            return .nonNumericValue(
                                source: source, line: batch.lines[i], column: column.name,
                                value: String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self))
                        }
                    case .logical:
                        if na.matches(start, length) || isBlankField(start, length) {
                            codes[k].append(-1)
                        } else if let value = LogicalToken.value(UnsafeBufferPointer(start: start, count: length)) {
                            codes[k].append(value)
                        } else {
                            return .unseenLevel(
                                source: source, line: batch.lines[i], column: column.name,
                                level: String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self),
                                known: ["TRUE", "FALSE"])
                        }
                    case .text:
                        if na.matches(start, length) {
                            codes[k].append(-1)
                            return nil
                        }
                        switch tables[k].index(of: start, length: length, validate: true) {
                        case let .found(local):
                            if Int(local) == maps[k].count {
                                let name = String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self)
                                if let codes = design.textLevelCodes[column.name] {
                                    maps[k].append(codes[name] ?? -2)
                                } else {
                                    // A column only compared (`sex == "F"`): any text, in order of appearance.
                                    maps[k].append(Int32(openLevels[k].count))
                                    openLevels[k].append(name)
                                }
                            }
                            let code = maps[k][Int(local)]
                            if code == -2 {
                                return .unseenLevel(
                                    source: source, line: batch.lines[i], column: column.name,
                                    level: String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self),
                                    known: design.textLevels[column.name] ?? [])
                            }
                            codes[k].append(code)
                        case .rejected:
                            return .invalidUTF8(source: source, line: batch.lines[i])
                        case .full:
                            return .unreadableInput(source: source, reason: "column '\(column.name)' has too many distinct values")
                        }
                    }
                    return nil
                }
                if let problem {
                    failure = problem
                    break rowLoop
                }
            }
            rows += 1
        }
        var tableColumns = [Column?](repeating: nil, count: header.count)
        for (k, column) in columns.enumerated() {
            switch column.type {
            case .numeric:
                tableColumns[indices[k]] = .numeric(Array(numbers[k].prefix(rows)))
            case .logical:
                tableColumns[indices[k]] = .categorical(
                    CategoricalColumn(codes: Array(codes[k].prefix(rows)), levels: ["FALSE", "TRUE"], isLogical: true))
            case .text:
                tableColumns[indices[k]] = .categorical(
                    CategoricalColumn(codes: Array(codes[k].prefix(rows)), levels: design.textLevels[column.name] ?? openLevels[k]))
            }
        }
        let table = Table(source: source, columnNames: header, columns: tableColumns, rowCount: rows,
                          recordLines: Array(batch.lines.prefix(rows)))
        return (table, failure ?? (rows == batch.count ? batch.failure : nil))
    }
}
