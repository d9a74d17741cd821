import Foundation
import Testing
@testable import GLMCore

/// R's in-order aliasing by one blocked QR pass, and near-singular steps by blocks solved by
/// QR on the design's cells.
@Suite("In-order QR and QR on the design's cells")
struct DesignCellsQRTests {
    /// A random design with dependencies that span several panels: duplicated columns, sums
    /// of earlier columns, a zero column, and (`nearlyDependent`) a column 1e-9 from one kept
    /// before it — kept by R's 1e-11, but its coefficients have only a few digits.
    static func dependentDesign(rows: Int, seed: UInt64, nearlyDependent: Bool = false) -> (x: [[Double]], y: [Double]) {
        var generator = SplitMix64(seed: seed)
        var columns: [[Double]] = []
        for index in 0..<90 {
            switch index % 9 {
            case 4 where columns.count > 3:
                columns.append(columns[index - 3])
            case 7 where columns.count > 5:
                let (a, b) = (columns[index - 5], columns[index / 2])
                columns.append(zip(a, b).map { 2 * $0 - 0.5 * $1 })
            case 8 where index == 17:
                columns.append([Double](repeating: 0, count: rows))
            case 8 where index == 26 && nearlyDependent:
                // 1e-9 away from a column kept before it: kept by R's 1e-11.
                let base = columns[index - 1]
                columns.append(base.enumerated().map { $0.element + ($0.offset == 0 ? 1e-9 : 0) })
            default:
                columns.append((0..<rows).map { _ in Double.random(in: -1...1, using: &generator) })
            }
        }
        let y = (0..<rows).map { _ in Double.random(in: -2...2, using: &generator) }
        return (columns, y)
    }

    /// R's rule the plain way, independent of the one-pass QR: QR of the columns not yet
    /// aliased, the first column below the tolerance aliased, and again.
    static func repeatedQR(
        x: [[Double]], rows: Int, roots: [Double], y: [Double], tolerance: Double
    ) throws -> (kept: [Int], coefficients: [Double], diagonal: [Double]) {
        var kept = Array(x.indices)
        while true {
            var a = kept.flatMap { column in zip(x[column], roots).map { $0 * $1 } }
            let norms = kept.map { column in zip(x[column], roots).reduce(0) { $0 + ($1.0 * $1.1) * ($1.0 * $1.1) }.squareRoot() }
            let tau = try LinearAlgebra.householderQR(&a, rows: rows, columns: kept.count)
            let checked = min(rows, kept.count)
            if let first = (0..<checked).first(where: { !(abs(a[$0 + $0 * rows]) >= (norms[$0] == 0 ? 1 : norms[$0]) * tolerance) }) {
                kept.remove(at: first)
                continue
            }
            let rank = checked
            var rhs = zip(y, roots).map { $0 * $1 }
            try LinearAlgebra.applyQTranspose(factor: a, tau: tau, rows: rows, vector: &rhs)
            var r = [Double](repeating: 0, count: rank * rank)
            for j in 0..<rank { for i in 0...j { r[i + j * rank] = a[i + j * rows] } }
            var solution = Array(rhs[..<rank])
            try LinearAlgebra.solveUpperTriangular(r, order: rank, rightHandSide: &solution)
            var coefficients = [Double](repeating: 0, count: x.count)
            for j in 0..<rank { coefficients[kept[j]] = solution[j] }
            return (Array(kept[..<rank]), coefficients, (0..<rank).map { abs(r[$0 + $0 * rank]) })
        }
    }

    static func weightedMatrix(_ x: [[Double]], _ y: [Double], roots: [Double]) -> [Double] {
        (x + [y]).flatMap { column in zip(column, roots).map { $0 * $1 } }
    }

    @Test(arguments: [(rows: 200, seed: UInt64(1)), (rows: 60, seed: UInt64(2)), (rows: 1000, seed: UInt64(3))])
    func equalsQRRepeatedWithoutEachAliasedColumn(_ setting: (rows: Int, seed: UInt64)) throws {
        let (x, y) = Self.dependentDesign(rows: setting.rows, seed: setting.seed)
        var generator = SplitMix64(seed: setting.seed + 10)
        let roots = (0..<setting.rows).map { _ in Double.random(in: 0.2...3, using: &generator) }
        let reference = try Self.repeatedQR(x: x, rows: setting.rows, roots: roots, y: y, tolerance: 1e-11)
        var matrix = Self.weightedMatrix(x, y, roots: roots)
        let inOrder = try LinearAlgebra.inOrderLeastSquares(&matrix, rows: setting.rows, columns: x.count, tolerance: 1e-11)
        #expect(inOrder.rank == reference.kept.count)
        #expect(inOrder.rank < x.count)
        #expect(Array(inOrder.pivot.prefix(inOrder.rank)) == reference.kept)
        #expect(Set(inOrder.pivot) == Set(0..<x.count))
        for (a, b) in zip(inOrder.coefficients, reference.coefficients) {
            #expect(abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1), "\(a) vs \(b)")
        }
        let rank = inOrder.rank
        for j in 0..<rank {
            let (a, b) = (abs(inOrder.rFactor[j + j * rank]), reference.diagonal[j])
            #expect(abs(a - b) <= 1e-9 * max(a, b), "R[\(j), \(j)]: \(a) vs \(b)")
        }
        // glm's least squares (the same QR) orders the pivot as LINPACK leaves it: with fewer
        // rows than columns, the untested columns after the kept ones, then the aliased.
        let glm = try LinearAlgebra.weightedLeastSquares(
            x: Array(x.joined()), rowCount: setting.rows, columnCount: x.count, rows: Array(0..<setting.rows),
            sqrtWeights: roots, response: y, tolerance: 1e-11)
        #expect(Array(glm.pivot.prefix(glm.rank)) == reference.kept)
        if setting.rows < x.count {
            let lastKept = reference.kept.last ?? 0
            #expect(Array(glm.pivot[glm.rank...]) == Array(x.indices.filter { !reference.kept.contains($0) && $0 > lastKept })
                + x.indices.filter { !reference.kept.contains($0) && $0 < lastKept })
        }
    }

    @Test func aColumnNearlyInTheSpanOfTheOthersIsDecidedAsByQR() throws {
        let rows = 400
        let (x, y) = Self.dependentDesign(rows: rows, seed: 4, nearlyDependent: true)
        let roots = [Double](repeating: 1, count: rows)
        let reference = try Self.repeatedQR(x: x, rows: rows, roots: roots, y: y, tolerance: 1e-11)
        var matrix = Self.weightedMatrix(x, y, roots: roots)
        let inOrder = try LinearAlgebra.inOrderLeastSquares(&matrix, rows: rows, columns: x.count, tolerance: 1e-11)
        #expect(Array(inOrder.pivot.prefix(inOrder.rank)) == reference.kept)
        #expect(inOrder.pivot.prefix(inOrder.rank).contains(26), "the column 1e-9 away is kept")
        // Above the tolerance, the same column is aliased.
        var coarse = Self.weightedMatrix(x, y, roots: roots)
        let aliased = try LinearAlgebra.inOrderLeastSquares(&coarse, rows: rows, columns: x.count, tolerance: 1e-7)
        #expect(aliased.pivot.suffix(x.count - aliased.rank).contains(26))
        #expect(aliased.rank == inOrder.rank - 1)
    }

    @Test func aZeroAndAnEmptyMatrixHaveRankZero() throws {
        var zeros = [Double](repeating: 0, count: 5 * 3)
        let none = try LinearAlgebra.inOrderLeastSquares(&zeros, rows: 5, columns: 2, tolerance: 1e-11)
        #expect(none.rank == 0 && none.pivot == [0, 1] && none.coefficients == [0, 0])
        var empty: [Double] = []
        let noRows = try LinearAlgebra.inOrderLeastSquares(&empty, rows: 0, columns: 2, tolerance: 1e-11)
        #expect(noRows.rank == 0 && noRows.pivot == [0, 1])
        var wrong = [Double](repeating: 1, count: 7)
        #expect(throws: GLMError.self) { try LinearAlgebra.inOrderLeastSquares(&wrong, rows: 5, columns: 2, tolerance: 1e-11) }
    }

    /// Each row of X is Σ over slots of the row's value × the cell's pattern; rows with equal
    /// codes share a cell; numbers equal on every row (the intercept) are not slots, and a
    /// number used by several terms (Time, Diet:Time, Chick:Time) is one.
    @Test(arguments: [
        ("Examples/epil.csv", "y ~ trt * factor(period) + V4", 2, 8),
        ("Examples/epil.csv", "y ~ factor(subject) + C(factor(period), sum) * trt + C(factor(period), sum):lage", 2, 236),
        ("Examples/chickweight.csv", "weight ~ Time + factor(Diet):Time + factor(Chick):Time", 2, 50),
    ])
    func cellsRebuildEveryRow(_ setting: (data: String, formula: String, slots: Int, cells: Int)) throws {
        let table = try loadExample(setting.data)
        let frame = try ModelFrame(table: table, formula: try Formula.parse(setting.formula))
        let design = try Design(frame: frame, layout: .structured)
        #expect(design.isStructured)
        let cells = try #require(DesignCells(design.structure, rowCount: design.rowCount, maximumBytes: 1 << 30))
        #expect(cells.slotCount == setting.slots)
        #expect(cells.cellCount == setting.cells)
        let columns = try design.denseColumns()
        for row in 0..<design.rowCount {
            let cell = Int(cells.cellOfRow[row])
            #expect(cells.cellRows[cells.cellRowStarts[cell]..<cells.cellRowStarts[cell + 1]].contains(Int32(row)))
            var values = [Double](repeating: 0, count: design.columnCount)
            for slot in 0..<cells.slotCount {
                let index = cell * cells.slotCount + slot
                for entry in cells.patternStarts[index]..<cells.patternStarts[index + 1] {
                    values[Int(cells.patternColumns[entry])] += cells.value(slot: slot, row: row) * cells.patternValues[entry]
                }
            }
            for column in 0..<design.columnCount {
                #expect(abs(values[column] - columns[column][row]) <= 1e-12 * max(1, abs(columns[column][row])),
                        "row \(row), \(design.columnNames[column])")
            }
        }
        let bytesPerCell = setting.slots * (design.columnCount + 1) * 8
        #expect(DesignCells(design.structure, rowCount: design.rowCount, maximumBytes: bytesPerCell * (setting.cells - 1)) == nil)
    }

    /// One weighted least-squares step on the cells equals QR on X's rows (random weights,
    /// some zero; random responses), however a cell's rows are batched.
    @Test(arguments: [
        ("Examples/epil.csv", "y ~ trt * factor(period) + V4 + factor(subject)"),
        ("Examples/epil.csv", "y ~ factor(subject) + C(factor(period), sum) * trt + C(factor(period), sum):lage"),
        ("Examples/chickweight.csv", "weight ~ Time + factor(Diet):Time + factor(Chick):Time"),
        ("Examples/dietox.csv", "Feed ~ Time + I(Time^2) + factor(Litter) + factor(Pig)"),
    ])
    func stepOnCellsEqualsQROnRows(_ setting: (data: String, formula: String)) throws {
        let frame = try ModelFrame(table: try loadExample(setting.data), formula: try Formula.parse(setting.formula))
        let design = try Design(frame: frame, layout: .structured)
        let rowCount = design.rowCount
        var generator = SplitMix64(seed: 7)
        var weights = (0..<rowCount).map { _ in Double.random(in: 0.1...4, using: &generator) }
        for row in stride(from: 0, to: rowCount, by: 11) { weights[row] = 0 }
        let response = (0..<rowCount).map { _ in Double.random(in: -3...3, using: &generator) }
        let used = (0..<rowCount).filter { weights[$0] > 0 }
        let reference = try LinearAlgebra.weightedLeastSquares(
            x: Array(try design.denseColumns().joined()), rowCount: rowCount, columnCount: design.columnCount, rows: used,
            sqrtWeights: used.map { weights[$0].squareRoot() }, response: used.map { response[$0] }, tolerance: 1e-11)
        let cells = try #require(DesignCells(design.structure, rowCount: rowCount, maximumBytes: 1 << 30))
        // A cell's rows taken all at once, and three at a time (stacked under the R so far).
        for batchRows in [DesignCells.batchRows, 3] {
            let step = try weights.withUnsafeMutableBufferPointer { buffer in
                try cells.leastSquares(workingWeights: buffer, workingResponse: { response[$0] }, tolerance: 1e-11, batchRows: batchRows)
            }
            #expect(step.rank == reference.rank)
            #expect(step.rank < design.columnCount)
            #expect(Array(step.pivot.prefix(step.rank)) == Array(reference.pivot.prefix(reference.rank)))
            for (a, b) in zip(step.coefficients, reference.coefficients) {
                #expect(abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1), "\(a) vs \(b), batches of \(batchRows)")
            }
        }
    }

    /// The aliased designs of the fits by blocks, each near-singular step by QR on the design's
    /// cells: the same aliased columns and numbers as glm's QR on X.
    @Test(arguments: [
        StructuredDesignTests.cases[3], StructuredDesignTests.cases[4],
        StructuredDesignTests.Case(
            data: "Examples/epil.csv", formula: "y ~ trt * factor(period) + V4 + factor(subject)", family: .poisson, link: .log),
        StructuredDesignTests.Case(
            data: "Examples/chickweight.csv", formula: "weight ~ Time + factor(Diet):Time + factor(Chick):Time", family: .poisson,
            link: .log),
        StructuredDesignTests.Case(
            data: "Examples/epil.csv", formula: "y ~ factor(subject) + C(factor(period), sum) * trt + C(factor(period), sum):lage",
            family: .poisson, link: .log),
    ])
    func nearSingularStepsOnCellsEqualQROnX(_ test: StructuredDesignTests.Case) throws {
        var control = FitControl()
        control.nearSingularQROnCells = true
        let (dense, blocks) = try StructuredDesignTests.fits(test, control: control)
        // QR decided; what follows works on the factor by blocks of the columns it kept.
        #expect(blocks.irls.solution?.blockFactor != nil)
        #expect(dense.aliased == blocks.aliased)
        #expect(dense.rank == blocks.rank)
        StructuredDesignTests.close(dense.deviance, blocks.deviance, 1e-10, "deviance")
        let denseSummary = try GLMSummary(fit: dense)
        let blocksSummary = try GLMSummary(fit: blocks)
        for (a, b) in zip(denseSummary.coefficients, blocksSummary.coefficients) {
            StructuredDesignTests.close(a.estimate, b.estimate, 1e-8, a.term)
            StructuredDesignTests.close(a.standardError, b.standardError, 1e-8, a.term)
        }
    }
}
