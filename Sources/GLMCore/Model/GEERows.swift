/// The rows of a GEE's design in cluster order, each as its non-zero entries.
///
/// The estimating equations read X a cluster at a time, row by row. A factor term held as
/// codes (`DesignStructure`) gives one entry per row instead of a column of zeros per level,
/// so a 2,000-level factor costs one entry a row, not 2,000; a dense design gives its
/// non-zero values. The cross products built from these rows are p × p (as GEE's robust
/// covariance is anyway), never n × p.
struct GEERows: Sendable {
    /// Row `position` (in cluster order) holds entries `starts[position]..<starts[position + 1]`.
    let starts: [Int]
    /// Each entry's coefficient: its position among the estimated (kept) columns.
    let columns: [Int32]
    /// Each entry's value in its (scaled) column.
    let values: [Double]

    /// - Parameters:
    ///   - order: the design rows in cluster order.
    ///   - keptPosition: each design column's position among the estimated columns, or -1
    ///     for an aliased column (its entries are left out).
    ///   - scales: the factor each estimated column is multiplied by.
    init(structure: DesignStructure, order: [Int], keptPosition: [Int], scales: [Double]) {
        var starts = [Int]()
        starts.reserveCapacity(order.count + 1)
        starts.append(0)
        var columns = [Int32]()
        var values = [Double]()
        if let capacity = structure.entryCount(rowCount: order.count) {
            columns.reserveCapacity(capacity)
            values.reserveCapacity(capacity)
        }
        for row in order {
            structure.forEachEntry(row: row) { column, value in
                guard column >= 0, column < keptPosition.count else { return }
                let position = keptPosition[column]
                guard position >= 0, position < scales.count else { return }
                columns.append(Int32(truncatingIfNeeded: position))
                values.append(value * scales[position])
            }
            starts.append(columns.count)
        }
        self.starts = starts
        self.columns = columns
        self.values = values
    }

    /// The bytes the rows of `rowCount` design rows take at most: one entry per dense column
    /// and per indicator block on each row, and a contrast term's non-zeros of C.
    static func bytes(structure: DesignStructure, rowCount: Int) -> Int? {
        guard let entries = structure.entryCount(rowCount: rowCount) else { return nil }
        return MemoryBudget.sum(MemoryBudget.bytes(of: 12, times: [entries]), MemoryBudget.bytes(doubles: rowCount + 1))
    }

    /// The largest |x| of each estimated column (before scaling).
    static func largestMagnitudes(structure: DesignStructure, rowCount: Int, keptPosition: [Int], count: Int) -> [Double] {
        var largest = [Double](repeating: 0, count: count)
        for row in 0..<rowCount {
            structure.forEachEntry(row: row) { column, value in
                guard column >= 0, column < keptPosition.count else { return }
                let position = keptPosition[column]
                guard position >= 0, position < count else { return }
                largest[position] = Swift.max(largest[position], abs(value))
            }
        }
        return largest
    }

    /// x · beta for the row at `position`, its entries in order.
    @inline(__always) func dot(_ position: Int, _ beta: [Double]) -> Double {
        var sum = 0.0
        for entry in starts[position]..<starts[position + 1] { sum += values[entry] * beta[Int(columns[entry])] }
        return sum
    }
}

/// The coefficients the rows of one cluster touch, numbered locally 0..<count, so that the
/// cluster's algebra is done on a dense size × count block and added into the p × p sums
/// at those coefficients only.
struct ClusterColumns {
    /// Each coefficient's local number, or -1 when no row of the current cluster touches it.
    private(set) var localIndex: [Int]
    /// The coefficients touched, by local number.
    private(set) var touched: [Int] = []

    init(coefficientCount: Int) {
        localIndex = [Int](repeating: -1, count: coefficientCount)
    }

    var count: Int { touched.count }

    /// Numbers the coefficients of the rows at `range` (after forgetting the last cluster's).
    mutating func gather(_ rows: GEERows, _ range: Range<Int>) {
        for coefficient in touched { localIndex[coefficient] = -1 }
        touched.removeAll(keepingCapacity: true)
        for position in range {
            for entry in rows.starts[position]..<rows.starts[position + 1] {
                let coefficient = Int(rows.columns[entry])
                if localIndex[coefficient] < 0 {
                    localIndex[coefficient] = touched.count
                    touched.append(coefficient)
                }
            }
        }
    }
}
