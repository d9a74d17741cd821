import CLapack
import Foundation

/// The multinomial logit (baseline-category logit) as `nnet::multinom` fits it, at the
/// exact maximum.
///
/// With K levels (the first the baseline), p columns x and coefficients β_k for
/// k = 1…K−1 (β_0 = 0): η_k = xᵀβ_k, π_k = exp(η_k) / Σ_l exp(η_l), and
///
///     log L = Σ_i w_i log π_{y_i},   ∂ log L/∂β_k = Σ_i w_i (1{y_i = k} − π_ik) x_i,
///     −∂² log L/∂β_k∂β_l = Σ_i w_i π_ik (δ_kl − π_il) x_i x_iᵀ,
///
/// the (K−1)p Hessian made of XᵀWX blocks, one per pair of levels. Started at β = 0, as
/// multinom starts (`rang = 0`).
enum Multinomial {
    /// Parameters in component-major order: index k·p + j is column j of level k + 1.
    static func fit(
        columns: [[Double]], rowCount: Int, response: CategoricalResponse, maxIterations: Int
    ) throws -> NewtonMaximizer.Result {
        let p = columns.count
        let m = response.levelCount - 1
        let order = m * p
        let start = [Double](repeating: 0, count: order)
        return try NewtonMaximizer.maximize(start: start, maxIterations: maxIterations) { parameters in
            evaluate(parameters, columns: columns, rowCount: rowCount, response: response)
        }
    }

    /// Log-likelihood, gradient and negative Hessian over all rows, on all cores.
    ///
    /// Each block (k, l) of the Hessian is Σ c_kl x xᵀ, symmetric: a row adds c_kl times the
    /// packed upper triangle of x xᵀ (computed once per row) to each pair's packed sum, one
    /// contiguous multiply-add per pair; the blocks are unpacked once at the end.
    static func evaluate(
        _ parameters: [Double], columns: [[Double]], rowCount: Int, response: CategoricalResponse
    ) -> NewtonMaximizer.Evaluation {
        let p = columns.count
        let m = response.levelCount - 1
        let order = m * p
        let triangle = p * (p + 1) / 2
        // The packed triangle in blocks of four (the last padded with zeros), for SIMD adds.
        let blocks = (triangle + 3) / 4
        var pairs: [(k: Int, l: Int)] = []
        for k in 0..<m { for l in k..<m { pairs.append((k, l)) } }
        let pairCount = pairs.count
        typealias Part = (logLikelihood: Double, gradient: [Double], sums: [SIMD4<Double>])
        // The columns' storage, pinned for the pass (see `RowPass.withBaseAddresses`).
        let parts = RowPass.withBaseAddresses(of: columns) { columnBases in
        ParallelRows.map(count: rowCount) { rows -> Part in
            var logLikelihood = 0.0
            var gradient = [Double](repeating: 0, count: order)
            var sums = [SIMD4<Double>](repeating: .zero, count: pairCount * blocks)
            var x = [Double](repeating: 0, count: p)
            // A block of rows' packed xxᵀ (a column of `batch` per triangle entry) and Hessian
            // weights (a column per pair of levels): their product, by BLAS, adds the block's
            // contribution to every pair's triangle at once.
            let batch = Multinomial.hessianBatch
            var products = [Double](repeating: 0, count: batch * triangle)
            var weightsByPair = [Double](repeating: 0, count: batch * pairCount)
            var packed = [Double](repeating: 0, count: triangle * pairCount)
            var filled = 0
            var eta = [Double](repeating: 0, count: m)
            var probabilities = [Double](repeating: 0, count: m)
            parameters.withUnsafeBufferPointer { beta in
            response.codes.withUnsafeBufferPointer { codes in
            response.weights.withUnsafeBufferPointer { weights in
            gradient.withUnsafeMutableBufferPointer { g in
            sums.withUnsafeMutableBufferPointer { sums in
            products.withUnsafeMutableBufferPointer { xx in
            weightsByPair.withUnsafeMutableBufferPointer { pairWeights in
            packed.withUnsafeMutableBufferPointer { packed in
                // packed (triangle × pairs) += xxᵀ · pairWeights over the rows filled so far.
                func flush() {
                    guard filled > 0 else { return }
                    var transA = Int8(UInt8(ascii: "T")), transB = Int8(UInt8(ascii: "N"))
                    var rowsOut = Int32(truncatingIfNeeded: triangle), columnsOut = Int32(truncatingIfNeeded: pairCount)
                    var inner = Int32(truncatingIfNeeded: filled), leading = Int32(truncatingIfNeeded: batch)
                    var one = 1.0
                    dgemm_(&transA, &transB, &rowsOut, &columnsOut, &inner, &one, xx.baseAddress, &leading,
                           pairWeights.baseAddress, &leading, &one, packed.baseAddress, &rowsOut, 1, 1)
                    filled = 0
                }
            x.withUnsafeMutableBufferPointer { x in
            eta.withUnsafeMutableBufferPointer { eta in
            probabilities.withUnsafeMutableBufferPointer { pi in
                for row in rows {
                    let w = weights[row]
                    if w == 0 { continue }
                    for j in 0..<p { x[j] = columnBases[j]?[row] ?? 0 }
                    var largest = 0.0
                    for k in 0..<m {
                        var value = 0.0
                        let base = k * p
                        for j in 0..<p { value += x[j] * beta[base + j] }
                        eta[k] = value
                        largest = max(largest, value)
                    }
                    // exp(ηₖ − largest) once each: the probabilities are their shares of the total.
                    var total = Foundation.exp(-largest)
                    for k in 0..<m {
                        pi[k] = Foundation.exp(eta[k] - largest)
                        total += pi[k]
                    }
                    let logTotal = largest + Foundation.log(total)
                    let y = Int(codes[row])
                    logLikelihood += w * ((y > 0 ? eta[y - 1] : 0) - logTotal)
                    let inverseTotal = 1 / total
                    for k in 0..<m { pi[k] *= inverseTotal }
                    for k in 0..<m {
                        let residual = w * ((y == k + 1 ? 1 : 0) - pi[k])
                        let base = k * p
                        for j in 0..<p { g[base + j] += residual * x[j] }
                    }
                    var t = 0
                    for b in 0..<p {
                        let xb = x[b]
                        for a in 0...b {
                            xx[t * batch + filled] = x[a] * xb
                            t += 1
                        }
                    }
                    for (index, pair) in pairs.enumerated() {
                        pairWeights[index * batch + filled] = w * pi[pair.k] * ((pair.k == pair.l ? 1 : 0) - pi[pair.l])
                    }
                    filled += 1
                    if filled == batch { flush() }
                }
                flush()
                // Into the SIMD blocks the sum over row ranges adds.
                for index in 0..<pairCount {
                    for t in 0..<triangle { sums[index * blocks + t >> 2][t & 3] = packed[t + index * triangle] }
                }
            }}}}}}}}}}}
            return (logLikelihood, gradient, sums)
        }
        }
        var total = NewtonMaximizer.Evaluation(
            logLikelihood: 0, gradient: [Double](repeating: 0, count: order),
            negativeHessian: [Double](repeating: 0, count: order * order))
        var sums = [SIMD4<Double>](repeating: .zero, count: pairCount * blocks)
        for part in parts {
            total.logLikelihood += part.logLikelihood
            for i in 0..<order { total.gradient[i] += part.gradient[i] }
            for i in 0..<sums.count { sums[i] += part.sums[i] }
        }
        // Unpack: block (k, l) and its mirror (l, k), each symmetric.
        for (index, pair) in pairs.enumerated() {
            var t = 0
            for b in 0..<p {
                for a in 0...b {
                    let value = sums[index * blocks + t >> 2][t & 3]
                    t += 1
                    for (r, c) in [(pair.k * p + a, pair.l * p + b), (pair.k * p + b, pair.l * p + a)] {
                        total.negativeHessian[c * order + r] = value
                        total.negativeHessian[r * order + c] = value
                    }
                }
            }
        }
        return total
    }

    /// Rows whose Hessian terms are added up together by one matrix product.
    static let hessianBatch = 128

    /// The probabilities of every level (baseline first) for a row's linear predictors.
    static func probabilities(eta: [Double]) -> [Double] {
        let largest = max(0, eta.max() ?? 0)
        var values = [Foundation.exp(-largest)] + eta.map { Foundation.exp($0 - largest) }
        let total = values.reduce(0, +)
        for k in values.indices { values[k] /= total }
        return values
    }
}
