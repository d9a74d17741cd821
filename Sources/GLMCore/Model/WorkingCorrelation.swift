import Foundation

/// The working correlation structure of a GEE (geepack's `corstr`).
public enum CorrelationStructure: String, CaseIterable, Sendable {
    /// R = I: no parameter.
    case independence
    /// R_jk = alpha for j ≠ k: one parameter.
    case exchangeable
    /// R_jk = alpha^|t_j − t_k| with t the wave number: one parameter.
    case ar1
    /// R_jk = alpha_{t_j t_k}: one parameter per pair of waves, K(K − 1)/2 in all.
    case unstructured

    /// Accepts the CLI names and geepack's unambiguous abbreviations (R's `pmatch`:
    /// `"exch"`, `"unstr"`, `"ind"`, …).
    public init?(name: String) {
        if let exact = CorrelationStructure(rawValue: name) {
            self = exact
            return
        }
        let matches = CorrelationStructure.allCases.filter { !name.isEmpty && $0.rawValue.hasPrefix(name) }
        guard matches.count == 1 else { return nil }
        self = matches[0]
    }

    /// Whether the order of observations inside a cluster (the waves) matters.
    public var usesWaves: Bool { self == .ar1 || self == .unstructured }
}

/// The working correlation of one cluster: R from the correlation parameters and the
/// waves, and for each pair (j, k), j < k, the one parameter R_jk depends on with
/// dR_jk/dalpha (geepack's `cor.mat` and `E = cor_rho`).
///
/// Every structure here makes R_jk depend on a single parameter, so dR/dalpha has one
/// non-zero entry per pair.
struct WorkingCorrelation {
    let structure: CorrelationStructure
    /// The number of distinct waves K (unstructured).
    let waveCount: Int

    /// The number of correlation parameters.
    var parameterCount: Int {
        switch structure {
        case .independence: return 0
        case .exchangeable, .ar1: return 1
        case .unstructured: return waveCount * (waveCount - 1) / 2
        }
    }

    /// The parameter of waves a < b (1-based codes), in geepack's order
    /// (1:2, 1:3, …, 1:K, 2:3, …).
    func pairIndex(_ a: Int, _ b: Int) -> Int {
        let k = waveCount
        return (a - 1) * k - (a - 1) * a / 2 + (b - a) - 1
    }

    /// geepack's labels: "alpha" or "alpha.a:b".
    func parameterLabels() -> [String] {
        switch structure {
        case .independence: return []
        case .exchangeable, .ar1: return ["alpha"]
        case .unstructured:
            var labels: [String] = []
            for a in 1..<max(waveCount, 1) {
                for b in (a + 1)...waveCount { labels.append("alpha.\(a):\(b)") }
            }
            return labels
        }
    }

    /// The wave codes (a, b) of each unstructured parameter.
    func parameterWaves() -> [(Int, Int)] {
        guard structure == .unstructured, waveCount >= 2 else { return [] }
        var pairs: [(Int, Int)] = []
        for a in 1..<waveCount {
            for b in (a + 1)...waveCount { pairs.append((a, b)) }
        }
        return pairs
    }

    /// R_jk, the parameter index it depends on and dR_jk/dalpha for waves t_j < t_k
    /// (ar1 uses the distance; unstructured the pair).
    @inline(__always)
    func pair(_ waveJ: Int, _ waveK: Int, alpha: [Double]) -> (rho: Double, parameter: Int, derivative: Double) {
        switch structure {
        case .independence:
            return (0, 0, 0)
        case .exchangeable:
            return (alpha[0], 0, 1)
        case .ar1:
            let distance = Double(abs(waveK - waveJ))
            let rho = Foundation.pow(alpha[0], distance)
            let derivative = distance == 1 ? 1 : distance * Foundation.pow(alpha[0], distance - 1)
            return (rho, 0, derivative)
        case .unstructured:
            let index = pairIndex(min(waveJ, waveK), max(waveJ, waveK))
            return (alpha[index], index, 1)
        }
    }

    /// The working correlation matrix of a cluster with the given wave codes.
    func matrix(waves: ArraySlice<Int>, alpha: [Double]) -> SmallMatrix {
        let size = waves.count
        var r = SmallMatrix.identity(size)
        guard structure != .independence, size > 1 else { return r }
        let base = waves.startIndex
        for j in 0..<(size - 1) {
            for k in (j + 1)..<size {
                let rho = pair(waves[base + j], waves[base + k], alpha: alpha).rho
                r[j, k] = rho
                r[k, j] = rho
            }
        }
        return r
    }
}
