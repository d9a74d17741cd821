/// R's `spline()` (method "fmm") and `approx()` (linear, rule 1), reproduced step for
/// step so that profile-likelihood intervals interpolate exactly as MASS's
/// `confint.profile.glm` does: same knots, same evaluation grid, same tie handling.
enum RInterpolation {
    /// Points with NaN in either coordinate removed, sorted by x (stably, only when
    /// unsorted), and tied x collapsed to the mean of their y (R's `regularize.values`
    /// with `ties = mean`).
    struct Regularized {
        var x: [Double]
        var y: [Double]
        /// True when tied x values were collapsed (R warns "collapsing to unique 'x' values").
        var collapsed: Bool
    }

    static func regularize(x: [Double], y: [Double]) -> Regularized {
        var xs: [Double] = []
        var ys: [Double] = []
        for (a, b) in zip(x, y) where !a.isNaN && !b.isNaN {
            xs.append(a)
            ys.append(b)
        }
        let unsorted = zip(xs, xs.dropFirst()).contains { $0 > $1 }
        if unsorted {
            let order = xs.indices.sorted { xs[$0] != xs[$1] ? xs[$0] < xs[$1] : $0 < $1 }
            xs = order.map { xs[$0] }
            ys = order.map { ys[$0] }
        }
        var uniqueX: [Double] = []
        var meanY: [Double] = []
        var collapsed = false
        var start = 0
        while start < xs.count {
            var end = start + 1
            while end < xs.count && xs[end] == xs[start] { end += 1 }
            uniqueX.append(xs[start])
            if end - start > 1 {
                collapsed = true
                meanY.append(mean(ys[start..<end]))
            } else {
                meanY.append(ys[start])
            }
            start = end
        }
        return Regularized(x: uniqueX, y: meanY, collapsed: collapsed)
    }

    /// R's `mean()` of doubles: a long-double sum divided by n, then one correction pass.
    static func mean(_ values: ArraySlice<Double>) -> Double {
        #if arch(x86_64) || arch(i386)
        typealias Wide = Float80
        #else
        typealias Wide = Double
        #endif
        let n = Wide(values.count)
        var sum: Wide = 0
        for value in values { sum += Wide(value) }
        sum /= n
        if Double(sum).isFinite {
            var correction: Wide = 0
            for value in values { correction += Wide(value) - sum }
            sum += correction / n
        }
        return Double(sum)
    }

    /// `seq.int(from, to, length.out = count)` as R 4.2 computes it: the ends exactly,
    /// the interior as `from + i * by`.
    static func sequence(from: Double, to: Double, count: Int) -> [Double] {
        guard count > 0 else { return [] }
        var values = [Double](repeating: from, count: count)
        if count > 1 { values[count - 1] = to }
        if count > 2 {
            let by = (to - from) / Double(count - 1)
            for i in 1..<(count - 1) { values[i] = from + Double(i) * by }
        }
        return values
    }

    /// Cubic-spline coefficients with Forsythe–Malcolm–Moler end conditions (R's
    /// `fmm_spline`): on [x[i], x[i+1]] the spline is y[i] + b·t + c·t² + d·t³, t = u − x[i].
    static func fmmCoefficients(x: [Double], y: [Double]) -> (b: [Double], c: [Double], d: [Double]) {
        let n = x.count
        var b = [Double](repeating: 0, count: n)
        var c = [Double](repeating: 0, count: n)
        var d = [Double](repeating: 0, count: n)
        guard n >= 2 else { return (b, c, d) }
        if n < 3 {
            let slope = (y[1] - y[0]) / (x[1] - x[0])
            b[0] = slope
            b[1] = slope
            return (b, c, d)
        }
        let last = n - 1
        // Tridiagonal system: b diagonal, d off-diagonal, c right-hand side.
        d[0] = x[1] - x[0]
        c[1] = (y[1] - y[0]) / d[0]
        for i in 1..<last {
            d[i] = x[i + 1] - x[i]
            b[i] = 2 * (d[i - 1] + d[i])
            c[i + 1] = (y[i + 1] - y[i]) / d[i]
            c[i] = c[i + 1] - c[i]
        }
        // End conditions: third derivatives from divided differences.
        b[0] = -d[0]
        b[last] = -d[last - 1]
        c[0] = 0
        c[last] = 0
        if n > 3 {
            c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
            c[last] = c[last - 1] / (x[last] - x[last - 2]) - c[last - 2] / (x[last - 1] - x[last - 3])
            c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
            c[last] = -c[last] * d[last - 1] * d[last - 1] / (x[last] - x[last - 3])
        }
        // Gaussian elimination, then back substitution.
        for i in 1...last {
            let t = d[i - 1] / b[i - 1]
            b[i] = b[i] - t * d[i - 1]
            c[i] = c[i] - t * c[i - 1]
        }
        c[last] = c[last] / b[last]
        for i in stride(from: last - 1, through: 0, by: -1) {
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
        }
        b[last] = (y[last] - y[last - 1]) / d[last - 1] + d[last - 1] * (c[last - 1] + 2 * c[last])
        for i in 0..<last {
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2 * c[i])
            d[i] = (c[i + 1] - c[i]) / d[i]
            c[i] = 3 * c[i]
        }
        c[last] = 3 * c[last]
        d[last] = d[last - 1]
        return (b, c, d)
    }

    /// Evaluates the spline at each of `points` (R's `spline_eval`, non-periodic).
    static func evaluate(
        points: [Double], x: [Double], y: [Double], coefficients: (b: [Double], c: [Double], d: [Double])
    ) -> [Double] {
        let n = x.count
        var values = [Double](repeating: .nan, count: points.count)
        var i = 0
        for (l, u) in points.enumerated() {
            if u < x[i] || (i < n - 1 && x[i + 1] < u) {
                i = 0
                var j = n
                repeat {
                    let k = (i + j) / 2
                    if u < x[k] { j = k } else { i = k }
                } while j > i + 1
            }
            let dx = u - x[i]
            values[l] = y[i] + dx * (coefficients.b[i] + dx * (coefficients.c[i] + dx * coefficients.d[i]))
        }
        return values
    }

    /// `spline(x, y)` with R's defaults: method "fmm", n = 3 × (number of distinct x),
    /// evaluated on an even grid from min(x) to max(x).
    static func spline(x: [Double], y: [Double]) -> (x: [Double], y: [Double], collapsed: Bool) {
        let points = regularize(x: x, y: y)
        guard let first = points.x.first, let last = points.x.last else { return ([], [], points.collapsed) }
        let grid = sequence(from: first, to: last, count: 3 * points.x.count)
        let coefficients = fmmCoefficients(x: points.x, y: points.y)
        return (grid, evaluate(points: grid, x: points.x, y: points.y, coefficients: coefficients), points.collapsed)
    }

    /// `approx(x, y, xout = v)$y` with linear interpolation and rule 1: nil outside the
    /// range of x (R's NA), or when fewer than two points remain.
    static func approx(x: [Double], y: [Double], at v: Double) -> (value: Double?, collapsed: Bool) {
        let points = regularize(x: x, y: y)
        let xs = points.x
        let ys = points.y
        let n = xs.count
        guard n >= 2, !v.isNaN else { return (nil, points.collapsed) }
        if v < xs[0] || v > xs[n - 1] { return (nil, points.collapsed) }
        var i = 0
        var j = n - 1
        while i < j - 1 {
            let middle = (i + j) / 2
            if v < xs[middle] { j = middle } else { i = middle }
        }
        if v == xs[j] { return (ys[j], points.collapsed) }
        if v == xs[i] { return (ys[i], points.collapsed) }
        return (ys[i] + (ys[j] - ys[i]) * ((v - xs[i]) / (xs[j] - xs[i])), points.collapsed)
    }
}
