import Foundation

/// Orthogonal polynomials as R's `poly()` and `contr.poly()` make them: by the three-term
/// recurrence whose coefficients R keeps (`alpha`, `norm2`), so that new data is evaluated
/// exactly as `predict(poly(...))` evaluates it.
enum OrthogonalPolynomial {
    /// The recurrence coefficients of `poly(x, degree)`: `alpha` (degree values) and
    /// `norm2` (degree + 2 values, starting 1, n), as R's `attr(, "coefs")`.
    static func coefficients(x: [Double], degree: Int) -> (alpha: [Double], norm2: [Double]) {
        let n = Double(x.count)
        let mean = x.reduce(0, +) / n
        let centred = x.map { $0 - mean }
        var alpha: [Double] = []
        var norm2: [Double] = [1, n]
        var previous = [Double](repeating: 0, count: x.count)
        var current = [Double](repeating: 1, count: x.count)
        for k in 0..<degree {
            var weighted = 0.0
            for row in x.indices { weighted += centred[row] * current[row] * current[row] }
            let alphaK = weighted / norm2[k + 1] + mean
            alpha.append(alphaK)
            let ratio = norm2[k + 1] / norm2[k]
            var next = [Double](repeating: 0, count: x.count)
            var norm = 0.0
            for row in x.indices {
                next[row] = (centred[row] - (alphaK - mean)) * current[row] - (k == 0 ? 0 : ratio * previous[row])
                norm += next[row] * next[row]
            }
            norm2.append(norm)
            previous = current
            current = next
        }
        return (alpha, norm2)
    }

    /// The columns of degree 1...`alpha.count` at `x` (R's `predict` of a `poly` basis).
    static func evaluate(x: [Double], alpha: [Double], norm2: [Double]) -> [[Double]] {
        let degree = alpha.count
        var columns: [[Double]] = []
        var previous = [Double](repeating: 1, count: x.count)
        var current = x.map { $0 - (alpha.first ?? 0) }
        for k in 1...max(degree, 1) where k <= degree {
            if k > 1 {
                let ratio = norm2[k] / norm2[k - 1]
                var next = [Double](repeating: 0, count: x.count)
                for row in x.indices { next[row] = (x[row] - alpha[k - 1]) * current[row] - ratio * previous[row] }
                previous = current
                current = next
            }
            let scale = norm2[k + 1].squareRoot()
            columns.append(current.map { $0 / scale })
        }
        return columns
    }

    /// `contr.poly`'s columns for `scores` (degree 1...n-1, each of unit length).
    static func contrastBasis(scores: [Double]) -> [[Double]] {
        let (alpha, norm2) = coefficients(x: scores, degree: scores.count - 1)
        return evaluate(x: scores, alpha: alpha, norm2: norm2)
    }
}

/// B-spline bases as R's `splines::splineDesign`, `bs` and `ns` compute them.
enum SplineBasis {
    /// R's `quantile(x, probs)` (type 7) of the sorted values `sorted`.
    static func quantiles(sorted: [Double], probabilities: [Double]) -> [Double] {
        let n = sorted.count
        guard n > 0 else { return probabilities.map { _ in .nan } }
        return probabilities.map { p in
            let index = Double(n - 1) * p  // 0-based
            let lowIndex = Foundation.floor(index)
            let low = Int(max(0, min(Double(n - 1), lowIndex)))
            let high = Int(max(0, min(Double(n - 1), Foundation.ceil(index))))
            let value = sorted[low]
            guard index > lowIndex, sorted[high] != value else { return value }
            let h = index - lowIndex
            return (1 - h) * value + h * sorted[high]
        }
    }

    /// The interior knots `bs`/`ns` place for `count` knots: quantiles at 1/(count+1), ...
    static func interiorKnots(sorted: [Double], count: Int) -> [Double] {
        guard count > 0 else { return [] }
        let step = 1 / Double(count + 1)
        return quantiles(sorted: sorted, probabilities: (1...count).map { Double($0) * step })
    }

    /// Row of `splineDesign(knots, x, order, derivative)`: the `knots.count - order`
    /// B-splines (or their derivative) at `x`, which must lie within the boundary knots.
    static func row(knots: [Double], order: Int, x: Double, derivative: Int = 0) -> [Double] {
        let basisCount = knots.count - order
        guard basisCount > 0, !x.isNaN else { return [Double](repeating: .nan, count: max(basisCount, 0)) }
        let interval = SplineBasis.interval(knots: knots, order: order, x: x)
        // Order-1 B-splines, then up to order - derivative by Cox-de Boor.
        let lowOrder = order - derivative
        guard lowOrder >= 1 else { return [Double](repeating: 0, count: basisCount) }
        var values = [Double](repeating: 0, count: knots.count - 1)
        values[interval] = 1
        if lowOrder >= 2 {
            for k in 2...lowOrder {
                var next = [Double](repeating: 0, count: knots.count - k)
                for j in next.indices {
                    var value = 0.0
                    let leftSpan = knots[j + k - 1] - knots[j]
                    if leftSpan > 0 { value += (x - knots[j]) / leftSpan * values[j] }
                    let rightSpan = knots[j + k] - knots[j + 1]
                    if rightSpan > 0 { value += (knots[j + k] - x) / rightSpan * values[j + 1] }
                    next[j] = value
                }
                values = next
            }
        }
        // Each derivative raises the order by one: D B_{j,k} = (k-1)(B_{j,k-1}/(t_{j+k-1}-t_j) - B_{j+1,k-1}/(t_{j+k}-t_{j+1})).
        if derivative > 0 {
            for k in (lowOrder + 1)...order {
                var next = [Double](repeating: 0, count: knots.count - k)
                for j in next.indices {
                    var value = 0.0
                    let leftSpan = knots[j + k - 1] - knots[j]
                    if leftSpan > 0 { value += values[j] / leftSpan }
                    let rightSpan = knots[j + k] - knots[j + 1]
                    if rightSpan > 0 { value -= values[j + 1] / rightSpan }
                    next[j] = Double(k - 1) * value
                }
                values = next
            }
        }
        return Array(values.prefix(basisCount))
    }

    /// The knot interval `[t_i, t_i+1)` holding `x` (within the boundary knots; at the right
    /// boundary the last non-empty interval), by binary search.
    static func interval(knots: [Double], order: Int, x: Double) -> Int {
        let first = order - 1, last = knots.count - order - 1
        var low = first, high = last + 1  // the first index in first...last+1 with knots[index] > x
        while low < high {
            let middle = (low + high) / 2
            if knots[middle] > x { high = middle } else { low = middle + 1 }
        }
        var index = max(first, min(last, low - 1))
        while index > first, knots[index] >= knots[index + 1] { index -= 1 }
        return index
    }

    /// The `order` B-splines that are not zero at `x` in knot interval `interval`, by de
    /// Boor's triangular recurrence (R's `splineDesign` uses the same): `local[r]` is
    /// B-spline `interval - order + 1 + r`. The scratch arrays have `order` entries each.
    static func localBasis(
        knots: [Double], order: Int, x: Double, interval: Int,
        into local: inout [Double], left: inout [Double], right: inout [Double]
    ) {
        local[0] = 1
        for j in 1..<max(order, 1) {
            left[j] = x - knots[interval + 1 - j]
            right[j] = knots[interval + j] - x
            var saved = 0.0
            for r in 0..<j {
                let term = local[r] / (right[r + 1] + left[j - r])
                local[r] = saved + right[r + 1] * term
                saved = left[j - r] * term
            }
            local[j] = saved
        }
    }

    /// Fills `columns` (the basis's columns, zero-filled, `x.count` long) with the B-splines
    /// at the values inside the boundary knots: column c is B-spline `c + offset`, or with a
    /// `transform` (applied in place to each row's vector of all B-splines) that vector's
    /// entry `c + offset`. Rows outside are left to the caller; NaN rows are NaN.
    private static func fillInside(
        _ columns: inout [[Double]], x: [Double], knots: [Double], order: Int, boundary: (Double, Double),
        offset: Int, transform: ((inout [Double]) -> Void)?
    ) {
        var local = [Double](repeating: 0, count: order)
        var left = local, right = local
        var full = [Double](repeating: 0, count: knots.count - order)
        for (row, value) in x.enumerated() {
            if value.isNaN {
                for column in columns.indices { columns[column][row] = .nan }
                continue
            }
            guard value >= boundary.0, value <= boundary.1 else { continue }
            let at = interval(knots: knots, order: order, x: value)
            localBasis(knots: knots, order: order, x: value, interval: at, into: &local, left: &left, right: &right)
            let firstBasis = at - order + 1
            if let transform {
                for index in full.indices { full[index] = 0 }
                for r in 0..<order where firstBasis + r >= 0 && firstBasis + r < full.count { full[firstBasis + r] = local[r] }
                transform(&full)
                for column in columns.indices { columns[column][row] = full[column + offset] }
            } else {
                for r in 0..<order {
                    let column = firstBasis + r - offset
                    if column >= 0, column < columns.count { columns[column][row] = local[r] }
                }
            }
        }
    }

    /// The columns of `bs(x, knots =, degree =, Boundary.knots =, intercept =)` (NaN rows for
    /// missing x); outside the boundary knots R's Taylor extrapolation about a pivot.
    static func bSplineColumns(x: [Double], interior: [Double], boundary: (Double, Double), degree: Int, intercept: Bool) -> [[Double]] {
        let order = degree + 1
        let knots = (Array(repeating: boundary.0, count: order) + interior + Array(repeating: boundary.1, count: order)).sorted()
        let width = knots.count - order - (intercept ? 0 : 1)
        var columns = [[Double]](repeating: [Double](repeating: 0, count: x.count), count: max(width, 0))
        fillInside(&columns, x: x, knots: knots, order: order, boundary: boundary, offset: intercept ? 0 : 1, transform: nil)
        // Beyond the boundary: the Taylor polynomial of degree `degree` about a pivot a
        // quarter of the way into the outermost knot interval (R's bs).
        let factorials = (0..<order).map { Foundation.tgamma(Double($0 + 1)) }
        let leftPivot = 0.75 * boundary.0 + 0.25 * knots[order]
        let rightPivot = 0.75 * boundary.1 + 0.25 * knots[knots.count - order - 1]
        let derivatives = [leftPivot, rightPivot].map { pivot in
            (0...degree).map { row(knots: knots, order: order, x: pivot, derivative: $0) }
        }
        for (index, value) in x.enumerated() where value < boundary.0 || value > boundary.1 {
            let side = value < boundary.0 ? 0 : 1
            let pivot = side == 0 ? leftPivot : rightPivot
            for column in columns.indices {
                let basis = column + (intercept ? 0 : 1)
                var sum = 0.0
                for derivative in 0...degree {
                    sum += Foundation.pow(value - pivot, Double(derivative)) / factorials[derivative] * derivatives[side][derivative][basis]
                }
                columns[column][index] = sum
            }
        }
        return columns
    }

    /// The columns of `ns(x, knots =, Boundary.knots =, intercept =)`: the cubic B-splines
    /// projected onto the space with zero second derivative at both boundary knots, by the
    /// Householder QR R's `qr()` (LINPACK `dqrdc2`) computes; linear beyond the boundary.
    static func naturalSplineColumns(x: [Double], interior: [Double], boundary: (Double, Double), intercept: Bool) -> [[Double]] {
        let order = 4
        let knots = (Array(repeating: boundary.0, count: order) + interior + Array(repeating: boundary.1, count: order)).sorted()
        let drop = intercept ? 0 : 1
        // const = splineDesign(knots, boundary, 4, derivs = c(2, 2)), its columns transposed.
        let constLeft = Array(row(knots: knots, order: order, x: boundary.0, derivative: 2).dropFirst(drop))
        let constRight = Array(row(knots: knots, order: order, x: boundary.1, derivative: 2).dropFirst(drop))
        let householder = HouseholderQR(columns: [constLeft, constRight])
        let width = constLeft.count - 2
        var columns = [[Double]](repeating: [Double](repeating: 0, count: x.count), count: max(width, 0))
        // Qᵀ of the B-splines after the dropped first; the basis is its entries after the first two.
        func project(_ full: inout [Double]) { householder.applyTransposedQ(to: &full, from: drop) }
        fillInside(&columns, x: x, knots: knots, order: order, boundary: boundary, offset: drop + 2, transform: project)
        // Beyond the boundary: the tangent line at the boundary knot.
        var tangents: [[Double]] = []
        for pivot in [boundary.0, boundary.1] {
            for derivative in 0...1 {
                var full = row(knots: knots, order: order, x: pivot, derivative: derivative)
                project(&full)
                tangents.append(Array(full.dropFirst(drop + 2)))
            }
        }
        for (index, value) in x.enumerated() where value < boundary.0 || value > boundary.1 {
            let side = value < boundary.0 ? 0 : 2
            let pivot = side == 0 ? boundary.0 : boundary.1
            for column in columns.indices {
                columns[column][index] = tangents[side][column] + (value - pivot) * tangents[side + 1][column]
            }
        }
        return columns
    }
}

/// The Householder QR of a tall matrix without pivoting, with LINPACK `dqrdc2`'s
/// conventions (so that Qᵀy has R's signs): enough for `ns`'s two constraint columns.
struct HouseholderQR {
    /// The Householder vectors (column-major, LINPACK's storage) and `qraux`.
    private var vectors: [[Double]]
    private var qraux: [Double]
    private let rows: Int

    init(columns: [[Double]]) {
        rows = columns.first?.count ?? 0
        var a = columns
        var qraux = [Double](repeating: 0, count: a.count)
        for l in a.indices where l < rows - 1 {
            var norm = 0.0
            for i in l..<rows { norm += a[l][i] * a[l][i] }
            norm = norm.squareRoot()
            guard norm != 0 else { continue }
            if a[l][l] != 0 { norm = a[l][l] < 0 ? -abs(norm) : abs(norm) }
            for i in l..<rows { a[l][i] /= norm }
            a[l][l] += 1
            for j in (l + 1)..<a.count {
                var dot = 0.0
                for i in l..<rows { dot += a[l][i] * a[j][i] }
                let t = -dot / a[l][l]
                for i in l..<rows { a[j][i] += t * a[l][i] }
            }
            qraux[l] = a[l][l]
            a[l][l] = -norm
        }
        vectors = a
        self.qraux = qraux
    }

    /// Replaces `y[start...]` (of `rows` entries) by Qᵀ times it (R's `qr.qty`).
    func applyTransposedQ(to y: inout [Double], from start: Int) {
        guard y.count - start >= rows else { return }
        for j in vectors.indices where j < rows - 1 && qraux[j] != 0 {
            let column = vectors[j]
            // LINPACK keeps the vector's first entry in qraux.
            var dot = qraux[j] * y[start + j]
            for i in (j + 1)..<rows { dot += column[i] * y[start + i] }
            let t = -dot / qraux[j]
            y[start + j] += t * qraux[j]
            for i in (j + 1)..<rows { y[start + i] += t * column[i] }
        }
    }
}

/// `cut()`'s breaks and labels as R's `cut.default` makes them.
enum CutBreaks {
    /// `count` intervals over the range of `x`, widened by 0.1% of the range at each end
    /// (R: `seq.int(min, max, length.out = count + 1)`, ends moved out by range/1000).
    static func equalWidth(x: [Double], count: Int) -> [Double]? {
        let finite = x.filter { $0.isFinite }
        guard let low = finite.min(), let high = finite.max(), count >= 1 else { return nil }
        let range = high - low
        // seq.int(from, to, length.out = count + 1): from + i * by, the last exactly `to`.
        func sequence(_ from: Double, _ to: Double) -> [Double] {
            let by = (to - from) / Double(count)
            var values = (0...count).map { from + Double($0) * by }
            values[count] = to
            return values
        }
        if range == 0 {
            let spread = low != 0 ? abs(low) : 1
            return sequence(low - spread / 1000, high + spread / 1000)
        }
        var breaks = sequence(low, high)
        breaks[0] = low - range / 1000
        breaks[count] = high + range / 1000
        return breaks
    }

    /// R's labels: `formatC(breaks, digits = d, width = 1)` with the fewest digits (from
    /// `digits`, at most 12) that tell the breaks apart, as `(a,b]` or `[a,b)`.
    static func labels(breaks: [Double], right: Bool, includeLowest: Bool, digits: Int = 3) -> [String] {
        var formatted: [String] = []
        for digits in digits...max(12, digits) {
            formatted = breaks.map { formatC($0 + 0, digits: digits) }
            if zip(formatted.dropFirst(), formatted).allSatisfy({ $0 != $1 }) { break }
        }
        let open = right ? "(" : "[", close = right ? "]" : ")"
        var labels: [String] = []
        for index in 0..<(breaks.count - 1) {
            labels.append("\(open)\(formatted[index]),\(formatted[index + 1])\(close)")
        }
        if includeLowest, !labels.isEmpty {
            if right {
                labels[0] = "[" + labels[0].dropFirst()
            } else {
                labels[labels.count - 1] = labels[labels.count - 1].dropLast() + "]"
            }
        }
        return labels
    }

    /// C's `%.*g`, as `formatC(x, digits =, format = "g")` prints.
    static func formatC(_ value: Double, digits: Int) -> String {
        String(format: "%.\(digits)g", value)
    }

    /// R's `.bincode`: the interval of each value (0-based), -1 outside or missing; by
    /// binary search over the sorted breaks.
    static func codes(x: [Double], breaks: [Double], right: Bool, includeLowest: Bool) -> [Int32] {
        let last = breaks.count - 1
        return x.map { value -> Int32 in
            guard !value.isNaN, last >= 1 else { return -1 }
            if includeLowest {
                if right, value == breaks[0] { return 0 }
                if !right, value == breaks[last] { return Int32(truncatingIfNeeded: last - 1) }
            }
            // The first break above the value (right-open intervals) or at or above it (right-closed).
            var low = 0, high = breaks.count
            while low < high {
                let middle = (low + high) / 2
                if right ? breaks[middle] < value : breaks[middle] <= value { low = middle + 1 } else { high = middle }
            }
            return low >= 1 && low <= last ? Int32(truncatingIfNeeded: low - 1) : -1
        }
    }
}
