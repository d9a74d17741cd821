/// Everything a fit needs from the command line, already validated for type.
public struct FitRequest: Sendable {
    /// A CSV path, or "-" for standard input.
    public var path: String
    public var formula: String
    public var family: String
    public var link: String?
    public var weightsColumn: String?
    /// `--frequency-weights`: a column of counts, each row standing for that many identical
    /// observations (see `FrequencyWeights`).
    public var frequencyWeightsColumn: String?
    public var control: FitControl
    public var confidenceLevel: Double
    public var extraMissingTokens: [String]
    /// A known negative binomial theta (MASS's `negative.binomial(theta)`).
    public var theta: Double?
    /// A sandwich estimator name (HC0…HC3) for robust standard errors.
    public var vcov: String?
    /// A column whose values define clusters for `sandwich::vcovCL`.
    public var clusterColumn: String?
    /// Cameron & Trivedi's overdispersion test for poisson fits.
    public var dispersionTest: Bool
    public var intervalMethod: IntervalMethod
    /// R's sequential `anova(fit)`.
    public var anova: Bool
    /// R's `drop1(fit)`.
    public var dropOne: Bool
    /// A smaller model's formula to test against the fitted one.
    public var compareFormula: String?
    /// Linear hypotheses for joint Wald tests, one test per entry.
    public var waldHypotheses: [String]
    /// Receives progress and timings (nil: none).
    public var observer: FitObserver?
    /// Fit in bounded memory, reading the input again for every pass, this many records at
    /// a time (nil: read it once, into memory).
    public var chunkRows: Int?
    /// `--ref`: reference levels by column (R's `relevel`; see `ReferenceLevels`).
    public var referenceLevels: [String: String] = [:]
    /// `--contrasts`: the contrasts of factors that set none (R's `options(contrasts =)`).
    public var defaultContrasts = DefaultContrasts.r
    /// How text levels are ordered: R's order in the process's environment unless set.
    public var collation: LevelCollation = .processDefault
    /// The input's field delimiter and decimal mark (`--delimiter`, `--decimal`).
    public var dialect: CSVDialect = .standard
    /// R's `start =`: starting coefficients, one per model-matrix column (nil: the family's
    /// starting means).
    public var start: [Double]?
    /// `--subset`: an expression choosing the rows to fit (R's `subset =`; see `Subset`).
    public var subset: String?
    /// `--zero-inflated` or `--hurdle`: the two-part count model kind (nil: none).
    public var twoPartKind: ModelKind?
    /// `--zero-link`: the zero part's link (logit when nil).
    public var zeroLink: String?
    /// `--vuong`: pscl's Vuong test of a zero-inflated fit against its plain count model.
    public var vuong = false
    /// `--var-power`: the Tweedie variance power.
    public var varPower: Double?
    /// `--full-covariance`: form and write the covariance matrix of a fit by blocks whatever
    /// its size (else only up to `GLMSummary.covarianceLimit` coefficients).
    public var fullCovariance = false

    public init(
        path: String, formula: String, family: String = "gaussian", link: String? = nil, weightsColumn: String? = nil,
        control: FitControl = FitControl(), confidenceLevel: Double = 0.95, extraMissingTokens: [String] = [],
        theta: Double? = nil, vcov: String? = nil, clusterColumn: String? = nil, dispersionTest: Bool = false,
        intervalMethod: IntervalMethod = .wald, anova: Bool = false, dropOne: Bool = false, compareFormula: String? = nil,
        waldHypotheses: [String] = []
    ) {
        self.path = path
        self.formula = formula
        self.family = family
        self.link = link
        self.weightsColumn = weightsColumn
        self.control = control
        self.confidenceLevel = confidenceLevel
        self.extraMissingTokens = extraMissingTokens
        self.theta = theta
        self.vcov = vcov
        self.clusterColumn = clusterColumn
        self.dispersionTest = dispersionTest
        self.intervalMethod = intervalMethod
        self.anova = anova
        self.dropOne = dropOne
        self.compareFormula = compareFormula
        self.waldHypotheses = waldHypotheses
        self.observer = nil
        self.chunkRows = nil
        self.start = nil
    }
}

/// A fit with everything the reports print about it.
public struct ModelReport: Sendable {
    public let summary: GLMSummary
    /// The negative binomial fit when theta was estimated (glm.nb).
    public let negativeBinomial: NegativeBinomialFit?
    public let dispersionTest: DispersionTestResult?
    public let profile: ProfileIntervals?
    public let anova: DevianceTable?
    public let dropOne: DropOneTable?
    public let comparison: ModelComparison?
    /// The reduced model of `comparison`, as written.
    public let comparedFormula: String?
    public let waldTests: [WaldTestResult]
    /// The input the model was fitted to: its rows' lines and its columns' types (for
    /// `--residuals` and `--save`).
    public var input: InputDescription? = nil

    public var fit: GLMFit { summary.fit }

    /// Every warning, R's wording first, then glmfit's own.
    public var warnings: [String] {
        var all = negativeBinomial?.warnings ?? summary.fit.warnings
        if !summary.fit.divergingTerms.isEmpty {
            all.append(Divergence.warning(for: summary.fit.divergingTerms, family: summary.fit.family))
        }
        let analyses = [summary.warnings, profile?.warnings ?? [], anova?.warnings ?? [], dropOne?.warnings ?? [],
                         comparison?.warnings ?? []]
        for warning in analyses.joined() where !all.contains(warning) { all.append(warning) }
        return all
    }
}

/// The whole data flow, CSV bytes to summary, one stage after another.
public enum Pipeline {
    /// Checks the options that need no data, so a typo fails before a large file is read.
    public static func resolveFamily(_ request: FitRequest) throws -> Family {
        guard let kind = Family.Kind(name: request.family) else {
            throw GLMError.unknownFamily(name: request.family, known: Family.Kind.cliNames + ["multinomial", "ordinal"])
        }
        var link: Link?
        if let name = request.link {
            guard let parsed = Link(name: name) else {
                throw GLMError.unknownLink(name: name, known: Link.allCases.map(\.name))
            }
            link = parsed
        }
        if let power = request.varPower {
            guard kind == .tweedie else {
                throw GLMError.invalidOption(name: "--var-power", message: "is for --family tweedie only")
            }
            guard power.isFinite, power == 0 || power >= 1 else {
                throw GLMError.invalidOption(
                    name: "--var-power", message: "must be 0 or at least 1 (no Tweedie distribution has a power in (0, 1); got \(RFormat.deparse(power)))")
            }
        } else if kind == .tweedie {
            throw GLMError.invalidOption(name: "--var-power", message: "is needed with --family tweedie (0, or a power of at least 1)")
        }
        return try Family(kind: kind, link: link, theta: request.theta ?? 1, varPower: request.varPower ?? 0)
    }

    public static func validate(_ request: FitRequest) throws {
        // R would read `y ~ a | b` as one logical-OR term; here a top-level bar is a two-part
        // count model's separator, so without --zero-inflated or --hurdle it is an error rather
        // than a silent OR (write I(a | b) for that).
        if request.twoPartKind == nil, let parts = try? TwoPartFormula(request.formula), parts.count != parts.zero {
            throw GLMError.invalidOption(
                name: "--formula", message: "a '|' between terms separates the count and zero parts of --zero-inflated or "
                    + "--hurdle models; give one of them, or write I(a | b) for a logical OR")
        }
        guard request.confidenceLevel > 0, request.confidenceLevel < 1 else {
            throw GLMError.invalidOption(name: "--conf-level", message: "must be between 0 and 1, exclusive (got \(request.confidenceLevel))")
        }
        guard request.control.epsilon > 0, request.control.epsilon.isFinite else {
            throw GLMError.invalidOption(name: "--epsilon", message: "must be a positive number (got \(request.control.epsilon))")
        }
        guard request.control.maxIterations >= 1 else {
            throw GLMError.invalidOption(name: "--maxit", message: "must be at least 1 (got \(request.control.maxIterations))")
        }
        if let subset = request.subset { _ = try Subset(subset) }
        if let chunkRows = request.chunkRows, chunkRows < 1 {
            throw GLMError.invalidOption(name: "--chunk-rows", message: "must be at least 1 (got \(chunkRows))")
        }
        if let theta = request.theta {
            guard theta > 0, theta.isFinite else {
                throw GLMError.invalidOption(name: "--theta", message: "must be a positive number (got \(theta))")
            }
            guard Family.Kind(name: request.family) == .negativeBinomial else {
                throw GLMError.invalidOption(name: "--theta", message: "is for --family negative-binomial only")
            }
        }
        if let vcov = request.vcov, SandwichType(name: vcov) == nil {
            throw GLMError.invalidOption(name: "--vcov", message: "unknown estimator '\(vcov)'; choose HC0, HC1, HC2 or HC3")
        }
        if request.dispersionTest, let kind = Family.Kind(name: request.family), kind != .poisson {
            throw GLMError.invalidOption(name: "--dispersion-test", message: "tests a poisson fit; use --family poisson")
        }
    }

    /// `--start`'s text: numbers separated by commas ("-3, 0.1").
    public static func parseStart(_ text: String) throws -> [Double] {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
        return try fields.enumerated().map { index, field in
            let trimmed = field.trimmingCharacters(in: .whitespaces)
            guard let value = Double(trimmed), value.isFinite else {
                throw GLMError.invalidOption(
                    name: "--start", message: "value \(index + 1) ('\(trimmed)') is not a finite number; give one number per "
                        + "coefficient, separated by commas, as \"-3,0.1\"")
            }
            return value
        }
    }

    /// `--start` against the model: one value per column of X, named in the message.
    static func checkStart(_ start: [Double], design: Design) throws {
        guard start.count == design.columnCount else {
            throw GLMError.invalidOption(
                name: "--start",
                message: "needs \(design.columnCount) values, one per coefficient (\(design.columnNames.joined(separator: ", "))), "
                    + "got \(start.count)")
        }
    }

    /// Reads the input, keeping only the columns the model uses.
    static func readTable(_ request: FitRequest, formula: Formula) throws -> Table {
        let options = csvOptions(request)
        return try CSVReader.read(path: request.path, options: options) { header in
            var columns = try ModelFrame.requiredColumns(
                formula: formula, columnNames: header, weightsColumn: request.weightsColumn,
                frequencyWeightsColumn: request.frequencyWeightsColumn)
            if let subset = request.subset { columns.formUnion(try Subset(subset).requiredColumns(header: header)) }
            if let compareFormula = request.compareFormula {
                let reduced = try Formula.parse(compareFormula)
                let response = reduced.response == nil ? formula.response : reduced.response
                let completed = Formula(text: reduced.text, response: response, predictors: reduced.predictors)
                columns.formUnion(try ModelFrame.requiredColumns(formula: completed, columnNames: header, weightsColumn: nil))
            }
            for extra in [request.clusterColumn].compactMap({ $0 }) {
                guard let index = header.firstIndex(of: extra) else {
                    throw GLMError.unknownColumn(name: extra, suggestions: NameSuggestions.nearest(to: extra, in: header))
                }
                columns.insert(index)
            }
            return columns
        }
    }

    /// The analyses that need an in-memory GLM fit (its X, per-row results or refits):
    /// refused with `message` by the GEE and chunked paths.
    static func refuseGLMOnlyOptions(_ request: FitRequest, message: String) throws {
        let options: [(String, Bool)] = [
            ("--vcov", request.vcov != nil), ("--cluster", request.clusterColumn != nil),
            ("--ci profile", request.intervalMethod == .profile), ("--anova", request.anova), ("--drop1", request.dropOne),
            ("--compare", request.compareFormula != nil), ("--dispersion-test", request.dispersionTest),
        ]
        for (option, given) in options where given {
            throw GLMError.invalidOption(name: option, message: message)
        }
    }

    static func csvOptions(_ request: FitRequest) -> CSVOptions {
        var options = CSVOptions(additionalNATokens: request.extraMissingTokens, collation: request.collation)
        options.dialect = request.dialect
        return options
    }

    /// The `--wald` tests, on the summary's covariance (χ² when it is a sandwich, as for a
    /// glm's coeftest; else χ² or F by the family).
    static func waldTests(_ request: FitRequest, summary: GLMSummary) throws -> [WaldTestResult] {
        let fit = summary.fit
        return try request.waldHypotheses.map { text in
            let hypothesis = try LinearHypothesis.parse(text, coefficientNames: fit.coefficientNames, aliased: fit.aliased)
            return try WaldTest.test(summary: summary, hypothesis: hypothesis, test: summary.standardErrors == .model ? nil : .chisq)
        }
    }

    public static func fit(_ request: FitRequest) throws -> ModelReport {
        try validate(request)
        let formula = try Formula.parse(request.formula)
        if let chunkRows = request.chunkRows {
            return try fitInChunks(request, formula: formula, chunkRows: chunkRows)
        }
        let table = try StageTimer(observer: request.observer).measure("read") {
            try readTable(request, formula: formula)
        }
        request.observer?(.rowsRead(table.rowCount))
        return try fit(request, table: table)
    }

    /// The bounded-memory fit: only what adds up over chunks of rows is available.
    static func fitInChunks(_ request: FitRequest, formula: Formula, chunkRows: Int) throws -> ModelReport {
        try refuseGLMOnlyOptions(request, message: "needs the data in memory and is not available with --chunk-rows")
        if request.start != nil {
            throw GLMError.invalidOption(name: "--start", message: "is not available with --chunk-rows")
        }
        let family = try resolveFamily(request)
        if family.kind == .negativeBinomial && request.theta == nil {
            throw GLMError.invalidOption(
                name: "--chunk-rows", message: "estimating a negative binomial theta needs the data in memory; give --theta")
        }
        let fit = try StageTimer(observer: request.observer).measure("fit") {
            try ChunkedFit.fit(request: request, formula: formula, family: family, chunkRows: chunkRows)
        }
        let summary = try GLMSummary(fit: fit, confidenceLevel: request.confidenceLevel)
        let waldTests = try waldTests(request, summary: summary)
        return ModelReport(
            summary: summary, negativeBinomial: nil, dispersionTest: nil, profile: nil, anova: nil, dropOne: nil,
            comparison: nil, comparedFormula: nil, waldTests: waldTests)
    }

    /// Fits `request` on a table already read (request.path is then only a name).
    public static func fit(_ request: FitRequest, table: Table) throws -> ModelReport {
        try validate(request)
        let family = try resolveFamily(request)
        let formula = try Formula.parse(request.formula)
        let timer = StageTimer(observer: request.observer)
        let frame = try timer.measure("frame") {
            try ModelFrame(
                table: table, formula: formula, weightsColumn: request.weightsColumn,
                frequencyWeightsColumn: request.frequencyWeightsColumn,
                referenceLevels: request.referenceLevels, defaultContrasts: request.defaultContrasts,
                subset: try request.subset.map(Subset.init))
        }
        try ReferenceLevels.checkApplied(request.referenceLevels, frame: frame, columnNames: table.columnNames)
        let design = try timer.measure("design") { try Design(frame: frame, requiringRows: true, layout: .automatic) }
        if design.rowCount < design.columnCount {
            throw GLMError.tooFewObservations(observations: design.rowCount, coefficients: design.columnCount)
        }

        if let start = request.start {
            try checkStart(start, design: design)
            if family.kind == .negativeBinomial && request.theta == nil {
                throw GLMError.invalidOption(name: "--start", message: "needs a fixed --theta for the negative binomial family")
            }
        }
        var negativeBinomial: NegativeBinomialFit?
        let fit: GLMFit = try timer.measure("fit") {
            if family.kind == .negativeBinomial && request.theta == nil {
                let estimated = try NegativeBinomial.fit(design: design, link: family.link, control: request.control)
                negativeBinomial = estimated
                return estimated.glm
            }
            return try GLMFit.fit(
                design: design, family: family, control: request.control, observer: request.observer, start: request.start)
        }

        var robust: RobustCovariance?
        let sandwichType = request.vcov.flatMap(SandwichType.init(name:))
        let covarianceLimit = request.fullCovariance ? Int.max : GLMSummary.covarianceLimit
        if let clusterColumn = request.clusterColumn {
            let clusters = try Sandwich.clusters(table: table, column: clusterColumn, frame: frame)
            robust = try Sandwich.vcovCL(
                fit, clusters: clusters, type: sandwichType ?? .hc0, covarianceLimit: covarianceLimit)
        } else if let sandwichType {
            robust = try Sandwich.vcovHC(fit, type: sandwichType, covarianceLimit: covarianceLimit)
        }
        var summary = try GLMSummary(
            fit: fit, confidenceLevel: request.confidenceLevel, dispersion: negativeBinomial == nil ? nil : 1,
            additionalParameters: negativeBinomial == nil ? 0 : 1, robust: robust, clusterColumn: request.clusterColumn,
            covarianceLimit: covarianceLimit)
        let dispersionTest = request.dispersionTest ? try DispersionTest.test(fit) : nil

        var profile: ProfileIntervals?
        if request.intervalMethod == .profile {
            let intervals = try ProfileLikelihood.intervals(fit: fit, level: request.confidenceLevel)
            summary.useProfileIntervals(intervals)
            profile = intervals
        }
        if negativeBinomial != nil, request.anova || request.dropOne || request.compareFormula != nil {
            throw GLMError.invalidOption(
                name: request.anova ? "--anova" : (request.dropOne ? "--drop1" : "--compare"),
                message: "needs a fixed theta for the negative binomial family (MASS re-estimates theta for every "
                    + "sub-model, which glmfit does not); give --theta")
        }
        let anova = request.anova ? try AnalysisOfDeviance.sequential(fit: fit) : nil
        let dropOne = request.dropOne ? try AnalysisOfDeviance.dropOne(fit: fit) : nil
        let comparison = try request.compareFormula.map { reduced in
            try AnalysisOfDeviance.compare(full: fit, reducedFormula: reduced, table: table)
        }
        let waldTests = try waldTests(request, summary: summary)
        return ModelReport(
            summary: summary, negativeBinomial: negativeBinomial, dispersionTest: dispersionTest, profile: profile,
            anova: anova, dropOne: dropOne, comparison: comparison, comparedFormula: request.compareFormula,
            waldTests: waldTests, input: InputDescription(table: table, naTokens: csvOptions(request).naTokens))
    }
}
