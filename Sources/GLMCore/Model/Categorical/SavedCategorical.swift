import Foundation

/// The parameters of a saved multinomial or ordinal model, beside the shared recipes of its
/// model-matrix columns (`SavedModel.coefficients`, whose `estimate`s are null for these
/// kinds: the estimates are here, one row per equation).
public struct CategoricalParameters: Sendable, Equatable {
    public let kind: ModelKind
    /// The response's levels, in order (the columns `prob_<level>`).
    public let levels: [String]
    /// The ordinal link; nil for multinomial.
    public let link: OrdinalLink?
    /// Multinomial: one row per non-baseline level, over the saved columns. Ordinal: one row,
    /// the location coefficients over the saved columns (0 for an intercept column, which
    /// the thresholds replace).
    public let estimates: [[Double]]
    /// The ordinal thresholds ζ_1 < … < ζ_{K−1}; empty for multinomial.
    public let thresholds: [Double]

    /// The probability of every level for one row of the model matrix (over the saved
    /// columns) and its offset.
    public func probabilities(x: UnsafeBufferPointer<Double>, offset: Double) -> [Double] {
        func dot(_ row: [Double]) -> Double {
            var sum = 0.0
            for j in 0..<min(row.count, x.count) { sum += x[j] * row[j] }
            return sum
        }
        switch kind {
        case .ordinal:
            return Ordinal.probabilities(
                eta: offset + dot(estimates.first ?? []), thresholds: thresholds, link: link ?? .logit)
        default:
            return Multinomial.probabilities(eta: estimates.map(dot))
        }
    }

    var json: JSONText {
        .object([
            ("levels", .array(levels.map { .string($0) })),
            ("link", link.map { .string($0.rawValue) } ?? .null),
            ("estimates", .array(estimates.map { row in .array(row.map { .number($0) }) })),
            ("thresholds", .array(thresholds.map { .number($0) })),
        ])
    }

    /// Reads the `categorical` member of a model file whose `model` is `kind`.
    init(json value: JSONText, kind: ModelKind, columnCount: Int, invalid: (String) -> GLMError) throws {
        guard case let .array(levelValues)? = value["levels"] else { throw invalid("'categorical' needs 'levels'") }
        let levels = try levelValues.map { item -> String in
            guard case let .string(text) = item else { throw invalid("the levels must be strings") }
            return text
        }
        guard levels.count >= (kind == .ordinal ? 3 : 2), Set(levels).count == levels.count else {
            throw invalid("the response needs distinct levels (\(kind == .ordinal ? 3 : 2) or more)")
        }
        func numbers(_ item: JSONText) throws -> [Double] {
            guard case let .array(values) = item else { throw invalid("estimates must be arrays of numbers") }
            return try values.map { number in
                guard case let .number(x) = number, x.isFinite else { throw invalid("estimates must be finite numbers") }
                return x
            }
        }
        guard case let .array(rows)? = value["estimates"] else { throw invalid("'categorical' needs 'estimates'") }
        let estimates = try rows.map(numbers)
        let thresholds = try value["thresholds"].map(numbers) ?? []
        var link: OrdinalLink?
        switch kind {
        case .ordinal:
            guard case let .string(name)? = value["link"], let parsed = OrdinalLink(name: name) else {
                throw invalid("an ordinal model needs a link (\(OrdinalLink.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            link = parsed
            guard estimates.count == 1, thresholds.count == levels.count - 1,
                  zip(thresholds, thresholds.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw invalid("an ordinal model needs one row of estimates and \(levels.count - 1) increasing thresholds")
            }
        default:
            guard estimates.count == levels.count - 1 else {
                throw invalid("a multinomial model needs one row of estimates per level but the first")
            }
        }
        guard estimates.allSatisfy({ $0.count == columnCount }) else {
            throw invalid("each row of estimates needs one value per coefficient column (\(columnCount))")
        }
        self.kind = kind
        self.levels = levels
        self.link = link
        self.estimates = estimates
        self.thresholds = thresholds
    }

    init(fit: CategoricalFit) {
        kind = fit.kind
        levels = fit.levels
        link = fit.link
        let columns = fit.design.columnNames
        switch fit.kind {
        case .ordinal:
            let location = Dictionary(uniqueKeysWithValues: zip(fit.columnNames, fit.estimates))
            estimates = [columns.map { location[$0] ?? 0 }]
            thresholds = Array(fit.estimates[fit.columnNames.count...])
        default:
            let p = columns.count
            estimates = (0..<(fit.levels.count - 1)).map { k in Array(fit.estimates[(k * p)..<((k + 1) * p)]) }
            thresholds = []
        }
    }
}

extension SavedModel {
    /// Describes a multinomial or ordinal fit for saving: the shared recipes of its columns
    /// (estimates null) and its parameters in `categorical`.
    public init(report: CategoricalReport) throws {
        let fit = report.fit
        let design = fit.design
        let frame = design.frame
        let terms = frame.terms
        let (variables, layout) = try SavedModel.describeVariables(of: design)
        let columns = try SavedModel.describeColumns(of: terms, variables: variables, inputTypes: report.input?.columnTypes ?? [:])
        self.glmfitVersion = GLMFitVersion
        self.formula = terms.formula.deparsed
        // Unused for these kinds (written as the kind's name): the GLM family they extend.
        self.family = .binomial
        self.link = .logit
        self.theta = nil
        self.response = frame.responseLabel
        self.weightsColumn = frame.weightsColumn
        self.naTokens = report.input?.naTokens ?? CSVOptions.defaultNATokens
        self.columns = columns
        self.variables = variables
        self.hasIntercept = terms.hasIntercept
        self.terms = SavedModel.savedTerms(terms, layout: layout, design: design)
        self.offsets = try terms.offsets.map { try $0.savedText() }
        self.coefficients = design.columnNames.enumerated().map { column, name in
            Coefficient(name: name, term: design.assign[column], estimate: nil, parts: layout.parts[column])
        }
        self.vcov = []
        self.dispersion = .nan
        self.dispersionEstimated = false
        self.rank = fit.parameterCount
        self.dfResidual = 0
        self.observationCount = fit.observationCount
        self.deviance = fit.deviance
        self.categorical = CategoricalParameters(fit: fit)
        self.bases = frame.bases
    }
}
