import Foundation
import Testing
@testable import GLMCore

@Suite("Distributions: shortcuts agree with libRmath")
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

    /// A 0/1 response's log dbinom, where it is log(p) or log(1 - p), for probabilities over
    /// the whole unit interval and the edges of the shortcut (0.1 and 0.9 and their neighbours).
    @Test("log dbinom of one trial is libRmath's, to the bit")
    func oneTrial() {
        var generator = SplitMix64(seed: 20_261_123)
        var probabilities: [Double] = [0, 1, 0.1, 0.9, 0.5, .nan, -0.1, 1.1, 1e-300, 1 - 1e-16]
        for edge in [0.1, 0.9, 1 - 0.9, 1 - 0.1] {
            probabilities += [edge.nextDown, edge, edge.nextUp, edge.nextUp.nextUp, edge.nextDown.nextDown]
        }
        while probabilities.count < 40_000 {
            probabilities.append(Double.random(in: 0...1, using: &generator))
            probabilities.append(Double(bitPattern: generator.next() & 0x3FEF_FFFF_FFFF_FFFF))
        }
        var mismatches: [(Double, Double)] = []
        for prob in probabilities {
            for x in [0.0, 1.0] {
                let fast = Distributions.logDbinom(x, size: 1, prob: prob)
                let library = Distributions.rmathLogDbinom(x, size: 1, prob: prob)
                if fast.bitPattern != library.bitPattern, !(fast.isNaN && library.isNaN) { mismatches.append((x, prob)) }
            }
        }
        #expect(mismatches.isEmpty, "first (x, p) that differs: \(String(describing: mismatches.first))")
        #expect(Distributions.logDbinom(2, size: 3, prob: 0.4) == Distributions.rmathLogDbinom(2, size: 3, prob: 0.4))
    }

    /// The binomial AIC takes its one-trial logs a block at a time by glm_log and the other
    /// rows' by logDbinom; its sum is the row-by-row one within a few units in the last place,
    /// for 0/1 rows beside rows of several trials, of no trials, and means near 0 and 1 (where
    /// logDbinom is libRmath's), with and without trial counts.
    @Test("binomial AIC by blocks equals the row-by-row sum")
    func binomialAICByBlocks() throws {
        var generator = SplitMix64(seed: 20_261_206)
        let family = try Family(kind: .binomial)
        let rowCount = 5_003
        var y: [Double] = [], mu: [Double] = [], weights: [Double] = [], totals: [Double] = []
        for row in 0..<rowCount {
            let kind = row % 7
            let trials: Double = kind == 5 ? 0 : kind == 6 ? Double(1 + row % 4) : 1
            let prob = kind == 4 ? Double.random(in: 1e-6...0.09, using: &generator) : Double.random(in: 0.01...0.99, using: &generator)
            let successes = (0...Int(trials)).randomElement(using: &generator) ?? 0
            y.append(trials > 0 ? Double(successes) / trials : 0)
            mu.append(prob)
            weights.append(trials == 0 ? 0 : Double.random(in: 0.5...2, using: &generator) * trials)
            totals.append(trials)
        }
        for useTotals in [false, true] {
            let counts = useTotals ? totals : weights.map { $0 > 0 ? 1 : 0 }
            let priorWeights = useTotals ? weights : counts
            var expected = 0.0
            for row in 0..<rowCount where counts[row] > 0 {
                let trials = counts[row]
                expected += priorWeights[row] / trials * Distributions.logDbinom(
                    (trials * y[row]).rounded(.toNearestOrEven), size: trials.rounded(.toNearestOrEven), prob: mu[row])
            }
            let aic = try #require(family.aic(y: y, binomialTotals: counts, mu: mu, weights: priorWeights, deviance: 1))
            #expect(abs(aic - -2 * expected) <= 1e-13 * abs(expected), "trial counts: \(useTotals)")
        }
    }

    @Test("λ of zero, infinity or NaN, and counts above zero, go to libRmath")
    func otherArguments() {
        for lambda in [0.0, .infinity, .nan, -1] {
            let fast = Distributions.logDpois(0, lambda: lambda)
            let library = Distributions.rmathLogDpois(0, lambda: lambda)
            #expect(fast.bitPattern == library.bitPattern || (fast.isNaN && library.isNaN), "λ = \(lambda)")
        }
        for count in [11.0, 12, 150, 1e6] {
            #expect(Distributions.logDpois(count, lambda: 1.3) == Distributions.rmathLogDpois(count, lambda: 1.3))
        }
        for lambda in [1e-260, 1e260] {
            #expect(Distributions.logDpois(3, lambda: lambda) == Distributions.rmathLogDpois(3, lambda: lambda))
        }
        #expect(Distributions.logDpois(0.5, lambda: 1) == -.infinity)
    }

    @Test("log dpois of counts 1 to 10 within 20 units in the last place of libRmath's")
    func smallCounts() {
        var worst = 0.0
        var worstCase = (0.0, 0.0)
        for lambda in DistributionsTests.lambdas() where lambda >= 1e-250 && lambda <= 1e250 {
            for count in 1...10 {
                // Near-integer counts are rounded first, as libRmath does.
                for x in [Double(count), Double(count) * (1 + 5e-8)] {
                    let fast = Distributions.logDpois(x, lambda: lambda)
                    let library = Distributions.rmathLogDpois(x, lambda: lambda)
                    let error = abs(fast - library) / max(1, abs(library))
                    if !(error <= worst) { worst = error; worstCase = (x, lambda) }
                }
            }
        }
        #expect(worst <= 20 * Double.ulpOfOne, "worst \(worst) at x = \(worstCase.0), λ = \(worstCase.1)")
    }

    @Test("log dgamma for shapes in (1, 20] within 40 units in the last place of libRmath's")
    func gammaShapes() {
        var generator = SplitMix64(seed: 20_261_123)
        var worst = 0.0
        var worstCase = (0.0, 0.0, 0.0)
        for shape in [1.0001, 1.2, 1.5, 1.85, 2, 3.7, 10, 19.5, 20] {
            let logDensity = Distributions.GammaLogDensity(shape: shape)
            for index in 0..<20_000 {
                // Values near the mode and far from it, over twenty orders of magnitude of scale.
                let scale = Foundation.exp(Double.random(in: -23...23, using: &generator))
                let spread = index % 3 == 0 ? 8.0 : 1.0
                let lambda = (shape - 1) * Foundation.exp(Double.random(in: -spread...spread, using: &generator))
                let value = lambda * scale
                let fast = logDensity(value, scale: scale)
                let library = Distributions.logDgamma(value, shape: shape, scale: scale)
                let error = abs(fast - library) / max(1, abs(library))
                if !(error <= worst) { worst = error; worstCase = (shape, value, scale) }
            }
        }
        #expect(worst <= 40 * Double.ulpOfOne, "worst \(worst) at shape, value, scale = \(worstCase)")
    }

    @Test("log dgamma of other shapes and of values or scales out of range is libRmath's")
    func gammaOtherArguments() {
        for shape in [0.5, 1, 20.5, 1e4, .infinity, .nan] {
            let logDensity = Distributions.GammaLogDensity(shape: shape)
            for (value, scale) in [(0.7, 1.3), (3.0, 0.2)] {
                let fast = logDensity(value, scale: scale)
                let library = Distributions.logDgamma(value, shape: shape, scale: scale)
                #expect(fast.bitPattern == library.bitPattern || (fast.isNaN && library.isNaN), "shape \(shape)")
            }
        }
        let logDensity = Distributions.GammaLogDensity(shape: 2.5)
        for (value, scale) in [(0.0, 1.0), (-1, 1), (.infinity, 1), (.nan, 1), (1, 0), (1, .infinity), (1e-310, 1e10)] {
            let fast = logDensity(value, scale: scale)
            let library = Distributions.logDgamma(value, shape: 2.5, scale: scale)
            #expect(fast.bitPattern == library.bitPattern || (fast.isNaN && library.isNaN), "value \(value) scale \(scale)")
        }
    }
}
