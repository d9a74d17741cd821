/// What a GEE fit needs beyond a GLM request.
public struct GEERequest: Sendable {
    public var idColumn: String
    public var structure: String
    public var wavesColumn: String?
    /// Which standard errors the table uses: the sandwich (geeglm's default) or naive.
    public var covariance: GEECovariance

    public init(idColumn: String, structure: String = "independence", wavesColumn: String? = nil,
                covariance: GEECovariance = .robust) {
        self.idColumn = idColumn
        self.structure = structure
        self.wavesColumn = wavesColumn
        self.covariance = covariance
    }
}

/// A GEE fit with the tables the reports print.
public struct GEEReport: Sendable {
    public let fit: GEEFit
    public let formula: Formula
    public let weightsColumn: String?
    public let idColumn: String
    public let wavesColumn: String?
    public let covariance: GEECovariance
    public let confidenceLevel: Double
    /// The coefficient table with the chosen standard errors; `statistic` is the Wald
    /// chi-square (estimate / SE)², as geeglm reports it.
    public let coefficients: [CoefficientSummary]
    /// The other kind of standard error, for JSON.
    public let otherStandardErrors: [Double?]
    /// True when JSON leaves out the covariance matrices: more estimated coefficients than
    /// `GLMSummary.covarianceLimit` and no `--full-covariance` (as a GLM's `vcov`).
    public let covarianceOmitted: Bool
}

extension Pipeline {
    /// Reads the input and fits a GEE as geepack's `geeglm` does.
    public static func fitGEE(_ request: FitRequest, gee: GEERequest) throws -> GEEReport {
        try validate(request)
        if request.start != nil {
            throw GLMError.invalidOption(name: "--start", message: "is for GLM fits, not with --id")
        }
        let family = try resolveFamily(request)
        guard let structure = CorrelationStructure(name: gee.structure) else {
            throw GLMError.invalidOption(
                name: "--corstr",
                message: "unknown working correlation '\(gee.structure)'; choose one of: "
                    + CorrelationStructure.allCases.map(\.rawValue).joined(separator: ", "))
        }
        try refuseGLMOnlyOptions(request, message: "is not available with --id (a GEE fit)")
        if request.frequencyWeightsColumn != nil {
            // A row's copies would be observations of one cluster, correlated with each other
            // by the working correlation: the aggregated fit is not the expanded one.
            throw GLMError.invalidOption(
                name: "--frequency-weights",
                message: "is not available with --id: in a GEE the copies of a row would be correlated observations of "
                    + "one cluster, which the working correlation must see one by one; fit the expanded rows")
        }
        if family.kind == .negativeBinomial && request.theta == nil {
            throw GLMError.invalidOption(name: "--family negative-binomial", message: "needs --theta in a GEE fit")
        }
        let formula = try Formula.parse(request.formula)
        let subset = try request.subset.map(Subset.init)
        let timer = StageTimer(observer: request.observer)
        let options = csvOptions(request)
        let table = try timer.measure("read") {
            try CSVReader.read(path: request.path, options: options) { header in
                try GEE.requiredColumns(
                    formula: formula, columnNames: header, weightsColumn: request.weightsColumn, idColumn: gee.idColumn,
                    wavesColumn: gee.wavesColumn).union(try subset?.requiredColumns(header: header) ?? [])
            }
        }
        request.observer?(.rowsRead(table.rowCount))
        let fit = try timer.measure("fit") {
            try GEE.fit(
                table: table, formula: formula, family: family, weightsColumn: request.weightsColumn,
                idColumn: gee.idColumn, wavesColumn: gee.wavesColumn, structure: structure,
                control: GEEControl(
                    glm: request.control,
                    covarianceLimit: request.fullCovariance ? Int.max : GLMSummary.covarianceLimit),
                referenceLevels: request.referenceLevels,
                defaultContrasts: request.defaultContrasts, subset: subset)
        }
        let other: GEECovariance = gee.covariance == .robust ? .naive : .robust
        return GEEReport(
            fit: fit, formula: formula, weightsColumn: request.weightsColumn, idColumn: gee.idColumn,
            wavesColumn: gee.wavesColumn, covariance: gee.covariance, confidenceLevel: request.confidenceLevel,
            coefficients: fit.coefficientTable(covariance: gee.covariance, confidenceLevel: request.confidenceLevel),
            otherStandardErrors: fit.coefficientTable(covariance: other, confidenceLevel: request.confidenceLevel)
                .map(\.standardError),
            covarianceOmitted: fit.robustCovariance.isEmpty && !fit.covarianceNames.isEmpty
                || !request.fullCovariance && fit.covarianceNames.count > GLMSummary.covarianceLimit)
    }
}
