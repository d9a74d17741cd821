/// How a factor of the model is coded, for the reports: its levels in the order the fit
/// used (R's collation order, or `--ref`'s), and the level that has no column of its own.
public struct FactorCoding: Sendable, Equatable {
    /// R's name of the variable (`Origin`, `factor(cyl)`), the start of its columns' names.
    public let variable: String
    public let levels: [String]
    /// The level without a column of its own under its contrasts (treatment: the base,
    /// SAS: the last). Nil for contrasts without one (sum, Helmert, polynomial) and when no
    /// term codes the factor by contrasts (without an intercept R gives every level a column).
    public let reference: String?
    /// R's name of its contrasts (`contr.treatment`, `contr.sum`...).
    public let contrasts: String
    /// False when no term codes it by its contrasts (every level has a column).
    public var contrasted = true
}

/// A factor response (text or logical): the first level is 0, "failure" for a binomial
/// model, every other level 1, "success", as R's `binomial()$initialize` codes it.
public struct ResponseLevels: Sendable, Equatable {
    public let variable: String
    public let levels: [String]
    public var failure: String { levels.first ?? "" }
    public var success: [String] { Array(levels.dropFirst()) }
}

extension Design {
    /// Every factor among the model's predictors, in the formula's order.
    public var factorCodings: [FactorCoding] {
        let terms = frame.terms
        // As `Design.init`: without an intercept, the first factor of the first term with a
        // factor is coded by indicators of all its levels in that term.
        var fullCoding: (term: Int, variable: Int)?
        if !terms.hasIntercept {
            search: for (termIndex, term) in terms.terms.enumerated() {
                for variable in term where variable < frame.variables.count {
                    if case .factor = frame.variables[variable] {
                        fullCoding = (termIndex, variable)
                        break search
                    }
                }
            }
        }
        let labels = terms.variableLabels
        var codings: [FactorCoding] = []
        for (variable, values) in frame.variables.enumerated() {
            guard case let .factor(_, levels, _) = values, variable < labels.count else { continue }
            let containing = terms.terms.indices.filter { terms.terms[$0].contains(variable) }
            guard !containing.isEmpty else { continue }
            let contrasted = containing.contains { term in
                !(fullCoding.map { $0 == (term, variable) } ?? false) && terms.usesContrasts(variable: variable, inTerm: term)
            }
            let attributes = variable < frame.attributes.count ? frame.attributes[variable] : VariableAttributes()
            let spec = frame.defaultContrasts.spec(for: attributes)
            codings.append(FactorCoding(
                variable: labels[variable], levels: levels, reference: contrasted ? spec.reference(levels: levels) : nil,
                contrasts: spec.name, contrasted: contrasted))
        }
        return codings
    }

    /// The response's levels when it is a factor; nil for a numeric or cbind() response.
    public var responseLevels: ResponseLevels? {
        guard case let .factor(_, levels, _) = frame.response else { return nil }
        return ResponseLevels(variable: frame.responseLabel, levels: levels)
    }
}
