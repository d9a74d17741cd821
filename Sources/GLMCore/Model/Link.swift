import Foundation

/// A link function g with mu = g⁻¹(eta), clamped exactly as R's `make.link` clamps.
public enum Link: String, CaseIterable, Sendable {
    case identity, log, logit, probit, cloglog, cauchit, inverse, sqrt
    case inverseSquared = "1/mu^2"

    /// Accepts R's names and the CLI alias `inverse-squared`.
    public init?(name: String) {
        switch name {
        case "inverse-squared", "inverse_squared", "1/mu^2": self = .inverseSquared
        default:
            guard let link = Link(rawValue: name) else { return nil }
            self = link
        }
    }

    public var name: String { rawValue }

    static let epsilon = Double.ulpOfOne
    // R's logit clamps: exp(eta) is held in [eps, 1/eps] beyond |eta| = 30.
    private static let logitThreshold = 30.0
    private static let probitThreshold = -Distributions.qnorm(Double.ulpOfOne)
    private static let cauchitThreshold = -Distributions.qcauchy(Double.ulpOfOne)

    /// eta = g(mu).
    @inline(__always)
    public func linkfun(_ mu: Double) -> Double {
        switch self {
        case .identity: return mu
        case .log: return Foundation.log(mu)
        case .logit: return Foundation.log(mu / (1 - mu))
        case .probit: return Distributions.qnorm(mu)
        case .cloglog: return Foundation.log(-Foundation.log(1 - mu))
        case .cauchit: return Distributions.qcauchy(mu)
        case .inverse: return 1 / mu
        case .sqrt: return mu.squareRoot()
        case .inverseSquared: return 1 / (mu * mu)
        }
    }

    /// mu = g⁻¹(eta).
    @inline(__always)
    public func linkinv(_ eta: Double) -> Double {
        switch self {
        case .identity: return eta
        case .log: return Swift.max(Foundation.exp(eta), Link.epsilon)
        case .logit:
            let clamped = eta < -Link.logitThreshold ? Link.epsilon
                : (eta > Link.logitThreshold ? 1 / Link.epsilon : Foundation.exp(eta))
            return clamped / (1 + clamped)
        case .probit:
            let bounded = Swift.min(Swift.max(eta, -Link.probitThreshold), Link.probitThreshold)
            return Distributions.pnorm(bounded)
        case .cloglog:
            let value = -Foundation.expm1(-Foundation.exp(eta))
            return Swift.max(Swift.min(value, 1 - Link.epsilon), Link.epsilon)
        case .cauchit:
            let bounded = Swift.min(Swift.max(eta, -Link.cauchitThreshold), Link.cauchitThreshold)
            return Distributions.pcauchy(bounded)
        case .inverse: return 1 / eta
        case .sqrt: return eta * eta
        case .inverseSquared: return 1 / eta.squareRoot()
        }
    }

    /// d mu / d eta.
    @inline(__always)
    public func muEta(_ eta: Double) -> Double {
        switch self {
        case .identity: return 1
        case .log: return Swift.max(Foundation.exp(eta), Link.epsilon)
        case .logit:
            let expEta = Foundation.exp(eta)
            let onePlus = 1 + expEta
            return (eta > Link.logitThreshold || eta < -Link.logitThreshold) ? Link.epsilon : expEta / (onePlus * onePlus)
        case .probit: return Swift.max(Distributions.dnorm(eta), Link.epsilon)
        case .cloglog:
            let bounded = Swift.min(eta, 700)
            return Swift.max(Foundation.exp(bounded) * Foundation.exp(-Foundation.exp(bounded)), Link.epsilon)
        case .cauchit: return Swift.max(Distributions.dcauchy(eta), Link.epsilon)
        case .inverse: return -1 / (eta * eta)
        case .sqrt: return 2 * eta
        case .inverseSquared: return -1 / (2 * Foundation.pow(eta, 1.5))
        }
    }

    /// R's `valideta`: inverse needs eta ≠ 0, 1/mu^2 and sqrt need eta > 0, all finite.
    @inline(__always)
    public func isValid(eta: Double) -> Bool {
        switch self {
        case .inverse: return eta.isFinite && eta != 0
        case .inverseSquared, .sqrt: return eta.isFinite && eta > 0
        default: return true
        }
    }

}
