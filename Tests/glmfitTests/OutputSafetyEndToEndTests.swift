#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The built binary, run as scripts run it: a failed write, a destination that must not be
/// replaced, a signal, an endless standard input. Each case checks the message, the exit
/// status, that nothing reached standard output when it failed, and that no file changed
/// or was left behind.
@Suite("Output safety, end to end: write errors, destinations, signals, the spool")
struct OutputSafetyEndToEndTests {
    static let formula = ["-f", "counts ~ outcome + treatment", "--family", "poisson"]

    /// A scratch folder holding a copy of the dobson data as `in.csv`.
    final class Scratch {
        let url: URL
        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("glmfit-e2e-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Glmfit.example("dobson.csv"), toPath: path("in.csv"))
        }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
        /// Every entry with its type and contents (a symlink by its target), to compare before and after.
        func snapshot() -> [String: String] {
            var entries: [String: String] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] {
                let path = self.path(name)
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                    entries[name] = "link to \(target)"
                } else if let data = FileManager.default.contents(atPath: path) {
                    entries[name] = "file " + data.base64EncodedString()
                } else {
                    entries[name] = "other"
                }
            }
            return entries
        }
    }

    struct Run {
        let status: Int32
        let signaled: Bool
        let output: String
        let error: String
    }

    /// Runs the binary with `arguments` in `directory`, standard output to `outputPath`
    /// (a file in the scratch folder by default), and `environment` added.
    static func run(
        _ arguments: [String], in scratch: Scratch, outputPath: String? = nil, environment: [String: String] = [:],
        input: FileHandle? = nil, whileRunning: ((Process) -> Void)? = nil
    ) throws -> Run {
        let binary = try #require(Glmfit.binary)
        let errorURL = URL(fileURLWithPath: scratch.path("../\(scratch.url.lastPathComponent).stderr"))
        let outputURL = URL(fileURLWithPath: outputPath ?? scratch.path("../\(scratch.url.lastPathComponent).stdout"))
        defer {
            try? FileManager.default.removeItem(at: errorURL)
            if outputPath == nil { try? FileManager.default.removeItem(at: outputURL) }
        }
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        if outputPath == nil { _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil) }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = scratch.url
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = input ?? FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        whileRunning?(process)
        process.waitUntilExit()
        let output = outputPath == nil ? (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "" : ""
        return Run(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal, output: output,
            error: (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "")
    }

    /// The model JSON a plain `--save` writes, to compare outputs with.
    static func referenceModel(_ scratch: Scratch) throws -> String {
        let result = try run(["in.csv"] + formula + ["--save", "reference.json"], in: scratch)
        #expect(result.status == 0, "\(result.error)")
        defer { try? FileManager.default.removeItem(atPath: scratch.path("reference.json")) }
        return try String(contentsOfFile: scratch.path("reference.json"), encoding: .utf8)
    }

    // MARK: Write errors (74)

    @Test func fullStandardOutputIsStatus74AndLeavesTheModelFileAlone() throws {
        let scratch = try Scratch()
        try Data("old".utf8).write(to: URL(fileURLWithPath: scratch.path("m.json")))
        let before = scratch.snapshot()
        for arguments in [["in.csv"] + Self.formula + ["--save", "m.json"], ["in.csv"] + Self.formula + ["--format", "json"]] {
            let result = try Self.run(arguments, in: scratch, outputPath: "/dev/full")
            #expect(result.status == 74, "\(result.error)")
            #expect(result.error.hasPrefix("glmfit: error: writing standard output failed: no space left on the device"))
            #expect(scratch.snapshot() == before, "a file changed or was left behind")
        }
    }

    @Test func closedStandardOutputIsStatus74() throws {
        let scratch = try Scratch()
        let binary = try #require(Glmfit.binary)
        let before = scratch.snapshot()
        let result = try Self.run(
            ["-c", "exec \"$0\" in.csv -f 'counts ~ outcome' --family poisson --save m.json >&-", binary.path], in: scratch,
            environment: [:], whileRunning: nil, shell: true)
        #expect(result.status == 74, "\(result.error)")
        #expect(result.error.contains("writing standard output failed: it is closed"), "\(result.error)")
        #expect(scratch.snapshot() == before)
    }

    @Test func predictToAFullDiskIsStatus74() throws {
        let scratch = try Scratch()
        let saved = try Self.run(["in.csv"] + Self.formula + ["--save", "m.json"], in: scratch)
        #expect(saved.status == 0)
        let result = try Self.run(["predict", "m.json", "in.csv"], in: scratch, outputPath: "/dev/full")
        #expect(result.status == 74, "\(result.error)")
        #expect(result.error.contains("writing standard output failed"))
    }

    // MARK: Destinations

    enum Destination: String, CaseIterable, Sendable {
        case regular, symlink, danglingSymlink, fifoWithoutReader, devNull, input, hardLinkToInput, dotSlashInput, directory,
             otherOutput, standardOutputFile
    }

    @Test(arguments: Destination.allCases)
    func destination(_ kind: Destination) throws {
        let scratch = try Scratch()
        let manager = FileManager.default
        var arguments = ["in.csv"] + Self.formula
        var outputPath: String?
        let expectedFailure: (status: Int32, message: String)?
        switch kind {
        case .regular:
            try Data("old".utf8).write(to: URL(fileURLWithPath: scratch.path("out.json")))
            arguments += ["--save", "out.json"]
            expectedFailure = nil
        case .symlink:
            try Data("old".utf8).write(to: URL(fileURLWithPath: scratch.path("target.json")))
            try manager.createSymbolicLink(atPath: scratch.path("out.json"), withDestinationPath: "target.json")
            arguments += ["--save", "out.json"]
            expectedFailure = nil
        case .danglingSymlink:
            try manager.createSymbolicLink(atPath: scratch.path("out.json"), withDestinationPath: "target.json")
            arguments += ["--save", "out.json"]
            expectedFailure = nil
        case .fifoWithoutReader:
            #expect(mkfifo(scratch.path("out.fifo"), 0o600) == 0)
            arguments += ["--save", "out.fifo"]
            expectedFailure = (73, "cannot write 'out.fifo': it is a FIFO that no process is reading")
        case .devNull:
            arguments += ["--save", "/dev/null"]
            expectedFailure = nil
        case .input:
            arguments += ["--save", "in.csv"]
            expectedFailure = (73, "cannot write 'in.csv': it is the input data file 'in.csv'")
        case .hardLinkToInput:
            try manager.linkItem(atPath: scratch.path("in.csv"), toPath: scratch.path("hard.csv"))
            arguments += ["--save", "hard.csv"]
            expectedFailure = (73, "cannot write 'hard.csv': it is the input data file 'in.csv'")
        case .dotSlashInput:
            arguments += ["--residuals", "./in.csv"]
            expectedFailure = (73, "cannot write './in.csv': it is the input data file 'in.csv'")
        case .directory:
            try manager.createDirectory(atPath: scratch.path("dir"), withIntermediateDirectories: false)
            arguments += ["--save", "dir"]
            expectedFailure = (73, "cannot write 'dir': it is a directory")
        case .otherOutput:
            arguments += ["--save", "same.json", "--residuals", "./same.json"]
            expectedFailure = (73, "--save writes the same file; give --residuals another one")
        case .standardOutputFile:
            try Data().write(to: URL(fileURLWithPath: scratch.path("report.txt")))
            outputPath = scratch.path("report.txt")
            arguments += ["--save", "report.txt"]
            expectedFailure = (73, "it is the file standard output goes to")
        }
        let reference = try Self.referenceModel(scratch)
        let before = scratch.snapshot()
        let result = try Self.run(arguments, in: scratch, outputPath: outputPath)
        if let expectedFailure {
            #expect(result.status == expectedFailure.status, "\(kind): \(result.error)")
            #expect(result.error.hasPrefix("glmfit: error: ") && result.error.contains(expectedFailure.message),
                    "\(kind): \(result.error)")
            #expect(result.output.isEmpty, "\(kind) wrote to standard output")
            #expect(scratch.snapshot() == before, "\(kind): a file changed or was left behind")
            return
        }
        #expect(result.status == 0, "\(kind): \(result.error)")
        var after = scratch.snapshot()
        switch kind {
        case .regular:
            #expect(try String(contentsOfFile: scratch.path("out.json"), encoding: .utf8) == reference)
            after["out.json"] = before["out.json"]
        case .symlink, .danglingSymlink:
            // The link stays a link; its target holds the model.
            #expect(after["out.json"] == "link to target.json")
            #expect(try String(contentsOfFile: scratch.path("target.json"), encoding: .utf8) == reference)
            after["target.json"] = before["target.json"]
        default:
            break
        }
        #expect(after == before, "\(kind): only the destination changed, and nothing was left behind")
    }

    /// A FIFO with a reader gets the whole model through it (the model is smaller than the
    /// pipe's buffer, so the reader reads it once glmfit is done).
    @Test func fifoWithAReaderGetsTheModel() throws {
        let scratch = try Scratch()
        let reference = try Self.referenceModel(scratch)
        #expect(mkfifo(scratch.path("out.fifo"), 0o600) == 0)
        let reader = open(scratch.path("out.fifo"), O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let result = try Self.run(["in.csv"] + Self.formula + ["--save", "out.fifo"], in: scratch)
        #expect(result.status == 0, "\(result.error)")
        var received: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = block.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
            if got <= 0 { break }
            received += block[..<got]
        }
        #expect(String(decoding: received, as: UTF8.self) == reference)
    }

    // MARK: Signals

    /// A larger input, so that a signal can fall anywhere in a run with --save and --residuals.
    static func largeInput(_ scratch: Scratch, rows: Int) throws {
        var random = Seeded(seed: 11)
        var text = "y,x,g\n"
        for row in 0..<rows {
            let x = Double(Int.random(in: 0..<1000, using: &random)) / 100
            text += "\(Int.random(in: 0..<6, using: &random)),\(x),g\(row % 4)\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: scratch.path("big.csv")))
    }

    /// SIGINT, SIGTERM and SIGKILL at random points of runs with --save and --residuals, with
    /// unnamed temporary files and (SIGINT, SIGTERM) named ones: each destination afterwards
    /// is as before or complete, and nothing else is in the folder.
    @Test(arguments: [(SIGINT, false), (SIGTERM, false), (SIGKILL, false), (SIGINT, true), (SIGTERM, true)])
    func signalAtARandomPointLeavesNothingHalfWritten(signal: Int32, named: Bool) throws {
        let scratch = try Scratch()
        try Self.largeInput(scratch, rows: 150_000)
        let arguments = ["big.csv", "-f", "y ~ x + g", "--family", "poisson", "--save", "m.json", "--residuals", "r.csv"]
        let environment = named ? ["GLMFIT_NAMED_TEMPORARY_FILES": "1"] : [:]
        // The complete outputs, and how long a run takes.
        let clock = ContinuousClock()
        let start = clock.now
        let complete = try Self.run(arguments, in: scratch, environment: environment)
        let duration = clock.now - start
        #expect(complete.status == 0, "\(complete.error)")
        let model = try Data(contentsOf: URL(fileURLWithPath: scratch.path("m.json")))
        let residuals = try Data(contentsOf: URL(fileURLWithPath: scratch.path("r.csv")))
        var random = Seeded(seed: UInt64(signal) * 31 + (named ? 1 : 0))
        let microseconds = max(1, Int(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
        for attempt in 0..<6 {
            // Old contents that must survive unless the run completes.
            try Data("old model".utf8).write(to: URL(fileURLWithPath: scratch.path("m.json")))
            try Data("old residuals".utf8).write(to: URL(fileURLWithPath: scratch.path("r.csv")))
            let before = Set(scratch.snapshot().keys)
            let delay = UInt32(Int.random(in: 0...microseconds, using: &random))
            let result = try Self.run(arguments, in: scratch, environment: environment) { process in
                usleep(delay)
                kill(process.processIdentifier, signal)
            }
            #expect(Set(scratch.snapshot().keys) == before, "signal \(signal) after \(delay) µs: files left behind")
            let savedModel = try Data(contentsOf: URL(fileURLWithPath: scratch.path("m.json")))
            let savedResiduals = try Data(contentsOf: URL(fileURLWithPath: scratch.path("r.csv")))
            #expect(savedModel == Data("old model".utf8) || savedModel == model, "attempt \(attempt): model half-written")
            #expect(savedResiduals == Data("old residuals".utf8) || savedResiduals == residuals,
                    "attempt \(attempt): residuals half-written")
            if result.signaled {
                #expect(result.status == signal, "ended by signal \(result.status), sent \(signal)")
            } else {
                // Finished before the signal came.
                #expect(result.status == 0, "\(result.error)")
            }
        }
    }

    // MARK: The spool of standard input

    @Test func spoolStopsAtItsLimit() throws {
        let scratch = try Scratch()
        try Self.largeInput(scratch, rows: 2_000)
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: scratch.path("big.csv")))
        let result = try Self.run(
            ["-", "-f", "y ~ x", "--chunk-rows", "100"], in: scratch, environment: ["GLMFIT_SPOOL_LIMIT": "10000"], input: input)
        #expect(result.status == 66, "\(result.error)")
        #expect(result.error.contains("GLMFIT_SPOOL_LIMIT (10000 bytes); the input is longer"), "\(result.error)")
        #expect(result.output.isEmpty)
    }

    /// An endless standard input: SIGTERM ends the copy at once, by the signal.
    @Test func sigtermStopsSpoolingPromptly() throws {
        let scratch = try Scratch()
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("y,x\n1,2\n".utf8))
        let clock = ContinuousClock()
        var sent = clock.now
        let result = try Self.run(
            ["-", "-f", "y ~ x", "--chunk-rows", "10"], in: scratch, input: pipe.fileHandleForReading
        ) { process in
            // Wait until it is blocked reading standard input (system call 0, fd 0).
            for _ in 0..<500 {
                let call = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/syscall", encoding: .utf8)) ?? ""
                if call.hasPrefix("0 0x0 ") { break }
                usleep(10_000)
            }
            sent = clock.now
            kill(process.processIdentifier, SIGTERM)
        }
        #expect(result.signaled && result.status == SIGTERM, "status \(result.status): \(result.error)")
        #expect(clock.now - sent < .seconds(5))
        try? pipe.fileHandleForWriting.close()
    }

    // MARK: Messages about data

    @Test func chunkedEmptyInputSaysItIsEmpty() throws {
        let scratch = try Scratch()
        try Data().write(to: URL(fileURLWithPath: scratch.path("empty.csv")))
        let result = try Self.run(["empty.csv", "-f", "y ~ x", "--chunk-rows", "5"], in: scratch)
        #expect(result.status == 65)
        #expect(result.error.contains("empty.csv is empty"), "\(result.error)")
    }

    @Test func byteOrderMarkInANameIsEscaped() throws {
        let scratch = try Scratch()
        // Two byte order marks: the second is part of the first name.
        try Data([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("y,x\n1,2\n2,3\n3,5\n".utf8))
            .write(to: URL(fileURLWithPath: scratch.path("bom.csv")))
        let result = try Self.run(["bom.csv", "-f", "y ~ x"], in: scratch)
        #expect(result.status == 64)
        #expect(result.error.contains("'<U+FEFF>y'"), "\(result.error)")
        #expect(!result.error.contains("\u{FEFF}"))
    }

    @Test func truncatedGzipInputIsAnError() throws {
        let scratch = try Scratch()
        try Data([0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x4B, 0x4C])
            .write(to: URL(fileURLWithPath: scratch.path("d.csv.gz")))
        for extra in [[], ["--chunk-rows", "3"]] {
            let result = try Self.run(["d.csv.gz", "-f", "y ~ x"] + extra, in: scratch)
            #expect(result.status == 65)
            #expect(result.error.contains("'d.csv.gz' is gzip-compressed and ends before its compressed stream does (truncated?)"),
                    "\(result.error)")
            #expect(result.output.isEmpty)
        }
    }

    /// 20,000 `--na` tokens: read in time linear in their number (42 s before).
    @Test func manyMissingValueTokens() throws {
        let scratch = try Scratch()
        let tokens = (0..<20_000).flatMap { ["--na", "zz\($0)"] }
        let result = try Self.run(["in.csv"] + Self.formula + tokens + ["--na=o2", "--format", "json"], in: scratch)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("\"n_obs\": 6"), "the three o2 rows are missing")
    }
}

extension OutputSafetyEndToEndTests {
    /// `run`, with /bin/sh as the program when `shell` is set (for `>&-`).
    static func run(
        _ arguments: [String], in scratch: Scratch, environment: [String: String], whileRunning: ((Process) -> Void)?,
        shell: Bool
    ) throws -> Run {
        guard shell else { return try run(arguments, in: scratch, environment: environment, whileRunning: whileRunning) }
        let errorURL = URL(fileURLWithPath: scratch.path("../\(scratch.url.lastPathComponent).stderr"))
        defer { try? FileManager.default.removeItem(at: errorURL) }
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = arguments
        process.currentDirectoryURL = scratch.url
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal, output: "",
                   error: (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "")
    }
}

/// SplitMix64, so that a failing run can be repeated.
private struct Seeded: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
