import Foundation
import Testing
import CKernels
@testable import GLMCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: Helpers

private func parse(
    _ bytes: [UInt8], options: CSVOptions = CSVOptions(collation: .bytes), tuning: CSVReader.Tuning = .serial,
    select: ([String]) throws -> Set<Int>? = { _ in nil }
) throws -> Table {
    try bytes.withUnsafeBytes { raw in
        try CSVReader.read(bytes: raw, source: "t.csv", options: options, tuning: tuning, select: select)
    }
}

private func parse(
    _ text: String, options: CSVOptions = CSVOptions(collation: .bytes), tuning: CSVReader.Tuning = .serial,
    select: ([String]) throws -> Set<Int>? = { _ in nil }
) throws -> Table {
    try parse(Array(text.utf8), options: options, tuning: tuning, select: select)
}

/// The parser's record loop (`glm_parse_decimal_record`) over the first `count` fields at p,
/// as a record of one-row columns whose values go to values[0..<count]: the bytes it took,
/// 0 when it took none. It takes the fields all together or none of them.
private func parseDecimalRun(
    _ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ count: Int, _ values: UnsafeMutablePointer<Double>?
) -> Int {
    guard let values else { return 0 }
    let columns: [UnsafeMutablePointer<Double>?] = (0..<count).map { values + $0 }
    var reached = -1
    let taken = glm_parse_decimal_record(p, end, columns, 0, 0, count, &reached)
    #expect(reached == (taken > 0 ? count : 0), "columns reached")
    return taken
}

/// The GLMError thrown while parsing, or nil.
private func parseError(_ bytes: [UInt8], options: CSVOptions = .init(), tuning: CSVReader.Tuning = .serial) -> GLMError? {
    do {
        _ = try parse(bytes, options: options, tuning: tuning)
        return nil
    } catch let error as GLMError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

private func parseError(_ text: String, options: CSVOptions = .init()) -> GLMError? {
    parseError(Array(text.utf8), options: options)
}

private func numbers(_ table: Table, _ name: String) -> [Double]? {
    if case let .numeric(values)? = table.column(named: name) { return values }
    return nil
}

private func categorical(_ table: Table, _ name: String) -> CategoricalColumn? {
    if case let .categorical(column)? = table.column(named: name) { return column }
    return nil
}

/// Equality that treats NaN as equal to NaN and tells 0 from -0.
private func same(_ a: [Double]?, _ b: [Double]?) -> Bool {
    guard let a, let b, a.count == b.count else { return a == nil && b == nil }
    return zip(a, b).allSatisfy { x, y in (x.isNaN && y.isNaN) || x.bitPattern == y.bitPattern }
}

private func same(_ a: Column?, _ b: Column?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case let (.numeric(x)?, .numeric(y)?): return same(x, y)
    case let (.categorical(x)?, .categorical(y)?): return x == y
    default: return false
    }
}

private func same(_ a: Table, _ b: Table) -> Bool {
    a.source == b.source && a.columnNames == b.columnNames && a.rowCount == b.rowCount
        && a.recordLines == b.recordLines && a.columns.count == b.columns.count
        && zip(a.columns, b.columns).allSatisfy { same($0, $1) }
}

private func describe(_ column: Column?) -> String {
    switch column {
    case nil: return "nil"
    case let .numeric(values)?: return "numeric(\(values))"
    case let .categorical(c)?: return "categorical(levels: \(c.levels), codes: \(c.codes), logical: \(c.isLogical), first: \(String(describing: c.firstNonNumericRow)))"
    }
}

// MARK: Basic reading and quoting

@Suite("CSV reader")
struct CSVReaderTests {
    @Test func readsNumericAndTextColumns() throws {
        let table = try parse("x,y,g\n1,2.5,a\n3,-4e2,b\n-0.125,7,a\n")
        #expect(table.columnNames == ["x", "y", "g"])
        #expect(table.rowCount == 3)
        #expect(table.source == "t.csv")
        #expect(same(numbers(table, "x"), [1, 3, -0.125]))
        #expect(same(numbers(table, "y"), [2.5, -400, 7]))
        let g = try #require(categorical(table, "g"))
        #expect(g.levels == ["a", "b"])
        #expect(g.codes == [0, 1, 0])
        #expect(!g.isLogical)
        #expect(g.firstNonNumericRow == 0)
        #expect(table.recordLines == nil)
        #expect(table.line(ofRow: 2) == 4)
    }

    @Test func quotedFieldsFollowRFC4180() throws {
        let text = "id,text\n1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,\"\"\"\"\n5,plain\"quote\n"
        let table = try parse(text)
        let column = try #require(categorical(table, "text"))
        let values = column.codes.map { column.levels[Int($0)] }
        #expect(values == ["a,b", "say \"hi\"", "two\nlines", "\"", "plain\"quote"])
        #expect(same(numbers(table, "id"), [1, 2, 3, 4, 5]))
        #expect(table.recordLines == [2, 3, 4, 6, 7])
    }

    @Test func spacesAroundQuotesAreNotContent() throws {
        let table = try parse("a,b\n  \"x, y\"  , 1\n\"p\"q,2\n")
        let a = try #require(categorical(table, "a"))
        #expect(a.codes.map { a.levels[Int($0)] } == ["x, y", "pq"])
        #expect(same(numbers(table, "b"), [1, 2]))
    }

    @Test func lineEndsLFCRLFAndCR() throws {
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "1,x", "2,\"y\(eol)z\"", "3,w"].joined(separator: eol) + eol
            let table = try parse(text)
            #expect(same(numbers(table, "a"), [1, 2, 3]), "line end \(eol.debugDescription)")
            let b = try #require(categorical(table, "b"))
            #expect(b.codes.map { b.levels[Int($0)] } == ["x", "y\(eol)z", "w"])
            #expect(table.recordLines == [2, 3, 5])
        }
    }

    @Test func byteOrderMarkIsSkipped() throws {
        let table = try parse([0xEF, 0xBB, 0xBF] + Array("a,b\n1,2\n".utf8))
        #expect(table.columnNames == ["a", "b"])
        #expect(same(numbers(table, "a"), [1]))
    }

    @Test func lastLineWithoutNewlineAndTrailingBlankLines() throws {
        #expect(same(numbers(try parse("a\n1\n2"), "a"), [1, 2]))
        #expect(same(numbers(try parse("a\n1\n2\n\n\n"), "a"), [1, 2]))
        #expect(same(numbers(try parse("a\r\n1\r\n2\r\n\r\n"), "a"), [1, 2]))
        let table = try parse("a,b\n1,2\n\n3,4\n")
        #expect(same(numbers(table, "b"), [2, 4]))
        #expect(table.recordLines == [2, 4])
        #expect(table.line(ofRow: 1) == 4)
    }

    @Test func headerNamesAreUnquotedAndTrimmed() throws {
        let table = try parse(" a , \"b c\" ,\"d,e\",\"f\"\"g\"\n1,2,3,4\n")
        #expect(table.columnNames == ["a", "b c", "d,e", "f\"g"])
        #expect(table.index(of: "b c") == 1)
    }

    @Test func headerSpanningLinesShiftsRecordLines() throws {
        let table = try parse("\"a\nb\",c\n1,2\n3,4\n")
        #expect(table.columnNames == ["a\nb", "c"])
        #expect(table.recordLines == [3, 4])
    }

    // MARK: Missing values

    @Test func defaultMissingValueTokens() throws {
        let table = try parse("x,g\nNA,a\n,NA\nNaN,\n\"NA\",\"\"\n\"\",NaN\n5,b\n")
        #expect(same(numbers(table, "x"), [.nan, .nan, .nan, .nan, .nan, 5]))
        let g = try #require(categorical(table, "g"))
        #expect(g.levels == ["a", "b"])
        #expect(g.codes == [0, -1, -1, -1, -1, 1])
    }

    @Test func customMissingValueTokens() throws {
        let options = CSVOptions(additionalNATokens: ["-999", "missing", "."], collation: .bytes)
        #expect(options.naTokens == ["NA", "", "NaN", "-999", "missing", "."])
        let table = try parse("x,g,y\n-999,missing,.\n1,a,2\n\"-999\",-999,3\n -999 ,b,4\n-9990,c,5\n", options: options)
        // " -999 " is not the token (tokens match whole fields) but is a number.
        #expect(same(numbers(table, "x"), [.nan, 1, .nan, -999, -9990]))
        #expect(same(numbers(table, "y"), [.nan, 2, 3, 4, 5]))
        let g = try #require(categorical(table, "g"))
        #expect(g.levels == ["a", "b", "c"])
        #expect(g.codes == [-1, 0, -1, 1, 2])
        // Without the option these are text.
        #expect(categorical(try parse("g\nmissing\n"), "g")?.levels == ["missing"])
    }

    @Test func replacedTokenListAndNaNAsNumber() throws {
        // With only "NA" as token, an empty field is blank (missing for numbers, a level
        // for text) and NaN is the number NaN.
        let options = CSVOptions(naTokens: ["NA"], collation: .bytes)
        let table = try parse("x,g\nNaN,\n,a\n1,NA\n", options: options)
        #expect(same(numbers(table, "x"), [.nan, .nan, 1]))
        let g = try #require(categorical(table, "g"))
        #expect(g.levels == ["", "a"])
        #expect(g.codes == [0, 1, -1])
    }

    @Test func columnWithOnlyMissingValuesIsNumeric() throws {
        let table = try parse("x,y\nNA,1\n,2\n\"\",3\n   ,4\n")
        #expect(same(numbers(table, "x"), [.nan, .nan, .nan, .nan]))
    }

    // MARK: Numbers

    @Test func numberSpellingsAsR() throws {
        let fields = ["1", "+5", " 7 ", "\"8\"", "\" 9\"", "Inf", "-Inf", "inf", "+Inf", "infinity", "1e3",
                      "1E-2", ".5", "5.", "-.25", "0x1A", "-0x10", "0x1.8p1", "1e400", "-1e400", "007",
                      "\t3\t", "123456789012345.6", "NaN", "nan", "1e", "1.5E+", "-2e-", "0x1p", "0x10p+"]
        let text = "x\n" + fields.joined(separator: "\n") + "\n"
        let values = try #require(numbers(try parse(text), "x"))
        let expected: [Double] = [1, 5, 7, 8, 9, .infinity, -.infinity, .infinity, .infinity, .infinity, 1000,
                                  0.01, 0.5, 5, -0.25, 26, -16, 3, .infinity, -.infinity, 7,
                                  3, 123456789012345.6, .nan, .nan, 1, 1.5, -2, 1, 16]
        #expect(same(values, expected), "\(values)")
    }

    @Test func fastFloatReadsDigitsExactly() throws {
        let values: [Double] = [0.1, 1.0 / 3, 2.0.squareRoot(), 123456.789012345, .leastNonzeroMagnitude,
                                1.7976931348623157e308, -2.2250738585072014e-308, 0.30000000000000004]
        let text = "x\n" + values.map { "\($0)" }.joined(separator: "\n")
        #expect(same(numbers(try parse(text), "x"), values))
        // Rounded to nearest, ties to even, as strtod.
        #expect(same(numbers(try parse("x\n9007199254740993\n4.9e-324\n"), "x"),
                     [9007199254740992, .leastNonzeroMagnitude]))
    }

    @Test func notNumbersMakeATextColumn() throws {
        for field in ["1.2.3", "1e+x", "Infe", "--1", "+-1", "++1", "1 2", "abc", "1,5x", "0x", "0xZ", "1d3", "- 1", "+", "-", ".", "1_000"] {
            let quoted = "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            let table = try parse("x\n1\n\(quoted)\n2\n")
            let column = try #require(categorical(table, "x"), "field \(field)")
            #expect(column.firstNonNumericRow == 1)
            #expect(column.levels == ["1", field, "2"].sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        }
    }

    @Test func mixedColumnKeepsOriginalSpellingsAsLevels() throws {
        // R: factor(c("1.0", "1", " 2", "a", "1")) has levels " 2", "1", "1.0", "a".
        let table = try parse("x,y\n1.0,1\n1,2\n 2,3\nNA,4\n,5\na,6\n1,7\n")
        let x = try #require(categorical(table, "x"))
        #expect(x.levels == [" 2", "1", "1.0", "a"])
        #expect(x.codes == [2, 1, 0, -1, -1, 3, 1])
        #expect(x.firstNonNumericRow == 5)
        #expect(!x.isLogical)
    }

    // MARK: Logical and text columns

    @Test func logicalColumns() throws {
        // As R 4.2.2's read.csv: a, b, c and d are logical; e, f, g are text.
        let table = try parse("""
            a,b,c,d,e,f,g
            TRUE,T,T,TRUE,TRUE,true,TRUE
            FALSE,F,FALSE,NA,1,false,True
            TRUE,,F,TRUE,FALSE,true,FALSE
            NA,T,  ,"TRUE",yes,NA,NA

            """)
        for name in ["a", "b", "c", "d"] {
            let column = try #require(categorical(table, name))
            #expect(column.isLogical, "\(name)")
            #expect(column.levels == ["FALSE", "TRUE"])
            #expect(column.firstNonNumericRow == 0)
        }
        #expect(categorical(table, "a")?.codes == [1, 0, 1, -1])
        #expect(categorical(table, "b")?.codes == [1, 0, -1, 1])
        #expect(categorical(table, "c")?.codes == [1, 0, 0, -1])
        #expect(categorical(table, "d")?.codes == [1, -1, 1, 1])
        let e = try #require(categorical(table, "e"))
        #expect(!e.isLogical)
        #expect(e.levels == ["1", "FALSE", "TRUE", "yes"])
        #expect(e.codes == [2, 0, 1, 3])
        #expect(e.firstNonNumericRow == 0)
        // R's as.logical reads these, but read.csv does not: they stay text.
        let f = try #require(categorical(table, "f"))
        #expect(!f.isLogical && f.levels == ["false", "true"] && f.codes == [1, 0, 1, -1])
        let g = try #require(categorical(table, "g"))
        #expect(!g.isLogical && g.levels == ["FALSE", "TRUE", "True"] && g.codes == [1, 2, 0, -1])
        // Only TRUE values: both levels all the same.
        let only = try #require(categorical(try parse("x\nTRUE\nT\n"), "x"))
        #expect(only.isLogical && only.levels == ["FALSE", "TRUE"] && only.codes == [1, 1])
    }

    @Test func textLevelsSortInByteOrder() throws {
        let values = ["b", "B", "a", "A", "é", "Z", "_", "日本", "😀", "a b", "a", "10", "9"]
        let text = "g\n" + values.joined(separator: "\n") + "\n"
        let g = try #require(categorical(try parse(text), "g"))
        #expect(g.levels == ["10", "9", "A", "B", "Z", "_", "a", "a b", "b", "é", "日本", "😀"])
        #expect(g.codes.map { g.levels[Int($0)] } == values)
        #expect(g.firstNonNumericRow == 0)
    }

    @Test func textKeepsSurroundingSpacesAndByteDistinctSpellings() throws {
        let table = try parse("g\na\n a\na \n\"e\u{301}\"\n\u{E9}\n   \n")
        let g = try #require(categorical(table, "g"))
        #expect(g.levels.map { Array($0.utf8) } == [Array("   ".utf8), Array(" a".utf8), Array("a".utf8),
                                                     Array("a ".utf8), Array("e\u{301}".utf8), Array("\u{E9}".utf8)])
        #expect(g.codes == [2, 1, 3, 4, 5, 0])
    }

    // MARK: Selection

    @Test func onlySelectedColumnsAreMaterialised() throws {
        var seen: [String] = []
        let table = try parse("a,b,c\n1,\"x\ny\",2\n3,z,4\n") { names in
            seen = names
            return [0, 2, 17]
        }
        #expect(seen == ["a", "b", "c"])
        #expect(table.columns.count == 3)
        #expect(table.columns[1] == nil)
        #expect(same(numbers(table, "a"), [1, 3]))
        #expect(same(numbers(table, "c"), [2, 4]))
        #expect(table.recordLines == [2, 4])
    }

    @Test func selectionErrorsArePassedOn() {
        #expect(throws: GLMError.unknownColumn(name: "q", suggestions: [])) {
            _ = try parse("a\n1\n") { _ in throw GLMError.unknownColumn(name: "q", suggestions: []) }
        }
    }

    @Test func skippedColumnsAreStillCountedAndNotDecoded() throws {
        // Invalid UTF-8 in a column nobody asked for is no error; a missing field still is.
        let bytes = Array("a,b\n1,".utf8) + [0xFF] + Array("\n2,x\n".utf8)
        let table = try parse(bytes) { _ in [0] }
        #expect(same(numbers(table, "a"), [1, 2]))
        let bad = Array("a,b\n1,x\n2\n".utf8)
        do {
            _ = try parse(bad) { _ in [0] }
            Issue.record("expected an error")
        } catch let error as GLMError {
            #expect(error == .raggedRow(source: "t.csv", line: 3, expected: 2, found: 1))
        }
    }

    // MARK: Errors

    @Test func emptyInput() {
        for bytes: [UInt8] in [[], [0xEF, 0xBB, 0xBF], Array("\n\n".utf8), Array("\r\n".utf8)] {
            let error = parseError(bytes)
            #expect(error == .emptyInput(source: "t.csv"))
            #expect(error?.exitStatus == 65)
        }
        #expect(GLMError.emptyInput(source: "t.csv").message == "t.csv is empty: expected a header line and at least one data row")
    }

    @Test func headerOnly() {
        for text in ["a,b", "a,b\n", "a,b\r\n\r\n\n"] {
            #expect(parseError(text) == .headerOnly(source: "t.csv"))
        }
        #expect(parseError("a,b\n")?.message == "t.csv has a header but no data rows")
        #expect(parseError("a,b\n")?.exitStatus == 65)
    }

    @Test func emptyColumnName() {
        #expect(parseError("a,,b\n1,2,3\n") == .emptyColumnName(source: "t.csv", column: 2))
        #expect(parseError("a,  \n1,2\n") == .emptyColumnName(source: "t.csv", column: 2))
        #expect(parseError("a,\"\"\n1,2\n") == .emptyColumnName(source: "t.csv", column: 2))
        #expect(parseError("\na\n1\n") == .emptyColumnName(source: "t.csv", column: 1))
        let error = parseError("a,,b\n1,2,3\n")
        #expect(error?.message == "t.csv, line 1: column 2 has an empty name; every column needs a name")
        #expect(error?.exitStatus == 65)
    }

    @Test func duplicateColumnName() {
        let error = parseError("a,b, a\n1,2,3\n")
        #expect(error == .duplicateColumnName(source: "t.csv", name: "a", firstColumn: 1, secondColumn: 3))
        #expect(error?.message == "t.csv, line 1: column name 'a' appears twice (columns 1 and 3); column names must be unique")
        #expect(error?.exitStatus == 65)
        // Names differ by case, or by bytes only: not duplicates.
        #expect(parseError("a,A,\u{E9},e\u{301}\n1,2,3,4\n") == nil)
    }

    @Test func raggedRows() {
        let few = parseError("a,b,c\n1,2,3\n4,5\n")
        #expect(few == .raggedRow(source: "t.csv", line: 3, expected: 3, found: 2))
        #expect(few?.message == "t.csv, line 3: expected 3 fields as in the header, found 2")
        #expect(few?.exitStatus == 65)
        #expect(parseError("a,b\n1,2\n3,4,5,\"6\n7\"\n") == .raggedRow(source: "t.csv", line: 3, expected: 2, found: 4))
        // Lines count the line breaks inside quotes and the skipped blank lines.
        #expect(parseError("a,b\n1,\"x\ny\"\n\n3\n") == .raggedRow(source: "t.csv", line: 5, expected: 2, found: 1))
        // A trailing separator is one more (empty) field.
        #expect(parseError("a,b\n1,2,\n") == .raggedRow(source: "t.csv", line: 2, expected: 2, found: 3))
        // A line of spaces is not blank.
        #expect(parseError("a,b\n1,2\n  \n") == .raggedRow(source: "t.csv", line: 3, expected: 2, found: 1))
    }

    @Test func unterminatedQuote() {
        let error = parseError("a,b\n1,2\n3,\"abc\n4,5\n\n")
        #expect(error == .unterminatedQuote(source: "t.csv", line: 3))
        #expect(error?.message == "t.csv, line 3: a quoted field starts here and is never closed")
        #expect(error?.exitStatus == 65)
        #expect(parseError("a,\"b\n1,2\n") == .unterminatedQuote(source: "t.csv", line: 1))
        #expect(parseError("a,b\n1,\"x\ny\",\"z\"\"\n") == .unterminatedQuote(source: "t.csv", line: 3))
    }

    @Test func invalidUTF8() {
        let inText = Array("a,g\n1,x\n2,".utf8) + [0xC3, 0x28] + Array("\n".utf8)
        let error = parseError(inText)
        #expect(error == .invalidUTF8(source: "t.csv", line: 3))
        #expect(error?.message == "t.csv, line 3: the text is not valid UTF-8")
        #expect(error?.exitStatus == 65)
        #expect(parseError(Array("a,".utf8) + [0xFF] + Array("\n1,2\n".utf8)) == .invalidUTF8(source: "t.csv", line: 1))
        // Overlong encodings, surrogates and truncated sequences are invalid too.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0x80]] {
            #expect(parseError(Array("g\nx\n\"".utf8) + bad + Array("\"\n".utf8)) == .invalidUTF8(source: "t.csv", line: 3))
        }
        // Found in a column that was numeric until then.
        #expect(parseError(Array("g\n1\n".utf8) + [0xFE] + Array("\n".utf8)) == .invalidUTF8(source: "t.csv", line: 3))
        // Well-formed multi-byte text is fine.
        #expect(parseError("g\n\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}\n") == nil)
    }

    // MARK: Files and streams

    private func temporaryFile(_ contents: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "glmfit-csv-\(UUID().uuidString).csv"
        try Data(contents).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func readsFileByPath() throws {
        let path = try temporaryFile(Array("x,g\n1,a\n2,\"b\nc\"\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let table = try CSVReader.read(path: path)
        #expect(table.source == path)
        #expect(same(numbers(table, "x"), [1, 2]))
        #expect(categorical(table, "g")?.levels == ["a", "b\nc"])
        let selected = try CSVReader.read(path: path, options: CSVOptions(additionalNATokens: ["a"])) { names in
            [try #require(names.firstIndex(of: "g"))]
        }
        #expect(selected.columns[0] == nil)
        #expect(categorical(selected, "g")?.codes == [-1, 0])
    }

    @Test func unreadableFiles() throws {
        let missing = "/nonexistent-dir/none.csv"
        #expect(throws: GLMError.fileNotFound(path: missing)) { try CSVReader.read(path: missing) }
        #expect(GLMError.fileNotFound(path: missing).exitStatus == 66)

        let directory = NSTemporaryDirectory()
        do {
            _ = try CSVReader.read(path: directory)
            Issue.record("a directory was read")
        } catch let error as GLMError {
            #expect(error == .unreadableInput(source: directory, reason: "it is a directory, not a file"))
            #expect(error.exitStatus == 66)
        }

        let path = try temporaryFile(Array("a\n1\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(chmod(path, 0) == 0)
        if getuid() != 0 {  // root reads anything
            #expect(throws: GLMError.unreadableInput(source: path, reason: "permission denied")) {
                try CSVReader.read(path: path)
            }
        }

        let empty = try temporaryFile([])
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: GLMError.emptyInput(source: empty)) { try CSVReader.read(path: empty) }
    }

    @Test func readsAPipeWholeAsStandardInputIsRead() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        // Larger than a pipe's buffer and the reader's first block, so both must grow.
        var text = "x,g\n"
        for i in 0..<40_000 { text += "\(i),\"v\(i % 7)\"\n" }
        let bytes = Array(text.utf8)
        let writeEnd = fds[1]
        let writer = Thread {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    guard let base = raw.baseAddress else { break }
                    let n = write(writeEnd, base + offset, raw.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
            close(writeEnd)
        }
        writer.start()
        let input = try CSVInputBuffer.load(fd: fds[0], source: "<stdin>")
        close(fds[0])
        let table = try withExtendedLifetime(input) {
            try CSVReader.read(bytes: input.bytes, source: "<stdin>", select: { _ in nil })
        }
        #expect(table.rowCount == 40_000)
        #expect(table.source == "<stdin>")
        #expect(numbers(table, "x")?.last == 39_999)
        #expect(categorical(table, "g")?.levels.count == 7)
    }

    @Test func regularFileDescriptorIsMappedFromItsOffset() throws {
        let path = try temporaryFile(Array("skip me\nx\n1\n2\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(lseek(fd, 8, SEEK_SET) == 8)
        let input = try CSVInputBuffer.load(fd: fd, source: "<stdin>")
        let table = try withExtendedLifetime(input) {
            try CSVReader.read(bytes: input.bytes, source: "<stdin>", select: { _ in nil })
        }
        #expect(same(numbers(table, "x"), [1, 2]))
    }
}

// MARK: Random tables

/// A random table, its CSV spelling and the `Table` the reader must return for it.
struct RandomCSV {
    var bytes: [UInt8] = []
    var names: [String] = []
    var expected: [Column] = []
    var recordLines: [Int]?
    var rowCount = 0

    private enum Kind: CaseIterable { case numeric, text, logical, missing }

    /// - Parameter multiline: how often a text value holds a line break (to stress chunk
    ///   boundaries).
    init(using rng: inout SplitMix64, maxRows: Int = 25, maxColumns: Int = 6, multiline: Double = 0.1) {
        let columnCount = Int.random(in: 1...maxColumns, using: &rng)
        rowCount = Int.random(in: 1...maxRows, using: &rng)
        let eol = Bool.random(using: &rng) ? "\r\n" : "\n"
        let kinds = (0..<columnCount).map { _ in Kind.allCases.randomElement(using: &rng) ?? .numeric }
        names = (0..<columnCount).map { "c\($0)" + (Bool.random(using: &rng) ? " é" : "") }

        var cells = Array(repeating: [String](), count: rowCount)
        for kind in kinds {
            var pool: [String] = []
            if kind == .text {
                let alphabet = ["a", "b", "Z", " ", ",", "\"", "\(eol)", "é", "日", "😀", "-", "1", "NA"]
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    var s = "x"
                    for _ in 0..<Int.random(in: 0...6, using: &rng) {
                        var piece = alphabet.randomElement(using: &rng) ?? "a"
                        if piece == eol, Double.random(in: 0..<1, using: &rng) >= multiline { piece = "q" }
                        s += piece
                    }
                    pool.append(s)
                }
            }
            var values: [Double] = []
            var texts: [String?] = []
            var logicals: [Int32] = []
            for r in 0..<rowCount {
                let missing = kind == .missing || Double.random(in: 0..<1, using: &rng) < 0.15
                if missing {
                    let token = ["NA", "", "NaN"].randomElement(using: &rng) ?? "NA"
                    let quote = Bool.random(using: &rng)
                    cells[r].append(quote ? "\"\(token)\"" : token)
                    values.append(.nan)
                    texts.append(nil)
                    logicals.append(-1)
                    continue
                }
                switch kind {
                case .numeric:
                    let value = RandomCSV.randomNumber(using: &rng)
                    values.append(value)
                    cells[r].append(RandomCSV.spell(number: value, using: &rng))
                case .text:
                    let value = pool.randomElement(using: &rng) ?? "x"
                    texts.append(value)
                    cells[r].append(RandomCSV.quote(value, eol: eol, using: &rng))
                case .logical:
                    let spellings = ["TRUE", "FALSE", "T", "F"]
                    let spelling = spellings.randomElement(using: &rng) ?? "T"
                    logicals.append(["TRUE", "T"].contains(spelling) ? 1 : 0)
                    cells[r].append(Bool.random(using: &rng) ? "\"\(spelling)\"" : spelling)
                case .missing:
                    break
                }
            }
            switch kind {
            case .numeric, .missing:
                expected.append(.numeric(values))
            case .text:
                let used = Set(texts.compactMap { $0 })
                if used.isEmpty {
                    expected.append(.numeric(Array(repeating: .nan, count: rowCount)))
                } else {
                    let levels = used.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                    let codes = texts.map { t in t.flatMap { levels.firstIndex(of: $0) }.map { Int32($0) } ?? -1 }
                    let first = texts.firstIndex { $0 != nil }
                    expected.append(.categorical(CategoricalColumn(codes: codes, levels: levels, firstNonNumericRow: first)))
                }
            case .logical:
                if logicals.allSatisfy({ $0 < 0 }) {
                    expected.append(.numeric(Array(repeating: .nan, count: rowCount)))
                } else {
                    let first = logicals.firstIndex { $0 >= 0 }
                    expected.append(.categorical(CategoricalColumn(codes: logicals, levels: ["FALSE", "TRUE"],
                                                                   isLogical: true, firstNonNumericRow: first)))
                }
            }
        }

        var text = Bool.random(using: &rng) ? "\u{FEFF}" : ""
        text += names.map { name in
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: return name
            case 1: return " \(name) "
            default: return "\"\(name)\""
            }
        }.joined(separator: ",") + eol
        var line = 2
        var lines: [Int] = []
        for r in 0..<rowCount {
            while Double.random(in: 0..<1, using: &rng) < 0.05 {
                text += eol
                line += 1
            }
            var record = cells[r].joined(separator: ",")
            // A record that is one empty field would be a blank line, which is skipped.
            if record.isEmpty { record = "NA" }
            lines.append(line)
            line += 1 + record.components(separatedBy: eol).count - 1
            text += record
            if r < rowCount - 1 || Bool.random(using: &rng) { text += eol }
        }
        if Bool.random(using: &rng) { text += eol + eol }
        recordLines = lines == (0..<rowCount).map { $0 + 2 } ? nil : lines
        bytes = Array(text.utf8)
    }

    private static func randomNumber(using rng: inout SplitMix64) -> Double {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return Double(Int.random(in: -1000...1000, using: &rng))
        case 1: return Double.random(in: -1e6...1e6, using: &rng)
        case 2: return Double.random(in: 0..<1, using: &rng) * pow(10, Double(Int.random(in: -300...300, using: &rng)))
        case 3: return Double(Float.random(in: -100...100, using: &rng))
        case 4: return [Double.infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude].randomElement(using: &rng) ?? 0
        default: return (Double.random(in: -1...1, using: &rng) * 1e15).rounded() / 1e5
        }
    }

    private static func spell(number value: Double, using rng: inout SplitMix64) -> String {
        var s: String
        if value.isInfinite {
            s = (value < 0 ? "-" : "") + (["Inf", "inf", "Infinity"].randomElement(using: &rng) ?? "Inf")
        } else {
            s = "\(value)"
        }
        if value.sign == .plus, Int.random(in: 0..<8, using: &rng) == 0 { s = "+" + s }
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: s = " \(s) "
        case 1: s = "\"\(s)\""
        case 2: s = " \"\(s)\" "
        case 3: s = "\" \(s)\""
        default: break
        }
        return s
    }

    private static func quote(_ value: String, eol: String, using rng: inout SplitMix64) -> String {
        let needs = value.contains(",") || value.contains("\"") || value.contains(eol) || value.contains("\r")
        if !needs, Bool.random(using: &rng) { return value }
        let body = "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        return Int.random(in: 0..<6, using: &rng) == 0 ? " \(body)  " : body
    }
}

@Suite("CSV reader, random tables")
struct CSVRandomTableTests {
    @Test func randomTablesReadBackExactly() throws {
        var rng = SplitMix64(seed: 20_240_601)
        var seen = (text: 0, logical: 0, numeric: 0, multiline: 0, crlf: 0, bom: 0, quoted: 0)
        for iteration in 0..<3000 {
            let csv = RandomCSV(using: &rng)
            for column in csv.expected {
                switch column {
                case let .categorical(c): if c.isLogical { seen.logical += 1 } else { seen.text += 1 }
                case .numeric: seen.numeric += 1
                }
            }
            if csv.recordLines != nil { seen.multiline += 1 }
            if csv.bytes.contains(0x0D) { seen.crlf += 1 }
            if csv.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { seen.bom += 1 }
            if csv.bytes.contains(0x22) { seen.quoted += 1 }
            let selectAll = Bool.random(using: &rng)
            let selection = Set((0..<csv.names.count).filter { _ in Bool.random(using: &rng) })
            let table: Table
            do {
                table = try parse(csv.bytes) { names in
                    #expect(names == csv.names)
                    return selectAll ? nil : selection
                }
            } catch {
                Issue.record("iteration \(iteration): \(error)\n\(String(decoding: csv.bytes, as: UTF8.self))")
                continue
            }
            #expect(table.columnNames == csv.names)
            #expect(table.rowCount == csv.rowCount)
            #expect(table.recordLines == csv.recordLines, "iteration \(iteration)")
            for c in csv.names.indices {
                let expected: Column? = selectAll || selection.contains(c) ? csv.expected[c] : nil
                if !same(table.columns[c], expected) {
                    Issue.record("""
                        iteration \(iteration), column \(c): got \(describe(table.columns[c]))
                        expected \(describe(expected))
                        \(String(decoding: csv.bytes, as: UTF8.self).debugDescription)
                        """)
                }
            }
        }
        // The generator does reach every feature often.
        #expect(seen.text > 1000 && seen.logical > 1000 && seen.numeric > 2000)
        #expect(seen.multiline > 300 && seen.crlf > 1000 && seen.bom > 1000 && seen.quoted > 2000)
    }
}

// MARK: Chunked parsing

/// The outcome of a parse, for comparing a chunked parse with a serial one.
private enum Outcome {
    case table(Table)
    case failure(GLMError)

    init(_ bytes: [UInt8], tuning: CSVReader.Tuning) {
        do {
            self = .table(try parse(bytes, tuning: tuning))
        } catch let error as GLMError {
            self = .failure(error)
        } catch {
            self = .failure(.fitFailed(message: "\(error)"))
        }
    }

    func matches(_ other: Outcome) -> Bool {
        switch (self, other) {
        case let (.table(a), .table(b)): return same(a, b)
        case let (.failure(a), .failure(b)): return a == b
        default: return false
        }
    }
}

private func chunked(_ count: Int) -> CSVReader.Tuning {
    CSVReader.Tuning(chunkCount: count, minimumParallelBytes: 0)
}

@Suite("CSV reader, chunked parsing")
struct CSVChunkedParsingTests {
    /// A mapped file's pages are dropped behind the parse (here every 4 KiB, in four chunks):
    /// the table must be the one read from the same bytes in memory, also when a chunk's
    /// guessed start falls inside a quoted field (parsed again) and when a column turns to
    /// text late (its early rows read again for their codes).
    @Test func droppingReadPagesOfAMappedFileChangesNothing() throws {
        var rng = SplitMix64(seed: 4_096)
        var lines = ["a,b,note,c"]
        for row in 0..<12_000 {
            let a = Double(Int.random(in: -999_999...999_999, using: &rng)) / 1_000
            let b = row == 11_500 ? "late text" : String(Int.random(in: 0...99, using: &rng))
            let note = row % 997 == 0 ? "\"two\nlines, \"\"quoted\"\"\"" : "n\(row % 7)"
            lines.append("\(a),\(b),\(note),\(row)")
        }
        let text = lines.joined(separator: "\n") + "\n"
        let path = NSTemporaryDirectory() + "glmfit-pages-\(UUID().uuidString).csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var tuning = CSVReader.Tuning(chunkCount: 4, minimumParallelBytes: 0)
        tuning.pageReleaseBytes = 4_096
        let mapped = try CSVReader.read(path: path, options: .init(), tuning: tuning, select: { _ in nil })
        let inMemory = try parse(text)
        #expect(mapped.rowCount == 12_000)
        #expect(same(Table(source: "t.csv", columnNames: mapped.columnNames, columns: mapped.columns,
                           rowCount: mapped.rowCount, recordLines: mapped.recordLines), inMemory))
        if case let .categorical(b)? = mapped.column(named: "b") {
            #expect(b.levels.contains("late text") && b.firstNonNumericRow == 11_500)
        } else {
            Issue.record("column b should be text")
        }
    }

    @Test func chunkedParseEqualsSerialParseOnRandomTables() throws {
        var rng = SplitMix64(seed: 77)
        for iteration in 0..<600 {
            // Many quoted line breaks, so that guessed boundaries often fall inside quotes.
            let csv = RandomCSV(using: &rng, maxRows: 120, maxColumns: 5, multiline: 0.6)
            let serial = Outcome(csv.bytes, tuning: .serial)
            guard case let .table(table) = serial else {
                Issue.record("iteration \(iteration): \(serial)")
                continue
            }
            #expect(table.recordLines == csv.recordLines)
            for chunks in 2...7 {
                let parallel = Outcome(csv.bytes, tuning: chunked(chunks))
                #expect(parallel.matches(serial), "iteration \(iteration), \(chunks) chunks")
            }
        }
    }

    @Test func chunkedParseReportsTheSameFirstError() throws {
        var rng = SplitMix64(seed: 4242)
        var failures = 0
        for iteration in 0..<600 {
            let csv = RandomCSV(using: &rng, maxRows: 80, maxColumns: 4, multiline: 0.4)
            var bytes = csv.bytes
            // One or two corruptions anywhere after the first byte: a dropped or extra
            // separator, a stray quote, an invalid byte.
            for _ in 0..<Int.random(in: 1...2, using: &rng) {
                let at = Int.random(in: 1..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: if let comma = bytes[at...].firstIndex(of: 0x2C) { bytes.remove(at: comma) }
                case 1: bytes.insert(0x2C, at: at)
                case 2: bytes.insert(0x22, at: at)
                default: bytes.insert(0xFF, at: at)
                }
            }
            let serial = Outcome(bytes, tuning: .serial)
            if case .failure = serial { failures += 1 }
            for chunks in [2, 3, 5] {
                #expect(Outcome(bytes, tuning: chunked(chunks)).matches(serial),
                        "iteration \(iteration), \(chunks) chunks: \(bytes)")
            }
        }
        #expect(failures > 300)
    }

    /// Numeric columns parsed straight into their final arrays (each chunk at the row its line
    /// breaks give) must equal the copied ones: plain files (the arrays then are the parse's,
    /// with room to spare), blank lines and quoted line breaks (rows moved up), CR line ends
    /// (more records than line feeds: copied instead), a last chunk of short rows after long
    /// ones (it outgrows its room: copied), missing and infinite values.
    @Test func columnsParsedInPlaceEqualCopiedColumns() throws {
        func table(_ rows: Int, _ line: (Int) -> String, separator: String = "\n") -> String {
            "a,b,c" + separator + (0..<rows).map(line).joined(separator: separator) + separator
        }
        let plain = table(3_000) { "\($0),\(Double($0) / 8),\(-$0)" }
        let blankLines = table(3_000) { $0 % 301 == 0 ? "\n\($0),1.5,2" : "\($0),\($0 % 9),NA" }
        let quoted = "a,b,note,c\n" + (0..<2_000).map { "\($0),\($0 * 3),\($0 % 250 == 0 ? "\"x\ny\"" : "z"),-1\n" }.joined()
        let carriageReturns = table(2_000, { "\($0),\($0 % 5),Inf" }, separator: "\r")
        let shortTail = table(4_000) { $0 < 3_000 ? "\($0)\(String(repeating: "0", count: 40)),1,2" : "\($0 % 10),1,2" }
        let cases = [("plain", plain, true), ("blank lines", blankLines, true), ("quoted", quoted, true),
                     ("CR", carriageReturns, false), ("short tail", shortTail, false)]
        for (name, text, inPlace) in cases {
            let serial = try parse(text)
            for chunks in 1...5 {
                let parallel = try parse(text, tuning: chunked(chunks))
                #expect(same(parallel, serial), "\(name), \(chunks) chunks")
                #expect(parallel.finiteColumns == serial.finiteColumns, "\(name), \(chunks) chunks")
                // The arrays the parse filled keep their room; copies are made to measure.
                if inPlace, chunks <= 2, case let .numeric(values)? = parallel.columns[0] {
                    #expect(values.capacity > values.count, "\(name), \(chunks) chunks: copied")
                }
            }
        }
    }

    /// Chunks of a few hundred bytes, taken in turn by the cores, each placed at the line
    /// breaks the chunks before it counted: the table of a serial parse, for plain rows,
    /// blank lines and quoted line breaks (rows moved up), and where the line density sampled
    /// across the input underestimates the rows (short lines hidden between the sampled
    /// windows: the chunks past the arrays' room are parsed into their own buffers and copied).
    @Test func smallChunksTakenInTurnEqualSerialParse() throws {
        func table(_ rows: Int, _ line: (Int) -> String) -> String {
            "a,b,c\n" + (0..<rows).map(line).joined(separator: "\n") + "\n"
        }
        let plain = table(3_000) { "\($0),\(Double($0) / 8),\(-$0)" }
        let blankLines = table(3_000) { $0 % 301 == 0 ? "\n\($0),1.5,2" : "\($0),\($0 % 9),NA" }
        let quoted = "a,b,note,c\n" + (0..<2_000).map { "\($0),\($0 * 3),\($0 % 250 == 0 ? "\"x\ny\"" : "z"),-1\n" }.joined()
        // 10,000 lines of 200 bytes, with 10,000 lines of 6 bytes at ~70 to ~130 KB, between
        // the first two of the 16 sampled windows (64 KiB every ~133 KB): room for about
        // 13,500 rows, 20,000 to read.
        let long = String(repeating: "0", count: 190)
        let hidden = table(20_000) { i in
            (350..<10_350).contains(i) ? "\(i % 10),1,2" : "\(i % 10)\(long),\(i % 7),\(i % 3)"
        }
        let hiddenBytes = Array(hidden.utf8)
        hiddenBytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let parser = CSVChunkParser(base: base, count: buffer.count, kinds: [.numeric, .numeric, .numeric],
                                        na: NATokenSet(CSVOptions.defaultNATokens), pageReleaseBytes: nil)
            let room = CSVReader.ColumnLayout(parser, bounds: [6, buffer.count])?.capacity ?? 0
            #expect(room > 10_000 && room < 15_000, "room for \(room) rows")
        }
        for (name, text) in [("plain", plain), ("blank lines", blankLines), ("quoted", quoted), ("hidden short lines", hidden)] {
            let serial = try parse(text)
            for chunkBytes in [300, 4_096] {
                var tuning = CSVReader.Tuning(chunkCount: 2, minimumParallelBytes: 0)
                tuning.chunkBytes = chunkBytes
                let parallel = try parse(text, tuning: tuning)
                #expect(same(parallel, serial), "\(name), chunks of \(chunkBytes) bytes")
                #expect(parallel.finiteColumns == serial.finiteColumns, "\(name), chunks of \(chunkBytes) bytes")
                // The arrays the parse filled keep their room.
                if name == "plain", case let .numeric(values)? = parallel.columns[0] {
                    #expect(values.capacity > values.count, "\(name), chunks of \(chunkBytes) bytes: copied")
                }
            }
        }
    }

    @Test func quotedLineBreaksAcrossTheGuessedBoundary() throws {
        // One long quoted field holding most of the line breaks: every guessed boundary
        // falls inside it, and the chunks after it must be parsed again.
        var text = "id,note,x\n"
        for i in 0..<20 { text += "\(i),plain,\(i).5\n" }
        text += "20,\"" + String(repeating: "inside\n", count: 200) + "\",1\n"
        for i in 21..<40 { text += "\(i),\"a\nb\",\(i)\n" }
        let bytes = Array(text.utf8)
        let serial = try parse(bytes, tuning: .serial)
        #expect(serial.rowCount == 40)
        #expect(serial.line(ofRow: 21) == 223)
        for chunks in 2...8 {
            let parallel = try parse(bytes, tuning: chunked(chunks))
            #expect(same(parallel, serial), "\(chunks) chunks")
        }
    }

    @Test func columnsThatChangeKindInLaterChunks() throws {
        // x: numbers, then text only near the end; y: text only at the start; z: logical
        // values only at the start; w: levels met in different orders in each chunk.
        var text = "x,y,z,w\n"
        for i in 0..<400 {
            let x = i == 390 ? "oops" : (i % 3 == 0 ? "\(i).0" : "\(i)")
            let y = i < 2 ? "txt" : "\(i)"
            let z = i < 5 ? "TRUE" : "NA"
            let w = ["d", "c", "b", "a"][(i < 200 ? i : 399 - i) % 4]
            text += "\(x),\(y),\(z),\(w)\n"
        }
        let bytes = Array(text.utf8)
        let serial = try parse(bytes, tuning: .serial)
        let x = try #require(categorical(serial, "x"))
        #expect(x.firstNonNumericRow == 390)
        #expect(x.levels.count == 400)
        #expect(x.codes.map { x.levels[Int($0)] }[3] == "3.0")
        #expect(categorical(serial, "y")?.firstNonNumericRow == 0)
        #expect(categorical(serial, "z")?.isLogical == true)
        #expect(categorical(serial, "z")?.codes.filter { $0 == 1 }.count == 5)
        #expect(categorical(serial, "w")?.levels == ["a", "b", "c", "d"])
        for chunks in 2...6 {
            #expect(same(try parse(bytes, tuning: chunked(chunks)), serial), "\(chunks) chunks")
        }
    }

    @Test func automaticTuningSplitsLargeInputsIdentically() throws {
        // About 6 MB: over the threshold for a parallel parse.
        var text = "a,b,g,t\n"
        var rng = SplitMix64(seed: 9)
        for i in 0..<150_000 {
            let g = ["alpha", "beta", "gamma", "\"de,lta\""][Int.random(in: 0..<4, using: &rng)]
            let t = i % 5000 == 17 ? "\"multi\nline\"" : "T"
            text += "\(Double.random(in: -1e3...1e3, using: &rng)),\(i),\(g),\(t)\n"
        }
        let bytes = Array(text.utf8)
        #expect(bytes.count > CSVReader.Tuning.automatic.minimumParallelBytes)
        let serial = try parse(bytes, tuning: .serial)
        let automatic = try bytes.withUnsafeBytes { raw in
            try CSVReader.read(bytes: raw, source: "t.csv", options: CSVOptions(collation: .bytes))
        }
        #expect(same(automatic, serial))
        #expect(serial.rowCount == 150_000)
        #expect(categorical(serial, "g")?.levels == ["alpha", "beta", "de,lta", "gamma"])
        #expect(serial.recordLines?.last == 150_000 + 1 + 30)
    }
}

// MARK: Number parsing

@Suite("CSV reader, number parsing")
struct CSVNumberParsingTests {
    /// The inline fast path must give fast_float's answer, bit for bit and byte for byte.
    @Test func inlineFastPathAgreesWithFastFloat() {
        var rng = SplitMix64(seed: 31)
        let digits = Array("0123456789")
        var checked = 0
        for _ in 0..<200_000 {
            var s = Bool.random(using: &rng) ? "-" : ""
            let integerDigits = Int.random(in: 0...12, using: &rng)
            for _ in 0..<integerDigits { s.append(digits[Int.random(in: 0..<10, using: &rng)]) }
            if Int.random(in: 0..<5, using: &rng) > 0 {
                s += "."
                for _ in 0..<Int.random(in: 0...14, using: &rng) { s.append(digits[Int.random(in: 0..<10, using: &rng)]) }
            }
            switch Int.random(in: 0..<12, using: &rng) {
            case 0: s += "e\(Int.random(in: -30...30, using: &rng))"
            case 1: s += ","
            case 2: s += "x"
            case 3: s += "."
            case 4: s += "E"
            default: break
            }
            let bytes = Array(s.utf8)
            bytes.withUnsafeBufferPointer { buffer in
                guard let start = buffer.baseAddress else { return }
                var inline = 0.0
                var reference = 0.0
                let a = FastFloat.parsePrefix(start, start + buffer.count, &inline)
                let b = FastFloat.parseWithFastFloat(start, start + buffer.count, &reference)
                #expect(a == b, "\(s)")
                if a > 0 {
                    #expect(inline.bitPattern == reference.bitPattern, "\(s): \(inline) vs \(reference)")
                    checked += 1
                }
            }
        }
        #expect(checked > 100_000)
    }

    /// The SIMD window (16 readable bytes) must agree with the byte-by-byte parser and with
    /// fast_float, bit for bit and byte for byte, whatever follows the number in the window.
    @Test func simdWindowAgreesWithByteByByteAndFastFloat() {
        var rng = SplitMix64(seed: 20_261_122)
        let digits = Array("0123456789")
        let followers = Array(",\n\r\" -+eE.x0123456789;\t")
        var windowed = 0
        for _ in 0..<300_000 {
            var s = Int.random(in: 0..<3, using: &rng) == 0 ? "-" : ""
            if Int.random(in: 0..<50, using: &rng) == 0 { s += "-" }
            for _ in 0..<Int.random(in: 0...9, using: &rng) { s.append(digits[Int.random(in: 0..<10, using: &rng)]) }
            if Int.random(in: 0..<6, using: &rng) > 0 {
                s += "."
                for _ in 0..<Int.random(in: 0...12, using: &rng) { s.append(digits[Int.random(in: 0..<10, using: &rng)]) }
            }
            // Then anything at all: the window reads past the number.
            for _ in 0..<Int.random(in: 0...20, using: &rng) { s.append(followers[Int.random(in: 0..<followers.count, using: &rng)]) }
            let bytes = Array(s.utf8)
            bytes.withUnsafeBufferPointer { buffer in
                guard let start = buffer.baseAddress else { return }
                let end = start + buffer.count
                var fast = 0.0, byteByByte = 0.0, reference = 0.0
                var direct = 0.0
                if glm_parse_short_decimal(start, end, &direct) > 0 { windowed += 1 }
                let a = FastFloat.parsePrefix(start, end, &fast)
                let b = FastFloat.parsePrefixByteByByte(start, end, &byteByByte)
                let c = FastFloat.parseWithFastFloat(start, end, &reference)
                #expect(a == b && b == c, "\(s): \(a) \(b) \(c)")
                if a > 0, a == c {
                    #expect(fast.bitPattern == reference.bitPattern, "\(s): \(fast) vs \(reference)")
                    #expect(byteByByte.bitPattern == reference.bitPattern, "\(s): \(byteByByte) vs \(reference)")
                }
            }
        }
        // Most of the inputs are ones the window must take.
        #expect(windowed > 100_000)
    }

    /// Four fields at once (AVX-512) must give what one field at a time gives, bit for bit and
    /// byte for byte, and take every run of four plain decimals that fits in 64 bytes.
    @Test func fourFieldParserAgreesWithOneFieldAtATime() {
        var rng = SplitMix64(seed: 20_261_122_4)
        let digits = Array("0123456789")
        let odd = ["", "+1", "1e5", " 1", "1 ", "\"2\"", "1..2", "--1", "-", ".", "1-2", "NA", "1\n2", "-.", "0x1", "inf",
                   "12345678901234567", "1234567890123456", "-.1234567890123456"]
        func plainField() -> String {
            var s = Int.random(in: 0..<3, using: &rng) == 0 ? "-" : ""
            let count = Int.random(in: 1...15, using: &rng)
            let dot = Int.random(in: 0..<3, using: &rng) == 0 ? nil : Int.random(in: 0...count, using: &rng)
            for k in 0..<count {
                if k == dot { s += "." }
                s.append(digits[Int.random(in: 0..<10, using: &rng)])
            }
            if dot == count { s += "." }
            return s
        }
        let available = glm_parse_four_decimals_available() != 0
        var taken = 0
        var plainRuns = 0
        for _ in 0..<20_000 {
            let fields = (0..<8).map { _ in
                Int.random(in: 0..<12, using: &rng) == 0 ? odd[Int.random(in: 0..<odd.count, using: &rng)] : plainField()
            }
            let bytes = Array((fields.joined(separator: ",") + ",\n" + String(repeating: "9", count: 64)).utf8)
            bytes.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                let end = base + buffer.count
                var offset = 0
                for first in 0..<5 {
                    defer { offset += fields[first].utf8.count + 1 }
                    var four = [Double](repeating: 0, count: 4)
                    let consumed = four.withUnsafeMutableBufferPointer { parseDecimalRun(base + offset, end, 4, $0.baseAddress) }
                    let run = fields[first..<(first + 4)]
                    func isPlain(_ field: String) -> Bool {
                        let body = field.hasPrefix("-") ? field.dropFirst() : Substring(field)
                        let digitCount = body.filter(\.isNumber).count
                        return (1...15).contains(digitCount) && body.allSatisfy { $0.isNumber || $0 == "." }
                            && body.filter { $0 == "." }.count <= 1
                    }
                    // The first one to three fields alone: taken exactly when they are plain and
                    // fit, with the values one field at a time gives; the slots after untouched.
                    for count in 1...3 {
                        let head = Array(run.prefix(count))
                        var values = [Double](repeating: 42, count: 4)
                        let consumed = values.withUnsafeMutableBufferPointer {
                            parseDecimalRun(base + offset, end, count, $0.baseAddress)
                        }
                        let length = head.reduce(0) { $0 + $1.utf8.count + 1 }
                        let expected = available && head.allSatisfy(isPlain) && length <= 64 ? length : 0
                        #expect(consumed == expected, "\(head)")
                        #expect(values[count...].allSatisfy { $0 == 42 })
                        if consumed > 0 {
                            var p = base + offset
                            for (k, field) in head.enumerated() {
                                var single = 0.0
                                p += FastFloat.parsePrefix(p, end, &single) + 1
                                #expect(values[k].bitPattern == single.bitPattern, "\(field)")
                            }
                        }
                    }
                    let isPlain = run.allSatisfy(isPlain)
                    let length = run.reduce(0) { $0 + $1.utf8.count + 1 }
                    if isPlain, length <= 64 {
                        plainRuns += 1
                        if available { #expect(consumed == length, "\(run)") }
                    }
                    guard consumed > 0 else { continue }
                    taken += 1
                    #expect(consumed == length, "\(run)")
                    var p = base + offset
                    for (k, field) in run.enumerated() {
                        var single = 0.0
                        let n = FastFloat.parsePrefix(p, end, &single)
                        #expect(n == field.utf8.count && p[n] == UInt8(ascii: ","), "\(field)")
                        #expect(four[k].bitPattern == single.bitPattern, "\(field): \(four[k]) vs \(single)")
                        p += n + 1
                    }
                }
            }
        }
        #expect(plainRuns > 20_000)
        if available { #expect(taken >= plainRuns) } else { #expect(taken == 0) }
    }

    /// The edges of the four-field window, field by field against one field at a time: the
    /// fourth comma on the window's last byte, dots first and last, 15 digits all decimals,
    /// a lone digit; and runs it must leave alone (a field of 16 digits, two dots in one field
    /// next to fields without, an empty field, a sign inside a field).
    @Test func fourFieldParserEdges() {
        guard glm_parse_four_decimals_available() != 0 else { return }
        let taken = [["-1234567.890123", "-.1234567890123", "12345678901234.", "-0.000000000001"],
                     [".5", "5.", "-.5", "7"], ["0", "-0", "0.0", "-0.0"],
                     ["1", "2", "3", "-123456789012345"], ["1.5", "2", "3.25", "4"],
                     [".123456789012345", "-.000000000000001", "1", "2"]]
        let refused = [["1234567890123456", "1", "2", "3"], ["1.2.3", "1", "2", "3"], ["1", "2.5", "3", "4.4.4"],
                       ["1", "", "2", "3"], ["1", "2-3", "4", "5"], ["1", "2", "3", "-"], ["1", "2", "3", "."]]
        for (fields, expected) in taken.map({ ($0, true) }) + refused.map({ ($0, false) }) {
            let run = fields.joined(separator: ",") + ","
            let bytes = Array((run + "\n" + String(repeating: "9", count: 64)).utf8)
            bytes.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                var four = [Double](repeating: 0, count: 4)
                let consumed = four.withUnsafeMutableBufferPointer {
                    parseDecimalRun(base, base + buffer.count, 4, $0.baseAddress)
                }
                #expect(consumed == (expected ? run.utf8.count : 0), "\(fields)")
                guard consumed > 0 else { return }
                var p = base
                for (k, field) in fields.enumerated() {
                    var single = 0.0
                    let n = FastFloat.parsePrefix(p, base + buffer.count, &single)
                    #expect(n == field.utf8.count, "\(field)")
                    #expect(four[k].bitPattern == single.bitPattern, "\(field): \(four[k]) vs \(single)")
                    p += n + 1
                }
            }
        }
        #expect("-1234567.890123,-.1234567890123,12345678901234.,-0.000000000001,".utf8.count == 64)
    }

    /// The reader marks the numeric columns with no missing or infinite value (the model frame
    /// then skips its scan of them); a value anywhere in any chunk unmarks the column.
    @Test func finiteColumnsAreMarked() throws {
        var lines = ["a,b,c,d,e"]
        for row in 0..<400 {
            let b = row == 377 ? "NA" : "\(row)"
            let c = row == 5 ? "Inf" : "\(row).5"
            let e = row == 399 ? "" : "-\(row)"
            lines.append("\(row),\(b),\(c),x\(row % 3),\(e)")
        }
        let text = lines.joined(separator: "\n") + "\n"
        for tuning in [CSVReader.Tuning.serial, CSVReader.Tuning(chunkCount: 4, minimumParallelBytes: 0)] {
            let table = try parse(text, tuning: tuning)
            #expect(table.finiteColumns == [0], "\(tuning.chunkCount) chunks")
        }
    }

    /// A table read four fields at a time gives each field's own number.
    @Test func wideNumericTableMatchesFieldByField() throws {
        var rng = SplitMix64(seed: 4_040_404)
        var lines = ["a,b,c,d,e,f,g,h,i"]
        var expected: [[Double]] = Array(repeating: [], count: 9)
        for _ in 0..<3_000 {
            var fields: [String] = []
            for column in 0..<9 {
                let value = Double(Int.random(in: -9_999_999...9_999_999, using: &rng)) / 1_000
                let text = Int.random(in: 0..<40, using: &rng) == 0 ? "NA" : String(value)
                fields.append(text)
                expected[column].append(text == "NA" ? .nan : value)
            }
            lines.append(fields.joined(separator: ","))
        }
        let table = try parse(lines.joined(separator: "\n") + "\n")
        for (column, name) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"].enumerated() {
            #expect(same(numbers(table, name), expected[column]), "\(name)")
        }
    }

    /// The leading numeric columns are written by row, four fields at a time where it can,
    /// and their counts set only when something else appends: each field must still be its
    /// own number when the C loop stops mid-record (exponents and 17 digits, read by
    /// fast_float; missing values, quotes and blanks, read by the general loop), when a
    /// leading column turns to text (the columns before it stay numeric), and in every
    /// chunking, whether the columns are filled in place or copied.
    @Test func leadingColumnsWrittenByRowMatchFieldByField() throws {
        var rng = SplitMix64(seed: 5_150)
        let names = ["a", "b", "c", "d", "e", "f", "g"]
        var lines = [names.joined(separator: ",")]
        var expected: [[Double]] = Array(repeating: [], count: names.count)
        var forms = Set<Int>()
        for row in 0..<6_000 {
            var fields: [String] = []
            for column in names.indices {
                let value = Double(Int.random(in: -9_999_999...9_999_999, using: &rng)) / 1_000
                let form = Int.random(in: 0..<60, using: &rng)
                var number = value
                let text: String
                switch form {
                case 0: (text, number) = ("NA", .nan)
                case 1: (text, number) = ("", .nan)
                case 2: text = "\"\(value)\""
                case 3: text = " \(value)"
                case 4: (text, number) = ("\(value)e-3", Double("\(value)e-3") ?? .nan)
                case 5: (text, number) = ("0.12345678901234567", 0.12345678901234567)
                case 6: (text, number) = ("-1234567890123456.5", -1234567890123456.5)
                default: text = String(value)
                }
                forms.insert(min(form, 7))
                fields.append(text)
                expected[column].append(number)
            }
            // Column c turns to text near the end: a and b stay numeric and written by row.
            if row == 5_900 { fields[2] = "late text" }
            lines.append(fields.joined(separator: ","))
            if row % 1_000 == 999 { lines.append("") }
        }
        #expect(forms.count == 8)
        let text = lines.joined(separator: "\n") + "\n"
        for tuning in [CSVReader.Tuning.serial] + (1...5).map(chunked) {
            let table = try parse(text, tuning: tuning)
            #expect(table.rowCount == 6_000)
            for (column, name) in names.enumerated() where name != "c" {
                #expect(same(numbers(table, name), expected[column]), "\(name), \(tuning.chunkCount) chunks")
            }
            #expect(categorical(table, "c")?.firstNonNumericRow == 5_900, "\(tuning.chunkCount) chunks")
        }
    }

    @Test func rNumberRules() {
        func number(_ s: String) -> Double? {
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress.flatMap { FastFloat.parseNumber($0, buffer.count) }
            }
        }
        #expect(number(" +1.5\t") == 1.5)
        #expect(number("0X1f") == 31)
        #expect(number("0x10p-4") == 1)
        #expect(number("0x1P+1") == 2)
        #expect(number("-0x1.8") == -1.5)
        #expect(number("0x1p99999")?.isInfinite == true)
        #expect(number("0x1p-99999") == 0)
        #expect(number("0x1p") == 1)
        #expect(number(" 7e ") == 7)
        #expect(number("-INF") == -.infinity)
        #expect(number("Infinity") == .infinity)
        #expect(number("NAN")?.isNaN == true)
        for bad in ["", "  ", "+", "-", "+-1", "-+1", "0x", "0xg", "0x1q", "0x1.2.3", ".e", "infe", "1 2", "e5", "1e5x", "0x1p3x"] {
            #expect(number(bad) == nil, "\(bad)")
        }
    }
}

@Suite("CSV reader, buffers")
struct CSVBufferTests {
    @Test func rawBufferGrowsThroughHugePageBlocks() {
        var small = RawBuffer<Double>(capacity: 1)
        var large = RawBuffer<Double>(capacity: 600_000)  // 4.8 MB: a huge-page block
        defer {
            small.release()
            large.release()
        }
        #expect(large.capacity >= 600_000)
        #expect(Int(bitPattern: large.base) % hugePageSize == 0)
        for i in 0..<1_500_000 {
            small.append(Double(i))
            large.append(Double(i))
        }
        #expect(small.count == 1_500_000 && large.count == 1_500_000)
        #expect(small.toArray() == large.toArray())
        #expect(large.base[1_499_999] == 1_499_999)
        small.shrinkToMinimum()
        #expect(small.count == 0)
        small.append(repeating: 2, count: 3)
        #expect(small.toArray() == [2, 2, 2])
    }
}
