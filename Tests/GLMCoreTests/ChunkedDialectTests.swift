import Foundation
import Testing
@testable import GLMCore

/// `--chunk-rows` reads exactly the records of the in-memory reader, whatever the dialect
/// and the chunk size: every chunk size from 1 up, on generated CSV files with LF, CRLF,
/// lone CR and mixed line ends, a byte order mark, quoted line breaks, blank lines (after
/// the header, between records, at the end) and no final line end.
@Suite("Chunked input: the in-memory reader's records for every dialect and chunk size")
struct ChunkedDialectTests {
    /// One generated input and what it was made of (for failure messages).
    struct Dialect: CustomStringConvertible {
        let bytes: [UInt8]
        let description: String
    }

    static func dialect(seed: UInt64) -> Dialect {
        var random = SplitMix64(seed: seed)
        let lineEnds = ["\n", "\r\n", "\r"]
        // 0: LF, 1: CRLF, 2: CR, 3: mixed.
        let style = Int.random(in: 0..<4, using: &random)
        func lineEnd() -> String {
            style == 3 ? lineEnds[Int.random(in: 0..<3, using: &random)] : lineEnds[style]
        }
        let bom = Bool.random(using: &random)
        let blankAfterHeader = Int.random(in: 0..<3, using: &random) == 0
        let finalLineEnd = Bool.random(using: &random)
        let records = Int.random(in: 0..<14, using: &random)
        var text = (bom ? "\u{FEFF}" : "") + "y,x,\"g\"" + lineEnd()
        if blankAfterHeader { text += lineEnd() }
        for row in 0..<records {
            var g: String
            switch Int.random(in: 0..<7, using: &random) {
            case 0: g = "\"two\(lineEnd())lines\""
            case 1: g = "\"a, \"\"quoted\"\" one\""
            case 2: g = "\"\""
            case 3: g = "  \"spaced\"  "
            case 4: g = "NA"
            default: g = "plain\(row % 3)"
            }
            text += "\(row % 5),\(Double(row) / 4),\(g)"
            if row + 1 < records || finalLineEnd { text += lineEnd() }
            if Int.random(in: 0..<5, using: &random) == 0 { text += lineEnd() }
        }
        let name = ["LF", "CRLF", "CR", "mixed"][style]
        return Dialect(
            bytes: Array(text.utf8),
            description: "seed \(seed): \(name), \(records) records, BOM \(bom), blank after header \(blankAfterHeader), "
                + "final line end \(finalLineEnd)")
    }

    /// Each row's line and fields (every column read as text, so typing cannot hide a
    /// misplaced boundary).
    static func rows(of table: Table) -> [String] {
        (0..<table.rowCount).map { row in
            let line = table.recordLines.map { $0[row] } ?? row + 2
            let fields = table.columns.map { column -> String in
                guard case let .categorical(text)? = column else { return "?" }
                let code = Int(text.codes[row])
                return code >= 0 && code < text.levels.count ? text.levels[code] : "<NA>"
            }
            return "line \(line): " + fields.joined(separator: "|")
        }
    }

    static func wholeRows(_ bytes: [UInt8], source: String = "t") throws -> [String] {
        let table = try bytes.withUnsafeBytes { buffer in
            try CSVReader.read(bytes: buffer, source: source, options: .init(), tuning: .serial,
                               forcedCategorical: [0, 1, 2], select: { _ in nil })
        }
        return rows(of: table)
    }

    static func chunkedRows(path: String, rows chunkRows: Int) throws -> [String] {
        let input = try ChunkedInput(path: path)
        var rows: [String] = []
        try input.forEachChunk(rows: chunkRows) { chunk, linesBefore in
            let table = try CSVReader.read(bytes: chunk, source: "t", options: .init(), tuning: .serial,
                                           forcedCategorical: [0, 1, 2], lineOffset: linesBefore, select: { _ in nil })
            #expect(table.rowCount <= chunkRows)
            rows += Self.rows(of: table)
        }
        return rows
    }

    static func temporaryFile(_ bytes: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-dialect-\(UUID().uuidString).csv")
        try Data(bytes).write(to: url)
        return url
    }

    @Test(arguments: 0..<120)
    func everyChunkSizeReadsTheSameRecords(seed: Int) throws {
        let dialect = Self.dialect(seed: UInt64(seed))
        let url = try Self.temporaryFile(dialect.bytes)
        defer { try? FileManager.default.removeItem(at: url) }
        let whole: [String]
        do {
            whole = try Self.wholeRows(dialect.bytes, source: url.path)
        } catch let error as GLMError {
            // No records: the chunked reader says so in the same words.
            #expect(throws: error, "\(dialect)") { _ = try Self.chunkedRows(path: url.path, rows: 1) }
            return
        }
        for chunkRows in 1...(whole.count + 2) {
            let chunked = try Self.chunkedRows(path: url.path, rows: chunkRows)
            #expect(chunked == whole, "\(dialect), \(chunkRows) rows a chunk")
        }
    }

    /// The cases of the issue: a header ending in a lone CR, a CR-only file and a blank line
    /// after the header gave 6, 7, 8 or 10 rows for 6.
    @Test(arguments: [
        "y,x\r1,1\n2,3\n3,2\n4,5\n5,4\n6,7\n",
        "y,x\r1,1\r2,3\r3,2\r4,5\r5,4\r6,7\r",
        "y,x\n\n1,1\n2,3\n3,2\n4,5\n5,4\n6,7\n",
    ])
    func issueCasesReadSixRows(text: String) throws {
        let url = try Self.temporaryFile(Array(text.utf8))
        defer { try? FileManager.default.removeItem(at: url) }
        let whole = try Self.wholeRows(Array(text.utf8))
        #expect(whole.count == 6)
        for chunkRows in 1...8 {
            #expect(try Self.chunkedRows(path: url.path, rows: chunkRows) == whole, "\(chunkRows) rows a chunk")
        }
    }

    @Test func emptyAndHeaderOnlyInputsAreNamedAsTheInMemoryReaderNamesThem() throws {
        for (text, expected) in [("", GLMError.emptyInput(source: "P")), ("\n\r\n", .emptyInput(source: "P")),
                                 ("y,x\n", .headerOnly(source: "P")), ("y,x\n\n\r\n", .headerOnly(source: "P"))] {
            let url = try Self.temporaryFile(Array(text.utf8))
            defer { try? FileManager.default.removeItem(at: url) }
            let named: GLMError
            switch expected {
            case .emptyInput: named = .emptyInput(source: url.path)
            default: named = .headerOnly(source: url.path)
            }
            #expect(throws: named) {
                let input = try ChunkedInput(path: url.path)
                try input.forEachChunk(rows: 2) { _, _ in }
            }
        }
    }

    /// A same-size rewrite in place between two passes is found (the first pass's size,
    /// times and checksum against the second's) and named as unreadable input (status 66).
    @Test func sameSizeRewriteBetweenPassesIsAnError() throws {
        let text = "y,x\n1,2\n2,3\n3,5\n4,4\n"
        let url = try Self.temporaryFile(Array(text.utf8))
        defer { try? FileManager.default.removeItem(at: url) }
        let input = try ChunkedInput(path: url.path)
        try input.forEachChunk(rows: 2) { _, _ in }
        try input.forEachChunk(rows: 2) { _, _ in }
        let handle = try FileHandle(forUpdating: url)
        try handle.seek(toOffset: 4)
        handle.write(Data("9".utf8))
        try handle.close()
        var thrown: GLMError?
        do {
            try input.forEachChunk(rows: 2) { _, _ in }
        } catch let error as GLMError {
            thrown = error
        }
        let error = try #require(thrown)
        #expect(error.exitStatus == 66)
        #expect(error.message.contains(url.path))
        #expect(error.message.contains("changed while it was being read"))
    }

    /// The checksum does not depend on how the bytes are split into pieces, and differs for
    /// a one-byte change.
    @Test func checksumIsSplitIndependent() {
        var random = SplitMix64(seed: 9)
        let bytes = (0..<1_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        func sum(_ cuts: [Int], _ data: [UInt8]) -> UInt64 {
            var checksum = Checksum()
            var start = 0
            data.withUnsafeBytes { buffer in
                for cut in cuts + [data.count] {
                    checksum.add(UnsafeRawBufferPointer(rebasing: buffer[start..<cut]))
                    start = cut
                }
            }
            return checksum.value
        }
        let whole = sum([], bytes)
        for _ in 0..<50 {
            let cuts = (0..<Int.random(in: 1..<8, using: &random)).map { _ in Int.random(in: 0...bytes.count, using: &random) }.sorted()
            #expect(sum(cuts, bytes) == whole)
        }
        var changed = bytes
        changed[517] ^= 1
        #expect(sum([], changed) != whole)
    }
}
