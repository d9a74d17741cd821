import Foundation

/// The rows of a structured design grouped into cells of equal factor codes, for R's QR on a
/// design too large to build as values. Within a cell every row is a combination of the same
/// few patterns: each numeric value the row's entries are multiples of (a dense column, a
/// factor × numeric term's product: a *slot*) times that value's columns, plus a constant
/// pattern (the intercept, factor terms without numbers). So a cell's rows √W·X_c are
/// √W·U_c·P_c, with U_c (rows × slots) the values and P_c the patterns; the QR of [√W·U_c | √W·z]
/// (at most one row per slot) times P_c has the same R, and the same Qᵀz, as those rows
/// themselves. Stacked over the cells, the in-order QR (`LinearAlgebra.inOrderLeastSquares`)
/// gives glm's step with R's aliasing: InstEval's instructor × student-age interaction is
/// 4,513 columns on 73,421 rows as values, but 4,912 cells of one row each.
struct DesignCells: Sendable {
    /// Where a slot's values come from: a dense column's values or a factor term's
    /// multipliers (slot 0 is the constant 1).
    enum SlotSource: Sendable {
        case dense(Int)
        case indicatorMultipliers(Int)
        case contrastMultipliers(Int)
    }

    let slots: [SlotSource]
    /// Each row's cell, and the rows of each cell (`cellRows[cellRowStarts[c]..<cellRowStarts[c + 1]]`).
    let cellOfRow: [Int32]
    let cellRowStarts: [Int]
    let cellRows: [Int32]
    /// Each cell's pattern per slot (constant first) as (column, value) entries: those of
    /// cell c and slot s start at `patternStarts[c · (slots.count + 1) + s]`.
    let patternStarts: [Int]
    let patternColumns: [Int32]
    let patternValues: [Double]
    let columnCount: Int
    private let structure: DesignStructure

    var cellCount: Int { cellRowStarts.count - 1 }
    /// Rows of a cell taken into its QR at a time.
    static let batchRows = 4096
    var slotCount: Int { slots.count + 1 }

    /// The cells of `structure`'s first `rowCount` rows, or nil when their QR rows (up to
    /// one per slot and cell) would exceed `maximumBytes`.
    init?(_ structure: DesignStructure, rowCount: Int, maximumBytes: Int) {
        // Values equal on every row are a constant pattern's factors, not slots of their own
        // (the intercept; a term's power-of-two scale).
        func constant(_ values: [Double]) -> Double? {
            guard let first = values.first else { return 1 }
            guard values.count >= rowCount else { return nil }
            for row in 0..<rowCount where values[row] != first { return nil }
            return first
        }
        // Each source of numbers (dense column, term's multipliers) goes to a slot: the
        // constant one (0) with its factor, or the slot of a source with the same values.
        var slots: [SlotSource] = []
        var slotValues: [[Double]] = []
        var sources: [(source: SlotSource, slot: Int, factor: Double)] = []
        func assign(_ source: SlotSource, _ values: [Double]?) {
            guard let values else { return sources.append((source, 0, 1)) }
            if let factor = constant(values) { return sources.append((source, 0, factor)) }
            if let existing = slotValues.firstIndex(of: values) { return sources.append((source, existing + 1, 1)) }
            slots.append(source)
            slotValues.append(values)
            sources.append((source, slots.count, 1))
        }
        for (index, values) in structure.denseValues.enumerated() { assign(.dense(index), values) }
        for (index, block) in structure.blocks.enumerated() { assign(.indicatorMultipliers(index), block.multipliers) }
        for (index, block) in structure.contrastBlocks.enumerated() { assign(.contrastMultipliers(index), block.multipliers) }
        let slotCount = slots.count + 1
        let rowBytes = MemoryBudget.bytes(doubles: slotCount, structure.columnCount + 1) ?? Int.max
        let maximumCells = maximumBytes / max(rowBytes, 1)

        var cellOfKey: [[Int32]: Int32] = [:]
        var cellOfRow = [Int32](repeating: 0, count: rowCount)
        var key: [Int32] = []
        var firstRows: [Int] = []
        for row in 0..<rowCount {
            key.removeAll(keepingCapacity: true)
            for block in structure.blocks { key.append(row < block.localColumns.count ? block.localColumns[row] : -1) }
            for block in structure.contrastBlocks { key.append(row < block.levels.count ? block.levels[row] : -1) }
            if let cell = cellOfKey[key] {
                cellOfRow[row] = cell
                continue
            }
            guard firstRows.count < maximumCells, let cell = Int32(exactly: firstRows.count) else { return nil }
            cellOfKey[key] = cell
            cellOfRow[row] = cell
            firstRows.append(row)
        }
        // Each cell's rows (a counting sort of the rows by cell).
        var cellRowStarts = [Int](repeating: 0, count: firstRows.count + 1)
        for cell in cellOfRow { cellRowStarts[Int(cell) + 1] += 1 }
        for cell in 0..<firstRows.count { cellRowStarts[cell + 1] += cellRowStarts[cell] }
        var next = cellRowStarts
        var cellRows = [Int32](repeating: 0, count: rowCount)
        for row in 0..<rowCount {
            let cell = Int(cellOfRow[row])
            cellRows[next[cell]] = Int32(truncatingIfNeeded: row)
            next[cell] += 1
        }
        // The patterns, from each cell's first row (its codes are the cell's).
        var patternStarts: [Int] = []
        var patternColumns: [Int32] = []
        var patternValues: [Double] = []
        func add(_ column: Int, _ value: Double) {
            guard value != 0 else { return }
            patternColumns.append(Int32(truncatingIfNeeded: column))
            patternValues.append(value)
        }
        func addIndicator(_ index: Int, row: Int, times factor: Double) {
            let block = structure.blocks[index]
            guard row < block.localColumns.count, block.localColumns[row] >= 0 else { return }
            add(block.firstColumn + Int(block.localColumns[row]), factor)
        }
        func addContrast(_ index: Int, row: Int, times factor: Double) {
            let block = structure.contrastBlocks[index]
            guard row < block.levels.count, block.levels[row] >= 0, Int(block.levels[row]) < block.levelCount else { return }
            let first = Int(block.levels[row]) * block.width
            for local in 0..<block.width { add(block.firstColumn + local, factor * block.contrasts[first + local]) }
        }
        for row in firstRows {
            for slot in 0..<slotCount {
                patternStarts.append(patternColumns.count)
                for source in sources where source.slot == slot {
                    switch source.source {
                    case let .dense(index): add(structure.denseColumns[index], source.factor)
                    case let .indicatorMultipliers(index): addIndicator(index, row: row, times: source.factor)
                    case let .contrastMultipliers(index): addContrast(index, row: row, times: source.factor)
                    }
                }
            }
        }
        patternStarts.append(patternColumns.count)
        self.slots = slots
        self.cellOfRow = cellOfRow
        self.cellRowStarts = cellRowStarts
        self.cellRows = cellRows
        self.patternStarts = patternStarts
        self.patternColumns = patternColumns
        self.patternValues = patternValues
        self.columnCount = structure.columnCount
        self.structure = structure
    }

    /// The value of slot `slot` (0: the constant) on a row.
    func value(slot: Int, row: Int) -> Double {
        guard slot > 0 else { return 1 }
        switch slots[slot - 1] {
        case let .dense(index): return Self.value(structure.denseValues[index], row)
        case let .indicatorMultipliers(index): return structure.blocks[index].multipliers.map { Self.value($0, row) } ?? 1
        case let .contrastMultipliers(index): return structure.contrastBlocks[index].multipliers.map { Self.value($0, row) } ?? 1
        }
    }

    private static func value(_ values: [Double], _ row: Int) -> Double {
        row < values.count ? values[row] : .nan
    }

    /// The weighted least-squares step on the cells' QR rows, by `LinearAlgebra.inOrderLeastSquares`.
    func leastSquares(
        workingWeights: UnsafeMutableBufferPointer<Double>, workingResponse: (Int) -> Double, tolerance: Double,
        aliasedBefore: Set<Int> = [], batchRows: Int = DesignCells.batchRows
    ) throws -> LeastSquaresSolution {
        let width = slotCount + 1
        let batchRows = max(batchRows, 1)
        // Each cell's rows of R (slot coefficients, then Qᵀz), one after another.
        var reduced: [Double] = []
        var reducedCells: [Int] = []
        var local: [Double] = []
        for cell in 0..<cellCount {
            let rows = cellRows[cellRowStarts[cell]..<cellRowStarts[cell + 1]].map(Int.init).filter {
                $0 < workingWeights.count && workingWeights[$0] > 0
            }
            guard !rows.isEmpty else { continue }
            if slotCount == 1 {
                // One slot: R is √Σw and Qᵀz is Σwz / √Σw.
                var weightSum = 0.0, responseSum = 0.0
                for row in rows {
                    weightSum += workingWeights[row]
                    responseSum += workingWeights[row] * workingResponse(row)
                }
                let root = weightSum.squareRoot()
                reduced.append(contentsOf: [root, responseSum / root])
                reducedCells.append(cell)
                continue
            }
            // R of [√W·U_c | √W·z] by batches of rows, each stacked under the R so far, so that
            // a cell of millions of rows needs no copy of them.
            var carried: [Double] = []
            var carriedRows = 0
            var batchStart = 0
            while batchStart < rows.count {
                let batch = rows[batchStart..<min(rows.count, batchStart + batchRows)]
                let count = carriedRows + batch.count
                local = [Double](repeating: 0, count: count * width)
                for i in 0..<carriedRows {
                    for column in 0..<width { local[i + column * count] = carried[i + column * carriedRows] }
                }
                for (offset, row) in batch.enumerated() {
                    let position = carriedRows + offset
                    let root = workingWeights[row].squareRoot()
                    for slot in 0..<slotCount { local[position + slot * count] = root * value(slot: slot, row: row) }
                    local[position + slotCount * count] = root * workingResponse(row)
                }
                _ = try LinearAlgebra.householderQR(&local, rows: count, columns: width)
                // The upper triangle (trapezoid) is the new R; below it Householder vectors.
                let kept = min(count, width)
                carried = [Double](repeating: 0, count: kept * width)
                for column in 0..<width {
                    for i in 0..<min(kept, column + 1) { carried[i + column * kept] = local[i + column * count] }
                }
                carriedRows = kept
                batchStart += batch.count
            }
            for k in 0..<min(carriedRows, slotCount) {
                for column in 0..<width { reduced.append(carried[k + column * carriedRows]) }
                reducedCells.append(cell)
            }
        }
        let rows = reducedCells.count
        guard let size = MemoryBudget.bytes(doubles: rows, columnCount + 1) else {
            throw GLMError.fitFailed(message: "the QR step on \(rows) rows of the design's cells is too large")
        }
        try MemoryBudget.current().require(
            size, for: "the QR step on \(MemoryBudget.describe(count: rows)) rows of the design's cells",
            remedy: "use fewer levels or terms")
        var matrix = [Double](repeating: 0, count: rows * (columnCount + 1))
        for (position, cell) in reducedCells.enumerated() {
            let coefficients = reduced[(position * width)..<((position + 1) * width)]
            for slot in 0..<slotCount {
                let factor = coefficients[coefficients.startIndex + slot]
                guard factor != 0 else { continue }
                let patternIndex = cell * slotCount + slot
                for entry in patternStarts[patternIndex]..<patternStarts[patternIndex + 1] {
                    matrix[position + Int(patternColumns[entry]) * rows] += factor * patternValues[entry]
                }
            }
            matrix[position + columnCount * rows] = coefficients[coefficients.startIndex + slotCount]
        }
        return try LinearAlgebra.inOrderLeastSquares(
            &matrix, rows: rows, columns: columnCount, tolerance: tolerance, aliasedBefore: aliasedBefore)
    }
}
