import Foundation
import Testing
@testable import GLMCore

/// A model file's `vcov_blocks` (a fit by blocks beyond `GLMSummary.covarianceLimit`
/// coefficients): predictions from it against the same fit saved with its dense matrix
/// (`--full-covariance`), and the reader's checks of hostile files.
@Suite("glmfit predict from a covariance stored by blocks")
struct BlockPredictionTests {
    /// 1,050 levels of `g`, 6 rows each, with a 3-level factor `h`, numbers `x` and `x2 = 2x`,
    /// a gaussian response `y` and a count `k`; and 300 new rows.
    static let data: (train: String, new: String) = {
        var random = SplitMix64(seed: 25)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        let levels = (1...1_050).map { String(format: "g%04d", $0) }
        let effects = levels.map { _ in uniform() - 0.5 }
        var train = "y,k,g,h,x,x2\n"
        for (index, level) in levels.enumerated() {
            for _ in 0..<6 {
                let h = ["a", "b", "c"][Int(random.next() % 3)]
                let x = (uniform() * 4).rounded(.down) / 4 + 0.25
                let y = 1 + effects[index] + 0.5 * x + (h == "b" ? 0.3 * x : 0) + uniform() - 0.5
                let k = Int((2 * x + uniform() * 4).rounded(.down))
                train += "\(y),\(k),\(level),\(h),\(x),\(2 * x)\n"
            }
        }
        var new = "g,h,x,x2\n"
        for _ in 0..<300 {
            let x = uniform() * 2
            new += "\(levels[Int(random.next() % 1_050)]),\(["a", "b", "c"][Int(random.next() % 3)]),\(x),\(2 * x)\n"
        }
        return (train, new)
    }()

    struct Case: Sendable {
        let formula: String
        let family: String
    }

    static let cases = [
        // Columns before and after the eliminated term, and an interaction. (An aliased column
        // sends a fit of this size to QR, whose file has the dense matrix.)
        Case(formula: "y ~ h * x + g", family: "gaussian"),
        // The eliminated term is g times a number (no main effect: every level's slope).
        Case(formula: "k ~ g:x + h", family: "poisson"),
    ]

    static func saved(_ formula: String, family: String, fullCovariance: Bool, directory: ScratchDirectory) throws -> SavedModel {
        let path = try directory.write("train.csv", data.train)
        var request = FitRequest(path: path, formula: formula, family: family)
        request.collation = .bytes
        request.fullCovariance = fullCovariance
        let text = try SavedModel(report: try Pipeline.fit(request)).jsonText()
        return try SavedModel(jsonBytes: Array(text.utf8), path: "model.json")
    }

    @Test(arguments: cases)
    func blocksPredictAsTheDenseMatrix(_ testCase: Case) throws {
        let directory = try ScratchDirectory()
        let blocks = try Self.saved(testCase.formula, family: testCase.family, fullCovariance: false, directory: directory)
        let dense = try Self.saved(testCase.formula, family: testCase.family, fullCovariance: true, directory: directory)
        let stored = try #require(blocks.vcovBlocks)
        #expect(blocks.vcov.isEmpty)
        #expect(dense.vcovBlocks == nil)
        #expect(dense.vcov.count == blocks.vcovNames.count)
        #expect(blocks.vcovNames.count > GLMSummary.covarianceLimit)
        #expect(stored.eliminated.count >= 1_000)
        // Far fewer numbers than the matrix: no p² member.
        let p = blocks.vcovNames.count
        let blockNumbers = stored.variances.count + stored.others.count * (stored.others.count + 1) / 2
            + stored.cross.reduce(0) { $0 + $1.values.count }
        #expect(blockNumbers * 20 < p * p)
        #expect(blocks.jsonText().utf8.count * 10 < dense.jsonText().utf8.count)

        let newPath = try directory.write("new.csv", Self.data.new)
        for scale in [PredictionScale.link, .response] {
            let options = PredictionOptions(scale: scale, standardErrors: true, confidenceInterval: true)
            let fromBlocks = try PredictPipeline.predictions(model: blocks, path: newPath, options: options)
            let fromDense = try PredictPipeline.predictions(model: dense, path: newPath, options: options)
            #expect(fromBlocks.count == 300)
            let blockSE = try #require(fromBlocks.standardErrors)
            let denseSE = try #require(fromDense.standardErrors)
            for row in 0..<fromBlocks.count {
                expectClose(fromBlocks.fit[row], fromDense.fit[row], relative: 1e-10, "\(testCase.formula) \(scale) fit[\(row)]")
                expectClose(blockSE[row], denseSE[row], relative: 1e-10, "\(testCase.formula) \(scale) se[\(row)]")
                #expect(blockSE[row] > 0)
            }
        }
    }

    /// A new row of a model with a sum-coded factor holds its level's non-zero contrast values
    /// only (one entry for every level but the last), not one entry per column of the factor;
    /// the predictions are those of the saved dense matrix.
    @Test func contrastCodedRowsHoldTheirNonZerosOnly() throws {
        let directory = try ScratchDirectory()
        let formula = "y ~ x + C(g, sum)"
        let model = try Self.saved(formula, family: "gaussian", fullCovariance: true, directory: directory)
        let newPath = try directory.write("new.csv", Self.data.new)
        let design = try NewDataDesign(model: model)
        let fd = open(newPath, O_RDONLY | O_CLOEXEC)
        #expect(fd >= 0)
        defer { close(fd) }
        let stream = CSVRecordStream(fd: fd, source: newPath)
        let header = try stream.readHeader()
        let typer = try NewDataTyper(design: design, header: header.names, source: newPath)
        let batch = try #require(try stream.nextBatch(columns: typer.indices))
        let (table, failure) = typer.table(from: batch)
        #expect(failure == nil)
        let rows = try design.rows(table, passMissing: false)
        let entries = try #require(rows.entries)
        guard case let .categorical(g)? = table.column(named: "g") else {
            Issue.record("g is not read as a factor")
            return
        }
        for row in 0..<rows.count {
            let isLast = g.levels[Int(g.codes[row])] == "g1050"
            // The intercept, x and the level's own column; the last level is −1 in every column.
            #expect(entries.range(ofRow: row).count == (isLast ? 2 + 1_049 : 3), "row \(row)")
        }
        let options = PredictionOptions(scale: .link, standardErrors: true, confidenceInterval: false)
        let predictions = try PredictPipeline.predictions(model: model, path: newPath, options: options)
        let standardErrors = try #require(predictions.standardErrors)
        // xᵀVx over all of the factor's columns (the zeros included), for comparison.
        let p = model.vcov.count
        guard case let .numeric(x)? = table.column(named: "x") else {
            Issue.record("x is not read as numbers")
            return
        }
        for row in 0..<min(rows.count, 40) {
            var dense = [Double](repeating: 0, count: p)
            dense[0] = 1
            dense[1] = x[row]
            let level = Int(g.codes[row])
            for column in 0..<1_049 { dense[2 + column] = level == 1_049 ? -1 : (column == level ? 1 : 0) }
            var quadratic = 0.0
            for i in 0..<p { for j in 0..<p { quadratic += dense[i] * model.vcov[i][j] * dense[j] } }
            expectClose(standardErrors[row], quadratic.squareRoot(), relative: 1e-10, "se[\(row)]")
        }
    }

    /// The blocks' quadratic form is the dense xᵀVx: V's entries from the blocks, for rows
    /// made of one level of the eliminated term and some other columns.
    @Test func quadraticFormMatchesTheMatrixEntries() throws {
        let directory = try ScratchDirectory()
        let blocks = try Self.saved("y ~ h * x + g", family: "gaussian", fullCovariance: false, directory: directory)
        let dense = try Self.saved("y ~ h * x + g", family: "gaussian", fullCovariance: true, directory: directory)
        let stored = try #require(blocks.vcovBlocks)
        let names = blocks.vcovNames
        let form = BlockQuadraticForm(stored, keptNames: names)
        var scratch = SparseAccumulator(count: form.otherCount)
        var random = SplitMix64(seed: 7)
        for _ in 0..<50 {
            var chosen = Set<Int>()
            for _ in 0..<4 { chosen.insert(Int(random.next() % UInt64(names.count))) }
            let positions = chosen.sorted()
            let values = positions.map { _ in Double(Int(random.next() % 7)) - 3 }
            var expected = 0.0
            for (a, i) in positions.enumerated() {
                for (b, j) in positions.enumerated() { expected += values[a] * dense.vcov[i][j] * values[b] }
            }
            let actual = form.value(positions: positions[...], values: values[...], scratch: &scratch)
            expectClose(actual, expected, relative: 1e-10, absolute: 1e-15, "xᵀVx over \(positions.map { names[$0] })")
        }
    }

    @Test func hostileBlocksAreRefused() throws {
        let directory = try ScratchDirectory()
        let model = try Self.saved("y ~ h * x + g", family: "gaussian", fullCovariance: false, directory: directory)
        let stored = try #require(model.vcovBlocks)
        let first = stored.eliminated[0]
        let q = stored.others.count
        let cases: [(String, String, (inout [(String, JSONText)]) -> Void)] = [
            ("truncated variances", "have \(stored.eliminated.count - 1) variances for \(stored.eliminated.count) eliminated columns", {
                replace(&$0, "variances") { mapArray($0) { Array($0.dropLast()) } }
            }),
            ("truncated cross", "cross has \(stored.eliminated.count - 1) rows", {
                replace(&$0, "cross") { mapArray($0) { Array($0.dropLast()) } }
            }),
            ("a short row of S⁻¹", "others_vcov row 1 ('\(stored.others[0])') has \(q - 1) numbers, not \(q)", {
                replace(&$0, "others_vcov") { mapArray($0) { rows in [mapArray(rows[0]) { Array($0.dropLast()) }] + rows.dropFirst() } }
            }),
            ("a missing row of S⁻¹", "others_vcov has \(q - 1) rows for \(q) columns", {
                replace(&$0, "others_vcov") { mapArray($0) { Array($0.dropLast()) } }
            }),
            ("a NaN variance", "variance of '\(first)' is not a finite number", {
                replace(&$0, "variances") { mapArray($0) { [.null] + $0.dropFirst() } }
            }),
            ("a negative variance", "negative variance for '\(first)' (-1", {
                replace(&$0, "variances") { mapArray($0) { [.number(-1)] + $0.dropFirst() } }
            }),
            ("a negative variance in S⁻¹", "negative variance for '\(stored.others[0])' (-2", {
                replace(&$0, "others_vcov") { mapArray($0) { rows in [mapArray(rows[0]) { [.number(-2)] + $0.dropFirst() }] + rows.dropFirst() } }
            }),
            ("an infinite entry of S⁻¹", "others_vcov entry ('\(stored.others[0])', '\(stored.others[1])') is not a finite number", {
                replace(&$0, "others_vcov") { mapArray($0) { rows in [mapArray(rows[0]) { [$0[0], .null] + $0.dropFirst(2) }] + rows.dropFirst() } }
            }),
            ("a duplicate column", "list the column '\(first)' twice", {
                replace(&$0, "eliminated") { mapArray($0) { [$0[0], $0[0]] + $0.dropFirst(2) } }
            }),
            ("a missing column", "are not over the non-aliased coefficients", {
                replace(&$0, "others") { mapArray($0) { Array($0.dropLast()) } }
            }),
            ("another term", "eliminated column '\(first)' is not a column of the term 'h'", {
                replace(&$0, "term") { _ in .string("h") }
            }),
            ("a repeated index in A", "cross of '\(first)' lists its columns out of order or twice", {
                replace(&$0, "cross") { mapFirstObject($0) { row in
                    replace(&row, "others") { _ in .array([.number(0), .number(0)]) }
                    replace(&row, "values") { _ in .array([.number(1), .number(1)]) }
                } }
            }),
            ("an index of A out of range", "cross of '\(first)' refers to an index out of range", {
                replace(&$0, "cross") { mapFirstObject($0) { row in
                    replace(&row, "others") { _ in .array([.number(Double(q))]) }
                    replace(&row, "values") { _ in .array([.number(1)]) }
                } }
            }),
            ("sizes of A that differ", "cross of '\(first)' has 1 indices but 2 values", {
                replace(&$0, "cross") { mapFirstObject($0) { row in
                    replace(&row, "others") { _ in .array([.number(0)]) }
                    replace(&row, "values") { _ in .array([.number(1), .number(2)]) }
                } }
            }),
            ("a NaN in A", "cross entry ('\(first)', '\(stored.others[0])') is not a finite number", {
                replace(&$0, "cross") { mapFirstObject($0) { row in
                    replace(&row, "others") { _ in .array([.number(0)]) }
                    replace(&row, "values") { _ in .array([.null]) }
                } }
            }),
        ]
        for (what, message, edit) in cases {
            let path = try directory.write("hostile.json", edited(model, edit))
            do {
                _ = try SavedModel.load(path: path)
                Issue.record("\(what): expected an error")
            } catch let error as GLMError {
                guard case let .invalidModelFile(errorPath, reason) = error else { Issue.record("\(what): \(error)"); continue }
                #expect(errorPath == path)
                #expect(reason.contains(message), "\(what): \(reason)")
                #expect(error.exitStatus == 65)
            }
        }
        // Both forms at once is not a file glmfit writes.
        guard case var .object(members) = model.json else { return }
        members.append(("vcov", .object([("terms", .array([])), ("matrix", .array([]))])))
        let both = try directory.write("both.json", JSONText.object(members).rendered())
        #expect(throws: GLMError.invalidModelFile(path: both, reason: "it has both 'vcov' and 'vcov_blocks'")) {
            _ = try SavedModel.load(path: both)
        }
    }

    @Test func filesOfTheFirstLayoutAreStillRead() throws {
        let text = Models.budworm.jsonText()
            .replacingOccurrences(of: "\"format_version\": \(SavedModel.formatVersion)", with: "\"format_version\": 1")
        #expect(text.contains("\"format_version\": 1,"))
        #expect(try SavedModel(jsonBytes: Array(text.utf8), path: "old.json") == Models.budworm)
    }

    @Test func blocksSurviveARoundTrip() throws {
        let directory = try ScratchDirectory()
        let model = try Self.saved("k ~ g:x + h", family: "poisson", fullCovariance: false, directory: directory)
        let again = try SavedModel(jsonBytes: Array(model.jsonText().utf8), path: "again.json")
        #expect(again == model)
        #expect(model.jsonText().contains("\"format_version\": \(SavedModel.formatVersion)"))
    }
}

// MARK: Hostile files

/// The model file with its `vcov_blocks` member changed by `edit`.
private func edited(_ model: SavedModel, _ edit: (inout [(String, JSONText)]) -> Void) -> String {
    guard case var .object(members) = model.json,
          let index = members.firstIndex(where: { $0.0 == "vcov_blocks" }),
          case var .object(blocks) = members[index].1 else { return model.jsonText() }
    edit(&blocks)
    members[index].1 = .object(blocks)
    return JSONText.object(members).rendered()
}

private func replace(_ members: inout [(String, JSONText)], _ key: String, _ transform: (JSONText) -> JSONText) {
    guard let index = members.firstIndex(where: { $0.0 == key }) else { return }
    members[index].1 = transform(members[index].1)
}

private func mapArray(_ value: JSONText, _ transform: ([JSONText]) -> [JSONText]) -> JSONText {
    guard case let .array(items) = value else { return value }
    return .array(transform(items))
}

private func mapFirstObject(_ value: JSONText, _ transform: (inout [(String, JSONText)]) -> Void) -> JSONText {
    mapArray(value) { items in
        guard case var .object(members)? = items.first else { return items }
        transform(&members)
        return [.object(members)] + items.dropFirst()
    }
}
