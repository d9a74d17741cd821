import Foundation
import Testing
@testable import GLMCore

/// RFormat against R 4.2.2's own output, read from Reference/rformat_reference.json
/// (written by Reference/make_rformat_reference.R; the tests never run R).
@Suite("RFormat matches R")
struct RFormatTests {

    @Test func fixtureIsLoadedAndLarge() throws {
        let reference = try RFormatReference.shared()
        #expect(reference.format.count >= 500)
        #expect(reference.coefTables.count >= 25)
        #expect(!reference.round.isEmpty && !reference.signif.isEmpty)
        #expect(!reference.pval.isEmpty && !reference.deparse.isEmpty && !reference.matrices.isEmpty)
    }

    @Test func formatVectors() throws {
        for item in try RFormatReference.shared().format {
            let values = try item.x.map(RNumber.parse)
            let actual = RFormat.format(values, digits: item.digits, nsmall: item.nsmall)
            #expect(actual == item.out, "format(c(\(item.x.joined(separator: ", "))), digits = \(item.digits), nsmall = \(item.nsmall))")
        }
    }

    @Test func formatSingleNumber() throws {
        for item in try RFormatReference.shared().format where item.x.count == 1 && item.nsmall == 0 {
            guard let value = try RNumber.parse(item.x[0]) else { continue }
            #expect(RFormat.format(value, digits: item.digits) == item.out[0],
                    "format(\(item.x[0]), digits = \(item.digits))")
        }
    }

    @Test func round() throws {
        for item in try RFormatReference.shared().round {
            let x = try RNumber.parse(item.x) ?? .nan
            let expected = try RNumber.parse(item.out) ?? .nan
            let actual = RFormat.round(x, digits: item.digits)
            #expect(RNumber.identical(actual, expected),
                    "round(\(item.x), \(item.digits)): R \(item.out), got \(RNumber.text(actual))")
        }
    }

    @Test func signif() throws {
        for item in try RFormatReference.shared().signif {
            let x = try RNumber.parse(item.x) ?? .nan
            let expected = try RNumber.parse(item.out) ?? .nan
            let actual = RFormat.signif(x, digits: item.digits)
            #expect(RNumber.identical(actual, expected),
                    "signif(\(item.x), \(item.digits)): R \(item.out), got \(RNumber.text(actual))")
        }
    }

    @Test func formatPValues() throws {
        for item in try RFormatReference.shared().pval {
            let p = try item.p.map(RNumber.parse)
            let eps = try RNumber.parse(item.eps) ?? .ulpOfOne
            #expect(RFormat.formatPValues(p, digits: item.digits, eps: eps) == item.out,
                    "format.pval(c(\(item.p.joined(separator: ", "))), digits = \(item.digits), eps = \(item.eps))")
        }
    }

    @Test func deparse() throws {
        for item in try RFormatReference.shared().deparse {
            let x = try RNumber.parse(item.x) ?? .nan
            #expect(RFormat.deparse(x) == item.out, "deparse(\(item.x))")
        }
    }

    @Test func coefficientTables() throws {
        for table in try RFormatReference.shared().coefTables {
            let actual = RFormat.coefficientTable(
                rowNames: table.rowNames,
                estimate: try table.estimate.map(RNumber.parse),
                stdError: try table.stdError.map(RNumber.parse),
                statistic: try table.statistic.map(RNumber.parse),
                pValue: try table.pValue.map(RNumber.parse),
                statisticLabel: table.statisticLabel, pValueLabel: table.pValueLabel,
                digits: table.digits)
            #expect(actual == table.lines,
                    "\(table.name): \(table.call)\nR:\n\(table.lines.joined(separator: "\n"))\nSwift:\n\(actual.joined(separator: "\n"))")
        }
    }

    @Test func characterMatrices() throws {
        for item in try RFormatReference.shared().matrices {
            let actual = RFormat.matrix(
                rowNames: item.rowNames, columnNames: item.columnNames, cells: item.cells)
            #expect(actual == item.lines,
                    "R:\n\(item.lines.joined(separator: "\n"))\nSwift:\n\(actual.joined(separator: "\n"))")
        }
    }

    @Test func signifLegendHasCurlyQuotes() {
        let lines = RFormat.coefficientTable(
            rowNames: ["x"], estimate: [1], stdError: [0.1], statistic: [10], pValue: [1e-30],
            statisticLabel: "z value", pValueLabel: "Pr(>|z|)")
        #expect(lines.last == "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1")
    }
}

// MARK: - Fixture

struct RFormatReference: Decodable, Sendable {
    struct FormatCase: Decodable, Sendable {
        var x: [String]
        var digits: Int
        var nsmall: Int
        var out: [String]
    }
    struct RoundCase: Decodable, Sendable {
        var x: String
        var digits: Int
        var out: String
    }
    struct PValueCase: Decodable, Sendable {
        var p: [String]
        var digits: Int
        var eps: String
        var out: [String]
    }
    struct DeparseCase: Decodable, Sendable {
        var x: String
        var out: String
    }
    struct CoefficientTableCase: Decodable, Sendable {
        var name: String
        var call: String
        var digits: Int
        var rowNames: [String]
        var estimate: [String]
        var stdError: [String]
        var statistic: [String]
        var pValue: [String]
        var statisticLabel: String
        var pValueLabel: String
        var lines: [String]
    }
    struct MatrixCase: Decodable, Sendable {
        var rowNames: [String]
        var columnNames: [String]
        var cells: [[String]]
        var lines: [String]
    }

    var r_version: String
    var format: [FormatCase]
    var round: [RoundCase]
    var signif: [RoundCase]
    var pval: [PValueCase]
    var deparse: [DeparseCase]
    var coefTables: [CoefficientTableCase]
    var matrices: [MatrixCase]

    static let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Reference/rformat_reference.json")

    private static let loaded: Result<RFormatReference, any Error> = Result {
        try JSONDecoder().decode(RFormatReference.self, from: Data(contentsOf: url))
    }

    static func shared() throws -> RFormatReference { try loaded.get() }
}

/// Doubles as the fixture writes them: "%.17g", or NA / NaN / Inf / -Inf.
enum RNumber {
    struct Unparseable: Error, CustomStringConvertible {
        var text: String
        var description: String { "fixture number '\(text)' does not parse" }
    }

    /// nil for NA.
    static func parse(_ text: String) throws -> Double? {
        switch text {
        case "NA": return nil
        case "NaN": return .nan
        case "Inf": return .infinity
        case "-Inf": return -.infinity
        default:
            guard let value = Double(text) else { throw Unparseable(text: text) }
            return value
        }
    }

    /// Same double, bit for bit (so 0 and -0 differ), or both NaN.
    static func identical(_ a: Double, _ b: Double) -> Bool {
        (a.isNaN && b.isNaN) || a.bitPattern == b.bitPattern
    }

    static func text(_ x: Double) -> String { String(format: "%.17g", x) }
}
