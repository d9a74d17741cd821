import Foundation
import Testing

@Suite("GEE from the command line")
struct GEEEndToEndTests {
    static func write(_ text: String) throws -> (URL, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-gee-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("data.csv")
        try Data(text.utf8).write(to: file)
        return (folder, file)
    }

    /// The same rows in cluster order and shuffled give the same fit.
    @Test func clustersNeedNotBeContiguous() throws {
        let lines = try String(contentsOfFile: Glmfit.example("ohio.csv"), encoding: .utf8).split(separator: "\n")
        let header = lines[0]
        var body = Array(lines.dropFirst())
        var state: UInt64 = 7
        for index in stride(from: body.count - 1, to: 0, by: -1) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            body.swapAt(index, Int(state >> 33) % (index + 1))
        }
        let (folder, file) = try Self.write(([header] + body).joined(separator: "\n") + "\n")
        defer { try? FileManager.default.removeItem(at: folder) }
        let arguments = ["-f", "resp ~ age + smoke", "--family", "binomial", "--id", "id", "--corstr", "exchangeable",
                         "--format", "csv"]
        let sorted = try Glmfit.run(["Examples/ohio.csv"] + arguments)
        let shuffled = try Glmfit.run([file.path] + arguments)
        #expect(sorted.status == 0)
        #expect(shuffled.status == 0)
        let parse = { (text: String) in text.split(separator: "\n").dropFirst().map { $0.split(separator: ",").compactMap { Double($0) } } }
        for (a, b) in zip(parse(sorted.standardOutput), parse(shuffled.standardOutput)) {
            for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-8 * max(1, abs(y))) }
        }
    }

    @Test func jsonCarriesCorrelationAndClusters() throws {
        let result = try Glmfit.run(["Examples/epil.csv", "-f", "y ~ lbase * trt + lage + V4", "--family", "poisson",
                                     "--id", "subject", "--waves", "period", "--corstr", "ar1", "--format", "json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let correlation = try #require(object["correlation"] as? [String: Any])
        #expect(correlation["structure"] as? String == "ar1")
        let alpha = try #require((correlation["alpha"] as? [Double])?.first)
        #expect(abs(alpha - 0.505) < 0.001)
        #expect(object["n_clusters"] as? Int == 59)
        let first = try #require((object["coefficients"] as? [[String: Any]])?.first)
        #expect(first["robust_std_error"] is Double)
        #expect(first["naive_std_error"] is Double)
    }

    @Test(arguments: [
        ("y,x,g\n1,2,a\n2,3,a\n3,5,a\n", ["--id", "cluster"], Int32(64), "no column named 'cluster'"),
        ("y,x,g\n1,2,a\n2,3,a\n3,5,a\n", ["--id", "g"], Int32(65), "the id column 'g' has the same value ('a') on every row"),
        ("y,x,g\n1,2,a\n2,3,b\n3,5,c\n", ["--id", "g", "--corstr", "exchangeable"], Int32(65),
         "every cluster of 'g' has a single observation"),
        ("y,x,g,t\n1,2,a,1\n2,3,a,1\n3,5,b,1\n4,1,b,2\n", ["--id", "g", "--waves", "t", "--corstr", "ar1"], Int32(65),
         "wave 1 of 't' occurs twice in cluster a of 'g'"),
        ("y,x,g\n1,2,a\n2,3,a\n3,5,b\n", ["--id", "g", "--corstr", "banded"], Int32(64), "unknown working correlation 'banded'"),
    ] as [(String, [String], Int32, String)])
    func clearErrors(_ csv: String, _ options: [String], _ status: Int32, _ message: String) throws {
        let (folder, file) = try Self.write(csv)
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try Glmfit.run([file.path, "-f", "y ~ x"] + options)
        #expect(result.status == status, "\(result.standardError)")
        #expect(result.standardOutput == "")
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }
}
