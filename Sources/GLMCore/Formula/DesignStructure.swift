/// The model matrix X by blocks, as a factor is: a code per row. A factor term coded by
/// indicators (treatment or SAS contrasts, or every level), alone or times numeric variables
/// or other such factors, has columns that are each non-zero on the rows of one level
/// (combination): it is held as each row's column within the term and the value there,
/// never as a column of zeros and ones. Every other column (the intercept, numeric
/// variables, bases, factors coded by sum, Helmert or polynomial contrasts) is held as values.
public struct DesignStructure: Sendable {
    /// The columns of one indicator term.
    public struct IndicatorBlock: Sendable {
        /// The term's first column in X.
        public let firstColumn: Int
        public let width: Int
        /// Each row's column within the term, or -1 where the row is zero in all of them
        /// (a baseline level).
        public let localColumns: [Int32]
        /// Each row's value in its column (the product of the term's numeric variables); nil
        /// when it is 1.
        public let multipliers: [Double]?

        public var columns: Range<Int> { firstColumn..<(firstColumn + width) }

        /// The row's column in X and its value there, or nil when the row is zero here.
        @inline(__always) func entry(row: Int) -> (column: Int, value: Double)? {
            let local = Int(localColumns[row])
            guard local >= 0 else { return nil }
            return (firstColumn + local, multipliers?[row] ?? 1)
        }
    }

    public let columnCount: Int
    /// The indicator terms, in column order.
    public let blocks: [IndicatorBlock]
    /// The other columns of X, in column order, and their values (`rowCount` each).
    public let denseColumns: [Int]
    public let denseValues: [[Double]]

    /// One column of X as values.
    func column(_ column: Int, rowCount: Int) -> [Double] {
        if let index = denseColumns.firstIndex(of: column), index < denseValues.count {
            return denseValues[index]
        }
        var values = [Double](repeating: 0, count: rowCount)
        guard let block = blocks.first(where: { $0.columns.contains(column) }) else { return values }
        let local = Int32(truncatingIfNeeded: column - block.firstColumn)
        for row in 0..<min(rowCount, block.localColumns.count) where block.localColumns[row] == local {
            values[row] = block.multipliers?[row] ?? 1
        }
        return values
    }

    /// Calls `body(column, value)` for each non-zero entry of one row of X: the dense
    /// columns' non-zero values, then at most one entry per indicator block (the row-wise
    /// reading of X for code that works a row at a time, such as GEE's clusters).
    @inline(__always) func forEachEntry(row: Int, _ body: (_ column: Int, _ value: Double) -> Void) {
        for (index, column) in denseColumns.enumerated() where index < denseValues.count && row < denseValues[index].count {
            let value = denseValues[index][row]
            if value != 0 { body(column, value) }
        }
        for block in blocks where row < block.localColumns.count {
            if let (column, value) = block.entry(row: row), value != 0 { body(column, value) }
        }
    }

    /// Σ xᵢⱼ² of every column: the scale of each coefficient's effect on η.
    func columnSumsOfSquares(rowCount: Int) -> [Double] {
        var sums = [Double](repeating: 0, count: columnCount)
        for (index, column) in denseColumns.enumerated() where index < denseValues.count {
            for value in denseValues[index] { sums[column] += value * value }
        }
        for block in blocks {
            for row in 0..<min(rowCount, block.localColumns.count) {
                guard let (column, value) = block.entry(row: row) else { continue }
                sums[column] += value * value
            }
        }
        return sums
    }

    /// The structure of some columns (in the given order, each block's columns staying
    /// together in order, as whole terms and single dropped columns do): blocks keep the rows
    /// whose column is selected, renumbered.
    func selecting(columns selected: [Int]) -> DesignStructure {
        var newIndex = [Int](repeating: -1, count: columnCount)
        for (position, column) in selected.enumerated() where column >= 0 && column < columnCount {
            newIndex[column] = position
        }
        var denseColumns: [Int] = []
        var denseValues: [[Double]] = []
        for (index, column) in self.denseColumns.enumerated() where newIndex[column] >= 0 && index < self.denseValues.count {
            denseColumns.append(newIndex[column])
            denseValues.append(self.denseValues[index])
        }
        var blocks: [IndicatorBlock] = []
        for block in self.blocks {
            let keptLocals = block.columns.filter { newIndex[$0] >= 0 }
            guard let first = keptLocals.first.map({ newIndex[$0] }) else { continue }
            // Renumbered within the block: a dropped column's rows become zero rows.
            var local = [Int32](repeating: -1, count: block.width)
            for column in keptLocals {
                local[column - block.firstColumn] = Int32(truncatingIfNeeded: newIndex[column] - first)
            }
            let codes = block.localColumns.map { $0 >= 0 && Int($0) < local.count ? local[Int($0)] : -1 }
            blocks.append(IndicatorBlock(
                firstColumn: first, width: keptLocals.count, localColumns: codes, multipliers: block.multipliers))
        }
        return DesignStructure(columnCount: selected.count, blocks: blocks, denseColumns: denseColumns, denseValues: denseValues)
    }
}
