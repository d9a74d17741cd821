import Foundation
import Testing
@testable import GLMCore

/// One zero-inflated (pscl::zeroinfl) or hurdle (pscl::hurdle) fit by R, from
/// Reference/countmodels_reference.json (made by make_countmodels_reference.R).
struct CountModelCase: Decodable, Sendable, CustomTestStringConvertible {
    struct Coefficient: Decodable, Sendable {
        let component: String
        let term: String
        let estimate: Double
        let std_error: Double
    }

    let name: String
    let kind: String
    let file: String
    let formula: String
    let family: String
    let zero_link: String
    let coefficients: [Coefficient]
    let log_likelihood: Double
    let df: Int
    let aic: Double
    let n_obs: Int
    /// pscl's BIC: log(n) with n the rows of positive weight.
    let bic: Double?
    /// The case-weights column (pscl's `weights =`), if any.
    let weights: String?
    let theta: Double?
    let theta_std_error: Double?
    let log_theta_std_error: Double?
    let vuong_printed: [String]?
    let newdata: String?
    let response: [Double]?
    let zero: [Double]?
    let count: [Double]?

    var testDescription: String { name }

    static let all: [CountModelCase] = {
        struct Document: Decodable { let cases: [CountModelCase] }
        let path = Repository.path("Tests/GLMCoreTests/Reference/countmodels_reference.json")
        guard let data = FileManager.default.contents(atPath: path),
              let document = try? JSONDecoder().decode(Document.self, from: data) else { return [] }
        return document.cases
    }()

    func request(vuong: Bool = false) -> FitRequest {
        var request = FitRequest(path: file, formula: formula, family: family == "negbin" ? "negative-binomial" : family)
        request.twoPartKind = kind == "hurdle" ? .hurdle : .zeroInflated
        request.zeroLink = zero_link
        request.vuong = vuong
        request.weightsColumn = weights
        return request
    }

    /// The data: a file name under Examples/, or a path from the repository root.
    var dataPath: String { file.contains("/") ? file : "Examples/" + file }

    func fit(vuong: Bool = false) throws -> CountModelReport {
        try Pipeline.fitCountModel(request(vuong: vuong), table: try loadExample(dataPath))
    }
}

@Suite("Zero-inflated and hurdle fits against pscl::zeroinfl and pscl::hurdle")
struct CountModelReferenceTests {
    @Test func referenceIsPresent() {
        #expect(CountModelCase.all.count >= 10)
    }

    /// Coefficients to 1e-6 relative, log-likelihood to 1e-8, standard errors to 1e-4
    /// (pscl's come from optim's numerical Hessian; glmfit's are analytic).
    @Test(arguments: CountModelCase.all)
    func matchesR(_ reference: CountModelCase) throws {
        let report = try reference.fit()
        let fit = report.fit
        #expect(fit.converged)
        #expect(fit.observationCount == reference.n_obs)
        #expect(fit.parameterCount == reference.df)
        #expect(report.coefficients.count == reference.coefficients.count)
        #expect(Array(fit.components.prefix(reference.coefficients.count)) == reference.coefficients.map(\.component))
        #expect(report.coefficients.map(\.term) == reference.coefficients.map(\.term))
        for (index, expected) in reference.coefficients.enumerated() where index < report.coefficients.count {
            let name = "\(expected.component):\(expected.term)"
            expectClose(fit.estimates[index], expected.estimate, relative: 1e-6, absolute: 1e-9, "\(name) estimate")
            expectClose(report.coefficients[index].standardError, expected.std_error, relative: 1e-4, "\(name) std. error")
        }
        expectClose(fit.logLikelihood, reference.log_likelihood, relative: 1e-8, "log-likelihood")
        expectClose(fit.aic, reference.aic, relative: 1e-8, "AIC")
        expectClose(fit.bic, reference.bic, relative: 1e-8, "BIC")
        expectClose(fit.theta, reference.theta, relative: 1e-6, "theta")
        expectClose(fit.thetaStandardError, reference.theta_std_error, relative: 1e-4, "theta std. error")
        expectClose(fit.logThetaStandardError, reference.log_theta_std_error, relative: 1e-4, "log(theta) std. error")
    }

    /// pscl::vuong's printed statistics (7 significant digits) and p-values (5).
    @Test(arguments: CountModelCase.all.filter { $0.vuong_printed != nil })
    func vuongMatchesR(_ reference: CountModelCase) throws {
        let report = try reference.fit(vuong: true)
        let vuong = try #require(report.vuong)
        let printed = (reference.vuong_printed ?? []).filter { line in
            ["Raw", "AIC-corrected", "BIC-corrected"].contains { line.hasPrefix($0) }
        }
        #expect(printed.count == 3)
        for (row, line) in zip(vuong.rows, printed) {
            let fields = line.split(separator: " ").map(String.init)
            #expect(fields.first == row.label)
            let statistic = try #require(Double(fields[1]))
            let pValue = try #require(fields.last.flatMap { Double($0) })
            expectClose(row.statistic, statistic, relative: 1e-6, "\(row.label) statistic")
            expectClose(row.pValue, pValue, relative: 1e-4, "\(row.label) p-value")
            #expect(line.contains(row.favours))
        }
    }

    /// R's predict(type = "response" / "zero" / "count") on rows not in the fit: the new
    /// rows' model-matrix values are built here from the column names (a factor's
    /// indicator `<column><level>`), then `CountModelFit.predictions` gives the three.
    /// Fits with offsets are left to the end-to-end save → predict test, which evaluates them.
    @Test(arguments: CountModelCase.all.filter { $0.newdata != nil && !$0.formula.contains("offset(") })
    func predictionsMatchR(_ reference: CountModelCase) throws {
        let fit = try reference.fit().fit
        let table = try loadExample("Tests/GLMCoreTests/Reference/countmodel_data/" + (reference.newdata ?? ""))
        func value(_ name: String, row: Int) -> Double {
            if name == "(Intercept)" { return 1 }
            for (index, column) in table.columnNames.enumerated() {
                switch table.columns[index] {
                case let .numeric(values)? where column == name:
                    return values[row]
                case let .categorical(factor)? where name.hasPrefix(column):
                    return factor.levels[Int(factor.codes[row])] == String(name.dropFirst(column.count)) ? 1 : 0
                default:
                    continue
                }
            }
            Issue.record("no value for column \(name)")
            return .nan
        }
        let expectedResponse = try #require(reference.response)
        for row in 0..<table.rowCount {
            var etaCount = 0.0
            for (j, name) in fit.countDesign.columnNames.enumerated() { etaCount += value(name, row: row) * fit.estimates[j] }
            var etaZero = 0.0
            for (j, name) in fit.zeroDesign.columnNames.enumerated() {
                etaZero += value(name, row: row) * fit.estimates[fit.countColumnCount + j]
            }
            let parts = CountModelFit.predictions(
                mu: Foundation.exp(etaCount), probability: fit.zeroLink.inverse(etaZero).value, kind: fit.kind,
                distribution: fit.distribution, theta: fit.theta)
            expectClose(parts.response, expectedResponse[row], relative: 1e-6, "row \(row + 1) response")
            expectClose(parts.zero, reference.zero?[row], relative: 1e-6, "row \(row + 1) zero")
            expectClose(parts.count, reference.count?[row], relative: 1e-6, "row \(row + 1) count")
        }
    }

    @Test func twoPartFormulaSplitsAtTheTopLevelBarOnly() throws {
        let split = try TwoPartFormula("art ~ fem + I(kid5 > 0) | ment")
        #expect(split.count == "art ~ fem + I(kid5 > 0)")
        #expect(split.zero == "art ~ ment")
        let inner = try TwoPartFormula("y ~ I(a | b) + x")
        #expect(inner.count == "y ~ I(a | b) + x")
        #expect(inner.zero == inner.count)
        let interceptOnly = try TwoPartFormula("y ~ x | 1")
        #expect(interceptOnly.zero == "y ~ 1")
        #expect(throws: GLMError.self) { try TwoPartFormula("y ~ x | z | w") }
        #expect(throws: GLMError.self) { try TwoPartFormula("y ~ x |") }
    }

    /// The jet's derivatives against central differences of its value.
    @Test func rowDerivativesMatchDifferences() {
        let modes: [TwoPartCount.Mode] = [.full(.zeroInflated), .full(.hurdle)]
        for mode in modes {
            for link in ZeroLink.allCases {
                for y in [0.0, 1, 4] {
                    let point = [0.3, link == .log ? -0.9 : -0.4, 0.2]
                    func value(_ v: [Double]) -> Double {
                        TwoPartCount.rowLogLikelihood(
                            y: y, etaCount: v[0], etaZero: v[1], logTheta: v[2], mode: mode, distribution: .negativeBinomial,
                            link: link).value
                    }
                    let jet = TwoPartCount.rowLogLikelihood(
                        y: y, etaCount: point[0], etaZero: point[1], logTheta: point[2], mode: mode,
                        distribution: .negativeBinomial, link: link)
                    let gradient = [jet.g0, jet.g1, jet.g2]
                    let hessian = [[jet.h00, jet.h01, jet.h02], [jet.h01, jet.h11, jet.h12], [jet.h02, jet.h12, jet.h22]]
                    let h = 1e-5
                    for i in 0..<3 {
                        var up = point, down = point
                        up[i] += h
                        down[i] -= h
                        expectClose(gradient[i], (value(up) - value(down)) / (2 * h), relative: 1e-6, absolute: 1e-8, "g\(i) \(link) y=\(y)")
                        for j in 0..<3 {
                            var uu = up, ud = up, du = down, dd = down
                            uu[j] += h; ud[j] -= h; du[j] += h; dd[j] -= h
                            let numeric = (value(uu) - value(ud) - value(du) + value(dd)) / (4 * h * h)
                            expectClose(hessian[i][j], numeric, relative: 1e-4, absolute: 1e-5, "h\(i)\(j) \(link) y=\(y)")
                        }
                    }
                }
            }
        }
    }
}
