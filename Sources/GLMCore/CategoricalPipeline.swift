import Foundation

/// The multinomial and ordinal kinds' path: the shared read → frame → design stages, then
/// the kind's own fit (see `ModelKind` for the plug-in shape).
extension Pipeline {
    /// Refuses, with a message, each option that does not apply to a multinomial or
    /// ordinal fit.
    static func refuseInapplicableOptions(_ request: FitRequest, kind: ModelKind) throws {
        let message = "does not apply to \(kind.withArticle) model"
        let options: [(String, Bool)] = [
            ("--theta", request.theta != nil), ("--vcov", request.vcov != nil), ("--cluster", request.clusterColumn != nil),
            ("--ci profile", request.intervalMethod == .profile), ("--anova", request.anova), ("--drop1", request.dropOne),
            ("--dispersion-test", request.dispersionTest), ("--chunk-rows", request.chunkRows != nil),
            ("--link", kind == .multinomial && request.link != nil && request.link?.lowercased() != "logit"),
        ]
        for (option, given) in options where given {
            throw GLMError.invalidOption(name: option, message: message)
        }
        if request.frequencyWeightsColumn != nil, kind == .zeroInflated || kind == .hurdle {
            throw GLMError.invalidOption(
                name: "--frequency-weights",
                message: "is not available for \(kind.withArticle) model yet (its observation counts and Vuong test "
                    + "count rows); use --weights for the likelihood alone, or fit the expanded rows")
        }
    }

    /// The ordinal link `--link` names (logit when none).
    static func ordinalLink(_ request: FitRequest) throws -> OrdinalLink {
        guard let name = request.link else { return .logit }
        guard let link = OrdinalLink(name: name) else {
            throw GLMError.linkNotAllowed(link: name, family: "ordinal", allowed: OrdinalLink.allCases.map(\.rawValue))
        }
        return link
    }

    /// Reads the input and fits a multinomial (nnet::multinom) or ordinal (MASS::polr) model.
    public static func fitCategorical(_ request: FitRequest) throws -> CategoricalReport {
        let kind = ModelKind(family: request.family)
        try refuseInapplicableOptions(request, kind: kind)
        try validateCategorical(request)
        let formula = try Formula.parse(request.formula)
        let table = try StageTimer(observer: request.observer).measure("read") {
            try readTable(request, formula: formula)
        }
        request.observer?(.rowsRead(table.rowCount))
        return try fitCategorical(request, table: table)
    }

    static func validateCategorical(_ request: FitRequest) throws {
        guard request.confidenceLevel > 0, request.confidenceLevel < 1 else {
            throw GLMError.invalidOption(name: "--conf-level", message: "must be between 0 and 1, exclusive (got \(request.confidenceLevel))")
        }
        guard request.control.maxIterations >= 1 else {
            throw GLMError.invalidOption(name: "--maxit", message: "must be at least 1 (got \(request.control.maxIterations))")
        }
    }

    /// Fits a multinomial or ordinal model on a table already read.
    public static func fitCategorical(_ request: FitRequest, table: Table) throws -> CategoricalReport {
        let kind = ModelKind(family: request.family)
        try refuseInapplicableOptions(request, kind: kind)
        try validateCategorical(request)
        let link = kind == .ordinal ? try ordinalLink(request) : nil
        let formula = try Formula.parse(request.formula)
        let timer = StageTimer(observer: request.observer)
        let frame = try timer.measure("frame") {
            try ModelFrame(
                table: table, formula: formula, weightsColumn: request.weightsColumn,
                frequencyWeightsColumn: request.frequencyWeightsColumn, referenceLevels: request.referenceLevels)
        }
        try ReferenceLevels.checkApplied(request.referenceLevels, frame: frame, columnNames: table.columnNames)
        let design = try timer.measure("design") { try Design(frame: frame) }
        let fit = try timer.measure("fit") {
            try CategoricalFit.fit(design: design, kind: kind, link: link, control: request.control)
        }
        let comparison = try request.compareFormula.map { reduced in
            try compareCategorical(full: fit, reducedFormula: reduced, table: table, request: request)
        }
        let waldTests = try request.waldHypotheses.map { text in
            // Parameters named as `vcov` names them: `level:term` for multinomial, the term or
            // `a|b` for ordinal.
            try WaldTest.chiSquare(text, names: fit.parameterNames, estimates: fit.estimates, covariance: fit.covariance)
        }
        return CategoricalReport(
            fit: fit, confidenceLevel: request.confidenceLevel,
            coefficients: fit.coefficientTable(confidenceLevel: request.confidenceLevel), comparison: comparison,
            waldTests: waldTests, input: InputDescription(table: table, naTokens: csvOptions(request).naTokens))
    }

    /// The reduced model fitted to the full model's rows; an LRT of the two.
    static func compareCategorical(
        full: CategoricalFit, reducedFormula: String, table: Table, request: FitRequest
    ) throws -> CategoricalComparison {
        let fullFrame = full.design.frame
        let parsed = try Formula.parse(reducedFormula)
        let response = parsed.response ?? fullFrame.terms.formula.response
        let formula = Formula(text: parsed.text, response: response, predictors: parsed.predictors)
        let fullFormula = fullFrame.terms.formula
        var used = Set(fullFormula.response?.columnNames ?? [])
        for variable in fullFrame.terms.variables { used.formUnion(variable.columnNames) }
        let frame = try ModelFrame(
            table: table, formula: formula, weightsColumn: request.weightsColumn,
            frequencyWeightsColumn: request.frequencyWeightsColumn, requiredColumns: used.sorted(),
            referenceLevels: request.referenceLevels)
        guard frame.rowCount == fullFrame.rowCount, frame.responseLabel == fullFrame.responseLabel else {
            throw GLMError.modelsNotNested(
                reduced: formula.deparsed, full: fullFormula.deparsed, reason: "they are not fitted to the same rows and response")
        }
        let design = try Design(frame: frame)
        let missing = design.columnNames.filter { !full.design.columnNames.contains($0) }
        if let first = missing.first {
            throw GLMError.modelsNotNested(
                reduced: formula.deparsed, full: fullFormula.deparsed, reason: "the smaller model's column '\(first)' is not in the larger one")
        }
        let reduced = try CategoricalFit.fit(design: design, kind: full.kind, link: full.link, control: request.control)
        // R's residual df: polr's nobs (the sum of the case weights) minus the parameters;
        // multinom's rows × (levels − 1) minus the parameters.
        let cells = full.kind == .ordinal ? full.weightSum : Double(full.observationCount * (full.levels.count - 1))
        func rightHandSide(_ formula: Formula) -> String {
            let text = formula.deparsed
            guard let tilde = text.firstIndex(of: "~") else { return text }
            return text[text.index(after: tilde)...].trimmingCharacters(in: .whitespaces)
        }
        return CategoricalComparison(
            reducedFormula: rightHandSide(formula), fullFormula: rightHandSide(fullFormula), reducedDeviance: reduced.deviance,
            fullDeviance: full.deviance, reducedParameters: reduced.parameterCount, fullParameters: full.parameterCount,
            reducedResidualDf: cells - Double(reduced.parameterCount), fullResidualDf: cells - Double(full.parameterCount))
    }
}
