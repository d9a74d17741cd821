import Foundation

/// One chunk of rows as a fit sees it: its block of the design and its response.
struct ChunkRows {
    /// The columns of the chunk's X.
    let columns: [[Double]]
    let rowCount: Int
    var columnCount: Int { columns.count }
    let y: [Double]
    let priorWeights: [Double]
    let offset: [Double]
    let startingMu: [Double]
    let binomialTotals: [Double]
    /// `--frequency-weights` (already in `priorWeights`), or nil.
    var frequencyWeights: [Double]? = nil
    /// X by blocks (factor terms as codes) when the design is fitted by blocks; `columns`
    /// is then empty.
    var structure: DesignStructure? = nil
}

/// A GLM fitted in bounded memory (`--chunk-rows`): the input is read again for every pass,
/// a chunk of records at a time, and each pass adds up XᵀWX, XᵀWz, the deviance and the
/// rest over the chunks, exactly as the in-memory fit's one pass does over its blocks. The
/// steps are solved by Cholesky, so the numbers are the in-memory (large-data) fit's. A
/// design with a factor term of `Design.structuredBlockWidth` columns or more is held by
/// blocks in every chunk (codes, never indicator columns) and its block normal equations
/// are added up and solved by `BlockSolver`, as the in-memory fit by blocks does.
///
/// Factor levels are those of the whole input (the rows used), found in a first pass
/// before the fit: every chunk then makes the same design columns.
public enum ChunkedFit {
    /// What the pass before the fit learns of the whole input.
    private struct Layout {
        /// The header indices of the text columns (read as text in every chunk) and their
        /// levels over the rows used, in R's order (`CSVOptions.collation`).
        var textLevels: [Int: [String]] = [:]
        var logicalColumns: Set<Int> = []
        var rowCount = 0
        var droppedCount = 0
        var subsetExcludedCount = 0
        var weightSum = 0.0
        var positiveWeightCount = 0
        /// `--frequency-weights`: the observations the rows used stand for.
        var frequencyTotal: Int?
        /// The binary exponent of each numeric predictor's largest magnitude (by index in
        /// `terms.variables`), for `ColumnScaling.columnScales`.
        var magnitudeExponents: [Int: Int] = [:]
        var weightedResponseSum = 0.0
        var anyTrialsAboveOne = false
        var warnings: [String] = []
    }

    public static func fit(
        request: FitRequest, formula: Formula, family: Family, chunkRows: Int
    ) throws -> GLMFit {
        guard chunkRows >= 1 else {
            throw GLMError.invalidOption(name: "--chunk-rows", message: "must be at least 1 (got \(chunkRows))")
        }
        let options = Pipeline.csvOptions(request)
        let input = try ChunkedInput(path: request.path, dialect: options.dialect)
        let subset = try request.subset.map(Subset.init)
        var required: Set<Int>
        do {
            required = try ModelFrame.requiredColumns(
                formula: formula, columnNames: input.columnNames, weightsColumn: request.weightsColumn,
                frequencyWeightsColumn: request.frequencyWeightsColumn)
        } catch {
            throw options.dialect.explain(error, header: input.columnNames, source: input.source)
        }
        if let subset { required.formUnion(try subset.requiredColumns(header: input.columnNames)) }
        let terms = try Terms(formula: formula, columnNames: input.columnNames)
        for expression in terms.variables + terms.offsets + [formula.response, subset?.expression].compactMap({ $0 }) {
            if let call = expression.firstDataDependentCall {
                throw GLMError.invalidOption(
                    name: "--chunk-rows",
                    message: "cannot evaluate \(call): it needs the whole input in memory; fit without --chunk-rows")
            }
        }
        for variable in terms.variables + (formula.response.map { [$0] } ?? []) {
            if case let .call(name, _) = variable, name == "factor" || name == "as.factor" {
                throw GLMError.invalidOption(
                    name: "--chunk-rows",
                    message: "cannot fit \(variable.deparsed): factor() of a column needs the whole input in memory; "
                        + "write the column as text, or fit without --chunk-rows")
            }
            if let function = ExpressionEvaluator.firstModelFunction(in: variable) {
                throw GLMError.invalidOption(
                    name: "--chunk-rows",
                    message: "cannot fit \(variable.deparsed): \(function)() needs the whole input in memory "
                        + "(its levels, contrasts or basis come from all the rows); fit without --chunk-rows")
            }
        }

        // Pass 1: which columns are text anywhere in the input.
        var numericEverywhere = Set(required)
        var logicalSomewhere = Set<Int>()
        var textSomewhere = Set<Int>()
        try input.forEachChunk(rows: chunkRows) { bytes, linesBefore in
            let table = try CSVReader.read(
                bytes: bytes, source: input.source, options: options, tuning: .automatic, lineOffset: linesBefore,
                select: { _ in required })
            for column in required {
                guard case let .categorical(categorical)? = table.columns[column] else { continue }
                numericEverywhere.remove(column)
                if categorical.isLogical { logicalSomewhere.insert(column) } else { textSomewhere.insert(column) }
            }
        }
        let logicalColumns = logicalSomewhere.subtracting(textSomewhere)
        let textColumns = Set(required).subtracting(numericEverywhere).subtracting(logicalColumns)

        // Pass 2: the rows used, the levels they hold, the response's checks and sums.
        var layout = Layout()
        layout.logicalColumns = logicalColumns
        var usedLevels: [Int: Set<String>] = [:]
        // A text response's rows' prior weights by level: which level is failure (the first
        // of the whole input's) is known only after this pass, and a chunk may lack it.
        var responseWeightByLevel: [String: Double] = [:]
        try input.forEachChunk(rows: chunkRows) { bytes, linesBefore in
            let table = try chunkTable(
                bytes, input: input, options: options, linesBefore: linesBefore, required: required,
                textColumns: textColumns, logicalColumns: logicalColumns, levels: nil)
            guard let frame = try chunkFrame(
                table, formula: formula, weightsColumn: request.weightsColumn,
                frequencyWeightsColumn: request.frequencyWeightsColumn, dropUnusedLevels: true, subset: subset) else {
                let excluded = try subset.map { subset in
                    try subset.codes(ExpressionEvaluator(table: table)).reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
                } ?? 0
                layout.subsetExcludedCount += excluded
                layout.droppedCount += table.rowCount - excluded
                return
            }
            for (index, variable) in (terms.variables + [formula.response].compactMap { $0 }).enumerated() {
                guard case let .name(name) = variable, let column = table.index(of: name), textColumns.contains(column) else {
                    continue
                }
                let values = index < frame.variables.count ? frame.variables[index] : frame.response
                if case let .factor(_, levels, _) = values { usedLevels[column, default: []].formUnion(levels) }
            }
            for (index, values) in frame.variables.enumerated() {
                guard case let .numeric(numbers) = values else { continue }
                let largest = numbers.reduce(0.0) { Swift.max($0, abs($1)) }
                guard largest > 0, largest.isFinite else { continue }
                layout.magnitudeExponents[index] = Swift.max(layout.magnitudeExponents[index] ?? Int.min, Int(largest.exponent))
            }
            let prepared = try family.prepare(frame)
            layout.rowCount += frame.rowCount
            if let chunkTotal = frame.frequencyTotal {
                let (total, overflow) = (layout.frequencyTotal ?? 0).addingReportingOverflow(chunkTotal)
                guard !overflow, Double(total) <= FrequencyWeights.maximum else {
                    throw GLMError.invalidFrequencyWeight(
                        source: input.source, line: frame.line(ofUsedRow: frame.rowCount - 1),
                        column: request.frequencyWeightsColumn ?? "", value: "",
                        message: "the counts total more than 2^53 observations, more than a count can hold exactly")
                }
                layout.frequencyTotal = total
            }
            layout.droppedCount += frame.droppedCount
            layout.subsetExcludedCount += frame.subsetExcludedCount
            for warning in frame.warnings + prepared.warnings where !layout.warnings.contains(warning) {
                layout.warnings.append(warning)
            }
            if case let .factor(codes, levels, false) = frame.response {
                for row in 0..<frame.rowCount {
                    layout.weightSum += prepared.priorWeights[row]
                    let code = Int(codes[row])
                    if code >= 0, code < levels.count { responseWeightByLevel[levels[code], default: 0] += prepared.priorWeights[row] }
                }
            } else {
                for row in 0..<frame.rowCount {
                    layout.weightSum += prepared.priorWeights[row]
                    layout.weightedResponseSum += prepared.priorWeights[row] * prepared.y[row]
                }
            }
            layout.positiveWeightCount += prepared.positiveWeightCount
            if prepared.binomialTotals.contains(where: { $0 > 1 }) { layout.anyTrialsAboveOne = true }
        }
        if layout.rowCount == 0 {
            throw GLMError.noCompleteRows(variables: required.sorted().map { input.columnNames[$0] })
        }
        for column in textColumns {
            // Byte order first, so that levels ICU collates equal keep one fixed order.
            let distinct = (usedLevels[column] ?? []).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            layout.textLevels[column] = try options.collation.sorted(distinct)
        }
        if case let .name(name)? = formula.response, let column = input.columnNames.firstIndex(of: name),
           let levels = layout.textLevels[column], let first = levels.first {
            let failure = request.referenceLevels[name].flatMap { levels.contains($0) ? $0 : nil } ?? first
            for level in levels where level != failure { layout.weightedResponseSum += responseWeightByLevel[level] ?? 0 }
        }

        let frozen = layout
        // A chunk's model frame with the whole input's levels (nil when no row of it is used).
        func frozenFrame(_ bytes: UnsafeRawBufferPointer, linesBefore: Int) throws -> ModelFrame? {
            let table = try chunkTable(
                bytes, input: input, options: options, linesBefore: linesBefore, required: required,
                textColumns: textColumns, logicalColumns: logicalColumns, levels: frozen.textLevels)
            return try chunkFrame(
                table, formula: formula, weightsColumn: request.weightsColumn,
                frequencyWeightsColumn: request.frequencyWeightsColumn, dropUnusedLevels: false,
                referenceLevels: request.referenceLevels, defaultContrasts: request.defaultContrasts, subset: subset)
        }
        // The design's names and terms, from the first chunk with rows.
        var template: Design?
        try input.readChunks(rows: min(chunkRows, 1000), until: { bytes, linesBefore -> ChunkedInput.Continuation in
            if let frame = try frozenFrame(bytes, linesBefore: linesBefore) {
                try ReferenceLevels.checkApplied(request.referenceLevels, frame: frame, columnNames: input.columnNames)
                template = try chunkDesign(frame, layout: .automatic)
                return .stop
            }
            return .next
        })
        guard let template else {
            throw GLMError.noCompleteRows(variables: required.sorted().map { input.columnNames[$0] })
        }
        // A factor term of `Design.structuredBlockWidth` columns or more: every chunk's design
        // by blocks (the whole input's levels, so every chunk has the same blocks), its block
        // normal equations added up and solved as the in-memory fit solves them.
        var blockLayout = template.isStructured ? BlockLayout(structure: template.structure) : nil
        let chunkLayout: Design.Layout = blockLayout == nil ? .dense : .structured
        let scales = ColumnScaling.columnScales(template, exponents: layout.magnitudeExponents)

        // Every chunk's rows, typed with the whole input's levels.
        let chunks: ((ChunkRows) throws -> Void) throws -> Void = { visit in
            var rowsSeen = 0
            try input.forEachChunk(rows: chunkRows) { bytes, linesBefore in
                guard let frame = try frozenFrame(bytes, linesBefore: linesBefore) else { return }
                let design = try chunkDesign(frame, layout: chunkLayout)
                let prepared = try family.prepare(frame)
                rowsSeen += design.rowCount
                let columns = zip(design.columns, scales).map { column, scale in scale == 1 ? column : column.map { $0 * scale } }
                try visit(ChunkRows(
                    columns: columns, rowCount: design.rowCount, y: prepared.y,
                    priorWeights: prepared.priorWeights, offset: frame.offset ?? [Double](repeating: 0, count: design.rowCount),
                    startingMu: prepared.startingMu, binomialTotals: prepared.binomialTotals,
                    frequencyWeights: prepared.frequencyWeights,
                    structure: design.isStructured ? ColumnScaling.scaled(design.structure, by: scales) : nil))
            }
            // Every pass reads the file again: one that changed in between (rewritten, cut short
            // or appended to) would mix two inputs in one fit.
            if rowsSeen != frozen.rowCount {
                throw GLMError.unreadableInput(
                    source: input.source,
                    reason: "it changed while it was being read (a pass over it found \(rowsSeen) rows to fit, "
                        + "the first \(frozen.rowCount))")
            }
        }
        if layout.rowCount < template.columnCount {
            throw GLMError.tooFewObservations(observations: layout.rowCount, coefficients: template.columnCount)
        }
        try PreparedResponse.requirePositiveWeights(
            count: layout.positiveWeightCount, coefficients: template.columnCount,
            column: request.weightsColumn ?? request.frequencyWeightsColumn)

        var irls = StreamedIRLS(family: family, control: request.control, observer: request.observer)
        // A second factor of many levels: held apart and solved as sparse, as in memory, after
        // one more pass that numbers the pairs of levels that share rows in the whole input.
        let control = request.control
        if template.isStructured, case let candidate = BlockLayout(
            structure: template.structure, denseRestLimit: control.denseRestLimit,
            secondaryMinimumWidth: control.secondaryMinimumWidth), candidate.isSparse {
            var index = LevelPairIndex(layout: candidate)
            try chunks { rows in
                guard let structure = rows.structure else { return }
                _ = try index.rowPairs(structure, rowCount: rows.rowCount, adding: true)
            }
            if let order = try SparseBlockSolver.sparseOrder(
                structure: template.structure, layout: candidate, pairs: index.columns, control: control) {
                var sparse = StreamedIRLS.SparseChunks(
                    layout: candidate, pairs: index, order: order, structure: template.structure)
                // The aliased columns, as in memory: from XᵀX over the rows of positive weight,
                // by one more pass.
                let unitWeights = StreamedIRLS(family: .unitWeights, control: control, observer: nil, sparse: sparse)
                let unitChunks: ((ChunkRows) throws -> Void) throws -> Void = { visit in
                    try chunks { rows in
                        let zeros = [Double](repeating: 0, count: rows.rowCount)
                        try visit(ChunkRows(
                            columns: rows.columns, rowCount: rows.rowCount, y: zeros,
                            priorWeights: rows.priorWeights.map(Family.unitWeight(prior:)), offset: zeros, startingMu: zeros,
                            binomialTotals: rows.binomialTotals, structure: rows.structure))
                    }
                }
                let sum = try unitWeights.sweep(
                    unitChunks, columnCount: template.columnCount, blocks: candidate, source: .start, coefficients: nil,
                    accumulate: true)
                guard let unitEquations = sum.equations else {
                    throw GLMError.fitFailed(message: "no normal equations to find the aliased columns")
                }
                sparse.aliased = try SparseBlockSolver.aliasedColumns(
                    unitEquations, layout: candidate, pairs: index.columns, structure: template.structure,
                    columnCount: template.columnCount, order: order)
                irls.sparse = sparse
                blockLayout = candidate
            }
        }
        let result = try irls.fit(
            columnCount: template.columnCount, blocks: blockLayout, chunks: chunks,
            nullMean: layout.weightedResponseSum / layout.weightSum,
            weightSum: layout.weightSum, useBinomialTotals: layout.anyTrialsAboveOne)
        // The null deviance, as glm(): a real intercept-only fit when there is an offset.
        let nullDeviance: Double
        var warnings = layout.warnings + result.irls.warnings
        if template.frame.offset != nil && template.hasIntercept {
            let coefficients = result.irls.coefficients.map { $0.isNaN ? 0 : $0 }
            let nullChunks: ((ChunkRows) throws -> Void) throws -> Void = { visit in
                try chunks { rows in
                    let mu = linearPredictor(rows, coefficients: coefficients)
                    try visit(ChunkRows(
                        columns: [[Double](repeating: 1, count: rows.rowCount)], rowCount: rows.rowCount, y: rows.y,
                        priorWeights: rows.priorWeights, offset: rows.offset, startingMu: mu.map(family.link.linkinv),
                        binomialTotals: rows.binomialTotals, frequencyWeights: rows.frequencyWeights))
                }
            }
            let nullFit = try irls.fit(columnCount: 1, chunks: nullChunks, summaries: false)
            if !nullFit.irls.converged {
                warnings.append("fitting to calculate the null deviance did not converge -- increase 'maxit'?")
            }
            nullDeviance = nullFit.irls.deviance
        } else if template.hasIntercept {
            nullDeviance = result.nullDevianceAtMean
        } else {
            nullDeviance = result.nullDevianceAtOffset
        }
        let aic = family.finishAIC(
            result.aicParts, deviance: result.irls.deviance, weightSum: layout.weightSum,
            count: layout.frequencyTotal ?? layout.rowCount)
        warnings += result.aicParts.warnings
        if result.nearBoundary {
            warnings.append("fitted values are numerically at the edge of their range; whether estimates diverge "
                + "(separation) is checked only without --chunk-rows")
        }
        // Back from the scaled columns' coefficients: X = X'S⁻¹, so b = S b' and R = R'S⁻¹.
        let irlsResult = ColumnScaling.unscaled(result.irls, by: scales)
        let frame = template.frame.summarizing(
            rowCount: layout.rowCount, droppedCount: layout.droppedCount, subsetExcludedCount: layout.subsetExcludedCount,
            frequencyTotal: layout.frequencyTotal, warnings: layout.warnings)
        let design = template.summarizing(frame: frame)
        let rank = result.irls.rank
        let used = result.positivePriorWeightCount
        return GLMFit(
            design: design, family: family, control: request.control,
            response: PreparedResponse(y: [], priorWeights: [], binomialTotals: [], startingMu: [], warnings: []),
            offset: [], irls: irlsResult, nullDeviance: nullDeviance, dfResidual: used - rank,
            dfNull: used - (template.hasIntercept ? 1 : 0), aic: aic.map { $0 + 2 * Double(rank) }, divergingTerms: [],
            warnings: warnings, frequencyTotal: layout.frequencyTotal)
    }

    /// η = offset + Xβ of a chunk's rows, over its columns or its blocks.
    static func linearPredictor(_ rows: ChunkRows, coefficients: [Double]) -> [Double] {
        var eta = rows.offset
        guard let structure = rows.structure else {
            for column in 0..<rows.columnCount where coefficients[column] != 0 {
                let values = rows.columns[column]
                for row in 0..<rows.rowCount { eta[row] += values[row] * coefficients[column] }
            }
            return eta
        }
        for row in 0..<rows.rowCount {
            structure.forEachEntry(row: row) { column, value in eta[row] += value * coefficients[column] }
        }
        return eta
    }

    /// A chunk's design; when it does not fit in memory, the remedy is fewer rows a chunk.
    private static func chunkDesign(_ frame: ModelFrame, layout: Design.Layout) throws -> Design {
        do {
            return try Design(frame: frame, layout: layout)
        } catch let GLMError.insufficientMemory(what, needed, available, remedy) where remedy.contains("--chunk-rows") {
            throw GLMError.insufficientMemory(
                what: what, neededBytes: needed, availableBytes: available, remedy: "use fewer levels, or a smaller --chunk-rows")
        }
    }

    /// The chunk's model frame, or nil when every row of the chunk has a missing value (the
    /// rows are dropped; only the whole input can have no complete row).
    /// `referenceLevels` only with the whole input's levels (a chunk's own may lack the level).
    private static func chunkFrame(
        _ table: Table, formula: Formula, weightsColumn: String?, frequencyWeightsColumn: String?, dropUnusedLevels: Bool,
        referenceLevels: [String: String] = [:], defaultContrasts: DefaultContrasts = .r, subset: Subset? = nil
    ) throws -> ModelFrame? {
        do {
            return try ModelFrame(
                table: table, formula: formula, weightsColumn: weightsColumn, frequencyWeightsColumn: frequencyWeightsColumn,
                dropUnusedLevels: dropUnusedLevels,
                referenceLevels: referenceLevels, defaultContrasts: defaultContrasts, subset: subset)
        } catch GLMError.noCompleteRows {
            return nil
        } catch GLMError.invalidOption("--subset", _) where table.rowCount > 0 {
            // A chunk whose rows the subset all leaves out: only the whole input can have none.
            return nil
        }
    }

    /// One chunk read as a table: text columns as text, logical ones as logical, and, when
    /// `levels` is given, text codes into those levels (a level outside them, seen only in
    /// rows that are dropped, reads as missing).
    private static func chunkTable(
        _ bytes: UnsafeRawBufferPointer, input: ChunkedInput, options: CSVOptions, linesBefore: Int, required: Set<Int>,
        textColumns: Set<Int>, logicalColumns: Set<Int>, levels: [Int: [String]]?
    ) throws -> Table {
        let table = try CSVReader.read(
            bytes: bytes, source: input.source, options: options, tuning: .automatic, forcedCategorical: textColumns,
            lineOffset: linesBefore, select: { _ in required })
        var columns = table.columns
        for column in logicalColumns {
            if case .numeric? = columns[column] {
                // Missing everywhere in this chunk.
                columns[column] = .categorical(CategoricalColumn(
                    codes: [Int32](repeating: -1, count: table.rowCount), levels: ["FALSE", "TRUE"], isLogical: true))
            }
        }
        if let levels {
            for (column, global) in levels {
                guard case let .categorical(local)? = columns[column] else { continue }
                var position: [String: Int32] = [:]
                for (index, level) in global.enumerated() { position[level] = Int32(index) }
                let map = local.levels.map { position[$0] ?? -1 }
                let codes = local.codes.map { $0 >= 0 && Int($0) < map.count ? map[Int($0)] : -1 }
                columns[column] = .categorical(CategoricalColumn(codes: codes, levels: global, isLogical: false))
            }
        }
        return Table(source: table.source, columnNames: table.columnNames, columns: columns, rowCount: table.rowCount,
                     recordLines: table.recordLines)
    }
}

/// IRLS over chunks: `IRLS.iterate`'s loop, each pass a sum over the chunks.
struct StreamedIRLS {
    let family: Family
    let control: FitControl
    let observer: FitObserver?
    /// Factors of many levels held apart and solved as sparse, as in memory.
    var sparse: SparseChunks? = nil

    /// The layout with the factors held apart, the pairs of levels of the whole input (found
    /// by a pass of their own) and the sparse factor's order.
    struct SparseChunks {
        let layout: BlockLayout
        let pairs: LevelPairIndex
        let order: [Int]
        /// A chunk's structure (every chunk's blocks are the same).
        let structure: DesignStructure
        /// The aliased columns (`SparseBlockSolver.aliasedColumns`).
        var aliased = Set<Int>()
    }

    struct Result {
        var irls: IRLSResult
        var aicParts = Family.AICParts()
        var positivePriorWeightCount = 0
        var nearBoundary = false
        /// The deviance at the constant mean `nullMean` and at the offset alone.
        let nullDevianceAtMean: Double
        let nullDevianceAtOffset: Double
    }

    /// Where the weights of a step came from: the starting means or a coefficient vector.
    enum WeightSource {
        case start
        case coefficients([Double])
    }

    /// One pass over a chunk's rows (see `RowPass.run`): its totals, its η, μ and working
    /// weights, and, by blocks, its block normal equations when `accumulate`.
    fileprivate func pass(
        _ rows: ChunkRows, source: WeightSource?, coefficients: [Double]?, accumulate: Bool, normalEquations: Bool
    ) throws -> (RowPass.Totals, ChunkPassOutputs, BlockNormalEquations?) {
        if let structure = rows.structure {
            return try blockPass(rows, structure: structure, source: source, coefficients: coefficients, accumulate: accumulate)
        }
        return RowPass.withBaseAddresses(of: rows.columns) { columns in
            rows.y.withUnsafeBufferPointer { y in
                rows.priorWeights.withUnsafeBufferPointer { prior in
                    rows.offset.withUnsafeBufferPointer { offset in
                        let pass = RowPass(
                            family: family, columns: columns, rowCount: rows.rowCount, y: y,
                            priorWeights: prior, offset: offset)
                        if case .start? = source {
                            for row in 0..<rows.rowCount {
                                pass.eta[row] = family.link.linkfun(rows.startingMu[row])
                                pass.mu[row] = family.link.linkinv(pass.eta[row])
                            }
                        } else if case let .coefficients(weightCoefficients)? = source {
                            _ = pass.run(coefficients: weightCoefficients, accumulate: false, normalEquations: false)
                        }
                        let totals = pass.run(coefficients: coefficients, accumulate: accumulate, normalEquations: normalEquations)
                        return (totals, pass, nil)
                    }
                }
            }
        }
    }

    /// `pass` over a chunk held by blocks: a `StructuredPass`, as the in-memory fit's.
    private func blockPass(
        _ rows: ChunkRows, structure: DesignStructure, source: WeightSource?, coefficients: [Double]?, accumulate: Bool
    ) throws -> (RowPass.Totals, ChunkPassOutputs, BlockNormalEquations?) {
        let outputs = BlockChunkOutputs(rowCount: rows.rowCount)
        let levelPairs: LevelPairs? = try sparse.map { sparse in
            var index = sparse.pairs
            return try LevelPairs(structure: structure, rowCount: rows.rowCount, index: &index, adding: false)
        }
        return RowPass.withBaseAddresses(of: structure.denseValues) { dense in
            rows.y.withUnsafeBufferPointer { y in
                rows.priorWeights.withUnsafeBufferPointer { prior in
                    rows.offset.withUnsafeBufferPointer { offset in
                        let pass = StructuredPass(
                            family: family, structure: structure, denseValues: dense, rowCount: rows.rowCount, y: y,
                            priorWeights: prior, offset: offset, eta: outputs.eta, mu: outputs.mu,
                            workingWeights: outputs.workingWeights, layout: sparse?.layout, levelPairs: levelPairs)
                        if case .start? = source {
                            for row in 0..<rows.rowCount {
                                outputs.eta[row] = family.link.linkfun(rows.startingMu[row])
                                outputs.mu[row] = family.link.linkinv(outputs.eta[row])
                            }
                        } else if case let .coefficients(weightCoefficients)? = source {
                            _ = pass.run(coefficients: weightCoefficients, accumulate: false)
                        }
                        let (totals, equations) = pass.run(coefficients: coefficients, accumulate: accumulate)
                        return (totals, outputs, equations)
                    }
                }
            }
        }
    }

    /// What one sweep over every chunk adds up: the totals, and by blocks the block normal
    /// equations (the totals' XᵀWX then stays empty: no p × p matrix).
    fileprivate struct SweepTotals {
        var totals: RowPass.Totals
        var equations: BlockNormalEquations?
    }

    /// Sums one pass over every chunk.
    fileprivate func sweep(
        _ chunks: ((ChunkRows) throws -> Void) throws -> Void, columnCount: Int, blocks: BlockLayout?,
        source: WeightSource?, coefficients: [Double]?, accumulate: Bool
    ) throws -> SweepTotals {
        var sum = SweepTotals(
            totals: RowPass.Totals(columns: blocks == nil ? columnCount : 0),
            equations: accumulate ? blocks.map { BlockNormalEquations(layout: $0, pairCount: sparse?.pairs.columns.count ?? 0) } : nil)
        try chunks { rows in
            var (chunkTotals, pass, chunkEquations) = try self.pass(
                rows, source: source, coefficients: coefficients, accumulate: accumulate, normalEquations: accumulate)
            if coefficients == nil {
                // The deviance at the starting means (no coefficients to compute it from).
                chunkTotals.deviance = 0
                for row in 0..<rows.rowCount {
                    chunkTotals.deviance += family.unitDeviance(y: rows.y[row], mu: pass.mu[row], weight: rows.priorWeights[row])
                }
            }
            sum.totals.add(chunkTotals)
            if let chunkEquations { sum.equations?.add(chunkEquations) }
        }
        return sum
    }

    /// - Parameters:
    ///   - summaries: add up the AIC (not needed for the null-deviance fit).
    ///   - nullMean: the weighted mean response, for the null deviance of a model with an
    ///     intercept and no offset.
    ///   - aicContext: the whole input's weight total and trial-count rule, for the AIC sum.
    ///   - blocks: the layout of the chunks' blocks when they are held by blocks.
    func fit(
        columnCount: Int, blocks: BlockLayout? = nil, chunks: @escaping ((ChunkRows) throws -> Void) throws -> Void,
        summaries: Bool = true, nullMean: Double? = nil, weightSum: Double = 0, useBinomialTotals: Bool = false
    ) throws -> Result {
        let rows = StreamedPasses(irls: self, chunks: chunks, columnCount: columnCount, blocks: blocks)
        let loopResult = try IRLS(family: family, control: control, observer: observer).loop(rows, columnCount: columnCount)
        var warnings = loopResult.warnings
        let currentDeviance = loopResult.deviance
        let solveSource = rows.solveSource

        // The last pass: the Pearson statistic with the last step's weights, the AIC sum,
        // the edge-of-range checks, and what the null deviance needs.
        var pearson = 0.0
        var zeroWeight = false
        var residualCount = 0
        var positivePrior = 0
        var aicParts = Family.AICParts()
        var nearEdge = false
        var tinyFitted = (binomial: false, poisson: false)
        var atOffset = 0.0
        var atMean = 0.0
        let aicContext = Family.AICContext(
            deviance: currentDeviance, weightSum: weightSum, useBinomialTotals: useBinomialTotals)
        let tiny = 10 * Double.ulpOfOne
        // An aliased coefficient (NA) adds nothing to η.
        let finalCoefficients = loopResult.coefficients.map { $0.isNaN ? 0 : $0 }
        try chunks { rows in
            let (_, weightPass, _) = try self.pass(
                rows, source: solveSource, coefficients: nil, accumulate: true, normalEquations: false)
            let (_, finalPass, _) = try self.pass(
                rows, source: nil, coefficients: finalCoefficients, accumulate: false, normalEquations: false)
            for row in 0..<rows.rowCount {
                let weight = weightPass.workingWeights[row]
                let mu = finalPass.mu[row]
                let residual = (rows.y[row] - mu) / family.link.muEta(finalPass.eta[row])
                if weight > 0 { pearson += weight * residual * residual } else { zeroWeight = true }
                // A row counts as the observations it stands for (one without frequency weights).
                let count = rows.frequencyWeights.map { Int(exactly: $0[row]) ?? 0 } ?? 1
                if !residual.isNaN { residualCount += count }
                if rows.priorWeights[row] != 0 { positivePrior += count }
                if mu > 1 - tiny || mu < tiny { tinyFitted.binomial = true }
                if mu < tiny { tinyFitted.poisson = true }
                if mu < 1e-8 || (family.kind.isBinomialLike && mu > 1 - 1e-8) { nearEdge = true }
                atOffset += family.unitDeviance(y: rows.y[row], mu: family.link.linkinv(rows.offset[row]), weight: rows.priorWeights[row])
                if let nullMean { atMean += family.unitDeviance(y: rows.y[row], mu: nullMean, weight: rows.priorWeights[row]) }
            }
            if summaries {
                family.addAIC(y: rows.y, binomialTotals: rows.binomialTotals, mu: Array(finalPass.mu), weights: rows.priorWeights,
                              frequencies: rows.frequencyWeights, context: aicContext, into: &aicParts)
            }
        }
        if family.kind == .binomial, tinyFitted.binomial {
            warnings.append("glm.fit: fitted probabilities numerically 0 or 1 occurred")
        }
        if family.kind == .poisson, tinyFitted.poisson {
            warnings.append("glm.fit: fitted rates numerically 0 occurred")
        }
        let irls = IRLSResult(
            coefficients: loopResult.coefficients, solution: loopResult.solution, linearPredictors: [], fittedValues: [],
            workingWeights: [], workingResiduals: [], deviance: currentDeviance, iterations: loopResult.iterations,
            converged: loopResult.converged, boundary: loopResult.boundary, warnings: warnings,
            pearsonChiSquare: pearson, hasZeroWorkingWeight: zeroWeight, residualCount: residualCount)
        return Result(
            irls: irls, aicParts: aicParts, positivePriorWeightCount: positivePrior, nearBoundary: nearEdge,
            nullDevianceAtMean: atMean, nullDevianceAtOffset: atOffset)
    }
}

/// η, μ and the working weights of a pass over one chunk's rows.
protocol ChunkPassOutputs: AnyObject {
    var eta: UnsafeMutableBufferPointer<Double> { get }
    var mu: UnsafeMutableBufferPointer<Double> { get }
    var workingWeights: UnsafeMutableBufferPointer<Double> { get }
}

extension RowPass: ChunkPassOutputs {}

/// η, μ and the working weights of a structured pass over one chunk, owned here (a
/// `StructuredPass` writes into its caller's buffers).
private final class BlockChunkOutputs: ChunkPassOutputs {
    let eta: UnsafeMutableBufferPointer<Double>
    let mu: UnsafeMutableBufferPointer<Double>
    let workingWeights: UnsafeMutableBufferPointer<Double>

    init(rowCount: Int) {
        func zeros() -> UnsafeMutableBufferPointer<Double> {
            let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(rowCount, 1))
            buffer.initialize(repeating: 0)
            return UnsafeMutableBufferPointer(rebasing: buffer[0..<rowCount])
        }
        eta = zeros()
        mu = zeros()
        workingWeights = zeros()
    }

    deinit {
        for buffer in [eta, mu, workingWeights] { buffer.baseAddress?.deallocate() }
    }
}

/// The rows of an input read again in chunks for every pass; the state between passes is
/// only where the current weights come from (no per-row arrays), and, by blocks, the block
/// normal equations of the last pass that added them up.
private final class StreamedPasses: IRLSPasses {
    var skipsUnneededNormalEquations: Bool { false }
    let irls: StreamedIRLS
    let chunks: ((ChunkRows) throws -> Void) throws -> Void
    let columnCount: Int
    let blocks: BlockLayout?
    private var equations: BlockNormalEquations?
    /// Where the weights of the last accumulating pass came from, and of the last step.
    private var current = StreamedIRLS.WeightSource.start
    private(set) var solveSource = StreamedIRLS.WeightSource.start

    init(
        irls: StreamedIRLS, chunks: @escaping ((ChunkRows) throws -> Void) throws -> Void, columnCount: Int,
        blocks: BlockLayout?
    ) {
        self.irls = irls
        self.chunks = chunks
        self.columnCount = columnCount
        self.blocks = blocks
    }

    private func sweep(source: StreamedIRLS.WeightSource?, coefficients: [Double]?, accumulate: Bool) throws -> RowPass.Totals {
        let sum = try irls.sweep(
            chunks, columnCount: columnCount, blocks: blocks, source: source, coefficients: coefficients,
            accumulate: accumulate)
        if accumulate { equations = sum.equations }
        return sum.totals
    }

    func start() throws -> (RowPass.Totals, Double) {
        let totals = try sweep(source: .start, coefficients: nil, accumulate: true)
        return (totals, totals.deviance)
    }

    func run(coefficients: [Double]?, accumulate: Bool) throws -> RowPass.Totals {
        guard let coefficients else {
            return try sweep(source: current, coefficients: nil, accumulate: true)
        }
        current = .coefficients(coefficients)
        return try sweep(source: nil, coefficients: coefficients, accumulate: accumulate)
    }

    func solve(_ totals: RowPass.Totals) throws -> LeastSquaresSolution {
        solveSource = current
        if let blocks {
            // As the in-memory fit by blocks, R's in-order rule for aliased columns included
            // (without its QR for a near-singular step: X is never in memory whole).
            guard let equations else { throw GLMError.fitFailed(message: "no normal equations to solve") }
            if let sparse = irls.sparse {
                return try SparseBlockSolver.solve(
                    equations, layout: blocks, pairs: sparse.pairs.columns, structure: sparse.structure, columnCount: columnCount,
                    order: sparse.order, aliased: sparse.aliased)
            }
            return try BlockSolver.solve(equations, layout: blocks, columnCount: columnCount).solution
        }
        guard let step = LinearAlgebra.solveNormalEquations(gram: totals.gram, rhs: totals.rhs, order: columnCount) else {
            throw GLMError.fitFailed(
                message: "the design is aliased or too ill-conditioned for --chunk-rows (which solves the normal "
                    + "equations); fit without --chunk-rows, which uses R's QR and reports aliased columns")
        }
        return step
    }
}

