import ArgumentParser
import GLMCore
import GLMReport

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, csv
}

extension IntervalMethod: ExpressibleByArgument {}

struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glmfit",
        abstract: "Fit generalized linear models from CSV with R's numbers.",
        discussion: HelpText.fitDiscussion,
        version: "glmfit \(GLMFitVersion)")

    @Argument(help: ArgumentHelp("The CSV file to read, or - for standard input.", valueName: "file"))
    var file: String

    @Option(name: [.short, .long], help: "The model formula, as in R: \"y ~ x1 + x2\".")
    var formula: String

    @Option(help: ArgumentHelp("The error distribution: \(HelpText.familyNames); geometric (count parts of --zero-inflated and --hurdle).", valueName: "family"))
    var family: String = "gaussian"

    @Option(help: "The link function (default: the family's canonical link).")
    var link: String?

    @Option(help: ArgumentHelp("A numeric column of prior weights.", valueName: "column"))
    var weights: String?

    @Option(name: .customLong("frequency-weights"), help: ArgumentHelp("A column of counts: each row stands for that many identical observations (Stata's fweight), so a table aggregated with GROUP BY and count(*) fits as its expanded rows.", valueName: "column"))
    var frequencyWeights: String?

    @Option(help: ArgumentHelp("Fit only the rows where this expression is TRUE, as R's subset= (e.g. \"age > 30 & sex == 'F'\"); rows where it is NA count as missing.", valueName: "expression"))
    var subset: String?

    @Option(name: .customLong("ref"), help: ArgumentHelp("The reference level of a factor column, as R's relevel(): COLUMN=LEVEL (repeatable).", valueName: "column=level"))
    var referenceLevels: [String] = []

    @Option(help: ArgumentHelp("The contrasts of unordered and ordered factors, as R's options(contrasts =): UNORDERED,ORDERED (default contr.treatment,contr.poly).", valueName: "unordered,ordered"))
    var contrasts: String?

    @Option(help: "Output format: text, json or csv.")
    var format: OutputFormat = .text

    // Numbers are taken as they come (.unconditional), so that a negative one ("-1") reaches
    // Pipeline.validate, which says what is wrong with it, instead of reading as an option.
    @Option(name: .customLong("conf-level"), parsing: .unconditional, help: "Confidence level of the intervals.")
    var confidenceLevel: Double = 0.95

    @Option(name: .customLong("na"), help: ArgumentHelp("An extra token read as a missing value (repeatable; NA, empty and NaN always are).", valueName: "token"))
    var missingTokens: [String] = []

    @Option(parsing: .unconditional, help: "Convergence tolerance on the relative change in deviance (R's glm.control epsilon).")
    var epsilon: Double = 1e-8

    @Option(parsing: .unconditional, help: "Maximum number of IRLS iterations (R's glm.control maxit).")
    var maxit: Int = 25

    @Option(parsing: .unconditional, help: ArgumentHelp("Fix the negative binomial theta instead of estimating it (MASS's negative.binomial(theta)).", valueName: "value"))
    var theta: Double?

    @Option(help: ArgumentHelp("Robust (sandwich) standard errors: HC0, HC1, HC2 or HC3, as sandwich::vcovHC; with --id, robust (default) or naive.", valueName: "type"))
    var vcov: String?

    @Option(help: ArgumentHelp("Cluster-robust standard errors by this column, as sandwich::vcovCL (HC0 with the G/(G-1) adjustment unless --vcov says otherwise).", valueName: "column"))
    var cluster: String?

    @Flag(name: .customLong("dispersion-test"), help: "Test a poisson fit for overdispersion (Cameron & Trivedi, as AER::dispersiontest).")
    var dispersionTest = false

    @Option(help: "Confidence intervals: wald (R's confint.default) or profile (MASS's confint for glm fits).")
    var ci: IntervalMethod = .wald

    @Flag(help: "Print R's sequential analysis of deviance, anova(fit, test = \"Chisq\" or \"F\").")
    var anova = false

    @Flag(name: .customLong("drop1"), help: "Print R's single-term deletions, drop1(fit, test = \"LRT\" or \"F\").")
    var dropOne = false

    @Option(help: ArgumentHelp("Test the fitted model against a smaller nested one, fitted on the same rows (R's anova(reduced, full)).", valueName: "formula"))
    var compare: String?

    // .unconditional: a restriction may start with a sign ("-x1 + x2 = 0").
    @Option(parsing: .unconditionalSingleValue, help: ArgumentHelp("A joint Wald test of linear restrictions, e.g. \"x1, x2\" or \"x1 = x2\" (repeatable; as car::linearHypothesis).", valueName: "restrictions"))
    var wald: [String] = []

    @Option(help: ArgumentHelp("Fit a GEE (as geepack::geeglm) with clusters given by this column.", valueName: "column"))
    var id: String?

    @Option(help: ArgumentHelp("The GEE working correlation: independence, exchangeable, ar1 or unstructured.", valueName: "structure"))
    var corstr: String?

    @Option(help: ArgumentHelp("The order of observations inside a GEE cluster, for ar1 and unstructured (default: file order).", valueName: "column"))
    var waves: String?

    @Option(help: ArgumentHelp("The field delimiter: ',' (default), ';', '|' or a tab ('\\t' or 'tab'; the default for .tsv and .tab files).", valueName: "char"))
    var delimiter: String?

    @Option(help: ArgumentHelp("The decimal mark of numbers: '.' (default) or ',' (R's write.csv2; the delimiter is then ';' unless given).", valueName: "char"))
    var decimal: String?

    @Option(name: .customLong("chunk-rows"), parsing: .unconditional, help: ArgumentHelp("Fit in bounded memory: read the input again for every iteration, this many rows at a time (standard input is buffered to a temporary file).", valueName: "rows"))
    var chunkRows: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Starting coefficients, one per model-matrix column in its order, separated by commas (R's glm start =; the next argument is taken even when it starts with '-').", valueName: "b1,b2,..."))
    var start: String?
    @Flag(name: .customLong("zero-inflated"), help: "A zero-inflated count model (pscl::zeroinfl) with --family poisson, negative-binomial or geometric; formula 'y ~ count part | zero part'.")
    var zeroInflated = false

    @Flag(help: "A hurdle count model (pscl::hurdle, binomial zero hurdle) with --family poisson, negative-binomial or geometric; formula 'y ~ count part | zero part'.")
    var hurdle = false

    @Option(name: .customLong("zero-link"), help: ArgumentHelp("The zero part's link of --zero-inflated or --hurdle: logit (default), probit, cloglog, cauchit or log.", valueName: "link"))
    var zeroLink: String?

    @Flag(help: "With --zero-inflated or --hurdle: pscl's Vuong test against the plain count model.")
    var vuong = false

    @Option(name: .customLong("var-power"), help: ArgumentHelp("The Tweedie variance power p (--family tweedie): 0, or p >= 1 (statmod::tweedie's var.power).", valueName: "p"))
    var varPower: Double?

    @Flag(name: .customLong("full-covariance"), help: "Write the covariance matrix of a model with more than 1,000 coefficients too (by default its JSON has every standard error but not the matrix, which grows as their square).")
    var fullCovariance = false

    @Flag(help: "Treat every warning (non-convergence, separation, fitted probabilities 0 or 1, ...) as an error: exit status 3, nothing written to standard output.")
    var strict = false

    // Files written after the fit, only when the whole fit succeeded (each atomically).
    @Option(help: ArgumentHelp("Save the fitted model as JSON, for 'glmfit predict' (see README, Saved models).", valueName: "file"))
    var save: String?

    @Option(help: ArgumentHelp("Write per-row residuals (deviance, Pearson, working, response), hat values, Cook's distances and standardized deviance residuals as CSV.", valueName: "file"))
    var residuals: String?

    @Option(help: ArgumentHelp("Draw R's four diagnostic plots of the fit (plot(glm): residuals vs fitted, normal Q-Q, scale-location, residuals vs leverage) as an SVG file.", valueName: "file.svg"))
    var plot: String?

    /// The `--na` values, taken out of the command line before parsing (see main.swift).
    nonisolated(unsafe) static var extractedMissingTokens: [String] = []

    func run() throws {
        // A file that cannot be written, or must not be (the input, the other output), is
        // found before the data is read.
        let destinations = try outputDestinations()
        var request = FitRequest(
            path: file, formula: formula, family: family, link: link, weightsColumn: weights,
            control: FitControl(epsilon: epsilon, maxIterations: maxit), confidenceLevel: confidenceLevel,
            extraMissingTokens: missingTokens + FitCommand.extractedMissingTokens, theta: theta, vcov: vcov, clusterColumn: cluster,
            dispersionTest: dispersionTest, intervalMethod: ci, anova: anova, dropOne: dropOne, compareFormula: compare,
            waldHypotheses: wald)
        let progress = Progress.start()
        request.observer = progress?.observer
        request.chunkRows = chunkRows
        request.dialect = try CSVDialect.resolve(delimiter: delimiter, decimal: decimal, path: file)
        request.referenceLevels = try ReferenceLevels.parse(referenceLevels)
        request.start = try start.map(Pipeline.parseStart)
        if let contrasts { request.defaultContrasts = try DefaultContrasts.parse(contrasts) }
        request.subset = subset
        request.frequencyWeightsColumn = frequencyWeights
        if frequencyWeights != nil, residuals != nil || plot != nil {
            // Per-row diagnostics of an aggregated row are not those of the observations it stands for.
            throw GLMError.invalidOption(
                name: residuals != nil ? "--residuals" : "--plot",
                message: "is not available with --frequency-weights: an aggregated row's residuals, leverage and Cook's "
                    + "distance are not those of the observations it stands for")
        }
        request.fullCovariance = fullCovariance
        if chunkRows != nil, save != nil || residuals != nil || plot != nil {
            throw GLMError.invalidOption(
                name: save != nil ? "--save" : residuals != nil ? "--residuals" : "--plot",
                message: "needs the data in memory and is not available with --chunk-rows")
        }
        request.varPower = varPower
        if zeroInflated || hurdle {
            try runCountModel(request, progress: progress, destinations: destinations)
            return
        }
        for (option, given) in [("--zero-link", zeroLink != nil), ("--vuong", vuong)] where given {
            throw GLMError.invalidOption(name: option, message: "needs --zero-inflated or --hurdle")
        }
        if ModelKind(family: family) != .glm {
            try runCategorical(request, progress: progress, destinations: destinations)
            return
        }
        if let id {
            if chunkRows != nil {
                // GEE needs each cluster's rows together in memory; refused rather than ignored.
                throw GLMError.invalidOption(
                    name: "--chunk-rows", message: "is not available with --id (a GEE fit needs the data in memory)")
            }
            try runGEE(request, id: id, progress: progress)
            return
        }
        if corstr != nil || waves != nil {
            throw GLMError.invalidOption(name: corstr != nil ? "--corstr" : "--waves", message: "needs --id (the cluster column of a GEE)")
        }
        let report = try progress.clearing { try Pipeline.fit(request) }
        let warnings = report.warnings
        if strict, !warnings.isEmpty {
            throw GLMError.strictWarning(messages: warnings)
        }
        // The files are written in full first, put in place only once the report is out: a
        // report that cannot be written (status 74) leaves every file as it was.
        let files = try prepareFiles(destinations: destinations, savedModel: { try SavedModel(report: report).jsonText() }) {
            file in try ResidualsFile.write(report) { try file.write($0) }
        } plot: {
            DiagnosticPlot.render(report)
        }
        try writeReport(
            text: { TextReport.render(report, dataName: $0) }, json: { JSONReport.render(report) },
            csv: { CSVReport.render(report) }, warnings: warnings)
        for file in files { try file.commit() }
    }

    /// Writes the report in the chosen format, then the warnings.
    /// The end of a plug-in kind's run: --strict, the output files prepared, the report
    /// written, then the files committed.
    func finish(
        warnings: [String], destinations: [OutputDestination], savedModel: () throws -> String,
        text: (String) -> String, json: () -> String, csv: () -> String
    ) throws {
        if strict, !warnings.isEmpty { throw GLMError.strictWarning(messages: warnings) }
        let files = try prepareFiles(destinations: destinations, savedModel: savedModel)
        try writeReport(text: text, json: json, csv: csv, warnings: warnings)
        for file in files { try file.commit() }
    }

    func writeReport(text: (String) -> String, json: () -> String, csv: () -> String, warnings: [String]) throws {
        let output: String
        switch format {
        case .text: output = text(file == "-" ? "stdin" : file)
        case .json: output = json()
        case .csv: output = csv()
        }
        try Console.writeOutput(output)
        for warning in warnings { Console.warn(warning) }
    }

    /// `--save`, `--residuals` and `--plot`, checked: none is the input, the other output, or the
    /// file standard output goes to (see `OutputDestination`), nor is standard output the input.
    private func outputDestinations() throws -> [OutputDestination] {
        var destinations: [OutputDestination] = []
        if let save { destinations.append(try OutputDestination(option: "--save", path: save)) }
        if let residuals { destinations.append(try OutputDestination(option: "--residuals", path: residuals)) }
        if let plot { destinations.append(try OutputDestination(option: "--plot", path: plot)) }
        let input = file == "-"
            ? FileID.standardInputFile.map { (name: "the file standard input reads", file: $0) }
            : FileID(path: file).map { (name: "the input data file '\(file)'", file: $0) }
        try OutputDestination.checkDistinct(destinations, inputs: input.map { [$0] } ?? [])
        if let input, FileID.standardOutputFile == input.file {
            throw GLMError.cannotWriteFile(
                path: "<stdout>", reason: "standard output is \(input.name): the report would be written into the data")
        }
        return destinations
    }

    /// Writes `--save` (the text `savedModel` gives), `--residuals` (by `writeResiduals`) and
    /// `--plot` (the picture `plot` draws) in full, not yet in place (see `AtomicFile`).
    func prepareFiles(
        destinations: [OutputDestination], savedModel: () throws -> String,
        writeResiduals: (AtomicFile) throws -> Void = { _ in }, plot: () -> String = { "" }
    ) throws -> [AtomicFile] {
        var files: [AtomicFile] = []
        for destination in destinations {
            let file = try AtomicFile(destination: destination)
            files.append(file)
            if destination.option == "--save" {
                try file.write(try savedModel())
            } else if destination.option == "--plot" {
                try file.write(plot())
            } else {
                try writeResiduals(file)
            }
            try file.prepare()
        }
        return files
    }
}

extension FitCommand {
    /// The GEE path: `--id` given.
    func runGEE(_ base: FitRequest, id: String, progress: Progress?) throws {
        if save != nil || residuals != nil || plot != nil {
            throw GLMError.invalidOption(
                name: save != nil ? "--save" : residuals != nil ? "--residuals" : "--plot", message: "is not available with --id (a GEE fit)")
        }
        var request = base
        var covariance = GEECovariance.robust
        if let vcov = request.vcov {
            guard let kind = GEECovariance(rawValue: vcov.lowercased()) else {
                throw GLMError.invalidOption(name: "--vcov", message: "with --id, choose robust or naive (got '\(vcov)')")
            }
            covariance = kind
            request.vcov = nil
        }
        let gee = GEERequest(idColumn: id, structure: corstr ?? "independence", wavesColumn: waves, covariance: covariance)
        let report = try progress.clearing { try Pipeline.fitGEE(request, gee: gee) }
        let warnings = report.fit.warnings
        if strict, !warnings.isEmpty { throw GLMError.strictWarning(messages: warnings) }
        try writeReport(
            text: { TextReport.render(report, dataName: $0) }, json: { JSONReport.render(report) },
            csv: { CSVReport.render(report) }, warnings: warnings)
    }
}

extension FitCommand {
    /// The multinomial and ordinal kinds: `--family multinomial|ordinal`.
    func runCategorical(_ request: FitRequest, progress: Progress?, destinations: [OutputDestination]) throws {
        let given: [(String, Bool)] = [
            ("--id", id != nil), ("--corstr", corstr != nil), ("--waves", waves != nil), ("--residuals", residuals != nil),
            ("--plot", plot != nil),
        ]
        for (option, isGiven) in given where isGiven {
            throw GLMError.invalidOption(name: option, message: "does not apply to \(ModelKind(family: family).withArticle) model")
        }
        let report = try progress.clearing { try Pipeline.fitCategorical(request) }
        try finish(
            warnings: report.warnings, destinations: destinations, savedModel: { try SavedModel(report: report).jsonText() },
            text: { TextReport.render(report, dataName: $0) }, json: { JSONReport.render(report) },
            csv: { CSVReport.render(report) })
    }
}

extension FitCommand {
    /// The two-part count kinds: `--zero-inflated` or `--hurdle`.
    func runCountModel(_ base: FitRequest, progress: Progress?, destinations: [OutputDestination]) throws {
        if zeroInflated && hurdle {
            throw GLMError.invalidOption(name: "--hurdle", message: "cannot be combined with --zero-inflated")
        }
        var request = base
        let kind: ModelKind = hurdle ? .hurdle : .zeroInflated
        let given: [(String, Bool)] = [
            ("--id", id != nil), ("--corstr", corstr != nil), ("--waves", waves != nil), ("--residuals", residuals != nil),
            ("--plot", plot != nil), ("--var-power", varPower != nil),
        ]
        for (option, isGiven) in given where isGiven {
            throw GLMError.invalidOption(name: option, message: "does not apply to \(kind.withArticle) model")
        }
        request.twoPartKind = kind
        request.zeroLink = zeroLink
        request.vuong = vuong
        let report = try progress.clearing { try Pipeline.fitCountModel(request) }
        try finish(
            warnings: report.warnings, destinations: destinations, savedModel: { try SavedModel(report: report).jsonText() },
            text: { TextReport.render(report, dataName: $0) }, json: { JSONReport.render(report) },
            csv: { CSVReport.render(report) })
    }
}
