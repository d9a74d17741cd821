import Foundation

/// What a data-dependent function learnt from the fitting data, kept in the saved model so
/// that new data is transformed the same way (R's `makepredictcall`).
public enum BasisParameters: Sendable, Equatable {
    /// `poly()`'s recurrence coefficients.
    case poly(alpha: [Double], norm2: [Double])
    /// `ns()`/`bs()`'s interior and boundary knots.
    case spline(knots: [Double], boundary: [Double])
    /// `scale()`'s centre and scale (nil: not centred, not scaled).
    case scale(center: Double?, scale: Double?)
    /// `cut(x, n)`'s breaks.
    case cut(breaks: [Double])
}

/// The basis parameters of one evaluation, by call (its deparsed text): computed from the
/// data when fitting, read from the saved model when predicting.
public final class BasisStore: @unchecked Sendable {
    /// The saved model's parameters; nil when fitting.
    let fixed: [String: BasisParameters]?
    /// What the fitting data gave (or a larger model's fit), by call.
    private(set) var computed: [String: BasisParameters] = [:]

    init(fixed: [String: BasisParameters]? = nil) {
        self.fixed = fixed
    }

    /// A store for fitting that takes `known` parameters as they are and learns the others.
    init(known: [String: BasisParameters]) {
        fixed = nil
        computed = known
    }

    /// The parameters of the call `label`: the saved ones, or `compute()`'s, recorded.
    func parameters(for label: String, compute: () throws -> BasisParameters) throws -> BasisParameters {
        if let fixed {
            guard let parameters = fixed[label] else {
                throw GLMError.invalidTerm(term: label, message: "the saved model has no parameters for this basis")
            }
            return parameters
        }
        if let known = computed[label] { return known }
        let parameters = try compute()
        computed[label] = parameters
        return parameters
    }
}

extension ExpressionEvaluator {
    /// `poly`, `ns`, `bs`, `scale` and `cut` of a numeric argument.
    func evaluateBasis(_ function: String, _ arguments: [FormulaExpression], label: String) throws -> VariableValues {
        let name = function.hasPrefix("splines::") ? String(function.dropFirst("splines::".count)) : function
        let formals: [String]
        switch name {
        case "poly": formals = ["x", "degree", "raw"]
        case "ns": formals = ["x", "df", "knots", "intercept", "Boundary.knots"]
        case "bs": formals = ["x", "df", "knots", "degree", "intercept", "Boundary.knots"]
        case "scale": formals = ["x", "center", "scale"]
        default: formals = ["x", "breaks", "labels", "include.lowest", "right", "dig.lab"]
        }
        let matched = try MatchedArguments(function: function, arguments: arguments, formals: formals, label: label)
        let context = FormulaExpression.call(function, arguments)
        let x = try numeric(try matched.required("x"), context: context)
        switch name {
        case "poly": return try poly(x, matched)
        case "ns", "bs": return try spline(x, matched, natural: name == "ns")
        case "scale": return try scale(x, matched)
        default: return try cut(x, matched)
        }
    }

    private func poly(_ x: [Double], _ matched: MatchedArguments) throws -> VariableValues {
        let label = matched.label
        let degree = try matched.integer("degree", in: 1...100) ?? 1
        let suffixes = (1...degree).map(String.init)
        if try matched.flag("raw") ?? false {
            let columns = (1...degree).map { power in x.map { Foundation.pow($0, Double(power)) } }
            return .matrix(columns: columns, suffixes: suffixes)
        }
        let parameters = try bases.parameters(for: label) {
            guard !x.contains(where: { $0.isNaN }) else {
                throw GLMError.invalidTerm(term: label, message: "missing values are not allowed in 'poly'")
            }
            guard degree < Set(x).count else {
                throw GLMError.invalidTerm(term: label, message: "'degree' must be less than number of unique points")
            }
            let (alpha, norm2) = OrthogonalPolynomial.coefficients(x: x, degree: degree)
            return .poly(alpha: alpha, norm2: norm2)
        }
        guard case let .poly(alpha, norm2) = parameters, alpha.count == degree, norm2.count == degree + 2 else {
            throw GLMError.invalidTerm(term: label, message: "the saved polynomial coefficients do not match the degree")
        }
        return .matrix(columns: OrthogonalPolynomial.evaluate(x: x, alpha: alpha, norm2: norm2), suffixes: suffixes)
    }

    private func spline(_ x: [Double], _ matched: MatchedArguments, natural: Bool) throws -> VariableValues {
        let label = matched.label
        let degree = natural ? 3 : try matched.integer("degree", in: 1...20) ?? 3
        let intercept = try matched.flag("intercept") ?? false
        let order = degree + 1
        let parameters = try bases.parameters(for: label) {
            let present = x.filter { !$0.isNaN }
            guard let low = present.min(), let high = present.max() else {
                throw GLMError.invalidTerm(term: label, message: "no values to place knots on")
            }
            var boundary = [low, high]
            var inside = present
            if let given = try matched.numbers("Boundary.knots") {
                guard given.count == 2 else { throw GLMError.invalidTerm(term: label, message: "'Boundary.knots' must be two numbers") }
                boundary = given.sorted()
                inside = present.filter { $0 >= boundary[0] && $0 <= boundary[1] }
            }
            var knots = try matched.numbers("knots") ?? []
            if matched["knots"] == nil, let df = try matched.integer("df", in: 1...10_000) {
                let count = natural ? df - 1 - (intercept ? 1 : 0) : df - order + (intercept ? 0 : 1)
                knots = SplineBasis.interiorKnots(sorted: inside.sorted(), count: max(0, count))
            }
            return .spline(knots: knots, boundary: boundary)
        }
        guard case let .spline(knots, boundary) = parameters, boundary.count == 2 else {
            throw GLMError.invalidTerm(term: label, message: "the saved spline has no boundary knots")
        }
        // The columns the basis will have, checked before any is allocated.
        let width = knots.count + (natural ? 2 : order) - (intercept ? 0 : 1)
        // (A fit cannot use more columns than rows; a few new rows can take a wide basis.)
        guard width >= 1, width <= 100_000, width <= x.count || bases.fixed != nil else {
            throw GLMError.invalidTerm(term: label, message: "the basis would have \(width) columns for \(x.count) rows")
        }
        let columns = natural
            ? SplineBasis.naturalSplineColumns(x: x, interior: knots, boundary: (boundary[0], boundary[1]), intercept: intercept)
            : SplineBasis.bSplineColumns(x: x, interior: knots, boundary: (boundary[0], boundary[1]), degree: degree, intercept: intercept)
        guard !columns.isEmpty else { throw GLMError.invalidTerm(term: label, message: "the basis has no columns") }
        return .matrix(columns: columns, suffixes: (1...columns.count).map(String.init))
    }

    private func scale(_ x: [Double], _ matched: MatchedArguments) throws -> VariableValues {
        let label = matched.label
        func setting(_ name: String) throws -> ConstantValue? {
            guard let values = try matched.constants(name) else { return nil }
            guard values.count == 1 else { throw GLMError.invalidTerm(term: label, message: "'\(name)' must be TRUE, FALSE or one number") }
            return values[0]
        }
        let centerSetting = try setting("center") ?? .logical(true)
        let scaleSetting = try setting("scale") ?? .logical(true)
        let parameters = try bases.parameters(for: label) {
            let present = x.filter { !$0.isNaN }
            var center: Double?
            switch centerSetting {
            case let .logical(flag): center = flag ? present.reduce(0, +) / Double(present.count) : nil
            case let .number(value): center = value
            case .string: throw GLMError.invalidTerm(term: label, message: "'center' must be TRUE, FALSE or a number")
            }
            var spread: Double?
            switch scaleSetting {
            case let .logical(flag):
                if flag {
                    // R: the root mean square of the centred values, over n - 1.
                    let squares = present.reduce(0.0) { sum, value in
                        let centred = value - (center ?? 0)
                        return sum + centred * centred
                    }
                    spread = (squares / Double(max(1, present.count - 1))).squareRoot()
                }
            case let .number(value): spread = value
            case .string: throw GLMError.invalidTerm(term: label, message: "'scale' must be TRUE, FALSE or a number")
            }
            return .scale(center: center, scale: spread)
        }
        guard case let .scale(center, spread) = parameters else {
            throw GLMError.invalidTerm(term: label, message: "the saved scale has no centre")
        }
        let values = x.map { ($0 - (center ?? 0)) / (spread ?? 1) }
        return .matrix(columns: [values], suffixes: [""])
    }

    private func cut(_ x: [Double], _ matched: MatchedArguments) throws -> VariableValues {
        let label = matched.label
        if matched["labels"] != nil { throw GLMError.unsupportedArgument(function: "cut", argument: "labels") }
        let right = try matched.flag("right") ?? true
        let includeLowest = try matched.flag("include.lowest") ?? false
        let digits = try matched.integer("dig.lab", in: 1...12) ?? 3
        guard let given = try matched.numbers("breaks") else {
            throw GLMError.invalidTerm(term: label, message: "cut() needs 'breaks'")
        }
        let breaks: [Double]
        if given.count == 1 {
            guard given[0] >= 2, given[0] == given[0].rounded(), given[0] <= 100_000 else {
                throw GLMError.invalidTerm(term: label, message: "invalid number of intervals")
            }
            let count = Int(given[0])
            let parameters = try bases.parameters(for: label) {
                guard let breaks = CutBreaks.equalWidth(x: x, count: count) else {
                    throw GLMError.invalidTerm(term: label, message: "no values to cut")
                }
                return .cut(breaks: breaks)
            }
            guard case let .cut(saved) = parameters, saved.count == count + 1 else {
                throw GLMError.invalidTerm(term: label, message: "the saved breaks do not match the number of intervals")
            }
            breaks = saved
        } else {
            breaks = given.sorted()
        }
        guard Set(breaks).count == breaks.count else { throw GLMError.invalidTerm(term: label, message: "'breaks' are not unique") }
        let levels = CutBreaks.labels(breaks: breaks, right: right, includeLowest: includeLowest, digits: digits)
        let codes = CutBreaks.codes(x: x, breaks: breaks, right: right, includeLowest: includeLowest)
        return .factor(codes: codes, levels: levels, isLogical: false)
    }
}
