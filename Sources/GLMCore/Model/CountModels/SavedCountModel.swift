import Foundation

/// The parameters of a saved zero-inflated or hurdle model beyond its count part, which is
/// the saved model itself (a log-link poisson or negative binomial GLM's recipes,
/// estimates and covariance block): the count distribution, the zero part's link, θ, and
/// the zero part as a saved binomial GLM of its own (its own variables, offsets, constants
/// and bases, over the same data columns).
public struct TwoPartParameters: Sendable, Equatable {
    /// A saved model holds at most one zero part; the class gives the recursion its indirection.
    final class ZeroPart: Sendable, Equatable {
        let model: SavedModel
        init(_ model: SavedModel) { self.model = model }
        static func == (a: ZeroPart, b: ZeroPart) -> Bool { a.model == b.model }
    }

    public let kind: ModelKind
    public let distribution: CountDistribution
    public let zeroLink: ZeroLink
    /// θ of a negative binomial count part; 1 for geometric; nil for poisson.
    public let theta: Double?
    private let zeroPart: ZeroPart

    /// The zero part: `zero` in the model file, a binomial GLM with the zero link.
    public var zero: SavedModel { zeroPart.model }

    init(kind: ModelKind, distribution: CountDistribution, zeroLink: ZeroLink, theta: Double?, zero: SavedModel) {
        self.kind = kind
        self.distribution = distribution
        self.zeroLink = zeroLink
        self.theta = theta
        zeroPart = ZeroPart(zero)
    }

    var json: JSONText {
        .object([
            ("distribution", .string(distribution.rawValue)),
            ("zero_link", .string(zeroLink.rawValue)),
            ("theta", .number(theta)),
            ("zero", zero.json),
        ])
    }

    /// Reads the `two_part` member of a model file whose `model` is `kind` and whose own
    /// (count) part is `count`; `zeroModel` reads the embedded zero part.
    init(
        json value: JSONText, kind: ModelKind, count: SavedModel, zeroModel: (JSONText) throws -> SavedModel,
        invalid: (String) -> GLMError
    ) throws {
        guard case let .string(distributionName)? = value["distribution"],
              let distribution = CountDistribution(rawValue: distributionName) else {
            throw invalid("'two_part' needs a 'distribution': poisson, negbin or geometric")
        }
        guard case let .string(linkName)? = value["zero_link"], let zeroLink = ZeroLink(rawValue: linkName) else {
            throw invalid("'two_part' needs a 'zero_link': \(ZeroLink.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var theta: Double?
        switch value["theta"] {
        case let .number(number)?: theta = number
        case nil, .null?: theta = nil
        default: throw invalid("'two_part': 'theta' is not a number or null")
        }
        switch distribution {
        case .poisson:
            guard count.family == .poisson, theta == nil else {
                throw invalid("a poisson count part is saved as family poisson without theta")
            }
        case .negativeBinomial, .geometric:
            guard count.family == .negativeBinomial, let theta, theta > 0, theta.isFinite, theta == count.theta,
                  distribution == .negativeBinomial || theta == 1 else {
                throw invalid("a \(distribution.rawValue) count part is saved as family negative-binomial with its positive theta (1 for geometric) in both places")
            }
        }
        guard count.link == .log else { throw invalid("the count part's link is log (got '\(count.link.name)')") }
        guard let zeroValue = value["zero"] else { throw invalid("'two_part' needs the zero part ('zero')") }
        let zero = try zeroModel(zeroValue)
        guard zero.family == .binomial, zero.link.name == zeroLink.rawValue else {
            throw invalid("the zero part is saved as a binomial model with the zero link '\(zeroLink.rawValue)'")
        }
        guard zero.coefficients.allSatisfy({ $0.estimate != nil }), count.coefficients.allSatisfy({ $0.estimate != nil }) else {
            throw invalid("every coefficient of \(kind.withArticle) model needs an estimate")
        }
        self.init(kind: kind, distribution: distribution, zeroLink: zeroLink, theta: theta, zero: zero)
    }

    /// The expected count (`--type response`), the zero part's probability (`zero`) or the
    /// count part's mean (`count`) from the two linear predictors, as pscl's predict.
    func prediction(etaCount: Double, etaZero: Double, scale: PredictionScale) -> Double {
        let mu = Foundation.exp(etaCount)
        if scale == .count { return mu }
        let parts = CountModelFit.predictions(
            mu: mu, probability: zeroLink.inverse(etaZero).value, kind: kind, distribution: distribution, theta: theta)
        return scale == .zero ? parts.zero : parts.response
    }
}

extension SavedModel {
    /// Describes a zero-inflated or hurdle fit for saving: the count part as the model (a
    /// log-link GLM of the count distribution, its block of the covariance), the zero part as
    /// a binomial GLM with the zero link in `two_part` (its block of the covariance).
    public init(report: CountModelReport) throws {
        let fit = report.fit
        let p = fit.countColumnCount
        let q = fit.zeroColumnCount
        func block(_ range: Range<Int>) -> [[Double]] { range.map { i in range.map { j in fit.covariance[i][j] } } }
        let theta: Double? = fit.distribution == .geometric ? 1 : fit.theta
        let residualDf = fit.observationCount - fit.parameterCount
        try self.init(
            part: fit.countDesign, estimates: Array(fit.estimates[0..<p]), covariance: block(0..<p),
            family: fit.distribution == .poisson ? .poisson : .negativeBinomial, link: .log, theta: theta,
            input: report.input, observationCount: fit.observationCount, rank: fit.parameterCount, dfResidual: residualDf)
        guard let zeroLink = Link(name: fit.zeroLink.rawValue) else {
            throw GLMError.fitFailed(message: "internal error: the zero link '\(fit.zeroLink.rawValue)' has no saved name")
        }
        let zero = try SavedModel(
            part: fit.zeroDesign, estimates: Array(fit.estimates[p..<(p + q)]), covariance: block(p..<(p + q)),
            family: .binomial, link: zeroLink, theta: nil, input: report.input, observationCount: fit.observationCount,
            rank: fit.parameterCount, dfResidual: residualDf)
        formula = formula + " | " + Pipeline.rightHandSide(zero.formula)
        twoPart = TwoPartParameters(
            kind: fit.kind, distribution: fit.distribution, zeroLink: fit.zeroLink, theta: theta, zero: zero)
    }

    /// One part of a two-part fit as a GLM's saved model: recipes of its design's columns,
    /// every estimate (these fits have no aliased columns), its covariance block.
    private init(
        part design: Design, estimates: [Double], covariance: [[Double]], family: Family.Kind, link: Link, theta: Double?,
        input: InputDescription?, observationCount: Int, rank: Int, dfResidual: Int
    ) throws {
        let frame = design.frame
        let terms = frame.terms
        let (variables, layout) = try SavedModel.describeVariables(of: design)
        self.glmfitVersion = GLMFitVersion
        self.formula = terms.formula.deparsed
        self.family = family
        self.link = link
        self.theta = theta
        self.response = frame.responseLabel
        self.weightsColumn = frame.weightsColumn
        self.naTokens = input?.naTokens ?? CSVOptions.defaultNATokens
        self.columns = try SavedModel.describeColumns(of: terms, variables: variables, inputTypes: input?.columnTypes ?? [:])
        self.variables = variables
        self.hasIntercept = terms.hasIntercept
        self.terms = SavedModel.savedTerms(terms, layout: layout, design: design)
        self.offsets = try terms.offsets.map { try $0.savedText() }
        self.constants = frame.constants
        self.coefficients = design.columnNames.enumerated().map { column, name in
            Coefficient(name: name, term: design.assign[column], estimate: estimates[column], parts: layout.parts[column])
        }
        self.vcov = covariance
        self.dispersion = 1
        self.dispersionEstimated = false
        self.rank = rank
        self.dfResidual = dfResidual
        self.observationCount = observationCount
        self.deviance = .nan
        self.bases = frame.bases
    }
}
