import Foundation
import Testing

/// Issue 23, item 8 (helper H's hostile-user pass): inputs that hung or ran until memory ran
/// out, each now one clear error or a fit, in bounded time. Every run is under
/// `timeout -s KILL`, so a regression fails the test instead of hanging the suite.
@Suite("Hostile inputs end to end: endless devices, long records, scaled restrictions")
struct AttackEndToEndTests {
    /// glmfit `arguments` under `timeout -s KILL seconds` (status 137 when killed), after
    /// the shell commands in `setup` (such as a ulimit).
    static func run(_ arguments: [String], seconds: Int, setup: String = "") throws -> CommandResult {
        let binary = try #require(Glmfit.binary)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-attack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outputURL = folder.appendingPathComponent("stdout")
        let errorURL = folder.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", setup + "\n" + #"exec /usr/bin/timeout -s KILL "$@""#, "sh", "\(seconds)", binary.path] + arguments
        process.currentDirectoryURL = Glmfit.repositoryRoot
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            standardOutput: String(decoding: try Data(contentsOf: outputURL), as: UTF8.self),
            standardError: String(decoding: try Data(contentsOf: errorURL), as: UTF8.self))
    }

    /// /dev/zero and /dev/urandom never end: they were read into memory (or, with
    /// --chunk-rows, searched for a header line end) until memory ran out, 15 s and more.
    /// The binary-data check now looks at the first bytes as they arrive.
    @Test(arguments: ["/dev/zero", "/dev/urandom"], [false, true])
    func endlessBinaryDevicesAreRefusedFromTheirFirstBytes(device: String, chunked: Bool) throws {
        let result = try Self.run([device, "-f", "y ~ x"] + (chunked ? ["--chunk-rows", "10"] : []), seconds: 60)
        RobustnessEndToEndTests.expectError(result, status: 65, "\(device) does not look like CSV text")
    }

    /// A first IRLS step that overflows (a response near 1e300 for poisson, or --start values
    /// of 1e308) printed zero estimates and a negative or infinite deviance with status 0;
    /// R stops on it ("NA/NaN/Inf in 'y'"), and so does glmfit now.
    @Test(arguments: [
        (["--family", "poisson"], "y,x\n1e300,2\n2e300,3\n4e300,5\n5e300,7\n"),
        (["--start", "1e308,1e308"], "y,x\n1,2\n2,3\n4,5\n5,7\n3,1\n"),
    ])
    func anOverflowingFirstStepIsAnError(options: [String], csv: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-attack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("huge.csv").path
        try Data(csv.utf8).write(to: URL(fileURLWithPath: path))
        let result = try Self.run([path, "-f", "y ~ x"] + options, seconds: 60)
        RobustnessEndToEndTests.expectError(result, status: 65, "the first IRLS step gives non-finite coefficients")
    }

    /// A saved covariance of finite but huge entries (1e308) made `predict --se` print Inf or
    /// empty cells with status 0; the overflowing standard error is now an error found before
    /// anything is written.
    @Test func anOverflowingStandardErrorIsAnErrorBeforeAnyOutput() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-attack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("m.json").path
        let saved = try Self.run(
            ["Examples/dobson.csv", "--family", "poisson", "-f", "counts ~ outcome + treatment", "--save", model], seconds: 60)
        #expect(saved.status == 0, "\(saved.standardError)")
        var document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as? [String: Any])
        var vcov = try #require(document["vcov"] as? [String: Any])
        let size = try #require(vcov["matrix"] as? [Any]).count
        vcov["matrix"] = Array(repeating: Array(repeating: 1e308, count: size), count: size)
        document["vcov"] = vcov
        let huge = folder.appendingPathComponent("huge.json").path
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: huge))
        let result = try Self.run(["predict", huge, "Examples/dobson.csv", "--se"], seconds: 60)
        RobustnessEndToEndTests.expectError(result, status: 65, "the standard error of the prediction' is infinite")
    }

    /// --chunk-rows searched a record again from its start after every 8 MiB block (and a
    /// header after every 64 KiB), so a long line took quadratic time: 8 MB 14 s, 16 MB of
    /// NUL bytes 14 s to refuse. Reads now at least double what is held.
    @Test func aLongRecordUnderChunkRowsIsReadInLinearTime() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-attack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let longLevel = String(repeating: "a", count: 24_000_000)
        let path = folder.appendingPathComponent("long.csv").path
        try Data("y,x\n1,\(longLevel)\n2,b\n4,b\n7,\(longLevel)\n3,b\n".utf8).write(to: URL(fileURLWithPath: path))
        // The report as R prints it (the two paths sum in different orders, so the last bits
        // of a CSV's full-precision numbers may differ).
        let chunked = try Self.run([path, "-f", "y ~ x", "--chunk-rows", "2"], seconds: 60)
        let inMemory = try Self.run([path, "-f", "y ~ x"], seconds: 60)
        #expect(chunked.status == 0, "\(chunked.standardError)")
        #expect(inMemory.status == 0, "\(inMemory.standardError)")
        #expect(chunked.standardOutput.contains("xb            -1.000"), "\(chunked.standardOutput)")
        #expect(chunked.standardOutput == inMemory.standardOutput)

        let zeros = folder.appendingPathComponent("zeros.bin").path
        try Data(count: 16_000_000).write(to: URL(fileURLWithPath: zeros))
        let refused = try Self.run([zeros, "-f", "y ~ x", "--chunk-rows", "10"], seconds: 30)
        RobustnessEndToEndTests.expectError(refused, status: 65, "does not look like CSV text")
    }

    /// A single restriction with a multiplier of 1e-200 was called "a linear combination
    /// of :" (of nothing): the independence check squared the multipliers, which underflowed.
    @Test func aScaledRestrictionIsNotCalledRedundant() throws {
        let data = Glmfit.example("dobson.csv")
        let plain = try Glmfit.run([data, "--family", "poisson", "-f", "counts ~ outcome + treatment", "--wald", "outcomeo2 = 0"])
        let scaled = try Glmfit.run([data, "--family", "poisson", "-f", "counts ~ outcome + treatment", "--wald", "1e-200*outcomeo2 = 0"])
        #expect(plain.status == 0, "\(plain.standardError)")
        #expect(!scaled.standardError.contains("linear combination"), "\(scaled.standardError)")
        #expect(!scaled.standardError.contains("Fatal error"))
    }

    /// Past `ulimit -f`, SIGXFSZ killed glmfit (status 153, no message) in the middle of
    /// writing; the write now fails with EFBIG: status 74 and a message.
    @Test func aWritePastTheFileSizeLimitIsAnError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-attack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("model.json").path
        let result = try Self.run(
            [Glmfit.example("dobson.csv"), "--family", "poisson", "-f", "counts ~ outcome + treatment", "--save", model],
            seconds: 60, setup: "ulimit -f 1")
        #expect(result.status == 74, "\(result.status) \(result.standardError)")
        #expect(result.standardError.contains("glmfit: error: "), "\(result.standardError)")
        #expect(result.standardError.contains("ulimit -f"), "\(result.standardError)")
    }
}
