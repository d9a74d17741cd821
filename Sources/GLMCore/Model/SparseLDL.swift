import CAMD
import Foundation

/// A symmetric matrix by its non-zero entries: compressed columns holding both triangles,
/// rows ascending in each column.
struct SparseSymmetric: Sendable {
    let order: Int
    let columnStarts: [Int]
    let rowIndices: [Int32]
    let values: [Double]

    /// From entries of the upper triangle (row ≤ column; a repeated entry is added up).
    init(order: Int, upperEntries: [(row: Int, column: Int, value: Double)]) {
        self.order = order
        var counts = [Int](repeating: 0, count: order + 1)
        for entry in upperEntries {
            counts[entry.column + 1] += 1
            if entry.row != entry.column { counts[entry.row + 1] += 1 }
        }
        for index in 0..<order { counts[index + 1] += counts[index] }
        var next = counts
        var rows = [Int32](repeating: 0, count: counts[order])
        var values = [Double](repeating: 0, count: counts[order])
        func place(_ row: Int, _ column: Int, _ value: Double) {
            rows[next[column]] = Int32(truncatingIfNeeded: row)
            values[next[column]] = value
            next[column] += 1
        }
        for entry in upperEntries {
            place(entry.row, entry.column, entry.value)
            if entry.row != entry.column { place(entry.column, entry.row, entry.value) }
        }
        // Rows ascending, repeats added up.
        var starts = [0]
        var sortedRows: [Int32] = []
        var sortedValues: [Double] = []
        sortedRows.reserveCapacity(rows.count)
        sortedValues.reserveCapacity(rows.count)
        for column in 0..<order {
            let range = counts[column]..<counts[column + 1]
            let order = range.sorted { rows[$0] < rows[$1] }
            for position in order {
                if let last = sortedRows.last, sortedRows.count > starts[column], last == rows[position] {
                    sortedValues[sortedValues.count - 1] += values[position]
                } else {
                    sortedRows.append(rows[position])
                    sortedValues.append(values[position])
                }
            }
            starts.append(sortedRows.count)
        }
        columnStarts = starts
        rowIndices = sortedRows
        self.values = sortedValues
    }

    private init(order: Int, columnStarts: [Int], rowIndices: [Int32], values: [Double]) {
        self.order = order
        self.columnStarts = columnStarts
        self.rowIndices = rowIndices
        self.values = values
    }

    /// The same pattern with other values (one per stored entry).
    func with(values: [Double]) -> SparseSymmetric {
        precondition(values.count == self.values.count)
        return SparseSymmetric(order: order, columnStarts: columnStarts, rowIndices: rowIndices, values: values)
    }

    /// Where (row, column) is stored, by binary search in the column; nil off the pattern.
    @inline(__always) func slot(_ row: Int, _ column: Int) -> Int? {
        var low = columnStarts[column], high = columnStarts[column + 1]
        let target = Int32(truncatingIfNeeded: row)
        while low < high {
            let middle = (low + high) / 2
            if rowIndices[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low < columnStarts[column + 1] && rowIndices[low] == target ? low : nil
    }

    func diagonal() -> [Double] {
        (0..<order).map { column in
            let range = columnStarts[column]..<columnStarts[column + 1]
            return range.first { Int(rowIndices[$0]) == column }.map { values[$0] } ?? 0
        }
    }

    /// A column as (row, value) pairs.
    func column(_ column: Int) -> [(row: Int, value: Double)] {
        (columnStarts[column]..<columnStarts[column + 1]).map { (Int(rowIndices[$0]), values[$0]) }
    }

    /// AMD's fill-reducing order of the columns in `among` (a permutation of them).
    func minimumDegreeOrder(among columns: [Int]) throws -> [Int] {
        guard columns.count > 1 else { return columns }
        var local = [Int](repeating: -1, count: order)
        for (position, column) in columns.enumerated() { local[column] = position }
        var starts: [Int32] = [0]
        var rows: [Int32] = []
        for column in columns {
            for position in columnStarts[column]..<columnStarts[column + 1] {
                let row = local[Int(rowIndices[position])]
                if row >= 0 { rows.append(Int32(truncatingIfNeeded: row)) }
            }
            // Rows stay ascending within the subset: `local` keeps the order of `columns`
            // only when they are ascending, which the caller's lists are.
            guard let end = Int32(exactly: rows.count) else {
                throw GLMError.fitFailed(message: "a sparse matrix of \(rows.count) entries is too large for AMD's 32-bit indices")
            }
            starts.append(end)
        }
        let n = try BlockSolver.lapackOrder(columns.count)
        var permutation = [Int32](repeating: 0, count: columns.count)
        let status = amd_order(n, starts, rows, &permutation, nil, nil)
        guard status == glm_amd_ok || status == glm_amd_ok_but_jumbled else {
            throw GLMError.fitFailed(message: "AMD could not order the sparse normal equations (status \(status))")
        }
        return permutation.map { columns[Int($0)] }
    }
}

/// LDLᵀ of a symmetric positive semi-definite sparse matrix in a given order (up-looking, one
/// row of L at a time along the elimination tree). A pivot below `tolerance` times its
/// column's diagonal drops the column: it is left out as if it were not in the matrix, the
/// aliased column of that order. `selectedInverse` then gives the entries of the inverse
/// (over the kept columns) wherever L has an entry, every diagonal one included.
struct SparseLDL: Sendable {
    let order: Int
    /// The matrix's column at each position, and each column's position.
    let permutation: [Int]
    let position: [Int]
    /// L (unit lower, strictly below the diagonal) by columns of positions; `counts` entries
    /// of each column are used.
    let columnStarts: [Int]
    private(set) var counts: [Int]
    private(set) var rows: [Int32]
    private(set) var values: [Double]
    /// D by position; 0 where dropped.
    private(set) var diagonal: [Double]
    private(set) var dropped: [Bool]

    /// - Parameters:
    ///   - forced: matrix columns to leave out whatever their pivot.
    init(_ matrix: SparseSymmetric, permutation: [Int], tolerance: Double, forced: Set<Int> = []) throws {
        let n = matrix.order
        order = n
        self.permutation = permutation
        var position = [Int](repeating: 0, count: n)
        for (index, column) in permutation.enumerated() { position[column] = index }
        self.position = position
        // The upper triangle in the new order: column k holds rows i ≤ k.
        var upperStarts = [Int](repeating: 0, count: n + 1)
        for k in 0..<n {
            let column = permutation[k]
            var count = 0
            for entry in matrix.columnStarts[column]..<matrix.columnStarts[column + 1]
            where position[Int(matrix.rowIndices[entry])] <= k { count += 1 }
            upperStarts[k + 1] = upperStarts[k] + count
        }
        var upperRows = [Int](repeating: 0, count: upperStarts[n])
        var upperValues = [Double](repeating: 0, count: upperStarts[n])
        for k in 0..<n {
            let column = permutation[k]
            var next = upperStarts[k]
            for entry in matrix.columnStarts[column]..<matrix.columnStarts[column + 1] {
                let row = position[Int(matrix.rowIndices[entry])]
                guard row <= k else { continue }
                upperRows[next] = row
                upperValues[next] = matrix.values[entry]
                next += 1
            }
        }
        let (parent, columnCounts) = SparseLDL.eliminationTree(upperStarts: upperStarts, upperRows: upperRows, order: n)
        var flag = [Int](repeating: -1, count: n)
        var starts = [Int](repeating: 0, count: n + 1)
        for k in 0..<n {
            let (sum, overflow) = starts[k].addingReportingOverflow(columnCounts[k])
            guard !overflow else { throw GLMError.fitFailed(message: "the sparse factor's size overflows") }
            starts[k + 1] = sum
        }
        let entries = starts[n]
        try MemoryBudget.current().require(
            MemoryBudget.bytes(of: 20, times: [entries]),
            for: "the sparse Cholesky factor of \(MemoryBudget.describe(count: n)) coefficients "
                + "(\(MemoryBudget.describe(count: entries)) entries after fill-in)",
            remedy: "use fewer levels, or factors whose levels meet fewer levels of the others")
        columnStarts = starts
        var counts = [Int](repeating: 0, count: n)
        var rows = [Int32](repeating: 0, count: entries)
        var values = [Double](repeating: 0, count: entries)
        var diagonal = [Double](repeating: 0, count: n)
        var dropped = [Bool](repeating: false, count: n)
        var forcedAt = [Bool](repeating: false, count: n)
        for column in forced where column >= 0 && column < n { forcedAt[position[column]] = true }
        var y = [Double](repeating: 0, count: n)
        var pattern = [Int](repeating: 0, count: n)
        var stored = [Int]()
        for k in 0..<n {
            // The pattern of row k of L: the elimination tree's paths from A's entries.
            var top = n
            flag[k] = k + n  // distinct from the symbolic pass's marks
            var original = 0.0
            for entry in upperStarts[k]..<upperStarts[k + 1] {
                var i = upperRows[entry]
                y[i] += upperValues[entry]
                if i == k { original = upperValues[entry]; continue }
                var length = 0
                while flag[i] != k + n {
                    pattern[length] = i
                    length += 1
                    flag[i] = k + n
                    i = parent[i]
                }
                while length > 0 {
                    top -= 1
                    length -= 1
                    pattern[top] = pattern[length]
                }
            }
            var pivot = y[k]
            y[k] = 0
            stored.removeAll(keepingCapacity: true)
            for index in top..<n {
                let i = pattern[index]
                let yi = y[i]
                y[i] = 0
                guard !dropped[i] else { continue }
                let end = starts[i] + counts[i]
                for entry in starts[i]..<end { y[Int(rows[entry])] -= values[entry] * yi }
                let l = yi / diagonal[i]
                pivot -= l * yi
                rows[end] = Int32(truncatingIfNeeded: k)
                values[end] = l
                counts[i] += 1
                stored.append(end)
            }
            if forcedAt[k] || !(pivot > 0) || pivot < tolerance * original || !pivot.isFinite {
                dropped[k] = true
                diagonal[k] = 0
                // The row's entries stay in the pattern, as zeros: the column is not there.
                for entry in stored { values[entry] = 0 }
            } else {
                diagonal[k] = pivot
            }
        }
        self.counts = counts
        self.rows = rows
        self.values = values
        self.diagonal = diagonal
        self.dropped = dropped
    }

    /// The elimination tree and each column's count of L below the diagonal (Liu's
    /// algorithm), from the upper triangle in the factor's order.
    static func eliminationTree(upperStarts: [Int], upperRows: [Int], order n: Int) -> (parent: [Int], counts: [Int]) {
        var parent = [Int](repeating: -1, count: n)
        var flag = [Int](repeating: -1, count: n)
        var counts = [Int](repeating: 0, count: n)
        for k in 0..<n {
            flag[k] = k
            for entry in upperStarts[k]..<upperStarts[k + 1] {
                var i = upperRows[entry]
                while i < k && flag[i] != k {
                    if parent[i] == -1 { parent[i] = k }
                    counts[i] += 1
                    flag[i] = k
                    i = parent[i]
                }
            }
        }
        return (parent, counts)
    }

    /// Each column's count of L below the diagonal for a matrix's pattern in an order, before
    /// any numbers: what the factor will cost (Σ count², in multiply-adds).
    static func columnCounts(_ matrix: SparseSymmetric, permutation: [Int]) -> [Int] {
        let n = matrix.order
        var position = [Int](repeating: 0, count: n)
        for (index, column) in permutation.enumerated() { position[column] = index }
        var upperStarts = [0]
        var upperRows: [Int] = []
        for k in 0..<n {
            let column = permutation[k]
            for entry in matrix.columnStarts[column]..<matrix.columnStarts[column + 1] {
                let row = position[Int(matrix.rowIndices[entry])]
                if row <= k { upperRows.append(row) }
            }
            upperStarts.append(upperRows.count)
        }
        return eliminationTree(upperStarts: upperStarts, upperRows: upperRows, order: n).counts
    }

    /// The matrix columns that were dropped.
    var droppedColumns: [Int] { (0..<order).filter { dropped[$0] }.map { permutation[$0] } }

    /// The solution over the kept columns of A x = b (b and x in the matrix's order; zero at
    /// the dropped columns).
    func solve(_ rightHandSide: [Double]) -> [Double] {
        solve(interleaved: rightHandSide, count: 1)
    }

    /// `solve` for `count` right-hand sides at once, interleaved (entry i of side k at
    /// i·count + k, in the matrix's order, as the result): one sweep over L serves them all.
    func solve(interleaved rightHandSides: [Double], count: Int) -> [Double] {
        var x = [Double](repeating: 0, count: order * count)
        for (index, column) in permutation.enumerated() {
            for k in 0..<count { x[index * count + k] = rightHandSides[column * count + k] }
        }
        x.withUnsafeMutableBufferPointer { x in
            for j in 0..<order {
                let base = j * count
                if dropped[j] {
                    for k in 0..<count { x[base + k] = 0 }
                    continue
                }
                // A sparse right-hand side (a unit vector) leaves most of the forward sweep at 0.
                guard (0..<count).contains(where: { x[base + $0] != 0 }) else { continue }
                for entry in columnStarts[j]..<(columnStarts[j] + counts[j]) {
                    let value = values[entry]
                    guard value != 0 else { continue }
                    let target = Int(rows[entry]) * count
                    for k in 0..<count { x[target + k] -= value * x[base + k] }
                }
            }
            for j in 0..<order {
                let base = j * count
                for k in 0..<count { x[base + k] = dropped[j] ? 0 : x[base + k] / diagonal[j] }
            }
            for j in stride(from: order - 1, through: 0, by: -1) where !dropped[j] {
                let base = j * count
                for entry in columnStarts[j]..<(columnStarts[j] + counts[j]) {
                    let value = values[entry]
                    guard value != 0 else { continue }
                    let source = Int(rows[entry]) * count
                    for k in 0..<count { x[base + k] -= value * x[source + k] }
                }
            }
        }
        var result = [Double](repeating: 0, count: order * count)
        for (index, column) in permutation.enumerated() {
            for k in 0..<count { result[column * count + k] = x[index * count + k] }
        }
        return result
    }

    /// The entries of A⁻¹ (over the kept columns) on L's pattern and the diagonal, by
    /// Takahashi's recurrences from the last column back: Z_ij = −Σ_k Z_ik L_kj (k in column
    /// j of L), Z_jj = 1/D_j − Σ_k L_kj Z_kj. Every Z_ik needed lies on L's pattern (its
    /// columns nest along the elimination tree).
    func selectedInverse() -> SelectedInverse {
        var inverseValues = [Double](repeating: 0, count: values.count)
        var inverseDiagonal = [Double](repeating: .nan, count: order)
        var scratch = [Double](repeating: 0, count: order)
        for j in stride(from: order - 1, through: 0, by: -1) where !dropped[j] {
            let range = columnStarts[j]..<(columnStarts[j] + counts[j])
            // Z_ij for each i of the column: Σ over the column's k of L_kj Z_ik.
            for a in range {
                let i = Int(rows[a])
                guard !dropped[i] else { continue }
                var sum = 0.0
                for b in range {
                    let l = values[b]
                    guard l != 0 else { continue }
                    let k = Int(rows[b])
                    sum += l * inverseEntry(i, k, values: inverseValues, diagonal: inverseDiagonal)
                }
                scratch[i] = -sum
            }
            var diagonalValue = 1 / diagonal[j]
            for a in range {
                let i = Int(rows[a])
                let z = dropped[i] ? 0 : scratch[i]
                inverseValues[a] = z
                diagonalValue -= values[a] * z
            }
            inverseDiagonal[j] = diagonalValue
        }
        return SelectedInverse(factor: self, values: inverseValues, diagonal: inverseDiagonal)
    }

    /// Z at positions (i, k), both after the column being worked on: on L's pattern.
    private func inverseEntry(_ i: Int, _ k: Int, values inverseValues: [Double], diagonal: [Double]) -> Double {
        if i == k { return diagonal[i] }
        return lookup(row: max(i, k), column: min(i, k)).map { inverseValues[$0] } ?? 0
    }

    /// A column of L below the diagonal (positions, values; zeros where a row was dropped).
    func column(_ position: Int) -> [(row: Int, value: Double)] {
        (columnStarts[position]..<(columnStarts[position] + counts[position])).map { (Int(rows[$0]), values[$0]) }
    }

    /// Where L holds (row, column) of positions, by binary search in the column.
    func lookup(row: Int, column: Int) -> Int? {
        var low = columnStarts[column], high = columnStarts[column] + counts[column]
        let target = Int32(truncatingIfNeeded: row)
        while low < high {
            let middle = (low + high) / 2
            if rows[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low < columnStarts[column] + counts[column] && rows[low] == target ? low : nil
    }
}

/// A⁻¹ on the pattern of its LDLᵀ factor (`SparseLDL.selectedInverse`); any other entry by
/// one solve of a column.
struct SelectedInverse: Sendable {
    let factor: SparseLDL
    let values: [Double]
    /// By position; NaN where the column was dropped.
    let diagonal: [Double]

    /// The entry for two matrix columns (NaN when one was dropped).
    func entry(_ first: Int, _ second: Int) -> Double {
        let (a, b) = (factor.position[first], factor.position[second])
        if factor.dropped[a] || factor.dropped[b] { return .nan }
        if a == b { return diagonal[a] }
        if let index = factor.lookup(row: max(a, b), column: min(a, b)) { return values[index] }
        var unit = [Double](repeating: 0, count: factor.order)
        unit[second] = 1
        return factor.solve(unit)[first]
    }
}
