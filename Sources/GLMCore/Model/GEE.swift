import Foundation

/// The value of a cluster id (or wave) on one row: a number or a text label.
///
/// Clusters are ordered by key (numbers numerically, before text; text in byte order, as
/// R sorts under `LC_COLLATE=C`), which is the order geeglm sees on data sorted by id.
public enum ClusterKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    case number(Double)
    case text(String)

    public static func < (lhs: ClusterKey, rhs: ClusterKey) -> Bool {
        switch (lhs, rhs) {
        case let (.number(a), .number(b)): return a < b
        case (.number, .text): return true
        case (.text, .number): return false
        case let (.text(a), .text(b)): return a.utf8.lexicographicallyPrecedes(b.utf8)
        }
    }

    public var description: String {
        switch self {
        case let .number(value): return RFormat.format(value, digits: 15)
        case let .text(label): return label
        }
    }
}

/// Convergence settings of a GEE fit, as geepack's `geese.control`, plus the `glm`
/// control of the fit that gives the starting values.
public struct GEEControl: Sendable, Equatable {
    /// The fit stops when no parameter (coefficients, scale, correlation) changed by more
    /// than this in absolute value in the last iteration (geese.control's `epsilon`).
    public var epsilon: Double
    public var maxIterations: Int
    /// The control of the `glm` fit whose coefficients start the iterations.
    public var glm: FitControl
    /// Whether to compute QIC (which fits the independence model as well).
    public var computeQIC: Bool
    /// How the p × p information matrix is held (dense or sparse; tests choose).
    public var information: GEEInformationChoice
    /// With the information sparse, the covariance matrices are formed up to this many
    /// coefficients (every standard error is found either way); dense, they always are.
    public var covarianceLimit: Int
    /// Past this many multiply-adds a sparse fit leaves out the levels' robust variances
    /// (smaller only in tests).
    var robustMultiplyAddLimit = SparseSandwich.multiplyAddLimit

    public init(
        epsilon: Double = 1e-4, maxIterations: Int = 25, glm: FitControl = FitControl(), computeQIC: Bool = true,
        information: GEEInformationChoice = .automatic, covarianceLimit: Int = GLMSummary.covarianceLimit
    ) {
        self.epsilon = epsilon
        self.maxIterations = maxIterations
        self.glm = glm
        self.computeQIC = computeQIC
        self.information = information
        self.covarianceLimit = covarianceLimit
    }
}

/// One correlation parameter of the working correlation with its robust standard error.
public struct CorrelationParameter: Sendable, Equatable {
    /// geepack's label: `alpha` (exchangeable, ar1) or `alpha.a:b` (unstructured, a < b
    /// the wave numbers 1…K).
    public let label: String
    /// For unstructured: the two waves as they appear in the data (the waves column's
    /// values, or the positions 1, 2, … without one).
    public let waves: [ClusterKey]
    public let estimate: Double
    public let standardError: Double
}

/// geepack's `QIC()`: quasi-likelihood under the independence model information criterion
/// (Pan 2001).
public struct QuasiInformation: Sendable, Equatable {
    /// −2 (quasi-likelihood − CIC).
    public let qic: Double
    /// −2 (quasi-likelihood − number of coefficients).
    public let qicu: Double
    /// The quasi-likelihood at the fitted means, unweighted and with scale 1.
    public let quasiLikelihood: Double
    /// trace(Ω_I V_R): Ω_I the inverse of the independence model's naive covariance, V_R
    /// this model's robust covariance.
    public let cic: Double
    /// The number of mean parameters.
    public let parameterCount: Int
    /// QIC + 2k(k + 1)/(clusters − k − 1), k = coefficients + correlation parameters.
    public let qicc: Double
}

/// A GEE fitted as geepack's `geeglm`.
public struct GEEFit: Sendable {
    public let family: Family
    public let structure: CorrelationStructure
    public let control: GEEControl
    /// Every design column, in R's order.
    public let coefficientNames: [String]
    /// NaN for aliased columns (dropped before the GEE, as `glm` finds them).
    public let coefficients: [Double]
    /// The non-aliased coefficients, the rows and columns of both covariances.
    public let covarianceNames: [String]
    /// The robust (sandwich) covariance, geeglm's default (`std.err = "san.se"`); empty when
    /// not formed (the information matrix held as sparse, beyond `GEEControl.covarianceLimit`).
    public let robustCovariance: [[Double]]
    /// The model-based covariance (geese's `vbeta.naiv`); empty when not formed.
    public let naiveCovariance: [[Double]]
    /// The covariances' diagonals (`covarianceNames` order), always there; a robust one is
    /// NaN when it was too costly to find (a level's, `SparseSandwich.multiplyAddLimit`).
    public let robustVariances: [Double]
    public let naiveVariances: [Double]
    /// The correlation parameters (none for independence).
    public let correlation: [CorrelationParameter]
    /// The scale parameter phi (Var y = phi V(mu)), estimated for every family as geeglm
    /// does by default.
    public let scale: Double
    public let scaleStandardError: Double
    public let clusterCount: Int
    public let maxClusterSize: Int
    /// Rows used.
    public let observationCount: Int
    /// Rows dropped because a used variable, the id or the waves was missing.
    public let droppedCount: Int
    public let iterations: Int
    public let converged: Bool
    /// QIC, or nil when geepack does not define the quasi-likelihood for the family
    /// (only gaussian, binomial, poisson and Gamma) or it was not asked for.
    public let qic: QuasiInformation?
    /// Means and linear predictors, one per design row in the design's order.
    public let fittedValues: [Double]
    public let linearPredictors: [Double]
    public let warnings: [String]
    /// The design's factors and factor response, for the reports (see `FactorCoding`).
    public var factorCodings: [FactorCoding] = []
    /// Rows left out by `--subset` (not counted in `droppedCount`).
    public var subsetExcludedCount = 0
    public var responseLevels: ResponseLevels?

    public var aliased: [Bool] { coefficients.map(\.isNaN) }
}

/// Generalized estimating equations as geepack's `geeglm`/`geese.fit` solve them.
///
/// Starting from the `glm` coefficients, each iteration takes one Fisher-scoring step on
/// the coefficients β (Σ Dᵢᵀ Vᵢ⁻¹ Dᵢ Δ = Σ Dᵢᵀ Vᵢ⁻¹ (yᵢ − μᵢ), with step halving while a
/// mean is invalid), then one step on the scale φ (its estimating equation
/// Σ w (r² − φ) = 0 in the Pearson residuals r, so φ = Σ w r² / Σ w, no degrees-of-freedom
/// correction) and one on the correlation parameters α (Σ wⱼwₖ ∂ρⱼₖ/∂α (rⱼrₖ/φ − ρⱼₖ(α)) = 0
/// over the pairs j < k inside each cluster, a Gauss–Newton step). It stops when no
/// parameter changed by more than `epsilon` in absolute value. The covariances are
/// geepack's sandwich over the joint estimating equations of (β, φ, α).
///
/// What the data must satisfy (each a typed `GLMError`): two or more clusters; for
/// exchangeable, ar1 and unstructured, at least one cluster with two or more rows; for ar1
/// and unstructured, no wave twice in a cluster; for unstructured, every pair of waves
/// observed together in some cluster (else its correlation has no data). geepack 1.3.9
/// needs more for unstructured: each cluster's rows in increasing wave order and its waves
/// the first wave numbers 1, 2, …, s without a gap (otherwise it reads outside its
/// matrices); glmfit sorts by wave and indexes each pair by its two waves, so gaps are fine.
///
/// Where glmfit differs from geeglm (everything else, iteration for iteration, agrees to
/// about 1e-12): clusters are grouped by id value, not by runs of equal consecutive ids;
/// a rank-deficient model drops the aliased columns as glm does (geeglm stops); a text
/// response counts its first level as failure (geeglm fails); the SE of alpha gives a
/// one-row cluster no alpha terms (geeglm re-adds the previous cluster's, so its value
/// depends on row order); cbind() with prior weights weights each row by weight × trials
/// (geeglm drops the prior weights); the starting glm uses the rows the GEE uses (geeglm's
/// glm keeps rows with a missing id); links clamp as R's glm does (geepack's C++ logit
/// clamps at |eta| > 36 instead of 30); p-values are the upper tail, not 1 − pchisq.
public enum GEE {
    /// Fits a GEE to `design`.
    ///
    /// - Parameters:
    ///   - clusters: the cluster id of each design row. Rows of one cluster need not be
    ///     contiguous; clusters are taken in sorted key order, rows of a cluster in design
    ///     order (or by wave).
    ///   - waves: the wave (occasion) of each design row, or nil for the order within the
    ///     cluster. Waves are numbered 1…K by sorted value over all rows (R's
    ///     `as.factor`), which is what ar1 distances and unstructured pairs use; a
    ///     cluster's rows are put in wave order.
    ///   - idName, wavesName: the columns' names, for messages.
    public static func fit(
        design: Design, family: Family, clusters: [ClusterKey], waves: [ClusterKey]? = nil,
        structure: CorrelationStructure, control: GEEControl = GEEControl(), idName: String = "id",
        wavesName: String = "waves"
    ) throws -> GEEFit {
        guard control.epsilon > 0, control.epsilon.isFinite else {
            throw GLMError.invalidOption(name: "GEE epsilon", message: "must be a positive number (got \(control.epsilon))")
        }
        guard control.maxIterations >= 1 else {
            throw GLMError.invalidOption(name: "GEE maxit", message: "must be at least 1 (got \(control.maxIterations))")
        }
        precondition(clusters.count == design.rowCount, "one cluster key per design row")
        precondition(waves.map { $0.count == design.rowCount } ?? true, "one wave per design row")
        if design.rowCount < design.columnCount {
            throw GLMError.tooFewObservations(observations: design.rowCount, coefficients: design.columnCount)
        }

        let layout = try ClusterLayout(
            clusters: clusters, waves: waves, structure: structure, frame: design.frame, idName: idName,
            wavesName: wavesName)
        try checkMemory(design: design, largestCluster: layout.maxClusterSize)
        if control.information == .dense { try checkDenseMemory(coefficientCount: design.columnCount) }
        let glm = try GLMFit.fit(design: design, family: family, control: control.glm)
        let kept = (0..<design.columnCount).filter { !glm.coefficients[$0].isNaN }
        var warnings = glm.warnings
        let aliasedNames = (0..<design.columnCount).filter { glm.coefficients[$0].isNaN }.map { design.columnNames[$0] }
        if !aliasedNames.isEmpty {
            warnings.append(
                "coefficients not defined because of singularities: \(aliasedNames.joined(separator: ", ")) (geeglm stops on a rank-deficient model matrix; these columns were dropped)")
        }
        let problem = GEEProblem(
            design: design, kept: kept, family: family, response: glm.response, offset: glm.offset, layout: layout)
        let levelColumns = problem.levelColumns()
        let form = try problem.informationForm(
            structure: structure, choice: control.information, levelColumns: levelColumns)
        // The glm's estimates in the problem's scaled columns.
        let start = kept.enumerated().map { position, column in glm.coefficients[column] / problem.scales[position] }
        let estimate = try problem.solve(structure: structure, start: start, control: control, form: form)
        if !estimate.converged {
            warnings.append(
                "the GEE did not converge in \(control.maxIterations) iterations (largest change \(RFormat.format(estimate.lastChange, digits: 3)), epsilon \(RFormat.format(control.epsilon, digits: 3)))")
        }

        let quasi = control.computeQIC ? problem.quasiLikelihood(estimate.beta) : nil
        let p = kept.count
        let robustVariances: [Double], naiveVariances: [Double]
        let robust: [Double]?, naive: [Double]?  // column-major p × p, scaled columns
        let scaleVariance: Double, alphaVariance: SmallMatrix
        var cic: Double?
        switch form {
        case .dense:
            let variance = try problem.variance(estimate)
            if quasi != nil {
                let independenceInformation: SmallMatrix
                if structure == .independence {
                    independenceInformation = variance.information
                } else {
                    let independence = try problem.solve(structure: .independence, start: start, control: control)
                    independenceInformation = try problem.variance(independence).information
                }
                cic = traceOfProduct(independenceInformation, variance.robust)
            }
            (robust, naive) = (variance.robust.values, variance.naive.values)
            robustVariances = variance.robust.diagonal
            naiveVariances = variance.naive.diagonal
            (scaleVariance, alphaVariance) = (variance.scale, variance.alpha)
        case let .sparse(pattern):
            var independence = IndependenceInformation.none
            if quasi != nil {
                if structure == .independence {
                    independence = .this
                } else {
                    let independencePattern = try problem.sparsePattern(structure: .independence, levelColumns: levelColumns)
                    let independenceEstimate = try problem.solve(
                        structure: .independence, start: start, control: control, form: .sparse(independencePattern))
                    independence = .other(try problem.informationSums(independenceEstimate, pattern: independencePattern))
                }
            }
            let variance = try problem.sparseVariance(
                estimate, pattern: pattern, levelColumns: levelColumns, formMatrices: p <= control.covarianceLimit,
                independence: independence, multiplyAddLimit: control.robustMultiplyAddLimit)
            (robust, naive) = (variance.robustMatrix, variance.naiveMatrix)
            (robustVariances, naiveVariances) = (variance.robustVariances, variance.naiveVariances)
            (scaleVariance, alphaVariance) = (variance.scale, variance.alpha)
            cic = variance.cic
            if variance.omittedLevels > 0 {
                warnings.append(
                    "robust standard errors are given for the \(MemoryBudget.describe(count: p - variance.omittedLevels)) "
                        + "coefficients besides the factors' levels; the \(MemoryBudget.describe(count: variance.omittedLevels)) "
                        + "levels' would take a solve of the sparse information matrix each, past "
                        + "\(RFormat.format(SparseSandwich.multiplyAddLimit, digits: 2)) multiply-adds (their naive ones are given)")
            }
            if quasi != nil && cic == nil {
                warnings.append("QIC is not given: its trace needs every coefficient's robust covariance column")
            }
        }

        var qic: QuasiInformation?
        if let quasi, let trace = cic {
            let k = Double(p + estimate.alpha.count)
            let qicValue = -2 * (quasi - trace)
            qic = QuasiInformation(
                qic: qicValue, qicu: -2 * (quasi - Double(p)), quasiLikelihood: quasi, cic: trace,
                parameterCount: p, qicc: qicValue + 2 * k * (k + 1) / (Double(layout.clusterCount) - k - 1))
        }

        var coefficients = [Double](repeating: .nan, count: design.columnCount)
        for (position, column) in kept.enumerated() { coefficients[column] = estimate.beta[position] * problem.scales[position] }
        let correlation = problem.correlation(structure: structure)
        let labels = correlation.parameterLabels()
        let waveLabels = correlation.parameterWaves()
        let parameters: [CorrelationParameter] = labels.indices.map { index in
            let pair: [ClusterKey] = structure == .unstructured
                ? [layout.waveValues[waveLabels[index].0 - 1], layout.waveValues[waveLabels[index].1 - 1]] : []
            return CorrelationParameter(
                label: labels[index], waves: pair, estimate: estimate.alpha[index],
                standardError: alphaVariance[index, index].squareRoot())
        }
        let (eta, mu) = problem.linearPredictorsAndMeans(estimate.beta)
        var fitted = [Double](repeating: 0, count: design.rowCount)
        var linear = [Double](repeating: 0, count: design.rowCount)
        for (position, row) in layout.order.enumerated() {
            fitted[row] = mu[position]
            linear[row] = eta[position]
        }
        // Back from the scaled columns: V = S V' S.
        func rows(_ matrix: [Double]?) -> [[Double]] {
            guard let matrix else { return [] }
            return (0..<p).map { i in (0..<p).map { j in matrix[i + j * p] * problem.scales[i] * problem.scales[j] } }
        }
        func unscaled(_ variances: [Double]) -> [Double] {
            variances.enumerated().map { $1 * problem.scales[$0] * problem.scales[$0] }
        }
        return GEEFit(
            family: family, structure: structure, control: control, coefficientNames: design.columnNames,
            coefficients: coefficients, covarianceNames: kept.map { design.columnNames[$0] },
            robustCovariance: rows(robust), naiveCovariance: rows(naive), robustVariances: unscaled(robustVariances),
            naiveVariances: unscaled(naiveVariances), correlation: parameters,
            scale: estimate.scale, scaleStandardError: scaleVariance.squareRoot(), clusterCount: layout.clusterCount,
            maxClusterSize: layout.maxClusterSize, observationCount: design.rowCount,
            droppedCount: design.frame.droppedCount, iterations: estimate.iterations,
            converged: estimate.converged, qic: qic, fittedValues: fitted, linearPredictors: linear, warnings: warnings,
            factorCodings: design.factorCodings, responseLevels: design.responseLevels)
    }

    /// The GEE's own memory besides the design and the information matrix: X's rows as
    /// entries and a cluster's dense blocks (its rows × the coefficients they touch, at most p).
    static func checkMemory(design: Design, largestCluster: Int) throws {
        let p = design.columnCount
        try MemoryBudget.current().require(
            MemoryBudget.sum(
                GEERows.bytes(structure: design.structure, rowCount: design.rowCount),
                MemoryBudget.bytes(doubles: largestCluster, p + 1, 3)),
            for: "the GEE's \(MemoryBudget.describe(count: design.rowCount)) rows as entries, with its largest cluster's "
                + "\(MemoryBudget.describe(count: largestCluster)) × \(MemoryBudget.describe(count: p)) blocks,",
            remedy: "use fewer levels or terms, or smaller clusters")
    }

    /// The dense information, sandwich and covariance matrices (about ten p × p alive at once,
    /// with the QIC's independence fit), refused naming p before any is built.
    static func checkDenseMemory(coefficientCount p: Int) throws {
        let coefficients = MemoryBudget.describe(count: p)
        try MemoryBudget.current().require(
            MemoryBudget.bytes(doubles: p, p, 10),
            for: "the GEE has \(coefficients) coefficients: its \(coefficients) × \(coefficients) information and "
                + "covariance matrices",
            remedy: "use fewer levels or terms")
    }

    /// trace(A B) without forming A B.
    static func traceOfProduct(_ a: SmallMatrix, _ b: SmallMatrix) -> Double {
        var trace = 0.0
        for i in 0..<min(a.rows, b.columns) {
            var sum = 0.0
            for k in 0..<min(a.columns, b.rows) {
                let factor = b[k, i]
                if factor == 0 { continue }
                sum += a[i, k] * factor
            }
            trace += sum
        }
        return trace
    }

    /// The keys of a grouping column (id or waves) on the given table rows: numbers for a
    /// numeric column, labels for a text column.
    public static func keys(of column: String, in table: Table, rows: [Int]) throws -> [ClusterKey] {
        // The formula's own lookup of a column, with its errors.
        switch try ExpressionEvaluator(table: table).evaluate(.name(column)) {
        case let .numeric(numbers):
            return rows.map { .number(numbers[$0]) }
        case let .factor(codes, levels, _):
            return rows.map { row in
                let code = Int(codes[row])
                return .text(code >= 0 && code < levels.count ? levels[code] : "")
            }
        case .twoColumn, .matrix:
            throw GLMError.invalidTerm(term: column, message: "a cluster or wave column must be one column")
        }
    }

    /// Reads the model, cluster id and waves from `table` and fits: rows with a missing
    /// value in any used variable, the id or the waves are dropped, as geeglm's
    /// `model.frame` drops them.
    public static func fit(
        table: Table, formula: Formula, family: Family, weightsColumn: String? = nil, idColumn: String,
        wavesColumn: String? = nil, structure: CorrelationStructure, control: GEEControl = GEEControl(),
        referenceLevels: [String: String] = [:], defaultContrasts: DefaultContrasts = .r, subset: Subset? = nil
    ) throws -> GEEFit {
        let required = [idColumn] + (wavesColumn.map { [$0] } ?? [])
        for name in required where table.index(of: name) == nil {
            throw GLMError.unknownColumn(name: name, suggestions: NameSuggestions.nearest(to: name, in: table.columnNames))
        }
        let frame = try ModelFrame(
            table: table, formula: formula, weightsColumn: weightsColumn, requiredColumns: required,
            referenceLevels: referenceLevels, defaultContrasts: defaultContrasts, subset: subset)
        try ReferenceLevels.checkApplied(referenceLevels, frame: frame, columnNames: table.columnNames)
        // Factor terms of 100 or more columns stay codes: the GEE reads X by its rows' entries.
        let design = try Design(frame: frame, layout: .automatic)
        let clusters = try keys(of: idColumn, in: table, rows: frame.rowIndices)
        let waves = try wavesColumn.map { try keys(of: $0, in: table, rows: frame.rowIndices) }
        var fitted = try fit(
            design: design, family: family, clusters: clusters, waves: waves, structure: structure, control: control,
            idName: idColumn, wavesName: wavesColumn ?? "waves")
        fitted.subsetExcludedCount = frame.subsetExcludedCount
        return fitted
    }

    /// The columns a GEE needs from the input besides the formula's: the id and waves.
    public static func requiredColumns(
        formula: Formula, columnNames: [String], weightsColumn: String?, idColumn: String, wavesColumn: String?
    ) throws -> Set<Int> {
        var indices = try ModelFrame.requiredColumns(formula: formula, columnNames: columnNames, weightsColumn: weightsColumn)
        for name in [idColumn] + (wavesColumn.map { [$0] } ?? []) {
            guard let index = columnNames.firstIndex(of: name) else {
                throw GLMError.unknownColumn(name: name, suggestions: NameSuggestions.nearest(to: name, in: columnNames))
            }
            indices.insert(index)
        }
        return indices
    }
}

extension ClusterLayout {
    /// A cluster's working correlation, its factorisation and the covariance step's copy are
    /// each size × size; an unstructured correlation has K(K − 1)/2 parameters for K waves,
    /// whose information matrices are square in that count. Both are checked before the
    /// first is built.
    static func checkMemory(largestCluster: Int, waveCount: Int, structure: CorrelationStructure, idName: String) throws {
        let budget = MemoryBudget.current()
        let size = MemoryBudget.describe(count: largestCluster)
        try budget.require(
            MemoryBudget.bytes(doubles: largestCluster, largestCluster, 4),
            for: "the largest cluster of '\(idName)' has \(size) rows: its \(size) × \(size) working correlation, with its copies,",
            remedy: "split the clusters: a GEE's cost grows with the square of the cluster size")
        guard structure == .unstructured else { return }
        let (pairs, overflow) = waveCount.multipliedReportingOverflow(by: max(waveCount - 1, 0))
        let parameters = overflow ? nil : pairs / 2
        try budget.require(
            MemoryBudget.sum(
                MemoryBudget.bytes(of: 1, times: [waveCount, waveCount]),
                parameters.flatMap { MemoryBudget.bytes(doubles: $0, $0, 4) }),
            for: "the unstructured correlation of \(MemoryBudget.describe(count: waveCount)) waves has "
                + (parameters.map { MemoryBudget.describe(count: $0) } ?? "too many") + " parameters: their information matrix",
            remedy: "use --corstr exchangeable or ar1, or fewer waves")
    }
}

/// The rows of each cluster and their wave numbers.
struct ClusterLayout {
    /// Design rows in cluster order.
    let order: [Int]
    /// Cluster c holds `order[starts[c]..<starts[c + 1]]`.
    let starts: [Int]
    /// The wave number (1…K) of each row, in `order`.
    let waveCodes: [Int]
    /// The wave values by number (index code − 1).
    let waveValues: [ClusterKey]
    let maxClusterSize: Int

    var clusterCount: Int { starts.count - 1 }
    var waveCount: Int { waveValues.count }

    init(
        clusters: [ClusterKey], waves: [ClusterKey]?, structure: CorrelationStructure, frame: ModelFrame,
        idName: String, wavesName: String
    ) throws {
        let rowCount = clusters.count
        func isMissing(_ key: ClusterKey) -> Bool {
            if case let .number(value) = key { return value.isNaN }
            return false
        }
        if let row = clusters.firstIndex(where: isMissing) {
            throw GLMError.invalidTerm(term: idName, message: "missing cluster id at line \(frame.line(ofUsedRow: row))")
        }
        if let row = waves?.firstIndex(where: isMissing) {
            throw GLMError.invalidTerm(term: wavesName, message: "missing wave at line \(frame.line(ofUsedRow: row))")
        }
        var index: [ClusterKey: Int] = [:]
        var keys: [ClusterKey] = []
        var clusterOfRow = [Int](repeating: 0, count: rowCount)
        for row in 0..<rowCount {
            let key = clusters[row]
            if let existing = index[key] {
                clusterOfRow[row] = existing
            } else {
                index[key] = keys.count
                clusterOfRow[row] = keys.count
                keys.append(key)
            }
        }
        guard keys.count >= 2 else {
            throw GLMError.singleCluster(column: idName, value: keys.first?.description ?? "")
        }
        // Wave numbers: R's as.integer(as.factor(waves)) over the rows used.
        var waveCodeOfRow = [Int](repeating: 0, count: rowCount)
        var waveValues: [ClusterKey] = []
        if let waves {
            waveValues = Array(Set(waves)).sorted()
            var code: [ClusterKey: Int] = [:]
            for (position, value) in waveValues.enumerated() { code[value] = position + 1 }
            for row in 0..<rowCount { waveCodeOfRow[row] = code[waves[row]] ?? 0 }
        }
        // Clusters in key order; counting sort of rows by cluster keeps design order inside.
        let sortedClusters = keys.indices.sorted { keys[$0] < keys[$1] }
        var rank = [Int](repeating: 0, count: keys.count)
        for (position, cluster) in sortedClusters.enumerated() { rank[cluster] = position }
        var sizes = [Int](repeating: 0, count: keys.count)
        for row in 0..<rowCount { sizes[rank[clusterOfRow[row]]] += 1 }
        var starts = [Int](repeating: 0, count: keys.count + 1)
        for cluster in 0..<keys.count { starts[cluster + 1] = starts[cluster] + sizes[cluster] }
        var next = Array(starts.dropLast())
        var order = [Int](repeating: 0, count: rowCount)
        for row in 0..<rowCount {
            let cluster = rank[clusterOfRow[row]]
            order[next[cluster]] = row
            next[cluster] += 1
        }
        let maxSize = sizes.max() ?? 0
        try ClusterLayout.checkMemory(
            largestCluster: maxSize, waveCount: waves == nil ? maxSize : waveValues.count, structure: structure,
            idName: idName)
        var codes = [Int](repeating: 0, count: rowCount)
        if waves != nil {
            for cluster in 0..<keys.count {
                let range = starts[cluster]..<starts[cluster + 1]
                let sortedRows = order[range].sorted {
                    (waveCodeOfRow[$0], $0) < (waveCodeOfRow[$1], $1)
                }
                for (offset, row) in sortedRows.enumerated() {
                    order[range.lowerBound + offset] = row
                    codes[range.lowerBound + offset] = waveCodeOfRow[row]
                }
                if structure.usesWaves {
                    for position in range.dropFirst() where codes[position] == codes[position - 1] {
                        throw GLMError.repeatedWave(
                            column: wavesName, wave: waveValues[codes[position] - 1].description, idColumn: idName,
                            cluster: keys[sortedClusters[cluster]].description,
                            lines: [frame.line(ofUsedRow: order[position - 1]), frame.line(ofUsedRow: order[position])].sorted())
                    }
                }
            }
        } else {
            for cluster in 0..<keys.count {
                for position in starts[cluster]..<starts[cluster + 1] { codes[position] = position - starts[cluster] + 1 }
            }
            waveValues = (0..<maxSize).map { .number(Double($0 + 1)) }
        }
        if structure != .independence && maxSize < 2 {
            throw GLMError.clustersTooSmall(structure: structure.rawValue, column: idName)
        }
        if structure == .unstructured {
            // Each pair of waves must occur together in some cluster, or its correlation has
            // no data.
            let k = waveValues.count
            var seen = [Bool](repeating: false, count: k * k)
            for cluster in 0..<keys.count {
                let range = starts[cluster]..<starts[cluster + 1]
                for a in range {
                    for b in range where b > a { seen[(codes[a] - 1) * k + codes[b] - 1] = true }
                }
            }
            search: for a in 0..<k {
                for b in (a + 1)..<max(k, a + 1) where !seen[a * k + b] {
                    throw GLMError.unobservedWavePair(
                        column: waves == nil ? nil : wavesName, first: waveValues[a].description,
                        second: waveValues[b].description)
                }
            }
        }
        self.order = order
        self.starts = starts
        self.waveCodes = codes
        self.waveValues = waveValues
        self.maxClusterSize = maxSize
    }
}

/// The parameters where the iterations stopped.
struct GEEEstimate {
    var beta: [Double]
    var alpha: [Double]
    var scale: Double
    var iterations: Int
    var converged: Bool
    var lastChange: Double
    var structure: CorrelationStructure
}

/// The covariances of the estimates (geepack's gee_var).
struct GEEVariance {
    /// Σ Dᵢᵀ Vᵢ⁻¹ Dᵢ, the inverse of `naive`.
    var information: SmallMatrix
    var naive: SmallMatrix
    var robust: SmallMatrix
    /// The variance of the scale.
    var scale: Double
    var alpha: SmallMatrix
}

/// The data of a GEE in cluster order, and the estimating equations on it.
struct GEEProblem {
    let design: Design
    /// X's rows in cluster order as their non-zero entries (a factor term held as codes
    /// gives one entry a row): the estimating equations never hold X densely.
    let rows: GEERows
    /// The design columns estimated (non-aliased).
    let kept: [Int]
    let family: Family
    let layout: ClusterLayout
    /// In cluster order.
    let y: [Double]
    let weights: [Double]
    let offset: [Double]

    /// The power of two each kept column was multiplied by (see `columnScales`).
    let scales: [Double]

    init(design: Design, kept: [Int], family: Family, response: PreparedResponse, offset: [Double], layout: ClusterLayout) {
        self.design = design
        var keptPosition = [Int](repeating: -1, count: design.columnCount)
        for (position, column) in kept.enumerated() where column >= 0 && column < keptPosition.count {
            keptPosition[column] = position
        }
        let scales = GEEProblem.columnScales(
            GEERows.largestMagnitudes(
                structure: design.structure, rowCount: design.rowCount, keptPosition: keptPosition, count: kept.count))
        self.rows = GEERows(structure: design.structure, order: layout.order, keptPosition: keptPosition, scales: scales)
        self.scales = scales
        self.kept = kept
        self.family = family
        self.layout = layout
        self.y = layout.order.map { response.y[$0] }
        self.weights = layout.order.map { response.priorWeights[$0] }
        self.offset = layout.order.map { offset[$0] }
    }

    var coefficientCount: Int { kept.count }
    var rowCount: Int { layout.order.count }

    /// A power of two per kept column (given its largest magnitude), `ColumnScaling`'s: the
    /// information matrices hold products of two columns' values, which overflow or underflow
    /// for columns near 1e±154 (geepack returns NaN for every coefficient then). The problem
    /// is solved in the scaled columns: β = S β', V = S V' S.
    static func columnScales(_ largestMagnitudes: [Double]) -> [Double] {
        largestMagnitudes.map(ColumnScaling.scale(largest:))
    }

    func correlation(structure: CorrelationStructure) -> WorkingCorrelation {
        WorkingCorrelation(structure: structure, waveCount: layout.waveCount)
    }

    /// eta = X beta + offset and mu, in cluster order.
    func linearPredictorsAndMeans(_ beta: [Double], includeOffset: Bool = true) -> (eta: [Double], mu: [Double]) {
        let n = rowCount
        var eta = includeOffset ? offset : [Double](repeating: 0, count: n)
        for position in 0..<n { eta[position] += rows.dot(position, beta) }
        let link = family.link
        return (eta, eta.map(link.linkinv))
    }

    /// V'(mu), the derivative of the variance function.
    @inline(__always)
    func varianceDerivative(_ mu: Double) -> Double {
        switch family.kind {
        case .gaussian: return 0
        case .binomial, .quasibinomial: return 1 - 2 * mu
        case .poisson, .quasipoisson: return 1
        case .gamma: return 2 * mu
        case .inverseGaussian: return 3 * mu * mu
        case .negativeBinomial: return 1 + 2 * mu / family.theta
        case .tweedie: return family.varPower * Foundation.pow(mu, family.varPower - 1)
        }
    }

    private func pearsonResiduals(_ mu: [Double]) -> [Double] {
        var residuals = [Double](repeating: 0, count: mu.count)
        for position in 0..<mu.count {
            residuals[position] = (1 / family.variance(mu[position]).squareRoot()) * (y[position] - mu[position])
        }
        return residuals
    }

    /// Whether a cluster's working correlation is the identity (its rows add to the sums
    /// one at a time, never as a size × size system).
    func isUncorrelated(_ structure: CorrelationStructure, size: Int) -> Bool {
        structure == .independence || size < 2
    }

    /// Iterates from the glm coefficients until no parameter changes by more than epsilon.
    func solve(
        structure: CorrelationStructure, start: [Double], control: GEEControl, form: GEEInformationForm = .dense
    ) throws -> GEEEstimate {
        let correlation = correlation(structure: structure)
        let p = coefficientCount
        let q = correlation.parameterCount
        var beta = start
        var alpha = [Double](repeating: 0, count: q)
        // geese.fit's starting scale: the mean squared Pearson residual at the glm fit,
        // unweighted and with the linear predictor X b (no offset).
        let initialMu = linearPredictorsAndMeans(beta, includeOffset: false).mu
        var scale = pearsonResiduals(initialMu).reduce(0) { $0 + $1 * $1 } / Double(rowCount)

        var (eta, mu) = linearPredictorsAndMeans(beta)
        var iterations = 0
        var converged = false
        var change = Double.infinity
        var clusterColumns = ClusterColumns(coefficientCount: p)
        for iteration in 0..<control.maxIterations {
            iterations = iteration + 1
            // Coefficients: one Fisher-scoring step.
            var gradient = [Double](repeating: 0, count: p)
            var step: [Double]
            switch form {
            case .dense:
                var hessian = SmallMatrix(rows: p, columns: p)
                try scoringSums(
                    structure: structure, correlation: correlation, alpha: alpha, scale: scale, eta: eta, mu: mu,
                    clusterColumns: &clusterColumns, hessian: &hessian, gradient: &gradient)
                guard let solved = GEEAlgebra.solve(hessian, gradient) else {
                    throw GLMError.fitFailed(message: "the GEE information matrix is singular; the coefficients cannot be estimated")
                }
                step = solved
            case let .sparse(pattern):
                var hessian = pattern.emptySums()
                try scoringSums(
                    structure: structure, correlation: correlation, alpha: alpha, scale: scale, eta: eta, mu: mu,
                    clusterColumns: &clusterColumns, hessian: &hessian, gradient: &gradient)
                step = try pattern.factor(hessian).solve(gradient)
            }
            var candidate = zip(beta, step).map { $0 + $1 }
            var halvings = 0
            while true {
                (eta, mu) = linearPredictorsAndMeans(candidate)
                if mu.allSatisfy({ $0.isFinite && family.isValid(mu: $0) }) { break }
                halvings += 1
                if halvings > 60 {
                    throw GLMError.fitFailed(message: "the GEE step could not be shortened to valid fitted means")
                }
                step = step.map { 0.5 * $0 }
                candidate = zip(beta, step).map { $0 + $1 }
            }
            beta = candidate
            let betaChange = step.reduce(0) { max($0, abs($1)) }

            // Scale: Σ w (r² − φ) / (2φ) = 0, one step (exact: φ = Σ w r² / Σ w).
            let residuals = pearsonResiduals(mu)
            var scaleInformation = 0.0
            var scaleScore = 0.0
            for cluster in 0..<layout.clusterCount {
                var clusterInformation = 0.0
                var clusterScore = 0.0
                for position in layout.starts[cluster]..<layout.starts[cluster + 1] {
                    let weight = weights[position] * (1 / (2 * scale))
                    clusterInformation += weight
                    clusterScore += weight * (residuals[position] * residuals[position] - scale)
                }
                scaleInformation += clusterInformation
                scaleScore += clusterScore
            }
            let scaleStep = scaleScore / scaleInformation
            scale += scaleStep
            var largest = max(betaChange, abs(scaleStep))

            // Correlation: one Gauss-Newton step on Σ wⱼwₖ ∂ρ/∂α (rⱼrₖ/φ − ρ).
            if q > 0 {
                var information = [Double](repeating: 0, count: q)
                var score = [Double](repeating: 0, count: q)
                let inverseRoot = 1 / scale.squareRoot()
                for cluster in 0..<layout.clusterCount {
                    let start = layout.starts[cluster]
                    let end = layout.starts[cluster + 1]
                    guard end - start > 1 else { continue }
                    for j in start..<(end - 1) {
                        for k in (j + 1)..<end {
                            let product = (inverseRoot * residuals[j]) * (inverseRoot * residuals[k])
                            let pair = correlation.pair(layout.waveCodes[j], layout.waveCodes[k], alpha: alpha)
                            let weight = weights[j] * weights[k]
                            information[pair.parameter] += pair.derivative * (weight * pair.derivative)
                            score[pair.parameter] += pair.derivative * (weight * (product - pair.rho))
                        }
                    }
                }
                for index in 0..<q {
                    guard information[index] != 0 else {
                        throw GLMError.fitFailed(
                            message: "the \(structure.rawValue) working correlation parameter \(correlation.parameterLabels()[index]) has no information (no pair of observations inform it)")
                    }
                    let alphaStep = score[index] / information[index]
                    alpha[index] += alphaStep
                    largest = max(largest, abs(alphaStep))
                }
            }
            change = largest
            if largest <= control.epsilon {
                converged = true
                break
            }
        }
        return GEEEstimate(
            beta: beta, alpha: alpha, scale: scale, iterations: iterations, converged: converged, lastChange: change,
            structure: structure)
    }

    /// The Fisher-scoring step's Σ D̃ᵀ R⁻¹ D̃ (into `hessian`) and Σ D̃ᵀ R⁻¹ r̃ at (β, α, φ).
    private func scoringSums<Sums: GEEInformationSums>(
        structure: CorrelationStructure, correlation: WorkingCorrelation, alpha: [Double], scale: Double, eta: [Double],
        mu: [Double], clusterColumns: inout ClusterColumns, hessian: inout Sums, gradient: inout [Double]
    ) throws {
        let link = family.link
        let inverseRootScale = (1 / scale).squareRoot()
        for cluster in 0..<layout.clusterCount {
            let range = layout.starts[cluster]..<layout.starts[cluster + 1]
            let size = range.count
            // [D̃ | r̃] with D̃ = √(w/φ) (dmu/deta / √V) x and r̃ = √(w/φ) (y − mu) / √V.
            if isUncorrelated(structure, size: size) {
                // R = I: D̃ᵀD̃ and D̃ᵀr̃ row by row, over each row's entries.
                for position in range {
                    let inverseRootVariance = 1 / family.variance(mu[position]).squareRoot()
                    let factor = weights[position].squareRoot() * inverseRootScale
                    let derivative = link.muEta(eta[position])
                    let residual = factor * (inverseRootVariance * (y[position] - mu[position]))
                    let entries = rows.starts[position]..<rows.starts[position + 1]
                    for c in entries {
                        let dc = factor * (inverseRootVariance * (derivative * rows.values[c]))
                        let column = Int(rows.columns[c])
                        for d in entries {
                            let other = Int(rows.columns[d])
                            guard hessian.wants(column, other) else { continue }
                            hessian.add(column, other, dc * (factor * (inverseRootVariance * (derivative * rows.values[d]))))
                        }
                        gradient[column] += dc * residual
                    }
                }
                continue
            }
            clusterColumns.gather(rows, range)
            let u = clusterColumns.count
            var block = SmallMatrix(rows: size, columns: u + 1)
            for (j, position) in range.enumerated() {
                let inverseRootVariance = 1 / family.variance(mu[position]).squareRoot()
                let factor = weights[position].squareRoot() * inverseRootScale
                let derivative = link.muEta(eta[position])
                for entry in rows.starts[position]..<rows.starts[position + 1] {
                    block[j, clusterColumns.localIndex[Int(rows.columns[entry])]] =
                        factor * (inverseRootVariance * (derivative * rows.values[entry]))
                }
                block[j, u] = factor * (inverseRootVariance * (y[position] - mu[position]))
            }
            let r = correlation.matrix(waves: layout.waveCodes[range], alpha: alpha)
            guard let lu = LUFactorization(r) else { throw singularCorrelation(cluster: cluster) }
            let solved = lu.solve(block)
            var score = [Double](repeating: 0, count: u)
            accumulateCrossProducts(block, solved, clusterColumns.touched, hessian: &hessian, score: &score)
            for c in 0..<u { gradient[clusterColumns.touched[c]] += score[c] }
        }
    }

    /// hessian += Aᵀ B[:, 0..<u] and score (u long) += Aᵀ B[:, u] for one cluster's
    /// s × (u+1) blocks A = [D̃|r̃] and B = R⁻¹ A, whose u columns are the coefficients
    /// `touched`.
    private func accumulateCrossProducts<Sums: GEEInformationSums>(
        _ a: SmallMatrix, _ b: SmallMatrix, _ touched: [Int], hessian: inout Sums, score: inout [Double]
    ) {
        let size = a.rows
        let u = touched.count
        precondition(a.columns == u + 1 && b.rows == size && b.columns == u + 1 && score.count == u)
        precondition(touched.allSatisfy { $0 >= 0 && $0 < hessian.order })
        // Columns of A and B are contiguous (column-major): dot products without index checks.
        a.values.withUnsafeBufferPointer { aValues in
            b.values.withUnsafeBufferPointer { bValues in
                guard let aBase = aValues.baseAddress, let bBase = bValues.baseAddress else { return }
                for c in 0..<u {
                    let aColumn = aBase + c * size
                    for d in 0..<u where hessian.wants(touched[c], touched[d]) {
                        let bColumn = bBase + d * size
                        var sum = 0.0
                        for j in 0..<size { sum += aColumn[j] * bColumn[j] }
                        hessian.add(touched[c], touched[d], sum)
                    }
                    let bColumn = bBase + u * size
                    var sum = 0.0
                    for j in 0..<size { sum += aColumn[j] * bColumn[j] }
                    score[c] += sum
                }
            }
        }
    }

    private func singularCorrelation(cluster: Int) -> GLMError {
        let row = layout.order[layout.starts[cluster]]
        return GLMError.fitFailed(
            message: "the working correlation matrix of the cluster at line \(design.frame.line(ofUsedRow: row)) is singular; try another correlation structure")
    }

    /// The sandwich and model-based covariances of (β, φ, α) at the estimate, as
    /// geepack's gee_var computes them: the block lower-triangular derivative H of the
    /// estimating equations (β; φ; α) and the cluster sums of outer products of the
    /// cluster scores. Each cluster works on the coefficients its rows touch.
    func variance(_ estimate: GEEEstimate) throws -> GEEVariance {
        let p = coefficientCount
        let q = correlation(structure: estimate.structure).parameterCount
        var hA = SmallMatrix(rows: p, columns: p)
        var l11 = SmallMatrix(rows: p, columns: p)
        var l12 = [Double](repeating: 0, count: p)
        var l22 = 0.0
        var l13 = SmallMatrix(rows: p, columns: q)
        var l23 = [Double](repeating: 0, count: q)
        var l33 = SmallMatrix(rows: q, columns: q)
        let terms = try jacobianTerms(estimate, information: &hA) { touched, u1, u2, u3 in
            let u = touched.count
            for b in 0..<u {
                let factor = u1[b]
                if factor == 0 { continue }
                for a in 0..<u { l11[touched[a], touched[b]] += u1[a] * factor }
            }
            for c in 0..<u { l12[touched[c]] += u1[c] * u2 }
            l22 += u2 * u2
            if q > 0 {
                for index in 0..<q where u3[index] != 0 {
                    for c in 0..<u { l13[touched[c], index] += u1[c] * u3[index] }
                }
                for index in 0..<q { l23[index] += u2 * u3[index] }
                l33.addOuterProduct(u3, u3)
            }
        }
        let (hB, hC, hD, hE, hF) = (terms.b, terms.c, terms.d, terms.e, terms.f)

        guard let aInverse = GEEAlgebra.inverse(hA) else {
            throw GLMError.fitFailed(message: "the GEE information matrix is singular; no covariance")
        }
        let robust = GEEAlgebra.product(GEEAlgebra.product(aInverse, l11), aInverse)
        // Scale: C⁻¹ and B⁻¹ = −C⁻¹ B A⁻¹ (1 × p).
        let cInverse = 1 / hC
        let bRow = SmallMatrix(rows: 1, columns: p, values: hB)
        let bInverse = -cInverse * (bRow * aInverse)
        let l12Column = SmallMatrix(rows: p, columns: 1, values: l12)
        let first = bInverse * l11 + cInverse * l12Column.transposed
        let second = bInverse * l12Column + SmallMatrix(rows: 1, columns: 1, values: [cInverse * l22])
        let scaleVariance = (first * bInverse.transposed)[0, 0] + second[0, 0] * cInverse

        var alphaVariance = SmallMatrix(rows: q, columns: q)
        if q > 0 {
            guard let fInverse = hF.inverse() else {
                throw GLMError.fitFailed(message: "the correlation parameters' information matrix is singular; no covariance")
            }
            let eColumn = SmallMatrix(rows: q, columns: 1, values: hE)
            let eInverse = -cInverse * (fInverse * eColumn)  // q × 1
            let dInverse = -1 * (fInverse * (hD * aInverse + eColumn * bInverse))  // q × p
            let l13t = l13.transposed
            let l23Row = SmallMatrix(rows: 1, columns: q, values: l23)
            let l22m = SmallMatrix(rows: 1, columns: 1, values: [l22])
            let termD = dInverse * l11 + eInverse * l12Column.transposed + fInverse * l13t
            let termE = dInverse * l12Column + eInverse * l22m + fInverse * l23Row.transposed
            let termF = dInverse * l13 + eInverse * l23Row + fInverse * l33
            alphaVariance = termD * dInverse.transposed + termE * eInverse.transposed + termF * fInverse
        }
        return GEEVariance(information: hA, naive: aInverse, robust: robust, scale: scaleVariance, alpha: alphaVariance)
    }

    /// One pass over the clusters at the estimate: the derivative H of the estimating
    /// equations (β; φ; α), its A = Σ D̃ᵀ V⁻¹ D̃ into `information` and the rest returned, and
    /// each cluster's scores (u₁ on the coefficients it touches, u₂, u₃) handed to `record`.
    func jacobianTerms<Sums: GEEInformationSums>(
        _ estimate: GEEEstimate, information hA: inout Sums,
        record: (_ touched: [Int], _ u1: [Double], _ u2: Double, _ u3: [Double]) -> Void
    ) throws -> GEEJacobianTerms {
        let structure = estimate.structure
        let correlation = correlation(structure: structure)
        let p = coefficientCount
        let q = correlation.parameterCount
        let alpha = estimate.alpha
        let phi = estimate.scale
        let link = family.link
        let (eta, mu) = linearPredictorsAndMeans(estimate.beta)

        var hB = [Double](repeating: 0, count: p)  // 1 × p
        var hC = 0.0
        var hD = SmallMatrix(rows: q, columns: p)
        var hE = [Double](repeating: 0, count: q)  // q × 1
        var hF = SmallMatrix(rows: q, columns: q)
        let rootPhi = phi.squareRoot()
        // V1 = φ^½ R φ^½; for R = I its diagonal, which the solve divides by.
        let diagonalPhi = rootPhi * 1 * rootPhi
        let halfInversePhi = 1 / (2 * phi)
        var clusterColumns = ClusterColumns(coefficientCount: p)

        for cluster in 0..<layout.clusterCount {
            let range = layout.starts[cluster]..<layout.starts[cluster + 1]
            let size = range.count
            clusterColumns.gather(rows, range)
            let u = clusterColumns.count
            let touched = clusterColumns.touched
            var residual = [Double](repeating: 0, count: size)
            var variance = [Double](repeating: 0, count: size)
            var varianceSlope = [Double](repeating: 0, count: size)
            var weight = [Double](repeating: 0, count: size)
            var derivatives = [Double](repeating: 0, count: size)
            for (j, position) in range.enumerated() {
                variance[j] = family.variance(mu[position])
                varianceSlope[j] = varianceDerivative(mu[position])
                derivatives[j] = link.muEta(eta[position])
                residual[j] = 1 / variance[j].squareRoot() * (y[position] - mu[position])
                weight[j] = weights[position]
            }
            // The cluster's score u1 = D̃ᵀ V1⁻¹ r̃ on its coefficients.
            var u1 = [Double](repeating: 0, count: u)
            var u2 = 0.0
            var u3 = [Double](repeating: 0, count: q)
            if isUncorrelated(structure, size: size) {
                for (j, position) in range.enumerated() {
                    let inverseRootVariance = 1 / variance[j].squareRoot()
                    let rootWeight = weight[j].squareRoot()
                    let solvedResidual = rootWeight * residual[j] / diagonalPhi
                    let w = weight[j] * halfInversePhi
                    let f = -2 * residual[j] / variance[j].squareRoot() - residual[j] * residual[j] / variance[j] * varianceSlope[j]
                    let entries = rows.starts[position]..<rows.starts[position + 1]
                    for c in entries {
                        let dc = inverseRootVariance * (derivatives[j] * rows.values[c])
                        let blockC = rootWeight * dc
                        let column = Int(rows.columns[c])
                        for d in entries {
                            let other = Int(rows.columns[d])
                            guard hA.wants(column, other) else { continue }
                            let dd = inverseRootVariance * (derivatives[j] * rows.values[d])
                            hA.add(column, other, blockC * (rootWeight * dd / diagonalPhi))
                        }
                        u1[clusterColumns.localIndex[column]] += blockC * solvedResidual
                        hB[column] += -w * (f * dc)
                    }
                }
            } else {
                var d = SmallMatrix(rows: size, columns: u)
                var block = SmallMatrix(rows: size, columns: u + 1)
                for (j, position) in range.enumerated() {
                    let inverseRootVariance = 1 / variance[j].squareRoot()
                    let rootWeight = weight[j].squareRoot()
                    for entry in rows.starts[position]..<rows.starts[position + 1] {
                        let c = clusterColumns.localIndex[Int(rows.columns[entry])]
                        d[j, c] = inverseRootVariance * (derivatives[j] * rows.values[entry])
                        block[j, c] = rootWeight * d[j, c]
                    }
                    block[j, u] = rootWeight * residual[j]
                }
                var v1 = correlation.matrix(waves: layout.waveCodes[range], alpha: alpha)
                for k in 0..<v1.values.count { v1.values[k] = rootPhi * v1.values[k] * rootPhi }
                guard let lu = LUFactorization(v1) else { throw singularCorrelation(cluster: cluster) }
                let solved = lu.solve(block)
                accumulateCrossProducts(block, solved, touched, hessian: &hA, score: &u1)

                for j in 0..<size {
                    let w = weight[j] * halfInversePhi
                    let f = -2 * residual[j] / variance[j].squareRoot() - residual[j] * residual[j] / variance[j] * varianceSlope[j]
                    for c in 0..<u { hB[touched[c]] += -w * (f * d[j, c]) }
                }

                // Correlation equations.
                if q > 0 {
                    let inverseRootPhi = 1 / rootPhi
                    let pairScale = inverseRootPhi * inverseRootPhi
                    var row = [Double](repeating: 0, count: u)
                    for j in 0..<(size - 1) {
                        for k in (j + 1)..<size {
                            let waveJ = layout.waveCodes[range.lowerBound + j]
                            let waveK = layout.waveCodes[range.lowerBound + k]
                            let pair = correlation.pair(waveJ, waveK, alpha: alpha)
                            let product = (inverseRootPhi * residual[j]) * (inverseRootPhi * residual[k])
                            let ww = weight[j] * weight[k]
                            let e = pair.derivative
                            let index = pair.parameter
                            hF[index, index] += e * (ww * e)
                            // d(r_j r_k)/dβ as geepack writes it, times 1/φ.
                            let slopeJ = varianceSlope[j] / variance[j].squareRoot()
                            let slopeK = varianceSlope[k] / variance[k].squareRoot()
                            for c in 0..<u {
                                let foo = slopeJ * d[j, c] + slopeK * d[k, c]
                                row[c] = pairScale
                                    * (-residual[j] * d[j, c] - residual[k] * d[k, c] - 0.5 * residual[j] * residual[k] * foo)
                            }
                            for c in 0..<u { hD[index, touched[c]] += e * (-ww * row[c]) }
                            let zGamma = -0.5 * product * (1 / phi + 1 / phi)
                            hE[index] += e * (-ww * zGamma)
                            u3[index] += e * (ww * (product - pair.rho))
                        }
                    }
                }
            }

            // Scale equation.
            for j in 0..<size {
                let w = weight[j] * halfInversePhi
                hC += w
                u2 += w * (residual[j] * residual[j] - phi)
            }

            record(touched, u1, u2, u3)
        }
        return GEEJacobianTerms(b: hB, c: hC, d: hD, e: hE, f: hF)
    }

    /// geepack's QIC quasi-likelihood at the coefficients, unweighted, scale 1; nil for
    /// families it does not define.
    func quasiLikelihood(_ beta: [Double]) -> Double? {
        let mu = linearPredictorsAndMeans(beta).mu
        var total = 0.0
        switch family.kind {
        case .poisson:
            for position in 0..<rowCount { total += y[position] * Foundation.log(mu[position]) - mu[position] }
        case .gaussian:
            for position in 0..<rowCount {
                let residual = y[position] - mu[position]
                total += residual * residual / -2
            }
        case .binomial:
            for position in 0..<rowCount {
                let m = mu[position]
                total += y[position] * Foundation.log(m / (1 - m)) + Foundation.log(1 - m)
            }
        case .gamma:
            // geepack writes the Gamma quasi-likelihood as −y/(mu − log mu).
            for position in 0..<rowCount {
                total += -y[position] / (mu[position] - Foundation.log(mu[position]))
            }
        default:
            return nil
        }
        return total
    }
}
