import CKernels
import Foundation
import Testing
@testable import GLMCore

/// Distance in units in the last place between two doubles of the same sign (or zeros).
private func ulps(_ a: Double, _ b: Double) -> UInt64 {
    func ordered(_ x: Double) -> Int64 {
        let bits = Int64(bitPattern: x.bitPattern)
        return bits < 0 ? Int64.min &- bits : bits
    }
    let (x, y) = (ordered(a), ordered(b))
    return x > y ? UInt64(bitPattern: x &- y) : UInt64(bitPattern: y &- x)
}

@Suite("exp and log eight at a time")
struct ElementaryFunctionsTests {
    static let specialInputs: [Double] = [
        0, -0.0, 1, -1, .infinity, -.infinity, .nan, 1e-310, -1e-310, .leastNormalMagnitude,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 708, 709, 709.5, 710, -708, -708.5, -745.1, -746,
        30, -30, 1e-300, 0.5, 2, 0.75, 1.5, 0.7499999999999999, 1.4999999999999998, 1.0000000000000002,
        0.9999999999999999,
    ]

    /// Random inputs over the ranges the fits meet (η up to ±40, ratios near 1, the whole
    /// exponent range) and the special ones, in arrays whose lengths leave every remainder.
    static func inputs(count: Int, seed: UInt64, forLog: Bool) -> [Double] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { i in
            if i % 17 == 0 { return specialInputs[i / 17 % specialInputs.count] }
            let u = Double.random(in: 0..<1, using: &generator)
            switch i % 3 {
            case 0: return forLog ? Foundation.exp((u - 0.5) * 1_400) : (u - 0.5) * 1_420
            case 1: return forLog ? 0.7 + 0.8 * u : (u - 0.5) * 80
            default: return forLog ? u * 10 : (u - 0.5) * 0.1
            }
        }
    }

    /// Within one unit in the last place of libm's value (libm's own outside the method's range:
    /// NaN, infinities, overflow, subnormal results and inputs, zero and negative logs), and the
    /// same doubles from the AVX-512 kernel and the one-at-a-time loop.
    @Test(arguments: [false, true])
    func withinOneUnitOfLibmAndTheSameAtEveryLevel(log: Bool) {
        for count in [1, 7, 8, 9, 100_003] {
            let x = ElementaryFunctionsTests.inputs(count: count, seed: UInt64(count) * (log ? 3 : 5), forLog: log)
            var wide = [Double](repeating: 0, count: count)
            var plain = [Double](repeating: 0, count: count)
            if log {
                glm_log_at(2, x, &wide, count)
                glm_log_at(0, x, &plain, count)
            } else {
                glm_exp_at(2, x, &wide, count)
                glm_exp_at(0, x, &plain, count)
            }
            var worst: UInt64 = 0
            var differing = 0
            for i in 0..<count {
                #expect(wide[i].bitPattern == plain[i].bitPattern, "levels at \(x[i])")
                let reference = log ? Foundation.log(x[i]) : Foundation.exp(x[i])
                if reference.isNaN {
                    #expect(wide[i].isNaN, "at \(x[i])")
                    continue
                }
                let distance = ulps(wide[i], reference)
                worst = max(worst, distance)
                if distance > 0 { differing += 1 }
            }
            #expect(worst <= 1, "\(log ? "log" : "exp"): \(worst) units in the last place")
            // Libm's and the method's are both within about half a unit of the exact value.
            if count > 1_000 { #expect(differing * 10 <= count, "\(differing) of \(count) differ") }
        }
        // In place, and libm's own values outside the range.
        var values = ElementaryFunctionsTests.specialInputs
        if log { glm_log(values, &values, values.count) } else { glm_exp(values, &values, values.count) }
        for (value, x) in zip(values, ElementaryFunctionsTests.specialInputs) {
            let reference = log ? Foundation.log(x) : Foundation.exp(x)
            #expect(reference.isNaN ? value.isNaN : ulps(value, reference) <= 1, "at \(x)")
        }
    }

    /// The row pass's deviance: `Family.unitDeviance`'s operations with the logs from glm_log,
    /// added row by row, to the bit (the formula written out again here with those logs), and
    /// within a few units in the last place of the sum with libm's logs. Binomial proportions,
    /// 0 and 1, counts with zeros, Gamma responses; with and without prior weights; means that
    /// make a unit infinite.
    @Test(arguments: [Family.Kind.binomial, .poisson, .gamma])
    func devianceSumsAreTheFamilysUnitDeviances(kind: Family.Kind) throws {
        let family = try Family(kind: kind, link: kind == .binomial ? .logit : .log)
        let code = try #require(RowPass.devianceKind(kind))
        for rows in [1, 8, 9, 384, 1_001] {
            var generator = SplitMix64(seed: UInt64(rows) &* 977 &+ UInt64(code))
            let y: [Double] = (0..<rows).map { _ in
                switch kind {
                case .binomial: return [0, 1, Double.random(in: 0...1, using: &generator)][Int.random(in: 0..<3, using: &generator)]
                case .poisson: return Double(Int.random(in: 0...4, using: &generator))
                default: return Double.random(in: 0.01..<20, using: &generator)
                }
            }
            let mu: [Double] = (0..<rows).map { row in
                if row == 3 { return kind == .binomial ? 1 : 0 }
                return kind == .binomial ? Double.random(in: 1e-9..<1, using: &generator) : Double.random(in: 0.05..<15, using: &generator)
            }
            let prior = (0..<rows).map { _ in Double.random(in: 0.5..<3, using: &generator) }
            for usePrior in [false, true] {
                var scratch = [Double](repeating: 0, count: 3 * rows)
                let sum = prior.withUnsafeBufferPointer { priorBuffer in
                    glm_deviance_sum(code, y, mu, usePrior ? priorBuffer.baseAddress : nil, &scratch, rows)
                }
                // The logs' arguments and the units as Family.unitDeviance writes them.
                var first = [Double](repeating: 1, count: rows), second = [Double](repeating: 1, count: rows)
                for r in 0..<rows {
                    switch kind {
                    case .binomial:
                        first[r] = y[r] != 0 ? y[r] / mu[r] : 1
                        second[r] = 1 - y[r] != 0 ? (1 - y[r]) / (1 - mu[r]) : 1
                    case .poisson: first[r] = y[r] > 0 ? y[r] / mu[r] : 1
                    default: first[r] = y[r] == 0 ? 1 : y[r] / mu[r]
                    }
                }
                glm_log(first, &first, rows)
                glm_log(second, &second, rows)
                var expected = 0.0, withLibm = 0.0
                for r in 0..<rows {
                    let weight = usePrior ? prior[r] : 1
                    let unit: Double
                    switch kind {
                    case .binomial:
                        unit = 2 * weight * ((y[r] != 0 ? y[r] * first[r] : 0) + (1 - y[r] != 0 ? (1 - y[r]) * second[r] : 0))
                    case .poisson:
                        unit = y[r] > 0 ? 2 * weight * (y[r] * first[r] - (y[r] - mu[r])) : 2 * mu[r] * weight
                    default:
                        unit = -2 * weight * (first[r] - (y[r] - mu[r]) / mu[r])
                    }
                    expected += unit
                    withLibm += family.unitDeviance(y: y[r], mu: mu[r], weight: weight)
                }
                #expect(sum.bitPattern == expected.bitPattern, "\(kind), \(rows) rows, prior \(usePrior)")
                if withLibm.isFinite {
                    #expect(abs(sum - withLibm) <= 1e-14 * abs(withLibm), "\(kind), \(rows) rows: \(sum) vs \(withLibm)")
                } else {
                    #expect(sum == withLibm || (sum.isNaN && withLibm.isNaN), "\(kind), \(rows) rows: \(sum) vs \(withLibm)")
                }
            }
        }
    }
}
