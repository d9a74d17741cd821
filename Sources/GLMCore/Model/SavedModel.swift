/// Everything needed to score new data with a fitted model, as `glmfit --save` writes it
/// and `glmfit predict` reads it back: the formula's variables as expressions, the terms
/// and how each codes its factors, the levels each factor had in the fit, one recipe per
/// model-matrix column, the coefficients, their covariance and the dispersion.
///
/// The file is JSON (README, "Saved models"); `format_version` says which layout it has,
/// and a file from a newer layout is refused rather than misread.
public struct SavedModel: Sendable, Equatable {
    /// The value of the `format` member that marks a glmfit model file.
    public static let format = "glmfit-model"
    /// The newest layout this glmfit reads. 2 added zero-inflated and hurdle models (a glmfit
    /// that reads only version 1 would take their count part for a plain GLM) and the
    /// covariance of a fit by blocks stored as `vcov_blocks` instead of `vcov`.
    public static let formatVersion = 2

    /// How a variable enters the model matrix.
    public enum VariableKind: Sendable, Equatable {
        case numeric
        /// The levels present in the rows the model was fitted to, in the order fitted (R's
        /// collation order in the fit's environment, then `--ref`): predict never re-sorts them.
        case factor(levels: [String], isLogical: Bool)
        /// A variable of several columns (`poly(x, 2)`), each named by its suffix.
        case matrix(suffixes: [String])
    }

    /// A variable of the formula: a column or an expression of columns (`log(wbc)`,
    /// `factor(year)`, `I(x^2)`).
    public struct Variable: Sendable, Equatable {
        /// R's name for it (its deparsed expression), the start of its columns' names.
        public let label: String
        /// The expression as glmfit parses it back (numbers as they were written).
        public let expression: String
        public let kind: VariableKind
        /// A factor's contrasts, by R's name (`contr.treatment`, `contr.sum`...).
        public var contrasts: String? = nil
    }

    /// How a variable is coded within one term.
    public enum Coding: String, Sendable, Equatable {
        case numeric
        /// Treatment contrasts: one indicator per level but the first (R's `contr.treatment`).
        case contrasts
        /// One indicator per level (R's coding when the term without this factor is absent).
        case indicators
    }

    /// A term of the formula (R's `term.labels`), the variables it multiplies and the
    /// model-matrix columns it makes.
    public struct Term: Sendable, Equatable {
        public let label: String
        public let variables: [Int]
        /// One coding per entry of `variables`.
        public let coding: [Coding]
        public let columns: [String]
    }

    /// One factor of a model-matrix column's product: a numeric variable's value, the
    /// indicator of one level of a factor, a contrast column's value for each level, or
    /// one column of a several-column variable.
    public struct Part: Sendable, Equatable {
        public let variable: Int
        /// The level whose indicator this is; nil for a numeric variable.
        public let level: String?
        /// A contrast column (`contr.sum`, `contr.poly`...): its value for each of the
        /// factor's levels, in their order.
        public var contrast: [Double]? = nil
        /// The column of a several-column variable (0-based).
        public var column: Int? = nil
    }

    /// A model-matrix column: its name, its term (0 for the intercept, k for the k-th term,
    /// R's `assign`), its estimate (nil when aliased) and how to compute it from the
    /// variables (the product of `parts`; the empty product, 1, for the intercept).
    public struct Coefficient: Sendable, Equatable {
        public let name: String
        public let term: Int
        public let estimate: Double?
        public let parts: [Part]
    }

    /// A data column the predictors or offsets read, with the type it had in the fit.
    public struct DataColumn: Sendable, Equatable {
        public let name: String
        public let type: InputColumnType
    }

    /// The glmfit version that wrote the model.
    public var glmfitVersion: String
    /// The formula as R deparses it.
    public var formula: String
    public var family: Family.Kind
    public var link: Link
    /// The negative binomial theta (estimated by glm.nb or given); nil for other families.
    public var theta: Double?
    public var response: String
    public var weightsColumn: String?
    /// The tokens read as missing values in the fit (and so in new data).
    public var naTokens: [String]
    public var columns: [DataColumn]
    public var variables: [Variable]
    public var hasIntercept: Bool
    public var terms: [Term]
    /// `offset(...)` arguments, as expressions.
    public var offsets: [String]
    /// The values of the data-dependent calls in the variables (`mean(x)` by its deparsed
    /// call), computed on the fit's data: predict uses these, not the new rows' own.
    public var constants: [String: Double] = [:]
    public var coefficients: [Coefficient]
    /// The model covariance of the non-aliased coefficients, in their order (R's `vcov`):
    /// the dispersion times (XᵀWX)⁻¹.
    public var vcov: [[Double]]
    /// The covariance by blocks, instead of `vcov` (then empty), for a fit by blocks whose
    /// matrix was not formed (more than `GLMSummary.covarianceLimit` coefficients).
    public var vcovBlocks: CovarianceBlocks? = nil
    /// The covariance as the sparse factor of XᵀWX, instead of `vcov` (then empty), for a fit
    /// solved as sparse whose matrix was not formed.
    public var vcovFactor: CovarianceFactor? = nil
    /// The dispersion `vcov` includes (R's `summary(fit)$dispersion`); NaN when it does not exist.
    public var dispersion: Double
    public var dispersionEstimated: Bool
    public var rank: Int
    public var dfResidual: Int
    public var observationCount: Int
    public var deviance: Double
    /// A multinomial or ordinal model's parameters (nil for a GLM): see `CategoricalParameters`.
    public var categorical: CategoricalParameters? = nil
    /// A zero-inflated or hurdle model's distribution, zero link and zero part (nil
    /// otherwise; the model itself is then the count part): see `TwoPartParameters`.
    public var twoPart: TwoPartParameters? = nil
    /// The parameters each data-dependent basis learnt from the fitting data, by call.
    public var bases: [String: BasisParameters] = [:]

    /// The names of the non-aliased coefficients, which index `vcov`.
    public var vcovNames: [String] { coefficients.filter { $0.estimate != nil }.map(\.name) }

    /// True when some coefficient is aliased (R's "rank-deficient fit").
    public var isRankDeficient: Bool { categorical == nil && coefficients.contains { $0.estimate == nil } }
}

// MARK: - From a fit

extension SavedModel {
    /// How `design`'s variables are saved and how its columns are built from them (shared by
    /// every model kind that saves a model matrix).
    static func describeVariables(of design: Design) throws -> (variables: [Variable], layout: ModelMatrixLayout) {
        let frame = design.frame
        let terms = frame.terms
        var variables: [Variable] = []
        for (index, expression) in terms.variables.enumerated() {
            let kind: VariableKind
            var contrasts: String?
            switch frame.variables[index] {
            case .numeric: kind = .numeric
            case let .factor(_, levels, isLogical):
                kind = .factor(levels: levels, isLogical: isLogical)
                let attributes = index < frame.attributes.count ? frame.attributes[index] : VariableAttributes()
                contrasts = frame.defaultContrasts.spec(for: attributes).name
            case let .matrix(_, suffixes): kind = .matrix(suffixes: suffixes)
            case .twoColumn:
                throw GLMError.invalidTerm(term: expression.deparsed, message: "cbind() is only allowed as the response")
            }
            variables.append(Variable(
                label: expression.deparsed, expression: try expression.savedText(), kind: kind, contrasts: contrasts))
        }

        let layout = try ModelMatrixLayout(
            terms: terms, kinds: variables.map(\.kind), attributes: frame.attributes, defaults: frame.defaultContrasts)
        guard layout.columnNames == design.columnNames, layout.assign == design.assign else {
            throw GLMError.fitFailed(
                message: "internal error: cannot describe the model matrix for saving (columns \(layout.columnNames) "
                    + "vs \(design.columnNames))")
        }
        return (variables, layout)
    }

    /// Every data column a predictor or an offset reads, typed as it was read; a text
    /// column must be read as a factor of its own values, which predict can type again.
    static func describeColumns(of terms: Terms, variables: [Variable], inputTypes: [String: InputColumnType]) throws -> [DataColumn] {
        // Every column a predictor or an offset reads, typed as it was read.
        var columnNames: [String] = []
        for expression in terms.variables + terms.offsets {
            for name in expression.columnNames where !columnNames.contains(name) { columnNames.append(name) }
        }
        let columns = columnNames.map { name -> DataColumn in
            if let type = inputTypes[name] { return DataColumn(name: name, type: type) }
            // Without a description of the input: a factor variable that is the bare column.
            for (index, expression) in terms.variables.enumerated() where expression == .name(name) {
                if case let .factor(_, isLogical) = variables[index].kind {
                    return DataColumn(name: name, type: isLogical ? .logical : .text)
                }
            }
            return DataColumn(name: name, type: .numeric)
        }

        // predict types a text column by the levels of the factor that is that column, or reads
        // it as text where it is only compared (I(f == "a")); a factor made of it any other way
        // (factor(f, labels = ...)) has levels new data cannot give, and cannot be scored again.
        for column in columns where column.type == .text {
            let unscorable = zip(terms.variables, variables).contains { expression, variable in
                guard expression.columnNames.contains(column.name), case let .factor(_, isLogical) = variable.kind,
                      !isLogical else { return false }
                guard let parsed = try? FormulaExpression.parse(variable.expression) else { return true }
                return ExpressionEvaluator.factorColumn(of: parsed) != column.name
            }
            guard !unscorable else {
                let reader = terms.variables.first { $0.columnNames.contains(column.name) }
                throw GLMError.invalidTerm(
                    term: reader?.deparsed ?? column.name,
                    message: "cannot be saved for predict: the text column '\(column.name)' must enter as f, factor(f), "
                        + "relevel(f, ...) or C(f, ...), whose levels are its values")
            }
        }
        return columns
    }

    /// Describes a fit for saving.
    ///
    /// The covariance is the model's (dispersion × (XᵀWX)⁻¹, what R's `predict.glm` uses),
    /// also when the report's standard errors are robust; the dispersion is 1 for glm.nb
    /// fits, as `summary.negbin` has it.
    ///
    /// - Throws: `GLMError.fitFailed` if the model matrix cannot be described (never
    ///   expected: the recipes are checked against the fit's column names).
    public init(report: ModelReport) throws {
        let fit = report.fit
        let design = fit.design
        let frame = design.frame
        let terms = frame.terms

        var modelSummary = report.summary
        if modelSummary.standardErrors != .model {
            modelSummary = try GLMSummary(
                fit: fit, confidenceLevel: modelSummary.confidenceLevel,
                dispersion: report.negativeBinomial == nil ? nil : 1)
        }

        let (variables, layout) = try SavedModel.describeVariables(of: design)
        var coefficients: [Coefficient] = []
        for (column, name) in design.columnNames.enumerated() {
            let estimate = fit.coefficients[column]
            coefficients.append(Coefficient(
                name: name, term: design.assign[column], estimate: estimate.isNaN ? nil : estimate,
                parts: layout.parts[column]))
        }
        let savedTerms: [Term] = SavedModel.savedTerms(terms, layout: layout, design: design)

        let columns = try SavedModel.describeColumns(of: terms, variables: variables, inputTypes: report.input?.columnTypes ?? [:])

        self.glmfitVersion = GLMFitVersion
        self.formula = terms.formula.deparsed
        self.family = fit.family.kind
        self.link = fit.family.link
        self.theta = fit.family.kind == .negativeBinomial ? (report.negativeBinomial?.theta ?? fit.family.theta) : nil
        self.response = frame.responseLabel
        self.weightsColumn = frame.weightsColumn
        self.naTokens = report.input?.naTokens ?? CSVOptions.defaultNATokens
        self.columns = columns
        self.variables = variables
        self.hasIntercept = terms.hasIntercept
        self.terms = savedTerms
        self.offsets = try terms.offsets.map { try $0.savedText() }
        self.constants = frame.constants
        self.coefficients = coefficients
        self.vcov = modelSummary.vcov
        if modelSummary.vcovOmitted, let sparse = modelSummary.sparseCovariance {
            self.vcovFactor = sparse.saved(dispersion: modelSummary.dispersion, names: design.columnNames)
        }
        if modelSummary.vcovOmitted, let blocks = modelSummary.blockCovariance {
            let term = design.assign[blocks.factor.layout.eliminatedFirst]
            self.vcovBlocks = CovarianceBlocks(
                blocks, dispersion: modelSummary.dispersion, names: design.columnNames,
                termLabel: term >= 1 && term <= terms.termLabels.count ? terms.termLabels[term - 1] : "")
        }
        self.dispersion = modelSummary.dispersion
        self.dispersionEstimated = modelSummary.dispersionEstimated
        self.rank = fit.rank
        self.dfResidual = fit.dfResidual
        self.observationCount = fit.observationCount
        self.deviance = fit.deviance
        self.bases = frame.bases
        if let vcovBlocks {
            guard Set(vcovBlocks.eliminated + vcovBlocks.others) == Set(vcovNames),
                  vcovBlocks.eliminated.count + vcovBlocks.others.count == vcovNames.count else {
                throw GLMError.fitFailed(message: "internal error: the covariance blocks do not match the coefficients")
            }
        }
        guard modelSummary.vcovNames == vcovNames else {
            throw GLMError.fitFailed(message: "internal error: covariance names do not match the coefficients")
        }
    }
}

/// The columns of a model matrix as `Design` builds them: for each term, the product of
/// its variables' columns, the first variable varying fastest; a factor coded by
/// treatment contrasts (all levels but the first) or by indicators of all its levels by
/// R's rule (`Terms.usesContrasts`, and without an intercept the first factor of the
/// first term with a factor gets all its levels).
struct ModelMatrixLayout {
    var columnNames: [String] = []
    var assign: [Int] = []
    var parts: [[SavedModel.Part]] = []
    /// Per term, per variable of the term.
    var codings: [[SavedModel.Coding]] = []

    init(terms: Terms, kinds: [SavedModel.VariableKind], attributes: [VariableAttributes], defaults: DefaultContrasts) throws {
        var fullCodingOverride: (term: Int, variable: Int)?
        if !terms.hasIntercept {
            search: for (termIndex, term) in terms.terms.enumerated() {
                for variable in term {
                    if case .factor = kinds[variable] {
                        fullCodingOverride = (termIndex, variable)
                        break search
                    }
                }
            }
        }
        if terms.hasIntercept {
            columnNames.append("(Intercept)")
            assign.append(0)
            parts.append([])
        }
        let labels = terms.variableLabels
        for (termIndex, term) in terms.terms.enumerated() {
            // Each variable's columns: their suffixes and the part each makes.
            var components: [(label: String, suffixes: [String], parts: [SavedModel.Part])] = []
            var coding: [SavedModel.Coding] = []
            for variable in term {
                let label = labels[variable]
                switch kinds[variable] {
                case .numeric:
                    components.append((label, [""], [SavedModel.Part(variable: variable, level: nil)]))
                    coding.append(.numeric)
                case let .matrix(suffixes):
                    components.append((label, suffixes, suffixes.indices.map {
                        SavedModel.Part(variable: variable, level: nil, column: $0)
                    }))
                    coding.append(.numeric)
                case let .factor(levels, _):
                    let full = fullCodingOverride.map { $0 == (termIndex, variable) } ?? false
                    let contrasted = !full && terms.usesContrasts(variable: variable, inTerm: termIndex)
                    let variableAttributes = variable < attributes.count ? attributes[variable] : VariableAttributes()
                    switch try Design.factorBlock(
                        levels: levels, attributes: variableAttributes, defaults: defaults, contrasted: contrasted, label: label) {
                    case let .indicators(columnLevels, suffixes):
                        components.append((label, suffixes, columnLevels.map { SavedModel.Part(variable: variable, level: levels[$0]) }))
                    case let .contrasts(rows, suffixes):
                        components.append((label, suffixes, suffixes.indices.map { column in
                            SavedModel.Part(variable: variable, level: nil, contrast: rows.map { $0[column] })
                        }))
                    }
                    coding.append(contrasted ? .contrasts : .indicators)
                }
            }
            codings.append(coding)
            let width = components.reduce(1) { $0 * $1.suffixes.count }
            for column in 0..<width {
                var remainder = column
                var nameParts: [String] = []
                var columnParts: [SavedModel.Part] = []
                for component in components {
                    let position = remainder % component.suffixes.count
                    remainder /= component.suffixes.count
                    nameParts.append(component.label + component.suffixes[position])
                    columnParts.append(component.parts[position])
                }
                columnNames.append(nameParts.joined(separator: ":"))
                assign.append(termIndex + 1)
                parts.append(columnParts)
            }
        }
    }
}

// MARK: - Expressions as text

extension FormulaExpression {
    /// The expression as text that `FormulaExpression.parse` reads back to the same
    /// expression: R's deparse, but with numbers as they were written (deparse keeps 15
    /// significant digits).
    var sourceText: String {
        switch self {
        case let .name(name):
            return FormulaExpression.isSyntacticName(name) ? name : "`\(name)`"
        case let .number(_, text):
            return text
        case let .string(value):
            return FormulaExpression.quoted(value)
        case let .logical(value):
            return value ? "TRUE" : "FALSE"
        case let .call(function, arguments):
            return "\(function)(\(arguments.map(\.sourceText).joined(separator: ", ")))"
        case let .binary(op, lhs, rhs):
            switch op {
            case "/", "^", ":", "%%", "%/%":
                return "\(lhs.sourceText)\(op)\(rhs.sourceText)"
            default:
                return "\(lhs.sourceText) \(op) \(rhs.sourceText)"
            }
        case let .unary(op, operand):
            return "\(op)\(operand.sourceText)"
        case let .parenthesized(inner):
            return "(\(inner.sourceText))"
        case .dot:
            return "."
        case let .argument(name, value):
            return (FormulaExpression.isSyntacticName(name) ? name : "`\(name)`") + " = " + value.sourceText
        }
    }

    /// `sourceText`, checked to read back as this very expression.
    func savedText() throws -> String {
        let text = sourceText
        guard (try? FormulaExpression.parse(text)) == self else {
            throw GLMError.invalidTerm(term: deparsed, message: "cannot be written to a model file and read back")
        }
        return text
    }

    /// Parses one expression (a variable or an offset's argument), as it appears in a formula.
    static func parse(_ text: String) throws -> FormulaExpression {
        try FormulaExpression.parseArgument(text)
    }
}

// MARK: - JSON

extension SavedModel {
    /// The model file's contents (README, "Saved models").
    public func jsonText() -> String {
        json.rendered()
    }

    var json: JSONText {
        let variableValues: [JSONText] = variables.map { variable in
            var members: [(String, JSONText)] = [
                ("label", .string(variable.label)),
                ("expression", .string(variable.expression)),
            ]
            switch variable.kind {
            case .numeric:
                members.append(("type", .string("numeric")))
            case let .factor(levels, isLogical):
                members.append(("type", .string(isLogical ? "logical" : "factor")))
                members.append(("levels", .array(levels.map { .string($0) })))
                members.append(("contrasts", .string(variable.contrasts ?? "contr.treatment")))
            case let .matrix(suffixes):
                members.append(("type", .string("matrix")))
                members.append(("suffixes", .array(suffixes.map { .string($0) })))
            }
            return .object(members)
        }
        let termValues: [JSONText] = terms.map { term in
            .object([
                ("label", .string(term.label)),
                ("variables", .array(term.variables.map { .number(Double($0)) })),
                ("coding", .array(term.coding.map { .string($0.rawValue) })),
                ("columns", .array(term.columns.map { .string($0) })),
            ])
        }
        let coefficientValues: [JSONText] = coefficients.map { coefficient in
            .object([
                ("name", .string(coefficient.name)),
                ("term", .number(Double(coefficient.term))),
                ("estimate", .number(coefficient.estimate)),
                ("parts", .array(coefficient.parts.map { part in
                    var members: [(String, JSONText)] = [("variable", .number(Double(part.variable)))]
                    if let level = part.level { members.append(("level", .string(level))) }
                    if let contrast = part.contrast { members.append(("contrast", .array(contrast.map { .number($0) }))) }
                    if let column = part.column { members.append(("column", .number(Double(column)))) }
                    return .object(members)
                })),
            ])
        }
        var members: [(String, JSONText)] = [
            ("format", .string(SavedModel.format)),
            ("format_version", .number(Double(SavedModel.formatVersion))),
            ("glmfit_version", .string(glmfitVersion)),
            ("formula", .string(formula)),
            // A categorical model names its kind here, which a glmfit without the kind refuses.
            ("family", .string(categorical?.kind.rawValue ?? family.cliName)),
            ("link", .string(categorical.map { $0.link?.rawValue ?? "logit" } ?? link.name)),
            ("theta", .number(theta)),
            ("response", .string(response)),
            ("weights", weightsColumn.map { .string($0) } ?? .null),
            ("na_tokens", .array(naTokens.map { .string($0) })),
            ("columns", .array(columns.map { .object([("name", .string($0.name)), ("type", .string($0.type.rawValue))]) })),
            ("variables", .array(variableValues)),
            ("intercept", .bool(hasIntercept)),
            ("terms", .array(termValues)),
            ("offsets", .array(offsets.map { .string($0) })),
            ("constants", .array(constants.keys.sorted().map { call in
                .object([("call", .string(call)), ("value", .number(constants[call]))])
            })),
            ("coefficients", .array(coefficientValues)),
            vcovBlocks.map { ("vcov_blocks", $0.json) } ?? vcovFactor.map { ("vcov_factor", $0.json) } ?? ("vcov", .object([
                ("terms", .array(vcovNames.map { .string($0) })),
                ("matrix", .array(vcov.map { row in .array(row.map { .number($0) }) })),
            ])),
            ("dispersion", .number(dispersion)),
            ("dispersion_estimated", .bool(dispersionEstimated)),
            ("rank", .number(Double(rank))),
            ("df_residual", .number(Double(dfResidual))),
            ("n_obs", .number(Double(observationCount))),
            ("deviance", .number(deviance)),
            ("bases", .array(bases.keys.sorted().compactMap { call in bases[call].map { SavedModel.basisJSON(call: call, $0) } })),
        ]
        if let categorical {
            members.append(("model", .string(categorical.kind.rawValue)))
            members.append(("categorical", categorical.json))
        }
        if let twoPart {
            members.append(("model", .string(twoPart.kind.rawValue)))
            members.append(("two_part", twoPart.json))
        }
        return .object(members)
    }

    /// One basis's parameters in the model file.
    static func basisJSON(call: String, _ parameters: BasisParameters) -> JSONText {
        func numbers(_ values: [Double]) -> JSONText { .array(values.map { .number($0) }) }
        var members: [(String, JSONText)] = [("call", .string(call))]
        switch parameters {
        case let .poly(alpha, norm2):
            members += [("type", .string("poly")), ("alpha", numbers(alpha)), ("norm2", numbers(norm2))]
        case let .spline(knots, boundary):
            members += [("type", .string("spline")), ("knots", numbers(knots)), ("boundary_knots", numbers(boundary))]
        case let .scale(center, scale):
            members += [("type", .string("scale")), ("center", .number(center)), ("scale", .number(scale))]
        case let .cut(breaks):
            members += [("type", .string("cut")), ("breaks", numbers(breaks))]
        }
        return .object(members)
    }

    /// Reads the model file at `path`.
    ///
    /// - Throws: `GLMError.fileNotFound` / `.unreadableInput` (exit 66) when the file cannot
    ///   be read; `.invalidModelFile` when it is not JSON, not a glmfit model, or not
    ///   consistent; `.incompatibleModelFile` when a newer glmfit wrote it in a newer layout.
    public static func load(path: String) throws -> SavedModel {
        let input = try CSVInputBuffer.load(path: path, source: path)
        let bytes = withExtendedLifetime(input) { Array(input.bytes) }
        return try SavedModel(jsonBytes: bytes, path: path)
    }

    /// Reads a model from the bytes of a model file; `path` names it in messages.
    public init(jsonBytes bytes: [UInt8], path: String) throws {
        let document: JSONText
        do {
            document = try JSONText.parse(bytes)
        } catch {
            throw GLMError.invalidModelFile(path: path, reason: "it is not valid JSON (\(error.description))")
        }
        var reader = ModelFileReader(path: path)
        guard case .object = document, document["format"] == .string(SavedModel.format) else {
            throw GLMError.invalidModelFile(
                path: path, reason: "it is JSON but not a glmfit model (no \"format\": \"\(SavedModel.format)\"); "
                    + "write one with glmfit --save")
        }
        let version = try reader.integer(document, "format_version")
        let writtenBy = (try? reader.string(document, "glmfit_version")) ?? "(unknown version)"
        guard version >= 1, version <= SavedModel.formatVersion else {
            throw GLMError.incompatibleModelFile(
                path: path, writtenBy: writtenBy, formatVersion: version, supported: SavedModel.formatVersion)
        }
        try self.init(document: document, reader: &reader, writtenBy: writtenBy)
        // A GLM's rank is its estimated coefficients (a categorical or two-part model counts its
        // own parameters).
        let estimated = coefficients.count { $0.estimate != nil }
        guard categorical != nil || twoPart != nil || rank == estimated else {
            throw reader.invalid("its rank (\(rank)) is not its number of non-aliased coefficients (\(estimated))")
        }
    }

    private init(document: JSONText, reader: inout ModelFileReader, writtenBy: String) throws {
        glmfitVersion = writtenBy
        formula = try reader.string(document, "formula")
        let modelName = try reader.optionalString(document, "model") ?? ModelKind.glm.rawValue
        guard let modelKind = ModelKind(rawValue: modelName) else {
            throw reader.invalid("unknown model kind '\(modelName)'")
        }
        if modelKind == .multinomial || modelKind == .ordinal {
            // The kind's own parameters are read below, once the columns are known.
            family = .binomial
            link = .logit
        } else {
            let familyName = try reader.string(document, "family")
            guard let kind = Family.Kind(name: familyName) else { throw reader.invalid("unknown family '\(familyName)'") }
            family = kind
            let linkName = try reader.string(document, "link")
            guard let link = Link(name: linkName), kind.allowedLinks.contains(link) else {
                throw reader.invalid("link '\(linkName)' is not a link of the \(kind.cliName) family")
            }
            self.link = link
        }
        let kind = family
        theta = try reader.optionalNumber(document, "theta")
        if kind == .negativeBinomial, !(theta.map { $0 > 0 && $0.isFinite } ?? false) {
            throw reader.invalid("a negative binomial model needs a positive 'theta'")
        }
        response = try reader.string(document, "response")
        weightsColumn = try reader.optionalString(document, "weights")
        naTokens = try reader.array(document, "na_tokens").map { try reader.string($0, in: "na_tokens") }

        columns = try reader.array(document, "columns").map { value in
            let name = try reader.string(value, "name")
            let typeName = try reader.string(value, "type")
            guard let type = InputColumnType(rawValue: typeName) else {
                throw reader.invalid("column '\(name)' has an unknown type '\(typeName)'")
            }
            return DataColumn(name: name, type: type)
        }

        variables = try reader.array(document, "variables").map { value in
            let label = try reader.string(value, "label")
            let expression = try reader.string(value, "expression")
            let parsed: FormulaExpression
            do {
                parsed = try FormulaExpression.parse(expression)
            } catch {
                throw reader.invalid("variable '\(label)': the expression '\(expression)' cannot be parsed")
            }
            guard parsed.deparsed == label else {
                throw reader.invalid("variable '\(label)': its expression '\(expression)' reads as '\(parsed.deparsed)'")
            }
            let type = try reader.string(value, "type")
            switch type {
            case "numeric":
                return Variable(label: label, expression: expression, kind: .numeric)
            case "factor", "logical":
                let levels = try reader.array(value, "levels").map { try reader.string($0, in: "levels of '\(label)'") }
                guard !levels.isEmpty, Set(levels).count == levels.count else {
                    throw reader.invalid("factor '\(label)' needs distinct levels")
                }
                let contrasts = try reader.optionalString(value, "contrasts")
                if let contrasts, ContrastSpec.kind(named: String(contrasts.prefix { $0 != "(" })) == nil {
                    throw reader.invalid("factor '\(label)': unknown contrasts '\(contrasts)'")
                }
                return Variable(
                    label: label, expression: expression, kind: .factor(levels: levels, isLogical: type == "logical"),
                    contrasts: contrasts)
            case "matrix":
                let suffixes = try reader.array(value, "suffixes").map { try reader.string($0, in: "suffixes of '\(label)'") }
                guard !suffixes.isEmpty else { throw reader.invalid("variable '\(label)' needs its columns' suffixes") }
                return Variable(label: label, expression: expression, kind: .matrix(suffixes: suffixes))
            default:
                throw reader.invalid("variable '\(label)' has an unknown type '\(type)'")
            }
        }
        hasIntercept = try reader.bool(document, "intercept")

        let variableCount = variables.count
        terms = try reader.array(document, "terms").map { value in
            let label = try reader.string(value, "label")
            let indices = try reader.array(value, "variables").map { try reader.index($0, below: variableCount, in: "term '\(label)'") }
            let coding = try reader.array(value, "coding").map { item -> Coding in
                let text = try reader.string(item, in: "coding of term '\(label)'")
                guard let coding = Coding(rawValue: text) else { throw reader.invalid("term '\(label)' has an unknown coding '\(text)'") }
                return coding
            }
            guard coding.count == indices.count, !indices.isEmpty else {
                throw reader.invalid("term '\(label)' needs one coding per variable")
            }
            let columns = try reader.array(value, "columns").map { try reader.string($0, in: "columns of term '\(label)'") }
            return Term(label: label, variables: indices, coding: coding, columns: columns)
        }

        offsets = try reader.array(document, "offsets").map { value in
            let text = try reader.string(value, in: "offsets")
            guard (try? FormulaExpression.parse(text)) != nil else { throw reader.invalid("the offset '\(text)' cannot be parsed") }
            return text
        }

        if document["constants"] != nil {
            for value in try reader.array(document, "constants") {
                constants[try reader.string(value, "call")] = try reader.optionalNumber(value, "value") ?? .nan
            }
        }

        let termCount = terms.count
        let variablesRead = variables
        // Each factor's levels as a set: a 100,000-level factor has as many coefficients.
        let levelSets = variables.map { Set($0.kind.levels) }
        coefficients = try reader.array(document, "coefficients").map { value in
            let name = try reader.string(value, "name")
            let term = try reader.index(try reader.member(value, "term"), below: termCount + 1, in: "coefficient '\(name)'")
            let estimate = try reader.optionalNumber(value, "estimate")
            let parts = try reader.array(value, "parts").map { item -> Part in
                let variable = try reader.index(try reader.member(item, "variable"), below: variableCount, in: "coefficient '\(name)'")
                let level = try reader.optionalString(item, "level")
                let contrast = try item["contrast"].map { try reader.numbers($0, in: "contrast of coefficient '\(name)'") }
                let column = try item["column"].map { try reader.index($0, below: Int(Int32.max), in: "coefficient '\(name)'") }
                switch (variablesRead[variable].kind, level, contrast, column) {
                case (.numeric, nil, nil, nil):
                    break
                case let (.factor, level?, nil, nil) where levelSets[variable].contains(level):
                    break
                case let (.factor(levels, _), nil, contrast?, nil) where contrast.count == levels.count && contrast.allSatisfy(\.isFinite):
                    break
                case let (.matrix(suffixes), nil, nil, column?) where column < suffixes.count:
                    break
                default:
                    throw reader.invalid("coefficient '\(name)': part \(variable) does not match variable '\(variablesRead[variable].label)'")
                }
                return Part(variable: variable, level: level, contrast: contrast, column: column)
            }
            return Coefficient(name: name, term: term, estimate: estimate, parts: parts)
        }
        if hasIntercept, coefficients.first.map({ $0.term != 0 || !$0.parts.isEmpty }) ?? true {
            throw reader.invalid("a model with an intercept must list '(Intercept)' first")
        }

        let kept = coefficients.filter { $0.estimate != nil }.map(\.name)
        let blocksValue = document["vcov_blocks"]
        let factorValue = document["vcov_factor"]
        if blocksValue != nil || factorValue != nil {
            // The covariance by blocks or as a factor (read below, with the dispersion)
            // instead of the matrix.
            let present = ["vcov", "vcov_blocks", "vcov_factor"].filter { document[$0] != nil }
            guard present.count == 1 else { throw reader.invalid("it has both '\(present[0])' and '\(present[1])'") }
            vcov = []
        } else {
            guard document["vcov"] != nil else {
                throw reader.invalid("it has no covariance ('vcov', 'vcov_blocks' or 'vcov_factor')")
            }
            let vcovValue = try reader.member(document, "vcov")
            let vcovTerms = try reader.array(vcovValue, "terms").map { try reader.string($0, in: "vcov terms") }
            guard vcovTerms == kept else {
                throw reader.invalid("the covariance matrix is not over the non-aliased coefficients (\(kept.joined(separator: ", ")))")
            }
            vcov = try reader.array(vcovValue, "matrix").map { row in
                let values = try reader.numbers(row, in: "vcov")
                guard values.count == kept.count else { throw reader.invalid("the covariance matrix is not \(kept.count) × \(kept.count)") }
                return values
            }
            guard vcov.count == kept.count else { throw reader.invalid("the covariance matrix is not \(kept.count) × \(kept.count)") }
        }
        for coefficient in coefficients {
            if let estimate = coefficient.estimate, !estimate.isFinite {
                throw reader.invalid("the estimate of '\(coefficient.name)' is not a finite number (\(estimate))")
            }
        }

        dispersion = try reader.optionalNumber(document, "dispersion") ?? .nan
        dispersionEstimated = try reader.bool(document, "dispersion_estimated")
        // NaN (absent) where there is none: categorical models, or estimated without degrees
        // of freedom (see `checkCovariance`).
        guard dispersion.isNaN || (dispersion >= 0 && dispersion.isFinite) else {
            throw reader.invalid("the dispersion is not a finite number of at least 0 (\(dispersion))")
        }
        try SavedModel.checkCovariance(
            vcov, names: kept, reader: reader, undefined: dispersionEstimated && dispersion.isNaN)
        if let blocksValue {
            var coefficientTerms: [String: String] = [:]
            for coefficient in coefficients where coefficient.term >= 1 && coefficient.term <= terms.count {
                coefficientTerms[coefficient.name] = terms[coefficient.term - 1].label
            }
            vcovBlocks = try CovarianceBlocks(
                json: blocksValue, kept: kept, coefficientTerms: coefficientTerms, reader: reader,
                undefined: dispersionEstimated && dispersion.isNaN)
        }
        if let factorValue {
            vcovFactor = try CovarianceFactor(
                json: factorValue, kept: kept, reader: reader, undefined: dispersionEstimated && dispersion.isNaN)
        }
        rank = try reader.integer(document, "rank")
        dfResidual = try reader.integer(document, "df_residual")
        observationCount = try reader.integer(document, "n_obs")
        deviance = try reader.optionalNumber(document, "deviance") ?? .nan
        let fileReader = reader
        switch modelKind {
        case .multinomial, .ordinal:
            categorical = try CategoricalParameters(
                json: try reader.member(document, "categorical"), kind: modelKind, columnCount: coefficients.count,
                invalid: { fileReader.invalid($0) })
        case .zeroInflated, .hurdle, .glm:
            break
        }
        var bases: [String: BasisParameters] = [:]
        for value in (document["bases"] == nil ? [] : try reader.array(document, "bases")) {
            let call = try reader.string(value, "call")
            func numbers(_ key: String) throws -> [Double] {
                let values = try reader.numbers(try reader.member(value, key), in: "basis '\(call)'")
                guard values.allSatisfy(\.isFinite) else { throw reader.invalid("basis '\(call)': '\(key)' must be finite numbers") }
                return values
            }
            switch try reader.string(value, "type") {
            case "poly": bases[call] = .poly(alpha: try numbers("alpha"), norm2: try numbers("norm2"))
            case "spline": bases[call] = .spline(knots: try numbers("knots"), boundary: try numbers("boundary_knots"))
            case "scale":
                bases[call] = .scale(center: try reader.optionalNumber(value, "center"), scale: try reader.optionalNumber(value, "scale"))
            case "cut": bases[call] = .cut(breaks: try numbers("breaks"))
            case let type: throw reader.invalid("basis '\(call)' has an unknown type '\(type)'")
            }
        }
        self.bases = bases

        // A text column can only be the column of a factor (`f` or `factor(f)`), whose levels it
        // takes, or be compared in an expression (`sex == "F"`), where any text is read.
        let comparedColumns = Set(variables.compactMap { try? FormulaExpression.parse($0.expression) }
            .filter { if case .name = $0 { return false } else { return true } }.flatMap(\.columnNames))
        for column in columns where column.type == .text && !comparedColumns.contains(column.name) {
            let isFactorColumn = variables.contains { variable in
                guard case .factor = variable.kind, let parsed = try? FormulaExpression.parse(variable.expression) else { return false }
                return ExpressionEvaluator.factorColumn(of: parsed) == column.name
            }
            guard isFactorColumn else { throw reader.invalid("text column '\(column.name)' is not the column of a factor of the model") }
        }
        // Every column an expression reads must be described.
        let described = Set(columns.map(\.name))
        for text in variables.map(\.expression) + offsets {
            for name in try FormulaExpression.parse(text).columnNames where !described.contains(name) {
                throw reader.invalid("the expression '\(text)' reads column '\(name)', which 'columns' does not describe")
            }
        }
        if modelKind == .zeroInflated || modelKind == .hurdle {
            // The zero part is a GLM's saved model inside this one (one level deep: a GLM has no two_part).
            twoPart = try TwoPartParameters(
                json: try reader.member(document, "two_part"), kind: modelKind, count: self,
                zeroModel: { value in
                    guard case .object = value, value["model"] == nil else {
                        throw fileReader.invalid("the zero part ('two_part.zero') must be a GLM's saved model")
                    }
                    var zeroReader = ModelFileReader(path: fileReader.path)
                    return try SavedModel(document: value, reader: &zeroReader, writtenBy: writtenBy)
                },
                invalid: { fileReader.invalid($0) })
        }
    }
}

/// Typed access to the members of a model file, with messages naming what is wrong.
struct ModelFileReader {
    let path: String

    func invalid(_ reason: String) -> GLMError { .invalidModelFile(path: path, reason: reason) }

    /// "('a', 'b')": a covariance entry by its coefficients' names.
    static func entry(_ names: [String], _ i: Int, _ j: Int) -> String { "('\(names[i])', '\(names[j])')" }

    func member(_ value: JSONText, _ key: String) throws -> JSONText {
        guard let member = value[key] else { throw invalid("member '\(key)' is missing") }
        return member
    }

    func string(_ value: JSONText, _ key: String) throws -> String {
        guard case let .string(text) = try member(value, key) else { throw invalid("member '\(key)' is not a string") }
        return text
    }

    func string(_ value: JSONText, in context: String) throws -> String {
        guard case let .string(text) = value else { throw invalid("\(context) must be strings") }
        return text
    }

    func optionalString(_ value: JSONText, _ key: String) throws -> String? {
        switch value[key] {
        case nil, .null?: return nil
        case let .string(text)?: return text
        default: throw invalid("member '\(key)' is not a string or null")
        }
    }

    func bool(_ value: JSONText, _ key: String) throws -> Bool {
        guard case let .bool(flag) = try member(value, key) else { throw invalid("member '\(key)' is not true or false") }
        return flag
    }

    func optionalNumber(_ value: JSONText, _ key: String) throws -> Double? {
        switch value[key] {
        case nil, .null?: return nil
        case let .number(number)?: return number
        default: throw invalid("member '\(key)' is not a number or null")
        }
    }

    func integer(_ value: JSONText, _ key: String) throws -> Int {
        guard case let .number(number) = try member(value, key), number == number.rounded(), abs(number) < 1e15 else {
            throw invalid("member '\(key)' is not a whole number")
        }
        return Int(number)
    }

    func index(_ value: JSONText, below limit: Int, in context: String) throws -> Int {
        guard case let .number(number) = value, number == number.rounded(), number >= 0, number < Double(limit) else {
            throw invalid("\(context) refers to an index out of range")
        }
        return Int(number)
    }

    func array(_ value: JSONText, _ key: String) throws -> [JSONText] {
        guard case let .array(values) = try member(value, key) else { throw invalid("member '\(key)' is not an array") }
        return values
    }

    func numbers(_ value: JSONText, in context: String) throws -> [Double] {
        guard case let .array(values) = value else { throw invalid("\(context) must be arrays of numbers") }
        return try values.map { item in
            switch item {
            case let .number(number): return number
            case .null: return .nan  // written for a value that does not exist (NaN)
            default: throw invalid("\(context) must be arrays of numbers")
            }
        }
    }
}

extension SavedModel {
    /// A covariance matrix predict can use: every entry a finite number (`null` is read as
    /// NaN), no negative variance, symmetric to rounding. `undefined`: the fit had no residual
    /// degrees of freedom, so its dispersion, and with it every entry, is NaN (R's too), which
    /// only standard errors and intervals use.
    fileprivate static func checkCovariance(_ vcov: [[Double]], names: [String], reader: ModelFileReader, undefined: Bool) throws {
        if undefined, vcov.allSatisfy({ $0.allSatisfy(\.isNaN) }) { return }
        for i in vcov.indices {
            for j in vcov[i].indices where !vcov[i][j].isFinite {
                let what = vcov[i][j].isNaN ? "null or not a number" : "infinite"
                throw reader.invalid("the covariance matrix entry \(ModelFileReader.entry(names, i, j)) is \(what)")
            }
        }
        for i in vcov.indices where vcov[i][i] < 0 {
            throw reader.invalid("the covariance matrix has a negative variance for '\(names[i])' (\(vcov[i][i]))")
        }
        for i in vcov.indices {
            for j in vcov.indices where j > i {
                let scale = Swift.max((vcov[i][i] * vcov[j][j]).squareRoot(), abs(vcov[i][j]), abs(vcov[j][i]))
                guard abs(vcov[i][j] - vcov[j][i]) > 1e-12 * scale else { continue }
                throw reader.invalid(
                    "the covariance matrix is not symmetric: entry \(ModelFileReader.entry(names, i, j)) is \(vcov[i][j]) "
                        + "but \(ModelFileReader.entry(names, j, i)) is \(vcov[j][i])")
            }
        }
    }
}

extension SavedModel {
    /// Each term of a fitted design as the model file keeps it: its label, variables, coding
    /// and the names of its columns (one pass over the columns, by their `assign`).
    static func savedTerms(_ terms: Terms, layout: ModelMatrixLayout, design: Design) -> [Term] {
        var columns = [[String]](repeating: [], count: terms.terms.count)
        for (name, term) in zip(design.columnNames, design.assign) where term >= 1 && term <= columns.count {
            columns[term - 1].append(name)
        }
        return terms.terms.enumerated().map { termIndex, term in
            Term(label: terms.termLabels[termIndex], variables: term, coding: layout.codings[termIndex], columns: columns[termIndex])
        }
    }
}
