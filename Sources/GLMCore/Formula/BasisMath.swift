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
        // The knot interval [t_i, t_i+1) holding x; at the right boundary the last non-empty one.
        var interval = order - 1
        let last = knots.count - order
        for i in (order - 1)..<last where knots[i] <= x && knots[i] < knots[i + 1] { interval = i }
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

    /// The rows of `bs(x, knots =, degree =, Boundary.knots =, intercept =)` (NaN rows for
    /// missing x); outside the boundary knots R's Taylor extrapolation about a pivot.
    static func bSplineRows(x: [Double], interior: [Double], boundary: (Double, Double), degree: Int, intercept: Bool) -> [[Double]] {
        let order = degree + 1
        let knots = (Array(repeating: boundary.0, count: order) + interior + Array(repeating: boundary.1, count: order)).sorted()
        let width = knots.count - order - (intercept ? 0 : 1)
        let factorials = (0..<order).map { Foundation.tgamma(Double($0 + 1)) }
        func extrapolated(_ value: Double, pivot: Double) -> [Double] {
            var result = [Double](repeating: 0, count: knots.count - order)
            for derivative in 0...degree {
                let row = SplineBasis.row(knots: knots, order: order, x: pivot, derivative: derivative)
                let power = Foundation.pow(value - pivot, Double(derivative)) / factorials[derivative]
                for j in result.indices { result[j] += power * row[j] }
            }
            return result
        }
        return x.map { value -> [Double] in
            guard !value.isNaN else { return [Double](repeating: .nan, count: width) }
            var full: [Double]
            let quarter = 0.25
            if value < boundary.0 {
                full = extrapolated(value, pivot: (1 - quarter) * boundary.0 + quarter * knots[order])
            } else if value > boundary.1 {
                full = extrapolated(value, pivot: (1 - quarter) * boundary.1 + quarter * knots[knots.count - order - 1])
            } else {
                full = row(knots: knots, order: order, x: value)
            }
            if !intercept { full.removeFirst() }
            return full
        }
    }

    /// The rows of `ns(x, knots =, Boundary.knots =, intercept =)`: the cubic B-splines
    /// projected onto the space with zero second derivative at both boundary knots, by the
    /// Householder QR R's `qr()` (LINPACK `dqrdc2`) computes; linear beyond the boundary.
    static func naturalSplineRows(x: [Double], interior: [Double], boundary: (Double, Double), intercept: Bool) -> [[Double]] {
        let order = 4
        let knots = (Array(repeating: boundary.0, count: order) + interior + Array(repeating: boundary.1, count: order)).sorted()
        let drop = intercept ? 0 : 1
        // const = splineDesign(knots, boundary, 4, derivs = c(2, 2)), its columns transposed.
        let constLeft = Array(row(knots: knots, order: order, x: boundary.0, derivative: 2).dropFirst(drop))
        let constRight = Array(row(knots: knots, order: order, x: boundary.1, derivative: 2).dropFirst(drop))
        let householder = HouseholderQR(columns: [constLeft, constRight])
        let width = constLeft.count - 2
        func linear(_ value: Double, pivot: Double) -> [Double] {
            let level = row(knots: knots, order: order, x: pivot)
            let slope = row(knots: knots, order: order, x: pivot, derivative: 1)
            return zip(level, slope).map { $0 + (value - pivot) * $1 }
        }
        return x.map { value -> [Double] in
            guard !value.isNaN else { return [Double](repeating: .nan, count: width) }
            var full: [Double]
            if value < boundary.0 {
                full = linear(value, pivot: boundary.0)
            } else if value > boundary.1 {
                full = linear(value, pivot: boundary.1)
            } else {
                full = row(knots: knots, order: order, x: value)
            }
            let projected = householder.transposedQTimes(Array(full.dropFirst(drop)))
            return Array(projected.dropFirst(2))
        }
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

    /// Qᵀy (R's `qr.qty`).
    func transposedQTimes(_ y: [Double]) -> [Double] {
        var result = y
        for j in vectors.indices where j < rows - 1 && qraux[j] != 0 {
            var column = vectors[j]
            column[j] = qraux[j]
            var dot = 0.0
            for i in j..<rows { dot += column[i] * result[i] }
            let t = -dot / column[j]
            for i in j..<rows { result[i] += t * column[i] }
        }
        return result
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

    /// R's `.bincode`: the interval of each value (0-based), -1 outside or missing.
    static func codes(x: [Double], breaks: [Double], right: Bool, includeLowest: Bool) -> [Int32] {
        let last = breaks.count - 1
        return x.map { value -> Int32 in
            guard !value.isNaN, last >= 1 else { return -1 }
            for index in 0..<last {
                let low = breaks[index], high = breaks[index + 1]
                let inside: Bool
                if right {
                    inside = (value > low || (includeLowest && index == 0 && value == low)) && value <= high
                } else {
                    inside = value >= low && (value < high || (includeLowest && index == last - 1 && value == high))
                }
                if inside { return Int32(truncatingIfNeeded: index) }
            }
            return -1
        }
    }
}
