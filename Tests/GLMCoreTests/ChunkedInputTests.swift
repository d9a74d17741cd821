import Foundation
import Testing
@testable import GLMCore

/// `ChunkedInput` hands out records whole: a line end inside quotes does not end one, and the
/// chunks, without their copies of the header, are the input again byte for byte.
@Suite("Chunked input: records split only outside quotes")
struct ChunkedInputTests {
    /// A CSV whose text fields are sometimes quoted, with commas, doubled quotes and line ends
    /// (LF and CRLF) inside the quotes; records end in LF or CRLF.
    static func table(rows: Int, seed: UInt64, padding: Int = 0) -> [UInt8] {
        let pad = String(repeating: "p", count: padding)
        var generator = SplitMix64(seed: seed)
        var text = "y,x,label\n"
        for row in 0..<rows {
            text += "\(row % 7),\(Double(row) / 8)"
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: text += ",\"two\nlines\""
            case 1: text += ",\"a, \"\"quoted\"\" one\""
            case 2: text += ",\"crlf\r\ninside\""
            case 3: text += ",\"\""
            default: text += ",plain\(row % 5)\(pad)"
            }
            text += Int.random(in: 0..<4, using: &generator) == 0 ? "\r\n" : "\n"
        }
        return Array(text.utf8)
    }

    /// Where each record ends (an offset into the whole input, after its line end) and the
    /// line ends before that point after the header, by the rule: a quote toggles quoting, a
    /// line feed outside quotes ends a record.
    static func recordEnds(_ bytes: [UInt8], from start: Int) -> [(end: Int, lines: Int)] {
        var ends: [(Int, Int)] = []
        var quoted = false
        var lines = 0
        bytes.withUnsafeBufferPointer { buffer in
            for index in start..<buffer.count {
                let byte = buffer[index]
                if byte == UInt8(ascii: "\"") { quoted.toggle() }
                if byte == UInt8(ascii: "\n") {
                    lines += 1
                    if !quoted { ends.append((index + 1, lines)) }
                }
            }
        }
        return ends
    }

    func check(bytes: [UInt8], rowsPerChunk: [Int]) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-chunked-\(UUID().uuidString).csv")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let headerLength = (bytes.firstIndex(of: UInt8(ascii: "\n")) ?? 0) + 1
        let ends = Self.recordEnds(bytes, from: headerLength)
        let input = try ChunkedInput(path: url.path)
        for rows in rowsPerChunk {
            var chunkCount = 0
            var recordsSoFar = 0
            try input.forEachChunk(rows: rows) { chunk, linesBefore in
                // The header, then the next `rows` records whole (the last chunk may have fewer),
                // byte for byte as in the input.
                let start = recordsSoFar == 0 ? headerLength : ends[recordsSoFar - 1].end
                let taken = min(rows, ends.count - recordsSoFar)
                let end = ends[recordsSoFar + taken - 1].end
                #expect(linesBefore == (recordsSoFar == 0 ? 0 : ends[recordsSoFar - 1].lines),
                        "lines before chunk \(chunkCount), \(rows) rows a chunk")
                #expect(chunk.count == headerLength + end - start, "chunk \(chunkCount) size, \(rows) rows a chunk")
                let same = bytes.withUnsafeBytes { whole -> Bool in
                    guard chunk.count == headerLength + end - start, let base = whole.baseAddress,
                          let chunkBase = chunk.baseAddress else { return false }
                    return memcmp(chunkBase, base, headerLength) == 0
                        && memcmp(chunkBase + headerLength, base + start, end - start) == 0
                }
                #expect(same, "chunk \(chunkCount) bytes, \(rows) rows a chunk")
                recordsSoFar += taken
                chunkCount += 1
            }
            #expect(recordsSoFar == ends.count, "\(rows) rows a chunk: every record handed out")
        }
    }

    @Test func smallChunks() throws {
        try check(bytes: Self.table(rows: 500, seed: 1), rowsPerChunk: [1, 2, 3, 7, 100, 499, 500, 10_000])
    }

    /// Larger than the 8 MiB read block, so records and quoted line ends straddle blocks.
    @Test func chunksAcrossReadBlocks() throws {
        let bytes = Self.table(rows: 100_000, seed: 2, padding: 120)
        #expect(bytes.count > 8 << 20)
        try check(bytes: bytes, rowsPerChunk: [50_000, 1_000_000])
    }
}
