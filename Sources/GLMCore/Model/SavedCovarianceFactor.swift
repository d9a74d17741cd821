/// The covariance of a model whose normal equations were solved as sparse (several factors of
/// many levels, `SparseBlockSolver`), as `--save` stores it when the matrix is not formed: the
/// LDLᵀ factor of XᵀWX over the non-aliased columns, in numbers that grow with the factor's
/// entries, not with p².
///
///     V = φ (L D Lᵀ)⁻¹  over `columns` (the factor's order), so  xᵀVx = Σ_j y_j² / pivot_j,
///     L y = x (forward substitution), pivot_j = D_j / φ,
///
/// with x first multiplied by `scales` where the fit scaled its columns (`ColumnScaling`).
extension SavedModel {
    public struct CovarianceFactor: Sendable, Equatable {
        /// One column of L below the diagonal: its rows (positions among `columns`, after the
        /// column's own, ascending) and values.
        public struct Column: Sendable, Equatable {
            public var rows: [Int]
            public var values: [Double]
        }

        public var columns: [String]
        public var pivots: [Double]
        public var lower: [Column]
        /// Each column's power-of-two scale; empty when all are 1.
        public var scales: [Double]

        /// The `vcov_factor` member of a model file.
        var json: JSONText {
            var members: [(String, JSONText)] = [
                ("columns", .array(columns.map { .string($0) })),
                ("pivots", .array(pivots.map { .number($0) })),
                ("lower", .array(lower.map { column in
                    .object([
                        ("rows", .array(column.rows.map { .number(Double($0)) })),
                        ("values", .array(column.values.map { .number($0) })),
                    ])
                })),
            ]
            if !scales.isEmpty { members.append(("scales", .array(scales.map { .number($0) }))) }
            return .object(members)
        }
    }
}

extension SparseCovariance {
    /// The factor over the non-aliased columns as a model file stores it (`names`: the
    /// design's column names).
    func saved(dispersion: Double, names: [String]) -> SavedModel.CovarianceFactor {
        let factor = inverse.factor
        var compact = [Int](repeating: -1, count: factor.order)
        var keptPositions: [Int] = []
        for position in 0..<factor.order where !factor.dropped[position] {
            compact[position] = keptPositions.count
            keptPositions.append(position)
        }
        let lower = keptPositions.map { position in
            var column = SavedModel.CovarianceFactor.Column(rows: [], values: [])
            for (row, value) in factor.column(position) where compact[row] >= 0 && value != 0 {
                column.rows.append(compact[row])
                column.values.append(value)
            }
            return column
        }
        let scaled = keptPositions.map { scale(factor.permutation[$0]) }
        return SavedModel.CovarianceFactor(
            columns: keptPositions.map { names[factor.permutation[$0]] },
            pivots: keptPositions.map { factor.diagonal[$0] / dispersion }, lower: lower,
            scales: scaled.allSatisfy { $0 == 1 } ? [] : scaled)
    }
}

extension SavedModel.CovarianceFactor {
    /// Reads and checks the `vcov_factor` member: the columns are the non-aliased
    /// coefficients (`kept`, each once); L's rows are after their column, in range, ascending
    /// and without repeats; every number is finite, every pivot and scale positive, except
    /// that with `undefined` (no residual degrees of freedom) the pivots may be all NaN.
    init(json value: JSONText, kept: [String], reader: ModelFileReader, undefined: Bool) throws {
        let context = "vcov_factor"
        columns = try reader.array(value, "columns").map { try reader.string($0, in: "\(context) columns") }
        var seen = Set<String>()
        for name in columns where !seen.insert(name).inserted {
            throw reader.invalid("the covariance factor lists the column '\(name)' twice")
        }
        guard seen == Set(kept), seen.count == kept.count else {
            throw reader.invalid(
                "the covariance factor is not over the non-aliased coefficients (\(kept.joined(separator: ", ")))")
        }
        let count = columns.count
        pivots = try reader.numbers(try reader.member(value, "pivots"), in: "\(context) pivots")
        guard pivots.count == count else {
            throw reader.invalid("the covariance factor has \(pivots.count) pivots for \(count) columns")
        }
        if !(undefined && pivots.allSatisfy(\.isNaN)) {
            for (name, pivot) in zip(columns, pivots) where !(pivot.isFinite && pivot > 0) {
                throw reader.invalid("the covariance factor's pivot of '\(name)' is not a positive finite number (\(pivot))")
            }
        }
        let lowerValues = try reader.array(value, "lower")
        guard lowerValues.count == count else {
            throw reader.invalid("the covariance factor has \(lowerValues.count) columns of L for \(count) columns")
        }
        let names = columns
        lower = try lowerValues.enumerated().map { position, column in
            let name = names[position]
            let rows = try reader.array(column, "rows").map {
                try reader.index($0, below: count, in: "\(context) lower of '\(name)'")
            }
            let values = try reader.numbers(try reader.member(column, "values"), in: "\(context) lower of '\(name)'")
            guard values.count == rows.count else {
                throw reader.invalid("the covariance factor's column '\(name)' has \(rows.count) rows but \(values.count) values")
            }
            for (a, b) in zip([position] + rows, rows) where b <= a {
                throw reader.invalid(
                    "the covariance factor's column '\(name)' lists a row out of order, twice or above the diagonal ('\(names[b])')")
            }
            for (row, number) in zip(rows, values) where !number.isFinite {
                throw reader.invalid("the covariance factor's entry ('\(names[row])', '\(name)') is not a finite number")
            }
            return Column(rows: rows, values: values)
        }
        scales = value["scales"] == nil ? [] : try reader.numbers(try reader.member(value, "scales"), in: "\(context) scales")
        guard scales.isEmpty || scales.count == count else {
            throw reader.invalid("the covariance factor has \(scales.count) scales for \(count) columns")
        }
        for (name, scale) in zip(columns, scales) where !(scale.isFinite && scale > 0) {
            throw reader.invalid("the covariance factor's scale of '\(name)' is not a positive finite number (\(scale))")
        }
    }
}

/// xᵀVx for a row x of a model whose covariance is stored as its sparse factor
/// (`SavedModel.CovarianceFactor`): a forward substitution from the row's entries, visiting
/// only the positions they reach, then Σ y_j² / pivot_j.
struct FactorQuadraticForm: Sendable {
    private let factor: SavedModel.CovarianceFactor
    /// Each kept column's (position among the non-aliased coefficients) place in the factor.
    private let places: [Int]
    let isFinite: Bool

    /// y, reused from row to row, and a min-heap of its places in use: the substitution
    /// visits them in order (each visit adds to later places only).
    struct Scratch {
        var y: SparseAccumulator
        private var heap: [Int] = []

        init(count: Int) {
            y = SparseAccumulator(count: count)
        }

        mutating func add(_ place: Int, _ value: Double) {
            if y.add(place, value) { push(place) }
        }

        private mutating func push(_ place: Int) {
            heap.append(place)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[parent] > heap[child] else { break }
                heap.swapAt(parent, child)
                child = parent
            }
        }

        /// The smallest place in use, its value taken out (the place is free again).
        mutating func pop() -> (place: Int, value: Double)? {
            guard let first = heap.first else { return nil }
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var smallest = parent
                    if left < heap.count, heap[left] < heap[smallest] { smallest = left }
                    if right < heap.count, heap[right] < heap[smallest] { smallest = right }
                    guard smallest != parent else { break }
                    heap.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            let value = y.take(first)
            // Every place taken: the list of places in use starts again.
            if heap.isEmpty { y.reset() }
            return (first, value)
        }
    }

    /// `keptNames`: the non-aliased coefficients in design order (checked to be the factor's
    /// columns when the model file is read).
    init(_ factor: SavedModel.CovarianceFactor, keptNames: [String]) {
        self.factor = factor
        var place: [String: Int] = [:]
        for (index, name) in factor.columns.enumerated() { place[name] = index }
        places = keptNames.map { place[$0] ?? -1 }
        isFinite = factor.pivots.allSatisfy(\.isFinite)
    }

    var count: Int { factor.columns.count }

    func value(positions: ArraySlice<Int>, values: ArraySlice<Double>, scratch: inout Scratch) -> Double {
        for (position, x) in zip(positions, values) where position < places.count && places[position] >= 0 {
            let place = places[position]
            scratch.add(place, factor.scales.isEmpty ? x : x * factor.scales[place])
        }
        var sum = 0.0
        while let (j, yj) = scratch.pop() {
            guard yj != 0 else { continue }
            sum += yj * yj / factor.pivots[j]
            let column = factor.lower[j]
            for (row, l) in zip(column.rows, column.values) { scratch.add(row, -l * yj) }
        }
        return sum
    }
}
