import CKernels
import Foundation
import Testing
@testable import GLMCore

/// The block kernels behind XᵀWX and XᵀWz (the C kernel up to 1,024 columns, BLAS dsyrk above)
/// against plain sums, for widths and row counts that exercise every remainder path; BLAS at
/// the widths of the wider arguments too.
@Suite("Normal-equation kernels")
struct NormalEquationsKernelTests {
    @Test(arguments: [(1, false), (2, false), (3, false), (4, false), (5, false), (7, false), (8, false), (9, false),
                      (15, false), (16, false), (17, false), (51, false), (128, false), (129, false), (150, false),
                      (129, true), (150, true)])
    func matchesPlainSums(columns: Int, blas: Bool) {
        for rows in [1, 3, 4, 5, 17, 64, 1023] {
            var generator = SplitMix64(seed: UInt64(columns * 10_007 + rows))
            let block = (0..<rows * columns).map { _ in Double.random(in: -1..<1, using: &generator) }
            let vector = (0..<rows).map { _ in Double.random(in: -1..<1, using: &generator) }
            // Start from non-zero sums: the kernels add to what is there.
            var gram = (0..<columns * columns).map { Double($0 % 7) }
            var rhs = (0..<columns).map { Double($0 % 5) }
            let gramStart = gram, rhsStart = rhs
            block.withUnsafeBufferPointer { a in
                vector.withUnsafeBufferPointer { b in
                    gram.withUnsafeMutableBufferPointer { g in
                        rhs.withUnsafeMutableBufferPointer { r in
                            if blas {
                                LinearAlgebra.accumulateNormalEquations(
                                    block: a.baseAddress!, rows: rows, columns: columns, vector: b.baseAddress!,
                                    gram: g.baseAddress!, rhs: r.baseAddress!)
                            } else {
                                RowPass.accumulateNormalEquations(
                                    block: a.baseAddress!, rows: rows, columns: columns, vector: b.baseAddress!,
                                    gram: g.baseAddress!, rhs: r.baseAddress!)
                            }
                        }
                    }
                }
            }
            for j in 0..<columns {
                for i in 0...j {
                    var sum = 0.0, magnitude = 0.0
                    for r in 0..<rows {
                        sum += block[r + i * rows] * block[r + j * rows]
                        magnitude += abs(block[r + i * rows] * block[r + j * rows])
                    }
                    let got = gram[i + j * columns] - gramStart[i + j * columns]
                    #expect(abs(got - sum) <= 1e-13 * max(magnitude, 1), "gram[\(i), \(j)] \(rows)x\(columns)")
                }
                var sum = 0.0, magnitude = 0.0
                for r in 0..<rows {
                    sum += block[r + j * rows] * vector[r]
                    magnitude += abs(block[r + j * rows] * vector[r])
                }
                #expect(abs(rhs[j] - rhsStart[j] - sum) <= 1e-13 * max(magnitude, 1), "rhs[\(j)] \(rows)x\(columns)")
            }
        }
    }

    /// Asking for the next block's lines while computing changes no sum: the same bits as
    /// without, whatever the next block (more or fewer columns than tiles, rows past the
    /// columns' end, none).
    @Test(arguments: [1, 5, 15, 51, 70])
    func prefetchingKernelGivesTheSameSums(columns: Int) {
        var generator = SplitMix64(seed: UInt64(columns))
        let rowCount = 2_000
        let xColumns = (0..<columns).map { _ in (0..<rowCount).map { _ in Double.random(in: -1..<1, using: &generator) } }
        RowPass.withBaseAddresses(of: xColumns) { bases in
            for rows in [3, 384, 641] {
                let block = (0..<rows * (columns + 1)).map { _ in Double.random(in: -1..<1, using: &generator) }
                block.withUnsafeBufferPointer { a in
                    let joined = a.baseAddress.map { $0 + rows * columns }
                    var gram = [Double](repeating: 0.5, count: columns * columns), rhs = [Double](repeating: 0.25, count: columns)
                    var expectedGram = gram, expectedRhs = rhs
                    glm_accumulate_normal_equations(a.baseAddress, rows, columns, joined, &expectedGram, &expectedRhs)
                    for (first, nextCount) in [(0, columns), (1_990, columns), (7, min(columns, 2))] {
                        glm_accumulate_normal_equations_prefetching(
                            a.baseAddress, rows, columns, joined, &gram, &rhs, bases, first, nextCount)
                        #expect(gram.map(\.bitPattern) == expectedGram.map(\.bitPattern), "\(rows) x \(columns) gram")
                        #expect(rhs.map(\.bitPattern) == expectedRhs.map(\.bitPattern), "\(rows) x \(columns) rhs")
                        gram = [Double](repeating: 0.5, count: columns * columns)
                        rhs = [Double](repeating: 0.25, count: columns)
                    }
                    glm_accumulate_normal_equations_prefetching(a.baseAddress, rows, columns, joined, &gram, &rhs, nil, 0, 0)
                    #expect(gram.map(\.bitPattern) == expectedGram.map(\.bitPattern), "\(rows) x \(columns) gram, nothing next")
                }
            }
        }
    }

    /// The AVX-512 and AVX2 kernels add each sum's eight lanes in the same order, so they must
    /// give the same sums to the bit (the same fit on either CPU). Checked on a CPU that has both.
    /// With b stored right after A (as a row pass lays out its block), XᵀWz comes from the
    /// same tiles as XᵀWX: the same bits again.
    @Test(arguments: [1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 33, 51, 64, 70])
    func avx512KernelGivesTheAVX2Sums(columns: Int) throws {
        guard glm_kernel_level() >= 2 else { return }
        for rows in [1, 3, 4, 5, 7, 8, 9, 17, 64, 384, 642, 1023] {
            var generator = SplitMix64(seed: UInt64(columns * 7_919 + rows))
            // Magnitudes over twelve orders, so a different order of addition would show.
            let block = (0..<rows * columns).map { _ in
                Double.random(in: -1..<1, using: &generator) * Double.random(in: 1e-6..<1e6, using: &generator)
            }
            let vector = (0..<rows).map { _ in Double.random(in: -1..<1, using: &generator) }
            let joined = block + vector
            func sums(level: Int32) -> (gram: [Double], rhs: [Double], rhsOnly: [Double], gramJoined: [Double],
                                        rhsJoined: [Double]) {
                var gram = (0..<columns * columns).map { Double($0 % 7) / 3 }
                var rhs = (0..<columns).map { Double($0 % 5) / 3 }
                var rhsOnly = rhs, gramJoined = gram, rhsJoined = rhs
                block.withUnsafeBufferPointer { a in
                    vector.withUnsafeBufferPointer { b in
                        glm_accumulate_normal_equations_at(level, a.baseAddress, rows, columns, b.baseAddress, &gram, &rhs)
                        glm_accumulate_right_hand_side_at(level, a.baseAddress, rows, columns, b.baseAddress, &rhsOnly)
                    }
                }
                joined.withUnsafeBufferPointer { ab in
                    glm_accumulate_normal_equations_at(
                        level, ab.baseAddress, rows, columns, ab.baseAddress.map { $0 + rows * columns }, &gramJoined,
                        &rhsJoined)
                }
                return (gram, rhs, rhsOnly, gramJoined, rhsJoined)
            }
            let avx2 = sums(level: 1), avx512 = sums(level: 2)
            #expect(avx512.gram.map(\.bitPattern) == avx2.gram.map(\.bitPattern), "gram \(rows)x\(columns)")
            #expect(avx512.rhs.map(\.bitPattern) == avx2.rhs.map(\.bitPattern), "rhs \(rows)x\(columns)")
            #expect(avx512.rhsOnly.map(\.bitPattern) == avx2.rhs.map(\.bitPattern), "rhs alone \(rows)x\(columns)")
            for level in [avx2, avx512] {
                #expect(level.gramJoined.map(\.bitPattern) == avx2.gram.map(\.bitPattern), "joined gram \(rows)x\(columns)")
                #expect(level.rhsJoined.map(\.bitPattern) == avx2.rhs.map(\.bitPattern), "joined rhs \(rows)x\(columns)")
            }
        }
    }
}

/// The linear predictor and the row scaling of a pass (C, several rows at once) against the
/// plain loop, to the bit, at every kernel level the CPU has: a product then a sum, in column
/// order, never fused.
@Suite("Row-pass kernels")
struct RowPassKernelTests {
    /// (Half the columns are used: 38 to 42 put 19 to 21 in the sum, either side of where the
    /// kernel goes from row groups to column streams.)
    @Test(arguments: [1, 2, 5, 15, 38, 40, 42, 51, 101])
    func linearPredictorIsThePlainLoopToTheBit(columns: Int) {
        for rows in [1, 7, 8, 16, 31, 32, 33, 642, 1000] {
            var generator = SplitMix64(seed: UInt64(columns * 4_099 + rows))
            let leading = rows + 5
            // Magnitudes over twelve orders: a fused multiply-add or another order would show.
            let x = (0..<leading * columns).map { _ in
                Double.random(in: -1..<1, using: &generator) * Double.random(in: 1e-6..<1e6, using: &generator)
            }
            let offset = (0..<rows).map { _ in Double.random(in: -3..<3, using: &generator) }
            // Every other column left out, as a zero coefficient is.
            let active = stride(from: 0, to: columns, by: 2).map { $0 }
            let coefficients = active.map { _ in Double.random(in: -2..<2, using: &generator) }
            for useOffset in [false, true] {
                var expected = [Double](repeating: 0, count: rows)
                for r in 0..<rows {
                    var sum = useOffset ? offset[r] : 0
                    for (k, column) in active.enumerated() {
                        let term = x[column * leading + 3 + r] * coefficients[k]
                        sum = sum + term
                    }
                    expected[r] = sum
                }
                for level in Int32(0)...glm_kernel_level() {
                    var eta = [Double](repeating: .nan, count: rows)
                    x.withUnsafeBufferPointer { xs in
                        offset.withUnsafeBufferPointer { offsets in
                            // Each column's rows from the third on (`first` = 3).
                            let bases: [UnsafePointer<Double>?] = active.map { column in
                                xs.baseAddress.map { $0 + column * leading }
                            }
                            glm_linear_predictor_at(
                                level, bases, 3, rows, coefficients, active.count,
                                useOffset ? offsets.baseAddress : nil, &eta)
                        }
                    }
                    #expect(eta.map(\.bitPattern) == expected.map(\.bitPattern),
                            "level \(level), \(rows) rows x \(columns), offset \(useOffset)")
                }
            }
            let factors = (0..<rows).map { _ in Double.random(in: 0..<3, using: &generator) }
            var block = [Double](repeating: .nan, count: rows * columns)
            x.withUnsafeBufferPointer { xs in
                let bases: [UnsafePointer<Double>?] = (0..<columns).map { column in xs.baseAddress.map { $0 + column * leading } }
                glm_scale_rows(bases, 5, rows, columns, factors, &block)
            }
            let scaled = (0..<columns).flatMap { c in (0..<rows).map { r in x[c * leading + 5 + r] * factors[r] } }
            #expect(block.map(\.bitPattern) == scaled.map(\.bitPattern), "scaled \(rows) rows x \(columns)")
        }
    }

    /// The logit link's means and dμ/dη from the C loop, to the bit against `Link`'s own
    /// (linkinv and muEta): η around the ±30 clamps, far beyond them, ±0, ±∞ and NaN, in
    /// blocks whose lengths leave every remainder.
    @Test func logitMeansAndDerivativesAreLinksToTheBit() {
        var generator = SplitMix64(seed: 30)
        let special: [Double] = [0, -0.0, 30, -30, 30.000000000000004, -30.000000000000004, 29.999999999999996,
                                 36.7, -36.7, 710, -745, .infinity, -.infinity, .nan, 1e-300, -1e-300]
        for rows in [1, 7, 8, 9, 31, 384, 1001] {
            let eta = (0..<rows).map { row in
                row % 5 == 0 ? special[row / 5 % special.count] : Double.random(in: -40..<40, using: &generator)
            }
            var values = eta.map { Foundation.exp($0) }
            var mu = [Double](repeating: 0, count: rows)
            glm_logit_mean_derivative(eta, &values, &mu, rows)
            for row in 0..<rows {
                let expected = (Link.logit.linkinv(eta[row]), Link.logit.muEta(eta[row]))
                #expect(mu[row].bitPattern == expected.0.bitPattern, "mu at eta \(eta[row])")
                #expect(values[row].bitPattern == expected.1.bitPattern, "mu.eta at eta \(eta[row])")
            }
        }
    }

    /// R's working weights and responses from the C kernel, at every level the CPU has, against
    /// the formula in Swift, to the bit: rows with zero, negative and NaN prior weights, zero
    /// and NaN derivatives, zero variances, with and without offsets.
    @Test(arguments: [Int32(GLM_VARIANCE_ONE), Int32(GLM_VARIANCE_MU), Int32(GLM_VARIANCE_BINOMIAL), Int32(GLM_VARIANCE_SQUARE)])
    func workingWeightsAreRsFormulaToTheBit(variance: Int32) {
        for rows in [1, 7, 8, 9, 384, 1000] {
            var generator = SplitMix64(seed: UInt64(rows * 31 + Int(variance)))
            func pick(_ special: [Double], _ range: Range<Double>) -> Double {
                Int.random(in: 0..<10, using: &generator) == 0
                    ? special[Int.random(in: 0..<special.count, using: &generator)]
                    : Double.random(in: range, using: &generator)
            }
            let eta = (0..<rows).map { _ in Double.random(in: -4..<4, using: &generator) }
            let mu = (0..<rows).map { _ in pick([0, 1, .nan], 0.001..<0.999) }
            let y = (0..<rows).map { _ in Double(Int.random(in: 0...3, using: &generator)) }
            let derivative = (0..<rows).map { _ in pick([0, .nan, -0.0], 0.01..<2) }
            let prior = (0..<rows).map { _ in pick([0, -1, .nan], 0.5..<3) }
            let offset = (0..<rows).map { _ in Double.random(in: -1..<1, using: &generator) }
            for (useDerivative, usePrior, useOffset) in [(false, false, false), (true, true, true), (true, false, true)] {
                var expected = (weights: [Double](), roots: [Double](), scaled: [Double]())
                var good = 0
                var flags = (varianceNaN: false, varianceZero: false, derivativeNaN: false)
                for r in 0..<rows {
                    let priorWeight = usePrior ? prior[r] : 1
                    var weight = 0.0, response = 0.0
                    if priorWeight > 0 {
                        let v: Double
                        switch Int(variance) {
                        case Int(GLM_VARIANCE_ONE): v = 1
                        case Int(GLM_VARIANCE_MU): v = mu[r]
                        case Int(GLM_VARIANCE_BINOMIAL): v = mu[r] * (1 - mu[r])
                        default: v = mu[r] * mu[r]
                        }
                        let d = useDerivative ? derivative[r] : mu[r]
                        flags.varianceNaN = flags.varianceNaN || v.isNaN
                        flags.varianceZero = flags.varianceZero || v == 0
                        flags.derivativeNaN = flags.derivativeNaN || d.isNaN
                        if d != 0 {
                            good += 1
                            weight = priorWeight * (d * d) / v
                            response = (eta[r] - (useOffset ? offset[r] : 0)) + (y[r] - mu[r]) / d
                        }
                    }
                    let root = weight.squareRoot()
                    expected.weights.append(root * root)
                    expected.roots.append(root)
                    expected.scaled.append(root * response)
                }
                func same(_ a: [Double], _ b: [Double]) -> Bool {
                    zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                }
                for level in Int32(0)...glm_kernel_level() {
                    var weights = [Double](repeating: 7, count: rows)
                    var roots = useDerivative ? derivative : [Double](repeating: 7, count: rows)
                    var scaled = [Double](repeating: 7, count: rows)
                    var checks = glm_weights_checks()
                    eta.withUnsafeBufferPointer { etaBuffer in
                        mu.withUnsafeBufferPointer { muBuffer in
                            y.withUnsafeBufferPointer { yBuffer in
                                prior.withUnsafeBufferPointer { priorBuffer in
                                    offset.withUnsafeBufferPointer { offsetBuffer in
                                        weights.withUnsafeMutableBufferPointer { weightBuffer in
                                            roots.withUnsafeMutableBufferPointer { rootBuffer in
                                                scaled.withUnsafeMutableBufferPointer { scaledBuffer in
                                                    // The derivatives are read from the roots buffer, as in a pass.
                                                    var input = glm_weights_input(
                                                        rows: rows, eta: etaBuffer.baseAddress, mu: muBuffer.baseAddress,
                                                        y: yBuffer.baseAddress,
                                                        derivative: useDerivative ? UnsafePointer(rootBuffer.baseAddress) : nil,
                                                        prior: usePrior ? priorBuffer.baseAddress : nil,
                                                        offset: useOffset ? offsetBuffer.baseAddress : nil, variance: variance)
                                                    var output = glm_weights_output(
                                                        weights: weightBuffer.baseAddress, roots: rootBuffer.baseAddress,
                                                        scaledResponses: scaledBuffer.baseAddress)
                                                    glm_working_weights_at(level, &input, &output, &checks)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    let label = "level \(level), \(rows) rows, variance \(variance), \(useDerivative) \(usePrior) \(useOffset)"
                    #expect(same(weights, expected.weights), "weights, \(label)")
                    #expect(same(roots, expected.roots), "roots, \(label)")
                    #expect(same(scaled, expected.scaled), "scaled responses, \(label)")
                    #expect(Int(checks.good) == good, "good rows, \(label)")
                    #expect((checks.varianceNaN != 0, checks.varianceZero != 0, checks.derivativeNaN != 0) == flags,
                            "checks, \(label)")
                }
            }
        }
    }
}

/// The passes read X through one base address per column: nested pins up to
/// `RowPass.nestingLimit` columns, one copied buffer beyond.
@Suite("Column base addresses")
struct ColumnBaseAddressTests {
    @Test(arguments: [1, 3, RowPass.nestingLimit, RowPass.nestingLimit + 1, 1_500])
    func eachBaseAddressHoldsItsColumn(columnCount: Int) {
        let rowCount = 7
        let columns = (0..<columnCount).map { column in (0..<rowCount).map { Double(column * 1_000 + $0) } }
        let read: [[Double]] = RowPass.withBaseAddresses(of: columns) { bases in
            bases.map { base in
                guard let base else { return [] }
                return (0..<rowCount).map { base[$0] }
            }
        }
        #expect(read == columns)
    }
}
