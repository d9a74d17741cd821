import CKernels
import Dispatch
import Foundation

/// One pass over the rows of an IRLS fit, in blocks, on all cores: the linear predictor,
/// means and deviance for a coefficient vector, and at the same time the working weights
/// and the normal equations XᵀWX, XᵀWz of the next Fisher-scoring step. X is read once per
/// iteration and nothing is allocated per iteration.
final class RowPass: @unchecked Sendable {
    /// What a pass adds up, per chunk of rows and then in total.
    struct Totals {
        var deviance = 0.0
        var validEta = true
        var validMu = true
        var finiteDeviance = true
        // The checks R makes on the rows with positive prior weight at the start of an iteration.
        var varianceNaN = false
        var varianceZero = false
        var derivativeNaN = false
        /// Rows with positive prior weight and dμ/dη ≠ 0 (R's `good`).
        var goodCount = 0
        var gram: [Double]
        var rhs: [Double]

        init(columns: Int) {
            gram = [Double](repeating: 0, count: columns * columns)
            rhs = [Double](repeating: 0, count: columns)
        }

        mutating func reset() {
            self = Totals(columns: rhs.count)
        }

        mutating func add(_ other: Totals) {
            deviance += other.deviance
            validEta = validEta && other.validEta
            validMu = validMu && other.validMu
            finiteDeviance = finiteDeviance && other.finiteDeviance
            varianceNaN = varianceNaN || other.varianceNaN
            varianceZero = varianceZero || other.varianceZero
            derivativeNaN = derivativeNaN || other.derivativeNaN
            goodCount += other.goodCount
            for index in gram.indices { gram[index] += other.gram[index] }
            for index in rhs.indices { rhs[index] += other.rhs[index] }
        }
    }

    let family: Family
    let rowCount: Int
    let columnCount: Int
    /// The base address of each column of X (`rowCount` each).
    private let columns: [UnsafePointer<Double>?]
    private let y: UnsafeBufferPointer<Double>
    private let priorWeights: UnsafeBufferPointer<Double>
    private let offset: UnsafeBufferPointer<Double>
    /// False when every offset is +0 and every prior weight 1 (the usual fit): the passes then
    /// skip reading them, with the same arithmetic (x + 0 and 1 · x are x).
    private let hasOffset: Bool
    private let hasPriorWeights: Bool
    /// Outputs, each `rowCount` long: η, μ and the working weights of the next step.
    let eta: UnsafeMutableBufferPointer<Double>
    let mu: UnsafeMutableBufferPointer<Double>
    /// Where the passes that accumulate write the working weights; the caller may point it
    /// at another buffer of `rowCount` between passes (to keep the weights of a step).
    var workingWeights: UnsafeMutableBufferPointer<Double>
    /// What the pass allocated itself (η, μ and the first working-weights buffer), freed with
    /// it; empty when they are the caller's.
    private let ownedBuffers: [UnsafeMutableBufferPointer<Double>]
    /// Row ranges processed in parallel; their number depends on the row count only, so the
    /// sums (added in chunk order) are the same whatever the number of cores.
    private let chunks: [Range<Int>]
    private let blockRows: Int
    private let blocks: [UnsafeMutableBufferPointer<Double>]
    private let rootBuffers: [UnsafeMutableBufferPointer<Double>]
    /// Room for `glm_deviance_sum` (three columns of `blockRows`).
    private let logBuffers: [UnsafeMutableBufferPointer<Double>]
    /// One slot per chunk, written by that chunk's thread only.
    private let partials: UnsafeMutableBufferPointer<Totals>

    /// η, μ and the working weights, each `rowCount` long, in memory the caller owns.
    struct Buffers {
        var eta: UnsafeMutablePointer<Double>
        var mu: UnsafeMutablePointer<Double>
        var workingWeights: UnsafeMutablePointer<Double>
    }

    /// The arrays must outlive the pass (the caller keeps them alive around every use). With
    /// `buffers`, η, μ and the working weights are written there (each row before it is read:
    /// the caller sets the starting η and μ), else in zeroed memory of the pass's own.
    init(
        family: Family, columns: [UnsafePointer<Double>?], rowCount: Int, y: UnsafeBufferPointer<Double>,
        priorWeights: UnsafeBufferPointer<Double>, offset: UnsafeBufferPointer<Double>, buffers: Buffers? = nil
    ) {
        self.family = family
        self.rowCount = rowCount
        let columnCount = columns.count
        self.columnCount = columnCount
        self.columns = columns
        self.y = y
        self.priorWeights = priorWeights
        self.offset = offset
        // Both looked for in one sweep on all cores.
        let found = ParallelRows.map(count: rowCount) { rows in
            (offset[rows.clamped(to: offset.indices)].contains { $0.bitPattern != 0 },
             priorWeights[rows.clamped(to: priorWeights.indices)].contains { $0 != 1 })
        }
        hasOffset = found.contains { $0.0 }
        hasPriorWeights = found.contains { $0.1 }
        if let buffers {
            eta = UnsafeMutableBufferPointer(start: buffers.eta, count: rowCount)
            mu = UnsafeMutableBufferPointer(start: buffers.mu, count: rowCount)
            workingWeights = UnsafeMutableBufferPointer(start: buffers.workingWeights, count: rowCount)
            ownedBuffers = []
        } else {
            let eta = UnsafeMutableBufferPointer<Double>.allocate(capacity: rowCount)
            let mu = UnsafeMutableBufferPointer<Double>.allocate(capacity: rowCount)
            let workingWeights = UnsafeMutableBufferPointer<Double>.allocate(capacity: rowCount)
            // Prepared by FreshMemory and zeroed on all cores: the first touch of these pages is
            // most of the cost.
            for buffer in [eta, mu, workingWeights] {
                buffer.baseAddress.map { FreshMemory.prepare($0, count: rowCount) }
            }
            _ = ParallelRows.map(count: rowCount) { rows in
                for buffer in [eta, mu, workingWeights] {
                    UnsafeMutableBufferPointer(rebasing: buffer[rows]).initialize(repeating: 0)
                }
            }
            self.eta = eta
            self.mu = mu
            self.workingWeights = workingWeights
            ownedBuffers = [eta, mu, workingWeights]
        }
        // Parallel from 65,536 rows, or from 4,096 when XᵀWX is the larger part of the work
        // (n·p² of 2²⁴ or more: some 64 columns and up).
        let work = Double(rowCount) * Double(columnCount) * Double(columnCount)
        let chunkCount = rowCount >= 65_536 || (rowCount >= 4_096 && work >= 16_777_216) ? 16 : 1
        if chunkCount > 1 { LinearAlgebra.keepBLASSingleThreaded() }
        let chunkSize = (rowCount + chunkCount - 1) / max(chunkCount, 1)
        chunks = stride(from: 0, to: rowCount, by: max(chunkSize, 1)).map { $0..<min($0 + chunkSize, rowCount) }
        blockRows = RowPass.blockRows(columns: columnCount)
        // A block's columns, then its scaled working responses as one more column: the C kernel
        // then adds up XᵀWz in the same tiles as XᵀWX.
        blocks = chunks.map { [blockRows] _ in RowPass.allocateAligned(count: blockRows * (columnCount + 1)) }
        rootBuffers = chunks.map { [blockRows] _ in RowPass.allocateAligned(count: blockRows) }
        logBuffers = chunks.map { [blockRows] _ in RowPass.allocateAligned(count: 3 * blockRows) }
        partials = .allocate(capacity: chunks.count)
        partials.initialize(repeating: Totals(columns: columnCount))
    }

    deinit {
        for buffer in ownedBuffers { buffer.deallocate() }
        for buffer in blocks + rootBuffers + logBuffers { RowPass.deallocateAligned(buffer) }
        partials.deinitialize()
        partials.deallocate()
    }

    /// Sets η = offset + X·coefficients and μ = g⁻¹(η) (when `coefficients` is given; else
    /// keeps η and μ), adds up the deviance and the validity checks, and, when
    /// `accumulate`, the working weights (and with `normalEquations` the normal equations)
    /// for the next step.
    ///
    /// With `gramKnown` the normal equations are only XᵀWz, and `gram` stays zero: for a
    /// caller that has XᵀWX from an earlier pass with the same working weights.
    func run(coefficients: [Double]?, accumulate: Bool, normalEquations: Bool, gramKnown: Bool = false) -> Totals {
        // Each case names its type, so that each calls its own specialised copy of `pass`.
        func using<Pair: FamilyLinkPair>(_ pair: Pair.Type) -> Totals {
            run(pair, coefficients: coefficients, accumulate: accumulate, normalEquations: normalEquations, gramKnown: gramKnown)
        }
        switch (family.kind, family.link) {
        case (.poisson, .log): return using(PoissonLog.self)
        case (.binomial, .logit): return using(BinomialLogit.self)
        case (.gamma, .log): return using(GammaLog.self)
        case (.gaussian, .identity): return using(GaussianIdentity.self)
        default: return using(AnyPair.self)
        }
    }

    private func run<Pair: FamilyLinkPair>(
        _ pair: Pair.Type, coefficients: [Double]?, accumulate: Bool, normalEquations: Bool, gramKnown: Bool
    ) -> Totals {
        // The columns whose coefficient is not zero, and their coefficients: η adds only these.
        let active = coefficients.map { coefficients in
            (columns: coefficients.indices.filter { coefficients[$0] != 0 },
             values: coefficients.filter { $0 != 0 })
        }
        let work: @Sendable (Int) -> Void = { [self] index in
            partials[index] = pass(
                Pair.self, chunk: index, active: active, accumulate: accumulate,
                normalEquations: normalEquations, gramKnown: gramKnown)
        }
        if chunks.count > 1 {
            DispatchQueue.concurrentPerform(iterations: chunks.count, execute: work)
        } else if chunks.count == 1 {
            work(0)
        }
        var totals = Totals(columns: columnCount)
        for partial in partials { totals.add(partial) }
        return totals
    }

    /// Rows per block. For the C kernel: 384, a multiple of 8 (so that each column of the
    /// aligned block starts on a cache line) whose ten columns of a tile stay in the first-level
    /// cache; measured best at 15 and 51 columns. For BLAS: about 32,768 values.
    static func blockRows(columns: Int) -> Int {
        columns <= smallKernelColumns ? 384 : max(64, min(1024, 32_768 / max(columns, 1)))
    }

    /// A zeroed buffer on a 64-byte boundary (a cache line; the kernel's whole-register loads
    /// then never straddle two).
    static func allocateAligned(count: Int) -> UnsafeMutableBufferPointer<Double> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Double>.stride, alignment: 64)
        let buffer = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Double.self, capacity: count), count: count)
        buffer.initialize(repeating: 0)
        return buffer
    }

    static func deallocateAligned(_ buffer: UnsafeMutableBufferPointer<Double>) {
        buffer.baseAddress.map { UnsafeMutableRawPointer($0).deallocate() }
    }

    /// Up to this many columns the C kernel (`glm_accumulate_normal_equations`: AVX-512 or
    /// AVX2, tiles of up to 24 sums held in registers) adds up XᵀWX, above it BLAS dsyrk.
    /// Measured whole fits: the kernel is faster at 15, 51, 201 (0.95 against 1.31 s on the
    /// 200k-row benchmark), 401 and 801 columns; wider designs were not measured.
    static let smallKernelColumns = 1024

    /// gram += AᵀA (upper triangle) and rhs += Aᵀb for one block A (`rows × columns`,
    /// column-major), by the kernel that is faster at this width; only rhs when `gram` is nil
    /// (by the same arithmetic as with it). With `next` (X's columns and the next block's
    /// first row), the C kernel asks for that block's cache lines while it computes.
    static func accumulateNormalEquations(
        block: UnsafePointer<Double>, rows: Int, columns: Int, vector: UnsafePointer<Double>,
        gram: UnsafeMutablePointer<Double>?, rhs: UnsafeMutablePointer<Double>,
        next: (columns: [UnsafePointer<Double>?], first: Int)? = nil
    ) {
        if columns <= smallKernelColumns {
            if let gram, let next {
                glm_accumulate_normal_equations_prefetching(
                    block, rows, columns, vector, gram, rhs, next.columns, next.first, next.columns.count)
            } else if let gram {
                glm_accumulate_normal_equations(block, rows, columns, vector, gram, rhs)
            } else {
                glm_accumulate_right_hand_side(block, rows, columns, vector, rhs)
            }
        } else {
            LinearAlgebra.accumulateNormalEquations(
                block: block, rows: rows, columns: columns, vector: vector, gram: gram, rhs: rhs)
        }
    }

    private func pass<Pair: FamilyLinkPair>(
        _ pair: Pair.Type, chunk index: Int, active: (columns: [Int], values: [Double])?, accumulate: Bool,
        normalEquations: Bool, gramKnown: Bool
    ) -> Totals {
        let family = Pair.resolve(self.family)
        let link = family.link
        let p = columnCount
        // Locals, so the compiler can keep the pointers in registers across the loops.
        let columns = self.columns, y = self.y, offset = self.offset, prior = self.priorWeights
        let activeColumns = active.map { active in active.columns.map { columns[$0] } }
        let hasOffset = self.hasOffset, hasPriorWeights = self.hasPriorWeights
        let eta = self.eta, mu = self.mu, workingWeights = self.workingWeights
        let block = blocks[index]
        let roots = rootBuffers[index]
        let logs = logBuffers[index]
        let devianceKind = RowPass.devianceKind(family.kind)
        // For the logit link both come from one exp(η): dμ/dη is made with the means.
        let derivativeWithMean = link == .logit && accumulate
        var totals = Totals(columns: p)
        // Without coefficients (the start) η repeats with the response for 0/1 responses and
        // small counts: dμ/dη is remembered for each distinct η.
        var derivativeMemo = RowMemo<Double>()
        let range = chunks[index]
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + blockRows, range.upperBound)
            let rows = end - start
            // The scaled working responses: the block's column after its p columns.
            guard let vector = block.baseAddress.map({ $0 + p * rows }) else { break }
            if let active, let activeColumns, let etaBase = eta.baseAddress {
                // Each row adds its terms in column order with a separate multiply and add:
                // the rounding of the plain loop (and of reference BLAS).
                activeColumns.withUnsafeBufferPointer { columns in
                    active.values.withUnsafeBufferPointer { values in
                        glm_linear_predictor(
                            columns.baseAddress, start, rows, values.baseAddress, columns.count,
                            hasOffset ? offset.baseAddress.map { $0 + start } : nil, etaBase + start)
                    }
                }
                // The means, the deviance and the checks in separate loops, the exps and logs
                // eight at a time (glm_exp, glm_log) where the link or family takes them.
                if link == .logit {
                    // exp(η), then the means and derivatives from it in a loop without calls,
                    // whose divisions vectorise (the derivatives are used when accumulating).
                    if let etaBase = eta.baseAddress, let muBase = mu.baseAddress, let rootBase = roots.baseAddress {
                        glm_exp(etaBase + start, rootBase, rows)
                        glm_logit_mean_derivative(etaBase + start, rootBase, muBase + start, rows)
                    }
                } else if link == .log, let etaBase = eta.baseAddress, let muBase = mu.baseAddress {
                    // Link.linkinv's max(exp(η), ε), the exps eight at a time.
                    glm_exp(etaBase + start, muBase + start, rows)
                    for row in start..<end { mu[row] = Swift.max(mu[row], Link.epsilon) }
                } else {
                    for row in start..<end { mu[row] = link.linkinv(eta[row]) }
                }
                var deviance = 0.0
                if let devianceKind, let scratch = logs.baseAddress, let yBase = y.baseAddress,
                   let muBase = mu.baseAddress {
                    deviance = glm_deviance_sum(
                        devianceKind, yBase + start, muBase + start,
                        hasPriorWeights ? prior.baseAddress.map { $0 + start } : nil, scratch, rows)
                } else {
                    for row in start..<end {
                        deviance += family.unitDeviance(y: y[row], mu: mu[row], weight: hasPriorWeights ? prior[row] : 1)
                    }
                }
                var validEta = true
                var validMu = true
                for row in start..<end {
                    validEta = validEta && link.isValid(eta: eta[row])
                    validMu = validMu && family.isValid(mu: mu[row])
                }
                totals.validEta = totals.validEta && validEta
                totals.validMu = totals.validMu && validMu
                totals.deviance += deviance
            }
            if accumulate {
                if let rootBase = roots.baseAddress {
                    RowPass.workingWeights(
                        family: family, rows: start..<end, eta: eta, mu: mu, y: y,
                        priorWeights: hasPriorWeights ? prior : nil, offset: hasOffset ? offset : nil,
                        workingWeights: workingWeights, roots: rootBase, scaledResponses: vector,
                        derivativesKnown: derivativeWithMean, memo: &derivativeMemo, usingMemo: active == nil, totals: &totals)
                }
                if normalEquations, let blockBase = block.baseAddress,
                   let rootBase = roots.baseAddress {
                    glm_scale_rows(columns, start, rows, p, rootBase, blockBase)
                    totals.gram.withUnsafeMutableBufferPointer { gram in
                        totals.rhs.withUnsafeMutableBufferPointer { rhs in
                            guard let gramBase = gram.baseAddress, let rhsBase = rhs.baseAddress else { return }
                            RowPass.accumulateNormalEquations(
                                block: blockBase, rows: rows, columns: p, vector: vector,
                                gram: gramKnown ? nil : gramBase, rhs: rhsBase,
                                next: end < range.upperBound ? (columns, end) : nil)
                        }
                    }
                }
            }
            start = end
        }
        totals.finiteDeviance = totals.deviance.isFinite
        return totals
    }
}

extension RowPass {
    /// The working weights of the rows `rows` (written to `workingWeights`), their square roots
    /// into `roots` and the scaled working responses √w·z into `scaledResponses` (both indexed
    /// from the first row), with R's checks of the variance and dμ/dη: for rows whose η and μ are
    /// set. The C kernel where it computes the family's variance, else the same arithmetic here.
    /// - Parameters:
    ///   - derivativesKnown: `roots` already holds dμ/dη (the logit kernel makes it with μ).
    ///   - memo, usingMemo: remembers dμ/dη by η (at the start, where η repeats with the response).
    @inline(__always)
    static func workingWeights(
        family: Family, rows: Range<Int>, eta: UnsafeMutableBufferPointer<Double>, mu: UnsafeMutableBufferPointer<Double>,
        y: UnsafeBufferPointer<Double>, priorWeights: UnsafeBufferPointer<Double>?, offset: UnsafeBufferPointer<Double>?,
        workingWeights: UnsafeMutableBufferPointer<Double>, roots: UnsafeMutablePointer<Double>,
        scaledResponses vector: UnsafeMutablePointer<Double>, derivativesKnown: Bool, memo: inout RowMemo<Double>,
        usingMemo: Bool, totals: inout Totals
    ) {
        let link = family.link
        let start = rows.lowerBound
        // For the log link dμ/dη is μ itself (both are max(exp(η), ε)).
        let derivativeIsMean = link == .log
        // dμ/dη into the roots buffer first (for most links a call to exp), then the weights
        // and working responses in a loop without calls.
        if usingMemo, !derivativeIsMean {
            for row in rows {
                let etaValue = eta[row]
                roots[row - start] = memo.value(etaValue) { link.muEta(etaValue) }
            }
        } else if !derivativeIsMean && !derivativesKnown {
            for row in rows { roots[row - start] = link.muEta(eta[row]) }
        }
        if let varianceKind = RowPass.varianceKind(family.kind), let workingBase = workingWeights.baseAddress,
           let etaBase = eta.baseAddress, let muBase = mu.baseAddress, let yBase = y.baseAddress {
            // The same arithmetic in C, several rows at a time.
            var input = glm_weights_input(
                rows: rows.count, eta: etaBase + start, mu: muBase + start, y: yBase + start,
                derivative: derivativeIsMean ? nil : UnsafePointer(roots),
                prior: priorWeights?.baseAddress.map { $0 + start }, offset: offset?.baseAddress.map { $0 + start },
                variance: varianceKind)
            var output = glm_weights_output(weights: workingBase + start, roots: roots, scaledResponses: vector)
            var checks = glm_weights_checks()
            glm_working_weights(&input, &output, &checks)
            totals.varianceNaN = totals.varianceNaN || checks.varianceNaN != 0
            totals.varianceZero = totals.varianceZero || checks.varianceZero != 0
            totals.derivativeNaN = totals.derivativeNaN || checks.derivativeNaN != 0
            totals.goodCount += Int(checks.good)
            return
        }
        var varianceNaN = false
        var varianceZero = false
        var derivativeNaN = false
        var goodCount = 0
        for row in rows {
            let local = row - start
            let priorWeight = priorWeights?[row] ?? 1
            var weight = 0.0
            var response = 0.0
            if priorWeight > 0 {
                let etaValue = eta[row]
                let muValue = mu[row]
                let variance = family.variance(muValue)
                let derivative = derivativeIsMean ? muValue : roots[local]
                varianceNaN = varianceNaN || variance.isNaN
                varianceZero = varianceZero || variance == 0
                derivativeNaN = derivativeNaN || derivative.isNaN
                if derivative != 0 {
                    goodCount += 1
                    // R's w = sqrt(weights · mu.eta² / V), squared again as fit$weights.
                    weight = priorWeight * (derivative * derivative) / variance
                    response = (etaValue - (offset?[row] ?? 0)) + (y[row] - muValue) / derivative
                }
            }
            let root = weight.squareRoot()
            workingWeights[row] = root * root
            roots[local] = root
            vector[local] = root * response
        }
        totals.varianceNaN = totals.varianceNaN || varianceNaN
        totals.varianceZero = totals.varianceZero || varianceZero
        totals.derivativeNaN = totals.derivativeNaN || derivativeNaN
        totals.goodCount += goodCount
    }
}

extension RowPass {
    /// The families whose unit deviance takes logs by their code for `glm_deviance_sum`, which
    /// computes it as `Family.unitDeviance` does (the logs eight at a time).
    static func devianceKind(_ kind: Family.Kind) -> Int32? {
        switch kind {
        case .binomial, .quasibinomial: return Int32(GLM_DEVIANCE_BINOMIAL)
        case .poisson, .quasipoisson: return Int32(GLM_DEVIANCE_POISSON)
        case .gamma: return Int32(GLM_DEVIANCE_GAMMA)
        case .gaussian, .inverseGaussian, .negativeBinomial, .tweedie: return nil
        }
    }

    /// The variance function by its code for `glm_working_weights`, for the families whose
    /// variance it computes as `Family.variance` does.
    static func varianceKind(_ kind: Family.Kind) -> Int32? {
        switch kind {
        case .gaussian: return Int32(GLM_VARIANCE_ONE)
        case .poisson, .quasipoisson: return Int32(GLM_VARIANCE_MU)
        case .binomial, .quasibinomial: return Int32(GLM_VARIANCE_BINOMIAL)
        case .gamma: return Int32(GLM_VARIANCE_SQUARE)
        case .inverseGaussian, .negativeBinomial, .tweedie: return nil
        }
    }

    /// Designs wider than this are copied into one buffer by `withBaseAddresses`, so that its
    /// nesting (a stack frame per column) stays small.
    static let nestingLimit = 1024

    /// Calls `body` with the base address of each column, all valid during the call. The
    /// columns are not copied: each is pinned by its own `withUnsafeBufferPointer`, nested.
    static func withBaseAddresses<Result>(
        of columns: [[Double]], _ body: ([UnsafePointer<Double>?]) throws -> Result
    ) rethrows -> Result {
        guard columns.count <= nestingLimit else {
            let rowCount = columns.first?.count ?? 0
            let contiguous = Array(columns.joined())
            return try contiguous.withUnsafeBufferPointer { buffer in
                try body(columns.indices.map { index in buffer.baseAddress.map { $0 + index * rowCount } })
            }
        }
        var bases: [UnsafePointer<Double>?] = []
        bases.reserveCapacity(columns.count)
        return try nest(columns, from: 0, into: &bases, body)
    }

    private static func nest<Result>(
        _ columns: [[Double]], from index: Int, into bases: inout [UnsafePointer<Double>?],
        _ body: ([UnsafePointer<Double>?]) throws -> Result
    ) rethrows -> Result {
        guard index < columns.count else { return try body(bases) }
        return try columns[index].withUnsafeBufferPointer { buffer in
            bases.append(buffer.baseAddress)
            return try nest(columns, from: index + 1, into: &bases, body)
        }
    }
}

/// A family and link as a type, so that `RowPass.pass` is compiled once for each common pair
/// with its formulas inlined and no per-row switch, and once (`AnyPair`) for every other pair.
/// The formulas are `Family`'s and `Link`'s own, so the numbers are the same.
protocol FamilyLinkPair: SendableMetatype {
    /// The family to use in the row loops: for a fixed pair, one whose kind and link are
    /// compile-time constants.
    static func resolve(_ family: Family) -> Family
}

/// Code run with the family and link as a type (`FamilyLinkPair.visit`).
protocol FamilyLinkPairVisitor {
    associatedtype Output
    func visit<Pair: FamilyLinkPair>(_ pair: Pair.Type) -> Output
}

extension Family {
    /// Runs `visitor` with this family's pair type: a specialised copy for the common pairs.
    func visitPair<Visitor: FamilyLinkPairVisitor>(_ visitor: Visitor) -> Visitor.Output {
        switch (kind, link) {
        case (.poisson, .log): return visitor.visit(PoissonLog.self)
        case (.binomial, .logit): return visitor.visit(BinomialLogit.self)
        case (.gamma, .log): return visitor.visit(GammaLog.self)
        case (.gaussian, .identity): return visitor.visit(GaussianIdentity.self)
        default: return visitor.visit(AnyPair.self)
        }
    }
}

private enum AnyPair: FamilyLinkPair {
    @inline(__always) static func resolve(_ family: Family) -> Family { family }
}

/// A pair fixed by its type.
private protocol FixedPair: FamilyLinkPair {
    static var kind: Family.Kind { get }
    static var link: Link { get }
}

extension FixedPair {
    @inline(__always) static func resolve(_ family: Family) -> Family {
        Family(checkedKind: kind, link: link, theta: family.theta, varPower: family.varPower)
    }
}

private enum PoissonLog: FixedPair {
    static var kind: Family.Kind { .poisson }
    static var link: Link { .log }
}

private enum BinomialLogit: FixedPair {
    static var kind: Family.Kind { .binomial }
    static var link: Link { .logit }
}

private enum GammaLog: FixedPair {
    static var kind: Family.Kind { .gamma }
    static var link: Link { .log }
}

private enum GaussianIdentity: FixedPair {
    static var kind: Family.Kind { .gaussian }
    static var link: Link { .identity }
}
