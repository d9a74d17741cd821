import CKernels
import Dispatch
import Foundation

/// One pass over the rows of a structured design (`DesignStructure`), on all cores: η, μ and
/// the deviance for a coefficient vector, and the working weights with the block normal
/// equations of the next step (`BlockNormalEquations`). A factor term costs one code per row:
/// its diagonal and its table against the other columns are added up at the row's level,
/// never over the zeros of its indicator columns.
final class StructuredPass: @unchecked Sendable {
    /// Row ranges added up separately and then in order: a fixed number, so that the sums do
    /// not depend on the number of cores.
    static let rangeCount = 8

    let family: Family
    let rowCount: Int
    let layout: BlockLayout
    private let structure: DesignStructure
    private let y: UnsafeBufferPointer<Double>
    private let priorWeights: UnsafeBufferPointer<Double>
    private let offset: UnsafeBufferPointer<Double>
    /// The dense columns' values and their places among the remainder's columns.
    private let denseValues: [UnsafePointer<Double>?]
    private let denseRest: [Int]
    /// Every indicator term's codes and multipliers, copied row-major per term (so that the
    /// pass holds them without pinning the design's arrays), and each term's first column
    /// among the remainder's (-1 for the eliminated term).
    private let codes: UnsafeMutableBufferPointer<Int32>
    private let multipliers: [UnsafeMutableBufferPointer<Double>?]
    private let blockRestFirst: [Int]
    private let blockFirst: [Int]
    /// Each term's first level among the secondary terms' (-1 when it is not one), and the
    /// pairs of levels of two apart terms that share rows (`LevelPairs`; nil without
    /// secondary terms).
    private let blockSecondaryFirst: [Int]
    let levelPairs: LevelPairs?
    /// The contrast terms (`ContrastProjection`): each row's level and multiplier, copied as
    /// the indicator terms' are, each term's first level in level space, and (set per run)
    /// each level's effect on η, C·β of the term.
    private let projection: ContrastProjection?
    private let contrastCodes: UnsafeMutableBufferPointer<Int32>
    private let contrastMultipliers: [UnsafeMutableBufferPointer<Double>?]
    private let contrastSpaceFirst: [Int]
    private let contrastEffectFirst: [Int]
    private var levelEffects: [Double]
    let eta: UnsafeMutableBufferPointer<Double>
    let mu: UnsafeMutableBufferPointer<Double>
    var workingWeights: UnsafeMutableBufferPointer<Double>
    private let chunks: [Range<Int>]
    private var partials: [BlockNormalEquations]
    private var partialTotals: [RowPass.Totals]

    /// The arrays must outlive the pass; η, μ and the working weights are the caller's.
    init(
        family: Family, structure: DesignStructure, denseValues: [UnsafePointer<Double>?], rowCount: Int,
        y: UnsafeBufferPointer<Double>, priorWeights: UnsafeBufferPointer<Double>, offset: UnsafeBufferPointer<Double>,
        eta: UnsafeMutableBufferPointer<Double>, mu: UnsafeMutableBufferPointer<Double>,
        workingWeights: UnsafeMutableBufferPointer<Double>, layout given: BlockLayout? = nil, levelPairs: LevelPairs? = nil
    ) {
        self.family = family
        self.rowCount = rowCount
        self.structure = structure
        let layout = given ?? BlockLayout(structure: structure)
        self.layout = layout
        self.y = y
        self.priorWeights = priorWeights
        self.offset = offset
        self.denseValues = denseValues
        let projection = structure.contrastBlocks.isEmpty ? nil : ContrastProjection(structure: structure, layout: layout)
        self.projection = projection
        // Indices into the remainder, or into level space when there are contrast terms.
        func space(_ restIndex: Int) -> Int {
            guard let projection else { return restIndex }
            return restIndex >= 0 && restIndex < projection.spaceIndex.count ? projection.spaceIndex[restIndex] : -1
        }
        denseRest = structure.denseColumns.map { space(layout.restIndex[$0]) }
        let blocks = structure.blocks
        codes = .allocate(capacity: max(rowCount * blocks.count, 1))
        var multipliers: [UnsafeMutableBufferPointer<Double>?] = []
        for (index, block) in blocks.enumerated() {
            let target = UnsafeMutableBufferPointer(rebasing: codes[(index * rowCount)..<((index + 1) * rowCount)])
            block.localColumns.withUnsafeBufferPointer { source in
                for row in 0..<rowCount { target[row] = row < source.count ? source[row] : -1 }
            }
            multipliers.append(block.multipliers.map { Self.copy($0, rowCount: rowCount) })
        }
        self.multipliers = multipliers
        blockFirst = blocks.map(\.firstColumn)
        blockRestFirst = blocks.map { space(layout.restIndex[$0.firstColumn]) }
        var secondaryFirst = [Int](repeating: -1, count: blocks.count)
        for (index, block) in layout.secondary.enumerated() { secondaryFirst[block] = layout.secondaryFirst[index] }
        blockSecondaryFirst = secondaryFirst
        self.levelPairs = layout.isSparse ? levelPairs : nil
        let contrastBlocks = structure.contrastBlocks
        contrastCodes = .allocate(capacity: max(rowCount * contrastBlocks.count, 1))
        var contrastMultipliers: [UnsafeMutableBufferPointer<Double>?] = []
        var effectFirst: [Int] = []
        var effectCount = 0
        for (index, block) in contrastBlocks.enumerated() {
            let target = UnsafeMutableBufferPointer(rebasing: contrastCodes[(index * rowCount)..<((index + 1) * rowCount)])
            for row in 0..<rowCount { target[row] = Int32(truncatingIfNeeded: block.entry(row: row)?.level ?? -1) }
            contrastMultipliers.append(block.multipliers.map { Self.copy($0, rowCount: rowCount) })
            effectFirst.append(effectCount)
            effectCount += block.levelCount
        }
        self.contrastMultipliers = contrastMultipliers
        contrastSpaceFirst = projection?.levelFirst ?? []
        contrastEffectFirst = effectFirst
        levelEffects = [Double](repeating: 0, count: effectCount)
        let accumulatedRest = projection?.count ?? layout.restCount
        self.eta = eta
        self.mu = mu
        self.workingWeights = workingWeights
        // Each range adds up its own table of E against the rest: a large table is added up in
        // fewer ranges (two, for the two cores), so that zeroing and summing them stays small.
        let tableSize = (layout.eliminatedWidth + layout.secondaryWidth) * max(accumulatedRest, 1) + (levelPairs?.count ?? 0)
        let chunkCount = rowCount < 65_536 ? 1 : tableSize > 1 << 18 ? 2 : StructuredPass.rangeCount
        let chunkSize = (rowCount + chunkCount - 1) / max(chunkCount, 1)
        chunks = stride(from: 0, to: rowCount, by: max(chunkSize, 1)).map { $0..<min($0 + chunkSize, rowCount) }
        partials = chunks.map { _ in
            BlockNormalEquations(eliminatedWidth: layout.eliminatedWidth, restCount: accumulatedRest,
                                 secondaryWidth: layout.secondaryWidth, pairCount: levelPairs?.count ?? 0)
        }
        partialTotals = chunks.map { _ in RowPass.Totals(columns: 0) }
    }

    deinit {
        codes.deallocate()
        for buffer in multipliers { buffer?.deallocate() }
        contrastCodes.deallocate()
        for buffer in contrastMultipliers { buffer?.deallocate() }
    }

    /// Sets η = offset + Xβ and μ (with `coefficients`), adds up the deviance and the validity
    /// checks, and with `accumulate` the working weights and the block normal equations.
    /// A term's multipliers as a buffer of `rowCount` (NaN past the values given), freed
    /// with the pass.
    private static func copy(_ values: [Double], rowCount: Int) -> UnsafeMutableBufferPointer<Double> {
        let copy = UnsafeMutableBufferPointer<Double>.allocate(capacity: rowCount)
        values.withUnsafeBufferPointer { source in
            for row in 0..<rowCount { copy[row] = row < source.count ? source[row] : .nan }
        }
        return copy
    }

    func run(coefficients: [Double]?, accumulate: Bool) -> (RowPass.Totals, BlockNormalEquations?) {
        struct Visitor: FamilyLinkPairVisitor {
            let pass: StructuredPass
            let coefficients: [Double]?
            let accumulate: Bool
            func visit<Pair: FamilyLinkPair>(_ pair: Pair.Type) -> Void {
                pass.runChunks(Pair.self, coefficients: coefficients, accumulate: accumulate)
            }
        }
        if let coefficients { setLevelEffects(coefficients) }
        family.visitPair(Visitor(pass: self, coefficients: coefficients, accumulate: accumulate))
        var totals = RowPass.Totals(columns: 0)
        for partial in partialTotals { totals.add(partial) }
        totals.finiteDeviance = totals.deviance.isFinite
        guard accumulate, var equations = partials.first else { return (totals, nil) }
        for partial in partials.dropFirst() { equations.add(partial) }
        if let projection { equations = projection.project(equations, layout: layout) }
        return (totals, equations)
    }

    /// Each contrast level's effect on η: C·β over the term's columns (levels × width once
    /// per pass, not per row).
    private func setLevelEffects(_ coefficients: [Double]) {
        for (index, block) in structure.contrastBlocks.enumerated() {
            let first = contrastEffectFirst[index]
            for level in 0..<block.levelCount {
                var effect = 0.0
                for local in 0..<block.width {
                    let column = block.firstColumn + local
                    let c = block.contrasts[level * block.width + local]
                    if c != 0, column < coefficients.count { effect += c * coefficients[column] }
                }
                levelEffects[first + level] = effect
            }
        }
    }

    private func runChunks<Pair: FamilyLinkPair>(_ pair: Pair.Type, coefficients: [Double]?, accumulate: Bool) {
        let work: @Sendable (Int) -> Void = { [self] index in
            var equations = partials[index]
            if accumulate {
                equations = BlockNormalEquations(
                    eliminatedWidth: layout.eliminatedWidth, restCount: projection?.count ?? layout.restCount,
                    secondaryWidth: layout.secondaryWidth, pairCount: levelPairs?.count ?? 0)
            }
            let totals = pass(Pair.self, range: chunks[index], coefficients: coefficients, accumulate: accumulate, into: &equations)
            partials[index] = equations
            partialTotals[index] = totals
        }
        if chunks.count > 1 {
            DispatchQueue.concurrentPerform(iterations: chunks.count, execute: work)
        } else if chunks.count == 1 {
            work(0)
        }
    }

    /// Rows per block: the means, deviance and weights of a block are computed by the C kernels
    /// the dense pass uses (`RowPass`), eight at a time, with the same arithmetic.
    static let blockRows = 256

    private func pass<Pair: FamilyLinkPair>(
        _ pair: Pair.Type, range: Range<Int>, coefficients: [Double]?, accumulate: Bool,
        into equations: inout BlockNormalEquations
    ) -> RowPass.Totals {
        let family = Pair.resolve(self.family)
        let link = family.link
        var totals = RowPass.Totals(columns: 0)
        let blockCount = blockFirst.count
        let eliminated = layout.eliminated ?? -1
        let r = projection?.count ?? layout.restCount
        let contrastCount = contrastSpaceFirst.count
        let contrastCodes = UnsafeBufferPointer(self.contrastCodes)
        let denseCount = denseValues.count
        let denseColumns = structure.denseColumns
        let devianceKind = RowPass.devianceKind(family.kind)
        let derivativeWithMean = link == .logit && accumulate
        let codes = UnsafeBufferPointer(self.codes)
        let blockSize = StructuredPass.blockRows
        var derivativeMemo = RowMemo<Double>()
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 6 * blockSize + 2 * (denseCount + blockCount + contrastCount)) { scratch in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: denseCount + blockCount + contrastCount + 1) { restIndices in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: blockCount + 1) { secondaryLevels in
        withUnsafeTemporaryAllocation(of: Double.self, capacity: blockCount + 1) { secondaryValues in
        levelEffects.withUnsafeBufferPointer { levelEffects in
        equations.diagonal.withUnsafeMutableBufferPointer { diagonal in
        equations.eliminatedRHS.withUnsafeMutableBufferPointer { eliminatedRHS in
        equations.cross.withUnsafeMutableBufferPointer { cross in
        equations.gram.withUnsafeMutableBufferPointer { gram in
        equations.rhs.withUnsafeMutableBufferPointer { rhs in
        equations.secondaryDiagonal.withUnsafeMutableBufferPointer { secondaryDiagonal in
        equations.secondaryRHS.withUnsafeMutableBufferPointer { secondaryRHS in
        equations.secondaryCross.withUnsafeMutableBufferPointer { secondaryCross in
        equations.pairValues.withUnsafeMutableBufferPointer { pairValues in
        guard let base = scratch.baseAddress, let etaBase = eta.baseAddress, let muBase = mu.baseAddress,
              let yBase = y.baseAddress else { return }
        let roots = base, vector = base + blockSize, logs = base + 2 * blockSize
        let restValues = base + 6 * blockSize
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + blockSize, range.upperBound)
            let rows = end - start
            if let coefficients {
                for row in start..<end {
                    var linear = offset[row]
                    for index in 0..<denseCount {
                        let coefficient = coefficients[denseColumns[index]]
                        if coefficient != 0, let values = denseValues[index] { linear += values[row] * coefficient }
                    }
                    for block in 0..<blockCount {
                        let local = Int(codes[block * rowCount + row])
                        guard local >= 0 else { continue }
                        let value = multipliers[block]?[row] ?? 1
                        linear += value * coefficients[blockFirst[block] + local]
                    }
                    for block in 0..<contrastCount {
                        let level = Int(contrastCodes[block * rowCount + row])
                        guard level >= 0 else { continue }
                        let value = contrastMultipliers[block]?[row] ?? 1
                        linear += value * levelEffects[contrastEffectFirst[block] + level]
                    }
                    eta[row] = linear
                }
                // As RowPass: the exps eight at a time where the link takes them.
                if link == .logit {
                    glm_exp(etaBase + start, roots, rows)
                    glm_logit_mean_derivative(etaBase + start, roots, muBase + start, rows)
                } else if link == .log {
                    glm_exp(etaBase + start, muBase + start, rows)
                    for row in start..<end { mu[row] = Swift.max(mu[row], Link.epsilon) }
                } else {
                    for row in start..<end { mu[row] = link.linkinv(eta[row]) }
                }
                if let devianceKind {
                    totals.deviance += glm_deviance_sum(
                        devianceKind, yBase + start, muBase + start, priorWeights.baseAddress.map { $0 + start }, logs, rows)
                } else {
                    for row in start..<end {
                        totals.deviance += family.unitDeviance(y: y[row], mu: mu[row], weight: priorWeights[row])
                    }
                }
                var valid = (eta: true, mu: true)
                for row in start..<end {
                    valid.eta = valid.eta && link.isValid(eta: eta[row])
                    valid.mu = valid.mu && family.isValid(mu: mu[row])
                }
                totals.validEta = totals.validEta && valid.eta
                totals.validMu = totals.validMu && valid.mu
            }
            guard accumulate else {
                start = end
                continue
            }
            RowPass.workingWeights(
                family: family, rows: start..<end, eta: eta, mu: mu, y: y, priorWeights: priorWeights, offset: offset,
                workingWeights: workingWeights, roots: roots, scaledResponses: vector,
                derivativesKnown: derivativeWithMean, memo: &derivativeMemo, usingMemo: coefficients == nil, totals: &totals)
            for row in start..<end {
                let local = row - start
                let root = roots[local]
                guard root > 0 else { continue }
                let weight = root * root
                let weightedResponse = root * vector[local]
                // The row's non-zero entries among the remainder's columns.
                var count = 0
                for index in 0..<denseCount {
                    guard let values = denseValues[index] else { continue }
                    restIndices[count] = denseRest[index]
                    restValues[count] = values[row]
                    count += 1
                }
                var eliminatedLevel = -1
                var eliminatedValue = 0.0
                var secondaryCount = 0
                for block in 0..<blockCount {
                    let local = Int(codes[block * rowCount + row])
                    guard local >= 0 else { continue }
                    let value = multipliers[block]?[row] ?? 1
                    if block == eliminated {
                        eliminatedLevel = local
                        eliminatedValue = value
                    } else if blockSecondaryFirst[block] >= 0 {
                        secondaryLevels[secondaryCount] = blockSecondaryFirst[block] + local
                        secondaryValues[secondaryCount] = value
                        secondaryCount += 1
                    } else {
                        restIndices[count] = blockRestFirst[block] + local
                        restValues[count] = value
                        count += 1
                    }
                }
                // A contrast term: its level's column of level space.
                for block in 0..<contrastCount {
                    let level = Int(contrastCodes[block * rowCount + row])
                    guard level >= 0 else { continue }
                    restIndices[count] = contrastSpaceFirst[block] + level
                    restValues[count] = contrastMultipliers[block]?[row] ?? 1
                    count += 1
                }
                for a in 0..<count {
                    let weighted = weight * restValues[a]
                    let i = restIndices[a]
                    rhs[i] += restValues[a] * weightedResponse
                    for b in 0..<count {
                        let j = restIndices[b]
                        if i <= j { gram[i + j * r] += weighted * restValues[b] }
                    }
                }
                if eliminatedLevel >= 0 {
                    let weighted = weight * eliminatedValue
                    diagonal[eliminatedLevel] += weighted * eliminatedValue
                    eliminatedRHS[eliminatedLevel] += eliminatedValue * weightedResponse
                    let row = eliminatedLevel * r
                    for a in 0..<count { cross[row + restIndices[a]] += weighted * restValues[a] }
                }
                for index in 0..<secondaryCount {
                    let level = secondaryLevels[index], value = secondaryValues[index]
                    let weighted = weight * value
                    secondaryDiagonal[level] += weighted * value
                    secondaryRHS[level] += value * weightedResponse
                    let first = level * r
                    for a in 0..<count { secondaryCross[first + restIndices[a]] += weighted * restValues[a] }
                }
                if let levelPairs { levelPairs.add(row: row, weight: weight, multipliers: multipliers, into: pairValues) }
            }
            start = end
        }
        }}}}}}}}}}}}}}
        return totals
    }
}

/// The pairs of levels of two terms held apart (E and the secondary terms, `BlockLayout`)
/// that share a row, numbered in the order they are first met: the off-diagonal entries of
/// their normal equations. Built from all the rows, or chunk by chunk (`--chunk-rows`).
struct LevelPairIndex: Sendable {
    /// The two terms (indices into `structure.blocks`) of each slot, a slot per pair of terms.
    let slots: [(first: Int, second: Int)]
    /// The X columns of each pair.
    private(set) var columns: [(first: Int, second: Int)] = []
    private var numbers: [[Int: Int32]]

    init(layout: BlockLayout) {
        let apart = (layout.eliminated.map { [$0] } ?? []) + layout.secondary
        var slots: [(first: Int, second: Int)] = []
        for (position, first) in apart.enumerated() {
            for second in apart[(position + 1)...] { slots.append((min(first, second), max(first, second))) }
        }
        self.slots = slots
        numbers = slots.map { _ in [:] }
    }

    /// Numbers the pairs of `structure`'s rows not met before (`adding`), and gives each
    /// row's pair in each slot (-1 when the row has no level of one of the two terms),
    /// slot-major; without `adding`, a pair not met before is an error.
    mutating func rowPairs(_ structure: DesignStructure, rowCount: Int, adding: Bool) throws -> [Int32] {
        var indices = [Int32](repeating: -1, count: rowCount * slots.count)
        for (slot, pair) in slots.enumerated() {
            let first = structure.blocks[pair.first], second = structure.blocks[pair.second]
            for row in 0..<min(rowCount, first.localColumns.count, second.localColumns.count) {
                let a = Int(first.localColumns[row]), b = Int(second.localColumns[row])
                guard a >= 0, b >= 0 else { continue }
                let key = a * second.width + b
                if let index = numbers[slot][key] {
                    indices[slot * rowCount + row] = index
                    continue
                }
                guard adding else {
                    throw GLMError.fitFailed(message: "a pair of levels appeared that an earlier pass over the input did not have")
                }
                guard let index = Int32(exactly: columns.count) else {
                    throw GLMError.fitFailed(message: "more than 2³¹ pairs of levels share rows")
                }
                numbers[slot][key] = index
                columns.append((first.firstColumn + a, second.firstColumn + b))
                indices[slot * rowCount + row] = index
            }
        }
        return indices
    }
}

/// Each row's place among the pairs of levels of a `LevelPairIndex`, for a pass.
struct LevelPairs: @unchecked Sendable {
    let slots: [(first: Int, second: Int)]
    /// The number of pairs (of the whole index).
    let count: Int
    private let indices: [Int32]
    private let rowCount: Int

    init(structure: DesignStructure, rowCount: Int, index: inout LevelPairIndex, adding: Bool) throws {
        try MemoryBudget.current().require(
            MemoryBudget.bytes(of: 16, times: [rowCount, max(index.slots.count, 1)]),
            for: "the pairs of levels of the factor terms of many levels", remedy: "use fewer factors of many levels")
        indices = try index.rowPairs(structure, rowCount: rowCount, adding: adding)
        slots = index.slots
        count = index.columns.count
        self.rowCount = rowCount
    }

    /// Adds a row's w·x_a·x_b to its pairs.
    func add(row: Int, weight: Double, multipliers: [UnsafeMutableBufferPointer<Double>?],
             into values: UnsafeMutableBufferPointer<Double>) {
        for (slot, pair) in slots.enumerated() {
            let index = Int(indices[slot * rowCount + row])
            guard index >= 0 else { continue }
            let a = multipliers[pair.first]?[row] ?? 1, b = multipliers[pair.second]?[row] ?? 1
            values[index] += weight * a * b
        }
    }
}
