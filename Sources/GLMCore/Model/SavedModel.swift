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
    /// The layout this glmfit writes, and the newest it reads.
    public static let formatVersion = 1

    /// How a variable enters the model matrix.
    public enum VariableKind: Sendable, Equatable {
        case numeric
        /// The levels present in the rows the model was fitted to, in the order fitted (R's
        /// collation order in the fit's environment, then `--ref`): predict never re-sorts them.
        case factor(levels: [String], isLogical: Bool)
    }

    /// A variable of the formula: a column or an expression of columns (`log(wbc)`,
    /// `factor(year)`, `I(x^2)`).
    public struct Variable: Sendable, Equatable {
        /// R's name for it (its deparsed expression), the start of its columns' names.
        public let label: String
        /// The expression as glmfit parses it back (numbers as they were written).
        public let expression: String
        public let kind: VariableKind
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

    /// One factor of a model-matrix column's product: a numeric variable's value, or the
    /// indicator of one level of a factor.
    public struct Part: Sendable, Equatable {
        public let variable: Int
        /// The level whose indicator this is; nil for a numeric variable.
        public let level: String?
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
    /// The dispersion `vcov` includes (R's `summary(fit)$dispersion`); NaN when it does not exist.
    public var dispersion: Double
    public var dispersionEstimated: Bool
    public var rank: Int
    public var dfResidual: Int
    public var observationCount: Int
    public var deviance: Double

    /// The names of the non-aliased coefficients, which index `vcov`.
    public var vcovNames: [String] { coefficients.filter { $0.estimate != nil }.map(\.name) }

    /// True when some coefficient is aliased (R's "rank-deficient fit").
    public var isRankDeficient: Bool { coefficients.contains { $0.estimate == nil } }
}

// MARK: - From a fit

extension SavedModel {
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

        var variables: [Variable] = []
        for (index, expression) in terms.variables.enumerated() {
            let kind: VariableKind
            switch frame.variables[index] {
            case .numeric: kind = .numeric
            case let .factor(_, levels, isLogical): kind = .factor(levels: levels, isLogical: isLogical)
            case .twoColumn:
                throw GLMError.invalidTerm(term: expression.deparsed, message: "cbind() is only allowed as the response")
            }
            variables.append(Variable(label: expression.deparsed, expression: try expression.savedText(), kind: kind))
        }

        let layout = ModelMatrixLayout(terms: terms, kinds: variables.map(\.kind))
        guard layout.columnNames == design.columnNames, layout.assign == design.assign else {
            throw GLMError.fitFailed(
                message: "internal error: cannot describe the model matrix for saving (columns \(layout.columnNames) "
                    + "vs \(design.columnNames))")
        }
        var coefficients: [Coefficient] = []
        for (column, name) in design.columnNames.enumerated() {
            let estimate = fit.coefficients[column]
            coefficients.append(Coefficient(
                name: name, term: design.assign[column], estimate: estimate.isNaN ? nil : estimate,
                parts: layout.parts[column]))
        }
        let savedTerms: [Term] = terms.terms.enumerated().map { termIndex, term in
            Term(label: terms.termLabels[termIndex], variables: term, coding: layout.codings[termIndex],
                 columns: zip(design.columnNames, design.assign).filter { $0.1 == termIndex + 1 }.map(\.0))
        }

        // Every column a predictor or an offset reads, typed as it was read.
        var columnNames: [String] = []
        for expression in terms.variables + terms.offsets {
            for name in expression.columnNames where !columnNames.contains(name) { columnNames.append(name) }
        }
        let inputTypes = report.input?.columnTypes ?? [:]
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
        self.dispersion = modelSummary.dispersion
        self.dispersionEstimated = modelSummary.dispersionEstimated
        self.rank = fit.rank
        self.dfResidual = fit.dfResidual
        self.observationCount = fit.observationCount
        self.deviance = fit.deviance
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

    init(terms: Terms, kinds: [SavedModel.VariableKind]) {
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
            var components: [(label: String, variable: Int, levels: [String]?)] = []
            var coding: [SavedModel.Coding] = []
            for variable in term {
                switch kinds[variable] {
                case .numeric:
                    components.append((labels[variable], variable, nil))
                    coding.append(.numeric)
                case let .factor(levels, _):
                    let full = fullCodingOverride.map { $0 == (termIndex, variable) } ?? false
                    let contrasts = !full && terms.usesContrasts(variable: variable, inTerm: termIndex)
                    components.append((labels[variable], variable, Array(levels.dropFirst(contrasts ? 1 : 0))))
                    coding.append(contrasts ? .contrasts : .indicators)
                }
            }
            codings.append(coding)
            let width = components.reduce(1) { $0 * ($1.levels?.count ?? 1) }
            for column in 0..<width {
                var remainder = column
                var nameParts: [String] = []
                var columnParts: [SavedModel.Part] = []
                for component in components {
                    if let levels = component.levels {
                        let level = levels[remainder % levels.count]
                        remainder /= levels.count
                        nameParts.append(component.label + level)
                        columnParts.append(SavedModel.Part(variable: component.variable, level: level))
                    } else {
                        nameParts.append(component.label)
                        columnParts.append(SavedModel.Part(variable: component.variable, level: nil))
                    }
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
                members.append(("contrasts", .string("contr.treatment")))
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
                    return .object(members)
                })),
            ])
        }
        return .object([
            ("format", .string(SavedModel.format)),
            ("format_version", .number(Double(SavedModel.formatVersion))),
            ("glmfit_version", .string(glmfitVersion)),
            ("formula", .string(formula)),
            ("family", .string(family.cliName)),
            ("link", .string(link.name)),
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
            ("vcov", .object([
                ("terms", .array(vcovNames.map { .string($0) })),
                ("matrix", .array(vcov.map { row in .array(row.map { .number($0) }) })),
            ])),
            ("dispersion", .number(dispersion)),
            ("dispersion_estimated", .bool(dispersionEstimated)),
            ("rank", .number(Double(rank))),
            ("df_residual", .number(Double(dfResidual))),
            ("n_obs", .number(Double(observationCount))),
            ("deviance", .number(deviance)),
        ])
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
    }

    private init(document: JSONText, reader: inout ModelFileReader, writtenBy: String) throws {
        glmfitVersion = writtenBy
        formula = try reader.string(document, "formula")
        let familyName = try reader.string(document, "family")
        guard let kind = Family.Kind(name: familyName) else { throw reader.invalid("unknown family '\(familyName)'") }
        family = kind
        let linkName = try reader.string(document, "link")
        guard let link = Link(name: linkName), kind.allowedLinks.contains(link) else {
            throw reader.invalid("link '\(linkName)' is not a link of the \(kind.cliName) family")
        }
        self.link = link
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
                if let contrasts = try reader.optionalString(value, "contrasts"), contrasts != "contr.treatment" {
                    throw reader.invalid("factor '\(label)': contrasts '\(contrasts)' are not supported (only contr.treatment)")
                }
                return Variable(label: label, expression: expression, kind: .factor(levels: levels, isLogical: type == "logical"))
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
        coefficients = try reader.array(document, "coefficients").map { value in
            let name = try reader.string(value, "name")
            let term = try reader.index(try reader.member(value, "term"), below: termCount + 1, in: "coefficient '\(name)'")
            let estimate = try reader.optionalNumber(value, "estimate")
            let parts = try reader.array(value, "parts").map { item -> Part in
                let variable = try reader.index(try reader.member(item, "variable"), below: variableCount, in: "coefficient '\(name)'")
                let level = try reader.optionalString(item, "level")
                switch (variablesRead[variable].kind, level) {
                case (.numeric, nil):
                    break
                case let (.factor(levels, _), level?) where levels.contains(level):
                    break
                default:
                    throw reader.invalid("coefficient '\(name)': part \(variable) does not match variable '\(variablesRead[variable].label)'")
                }
                return Part(variable: variable, level: level)
            }
            return Coefficient(name: name, term: term, estimate: estimate, parts: parts)
        }
        if hasIntercept, coefficients.first.map({ $0.term != 0 || !$0.parts.isEmpty }) ?? true {
            throw reader.invalid("a model with an intercept must list '(Intercept)' first")
        }

        let vcovValue = try reader.member(document, "vcov")
        let vcovTerms = try reader.array(vcovValue, "terms").map { try reader.string($0, in: "vcov terms") }
        let kept = coefficients.filter { $0.estimate != nil }.map(\.name)
        guard vcovTerms == kept else {
            throw reader.invalid("the covariance matrix is not over the non-aliased coefficients (\(kept.joined(separator: ", ")))")
        }
        vcov = try reader.array(vcovValue, "matrix").map { row in
            let values = try reader.numbers(row, in: "vcov")
            guard values.count == kept.count else { throw reader.invalid("the covariance matrix is not \(kept.count) × \(kept.count)") }
            return values
        }
        guard vcov.count == kept.count else { throw reader.invalid("the covariance matrix is not \(kept.count) × \(kept.count)") }

        dispersion = try reader.optionalNumber(document, "dispersion") ?? .nan
        dispersionEstimated = try reader.bool(document, "dispersion_estimated")
        rank = try reader.integer(document, "rank")
        dfResidual = try reader.integer(document, "df_residual")
        observationCount = try reader.integer(document, "n_obs")
        deviance = try reader.optionalNumber(document, "deviance") ?? .nan

        // A text column can only be the column of a factor (`f` or `factor(f)`), whose levels it
        // takes, or be compared in an expression (`sex == "F"`), where any text is read.
        let comparedColumns = Set(variables.compactMap { try? FormulaExpression.parse($0.expression) }
            .filter { if case .name = $0 { return false } else { return true } }.flatMap(\.columnNames))
        for column in columns where column.type == .text && !comparedColumns.contains(column.name) {
            let isFactorColumn = variables.contains { variable in
                guard case .factor = variable.kind, let parsed = try? FormulaExpression.parse(variable.expression) else { return false }
                switch parsed {
                case let .name(name): return name == column.name
                case let .call(function, arguments) where (function == "factor" || function == "as.factor") && arguments.count == 1:
                    return arguments[0] == .name(column.name)
                default: return false
                }
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
    }
}

/// Typed access to the members of a model file, with messages naming what is wrong.
private struct ModelFileReader {
    let path: String

    func invalid(_ reason: String) -> GLMError { .invalidModelFile(path: path, reason: reason) }

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
