import Foundation

/// A contrast coding of a factor, as R's contrast functions make it (`contr.treatment`,
/// `contr.sum`, `contr.helmert`, `contr.poly`, `contr.SAS`): a levels × columns matrix
/// whose row for a level is what that level contributes to the factor's columns.
public struct ContrastSpec: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case treatment = "contr.treatment"
        case sum = "contr.sum"
        case helmert = "contr.helmert"
        case poly = "contr.poly"
        case sas = "contr.SAS"
    }

    public let kind: Kind
    /// `contr.treatment`'s base level (1-based); nil for the first.
    public let base: Int?
    /// True when R called the contrast function with the number of levels
    /// (`C(f, contr.treatment, base = 2)`), so its columns are numbered, not named by level.
    public let numbered: Bool

    public init(kind: Kind, base: Int? = nil, numbered: Bool = false) {
        self.kind = kind
        self.base = base
        self.numbered = numbered
    }

    /// R's name of the coding, as `contrasts()` would report it (`contr.treatment(base = 2)`).
    public var name: String {
        if let base, kind == .treatment { return "\(kind.rawValue)(base = \(base))" }
        return kind.rawValue
    }

    /// A contrast function by R's name, with or without its `contr.` prefix (as `C()` takes it).
    public static func kind(named name: String) -> Kind? {
        let bare = name.hasPrefix("stats::") ? String(name.dropFirst("stats::".count)) : name
        if let kind = Kind(rawValue: bare) { return kind }
        return Kind.allCases.first { $0.rawValue == "contr." + bare }
    }

    /// The level whose row is all zeros (the reference), if the coding has one.
    public func reference(levels: [String]) -> String? {
        switch kind {
        case .treatment:
            let index = (base ?? 1) - 1
            return index >= 0 && index < levels.count ? levels[index] : nil
        case .sas:
            return levels.last
        case .sum, .helmert, .poly:
            return nil
        }
    }

    /// The contrast matrix (one row per level) and the suffix R appends to the variable's
    /// name for each column.
    ///
    /// - Throws: `invalidTerm` naming `term` for a base beyond the levels, or `contr.poly`
    ///   on more levels than R allows (95).
    public func matrix(levels: [String], term: String) throws -> (rows: [[Double]], suffixes: [String]) {
        let n = levels.count
        switch kind {
        case .treatment, .sas:
            let baseIndex = kind == .sas ? n - 1 : (base ?? 1) - 1
            guard baseIndex >= 0, baseIndex < n else {
                throw GLMError.invalidTerm(term: term, message: "baseline group number \(base ?? 1) is out of range for \(n) levels")
            }
            let kept = (0..<n).filter { $0 != baseIndex }
            let rows = (0..<n).map { level in kept.map { $0 == level ? 1.0 : 0.0 } }
            let suffixes = kept.map { numbered ? String($0 + 1) : levels[$0] }
            return (rows, suffixes)
        case .sum:
            let rows = (0..<n).map { level in (0..<(n - 1)).map { column in level == n - 1 ? -1.0 : (column == level ? 1.0 : 0.0) } }
            return (rows, (1..<n).map(String.init))
        case .helmert:
            let rows = (0..<n).map { level in
                (0..<(n - 1)).map { column -> Double in
                    if level <= column { return -1 }
                    return level == column + 1 ? Double(column + 1) : 0
                }
            }
            return (rows, (1..<n).map(String.init))
        case .poly:
            guard n <= 95 else {
                throw GLMError.invalidTerm(term: term, message: "orthogonal polynomials cannot be represented accurately enough for \(n) degrees of freedom")
            }
            let scores = (1...n).map(Double.init)
            let basis = OrthogonalPolynomial.contrastBasis(scores: scores)
            let rows = (0..<n).map { level in basis.map { $0[level] } }
            let suffixes = (1..<n).map { degree -> String in
                switch degree {
                case 1: return ".L"
                case 2: return ".Q"
                case 3: return ".C"
                default: return "^\(degree)"
                }
            }
            return (rows, suffixes)
        }
    }
}

/// The default codings for unordered and ordered factors (R's `options(contrasts =)`,
/// glmfit's `--contrasts`).
public struct DefaultContrasts: Sendable, Equatable {
    public var unordered: ContrastSpec.Kind
    public var ordered: ContrastSpec.Kind

    public init(unordered: ContrastSpec.Kind = .treatment, ordered: ContrastSpec.Kind = .poly) {
        self.unordered = unordered
        self.ordered = ordered
    }

    public static let r = DefaultContrasts()

    /// Parses `--contrasts UNORDERED,ORDERED` (`contr.sum,contr.poly`).
    public static func parse(_ text: String) throws -> DefaultContrasts {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard names.count == 2 else {
            throw GLMError.invalidOption(name: "--contrasts", message: "expected two names, UNORDERED,ORDERED, as in contr.sum,contr.poly (got '\(text)')")
        }
        let known = ContrastSpec.Kind.allCases.map(\.rawValue).joined(separator: ", ")
        let kinds = try names.map { name -> ContrastSpec.Kind in
            guard let kind = ContrastSpec.Kind(rawValue: name) else {
                throw GLMError.invalidOption(name: "--contrasts", message: "unknown contrasts '\(name)'; glmfit knows \(known)")
            }
            return kind
        }
        return DefaultContrasts(unordered: kinds[0], ordered: kinds[1])
    }

    /// The coding of a factor: the one it carries (`C()`), else the default for its kind.
    func spec(for attributes: VariableAttributes) -> ContrastSpec {
        attributes.contrasts ?? ContrastSpec(kind: attributes.isOrdered ? ordered : unordered)
    }
}

/// What R keeps about a variable beyond its values: whether a factor is ordered, the
/// contrasts set on it by `C()`.
public struct VariableAttributes: Sendable, Equatable {
    public var isOrdered = false
    public var contrasts: ContrastSpec?

    public init(isOrdered: Bool = false, contrasts: ContrastSpec? = nil) {
        self.isOrdered = isOrdered
        self.contrasts = contrasts
    }
}
