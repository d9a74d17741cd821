import Foundation
import CRmath

/// R's own distribution functions (libRmath), so p-values and likelihoods match R bit for bit
/// (but for the per-row densities of Poisson and Gamma AICs, within a few dozen units in the
/// last place: see `logDpois` and `GammaLogDensity`).
public enum Distributions {
    /// Upper or lower tail of the standard normal.
    public static func pnorm(_ x: Double, lowerTail: Bool = true) -> Double {
        rmath_pnorm(x, 0, 1, lowerTail ? 1 : 0, 0)
    }

    public static func qnorm(_ p: Double, lowerTail: Bool = true) -> Double {
        rmath_qnorm(p, 0, 1, lowerTail ? 1 : 0, 0)
    }

    public static func dnorm(_ x: Double) -> Double {
        rmath_dnorm(x, 0, 1, 0)
    }

    public static func pt(_ x: Double, df: Double, lowerTail: Bool = true) -> Double {
        CRmath.pt(x, df, lowerTail ? 1 : 0, 0)
    }

    public static func qt(_ p: Double, df: Double, lowerTail: Bool = true) -> Double {
        CRmath.qt(p, df, lowerTail ? 1 : 0, 0)
    }

    public static func pchisq(_ x: Double, df: Double, lowerTail: Bool = true) -> Double {
        CRmath.pchisq(x, df, lowerTail ? 1 : 0, 0)
    }

    public static func qchisq(_ p: Double, df: Double, lowerTail: Bool = true) -> Double {
        CRmath.qchisq(p, df, lowerTail ? 1 : 0, 0)
    }

    public static func pf(_ x: Double, df1: Double, df2: Double, lowerTail: Bool = true) -> Double {
        CRmath.pf(x, df1, df2, lowerTail ? 1 : 0, 0)
    }

    public static func pcauchy(_ x: Double) -> Double { CRmath.pcauchy(x, 0, 1, 1, 0) }
    public static func qcauchy(_ p: Double) -> Double { CRmath.qcauchy(p, 0, 1, 1, 0) }
    public static func dcauchy(_ x: Double) -> Double { CRmath.dcauchy(x, 0, 1, 0) }

    /// R's `R_nonint`: farther than 1e-7 (relative) from a whole number.
    public static func isNonInteger(_ x: Double) -> Bool {
        abs(x - x.rounded(.toNearestOrEven)) > 1e-7 * max(1, abs(x))
    }

    /// R's message for a count that is not a whole number (`dpois`, `dbinom`, `dnbinom`).
    public static func nonIntegerWarning(_ x: Double) -> String {
        "non-integer x = " + String(format: "%f", x)
    }

    /// log dbinom; -Inf for a non-integer count, as R (which also warns; the callers do).
    public static func logDbinom(_ x: Double, size: Double, prob: Double) -> Double {
        if isNonInteger(x) { return -.infinity }
        if isNonInteger(size) { return .nan }
        // One trial (a 0/1 response): for a probability away from 0 and 1, libRmath's
        // dbinom_raw returns log(1 - p) for a failure and log(p) for a success itself (its
        // saddle-point form only below 0.1): the same doubles (tested), without the call's
        // checks, most of a logistic AIC.
        if let argument = oneTrialLogArgument(x, size: size, prob: prob) { return Foundation.log(argument) }
        return rmathLogDbinom(x, size: size, prob: prob)
    }

    /// For one trial whose log density is a plain log (see `logDbinom`): that log's argument,
    /// 1 - p for a failure and p for a success; nil otherwise.
    @inline(__always)
    static func oneTrialLogArgument(_ x: Double, size: Double, prob: Double) -> Double? {
        guard size == 1 else { return nil }
        let q = 1 - prob
        if x == 0, prob >= 0.1, q > 0 { return q }
        if x == 1, q >= 0.1, prob > 0 { return prob }
        return nil
    }

    /// libRmath's own log dbinom (also for the test that compares `logDbinom` with it).
    static func rmathLogDbinom(_ x: Double, size: Double, prob: Double) -> Double {
        CRmath.dbinom(x, size, prob, 1)
    }

    /// log dpois; -Inf for a non-integer count, as R (which also warns; the callers do).
    public static func logDpois(_ x: Double, lambda: Double) -> Double {
        if isNonInteger(x) { return -.infinity }
        // log P(0; λ) = -λ, which is also exactly what libRmath returns for a zero count and a
        // positive finite λ; its general path costs ~130 ns a call, most of a Poisson AIC.
        if x == 0, lambda > 0, lambda.isFinite { return -lambda }
        // A small count: x log λ − λ − log x!, with log x! libRmath's own. One log instead of
        // libRmath's saddle-point form (~130 ns); it agrees with libRmath to within 20 units in
        // the last place of max(1, |log p|) (tested), which moves a Poisson AIC by ~1e-15. The
        // count is rounded first, as libRmath rounds one within 1e-7 of a whole number.
        let count = x.rounded(.toNearestOrEven)
        if count >= 1, count <= Double(smallCountLogFactorials.count - 1), lambda >= 1e-250, lambda <= 1e250 {
            return count * Foundation.log(lambda) - lambda - smallCountLogFactorials[Int(count)]
        }
        return rmathLogDpois(x, lambda: lambda)
    }

    /// log x! for the counts `logDpois` computes itself (0 to 10), from libRmath's lgamma.
    static let smallCountLogFactorials: [Double] = (0...10).map { CRmath.lgammafn(Double($0) + 1) }

    /// libRmath's own log dpois (also for the tests that compare `logDpois` with it).
    static func rmathLogDpois(_ x: Double, lambda: Double) -> Double {
        CRmath.dpois(x, lambda, 1)
    }

    /// Sends libRmath's printf() warnings to /dev/null (see CRmath/shim.h). For the
    /// executable, which writes its output to the file descriptor directly.
    public static func discardLibraryMessages() {
        rmath_discard_stdio_output()
    }

    public static func logDgamma(_ x: Double, shape: Double, scale: Double) -> Double {
        CRmath.dgamma(x, shape, scale, 1)
    }

    /// log dgamma for many values and scales with one shape (the terms of a Gamma AIC).
    ///
    /// For a shape k ≥ 1 libRmath writes the density in Poisson form, log f(y) = log p(k − 1;
    /// y/θ) − log θ with log p(x; λ) = −stirlerr(x) − ½ log(2πx) − bd0(x, λ). The first two
    /// terms do not depend on the row: here they come once from libRmath, and each row costs
    /// one bd0 (Loader's deviance term, below) and one log instead of ~370 ns of libRmath.
    /// Within 40 units in the last place of libRmath's value (tested) for shapes in (1, 20];
    /// other shapes, and values or scales that are not positive and finite, go to libRmath.
    public struct GammaLogDensity: Sendable {
        public let shape: Double
        /// −stirlerr(k − 1) − ½ log(2π(k − 1)); nil when every value goes to libRmath.
        private let constant: Double?

        public init(shape: Double) {
            self.shape = shape
            // libRmath's own log p(x; x), whose bd0 term is 0.
            constant = shape > 1 && shape <= 20 ? CRmath.dgamma(shape - 1, shape, 1, 1) : nil
        }

        public func callAsFunction(_ value: Double, scale: Double) -> Double {
            if let constant, value > 0, value.isFinite, scale > 0, scale.isFinite {
                let lambda = value / scale
                if lambda >= 1e-300, lambda <= 1e300 {
                    return constant - Distributions.poissonDeviancePart(shape - 1, mean: lambda) - Foundation.log(scale)
                }
            }
            return Distributions.logDgamma(value, shape: shape, scale: scale)
        }
    }

    /// Loader's bd0(x, m) = x log(x/m) + m − x, the deviance part of a Poisson log-density,
    /// without the cancellation of that formula when x is near m: there it is the series
    /// (x − m) v + 2x Σ v^(2j+1)/(2j+1), v = (x − m)/(x + m), added until it stops changing.
    static func poissonDeviancePart(_ x: Double, mean m: Double) -> Double {
        let difference = x - m
        guard abs(difference) < 0.1 * (x + m) else { return x * Foundation.log(x / m) + m - x }
        let v = difference / (x + m)
        let vSquared = v * v
        var sum = difference * v
        var term = 2 * x * v
        for j in 1...1000 {
            term *= vSquared
            let next = sum + term / Double(2 * j + 1)
            if next == sum { break }
            sum = next
        }
        return sum
    }

    public static func logDnbinomMu(_ x: Double, size: Double, mu: Double) -> Double {
        if isNonInteger(x) { return -.infinity }
        return CRmath.dnbinom_mu(x, size, mu, 1)
    }

    public static func lgamma(_ x: Double) -> Double { CRmath.lgammafn(x) }
    public static func digamma(_ x: Double) -> Double { CRmath.digamma(x) }
    public static func trigamma(_ x: Double) -> Double { CRmath.trigamma(x) }
}
