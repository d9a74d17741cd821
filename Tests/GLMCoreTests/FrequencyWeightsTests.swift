import Foundation
import Testing
@testable import GLMCore

/// `--frequency-weights` at the library level: MASS's housing table (72 covariate patterns
/// with their counts, Freq, of 1681 householders) fitted with its counts gives the fit of
/// the 1681 rows, for each family, in memory and in chunks; and the checks of the counts.
@Suite("Frequency weights: an aggregated table fits as its rows")
struct FrequencyWeightsTests {
    /// housing.csv with each row written Freq times (Freq kept, unused), made once.
    static let expandedHousing: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-housing-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("housing_rows.csv").path
        let text = (try? String(contentsOfFile: Repository.path("Examples/housing.csv"), encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n")
        var rows = [String(lines.first ?? "")]
        for line in lines.dropFirst() {
            let count = line.split(separator: ",").last.flatMap { Int($0) } ?? 0
            rows += Array(repeating: String(line), count: count)
        }
        try? rows.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    struct Model: Sendable, CustomTestStringConvertible {
        let formula: String
        let family: String
        var link: String? = nil
        var testDescription: String { "\(family) \(formula)" }
    }

    static let models: [Model] = [
        Model(formula: "satisfaction ~ Infl + Type + Cont", family: "gaussian"),
        Model(formula: "I(satisfaction == 3) ~ Infl + Type + Cont", family: "binomial"),
        Model(formula: "I(satisfaction > 1) ~ Infl * Cont + Type", family: "binomial", link: "cloglog"),
        Model(formula: "satisfaction ~ Infl + Type + Cont", family: "poisson"),
        Model(formula: "satisfaction ~ Infl + Type + Cont", family: "gamma"),
        Model(formula: "satisfaction ~ Infl + Type + Cont", family: "inverse-gaussian"),
    ]

    static func request(_ model: Model, path: String, counts: String?, chunkRows: Int? = nil) -> FitRequest {
        var request = FitRequest(path: path, formula: model.formula, family: model.family, link: model.link)
        request.frequencyWeightsColumn = counts
        request.chunkRows = chunkRows
        request.collation = .bytes
        return request
    }

    /// Every figure of the summary, the aggregated fit against the rows' fit.
    static func expectSame(_ aggregated: ModelReport, _ rows: ModelReport, _ id: String, relative: Double) {
        let a = aggregated.summary, r = rows.summary
        #expect(a.fit.coefficientNames == r.fit.coefficientNames, "\(id)")
        for (x, y) in zip(a.coefficients, r.coefficients) {
            expectClose(x.estimate, y.estimate, relative: relative, absolute: 1e-12, "\(id) \(x.term)")
            expectClose(x.standardError, y.standardError, relative: relative, "\(id) \(x.term) se")
            expectClose(x.statistic, y.statistic, relative: relative, absolute: 1e-12, "\(id) \(x.term) statistic")
            expectClose(x.pValue, y.pValue, relative: relative, absolute: 1e-15, "\(id) \(x.term) p")
        }
        #expect(a.fit.dfResidual == r.fit.dfResidual, "\(id) df residual")
        #expect(a.fit.dfNull == r.fit.dfNull, "\(id) df null")
        #expect(a.fit.observationCount == r.fit.observationCount, "\(id) n")
        #expect(a.fit.representedRowCount == r.fit.design.rowCount, "\(id) rows")
        expectClose(a.dispersion, r.dispersion, relative: relative, "\(id) dispersion")
        expectClose(a.fit.deviance, r.fit.deviance, relative: relative, absolute: 1e-10, "\(id) deviance")
        expectClose(a.fit.nullDeviance, r.fit.nullDeviance, relative: relative, "\(id) null deviance")
        expectClose(a.fit.aic, r.fit.aic, relative: relative, "\(id) AIC")
        expectClose(a.bic, r.bic, relative: relative, "\(id) BIC")
        expectClose(a.logLikelihood, r.logLikelihood, relative: relative, "\(id) log-likelihood")
    }

    @Test(arguments: models)
    func housingCountsFitAsTheirRows(_ model: Model) throws {
        let rows = try Pipeline.fit(Self.request(model, path: Self.expandedHousing, counts: nil))
        #expect(rows.fit.design.rowCount == 1681)
        let aggregated = try Pipeline.fit(Self.request(model, path: Repository.path("Examples/housing.csv"), counts: "Freq"))
        #expect(aggregated.fit.design.rowCount == 72)
        #expect(aggregated.fit.frequencyTotal == 1681)
        Self.expectSame(aggregated, rows, model.testDescription, relative: 1e-10)
        let chunked = try Pipeline.fit(
            Self.request(model, path: Repository.path("Examples/housing.csv"), counts: "Freq", chunkRows: 10))
        Self.expectSame(chunked, rows, "chunked " + model.testDescription, relative: 1e-8)
    }

    /// glm.nb's theta: its score and information are sums over the observations (quine's
    /// 146 pupils, grouped by DuckDB into 127 rows with counts).
    @Test func negativeBinomialThetaIsTheRowsTheta() throws {
        let model = Model(formula: "Days ~ Eth + Sex + Age + Lrn", family: "negative-binomial")
        let rows = try Pipeline.fit(Self.request(model, path: Repository.path("Examples/quine.csv"), counts: nil))
        let aggregated = try Pipeline.fit(Self.request(
            model, path: Repository.path("Tests/glmfitTests/Reference/frequency_weights/quine_aggregated.csv"), counts: "n"))
        #expect(aggregated.fit.design.rowCount == 127)
        #expect(rows.negativeBinomial?.thetaWarning == nil)
        let theta = try #require(rows.negativeBinomial?.theta)
        expectClose(aggregated.negativeBinomial?.theta, theta, relative: 1e-7, "theta")
        expectClose(aggregated.negativeBinomial?.thetaStandardError, rows.negativeBinomial?.thetaStandardError, relative: 1e-6, "theta se")
        Self.expectSame(aggregated, rows, "glm.nb", relative: 1e-7)
    }

    /// The AIC of rows with counts is the AIC of the rows repeated: per family, with prior
    /// weights, and binomial trial counts.
    @Test(arguments: [Family.Kind.gaussian, .binomial, .poisson, .gamma, .inverseGaussian, .negativeBinomial])
    func aicSumsTheExpandedRows(kind: Family.Kind) throws {
        let family = try Family(kind: kind, link: nil, theta: 2.5, varPower: 0)
        let y: [Double] = kind == .binomial ? [0.25, 1, 0, 0.5] : [1, 3, 2, 4]
        let totals: [Double] = kind == .binomial ? [4, 1, 3, 2] : [1, 1, 1, 1]
        let prior: [Double] = [1, 2, 0.5, 1]
        let mu: [Double] = kind == .binomial ? [0.3, 0.6, 0.2, 0.45] : [1.5, 2.5, 2, 3.5]
        let counts: [Double] = [3, 1, 0, 2]
        let observationWeights = zip(prior, totals).map { $0 * $1 }
        var expanded: (y: [Double], totals: [Double], weights: [Double], mu: [Double]) = ([], [], [], [])
        for row in 0..<4 {
            for _ in 0..<Int(counts[row]) {
                expanded.y.append(y[row])
                expanded.totals.append(totals[row])
                expanded.weights.append(observationWeights[row])
                expanded.mu.append(mu[row])
            }
        }
        let weights = zip(observationWeights, counts).map { $0 * $1 }
        let deviance = 1.7
        let rowsAIC = family.aic(y: expanded.y, binomialTotals: expanded.totals, mu: expanded.mu, weights: expanded.weights, deviance: deviance)
        var warnings: [String] = []
        let countedAIC = family.aic(
            y: y, binomialTotals: totals, mu: mu, weights: weights, frequencies: counts, deviance: deviance, warnings: &warnings)
        expectClose(countedAIC, rowsAIC, relative: 1e-13, "\(kind) AIC")
        #expect(countedAIC?.isFinite == true)
    }

    /// A logical response is TRUE by its level's name: one TRUE in every row (all its rows,
    /// or a chunk's) is 1, not the first level's 0. R 4 (run here, its output copied):
    /// glm(I(y > 0) ~ x, binomial, data.frame(y = 1:4, x = c(1, 2, 3, 5)))
    /// has coefficient (Intercept) 2.356607e+01 (a diverging, separated fit).
    @Test func logicalResponseTrueInEveryRowIsOne() throws {
        let bytes = Array("y,x\n1,1\n2,2\n3,3\n4,5\n".utf8)
        let table = try bytes.withUnsafeBytes { try CSVReader.read(bytes: $0, source: "positive.csv") }
        let report = try Pipeline.fit(FitRequest(path: "positive.csv", formula: "I(y > 0) ~ x", family: "binomial"), table: table)
        expectClose(report.fit.coefficients[0], 2.356607e+01, relative: 1e-6, "intercept")
        #expect(report.fit.response.y == [1, 1, 1, 1])
    }

    static func frame(_ csv: String) throws -> ModelFrame {
        let bytes = Array(csv.utf8)
        let table = try bytes.withUnsafeBytes { try CSVReader.read(bytes: $0, source: "counts.csv") }
        return try ModelFrame(table: table, formula: try Formula.parse("y ~ x"), frequencyWeightsColumn: "n")
    }

    @Test func countsAreCheckedOnTheRowsUsed() throws {
        let frame = try Self.frame("y,x,n\n1,1,2\nNA,2,-4\n3,3,0\n4,4,5\n")
        // The row with a missing y is dropped before its count is looked at.
        #expect(frame.frequencyWeights == [2, 0, 5])
        #expect(frame.frequencyTotal == 7)
    }

    @Test(arguments: [
        ("y,x,n\n1,1,2\n2,2,-1\n", 3, "negative"),
        ("y,x,n\n1,1,2.5\n2,2,1\n", 2, "not a whole number"),
        ("y,x,n\n1,1,2\n2,2,many\n", 3, "not a number"),
        ("y,x,n\n1,1,2\n2,2,NA\n", 3, "missing"),
        ("y,x,n\n1,1,2\n2,2,1e17\n", 3, "too large"),
        ("y,x,n\n1,1,9007199254740992\n2,2,1\n", 3, "2^53"),
    ])
    func invalidCountsNameTheirLine(csv: String, line: Int, words: String) throws {
        do {
            _ = try Self.frame(csv)
            Issue.record("no error for \(csv)")
        } catch let GLMError.invalidFrequencyWeight(source, errorLine, column, _, message) {
            #expect(source == "counts.csv")
            #expect(errorLine == line)
            #expect(column == "n")
            #expect(message.contains(words), "\(message)")
            #expect(GLMError.invalidFrequencyWeight(source: source, line: errorLine, column: column, value: "", message: message).exitStatus == 65)
        }
    }
}
