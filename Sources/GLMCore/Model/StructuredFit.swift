import Foundation

/// The IRLS loop's passes over a structured design in memory.
private final class StructuredPasses: IRLSPasses {
    var skipsUnneededNormalEquations: Bool { true }
    let irls: IRLS
    let pass: StructuredPass
    let y: [Double], priorWeights: [Double], offset: [Double]
    let columnCount: Int
    /// The design (its scaled structure for the cells), for a near-singular step
    /// solved by QR.
    private let design: Design
    private let structure: DesignStructure
    private let allowingQR: Bool
    private let control: FitControl
    private var contiguousX: [Double]?
    private var valuesTooLarge = false
    private var designCells: DesignCells?
    private var tooManyCells = false
    private var solvedByQR = false
    private var aliasedOnCells = Set<Int>()
    /// The aliased columns of X with unit weights, left out of every step once known: for a
    /// design solved as sparse, given before the first step (`SparseBlockSolver.aliasedColumns`);
    /// else found before the first QR step (`IRLS.unitWeightAliased`, on X or on the cells), or
    /// by the block solver's in-order rule on `unitEquations` when neither QR is possible.
    private var unitWeightAliased: Set<Int>?
    /// XᵀX by blocks over the rows of positive weight (`IRLS.unitWeightEquations`); it reads
    /// the fit's buffers, so it is called only while `fitStructured` runs these passes.
    private let unitEquations: () throws -> BlockNormalEquations
    /// Whether the steps are solved by blocks with `unitWeightAliased` left out (no QR).
    private var solvedWithUnitAliased = false
    /// The sparse factor's order (`SparseBlockSolver.plan`), found once.
    private let sparseOrder: [Int]
    private let pairColumns: [(first: Int, second: Int)]
    /// The columns' scales (see `ColumnScaling`): the QR step solves for the scaled columns too.
    private let columnScales: [Double]
    /// The block normal equations of the last pass that added them up.
    private var equations: BlockNormalEquations?
    /// The two working-weight buffers: the pass writes one while the other keeps the weights
    /// of the step being taken (R's `fit$weights` at the end).
    let weightBuffers: [UnsafeMutableBufferPointer<Double>]
    private(set) var usedWeightsIndex = 1

    init(irls: IRLS, pass: StructuredPass, weightBuffers: [UnsafeMutableBufferPointer<Double>], y: [Double],
         priorWeights: [Double], offset: [Double], design: Design, structure: DesignStructure, columnScales: [Double],
         allowingQR: Bool, sparseOrder: [Int], pairColumns: [(first: Int, second: Int)], aliasedSparse: Set<Int>,
         unitEquations: @escaping () throws -> BlockNormalEquations) {
        self.unitEquations = unitEquations
        self.sparseOrder = sparseOrder
        self.unitWeightAliased = pass.levelPairs == nil ? nil : aliasedSparse
        self.pairColumns = pairColumns
        self.irls = irls
        self.columnScales = columnScales
        self.offset = offset
        self.design = design
        self.structure = structure
        self.allowingQR = allowingQR
        self.control = irls.control
        self.columnCount = design.columnCount
        self.pass = pass
        self.weightBuffers = weightBuffers
        self.y = y
        self.priorWeights = priorWeights
    }

    var usedWeights: UnsafeMutableBufferPointer<Double> { weightBuffers[usedWeightsIndex] }

    func start() throws -> (RowPass.Totals, Double) {
        let (totals, equations) = pass.run(coefficients: nil, accumulate: true)
        self.equations = equations
        return (totals, irls.family.deviance(y: y, mu: UnsafeBufferPointer(pass.mu), weights: priorWeights))
    }

    func run(coefficients: [Double]?, accumulate: Bool) throws -> RowPass.Totals {
        let (totals, equations) = pass.run(coefficients: coefficients, accumulate: accumulate)
        if accumulate { self.equations = equations }
        return totals
    }

    func solve(_ totals: RowPass.Totals) throws -> LeastSquaresSolution {
        usedWeightsIndex = weightBuffers.firstIndex { $0.baseAddress == pass.workingWeights.baseAddress } ?? 0
        defer { pass.workingWeights = weightBuffers[1 - usedWeightsIndex] }
        guard let equations else { throw GLMError.fitFailed(message: "no normal equations to solve") }
        // Once a step has needed QR, the later ones (the same columns, new weights) go
        // straight to it, as R's every step does.
        if solvedByQR {
            // Once QR on the design's cells has found the aliased columns (kept aliased, as
            // below), the later steps solve the normal equations of the other columns, which
            // are not near singular: a pass instead of QR's cells × p² (a 6,634-column panel's
            // 6,400 cells: some 20 s a step).
            if !aliasedOnCells.isEmpty,
               let step = BlockSolver.solve(equations, layout: pass.layout, columnCount: columnCount, aliased: aliasedOnCells),
               !step.nearSingular {
                return step.solution
            }
            if let solution = try qrStep() { return solution }
        }
        if solvedWithUnitAliased { return try unitAliasedStep(equations) }
        let step: (solution: LeastSquaresSolution, nearSingular: Bool)
        do {
            if pass.levelPairs != nil {
                return try SparseBlockSolver.solve(
                    equations, layout: pass.layout, pairs: pairColumns, structure: structure, columnCount: columnCount,
                    order: sparseOrder, aliased: unitWeightAliased ?? [], columnNames: design.columnNames)
            } else {
                step = try BlockSolver.solve(equations, layout: pass.layout, columnCount: columnCount)
            }
        } catch {
            // A sparse solve's aliased columns were decided before the first step: its failure
            // is the fit's (QR on X or its cells would cost rows × p² a step at its sizes).
            guard pass.levelPairs == nil else { throw error }
            // The normal equations lose too much (a nearly dependent column kept, then a
            // failed pivot): QR, when the rows allow it, decides as R does.
            if let solution = try qrStep() {
                solvedByQR = true
                return solution
            }
            solvedWithUnitAliased = true
            return try unitAliasedStep(equations)
        }
        guard step.nearSingular else { return step.solution }
        if let solution = try qrStep() {
            solvedByQR = true
            return solution
        }
        solvedWithUnitAliased = true
        return try unitAliasedStep(equations)
    }

    /// A near-singular step of a design too large for QR (on X or on its cells, or with QR
    /// turned off to test this rule): the aliased columns decided once by the in-order rule on
    /// XᵀX with unit weights (weights over many orders of magnitude, as under separation, blur
    /// the rule on XᵀWX until it fails), the normal equations of the others solved at every step.
    private func unitAliasedStep(_ equations: BlockNormalEquations) throws -> LeastSquaresSolution {
        let aliased = try unitWeightAliased ?? {
            let unit = try BlockSolver.solve(unitEquations(), layout: pass.layout, columnCount: columnCount).solution
            return Set(unit.pivot[unit.rank...])
        }()
        unitWeightAliased = aliased
        guard let step = BlockSolver.solve(equations, layout: pass.layout, columnCount: columnCount, aliased: aliased) else {
            throw GLMError.fitFailed(
                message: "the normal equations of the factor blocks are not positive definite (weights over too many "
                    + "orders of magnitude for them)")
        }
        return step.solution
    }

    /// The step by R's QR: on X as values when it is small enough to build, else on the
    /// design's cells when they are few (`DesignCells`); nil when neither is.
    private func qrStep() throws -> LeastSquaresSolution? {
        guard allowingQR else { return nil }
        if !control.nearSingularQROnCells, let x = valuesX() {
            let aliased = try unitWeightAliased ?? irls.unitWeightAliased(x: x, columnCount: columnCount, priorWeights: priorWeights)
            unitWeightAliased = aliased
            return try irls.qrStep(
                eta: pass.eta, mu: pass.mu, workingWeights: pass.workingWeights, columnCount: columnCount, x: x, y: y,
                offset: offset, aliasedBefore: aliased)
        }
        guard let cells = cells() else { return nil }
        if unitWeightAliased == nil {
            // As `IRLS.unitWeightAliased`, on the cells.
            var unitWeights = [Double](repeating: 0, count: priorWeights.count)
            let unit = try unitWeights.withUnsafeMutableBufferPointer { buffer in
                try cells.leastSquares(
                    workingWeights: IRLS.unitWeights(priorWeights, into: buffer), workingResponse: { _ in 0 },
                    tolerance: control.qrTolerance)
            }
            unitWeightAliased = Set(unit.pivot[unit.rank...])
            aliasedOnCells.formUnion(unit.pivot[unit.rank...])
        }
        let link = irls.family.link
        let (eta, mu) = (pass.eta, pass.mu)
        // A column aliased at one step stays aliased: positive weights do not change which
        // columns depend on the others, and R's test again at every step can, once weights
        // span many orders of magnitude (separation), keep an exactly dependent column by
        // rounding and then diverge (InstEval's d × studage: at the 15th step).
        var solution = try cells.leastSquares(
            workingWeights: pass.workingWeights,
            workingResponse: { row in (eta[row] - self.offset[row]) + (self.y[row] - mu[row]) / link.muEta(eta[row]) },
            tolerance: control.qrTolerance, aliasedBefore: aliasedOnCells)
        aliasedOnCells.formUnion(solution.pivot[solution.rank...])
        // X too large to build: what follows the fit (covariance, sandwich, hat values, the
        // saved model) works on blocks, from the normal equations of the columns QR kept.
        if let equations, let factor = BlockSolver.factor(
            equations, layout: pass.layout, aliased: Set(solution.pivot[solution.rank...])) {
            solution.blockFactor = factor
            solution.rFactor = []
        }
        return solution
    }

    /// X as values with the columns' scales, made once; nil when it is too large.
    private func valuesX() -> [Double]? {
        if contiguousX == nil, !valuesTooLarge {
            let bytes = MemoryBudget.bytes(doubles: design.rowCount, design.columnCount, 3)
            guard let bytes, bytes <= BlockSolver.qrFallbackBytes,
                  (try? MemoryBudget.current().require(bytes, for: "", remedy: "")) != nil,
                  let columns = try? design.denseColumns() else {
                valuesTooLarge = true
                return nil
            }
            contiguousX = Array(zip(columns, columnScales).map { column, scale in
                scale == 1 ? column : column.map { $0 * scale }
            }.joined())
        }
        return contiguousX
    }

    /// The scaled design's cells, found once; nil when there are too many, or when their QR
    /// (cells × slots rows, p columns) would pass `BlockSolver.qrOnCellsMultiplyAdds`.
    private func cells() -> DesignCells? {
        if designCells == nil, !tooManyCells {
            designCells = DesignCells(structure, rowCount: design.rowCount, maximumBytes: BlockSolver.qrFallbackBytes)
            if let cells = designCells {
                let p = Double(columnCount)
                if Double(cells.cellCount) * Double(cells.slotCount) * p * p > BlockSolver.qrOnCellsMultiplyAdds {
                    designCells = nil
                }
            }
            tooManyCells = designCells == nil
        }
        return designCells
    }
}

extension IRLS {
    /// Fits `design` by blocks when its factor terms are codes or the solver asks for it, else
    /// over its columns.
    public func fit(
        design: Design, y: [Double], priorWeights: [Double], offset: [Double], startingMu: [Double],
        runAllIterations: Bool = false, start: [Double]? = nil
    ) throws -> IRLSResult {
        if design.isStructured || control.solver == .blocks {
            return try fitStructured(
                design: design, y: y, priorWeights: priorWeights, offset: offset, startingMu: startingMu,
                runAllIterations: runAllIterations, start: start, allowingQR: control.nearSingularBlocksByQR)
        }
        return try fit(
            columns: design.columns, rowCount: design.rowCount, y: y, priorWeights: priorWeights, offset: offset,
            startingMu: startingMu, runAllIterations: runAllIterations, start: start)
    }

    /// `fit` for a design whose factor terms are held as codes (or any design, with the
    /// `.blocks` solver): the same loop, each step solved by blocks.
    /// - Parameter allowingQR: a near-singular step of a design small enough to build as
    ///   values is solved by QR, so that R's rule decides near-aliased columns (tests of the
    ///   block aliasing turn it off).
    func fitStructured(
        design: Design, y: [Double], priorWeights: [Double], offset: [Double], startingMu: [Double],
        runAllIterations: Bool = false, start: [Double]? = nil, allowingQR: Bool = true
    ) throws -> IRLSResult {
        let rowCount = design.rowCount
        // Columns of extreme magnitude are fitted scaled by powers of two (exactly), and the
        // fit is scaled back below; ordinary columns have scales of 1 and are the design's own.
        let columnScales = ColumnScaling.columnScales(design.structure)
        let structure = ColumnScaling.scaled(design.structure, by: columnScales)
        let scaledStart = start.map { ColumnScaling.scaled(coefficients: $0, by: columnScales) }
        guard structure.denseValues.allSatisfy({ $0.count == rowCount }), y.count == rowCount,
              priorWeights.count == rowCount, offset.count == rowCount, startingMu.count == rowCount else {
            throw GLMError.fitFailed(message: "the design's columns do not all have \(rowCount) rows")
        }
        let link = family.link
        // A second factor of many levels would make the remainder's equations too large to
        // be dense: such factors are held apart and the equations solved as sparse.
        var layout = BlockLayout(
            structure: structure, denseRestLimit: control.denseRestLimit, secondaryMinimumWidth: control.secondaryMinimumWidth)
        var pairIndex = LevelPairIndex(layout: layout)
        var levelPairs = layout.isSparse
            ? try LevelPairs(structure: structure, rowCount: rowCount, index: &pairIndex, adding: true) : nil
        var sparseOrder: [Int] = []
        if levelPairs != nil {
            if let order = try SparseBlockSolver.sparseOrder(
                structure: structure, layout: layout, pairs: pairIndex.columns, control: control) {
                sparseOrder = order
            } else {
                layout = BlockLayout(structure: structure)
                levelPairs = nil
            }
        }
        var eta = [Double](repeating: 0, count: rowCount)
        var mu = [Double](repeating: 0, count: rowCount)
        var weightsA = [Double](repeating: 0, count: rowCount)
        var weightsB = [Double](repeating: 0, count: rowCount)
        let outcome: (IRLS.LoopResult, Int) = try RowPass.withBaseAddresses(of: structure.denseValues) { dense in
            try y.withUnsafeBufferPointer { yBuffer in
                try priorWeights.withUnsafeBufferPointer { prior in
                    try offset.withUnsafeBufferPointer { offsets in
                        try eta.withUnsafeMutableBufferPointer { etaBuffer in
                            try mu.withUnsafeMutableBufferPointer { muBuffer in
                                try weightsA.withUnsafeMutableBufferPointer { first in
                                    try weightsB.withUnsafeMutableBufferPointer { second in
                                        let pass = StructuredPass(
                                            family: family, structure: structure, denseValues: dense, rowCount: rowCount,
                                            y: yBuffer, priorWeights: prior, offset: offsets, eta: etaBuffer, mu: muBuffer,
                                            workingWeights: first, layout: layout, levelPairs: levelPairs)
                                        let unitEquations = {
                                            try IRLS.unitWeightEquations(
                                                structure: structure, denseValues: dense, y: yBuffer, offset: offsets,
                                                priorWeights: priorWeights, layout: layout, levelPairs: levelPairs)
                                        }
                                        var aliasedSparse = Set<Int>()
                                        if levelPairs != nil {
                                            aliasedSparse = try SparseBlockSolver.aliasedColumns(
                                                unitEquations(), layout: layout, pairs: pairIndex.columns, structure: structure,
                                                columnCount: design.columnCount, order: sparseOrder)
                                        }
                                        if let start = scaledStart {
                                            let (totals, _) = pass.run(coefficients: start, accumulate: false)
                                            guard totals.validEta, totals.validMu else { throw invalidStartingCoefficients() }
                                        } else {
                                            try setStructuredStart(eta: etaBuffer, mu: muBuffer, startingMu: startingMu)
                                        }
                                        let passes = StructuredPasses(
                                            irls: self, pass: pass, weightBuffers: [first, second], y: y,
                                            priorWeights: priorWeights, offset: offset, design: design,
                                            structure: structure, columnScales: columnScales, allowingQR: allowingQR,
                                            sparseOrder: sparseOrder, pairColumns: pairIndex.columns,
                                            aliasedSparse: aliasedSparse, unitEquations: unitEquations)
                                        let result = try loop(
                                            passes, columnCount: design.columnCount, runAllIterations: runAllIterations, start: scaledStart)
                                        return (result, passes.usedWeightsIndex)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let (result, usedIndex) = outcome
        let workingWeights = usedIndex == 0 ? weightsA : weightsB
        var residuals = [Double](repeating: 0, count: rowCount)
        var nearZero = false, nearOne = false
        let tiny = 10 * Double.ulpOfOne
        for row in 0..<rowCount {
            residuals[row] = (y[row] - mu[row]) / link.muEta(eta[row])
            nearZero = nearZero || mu[row] < tiny
            nearOne = nearOne || mu[row] > 1 - tiny
        }
        let warnings = result.warnings + boundaryWarnings(nearZero: nearZero, nearOne: nearOne)
        let pearson = IRLSResult.pearsonStatistics(weights: workingWeights, residuals: residuals)
        return ColumnScaling.unscaled(IRLSResult(
            coefficients: result.coefficients, solution: result.solution, linearPredictors: eta, fittedValues: mu,
            workingWeights: workingWeights, workingResiduals: residuals, deviance: result.deviance,
            iterations: result.iterations, converged: result.converged, boundary: result.boundary, warnings: warnings,
            pearsonChiSquare: pearson.sum, hasZeroWorkingWeight: pearson.zero, residualCount: pearson.count),
            by: columnScales)
    }

    /// 1 where the prior weight is positive, else 0, in `buffer`: the weights of XᵀX over the
    /// rows that are fitted.
    fileprivate static func unitWeights(
        _ priorWeights: [Double], into buffer: UnsafeMutableBufferPointer<Double>
    ) -> UnsafeMutableBufferPointer<Double> {
        for (row, weight) in priorWeights.enumerated() { buffer[row] = Family.unitWeight(prior: weight) }
        return buffer
    }

    /// XᵀX by blocks over the rows of positive prior weight, each weighted 1 (a pass of
    /// `Family.unitWeights`): the equations the aliased columns are decided on when no QR
    /// decides them (see `unitWeightAliased`).
    fileprivate static func unitWeightEquations(
        structure: DesignStructure, denseValues: [UnsafePointer<Double>?], y: UnsafeBufferPointer<Double>,
        offset: UnsafeBufferPointer<Double>, priorWeights: [Double], layout: BlockLayout, levelPairs: LevelPairs?
    ) throws -> BlockNormalEquations {
        let rowCount = priorWeights.count
        var weights = [Double](repeating: 0, count: rowCount)
        var eta = [Double](repeating: 0, count: rowCount)
        var mu = [Double](repeating: 0, count: rowCount)
        var workingWeights = [Double](repeating: 0, count: rowCount)
        let equations = weights.withUnsafeMutableBufferPointer { weights in
            eta.withUnsafeMutableBufferPointer { eta in
                mu.withUnsafeMutableBufferPointer { mu in
                    workingWeights.withUnsafeMutableBufferPointer { workingWeights in
                        StructuredPass(
                            family: .unitWeights, structure: structure, denseValues: denseValues, rowCount: rowCount, y: y,
                            priorWeights: UnsafeBufferPointer(unitWeights(priorWeights, into: weights)), offset: offset,
                            eta: eta, mu: mu, workingWeights: workingWeights, layout: layout, levelPairs: levelPairs
                        ).run(coefficients: nil, accumulate: true).1
                    }
                }
            }
        }
        guard let equations else { throw GLMError.fitFailed(message: "no normal equations to find the aliased columns") }
        return equations
    }

    /// The starting η = g(μ₀) and μ = g⁻¹(η), with glm.fit's checks.
    private func setStructuredStart(
        eta: UnsafeMutableBufferPointer<Double>, mu: UnsafeMutableBufferPointer<Double>, startingMu: [Double]
    ) throws {
        let link = family.link
        try checkLogitStart(startingMu)
        var valid = true
        for row in 0..<eta.count {
            let value = link.linkfun(startingMu[row])
            eta[row] = value
            mu[row] = link.linkinv(value)
            valid = valid && link.isValid(eta: value) && family.isValid(mu: mu[row])
        }
        guard valid else { throw IRLS.invalidStartingMeans }
    }
}
