import Foundation

/// The zero-inflated and hurdle kinds' path (`--zero-inflated`, `--hurdle`): the shared
/// read → frame → design stages for each of the two parts, then the kind's own fit.
extension Pipeline {
    /// Reads the input and fits a zero-inflated (pscl::zeroinfl) or hurdle (pscl::hurdle)
    /// count model.
    public static func fitCountModel(_ request: FitRequest) throws -> CountModelReport {
        let setup = try CountModelSetup(request)
        var reading = request
        reading.compareFormula = nil
        let table = try StageTimer(observer: request.observer).measure("read") {
            try readTable(reading, formula: try Formula.parse(setup.readingFormula))
        }
        request.observer?(.rowsRead(table.rowCount))
        return try fitCountModel(request, table: table)
    }

    /// Fits a zero-inflated or hurdle model on a table already read.
    public static func fitCountModel(_ request: FitRequest, table: Table) throws -> CountModelReport {
        let setup = try CountModelSetup(request)
        let timer = StageTimer(observer: request.observer)
        let fit = try timer.measure("fit") { try fitCountModel(setup, formula: setup.formula, table: table, request: request) }
        let comparison = try request.compareFormula.map { text -> CategoricalComparison in
            let reducedFormula = try TwoPartFormula(completingResponse(text, from: setup.formula.count))
            let reduced = try fitCountModel(setup, formula: reducedFormula, table: table, request: request)
            guard reduced.observationCount == fit.observationCount,
                  reduced.countDesign.frame.responseLabel == fit.countDesign.frame.responseLabel else {
                throw GLMError.modelsNotNested(
                    reduced: text, full: request.formula, reason: "they are not fitted to the same rows and response")
            }
            let missing = reduced.parameterNames.filter { !fit.parameterNames.contains($0) }
            if let first = missing.first {
                throw GLMError.modelsNotNested(
                    reduced: text, full: request.formula, reason: "the smaller model's '\(first)' is not in the larger one")
            }
            let n = Double(fit.observationCount)
            return CategoricalComparison(
                reducedFormula: rightHandSide(text), fullFormula: rightHandSide(request.formula),
                reducedDeviance: -2 * reduced.logLikelihood, fullDeviance: -2 * fit.logLikelihood,
                reducedParameters: reduced.parameterCount, fullParameters: fit.parameterCount,
                reducedResidualDf: n - Double(reduced.parameterCount), fullResidualDf: n - Double(fit.parameterCount))
        }
        let waldTests = try request.waldHypotheses.map { text in
            try WaldTest.chiSquare(text, names: fit.parameterNames, estimates: fit.estimates, covariance: fit.covariance)
        }
        let vuong = request.vuong ? try vuongTest(fit) : nil
        return CountModelReport(
            fit: fit, confidenceLevel: request.confidenceLevel,
            coefficients: fit.coefficientTable(confidenceLevel: request.confidenceLevel), comparison: comparison,
            waldTests: waldTests, vuong: vuong, input: InputDescription(table: table, naTokens: csvOptions(request).naTokens))
    }

    /// The options of a two-part count fit, checked.
    struct CountModelSetup {
        let kind: ModelKind
        let distribution: CountDistribution
        let zeroLink: ZeroLink
        let formula: TwoPartFormula
        /// One formula naming every column either part uses (for reading the input).
        let readingFormula: String

        init(_ request: FitRequest) throws {
            guard let kind = request.twoPartKind, kind == .zeroInflated || kind == .hurdle else {
                throw GLMError.invalidOption(name: "--zero-inflated", message: "internal error: no two-part kind chosen")
            }
            self.kind = kind
            try refuseInapplicableOptions(request, kind: kind)
            try validateCategorical(request)
            if let link = request.link, link.lowercased() != "log" {
                throw GLMError.invalidOption(
                    name: "--link", message: "the count part of \(kind.withArticle) model has the log link, as pscl's (got '\(link)')")
            }
            guard let distribution = CountDistribution(family: request.family) else {
                throw GLMError.invalidOption(
                    name: "--family",
                    message: "the count part of \(kind.withArticle) model is poisson, negative-binomial or geometric (got '\(request.family)')")
            }
            self.distribution = distribution
            let linkName = (request.zeroLink ?? "logit").lowercased()
            guard let zeroLink = ZeroLink(rawValue: linkName) else {
                throw GLMError.invalidOption(
                    name: "--zero-link",
                    message: "must be one of \(ZeroLink.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(request.zeroLink ?? "")')")
            }
            self.zeroLink = zeroLink
            formula = try TwoPartFormula(request.formula)
            var sides = [formula.count, formula.zero]
            if let compare = request.compareFormula {
                let reduced = try TwoPartFormula(completingResponse(compare, from: formula.count))
                sides += [reduced.count, reduced.zero]
            }
            let left = formula.count[..<(formula.count.firstIndex(of: "~") ?? formula.count.endIndex)]
            readingFormula = left + "~ " + sides.map { rightHandSide($0) }.joined(separator: " + ")
        }
    }

    /// `~ x | z` with the full model's response put in front.
    static func completingResponse(_ text: String, from full: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("~"), let tilde = full.firstIndex(of: "~") else { return text }
        return String(full[..<tilde]) + trimmed
    }

    static func rightHandSide(_ text: String) -> String {
        guard let tilde = text.firstIndex(of: "~") else { return text }
        return text[text.index(after: tilde)...].trimmingCharacters(in: .whitespaces)
    }

    /// Both parts' frames and designs on the same rows, the response checked, and the fit.
    static func fitCountModel(
        _ setup: CountModelSetup, formula: TwoPartFormula, table: Table, request: FitRequest
    ) throws -> CountModelFit {
        let countFormula = try Formula.parse(formula.count)
        let zeroFormula = try Formula.parse(formula.zero)
        func columns(_ f: Formula) -> [String] { (f.response?.columnNames ?? []) + f.predictors.columnNames }
        let countFrame = try ModelFrame(
            table: table, formula: countFormula, weightsColumn: request.weightsColumn, requiredColumns: columns(zeroFormula),
            referenceLevels: request.referenceLevels)
        let zeroFrame = try ModelFrame(
            table: table, formula: zeroFormula, weightsColumn: request.weightsColumn, requiredColumns: columns(countFormula),
            referenceLevels: request.referenceLevels)
        guard countFrame.rowIndices == zeroFrame.rowIndices else {
            throw GLMError.fitFailed(message: "internal error: the count and zero parts use different rows")
        }
        try ReferenceLevels.checkApplied(request.referenceLevels, frame: countFrame, columnNames: table.columnNames)
        let countDesign = try Design(frame: countFrame)
        let zeroDesign = try Design(frame: zeroFrame)
        let name = setup.kind.rawValue
        guard case let .numeric(y) = countFrame.response else {
            throw GLMError.responseOutOfDomain(family: name, line: nil, message: "the response must be a numeric count column")
        }
        for (row, value) in y.enumerated() where !(value >= 0) || value.rounded() != value || !value.isFinite {
            throw GLMError.responseOutOfDomain(
                family: name, line: countFrame.line(ofUsedRow: row),
                message: "the response must be a count (a non-negative integer); got \(RFormat.deparse(value))")
        }
        let weights = countFrame.priorWeights ?? [Double](repeating: 1, count: y.count)
        if let column = countFrame.weightsColumn, let row = weights.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
            throw GLMError.invalidWeights(
                column: column, line: countFrame.line(ofUsedRow: row), value: weights[row], message: "weights must be finite and non-negative")
        }
        let hasZero = zip(y, weights).contains { $0.0 == 0 && $0.1 > 0 }
        let hasPositive = zip(y, weights).contains { $0.0 > 0 && $0.1 > 0 }
        if !hasZero {
            throw GLMError.responseOutOfDomain(
                family: name, line: nil,
                message: "the response '\(countFrame.responseLabel)' has no zeros: the zero part cannot be estimated (fit a plain count model)")
        }
        if !hasPositive {
            throw GLMError.responseOutOfDomain(family: name, line: nil, message: "the response '\(countFrame.responseLabel)' is zero in every row")
        }
        let parameters = countDesign.columnCount + zeroDesign.columnCount + (setup.distribution == .negativeBinomial ? 1 : 0)
        // pscl's n: the rows of positive weight (a zero-weight row adds nothing to the likelihood).
        let observations = weights.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        if observations <= parameters {
            throw GLMError.tooFewObservations(observations: observations, coefficients: parameters)
        }
        let data = TwoPartCount.Data(
            y: y, weights: weights, countColumns: countDesign.columns, countOffset: countFrame.offset,
            zeroColumns: zeroDesign.columns, zeroOffset: zeroFrame.offset)
        let twoPartKind: TwoPartCount.Kind = setup.kind == .hurdle ? .hurdle : .zeroInflated
        let result = try TwoPartCount.fit(
            data: data, kind: twoPartKind, distribution: setup.distribution, link: setup.zeroLink,
            countIntercept: countDesign.columnNames.firstIndex(of: "(Intercept)"),
            zeroIntercept: zeroDesign.columnNames.firstIndex(of: "(Intercept)"), maxIterations: max(request.control.maxIterations, 100))
        let order = result.newton.parameters.count
        guard let covariance = NewtonMaximizer.inverse(result.newton.evaluation.negativeHessian, order: order) else {
            throw singularHessianError(
                result.newton, countNames: countDesign.columnNames, zeroNames: zeroDesign.columnNames, kind: setup.kind)
        }
        var warnings = countFrame.warnings
        if !result.newton.converged {
            warnings.append("the Newton iterations did not converge in \(max(request.control.maxIterations, 100)) steps (--maxit)")
        }
        return CountModelFit(
            kind: setup.kind, distribution: setup.distribution, zeroLink: setup.zeroLink, countDesign: countDesign,
            zeroDesign: zeroDesign, estimates: result.newton.parameters, covariance: covariance,
            logLikelihood: result.newton.evaluation.logLikelihood, iterations: result.newton.iterations,
            converged: result.newton.converged, observationCount: observations, warnings: warnings, y: y, weights: weights)
    }

    /// Why the negative Hessian at the end of the iterations cannot be inverted. A parameter
    /// whose curvature there is nil next to the others' (diagonal below 1e-10 of the largest)
    /// is one the likelihood keeps increasing along: typically a zero-part coefficient under
    /// separation (every row of a level is positive, so its zero probability goes to 0 or 1),
    /// whose estimate is infinite. pscl's optimiser stops somewhere along that ray and reports
    /// the arbitrary value with a huge standard error (18 ± 1166, say); glmfit names the
    /// coefficient instead.
    static func singularHessianError(
        _ newton: NewtonMaximizer.Result, countNames: [String], zeroNames: [String], kind: ModelKind
    ) -> GLMError {
        let order = newton.parameters.count
        let hessian = newton.evaluation.negativeHessian
        let diagonal = (0..<order).map { hessian[$0 * order + $0] }
        let largest = diagonal.map(abs).max() ?? 0
        let flat = (0..<order).filter { diagonal[$0] <= 1e-10 * largest }
        let names = countNames.map { "count:" + $0 } + zeroNames.map { "zero:" + $0 } + ["count:Log(theta)"]
        let zeroFlat = flat.filter { $0 >= countNames.count && $0 < countNames.count + zeroNames.count }
        let stopped = { (index: Int) in "\(RFormat.format(newton.parameters[index], digits: 4)) when the iterations stopped" }
        let pscl = "pscl stops at an arbitrary large value with a huge standard error"
        if let intercept = zeroNames.firstIndex(of: "(Intercept)").map({ $0 + countNames.count }), zeroFlat.contains(intercept),
           kind == .zeroInflated {
            // The whole zero part at the boundary: the zero-inflation probability → 0 (or 1) in every row.
            let direction = newton.parameters[intercept] < 0 ? "0 in every row: these data have no zeros beyond those of "
                + "the count distribution, and the maximum is the plain count model (fit it without --zero-inflated)"
                : "1 in every row"
            return .fitFailed(
                message: "the zero part's intercept has no finite estimate (\(stopped(intercept))): the zero-inflation "
                    + "probability goes to \(direction); no standard error exists (\(pscl))")
        }
        if !zeroFlat.isEmpty {
            let listed = zeroFlat.map { "'\(names[$0])' (\(stopped($0)))" }.joined(separator: ", ")
            let probability = kind == .hurdle ? "probability of a positive count" : "zero-component probability"
            return .fitFailed(
                message: "the zero part's \(zeroFlat.count == 1 ? "coefficient" : "coefficients") \(listed) "
                    + "\(zeroFlat.count == 1 ? "has" : "have") no finite estimate: the fitted \(probability) goes to 0 or 1 "
                    + "for the rows \(zeroFlat.count == 1 ? "it selects" : "they select") (separation), so the likelihood rises "
                    + "without bound and no standard error exists (\(pscl)); drop the term from the zero part (after '|') "
                    + "or merge the levels that separate")
        }
        if let first = flat.first {
            return .fitFailed(
                message: "the Hessian at the maximum is singular: '\(names[first])' is not identifiable (it has no curvature "
                    + "at the end of the iterations; a column that is constant or a combination of others)")
        }
        return .fitFailed(message: "the Hessian at the maximum is singular: some coefficients are not identifiable")
    }

    /// pscl::vuong of the fit (model 1) against its plain count model (model 2: the count
    /// part's poisson, negative binomial or geometric glm), on the same rows.
    static func vuongTest(_ fit: CountModelFit) throws -> VuongTest {
        let design = fit.countDesign
        let data = TwoPartCount.Data(
            y: fit.y, weights: fit.weights, countColumns: design.columns, countOffset: design.frame.offset,
            zeroColumns: [], zeroOffset: nil)
        let hasTheta = fit.distribution == .negativeBinomial
        let p = design.columnCount
        let plain = try NewtonMaximizer.maximize(
            start: Array(fit.estimates[0..<p]) + (hasTheta ? [fit.logTheta ?? 0] : []), maxIterations: 200
        ) { parameters in
            TwoPartCount.evaluate(
                parameters, data: data, mode: .countOnly(truncated: false), distribution: fit.distribution, link: fit.zeroLink,
                useCount: true, useZero: false)
        }
        let twoPartKind: TwoPartCount.Kind = fit.kind == .hurdle ? .hurdle : .zeroInflated
        var differences: [Double] = []
        for row in 0..<fit.rowCount {
            var etaCount = design.frame.offset?[row] ?? 0
            var etaPlain = etaCount
            for j in 0..<p {
                etaCount += design.columns[j][row] * fit.estimates[j]
                etaPlain += design.columns[j][row] * plain.parameters[j]
            }
            var etaZero = fit.zeroDesign.frame.offset?[row] ?? 0
            for j in 0..<fit.zeroColumnCount { etaZero += fit.zeroDesign.columns[j][row] * fit.estimates[p + j] }
            let full = TwoPartCount.rowLogLikelihood(
                y: fit.y[row], etaCount: etaCount, etaZero: etaZero, logTheta: fit.logTheta ?? 0, mode: .full(twoPartKind),
                distribution: fit.distribution, link: fit.zeroLink)
            let reduced = TwoPartCount.rowLogLikelihood(
                y: fit.y[row], etaCount: etaPlain, etaZero: 0, logTheta: hasTheta ? (plain.parameters.last ?? 0) : 0,
                mode: .countOnly(truncated: false), distribution: fit.distribution, link: fit.zeroLink)
            differences.append(full.value - reduced.value)
        }
        return VuongTest(
            pointwise: differences, parameters1: fit.countColumnCount + fit.zeroColumnCount, parameters2: p)
    }
}
