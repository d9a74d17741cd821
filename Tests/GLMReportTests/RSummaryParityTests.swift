import Foundation
import Testing
import GLMCore
@testable import GLMReport

/// The cases R fitted (Tests/GLMCoreTests/Reference), with the summary R printed for each.
struct PrintedCase: Decodable, Sendable, CustomTestStringConvertible {
    let id: String
    let data: String
    let formula: String
    let family: String
    let link: String
    let weights: String?
    let maxit: Int?
    let epsilon: Double?
    let coef_names: [String]
    let coefficients: [Double?]
    let std_errors: [Double?]
    var summaries = "r_summaries"
    var testDescription: String { id }

    private enum CodingKeys: String, CodingKey {
        case id, data, formula, family, link, weights, maxit, epsilon, coef_names, coefficients, std_errors
    }
}

enum PrintedCases {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private struct File: Decodable { let cases: [PrintedCase] }

    static let all = load("glm_reference.json", summaries: "r_summaries")
    static let edge = load("edge_reference.json", summaries: "edge_summaries")

    static func load(_ name: String, summaries: String) -> [PrintedCase] {
        let url = root.appendingPathComponent("Tests/GLMCoreTests/Reference/\(name)")
        guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data) else { return [] }
        return file.cases.map { printed in
            var copy = printed
            copy.summaries = summaries
            return copy
        }
    }

    static func report(_ printed: PrintedCase) throws -> ModelReport {
        try Pipeline.fit(inCLocale(FitRequest(
            path: root.appendingPathComponent(printed.data).path, formula: printed.formula, family: printed.family,
            link: printed.link, weightsColumn: printed.weights,
            control: FitControl(epsilon: printed.epsilon ?? 1e-8, maxIterations: printed.maxit ?? 25))))
    }

    /// From "Coefficients:" to "Number of Fisher Scoring iterations", the part of R's
    /// summary that glmfit reproduces line for line (R 4.2 adds deviance residuals before it).
    static func summaryBlock(_ text: String) -> [String] {
        let lines = withoutLevelLines(text.components(separatedBy: "\n"))
        guard let start = lines.firstIndex(where: { $0.hasPrefix("Coefficients:") || $0 == "No Coefficients" }),
              let end = lines.firstIndex(where: { $0.hasPrefix("Number of Fisher Scoring iterations") }) else { return [] }
        return Array(lines[start...end])
    }
}

@Suite("Text report equals R's printed summary")
struct RSummaryParityTests {
    @Test(arguments: PrintedCases.all + PrintedCases.edge)
    func summaryBlockMatchesR(_ printed: PrintedCase) throws {
        let report = try PrintedCases.report(printed)
        let ours = PrintedCases.summaryBlock(TextReport.render(report, dataName: "data"))
        let rText = try String(
            contentsOf: PrintedCases.root.appendingPathComponent("Tests/GLMCoreTests/Reference/\(printed.summaries)/\(printed.id).txt"),
            encoding: .utf8)
        let theirs = PrintedCases.summaryBlock(rText)
        #expect(!theirs.isEmpty)
        // A coefficient that is zero in exact arithmetic (|estimate| < 1e-10 × its standard
        // error, e.g. Dobson's treatment effects) prints as rounding noise, 1e-15 or so,
        // which differs between LINPACK and LAPACK. Its cell is skipped and, because the
        // noise changes column widths, spacing is compared loosely in that case only.
        let noiseTerms = Set(printed.coef_names.indices.compactMap { index -> String? in
            guard let estimate = printed.coefficients[index], let error = printed.std_errors[index],
                  abs(estimate) < 1e-10 * error else { return nil }
            return printed.coef_names[index]
        })
        if noiseTerms.isEmpty {
            #expect(ours == theirs)
        } else {
            func tokens(_ lines: [String]) -> [[String]] {
                lines.map { line in
                    var fields = line.split(separator: " ").map(String.init)
                    if let first = fields.first, noiseTerms.contains(first), fields.count > 1 { fields[1] = "<noise>" }
                    return fields
                }
            }
            #expect(tokens(ours) == tokens(theirs))
        }
    }
}

@Suite("Negative binomial report equals R's print of summary(glm.nb)")
struct NegativeBinomialParityTests {
    /// From "Coefficients:" to " 2 x log-likelihood", theta's lines included.
    static func block(_ text: String) -> [String] {
        let lines = withoutLevelLines(text.components(separatedBy: "\n"))
        guard let start = lines.firstIndex(where: { $0.hasPrefix("Coefficients:") }),
              let end = lines.firstIndex(where: { $0.hasPrefix(" 2 x log-likelihood") }) else { return [] }
        return Array(lines[start...end])
    }

    @Test(arguments: [
        ("negbin_quine", "quine.csv", "Days ~ Sex/(Age + Eth*Lrn)"),
        ("negbin_epil", "epil.csv", "y ~ lbase*trt + lage + V4"),
    ])
    func matchesR(_ name: String, _ data: String, _ formula: String) throws {
        let report = try Pipeline.fit(inCLocale(FitRequest(
            path: PrintedCases.root.appendingPathComponent("Examples/\(data)").path, formula: formula,
            family: "negative-binomial")))
        let rText = try String(
            contentsOf: PrintedCases.root.appendingPathComponent("Tests/GLMReportTests/Golden/R/\(name).txt"), encoding: .utf8)
        let theirs = Self.block(rText)
        #expect(!theirs.isEmpty)
        #expect(Self.block(TextReport.render(report, dataName: data)) == theirs)
    }
}

@Suite("Analysis-of-deviance tables equal R's print")
struct AnalysisParityTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let golden: String
        let data: String
        let formula: String
        let family: String
        var anova = false
        var dropOne = false
        var compare: String?
        var testDescription: String { golden }
    }

    static let cases = [
        Case(golden: "anova_dobson", data: "dobson.csv", formula: "counts ~ outcome + treatment", family: "poisson", anova: true),
        Case(golden: "drop1_dobson", data: "dobson.csv", formula: "counts ~ outcome + treatment", family: "poisson", dropOne: true),
        Case(golden: "anova_quine", data: "quine.csv", formula: "Days ~ Sex*Age + Eth", family: "quasipoisson", anova: true),
        Case(golden: "drop1_quine", data: "quine.csv", formula: "Days ~ Sex*Age + Eth", family: "quasipoisson", dropOne: true),
        Case(golden: "compare_quine", data: "quine.csv", formula: "Days ~ Sex*Age + Eth", family: "quasipoisson",
             compare: "Days ~ Sex + Eth"),
        Case(golden: "anova_budworm", data: "budworm.csv", formula: "cbind(numdead, 20 - numdead) ~ sex*ldose",
             family: "binomial", anova: true),
        Case(golden: "drop1_budworm", data: "budworm.csv", formula: "cbind(numdead, 20 - numdead) ~ sex*ldose",
             family: "binomial", dropOne: true),
    ]

    /// The report's lines from the table's first heading line to its end.
    static func section(_ text: String, startingWith heading: String) -> [String] {
        var lines = text.components(separatedBy: "\n")
        while lines.last == "" { lines.removeLast() }
        guard let start = lines.firstIndex(of: heading) else { return [] }
        return Array(lines[start...])
    }

    @Test(arguments: cases)
    func tableMatchesR(_ item: Case) throws {
        let report = try Pipeline.fit(inCLocale(FitRequest(
            path: PrintedCases.root.appendingPathComponent("Examples/\(item.data)").path, formula: item.formula,
            family: item.family, anova: item.anova, dropOne: item.dropOne, compareFormula: item.compare)))
        var theirs = try String(
            contentsOf: PrintedCases.root.appendingPathComponent("Tests/GLMReportTests/Golden/R/\(item.golden).txt"),
            encoding: .utf8
        ).components(separatedBy: "\n")
        while theirs.last == "" { theirs.removeLast() }
        let heading = item.dropOne ? "Single term deletions" : "Analysis of Deviance Table"
        #expect(Self.section(TextReport.render(report, dataName: item.data), startingWith: heading) == theirs)
    }
}

@Suite("GEE report equals geepack's print of summary(geeglm)")
struct GEEParityTests {
    /// From " Coefficients:" to "Number of clusters:".
    static func block(_ text: String) -> [String] {
        let lines = withoutLevelLines(text.components(separatedBy: "\n"))
        guard let start = lines.firstIndex(of: " Coefficients:"),
              let end = lines.firstIndex(where: { $0.hasPrefix("Number of clusters:") }) else { return [] }
        return Array(lines[start...end])
    }

    @Test(arguments: [
        ("gee_ohio", "ohio.csv", "resp ~ age + smoke", "binomial", "id", nil, "exchangeable"),
        ("gee_epil", "epil.csv", "y ~ lbase * trt + lage + V4", "poisson", "subject", "period", "ar1"),
        ("gee_ohio_independence", "ohio.csv", "resp ~ age + smoke", "binomial", "id", nil, "independence"),
    ] as [(String, String, String, String, String, String?, String)])
    func matchesR(_ name: String, _ data: String, _ formula: String, _ family: String, _ id: String, _ waves: String?,
                  _ structure: String) throws {
        let report = try Pipeline.fitGEE(
            inCLocale(FitRequest(path: PrintedCases.root.appendingPathComponent("Examples/\(data)").path, formula: formula, family: family)),
            gee: GEERequest(idColumn: id, structure: structure, wavesColumn: waves))
        let rText = try String(
            contentsOf: PrintedCases.root.appendingPathComponent("Tests/GLMReportTests/Golden/R/\(name).txt"), encoding: .utf8)
        let theirs = Self.block(rText)
        #expect(!theirs.isEmpty)
        #expect(Self.block(TextReport.render(report, dataName: data)) == theirs)
    }
}

/// The request with text levels in byte order: R printed these summaries under LC_COLLATE=C.
func inCLocale(_ request: FitRequest) -> FitRequest {
    var request = request
    request.collation = .bytes
    return request
}

/// The report's lines without the ones R does not print: the reference levels and the
/// modelled response level, with the blank line before them.
func withoutLevelLines(_ lines: [String]) -> [String] {
    var kept: [String] = []
    for line in lines {
        if line.hasPrefix("Reference levels: ") || line.hasPrefix("Response: ") {
            if kept.last == "" { kept.removeLast() }
            continue
        }
        kept.append(line)
    }
    return kept
}
