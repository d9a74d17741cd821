import Foundation

/// The distinct rows of a structured design: rows whose design rows are equal (the same
/// levels of every factor term, the same numbers) form one cell. XᵀWX = Σ over cells of
/// (the cell's summed weight) x_c x_cᵀ, so QR of the cells' rows, each scaled by the square
/// root of its summed weight, has the R of QR on all rows: R's in-order aliasing rule can
/// decide on a design of factor terms too large to build as values (InstEval's
/// instructor × student-age interaction: 4,513 columns on 73,421 rows, but 4,912 cells).
struct DistinctRows: Sendable {
    /// Each row's cell.
    let cellOfRow: [Int32]
    /// Each cell's non-zero entries, as (column, value), cell after cell.
    let entryColumns: [Int32]
    let entryValues: [Double]
    /// Where each cell's entries start in the two arrays above (one more than the cells).
    let entryStarts: [Int]
    let columnCount: Int

    var cellCount: Int { entryStarts.count - 1 }

    /// The cells of `structure`'s first `rowCount` rows, or nil when there are more than
    /// `maximumCells` (then QR on them would cost nearly what QR on X does).
    init?(_ structure: DesignStructure, rowCount: Int, maximumCells: Int) {
        var cellOfKey: [[UInt64]: Int32] = [:]
        var cellOfRow = [Int32](repeating: 0, count: rowCount)
        var entryColumns: [Int32] = []
        var entryValues: [Double] = []
        var entryStarts = [0]
        var key: [UInt64] = []
        var columns: [Int32] = []
        var values: [Double] = []
        for row in 0..<rowCount {
            key.removeAll(keepingCapacity: true)
            columns.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            structure.forEachEntry(row: row) { column, value in
                key.append(UInt64(truncatingIfNeeded: column))
                key.append(value.bitPattern)
                columns.append(Int32(truncatingIfNeeded: column))
                values.append(value)
            }
            if let cell = cellOfKey[key] {
                cellOfRow[row] = cell
                continue
            }
            let cellCount = entryStarts.count - 1
            guard cellCount < maximumCells, let cell = Int32(exactly: cellCount) else { return nil }
            cellOfKey[key] = cell
            cellOfRow[row] = cell
            entryColumns.append(contentsOf: columns)
            entryValues.append(contentsOf: values)
            entryStarts.append(entryColumns.count)
        }
        self.cellOfRow = cellOfRow
        self.entryColumns = entryColumns
        self.entryValues = entryValues
        self.entryStarts = entryStarts
        self.columnCount = structure.columnCount
    }

    /// The weighted least-squares step on the cells: each cell's working weights summed and
    /// its working responses averaged by them, then `LinearAlgebra.inOrderLeastSquares`.
    func leastSquares(
        workingWeights: UnsafeMutableBufferPointer<Double>, workingResponse: (Int) -> Double, tolerance: Double
    ) throws -> LeastSquaresSolution {
        var weightSums = [Double](repeating: 0, count: cellCount)
        var responseSums = [Double](repeating: 0, count: cellCount)
        for row in 0..<min(cellOfRow.count, workingWeights.count) where workingWeights[row] > 0 {
            let cell = Int(cellOfRow[row])
            weightSums[cell] += workingWeights[row]
            responseSums[cell] += workingWeights[row] * workingResponse(row)
        }
        let used = (0..<cellCount).filter { weightSums[$0] > 0 }
        let rows = used.count
        guard let size = MemoryBudget.bytes(doubles: rows, columnCount + 1) else {
            throw GLMError.fitFailed(message: "the QR step on \(rows) distinct rows is too large")
        }
        try MemoryBudget.current().require(
            size, for: "the QR step on the design's \(MemoryBudget.describe(count: rows)) distinct rows",
            remedy: "use fewer levels or terms")
        var matrix = [Double](repeating: 0, count: rows * (columnCount + 1))
        for (position, cell) in used.enumerated() {
            let root = weightSums[cell].squareRoot()
            for entry in entryStarts[cell]..<entryStarts[cell + 1] {
                matrix[position + Int(entryColumns[entry]) * rows] = root * entryValues[entry]
            }
            matrix[position + columnCount * rows] = root * (responseSums[cell] / weightSums[cell])
        }
        return try LinearAlgebra.inOrderLeastSquares(&matrix, rows: rows, columns: columnCount, tolerance: tolerance)
    }
}
