/// The model matrix X by blocks, as a factor is: a code per row. A factor term coded by
/// indicators (treatment or SAS contrasts, or every level), alone or times numeric variables
/// or other such factors, has columns that are each non-zero on the rows of one level
/// (combination): it is held as each row's column within the term and the value there,
/// never as a column of zeros and ones. A factor term coded by a contrast matrix (sum,
/// Helmert, polynomial), alone or times numeric variables, is held as each row's level and
/// the matrix (`ContrastBlock`). Every other column (the intercept, numeric variables, bases)
/// is held as values.
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

    /// The columns of one factor term coded by a contrast matrix C (levels × width): row i's
    /// values are mᵢ·C[levelᵢ, ·]. They are not one non-zero per row, so they are never
    /// eliminated: they are columns of the dense remainder, added up per level and then
    /// multiplied by C, never held as n × width values.
    public struct ContrastBlock: Sendable {
        /// The term's first column in X.
        public let firstColumn: Int
        public let width: Int
        /// Each row's level, or -1 where the row is zero in every column (a missing code).
        public let levels: [Int32]
        /// Each row's multiplier (the product of the term's numeric variables); nil when 1.
        public let multipliers: [Double]?
        public let levelCount: Int
        /// C, row-major (`levelCount × width`): shared by every row.
        public let contrasts: [Double]

        public init(firstColumn: Int, width: Int, levels: [Int32], multipliers: [Double]?, levelCount: Int, contrasts: [Double]) {
            self.firstColumn = firstColumn
            self.width = width
            self.levels = levels
            self.multipliers = multipliers
            self.levelCount = levelCount
            self.contrasts = contrasts
        }

        public var columns: Range<Int> { firstColumn..<(firstColumn + width) }

        /// The row's level and multiplier, or nil when the row is zero here.
        @inline(__always) func entry(row: Int) -> (level: Int, value: Double)? {
            guard row < levels.count else { return nil }
            let level = Int(levels[row])
            guard level >= 0, level < levelCount else { return nil }
            return (level, multipliers?[row] ?? 1)
        }

        /// C's non-zero entries by level (column within the term, value): sum and Helmert
        /// rows are mostly zeros, so the per-level products cost their non-zeros only.
        func nonZeroRows() -> [[(column: Int, value: Double)]] {
            (0..<levelCount).map { level in
                (0..<width).compactMap { column in
                    let value = contrasts[level * width + column]
                    return value != 0 ? (column, value) : nil
                }
            }
        }

        /// The block restricted to some of its columns (within the term, in order) starting at
        /// `firstColumn`: the same codes, C's columns selected.
        func selecting(locals: [Int], firstColumn: Int) -> ContrastBlock {
            var selected = [Double](repeating: 0, count: levelCount * locals.count)
            for level in 0..<levelCount {
                for (position, local) in locals.enumerated() {
                    selected[level * locals.count + position] = contrasts[level * width + local]
                }
            }
            return ContrastBlock(
                firstColumn: firstColumn, width: locals.count, levels: levels, multipliers: multipliers,
                levelCount: levelCount, contrasts: selected)
        }

        /// One column (within the term) as values.
        func values(local: Int, rowCount: Int) -> [Double] {
            var values = [Double](repeating: 0, count: rowCount)
            for row in 0..<rowCount {
                guard let (level, value) = entry(row: row) else { continue }
                values[row] = value * contrasts[level * width + local]
            }
            return values
        }
    }

    public let columnCount: Int
    /// The indicator terms, in column order.
    public let blocks: [IndicatorBlock]
    /// The other columns of X, in column order, and their values (`rowCount` each).
    public let denseColumns: [Int]
    public let denseValues: [[Double]]
    /// The contrast-coded terms held as codes, in column order (their columns are neither
    /// in `blocks` nor in `denseColumns`).
    public let contrastBlocks: [ContrastBlock]

    public init(
        columnCount: Int, blocks: [IndicatorBlock], denseColumns: [Int], denseValues: [[Double]],
        contrastBlocks: [ContrastBlock] = []
    ) {
        self.columnCount = columnCount
        self.blocks = blocks
        self.denseColumns = denseColumns
        self.denseValues = denseValues
        self.contrastBlocks = contrastBlocks
    }

    /// One column of X as values.
    func column(_ column: Int, rowCount: Int) -> [Double] {
        if let index = denseColumns.firstIndex(of: column), index < denseValues.count {
            return denseValues[index]
        }
        if let block = contrastBlocks.first(where: { $0.columns.contains(column) }) {
            return block.values(local: column - block.firstColumn, rowCount: rowCount)
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
    /// columns' non-zero values, at most one entry per indicator block, then a contrast
    /// term's non-zero entries of its level's row of C (the row-wise
    /// reading of X for code that works a row at a time, such as GEE's clusters).
    @inline(__always) func forEachEntry(row: Int, _ body: (_ column: Int, _ value: Double) -> Void) {
        for (index, column) in denseColumns.enumerated() where index < denseValues.count && row < denseValues[index].count {
            let value = denseValues[index][row]
            if value != 0 { body(column, value) }
        }
        for block in blocks where row < block.localColumns.count {
            if let (column, value) = block.entry(row: row), value != 0 { body(column, value) }
        }
        for block in contrastBlocks {
            guard let (level, multiplier) = block.entry(row: row) else { continue }
            let first = level * block.width
            for local in 0..<block.width where block.contrasts[first + local] != 0 {
                body(block.firstColumn + local, multiplier * block.contrasts[first + local])
            }
        }
    }

    /// How many entries `forEachEntry` gives over the first `rowCount` rows at most (what a
    /// row-wise copy of X holds), or nil when that overflows.
    func entryCount(rowCount: Int) -> Int? {
        var total = denseColumns.count.multipliedReportingOverflow(by: rowCount)
        func add(_ count: Int) {
            let sum = total.partialValue.addingReportingOverflow(count)
            total = (sum.partialValue, total.overflow || sum.overflow)
        }
        for block in blocks { add(block.localColumns.prefix(rowCount).count { $0 >= 0 }) }
        for block in contrastBlocks {
            let nonZeros = block.nonZeroRows().map(\.count)
            for row in 0..<min(rowCount, block.levels.count) {
                if let (level, _) = block.entry(row: row) { add(nonZeros[level]) }
            }
        }
        return total.overflow ? nil : total.partialValue
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
        for block in contrastBlocks {
            // Σ m² per level, then Σₗ sₗ C[l, j]².
            var levelSums = [Double](repeating: 0, count: block.levelCount)
            for row in 0..<min(rowCount, block.levels.count) {
                guard let (level, value) = block.entry(row: row) else { continue }
                levelSums[level] += value * value
            }
            for level in 0..<block.levelCount {
                for local in 0..<block.width {
                    let c = block.contrasts[level * block.width + local]
                    sums[block.firstColumn + local] += levelSums[level] * c * c
                }
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
        // A contrast term keeps its codes when its kept columns stay together in order (a
        // whole term, or a term less a dropped column); otherwise its kept columns become values.
        var contrastBlocks: [ContrastBlock] = []
        for block in self.contrastBlocks {
            let kept = block.columns.filter { newIndex[$0] >= 0 }
            guard let first = kept.first.map({ newIndex[$0] }) else { continue }
            if kept.enumerated().allSatisfy({ newIndex[$0.element] == first + $0.offset }) {
                contrastBlocks.append(block.selecting(locals: kept.map { $0 - block.firstColumn }, firstColumn: first))
            } else {
                for column in kept {
                    denseColumns.append(newIndex[column])
                    denseValues.append(block.values(local: column - block.firstColumn, rowCount: block.levels.count))
                }
            }
        }
        return DesignStructure(
            columnCount: selected.count, blocks: blocks, denseColumns: denseColumns, denseValues: denseValues,
            contrastBlocks: contrastBlocks)
    }
}
