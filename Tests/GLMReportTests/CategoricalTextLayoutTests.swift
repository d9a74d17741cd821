import Foundation
import Testing
import GLMCore
@testable import GLMReport

@Suite("The text of multinomial and ordinal fits: R's summary layout")
struct CategoricalTextLayoutTests {
    /// The block from "Coefficients:" to "AIC:" of R's printed summary.
    static func block(_ lines: [Substring], from start: Int) -> [String] {
        var block: [String] = []
        for line in lines[start...] {
            block.append(String(line))
            if line.hasPrefix("AIC:") { break }
        }
        return block
    }

    /// R printed its own estimates, which stop short of the maximum in the 7th digit: the
    /// layout (every non-number token, and where each number sits) must be R's, and the
    /// numbers within 1e-6 relative.
    static func expectSameLayout(_ ours: [String], _ r: [String]) {
        #expect(ours.count == r.count, "\(ours.joined(separator: "\n"))\nvs R\n\(r.joined(separator: "\n"))")
        for (a, b) in zip(ours, r) {
            #expect(a.count == b.count, "line '\(a)' vs R '\(b)'")
            let tokensA = a.split(separator: " "), tokensB = b.split(separator: " ")
            #expect(tokensA.count == tokensB.count, "line '\(a)' vs R '\(b)'")
            for (x, y) in zip(tokensA, tokensB) {
                if let u = Double(x), let v = Double(y) {
                    #expect(abs(u - v) <= 1e-6 * abs(v) + 1e-7, "'\(x)' vs R '\(y)' in '\(b)'")
                } else {
                    #expect(x == y, "line '\(a)' vs R '\(b)'")
                }
            }
        }
    }

    @Test func housingSummariesHaveRsLayout() throws {
        let path = PrintedCases.root.appendingPathComponent("Tests/GLMCoreTests/Reference/multinomial_data/r_summaries.txt").path
        let printed = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let starts = printed.indices.filter { printed[$0] == "Coefficients:" }
        #expect(starts.count == 3)
        guard starts.count == 3 else { return }
        let table = try CSVReader.read(
            path: PrintedCases.root.appendingPathComponent("Examples/housing.csv").path, options: CSVOptions(collation: .bytes),
            select: { _ in nil })
        let multinomial = try Pipeline.fitCategorical(
            FitRequest(path: "housing.csv", formula: "Sat ~ Infl + Type + Cont", family: "multinomial", weightsColumn: "Freq"),
            table: table)
        let ordinal = try Pipeline.fitCategorical(
            FitRequest(path: "housing.csv", formula: "satisfaction ~ Infl + Type + Cont", family: "ordinal", weightsColumn: "Freq"),
            table: table)
        let birthwt = try CSVReader.read(
            path: PrintedCases.root.appendingPathComponent("Examples/birthwt.csv").path, options: CSVOptions(collation: .bytes),
            select: { _ in nil })
        let binary = try Pipeline.fitCategorical(
            FitRequest(path: "birthwt.csv", formula: "low ~ age + lwt + smoke", family: "multinomial"), table: birthwt)
        for (report, start) in [(multinomial, starts[0]), (ordinal, starts[1]), (binary, starts[2])] {
            let text = renderedText(report).split(separator: "\n", omittingEmptySubsequences: false)
            guard let ours = text.firstIndex(of: "Coefficients:") else {
                Issue.record("no Coefficients: line")
                continue
            }
            Self.expectSameLayout(Self.block(text, from: ours), Self.block(printed, from: start))
        }
    }

    private func renderedText(_ report: CategoricalReport) -> String {
        TextReport.render(report, dataName: "housing.csv")
    }
}
