import Foundation
import Testing

/// `--chunk-rows` as a user runs it: the bounded-memory fit of a many-level factor, and the
/// model kinds it cannot fit refused, not ignored.
@Suite("Chunked fits by blocks and refusals, end to end")
struct ChunkedBlocksEndToEndTests {
    /// GEE needs each cluster's rows in memory: `--id` with `--chunk-rows` used to fit a plain
    /// GLM in chunks without a word. It is a usage error naming both options.
    @Test func geeWithChunkRowsIsAUsageError() throws {
        let result = try Glmfit.run([
            Glmfit.example("dobson.csv"), "-f", "counts ~ outcome", "--family", "poisson", "--id", "treatment",
            "--chunk-rows", "3",
        ])
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardOutput == "")
        #expect(result.standardError.hasPrefix("glmfit: error: "), "\(result.standardError)")
        #expect(result.standardError.contains("--chunk-rows: is not available with --id"), "\(result.standardError)")
    }

    /// A 120-level factor read 50 rows at a time prints the in-memory fit's summary.
    @Test func manyLevelFactorPrintsTheInMemorySummary() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-chunked-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var lines = ["y,x,f"]
        for row in 0..<1200 {
            let level = (row * 37) % 120
            let x = Double((row * 13) % 29) / 10
            lines.append("\((row / 120 + level) % 5 + 1),\(x),L\(level + 100)")
        }
        let file = folder.appendingPathComponent("levels.csv")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        let arguments = [file.path, "-f", "y ~ x + f", "--family", "poisson", "--format", "json"]
        let memory = try Glmfit.run(arguments)
        let chunked = try Glmfit.run(arguments + ["--chunk-rows", "50"])
        #expect(memory.status == 0, "\(memory.standardError)")
        #expect(chunked.status == 0, "\(chunked.standardError)")
        let parse = { (text: String) throws -> [String: Any] in
            try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        }
        let a = try parse(chunked.standardOutput), b = try parse(memory.standardOutput)
        let rowsA = try #require(a["coefficients"] as? [[String: Any]])
        let rowsB = try #require(b["coefficients"] as? [[String: Any]])
        #expect(rowsA.count == 121 && rowsA.count == rowsB.count)
        for (rowA, rowB) in zip(rowsA, rowsB) {
            #expect(rowA["term"] as? String == rowB["term"] as? String)
            for key in ["estimate", "std_error"] {
                let valueA = try #require(rowA[key] as? Double), valueB = try #require(rowB[key] as? Double)
                #expect(abs(valueA - valueB) <= 1e-9 * abs(valueB) + 1e-12, "\(rowB["term"] ?? "") \(key)")
            }
        }
        let devianceA = try #require(a["deviance"] as? Double), devianceB = try #require(b["deviance"] as? Double)
        #expect(abs(devianceA - devianceB) <= 1e-9 * devianceB)
    }
}
