import Foundation
import Testing
@testable import GLMCore

/// The pieces behind factor functions, contrasts and bases, against what R prints (the R
/// commands are given with each expectation; the fits themselves are in BasesReferenceTests).
@Suite("Factor functions, contrasts and bases: pieces")
struct FactorFunctionsTests {
    /// Strings, TRUE/FALSE and `pkg::fn` read as R reads them and deparse as R deparses them.
    @Test func literalsParseAndDeparseAsR() throws {
        let formula = try Formula.parse("y ~ relevel(f, ref = 'b') + splines::ns(x, df = 3) + factor(g, ordered = TRUE)")
        #expect(formula.deparsed == "y ~ relevel(f, ref = \"b\") + splines::ns(x, df = 3) + factor(g, ordered = TRUE)")
        let terms = try Terms(formula: formula, columnNames: ["y", "f", "x", "g"])
        #expect(terms.variables[0] == .call("relevel", [.name("f"), .argument("ref", .string("b"))]))
        #expect(terms.variables[1] == .call("splines::ns", [.name("x"), .argument("df", .number(3, "3"))]))
        #expect(terms.variables[2] == .call("factor", [.name("g"), .argument("ordered", .logical(true))]))
        #expect(FormulaExpression.string("a\"b\\c").deparsed == "\"a\\\"b\\\\c\"")
        // A backquoted TRUE is a column name, not the constant.
        #expect(try Formula.parse("y ~ `TRUE`").predictors == .name("TRUE"))
        // C()'s contrasts are not columns.
        #expect(FormulaExpression.call("C", [.name("f"), .name("contr.sum")]).columnNames == ["f"])
    }

    /// R: levels(cut(mtcars$hp, 3)); levels(cut(mtcars$wt, 4, include.lowest = TRUE));
    /// levels(cut(mtcars$qsec, c(14, 17, 20, 23), right = FALSE));
    /// levels(cut(c(1, 1.0001, 1.0002), 2)); levels(cut(rep(5, 3), 2)).
    @Test func cutLabelsAreR() throws {
        let table = try loadExample("Examples/mtcars.csv")
        func column(_ name: String) throws -> [Double] {
            guard case let .numeric(values)? = table.column(named: name) else { throw GLMError.unknownColumn(name: name, suggestions: []) }
            return values
        }
        func labels(_ x: [Double], _ count: Int, includeLowest: Bool = false) -> [String] {
            CutBreaks.labels(breaks: CutBreaks.equalWidth(x: x, count: count) ?? [], right: true, includeLowest: includeLowest)
        }
        #expect(labels(try column("hp"), 3) == ["(51.7,146]", "(146,241]", "(241,335]"])
        #expect(labels(try column("wt"), 4, includeLowest: true) == ["[1.51,2.49]", "(2.49,3.47]", "(3.47,4.45]", "(4.45,5.43]"])
        #expect(CutBreaks.labels(breaks: [14, 17, 20, 23], right: false, includeLowest: false) == ["[14,17)", "[17,20)", "[20,23)"])
        #expect(labels([1, 1.0001, 1.0002], 2) == ["(1,1.0001]", "(1.0001,1.0002]"])
        #expect(labels([5, 5, 5], 2) == ["(4.995,5]", "(5,5.005]"])
    }

    /// R: as.integer(cut(0:5, c(1, 3, 5))) is NA NA 1 1 2 2; with right = FALSE and
    /// include.lowest = TRUE it is NA 1 1 2 2 2.
    @Test func cutCodesAreRBincode() {
        let x: [Double] = [0, 1, 2, 3, 4, 5]
        #expect(CutBreaks.codes(x: x, breaks: [1, 3, 5], right: true, includeLowest: false) == [-1, -1, 0, 0, 1, 1])
        #expect(CutBreaks.codes(x: x, breaks: [1, 3, 5], right: false, includeLowest: true) == [-1, 0, 0, 1, 1, 1])
        #expect(CutBreaks.codes(x: [1, .nan], breaks: [1, 3, 5], right: true, includeLowest: true) == [0, -1])
    }

    /// R: contr.poly(4), contr.helmert(3), contr.sum(3), contr.treatment(3, base = 2).
    @Test func contrastMatricesAreR() throws {
        let four = ["a", "b", "c", "d"], three = ["a", "b", "c"]
        let poly = try ContrastSpec(kind: .poly).matrix(levels: four, term: "f")
        #expect(poly.suffixes == [".L", ".Q", ".C"])
        let expected: [[Double]] = [
            [-0.6708203932499369, 0.5, -0.22360679774997896], [-0.22360679774997896, -0.5, 0.6708203932499369],
            [0.22360679774997896, -0.5, -0.6708203932499369], [0.6708203932499369, 0.5, 0.22360679774997896],
        ]
        for (row, values) in zip(poly.rows, expected) {
            for (actual, value) in zip(row, values) { #expect(abs(actual - value) <= 1e-12) }
        }
        #expect(try ContrastSpec(kind: .helmert).matrix(levels: three, term: "f").rows == [[-1, -1], [1, -1], [0, 2]])
        #expect(try ContrastSpec(kind: .sum).matrix(levels: three, term: "f").rows == [[1, 0], [0, 1], [-1, -1]])
        let base2 = try ContrastSpec(kind: .treatment, base: 2, numbered: true).matrix(levels: three, term: "f")
        #expect(base2.rows == [[1, 0], [0, 0], [0, 1]])
        #expect(base2.suffixes == ["1", "3"])
        #expect(ContrastSpec(kind: .sas).reference(levels: three) == "c")
        #expect(throws: GLMError.self) { try ContrastSpec(kind: .treatment, base: 4).matrix(levels: three, term: "f") }
    }
}
