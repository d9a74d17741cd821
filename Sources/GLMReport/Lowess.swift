/// R's `lowess(x, y, f, iter)` (stats, after Cleveland 1979): a locally weighted linear fit
/// at each x, with tricube weights over the nearest `f·n` points and `iter` robustness
/// passes of bisquare weights, points closer than `delta` (1% of the x range) to the last
/// fitted one interpolated rather than fitted. The steps follow R's C routine `clowess`, so
/// that the curve is R's to rounding, ties and degenerate windows included.
public enum Lowess {
    /// The smoothed curve: `x` sorted (ties in input order, as R's `order`) and its fitted values.
    public static func smooth(x: [Double], y: [Double], span: Double = 2.0 / 3.0, iterations: Int = 3) -> (x: [Double], y: [Double]) {
        let count = min(x.count, y.count)
        let order = (0..<count).sorted { x[$0] < x[$1] || (x[$0] == x[$1] && $0 < $1) }
        let sortedX = order.map { x[$0] }
        let sortedY = order.map { y[$0] }
        guard let first = sortedX.first, let last = sortedX.last else { return ([], []) }
        let fitted = fit(sortedX: sortedX, y: sortedY, span: span, iterations: max(iterations, 0), delta: 0.01 * (last - first))
        return (sortedX, fitted)
    }

    /// `clowess` on x already sorted.
    static func fit(sortedX x: [Double], y: [Double], span: Double, iterations: Int, delta: Double) -> [Double] {
        let n = x.count
        guard n >= 2 else { return y }
        var fitted = [Double](repeating: 0, count: n)
        var robustness = [Double](repeating: 1, count: n)
        var residuals = [Double](repeating: 0, count: n)
        // At least two points, at most n, in each local window (R truncates f·n + 1e-7).
        let product = span * Double(n) + 1e-7
        let window = product.isFinite && product < Double(n) ? max(2, Int(product.rounded(.towardZero))) : n
        var pass = 1
        while pass <= iterations + 1 {
            // Indices are 0-based here; R's are 1-based.
            var left = 0
            var right = window - 1
            var previous = -1
            var i = 0
            while true {
                if right < n - 1 {
                    // Slide the window right while that shrinks its radius.
                    if x[i] - x[left] > x[right + 1] - x[i] {
                        left += 1
                        right += 1
                        continue
                    }
                }
                if let value = localFit(x: x, y: y, at: x[i], left: left, right: right, weights: &residuals,
                                        robustness: pass > 1 ? robustness : nil) {
                    fitted[i] = value
                } else {
                    fitted[i] = y[i]
                }
                if previous < i - 1 {
                    // Points skipped within delta: interpolated linearly.
                    let denominator = x[i] - x[max(previous, 0)]
                    if previous >= 0 {
                        for j in (previous + 1)..<i {
                            let alpha = (x[j] - x[previous]) / denominator
                            fitted[j] = alpha * fitted[i] + (1 - alpha) * fitted[previous]
                        }
                    }
                }
                previous = i
                let cut = x[previous] + delta
                var next = previous + 1
                while next < n {
                    if x[next] > cut { break }
                    if x[next] == x[previous] {
                        fitted[next] = fitted[previous]
                        previous = next
                    }
                    next += 1
                }
                i = max(previous + 1, next - 1)
                if previous >= n - 1 { break }
            }
            var scale = 0.0
            for row in 0..<n {
                residuals[row] = y[row] - fitted[row]
                scale += abs(residuals[row])
            }
            scale /= Double(n)
            if pass > iterations { break }
            // Six times the median absolute residual.
            let absolute = residuals.map { abs($0) }.sorted()
            let middle = n / 2
            let sixMedians = n % 2 == 0 ? 3 * (absolute[middle] + absolute[n - middle - 1]) : 6 * absolute[middle]
            if sixMedians < 1e-7 * scale { break }
            let high = 0.999 * sixMedians
            let low = 0.001 * sixMedians
            for row in 0..<n {
                let r = abs(residuals[row])
                if r <= low {
                    robustness[row] = 1
                } else if r <= high {
                    let u = r / sixMedians
                    robustness[row] = (1 - u * u) * (1 - u * u)
                } else {
                    robustness[row] = 0
                }
            }
            pass += 1
        }
        return fitted
    }

    /// `lowest`: the weighted linear fit at `point` over the window `left...right` widened to
    /// its ties on the right; nil when every weight is zero. `weights` is workspace.
    static func localFit(x: [Double], y: [Double], at point: Double, left: Int, right: Int,
                         weights: inout [Double], robustness: [Double]?) -> Double? {
        let n = x.count
        let range = x[n - 1] - x[0]
        let radius = max(point - x[left], x[right] - point)
        let high = 0.999 * radius
        let low = 0.001 * radius
        var total = 0.0
        var j = left
        while j < n {
            weights[j] = 0
            let distance = abs(x[j] - point)
            if distance <= high {
                if distance <= low {
                    weights[j] = 1
                } else {
                    let u = distance / radius
                    let v = 1 - u * u * u
                    weights[j] = v * v * v
                }
                if let robustness { weights[j] *= robustness[j] }
                total += weights[j]
            } else if x[j] > point {
                break
            }
            j += 1
        }
        let last = j - 1
        guard total > 0, last >= left else { return nil }
        for k in left...last { weights[k] /= total }
        if radius > 0 {
            var center = 0.0
            for k in left...last { center += weights[k] * x[k] }
            var slope = point - center
            var spread = 0.0
            for k in left...last { spread += weights[k] * (x[k] - center) * (x[k] - center) }
            if spread.squareRoot() > 0.001 * range {
                slope /= spread
                for k in left...last { weights[k] *= slope * (x[k] - center) + 1 }
            }
        }
        var value = 0.0
        for k in left...last { value += weights[k] * y[k] }
        return value
    }
}
