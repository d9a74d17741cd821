import Testing
@testable import GLMCore

@Suite("Distributions: shortcuts agree with libRmath bit for bit")
struct DistributionsTests {
    /// λ over the whole positive range: the edges, and random bit patterns of positive finite
    /// doubles (subnormals to 1.8e308).
    static func lambdas() -> [Double] {
        var generator = SplitMix64(seed: 20_261_122)
        var values: [Double] = [
            .leastNonzeroMagnitude, .leastNormalMagnitude, 1e-300, 1e-20, 1e-8, 0.1, 0.5, 1, 1.5, 2, 10, 1e8, 1e300,
            .greatestFiniteMagnitude,
        ]
        while values.count < 20_000 {
            let value = Double(bitPattern: generator.next() & 0x7FFF_FFFF_FFFF_FFFF)
            if value.isFinite, value > 0 { values.append(value) }
            // And λ where fitted Poisson means usually are.
            values.append(Double.random(in: 1e-3...50, using: &generator))
        }
        return values
    }

    @Test("log dpois of a zero count is libRmath's, for every positive finite λ")
    func zeroCount() {
        var mismatches: [Double] = []
        for lambda in DistributionsTests.lambdas() {
            let fast = Distributions.logDpois(0, lambda: lambda)
            let library = Distributions.rmathLogDpois(0, lambda: lambda)
            if fast.bitPattern != library.bitPattern { mismatches.append(lambda) }
        }
        #expect(mismatches.isEmpty, "first λ that differs: \(mismatches.first ?? 0)")
    }

    @Test("λ of zero, infinity or NaN, and counts above zero, go to libRmath")
    func otherArguments() {
        for lambda in [0.0, .infinity, .nan, -1] {
            let fast = Distributions.logDpois(0, lambda: lambda)
            let library = Distributions.rmathLogDpois(0, lambda: lambda)
            #expect(fast.bitPattern == library.bitPattern || (fast.isNaN && library.isNaN), "λ = \(lambda)")
        }
        for count in [1.0, 2, 7, 150] {
            #expect(Distributions.logDpois(count, lambda: 1.3) == Distributions.rmathLogDpois(count, lambda: 1.3))
        }
        #expect(Distributions.logDpois(0.5, lambda: 1) == -.infinity)
    }
}
