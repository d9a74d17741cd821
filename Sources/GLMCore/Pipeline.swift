/// Everything a fit needs from the command line, already validated for type.
public struct FitRequest: Sendable {
    /// A CSV path, or "-" for standard input.
    public var path: String
    public var formula: String
    public var family: String
    public var link: String?
    public var weightsColumn: String?
    public var control: FitControl
    public var confidenceLevel: Double
    public var extraMissingTokens: [String]

    public init(
        path: String, formula: String, family: String = "gaussian", link: String? = nil, weightsColumn: String? = nil,
        control: FitControl = FitControl(), confidenceLevel: Double = 0.95, extraMissingTokens: [String] = []
    ) {
        self.path = path
        self.formula = formula
        self.family = family
        self.link = link
        self.weightsColumn = weightsColumn
        self.control = control
        self.confidenceLevel = confidenceLevel
        self.extraMissingTokens = extraMissingTokens
    }
}

/// The whole data flow, CSV bytes to summary, one stage after another.
public enum Pipeline {
    /// Checks the options that need no data, so a typo fails before a large file is read.
    public static func resolveFamily(_ request: FitRequest) throws -> Family {
        guard let kind = Family.Kind(name: request.family) else {
            throw GLMError.unknownFamily(name: request.family, known: Family.Kind.cliNames)
        }
        var link: Link?
        if let name = request.link {
            guard let parsed = Link(name: name) else {
                throw GLMError.unknownLink(name: name, known: Link.allCases.map(\.name))
            }
            link = parsed
        }
        return try Family(kind: kind, link: link)
    }

    public static func validate(_ request: FitRequest) throws {
        guard request.confidenceLevel > 0, request.confidenceLevel < 1 else {
            throw GLMError.invalidOption(name: "--conf-level", message: "must be between 0 and 1, exclusive (got \(request.confidenceLevel))")
        }
        guard request.control.epsilon > 0, request.control.epsilon.isFinite else {
            throw GLMError.invalidOption(name: "--epsilon", message: "must be a positive number (got \(request.control.epsilon))")
        }
        guard request.control.maxIterations >= 1 else {
            throw GLMError.invalidOption(name: "--maxit", message: "must be at least 1 (got \(request.control.maxIterations))")
        }
    }

    public static func fit(_ request: FitRequest) throws -> GLMSummary {
        try validate(request)
        let family = try resolveFamily(request)
        let formula = try Formula.parse(request.formula)
        var options = CSVOptions()
        options.naTokens += request.extraMissingTokens
        let table = try CSVReader.read(path: request.path, options: options) { header in
            try ModelFrame.requiredColumns(formula: formula, columnNames: header, weightsColumn: request.weightsColumn)
        }
        let frame = try ModelFrame(table: table, formula: formula, weightsColumn: request.weightsColumn)
        let design = try Design(frame: frame)
        if design.rowCount < design.columnCount {
            throw GLMError.tooFewObservations(observations: design.rowCount, coefficients: design.columnCount)
        }
        let fit = try GLMFit.fit(design: design, family: family, control: request.control)
        return try GLMSummary(fit: fit, confidenceLevel: request.confidenceLevel)
    }
}
