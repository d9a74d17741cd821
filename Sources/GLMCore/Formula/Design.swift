/// The model matrix and everything IRLS needs: the columns of X with R's column names
/// and `assign`, the response, prior weights and offset (R's `model.matrix`, each factor
/// coded by its contrasts).
public struct Design: Sendable {
    /// The columns of X, each `rowCount` long, for a design laid out densely; empty for a
    /// structured one, whose factor columns exist only as codes (`structure`; use
    /// `denseColumns()` where every column is needed). A column that is a numeric variable as
    /// it is shares the frame's array (no copy).
    public let columns: [[Double]]
    /// X by blocks: factor terms as codes, the other columns as values.
    public let structure: DesignStructure
    /// True when the factor columns are not stored as values (`columns` is empty).
    public var isStructured: Bool { columns.isEmpty && columnCount > 0 }
    public let rowCount: Int
    public let columnNames: [String]
    /// The term of each column: 0 for the intercept, k for the k-th term (R's `assign`).
    public let assign: [Int]
    public let termLabels: [String]
    public let hasIntercept: Bool
    public let frame: ModelFrame

    public var columnCount: Int { columnNames.count }

    /// One factor or numeric variable of a term, as it contributes columns.
    private enum Component {
        case numeric(label: String, values: [Double])
        /// Codes and the levels whose indicators are columns (treatment and SAS contrasts,
        /// or every level), with each column's suffix.
        case factor(label: String, codes: [Int32], columnLevels: [Int], suffixes: [String])
        /// Codes and a contrast matrix (a row per level, a column per suffix).
        case contrast(label: String, codes: [Int32], rows: [[Double]], suffixes: [String])
        /// A variable of several columns (`poly(x, 2)`).
        case matrix(label: String, columns: [[Double]], suffixes: [String])

        var width: Int {
            switch self {
            case .numeric: return 1
            case let .factor(_, _, _, suffixes), let .contrast(_, _, _, suffixes), let .matrix(_, _, suffixes):
                return suffixes.count
            }
        }
    }

    /// How a factor is coded in one term: the levels with an indicator column each and
    /// their suffixes, or a contrast matrix.
    enum FactorBlock {
        case indicators(levels: [Int], suffixes: [String])
        case contrasts(rows: [[Double]], suffixes: [String])
    }

    /// The coding of a factor with `levels`: its contrasts (`contrasted`) or an indicator
    /// of every level.
    static func factorBlock(
        levels: [String], attributes: VariableAttributes, defaults: DefaultContrasts, contrasted: Bool, label: String
    ) throws -> FactorBlock {
        guard contrasted else { return .indicators(levels: Array(levels.indices), suffixes: levels) }
        let spec = defaults.spec(for: attributes)
        switch spec.kind {
        case .treatment, .sas:
            // Indicators of all levels but the base: no matrix to build for a many-level factor.
            let base = spec.kind == .sas ? levels.count - 1 : (spec.base ?? 1) - 1
            guard base >= 0, base < levels.count else {
                throw GLMError.invalidTerm(
                    term: label, message: "baseline group number \(spec.base ?? 1) is out of range for \(levels.count) levels")
            }
            let kept = levels.indices.filter { $0 != base }
            return .indicators(levels: kept, suffixes: kept.map { spec.numbered ? String($0 + 1) : levels[$0] })
        case .sum, .helmert, .poly:
            let (rows, suffixes) = try spec.matrix(levels: levels, term: label)
            return .contrasts(rows: rows, suffixes: suffixes)
        }
    }

    /// X as one column-major `rowCount × columnCount` array: a copy, for the code that hands
    /// X to LAPACK whole.
    public func matrix() throws -> [Double] {
        Array(try denseColumns().joined())
    }

    private init(summarizing design: Design, frame: ModelFrame) {
        columns = []
        structure = DesignStructure(columnCount: 0, blocks: [], denseColumns: [], denseValues: [])
        rowCount = frame.rowCount
        columnNames = design.columnNames
        assign = design.assign
        termLabels = design.termLabels
        hasIntercept = design.hasIntercept
        self.frame = frame
    }

    private init(design: Design, columns: [[Double]], structure: DesignStructure, selected: [Int]) {
        self.columns = columns
        self.structure = structure
        rowCount = design.rowCount
        columnNames = selected.map { design.columnNames[$0] }
        assign = selected.map { design.assign[$0] }
        termLabels = design.termLabels
        hasIntercept = design.hasIntercept && selected.contains(0) && design.assign.first == 0
        frame = design.frame
    }

    /// The design of some of this design's columns (in the order given), held as this one
    /// is: for the refits of anova, drop1 and profiles.
    public func selecting(columns selected: [Int]) -> Design {
        if isStructured {
            return Design(design: self, columns: [], structure: structure.selecting(columns: selected), selected: selected)
        }
        let kept = selected.map { columns[$0] }
        return Design(
            design: self, columns: kept, structure: structure.selecting(columns: selected), selected: selected)
    }

    /// This design's columns for a whole input read in chunks: no X, the input's row count.
    func summarizing(frame: ModelFrame) -> Design {
        Design(summarizing: self, frame: frame)
    }

    /// How the columns of a factor term are held.
    public enum Layout: Sendable {
        /// Every column as values (the code paths that read X whole).
        case dense
        /// Factor terms as codes whenever one has at least `structuredBlockWidth` columns.
        case automatic
        /// Factor terms as codes.
        case structured
    }

    /// A factor term this wide makes `.automatic` keep factor terms as codes: below it the
    /// dense kernels are as fast and every downstream path reads X directly.
    public static let structuredBlockWidth = 100

    /// - Parameter requiringRows: refuse, before X is allocated, a design with more columns
    ///   than rows (`tooFewObservations`); false for a chunk of a larger input.
    public init(frame: ModelFrame, requiringRows: Bool = false, layout: Layout = .dense) throws {
        let terms = frame.terms
        let rowCount = frame.rowCount
        for (index, variable) in frame.variables.enumerated() {
            if case let .factor(_, levels, _) = variable, levels.count < 2 {
                throw GLMError.singleLevelFactor(variable: terms.variableLabels[index], level: levels.first ?? "")
            }
        }
        // Without an intercept, R codes the first factor of the first term containing a
        // factor by indicators for all its levels.
        var fullCodingOverride: (term: Int, variable: Int)?
        if !terms.hasIntercept {
            search: for (termIndex, term) in terms.terms.enumerated() {
                for variable in term {
                    if case .factor = frame.variables[variable] {
                        fullCodingOverride = (termIndex, variable)
                        break search
                    }
                }
            }
        }

        // The columns first (names, assign, what each is a product of), then X in one
        // allocation, each column written once and on all cores.
        var columns: [[(component: Component, position: Int)]] = []
        var names: [String] = []
        var assign: [Int] = []
        if terms.hasIntercept {
            columns.append([])
            names.append("(Intercept)")
            assign.append(0)
        }
        // Each term's components and the number of columns, counted before any column is
        // built: a design wider than the rows is refused at once.
        var termComponents: [[Component]] = []
        var columnCount = terms.hasIntercept ? 1 : 0
        for (termIndex, term) in terms.terms.enumerated() {
            let components: [Component] = try term.map { variable in
                let label = terms.variableLabels[variable]
                switch frame.variables[variable] {
                case let .numeric(values):
                    return .numeric(label: label, values: values)
                case let .factor(codes, levels, _):
                    let full = fullCodingOverride.map { $0 == (termIndex, variable) } ?? false
                    let contrasted = !full && terms.usesContrasts(variable: variable, inTerm: termIndex)
                    let attributes = variable < frame.attributes.count ? frame.attributes[variable] : VariableAttributes()
                    switch try Design.factorBlock(
                        levels: levels, attributes: attributes, defaults: frame.defaultContrasts, contrasted: contrasted, label: label) {
                    case let .indicators(columnLevels, suffixes):
                        return .factor(label: label, codes: codes, columnLevels: columnLevels, suffixes: suffixes)
                    case let .contrasts(rows, suffixes):
                        return .contrast(label: label, codes: codes, rows: rows, suffixes: suffixes)
                    }
                case let .matrix(columns, suffixes):
                    return .matrix(label: label, columns: columns, suffixes: suffixes)
                case .twoColumn:
                    return .numeric(label: label, values: [])
                }
            }
            var width = 1
            for component in components {
                let (product, overflow) = width.multipliedReportingOverflow(by: component.width)
                guard !overflow else { throw Design.tooLarge(terms) }
                width = product
            }
            let (total, overflow) = columnCount.addingReportingOverflow(width)
            guard !overflow else { throw Design.tooLarge(terms) }
            columnCount = total
            termComponents.append(components)
        }
        if requiringRows, rowCount < columnCount {
            throw GLMError.tooFewObservations(observations: rowCount, coefficients: columnCount)
        }
        // Which terms are indicator blocks (factors, times numeric variables), and whether
        // they stay codes.
        let indicatorTerms = termComponents.map(Design.isIndicatorTerm)
        let termWidths = termComponents.map { $0.reduce(1) { $0 * $1.width } }
        let widestBlock = zip(termWidths, indicatorTerms).filter(\.1).map(\.0).max() ?? 0
        // Contrast-coded terms (sum, Helmert, poly) are held as codes when forced, or when
        // they are as wide as an indicator term that would be: such a term alone makes the
        // design structured, since its n × width values are what cannot be afforded (a
        // 2,000-level sum-coded factor on 1 M rows is 16 GB), while a narrow one costs no
        // more as values and keeps the dense kernels.
        let contrastCandidates = termComponents.map(Design.isContrastTerm)
        let contrastTerms: [Bool]
        let structured: Bool
        switch layout {
        case .dense:
            structured = false
            contrastTerms = contrastCandidates.map { _ in false }
        case .structured:
            structured = indicatorTerms.contains(true) || contrastCandidates.contains(true)
            contrastTerms = contrastCandidates
        case .automatic:
            contrastTerms = zip(contrastCandidates, termWidths).map { $0 && $1 >= Design.structuredBlockWidth }
            structured = widestBlock >= Design.structuredBlockWidth || contrastTerms.contains(true)
        }
        try Design.checkMemory(
            frame: frame, termComponents: termComponents, indicatorTerms: structured ? indicatorTerms : nil,
            contrastTerms: contrastTerms, columnCount: columnCount)
        for (termIndex, components) in termComponents.enumerated() {
            let width = components.reduce(1) { $0 * $1.width }
            // First component varies fastest, as in R.
            for column in 0..<width {
                var remainder = column
                var nameParts: [String] = []
                var parts: [(component: Component, position: Int)] = []
                for component in components {
                    let position = remainder % component.width
                    remainder /= component.width
                    parts.append((component, position))
                    switch component {
                    case let .numeric(label, _):
                        nameParts.append(label)
                    case let .factor(label, _, _, suffixes), let .contrast(label, _, _, suffixes), let .matrix(label, _, suffixes):
                        nameParts.append(label + suffixes[position])
                    }
                }
                columns.append(parts)
                names.append(nameParts.joined(separator: ":"))
                assign.append(termIndex + 1)
            }
        }
        // The column ranges of the indicator terms, and the columns stored as values.
        var blocks: [DesignStructure.IndicatorBlock] = []
        var contrastBlocks: [DesignStructure.ContrastBlock] = []
        var otherColumns: [Int] = []
        var nextColumn = terms.hasIntercept ? 1 : 0
        if terms.hasIntercept { otherColumns.append(0) }
        for (termIndex, components) in termComponents.enumerated() {
            let width = components.reduce(1) { $0 * $1.width }
            // A dense design's structure is its columns as values: no codes to build.
            if structured, indicatorTerms[termIndex] {
                blocks.append(Design.indicatorBlock(components, firstColumn: nextColumn, width: width, rowCount: rowCount))
            } else if structured, contrastTerms[termIndex],
                      let block = Design.contrastBlock(components, firstColumn: nextColumn, rowCount: rowCount) {
                contrastBlocks.append(block)
            } else {
                otherColumns.append(contentsOf: nextColumn..<(nextColumn + width))
            }
            nextColumn += width
        }
        let valueColumns = structured ? otherColumns : Array(columns.indices)
        let (_, overflow) = rowCount.multipliedReportingOverflow(by: valueColumns.count)
        guard !overflow else { throw Design.tooLarge(terms) }
        let values = ParallelRows.map(items: valueColumns.count, parallel: rowCount >= 1 << 14 && valueColumns.count > 1) { index in
            let parts = columns[valueColumns[index]]
            // A numeric variable alone is its own column.
            if parts.count == 1, case let .numeric(_, values) = parts[0].component, values.count == rowCount {
                return values
            }
            if parts.count == 1, case let .matrix(_, matrixColumns, _) = parts[0].component,
               parts[0].position < matrixColumns.count, matrixColumns[parts[0].position].count == rowCount {
                return matrixColumns[parts[0].position]
            }
            return [Double](unsafeUninitializedCapacity: rowCount) { buffer, initialized in
                guard let base = buffer.baseAddress else { return }
                FreshMemory.prepare(base, count: rowCount)
                Design.fill(UnsafeMutableBufferPointer(rebasing: buffer[0..<rowCount]), with: parts)
                initialized = rowCount
            }
        }
        self.columns = structured ? [] : values
        self.structure = DesignStructure(
            columnCount: names.count, blocks: blocks, denseColumns: otherColumns,
            denseValues: structured ? values : otherColumns.map { values[$0] }, contrastBlocks: contrastBlocks)
        self.rowCount = rowCount
        self.columnNames = names
        self.assign = assign
        self.termLabels = terms.termLabels
        self.hasIntercept = terms.hasIntercept
        self.frame = frame
    }

    private static func tooLarge(_ terms: Terms) -> GLMError {
        GLMError.invalidTerm(term: terms.termLabels.joined(separator: " + "), message: "the model matrix is too large")
    }

    /// Writes one column of X: the product of its numeric variables and factor-level
    /// indicators (an empty list is the intercept).
    private static func fill(_ target: UnsafeMutableBufferPointer<Double>, with parts: [(component: Component, position: Int)]) {
        let rowCount = target.count
        var first = true
        for (component, position) in parts {
            switch component {
            case let .matrix(_, columns, _):
                fill(target, with: columns[position], first: first)
            case let .numeric(_, numbers):
                fill(target, with: numbers, first: first)
            case let .contrast(_, codes, rows, _):
                // The column's value for each level, then one lookup per row.
                let values = rows.map { $0[position] }
                codes.withUnsafeBufferPointer { codes in
                    let count = min(codes.count, rowCount)
                    for row in 0..<count {
                        let code = Int(codes[row])
                        let value = code >= 0 && code < values.count ? values[code] : .nan
                        if first { target[row] = value } else { target[row] *= value }
                    }
                    if first { for row in count..<rowCount { target[row] = 0 } }
                }
            case let .factor(_, codes, columnLevels, _):
                let code = Int32(truncatingIfNeeded: columnLevels[position])
                codes.withUnsafeBufferPointer { codes in
                    let count = min(codes.count, rowCount)
                    if first {
                        for row in 0..<count { target[row] = codes[row] == code ? 1 : 0 }
                        for row in count..<rowCount { target[row] = 0 }
                    } else {
                        for row in 0..<count where codes[row] != code { target[row] = 0 }
                    }
                }
            }
            first = false
        }
        if first { target.update(repeating: 1) }
    }

    /// Copies (the first part) or multiplies in a numeric column.
    private static func fill(_ target: UnsafeMutableBufferPointer<Double>, with numbers: [Double], first: Bool) {
        let rowCount = target.count
        numbers.withUnsafeBufferPointer { numbers in
            let count = min(numbers.count, rowCount)
            if first {
                for row in 0..<count { target[row] = numbers[row] }
                for row in count..<rowCount { target[row] = .nan }
            } else {
                for row in 0..<count { target[row] *= numbers[row] }
            }
        }
    }
}

extension Design {
    /// Bytes per column beyond its values: its name, `assign` entry and the list of what it
    /// is a product of.
    static let perColumnOverhead = 160

    /// Checks, from the terms and the factors' levels alone (before any column is built), that
    /// X and the fit's cross products fit in memory. `indicatorTerms` marks the terms kept as
    /// codes (nil: every column as values): those cost a code (and a multiplier) per row, and
    /// their cross products are a diagonal and a table against the other columns instead of
    /// a p × p matrix.
    private static func checkMemory(
        frame: ModelFrame, termComponents: [[Component]], indicatorTerms: [Bool]?, contrastTerms: [Bool],
        columnCount: Int
    ) throws {
        let terms = frame.terms
        let rowCount = frame.rowCount
        // Columns that are a numeric variable as it is share its array; the rest are new.
        var builtCount: Int? = terms.hasIntercept ? 1 : 0
        var codeBytes: Int? = 0
        var widest = 0
        var indicatorWidths: [Int] = []
        for (termIndex, components) in termComponents.enumerated() {
            let width = components.reduce(1) { $0 * $1.width }
            if let indicatorTerms, indicatorTerms[termIndex] {
                let multiplied = components.contains { if case .numeric = $0 { true } else { false } }
                codeBytes = MemoryBudget.sum(codeBytes, MemoryBudget.bytes(of: multiplied ? 12 : 4, times: [rowCount]))
                widest = max(widest, width)
                indicatorWidths.append(width)
                continue
            }
            if indicatorTerms != nil, termIndex < contrastTerms.count, contrastTerms[termIndex] {
                // Codes (and multipliers) per row, and C.
                let multiplied = components.contains { if case .numeric = $0 { true } else { false } }
                let levelCount = contrastFactors(components).levelCount
                codeBytes = MemoryBudget.sum(
                    codeBytes, MemoryBudget.bytes(of: multiplied ? 12 : 4, times: [rowCount]),
                    levelCount.flatMap { MemoryBudget.bytes(doubles: $0, width) })
                continue
            }
            let shared = components.count == 1 && { if case .numeric = components[0] { true } else { false } }()
            if !shared { builtCount = MemoryBudget.sum(builtCount, width) }
        }
        let rows = MemoryBudget.describe(count: rowCount)
        let columns = MemoryBudget.describe(count: columnCount)
        let budget = MemoryBudget.current()
        let designBytes = MemoryBudget.sum(
            builtCount.flatMap { MemoryBudget.bytes(doubles: $0, rowCount) }, codeBytes,
            MemoryBudget.bytes(of: perColumnOverhead, times: [columnCount]))
        let crossProducts: Int?
        let crossDescription: String
        if indicatorTerms != nil {
            // The widest block is eliminated; the rest (r columns) form a dense r × r matrix,
            // and the block's table against them (m × r) is kept per range of rows and twice
            // more for the covariance.
            var rest = columnCount - widest
            // Beyond `denseRestLimit` the other factor terms of many levels are held apart
            // (`BlockLayout`): their tables against the remainder per range of rows, and
            // each row's pairs of levels; the sparse factor's fill is checked when known.
            var apart = widest
            var pairSlots = 0
            let secondary = BlockLayout.heldApart(
                widths: indicatorWidths, columnCount: columnCount, denseRestLimit: BlockLayout.denseRestLimit,
                minimumWidth: BlockLayout.secondaryMinimumWidth).secondary
            for (apartTerms, index) in secondary.enumerated() {
                pairSlots += apartTerms + 1
                rest -= indicatorWidths[index]
                apart += indicatorWidths[index]
            }
            crossProducts = MemoryBudget.sum(
                MemoryBudget.bytes(doubles: rest, rest, 4),
                MemoryBudget.bytes(doubles: apart, rest + 2, StructuredPass.rangeCount + 2),
                MemoryBudget.bytes(of: 4 + 8 * (StructuredPass.rangeCount + 1), times: [rowCount, pairSlots]))
            crossDescription = "the \(MemoryBudget.describe(count: rest)) × \(MemoryBudget.describe(count: rest)) matrix "
                + "of the columns besides its factor terms of many levels and their table against those terms' "
                + "\(MemoryBudget.describe(count: apart)) columns"
        } else {
            crossProducts = MemoryBudget.bytes(doubles: columnCount, columnCount, ParallelRows.rangeCount + 2)
            crossDescription = "\(columns) × \(columns) cross-product matrix (one per range of rows)"
        }
        // --chunk-rows bounds X but not the cross products: suggest it only where they would fit.
        let chunkingHelps = indicatorTerms == nil
            && (crossProducts.map { need in budget.availableBytes.map { need <= $0 } ?? true } ?? false)
        try budget.require(
            designBytes, for: "the model has \(columns) columns × \(rows) rows: its design",
            remedy: chunkingHelps ? "use fewer levels, or --chunk-rows" : "use fewer levels or terms")
        // Both are alive during the fit, with the fit's per-row arrays (η, μ, two sets of
        // working weights, residuals, and the response's y, weights and offset).
        try budget.require(
            MemoryBudget.sum(designBytes, crossProducts, MemoryBudget.bytes(doubles: rowCount, 8)),
            for: "the model has \(columns) columns × \(rows) rows: its design, per-row arrays and \(crossDescription)",
            remedy: chunkingHelps ? "use fewer levels, or --chunk-rows" : "use fewer levels or terms")
    }

    /// A term whose columns are each non-zero on the rows of one level (or combination of
    /// levels): factors coded by indicators, times any numeric variables.
    private static func isIndicatorTerm(_ components: [Component]) -> Bool {
        var hasFactor = false
        for component in components {
            switch component {
            case .factor: hasFactor = true
            case let .numeric(_, values): if values.isEmpty { return false }
            case .contrast, .matrix: return false
            }
        }
        return hasFactor
    }

    /// A factor coded by a contrast matrix, alone, times numeric variables or in an
    /// interaction with other factors (however they are coded).
    private static func isContrastTerm(_ components: [Component]) -> Bool {
        var contrastCount = 0
        for component in components {
            switch component {
            case .contrast: contrastCount += 1
            case let .numeric(_, values): if values.isEmpty { return false }
            case .factor: break
            case .matrix: return false
            }
        }
        return contrastCount >= 1
    }

    /// Each factor of a contrast term with its codes, its number of levels and its matrix
    /// (a row per level; an indicator-coded factor's rows are its indicators, zeros for a
    /// level without a column), in the term's order; and the product of the level counts
    /// (nil when it overflows).
    private static func contrastFactors(
        _ components: [Component]
    ) -> (factors: [(codes: [Int32], levelCount: Int, rows: [[Double]])], levelCount: Int?) {
        var factors: [(codes: [Int32], levelCount: Int, rows: [[Double]])] = []
        var product: Int? = 1
        for component in components {
            switch component {
            case let .contrast(_, codes, rows, _):
                factors.append((codes, rows.count, rows))
            case let .factor(_, codes, columnLevels, suffixes):
                let levelCount = max((columnLevels.max() ?? -1) + 1, Int(codes.max() ?? -1) + 1, 0)
                var rows = [[Double]](repeating: [Double](repeating: 0, count: suffixes.count), count: levelCount)
                for (column, level) in columnLevels.enumerated() where level >= 0 && level < levelCount {
                    rows[level][column] = 1
                }
                factors.append((codes, levelCount, rows))
            case .numeric, .matrix:
                continue
            }
            product = product.flatMap { total in
                let (value, overflow) = total.multipliedReportingOverflow(by: factors[factors.count - 1].levelCount)
                return overflow ? nil : value
            }
        }
        return (factors, product)
    }

    /// The codes of a contrast term (`isContrastTerm`): each row's level (of an interaction,
    /// the combination, the first factor varying fastest), the product of its numeric
    /// variables, and the matrix row-major: a combination's row is the Kronecker product of
    /// its factors' rows, in the order of the term's column names.
    private static func contrastBlock(
        _ components: [Component], firstColumn: Int, rowCount: Int
    ) -> DesignStructure.ContrastBlock? {
        var multipliers: [Double]?
        for component in components {
            guard case let .numeric(_, values) = component else { continue }
            var product = multipliers ?? [Double](repeating: 1, count: rowCount)
            for row in 0..<rowCount { product[row] *= row < values.count ? values[row] : .nan }
            multipliers = product
        }
        let (factors, combinedCount) = contrastFactors(components)
        // Codes are 32-bit: more combinations than that stay values (and the memory guard speaks).
        guard !factors.isEmpty, let levelCount = combinedCount, levelCount <= Int(Int32.max) else { return nil }
        let width = factors.reduce(1) { $0 * ($1.rows.first?.count ?? 0) }
        let (size, overflow) = levelCount.multipliedReportingOverflow(by: width)
        guard !overflow, width > 0 else { return nil }
        var contrasts = [Double](repeating: 0, count: size)
        var row = [Double](repeating: 0, count: width)
        var levels = [Int](repeating: 0, count: factors.count)
        for combination in 0..<levelCount {
            // The combination's level of each factor, the first varying fastest.
            var rest = combination
            for (index, factor) in factors.enumerated() {
                levels[index] = rest % factor.levelCount
                rest /= factor.levelCount
            }
            // Kronecker product, the first factor's column varying fastest.
            var filled = 1
            row[0] = 1
            for (index, factor) in factors.enumerated() {
                let factorRow = factor.rows[levels[index]]
                for local in stride(from: factorRow.count - 1, through: 0, by: -1) {
                    for column in 0..<filled { row[local * filled + column] = row[column] * factorRow[local] }
                }
                filled *= factorRow.count
            }
            for column in 0..<width { contrasts[combination * width + column] = row[column] }
        }
        let codes = [Int32](unsafeUninitializedCapacity: rowCount) { buffer, initialized in
            for index in 0..<rowCount {
                var code = 0
                var stride = 1
                for factor in factors {
                    let level = index < factor.codes.count ? Int(factor.codes[index]) : -1
                    guard level >= 0, level < factor.levelCount else {
                        code = -1
                        break
                    }
                    code += level * stride
                    stride *= factor.levelCount
                }
                buffer[index] = code >= 0 && code < levelCount ? Int32(truncatingIfNeeded: code) : -1
            }
            initialized = rowCount
        }
        return DesignStructure.ContrastBlock(
            firstColumn: firstColumn, width: width, levels: codes, multipliers: multipliers,
            levelCount: levelCount, contrasts: contrasts)
    }

    /// The codes of an indicator term: each row's column within the term (first component
    /// varying fastest, as the names), or -1 where the row is a baseline level and so zero in
    /// every column; and each row's value there, the product of the numeric variables.
    private static func indicatorBlock(
        _ components: [Component], firstColumn: Int, width: Int, rowCount: Int
    ) -> DesignStructure.IndicatorBlock {
        // Each factor's column position by level code (-1 for a level without a column).
        let positions: [[Int32]] = components.map { component in
            guard case let .factor(_, _, columnLevels, _) = component else { return [] }
            let levelCount = max((columnLevels.max() ?? -1) + 1, 0)
            var position = [Int32](repeating: -1, count: levelCount)
            for (index, level) in columnLevels.enumerated() where level >= 0 && level < levelCount {
                position[level] = Int32(truncatingIfNeeded: index)
            }
            return position
        }
        let multiplied = components.contains { if case .numeric = $0 { true } else { false } }
        var multipliers: [Double]? = multiplied ? [Double](repeating: 1, count: rowCount) : nil
        let localColumns = [Int32](unsafeUninitializedCapacity: rowCount) { buffer, initialized in
            for row in 0..<rowCount {
                var local = 0
                var stride = 1
                var valid = true
                for (index, component) in components.enumerated() {
                    switch component {
                    case let .factor(_, codes, _, suffixes):
                        let code = row < codes.count ? Int(codes[row]) : -1
                        let position = code >= 0 && code < positions[index].count ? Int(positions[index][code]) : -1
                        if position < 0 { valid = false } else { local += position * stride }
                        stride *= suffixes.count
                    case let .numeric(_, values):
                        if multipliers != nil { multipliers?[row] *= row < values.count ? values[row] : .nan }
                    case .contrast, .matrix:
                        valid = false
                    }
                }
                buffer[row] = valid ? Int32(truncatingIfNeeded: local) : -1
            }
            initialized = rowCount
        }
        return DesignStructure.IndicatorBlock(
            firstColumn: firstColumn, width: width, localColumns: localColumns, multipliers: multipliers)
    }
}

extension Design {
    /// Every column of X as values: the stored columns of a dense design, or, for a
    /// structured one, its columns built (after checking that they fit in memory) for the
    /// code that reads X whole.
    public func denseColumns() throws -> [[Double]] {
        guard isStructured else { return columns }
        try MemoryBudget.current().require(
            MemoryBudget.bytes(doubles: rowCount, columnCount),
            for: "the model has \(MemoryBudget.describe(count: columnCount)) columns × "
                + "\(MemoryBudget.describe(count: rowCount)) rows: this needs its design as values",
            remedy: "use fewer levels or terms")
        return (0..<columnCount).map { structure.column($0, rowCount: rowCount) }
    }
}
