import Foundation
import Testing
@testable import GLMCore

/// A model file's `vcov_factor` (a fit solved as sparse, beyond `GLMSummary.covarianceLimit`
/// coefficients): predictions from it against the fit's own covariance entries, and the
/// reader's checks of hostile files.
@Suite("glmfit predict from a covariance stored as a sparse factor")
struct SparsePredictionTests {
    /// 5,000 workers with 3 rows each at one or two of 10,000 firms (some 5,000 seen: the
    /// columns besides either factor are more than `BlockLayout.denseRestLimit`), and 200
    /// new rows.
    static let data: (train: String, new: String) = {
        var random = SplitMix64(seed: 31)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        var train = "y,k,x,worker,firm\n"
        var pairs: [(Int, Int)] = []
        for worker in 0..<5_000 {
            var firm = Int(random.next() % 10_000)
            let effect = uniform() - 0.5
            for period in 0..<3 {
                if period == 2, uniform() < 0.4 { firm = (firm + 1 + Int(random.next() % 30)) % 10_000 }
                let x = (uniform() * 1000).rounded() / 500
                let y = 1 + 0.5 * x + effect + Double(firm % 5) / 10 + uniform() - 0.5
                // At least 1: no worker's counts are all 0, whose coefficient would run off
                // to −∞ (the standard errors of such rows hold to fewer digits).
                let k = 1 + Int((exp(0.2 + 0.3 * x + effect) * 2 * uniform()).rounded(.down))
                train += "\(y),\(k),\(x),w\(worker),f\(firm)\n"
                pairs.append((worker, firm))
            }
        }
        var new = "x,worker,firm\n"
        for index in 0..<200 {
            // Pairs seen in the data and pairs never seen together (off the factor's pattern).
            let (worker, firm) = index % 2 == 0 ? pairs[Int(random.next() % UInt64(pairs.count))]
                : (Int(random.next() % 5_000), pairs[Int(random.next() % UInt64(pairs.count))].1)
            new += "\(uniform() * 2),w\(worker),f\(firm)\n"
        }
        return (train, new)
    }()

    static func saved(_ formula: String, family: String, directory: ScratchDirectory) throws -> (ModelReport, SavedModel) {
        let path = try directory.write("train.csv", data.train)
        var request = FitRequest(path: path, formula: formula, family: family)
        request.collation = .bytes
        let report = try Pipeline.fit(request)
        let text = try SavedModel(report: report).jsonText()
        return (report, try SavedModel(jsonBytes: Array(text.utf8), path: "model.json"))
    }

    /// Predictions from the saved factor against xᵀVx from the fit's own covariance entries
    /// (`SparseCovariance.entry`: the selected inverse, or a solve off its pattern). The
    /// matrix itself (`--full-covariance`) would be some 10,000² numbers of JSON.
    @Test(arguments: [("y ~ x + worker + firm", "gaussian"), ("k ~ worker + x + firm", "poisson")])
    func factorPredictsAsTheCovarianceEntries(_ setting: (formula: String, family: String)) throws {
        let directory = try ScratchDirectory()
        let (report, model) = try Self.saved(setting.formula, family: setting.family, directory: directory)
        let stored = try #require(model.vcovFactor)
        let covariance = try #require(report.summary.sparseCovariance)
        #expect(model.vcov.isEmpty)
        #expect(model.vcovBlocks == nil)
        let p = model.vcovNames.count
        #expect(p > 4_000 + GLMSummary.covarianceLimit)
        // The factor's entries, not p².
        #expect(stored.lower.reduce(0) { $0 + $1.values.count } * 20 < p * p)

        let names = report.summary.fit.coefficientNames
        var column: [String: Int] = [:]
        for (index, name) in names.enumerated() { column[name] = index }
        let newRows = Self.data.new.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        let newPath = try directory.write("new.csv", Self.data.new)
        let options = PredictionOptions(scale: .link, standardErrors: true, confidenceInterval: false)
        let predictions = try PredictPipeline.predictions(model: model, path: newPath, options: options)
        let standardErrors = try #require(predictions.standardErrors)
        #expect(predictions.count == 200)
        let dispersion = report.summary.dispersion
        for (row, fields) in newRows.enumerated() {
            let x = try #require(Double(fields[0]))
            // The row's entries: intercept, x, its worker's and its firm's columns (none for a
            // reference level, 0 for an aliased one).
            var entries: [(Int, Double)] = [(0, 1), (try #require(column["x"]), x)]
            if let worker = column["worker" + fields[1]] { entries.append((worker, 1)) }
            if let firm = column["firm" + fields[2]] { entries.append((firm, 1)) }
            var quadratic = 0.0, eta = 0.0
            for (i, a) in entries {
                guard !report.summary.fit.aliased[i] else { continue }
                eta += a * report.summary.fit.coefficients[i]
                for (j, b) in entries where !report.summary.fit.aliased[j] { quadratic += a * covariance.entry(i, j) * b }
            }
            expectClose(predictions.fit[row], eta, relative: 1e-12, "\(setting.formula) fit[\(row)]")
            expectClose(standardErrors[row], (dispersion * quadratic).squareRoot(), relative: 1e-9, "\(setting.formula) se[\(row)]")
            #expect(standardErrors[row] > 0)
        }
    }

    /// A model file whose factor is damaged: each is refused with a message naming it.
    @Test func hostileFactorsAreRefused() throws {
        let directory = try ScratchDirectory()
        let (_, model) = try Self.saved("y ~ x + worker + firm", family: "gaussian", directory: directory)
        let factor = try #require(model.vcovFactor)
        let firstWithRows = try #require(factor.lower.firstIndex { !$0.rows.isEmpty })
        var aboveDiagonal = factor
        aboveDiagonal.lower[firstWithRows].rows[0] = firstWithRows
        var negativePivot = factor
        negativePivot.pivots[3] = -1
        var missingColumn = factor
        missingColumn.columns.removeLast()
        missingColumn.pivots.removeLast()
        missingColumn.lower.removeLast()
        var outOfRange = factor
        outOfRange.lower[firstWithRows].rows[outOfRange.lower[firstWithRows].rows.count - 1] = factor.columns.count
        for (damaged, message) in [
            (aboveDiagonal, "above the diagonal"), (negativePivot, "is not a positive finite number"),
            (missingColumn, "not over the non-aliased coefficients"), (outOfRange, "vcov_factor lower"),
        ] {
            var copy = model
            copy.vcovFactor = damaged
            let text = copy.jsonText()
            #expect {
                _ = try SavedModel(jsonBytes: Array(text.utf8), path: "model.json")
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }

    /// A model file without its covariance, or with a dispersion or rank that cannot be the
    /// fit's: refused with a message saying which.
    @Test func inconsistentModelFilesAreRefused() throws {
        let directory = try ScratchDirectory()
        let (_, model) = try Self.saved("y ~ x + worker + firm", family: "gaussian", directory: directory)
        var negativeDispersion = model
        negativeDispersion.dispersion = -2
        var wrongRank = model
        wrongRank.rank += 1
        var document = try #require(
            try JSONSerialization.jsonObject(with: Data(model.jsonText().utf8)) as? [String: Any])
        document["vcov_factor"] = nil
        let noCovariance = try #require(String(data: try JSONSerialization.data(withJSONObject: document), encoding: .utf8))
        for (text, message) in [
            (noCovariance, "it has no covariance ('vcov', 'vcov_blocks' or 'vcov_factor')"),
            (negativeDispersion.jsonText(), "the dispersion is not a finite number of at least 0"),
            (wrongRank.jsonText(), "is not its number of non-aliased coefficients"),
        ] {
            #expect {
                _ = try SavedModel(jsonBytes: Array(text.utf8), path: "model.json")
            } throws: { error in
                "\(error)".contains(message)
            }
        }
        // The undamaged model reads back.
        _ = try SavedModel(jsonBytes: Array(model.jsonText().utf8), path: "model.json")
    }
}
